//! Marks never change meaning, on every SDO and SRO type liaison serves: a marked copy, its
//! ids mapped back and its variant positions normalised, equals the original normalised the
//! same way; nothing outside the markable properties changes; and what was written is what a
//! reader finds.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use liaison_fingerprint::{
    normalise, CodeParams, Embedder, FingerprintKey, Recipient, TardosCode, FREE_FORM_TIMESTAMPS,
    ORDERED_FREELY,
};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

/// Every SDO and SRO type liaison serves marked (STIX 2.1's, but for the two meta types whose
/// ids are kept and which are never marked).
fn types() -> Vec<&'static str> {
    liaison_stix::sdo_and_sro_types()
        .iter()
        .copied()
        .filter(|t| !matches!(*t, "language-content" | "extension-definition"))
        .collect()
}

fn uuid(n: u64) -> String {
    format!(
        "{:08x}-0000-4000-8000-{:012x}",
        n >> 16,
        n & 0xffff_ffff_ffff
    )
}

/// An object of type `ty` with every freely ordered list and free-form timestamp filled from
/// `words`, references to `refs`, a granular marking into its first list, and fields that must
/// never change.
fn object(ty: &str, words: &[String], refs: &[String], stamp: &str) -> Map<String, Value> {
    let mut o = Map::new();
    o.insert("type".into(), json!(ty));
    o.insert("spec_version".into(), json!("2.1"));
    o.insert("id".into(), json!(format!("{ty}--{}", uuid(7))));
    o.insert("created".into(), json!("2026-01-01T00:00:00.000Z"));
    o.insert("modified".into(), json!("2026-01-01T00:00:00.000Z"));
    o.insert("name".into(), json!("Courier network"));
    o.insert(
        "description".into(),
        json!("It's the \u{2019}same\u{2019} network."),
    );
    o.insert(
        "pattern".into(),
        json!("[ipv4-addr:value = '198.51.100.1']"),
    );
    o.insert("created_by_ref".into(), json!(refs[0].clone()));
    o.insert(
        "external_references".into(),
        json!([{"source_name": "b"}, {"source_name": "a"}]),
    );
    for prop in ORDERED_FREELY {
        let value = if *prop == "kill_chain_phases" {
            json!(words
                .iter()
                .map(|w| json!({"kill_chain_name": "lockheed", "phase_name": w}))
                .collect::<Vec<_>>())
        } else if prop.ends_with("_refs") {
            json!(refs)
        } else {
            json!(words)
        };
        o.insert((*prop).to_owned(), value);
    }
    for prop in FREE_FORM_TIMESTAMPS {
        o.insert((*prop).to_owned(), json!(stamp));
    }
    o.insert(
        "granular_markings".into(),
        json!([{"marking_ref": "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
                "selectors": ["object_refs.[0]", "kill_chain_phases.[1].phase_name", "name"]}]),
    );
    if ty == "relationship" {
        o.insert("source_ref".into(), json!(refs[0].clone()));
        o.insert("target_ref".into(), json!(refs[1].clone()));
    }
    o
}

fn embedder() -> Embedder {
    let key = FingerprintKey::from_bytes([3; 32]);
    Embedder::new(
        &key,
        TardosCode::new(&key, CodeParams::new(30, 4, 1e-6).unwrap()),
    )
}

/// What `selector` points at in `o` (`list.[i]` or `list.[i].field`).
fn at(o: &Map<String, Value>, selector: &str) -> Value {
    let (list, rest) = selector.split_once(".[").unwrap();
    let (i, field) = rest.split_once(']').unwrap();
    let item = &o[list][i.parse::<usize>().unwrap()];
    match field.strip_prefix('.') {
        Some(f) => item[f].clone(),
        None => item.clone(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn marks_never_change_meaning_on_any_type(
        words in proptest::collection::btree_set("[a-z]{1,6}", 2..7),
        nrefs in 2usize..7,
        fraction in proptest::option::of("[0-9]{1,6}"),
        who in "[A-Z]{3}",
    ) {
        let e = embedder();
        let r = Recipient::new(who);
        let words: Vec<String> = words.into_iter().collect();
        let refs: Vec<String> = (0..nrefs).map(|i| format!("indicator--{}", uuid(100 + i as u64))).collect();
        let stamp = match &fraction {
            Some(f) => format!("2026-05-04T03:02:01.{f}Z"),
            None => "2026-05-04T03:02:01Z".to_owned(),
        };
        for ty in types() {
            let original = object(ty, &words, &refs, &stamp);
            let mut copy = original.clone();
            let written = e.mark(&r, &mut copy, &|_| true).unwrap();
            prop_assert!(!written.is_empty());
            // Only markable properties differ.
            for (k, v) in &copy {
                let markable = k == "id" || k.ends_with("_ref") || k.ends_with("_refs")
                    || ORDERED_FREELY.contains(&k.as_str())
                    || FREE_FORM_TIMESTAMPS.contains(&k.as_str())
                    || k == "granular_markings";
                prop_assert!(markable || original.get(k) == Some(v), "{ty}: `{k}` changed");
            }
            // The granular selectors still point at the same element.
            for sel in ["object_refs.[0]", "kill_chain_phases.[1].phase_name"] {
                let now = copy["granular_markings"][0]["selectors"]
                    .as_array().unwrap().iter()
                    .map(|s| s.as_str().unwrap().to_owned())
                    .find(|s| s.starts_with(sel.split(".[").next().unwrap()))
                    .unwrap();
                let before = at(&original, sel);
                let after = at(&copy, &now);
                if sel.starts_with("object_refs") {
                    let back = e.deliver_id(&r, &liaison_stix::StixId::parse(before.as_str().unwrap()).unwrap()).unwrap();
                    prop_assert_eq!(after, json!(back.as_str()), "{}", ty);
                } else {
                    prop_assert_eq!(after, before, "{}", ty);
                }
            }
            // Mapped back and normalised: the original.
            let mut back: HashMap<String, String> = HashMap::new();
            for id in refs.iter().chain([&original["id"].as_str().unwrap().to_owned()]) {
                let parsed = liaison_stix::StixId::parse(id).unwrap();
                back.insert(e.deliver_id(&r, &parsed).unwrap().to_string(), id.clone());
            }
            let unmap = |s: &str| back.get(s).cloned().unwrap_or_else(|| s.to_owned());
            prop_assert_eq!(normalise(&copy, &unmap), normalise(&original, &|s| s.to_owned()), "{}", ty);
            // Read back: the same slots.
            let mut read = e.read(original["id"].as_str().unwrap(), &copy, &|s| Some(unmap(s)));
            let mut written = written;
            read.sort_by_key(|s| s.position);
            written.sort_by_key(|s| s.position);
            prop_assert_eq!(read, written, "{}", ty);
        }
    }
}
