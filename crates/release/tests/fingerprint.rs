//! Fingerprinted delivery end to end: every partner's copies carry its marks, a leaked copy is
//! traced to its recipient (by exact ids, or by the code when the ids were re-minted), mixed
//! copies accuse a colluder and never an innocent, text without marks says "cannot tell", and
//! a partner's copy coming back is mapped back to ours.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use liaison_labels::{Label, Party};
use liaison_release::{IngestOptions, Node, Trace};
use liaison_stix::parse_document;
use liaison_store::SqliteStore;
use serde_json::{json, Map, Value};

fn party(s: &str) -> Party {
    Party::parse(s).unwrap()
}

const AGREEMENT: &str = "ceiling = \"SECRET\"\n[scope]\nmax_tlp = \"amber\"\n";
const PARTNERS: [&str; 5] = ["GBR", "RUS", "FRA", "DEU", "ITA"];

/// A node holding `n` indicators and `n / 10` reports over them, released to five partners.
fn node(n: usize) -> (tempfile::TempDir, Node<SqliteStore>) {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Node::init(dir.path(), &party("USA")).unwrap();
    for p in PARTNERS {
        node.add_partner(&party(p), AGREEMENT).unwrap();
    }
    let mut objects = Vec::new();
    for i in 0..n {
        objects.push(json!({
            "type": "indicator", "spec_version": "2.1",
            "id": format!("indicator--00000000-0000-4000-8000-{i:012}"),
            "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
            "name": format!("Courier relay {i}"),
            "indicator_types": ["malicious-activity", "attribution", "compromised"],
            "kill_chain_phases": [
                {"kill_chain_name": "mitre-attack", "phase_name": "command-and-control"},
                {"kill_chain_name": "mitre-attack", "phase_name": "exfiltration"}
            ],
            "pattern": format!("[ipv4-addr:value = '198.51.{}.{}']", i / 250, i % 250),
            "pattern_type": "stix",
            "valid_from": "2026-01-01T00:00:00Z",
            "valid_until": "2027-01-01T00:00:00.5Z"
        }));
    }
    for r in 0..n / 10 {
        let refs: Vec<String> = (r * 10..r * 10 + 10)
            .map(|i| format!("indicator--00000000-0000-4000-8000-{i:012}"))
            .collect();
        objects.push(json!({
            "type": "report", "spec_version": "2.1",
            "id": format!("report--00000000-0000-4000-9000-{r:012}"),
            "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
            "name": format!("Courier network, part {r}"),
            "report_types": ["threat-actor", "indicator"],
            "published": "2026-01-02T00:00:00Z",
            "object_refs": refs,
            "granular_markings": [{
                "marking_ref": "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
                "selectors": ["object_refs.[3]"]
            }]
        }));
    }
    let bundle = json!({"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000000",
                        "objects": objects});
    let doc = parse_document(&bundle.to_string()).unwrap();
    let options = IngestOptions {
        default_label: Some(Label {
            banner: "SECRET//REL TO USA, GBR, RUS, FRA, DEU, ITA"
                .parse()
                .unwrap(),
            originator: party("USA"),
            grading: None,
            duty_to_warn: false,
        }),
        source: None,
    };
    node.ingest(&doc, &options, &mut |_| {}).unwrap();
    (dir, node)
}

/// Partner `p`'s copies, as objects.
fn copies(node: &mut Node<SqliteStore>, p: &str) -> Vec<Map<String, Value>> {
    node.view(&party(p))
        .unwrap()
        .entries
        .iter()
        .map(|e| match serde_json::from_str(&e.json).unwrap() {
            Value::Object(m) => m,
            _ => unreachable!(),
        })
        .collect()
}

fn bundle(objects: &[Map<String, Value>]) -> String {
    json!({"type": "bundle", "id": "bundle--11111111-1111-4111-8111-111111111111",
           "objects": objects})
    .to_string()
}

fn trace(node: &mut Node<SqliteStore>, text: &str) -> Trace {
    node.trace(text, 200, &mut |_, _| {}).unwrap()
}

fn accused(t: &Trace) -> BTreeSet<String> {
    t.accused.iter().map(|s| s.recipient.clone()).collect()
}

