//! STIX 2.0 in, on real content: the MITRE ATT&CK Enterprise v15 bundle as published (19,981
//! objects, STIX 2.0) is upgraded and parsed whole, and a sample of the upgraded objects
//! passes the OASIS STIX 2.1 validator. Needs the test virtualenv (scripts/test.sh); skipped
//! without it unless `LIAISON_REQUIRE_PYTHON=1`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::process::Command;

use liaison_stix::{bundle_json, parse_document, parse_document_upgrading, UpgradeRule};
use serde_json::value::RawValue;
use serde_json::Value;

#[path = "support/attack.rs"]
mod attack;

fn required() -> bool {
    std::env::var("LIAISON_REQUIRE_PYTHON").as_deref() == Ok("1")
}

fn skip(why: &str) {
    assert!(!required(), "{why}, but LIAISON_REQUIRE_PYTHON=1");
    eprintln!("skipped: {why}; run scripts/test.sh for the full check");
}

/// The bundle's objects as their exact texts.
fn object_texts(text: &str) -> Vec<&RawValue> {
    let bundle: BTreeMap<&str, &RawValue> = serde_json::from_str(text).unwrap();
    serde_json::from_str(bundle["objects"].get()).unwrap()
}

#[test]
fn attack_enterprise_v15_upgrades_and_parses_whole() {
    let path = match attack::enterprise_bundle() {
        Ok(p) => p,
        Err(why) => return skip(&why),
    };
    let text = std::fs::read_to_string(&path).unwrap();

    // As published, the strict parser refuses it, saying why.
    let err = parse_document(&text).unwrap_err();
    assert!(err.is_stix20(), "{err}");
    assert_eq!(
        (err.at.index, err.field.as_str()),
        (Some(0), "spec_version")
    );
    assert_eq!(
        err.problem,
        "missing (required: `2.1`): the bundle is STIX 2.0"
    );

    let read = parse_document_upgrading(&text).unwrap();
    let originals = object_texts(&text);
    assert_eq!(originals.len(), 19_981);
    assert!(read.declared_stix20);
    assert_eq!(read.document.objects.len(), 19_981);
    assert_eq!(read.upgraded_count(), 19_981);

    let mut by_rule: BTreeMap<(String, UpgradeRule), usize> = BTreeMap::new();
    for ((object, upgrades), original) in read
        .document
        .objects
        .iter()
        .zip(&read.upgrades)
        .zip(&originals)
    {
        let Value::Object(before) = serde_json::from_str(original.get()).unwrap() else {
            panic!("not an object: {}", original.get())
        };
        // Same id, in the same place; every property received kept with its value; the
        // additions are exactly those recorded.
        assert_eq!(Some(object.id().as_str()), before["id"].as_str());
        for (k, v) in &before {
            assert_eq!(object.props().get(k), Some(v), "{} `{k}`", object.id());
        }
        assert_eq!(object.props().len(), before.len() + upgrades.len());
        for u in upgrades {
            assert_eq!(object.props().get(&u.property), Some(&u.value));
            *by_rule
                .entry((object.object_type().to_owned(), u.rule))
                .or_default() += 1;
        }
        // The bytes received are kept, the additions after them.
        let head = original.get().trim_end().strip_suffix('}').unwrap();
        assert!(object.raw().starts_with(head), "{}", object.id());
        assert_eq!(object.spec_version(), Some("2.1"));
    }
    let count = |ty: &str, rule| by_rule.get(&(ty.to_owned(), rule)).copied();
    assert_eq!(count("malware", UpgradeRule::MalwareIsFamily), Some(595));
    assert_eq!(count("malware", UpgradeRule::TypesFromLabels), Some(595));
    assert_eq!(count("tool", UpgradeRule::TypesFromLabels), Some(85));
    assert_eq!(
        count("relationship", UpgradeRule::SpecVersion),
        Some(17_899)
    );
    assert_eq!(
        count("x-mitre-data-component", UpgradeRule::SpecVersion),
        Some(109)
    );
    let total: usize = by_rule.values().sum();
    assert_eq!(total, 19_981 + 595 * 2 + 85, "{by_rule:?}");

    validate_sample(&read.document.objects);
}

/// Runs the OASIS validator on 500 upgraded objects: every custom `x-mitre-*` object, the
/// identity and marking-definition, and an even spread of the rest (revoked and deprecated
/// ones among them).
fn validate_sample(objects: &[liaison_stix::StixObject]) {
    let Ok(cmd) = std::env::var("LIAISON_VALIDATE") else {
        return skip("LIAISON_VALIDATE is not set");
    };
    let (mut sample, rest): (Vec<_>, Vec<_>) = objects.iter().partition(|o| {
        o.object_type().starts_with("x-mitre-")
            || matches!(o.object_type(), "identity" | "marking-definition")
    });
    let stride = rest.len().div_ceil(500 - sample.len());
    sample.extend(rest.iter().step_by(stride));
    assert!((480..=500).contains(&sample.len()), "{}", sample.len());
    let flag =
        |o: &&liaison_stix::StixObject, k: &str| o.props().get(k) == Some(&Value::Bool(true));
    assert!(sample.iter().any(|o| flag(o, "revoked")));
    assert!(sample.iter().any(|o| flag(o, "x_mitre_deprecated")));
    assert!(sample.iter().any(|o| o.object_type() == "malware"));
    assert!(sample.iter().any(|o| o.object_type() == "tool"));

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("attack-sample.json");
    std::fs::write(&file, bundle_json(sample.iter().map(|o| o.raw()))).unwrap();
    let mut parts = cmd.split_whitespace();
    let out = Command::new(parts.next().unwrap())
        .args(parts)
        .arg(&file)
        .output()
        .expect("run the validator");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && !stdout.contains(": error:"),
        "stix2-validator refused upgraded ATT&CK objects:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!(
        "stix2-validator: {} objects, no error, {} warning(s)",
        sample.len(),
        stdout.matches(": warning:").count()
    );
}