/// A fresh id of the same type, so that no id in the leak is one we delivered.
fn reminted(id: &str, n: &mut u64) -> String {
    *n += 1;
    let ty = id.split("--").next().unwrap();
    format!("{ty}--{:08x}-0000-4000-8000-{:012x}", n, n)
}

/// Every remappable id (own and references) replaced by a fresh one, consistently.
fn remint_all(objects: &mut [Map<String, Value>]) {
    let mut n = 0;
    let mut map = std::collections::HashMap::<String, String>::new();
    let mut fresh = |s: &str| -> String {
        if s.starts_with("marking-definition--")
            || s.starts_with("extension-definition--")
            || s.starts_with("identity--b6a5b8f2")
        {
            return s.to_owned();
        }
        map.entry(s.to_owned())
            .or_insert_with(|| reminted(s, &mut n))
            .clone()
    };
    for o in objects.iter_mut() {
        let ids: Vec<(String, Value)> = o
            .iter()
            .filter(|(k, _)| *k == "id" || k.ends_with("_ref") || k.ends_with("_refs"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (k, v) in ids {
            let new = match v {
                Value::String(s) => Value::String(fresh(&s)),
                Value::Array(a) => Value::Array(
                    a.into_iter()
                        .map(|x| Value::String(fresh(x.as_str().unwrap())))
                        .collect(),
                ),
                other => other,
            };
            o.insert(k, new);
        }
    }
}

#[test]
fn every_partner_gets_its_own_ids_and_a_whole_copy_names_it() {
    let (_dir, mut node) = node(60);
    let gbr = copies(&mut node, "GBR");
    let rus = copies(&mut node, "RUS");
    let ids = |c: &[Map<String, Value>]| -> BTreeSet<String> {
        c.iter()
            .filter(|o| o["type"] == "indicator" || o["type"] == "report")
            .map(|o| o["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(&gbr).len(), 66);
    assert!(ids(&gbr).is_disjoint(&ids(&rus)), "ids are per recipient");
    assert!(
        !bundle(&gbr).contains("indicator--00000000-0000-4000-8000-000000000001"),
        "our ids never leave the node"
    );
    let t = trace(&mut node, &bundle(&gbr));
    assert_eq!(accused(&t), BTreeSet::from(["GBR".to_owned()]), "{t:?}");
    assert!(t.accused[0].families.contains(&"ids".to_owned()));
    // One object alone, pretty-printed with its keys reordered, is enough.
    let mut one: Vec<(String, Value)> = rus[rus.len() - 1].clone().into_iter().collect();
    one.reverse();
    let one: Map<String, Value> = one.into_iter().collect();
    let t = trace(&mut node, &serde_json::to_string_pretty(&one).unwrap());
    assert_eq!(accused(&t), BTreeSet::from(["RUS".to_owned()]), "{t:?}");
    // An id quoted in a forum post is enough.
    let quoted = format!(
        "They were tracking {} last week.",
        rus[rus.len() - 1]["id"].as_str().unwrap()
    );
    assert_eq!(
        accused(&trace(&mut node, &quoted)),
        BTreeSet::from(["RUS".to_owned()])
    );
}

#[test]
fn with_every_id_reminted_the_code_names_the_recipient_with_both_families_agreeing() {
    let (_dir, mut node) = node(300);
    for p in ["FRA", "ITA"] {
        let mut leak = copies(&mut node, p);
        remint_all(&mut leak);
        let text = bundle(&leak);
        let t = trace(&mut node, &text);
        assert_eq!(accused(&t), BTreeSet::from([p.to_owned()]), "{t:?}");
        let s = &t.accused[0];
        assert!(s.exact_ids.is_empty());
        assert!(
            s.families.contains(&"order".to_owned()) && s.families.contains(&"form".to_owned()),
            "{s:?}"
        );
        assert!(s.p_value.unwrap() < 0.01, "{s:?}");
        // A subset (the reports alone, or half the indicators) still carries it.
        let half: Vec<_> = leak.iter().step_by(2).cloned().collect();
        assert_eq!(
            accused(&trace(&mut node, &bundle(&half))),
            BTreeSet::from([p.to_owned()])
        );
    }
}

#[test]
fn copies_mixed_from_two_recipients_accuse_one_of_them_and_never_an_innocent() {
    let (_dir, mut node) = node(300);
    let mut a = copies(&mut node, "GBR");
    let mut b = copies(&mut node, "DEU");
    remint_all(&mut a);
    remint_all(&mut b);
    // Interleave: each object taken from one or the other copy.
    let mixed: Vec<Map<String, Value>> = a
        .iter()
        .zip(&b)
        .enumerate()
        .map(|(i, (x, y))| if i % 2 == 0 { x.clone() } else { y.clone() })
        .collect();
    let t = trace(&mut node, &bundle(&mixed));
    let who = accused(&t);
    assert!(!who.is_empty(), "{t:?}");
    assert!(who.iter().all(|w| w == "GBR" || w == "DEU"), "{who:?}");
    // With the ids left as they were, both are named by their ids.
    let a = copies(&mut node, "GBR");
    let b = copies(&mut node, "DEU");
    let mixed: Vec<_> = a
        .iter()
        .take(50)
        .chain(b.iter().skip(50))
        .cloned()
        .collect();
    let who = accused(&trace(&mut node, &bundle(&mixed)));
    assert_eq!(who, BTreeSet::from(["GBR".to_owned(), "DEU".to_owned()]));
}

#[test]
fn laundered_copies_and_retyped_text_say_cannot_tell() {
    let (_dir, mut node) = node(300);
    let mut leak = copies(&mut node, "RUS");
    remint_all(&mut leak);
    // Every freely ordered list sorted and every timestamp written one way: both code
    // families gone, and no id of ours left.
    for o in &mut leak {
        for prop in liaison_fingerprint::ORDERED_FREELY {
            if let Some(Value::Array(a)) = o.get_mut(*prop) {
                a.sort_by_key(|v| v.to_string());
            }
        }
        for prop in liaison_fingerprint::FREE_FORM_TIMESTAMPS {
            if o.contains_key(*prop) {
                o.insert((*prop).to_owned(), json!("2026-06-01T00:00:00.000Z"));
            }
        }
    }
    let t = trace(&mut node, &bundle(&leak));
    assert!(t.accused.is_empty(), "{t:?}");
    assert_eq!(t.verdict, "cannot tell");
    // Names and patterns retyped into prose.
    let prose: String = leak
        .iter()
        .filter_map(|o| o.get("name").and_then(Value::as_str))
        .map(|n| format!("We heard about {n}. "))
        .collect();
    let t = trace(&mut node, &prose);
    assert!(t.accused.is_empty(), "{t:?}");
}

#[test]
fn a_partners_copy_coming_back_is_ours_and_its_references_map_back() {
    let (_dir, mut node) = node(20);
    let gbr = copies(&mut node, "GBR");
    let report = gbr.iter().find(|o| o["type"] == "report").unwrap();
    // GBR sends its copy back unchanged: no error, nothing new stored.
    let text = Value::Object(report.clone()).to_string();
    let receipt = node.receive(&party("GBR"), &[text.as_str()]).unwrap();
    assert!(receipt.failures.is_empty(), "{:?}", receipt.failures);
    assert_eq!(
        receipt.successes[0].0,
        report["id"].as_str().unwrap(),
        "answered in GBR's own ids"
    );
    // GBR's own note on our report, in the ids it knows: stored against our report.
    let note = json!({
        "type": "note", "spec_version": "2.1",
        "id": "note--22222222-2222-4222-8222-222222222222",
        "created": "2026-02-01T00:00:00.000Z", "modified": "2026-02-01T00:00:00.000Z",
        "content": "Seen here too.",
        "object_refs": [report["id"].clone()]
    });
    let note_text = note.to_string();
    let receipt = node.receive(&party("GBR"), &[note_text.as_str()]).unwrap();
    assert!(receipt.failures.is_empty(), "{:?}", receipt.failures);
    // The log's receipt commits to the bytes GBR sent, not to our mapping of them.
    let size = node.log_size().unwrap();
    let logged = (0..size)
        .filter_map(|i| node.opening_for(i, &party("GBR")).unwrap())
        .filter_map(|o| liaison_release::Leaf::from_json(&o.leaf))
        .find_map(|l| match l {
            liaison_release::Leaf::Received { id, sha256, .. } if id.starts_with("note--") => {
                Some(sha256)
            }
            _ => None,
        })
        .unwrap();
    assert_eq!(logged, liaison_release::sha256_hex(note_text.as_bytes()));
    let held = node
        .inbound_view(&party("GBR"))
        .unwrap()
        .entries
        .into_iter()
        .find(|e| e.id.starts_with("note--"))
        .unwrap();
    assert!(
        held.json
            .contains("report--00000000-0000-4000-9000-000000000000"),
        "{}",
        held.json
    );
}

/// GBR's leaves in our log, in order: (index, kind).
fn gbr_leaves(node: &mut Node<SqliteStore>) -> Vec<(u64, String)> {
    let size = node.log_size().unwrap();
    (0..size)
        .filter_map(|i| {
            let o = node.opening_for(i, &party("GBR")).unwrap()?;
            let leaf = liaison_release::Leaf::from_json(&o.leaf)?;
            let kind = serde_json::to_value(&leaf).unwrap()["kind"]
                .as_str()
                .unwrap()
                .to_owned();
            Some((i, kind))
        })
        .collect()
}

#[test]
fn the_commitment_is_logged_before_the_first_fingerprinted_delivery() {
    let (_dir, mut node) = node(10);
    copies(&mut node, "GBR");
    let leaves = gbr_leaves(&mut node);
    let first_delivery = leaves.iter().find(|(_, k)| k == "delivery").unwrap().0;
    let commitments: Vec<u64> = leaves
        .iter()
        .filter(|(_, k)| k == "fingerprint")
        .map(|(i, _)| *i)
        .collect();
    assert_eq!(commitments.len(), 1, "{leaves:?}");
    assert!(commitments[0] < first_delivery, "{leaves:?}");
    // More deliveries later: no second commitment.
    let more = json!({"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000001",
    "objects": [{
        "type": "indicator", "spec_version": "2.1",
        "id": "indicator--99999999-0000-4000-8000-000000000000",
        "created": "2026-03-01T00:00:00.000Z", "modified": "2026-03-01T00:00:00.000Z",
        "pattern": "[ipv4-addr:value = '203.0.113.9']", "pattern_type": "stix",
        "valid_from": "2026-03-01T00:00:00Z"
    }]});
    let options = IngestOptions {
        default_label: Some(Label {
            banner: "SECRET//REL TO USA, GBR".parse().unwrap(),
            originator: party("USA"),
            grading: None,
            duty_to_warn: false,
        }),
        source: None,
    };
    node.ingest(
        &parse_document(&more.to_string()).unwrap(),
        &options,
        &mut |_| {},
    )
    .unwrap();
    copies(&mut node, "GBR");
    let leaves = gbr_leaves(&mut node);
    assert_eq!(leaves.iter().filter(|(_, k)| k == "fingerprint").count(), 1);
    assert!(leaves.iter().filter(|(_, k)| k == "delivery").count() > 11);
}

/// Regression: a copy referencing the TLP 1.0 AMBER id travelled with the TLP 2.0 AMBER
/// definition (another id), so the reference dangled in the partner's bundle.
#[test]
fn every_marking_a_copy_references_travels_with_it_under_its_own_id() {
    let (_dir, mut node) = node(30);
    let rus = node.view(&party("RUS")).unwrap();
    let held: BTreeSet<&str> = rus.entries.iter().map(|e| e.id.as_str()).collect();
    for e in &rus.entries {
        if e.object_type == "marking-definition" {
            assert_eq!(e.id, e.original, "markings keep their ids");
        }
        let v: Value = serde_json::from_str(&e.json).unwrap();
        for gm in v["granular_markings"].as_array().into_iter().flatten() {
            let m = gm["marking_ref"].as_str().unwrap();
            assert!(
                held.contains(m),
                "`{m}` is referenced by {} but not delivered",
                e.id
            );
        }
    }
}
