//! STIX 2.0 objects read as STIX 2.1: a pure, deterministic upgrade of one object that only
//! ever adds properties (never changes an id, a timestamp or any value present, never drops a
//! custom property) and says what it added, so that callers can record it and show it.
//!
//! # Mapping
//!
//! STIX 2.1 (OASIS Standard with Errata 01) does not list its changes from 2.0 in one place:
//! its revision history (appendix G, revisions 01 to 05) names them, and each object's
//! section gives the 2.1 rule. The table compares those rules with STIX 2.0 part 2 ("STIX
//! Objects") for every object type 2.0 defined. An object is read as 2.0 when it has no
//! `spec_version` and its type is neither a cyber-observable (2.0 had none outside
//! observed-data, and a 2.1 one may omit `spec_version`) nor a type that 2.1 introduced.
//!
//! | 2.0 type | what changed in 2.1 | what the upgrade adds |
//! |---|---|---|
//! | every object, custom `x-…` ones included | `spec_version` required on every object (3.2); a 2.0 bundle carried it instead (`"2.0"`), a 2.1 bundle has none (8) | `spec_version: "2.1"` |
//! | `malware` | `is_family` required (4.11); 2.0 required `labels` from `malware-label-ov`, 2.1 moved that vocabulary to `malware_types` and left `labels` as free tags (3.2, revision 02) | `is_family: true` (2.0 had no family/instance distinction and described families; ATT&CK's malware are families); `malware_types` copied from `labels` |
//! | `indicator` | `pattern_type` required (4.7); `pattern_version` defaults to the object's `spec_version`; `labels` → `indicator_types`; `valid_from` required in both | `pattern_type: "stix"` (the only 2.0 pattern language); `pattern_version: "2.0"` so the pattern keeps the grammar it was written in; `indicator_types` copied from `labels`; `valid_from` copied from `created` only if absent (a non-conforming 2.0 object) |
//! | `report` | `labels` → `report_types` (4.16); `published` required in both | `report_types` copied from `labels`; a missing `published` stays an error |
//! | `threat-actor` | `labels` → `threat_actor_types` (4.17) | `threat_actor_types` copied from `labels` |
//! | `tool` | `labels` → `tool_types` (4.18) | `tool_types` copied from `labels` |
//! | `identity` | `identity_class` required in 2.0, optional in 2.1 (4.5); `roles` added | nothing more |
//! | `observed-data` | `objects` (the observable container) deprecated but allowed, `object_refs` added (2.13, 4.14) | nothing more: `objects` kept |
//! | `sighting` | `where_sighted_refs` may also name locations, `summary` added (5.2) | nothing more |
//! | `relationship` | `start_time`, `stop_time` added (5.1) | nothing more |
//! | `marking-definition` | `definition_type` and `definition` kept, as optional (deprecated) properties beside extensions (7.2.1); TLP ids unchanged | nothing more |
//! | `attack-pattern`, `campaign`, `course-of-action`, `intrusion-set`, `vulnerability` | optional properties added only | nothing more |
//!
//! On `is_family`: the OASIS 2.1 JSON schemas (as used by `stix2-validator`) and liaison
//! require it; the Markdown rendering of the 2.1 text in `oasis-tcs/cti-stix2` marks it
//! optional. Adding it satisfies both readings.
//!
//! Copies from `labels` happen only where 2.1 has the `*_types` property, only when `labels`
//! is a non-empty list of strings and the target is absent; `labels` itself is kept (it is
//! valid in 2.1). Nothing is added that is already present, so upgrading is idempotent.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::vocab::is_sco_type;

/// Why the upgrade added a property: the rule of the mapping table that applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UpgradeRule {
    /// Every STIX 2.1 object carries `spec_version` (section 3.2).
    SpecVersion,
    /// STIX 2.1 malware says whether it is a family (4.11); 2.0 malware describes families.
    MalwareIsFamily,
    /// STIX 2.1 indicators name their pattern language (4.7); 2.0 had only STIX patterns.
    IndicatorPatternType,
    /// The pattern was written in STIX patterning 2.0, which 2.1 would otherwise assume to be
    /// 2.1 (4.7, `pattern_version`).
    IndicatorPatternVersion,
    /// `valid_from` is required (in 2.0 too); a 2.0 indicator without it is valid from its
    /// creation.
    IndicatorValidFrom,
    /// STIX 2.0 `labels` held the type vocabulary that 2.1 moved to a `*_types` property.
    TypesFromLabels,
}

impl UpgradeRule {
    /// The reason, in words, for people reading an explanation.
    pub fn reason(self) -> &'static str {
        match self {
            UpgradeRule::SpecVersion => "every STIX 2.1 object carries it",
            UpgradeRule::MalwareIsFamily => {
                "STIX 2.1 requires it, and STIX 2.0 malware describes families"
            }
            UpgradeRule::IndicatorPatternType => {
                "STIX 2.1 requires it, and STIX 2.0 patterns are all STIX patterns"
            }
            UpgradeRule::IndicatorPatternVersion => {
                "the pattern is STIX patterning 2.0, which 2.1 would otherwise read as 2.1"
            }
            UpgradeRule::IndicatorValidFrom => {
                "required, and the indicator is valid from `created`"
            }
            UpgradeRule::TypesFromLabels => {
                "STIX 2.0 kept this vocabulary in `labels` (kept too), STIX 2.1 in this property"
            }
        }
    }
}

/// One property the upgrade added to an object (it only ever adds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upgrade {
    /// The property added.
    pub property: String,
    /// The value it was given.
    pub value: Value,
    /// The mapping rule that added it.
    pub rule: UpgradeRule,
}

impl std::fmt::Display for Upgrade {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "added `{}: {}` ({})",
            self.property,
            self.value,
            self.rule.reason()
        )
    }
}

/// Object types that STIX 2.1 introduced: one of these without `spec_version` is a broken
/// 2.1 object, not a 2.0 one.
const NEW_IN_2_1: &[&str] = &[
    "grouping",
    "incident",
    "infrastructure",
    "location",
    "malware-analysis",
    "note",
    "opinion",
    "language-content",
    "extension-definition",
];

/// 2.0 types whose required `labels` held the vocabulary that 2.1 keeps in another property.
const TYPES_FROM_LABELS: &[(&str, &str)] = &[
    ("indicator", "indicator_types"),
    ("malware", "malware_types"),
    ("report", "report_types"),
    ("threat-actor", "threat_actor_types"),
    ("tool", "tool_types"),
];

/// Whether an object of type `ty` without `spec_version` reads as STIX 2.0 (see the module
/// documentation).
pub(crate) fn type_reads_as_stix20(ty: &str) -> bool {
    !is_sco_type(ty) && !NEW_IN_2_1.contains(&ty)
}

/// Whether `object` reads as a STIX 2.0 object: a JSON object with a string `type`, no
/// `spec_version`, and a type that is neither a cyber-observable nor new in STIX 2.1.
pub fn is_stix20_object(object: &Map<String, Value>) -> bool {
    !object.contains_key("spec_version")
        && object
            .get("type")
            .and_then(Value::as_str)
            .is_some_and(type_reads_as_stix20)
}

/// Whether `document` is a STIX 2.0 bundle: `type` `bundle`, `spec_version` `2.0`, and no
/// object in it carrying a `spec_version` of its own.
pub fn is_stix20_bundle(document: &Value) -> bool {
    document.get("type").and_then(Value::as_str) == Some("bundle")
        && document.get("spec_version").and_then(Value::as_str) == Some("2.0")
        && document
            .get("objects")
            .and_then(Value::as_array)
            .is_some_and(|objects| objects.iter().all(|o| o.get("spec_version").is_none()))
}

/// Upgrades one STIX 2.0 object to STIX 2.1 in place, following the module's mapping table,
/// and returns the properties it added, in the order added. An object that does not read as
/// 2.0 ([`is_stix20_object`]) is left as it is and the list is empty, so upgrading twice
/// changes nothing the second time.
pub fn upgrade_object(object: &mut Map<String, Value>) -> Vec<Upgrade> {
    let mut added = Vec::new();
    if !is_stix20_object(object) {
        return added;
    }
    let ty = object
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let mut add = |object: &mut Map<String, Value>, property: &str, value: Value, rule| {
        if !object.contains_key(property) {
            object.insert(property.to_owned(), value.clone());
            added.push(Upgrade {
                property: property.to_owned(),
                value,
                rule,
            });
        }
    };

    add(
        object,
        "spec_version",
        Value::from("2.1"),
        UpgradeRule::SpecVersion,
    );
    match ty.as_str() {
        "malware" => add(
            object,
            "is_family",
            Value::Bool(true),
            UpgradeRule::MalwareIsFamily,
        ),
        "indicator" => {
            add(
                object,
                "pattern_type",
                Value::from("stix"),
                UpgradeRule::IndicatorPatternType,
            );
            if object.get("pattern_type").and_then(Value::as_str) == Some("stix") {
                add(
                    object,
                    "pattern_version",
                    Value::from("2.0"),
                    UpgradeRule::IndicatorPatternVersion,
                );
            }
            if let Some(created) = object.get("created").cloned() {
                add(
                    object,
                    "valid_from",
                    created,
                    UpgradeRule::IndicatorValidFrom,
                );
            }
        }
        _ => {}
    }
    if let Some((_, target)) = TYPES_FROM_LABELS.iter().find(|(t, _)| *t == ty) {
        if let Some(labels) = object.get("labels").filter(|l| is_string_list(l)).cloned() {
            add(object, target, labels, UpgradeRule::TypesFromLabels);
        }
    }
    added
}

fn is_string_list(value: &Value) -> bool {
    value
        .as_array()
        .is_some_and(|items| !items.is_empty() && items.iter().all(Value::is_string))
}

/// The text of an upgraded object: `raw`, the object's text as received, with the added
/// properties written before its closing brace, so that every byte received is kept. `None`
/// if `raw` is not a JSON object's text.
pub(crate) fn raw_with_upgrades(raw: &str, added: &[Upgrade]) -> Option<String> {
    let body = raw.trim_end().strip_suffix('}')?;
    if !raw.trim_start().starts_with('{') {
        return None;
    }
    let empty = body.trim_start().strip_prefix('{')?.trim().is_empty();
    let mut out = String::with_capacity(raw.len() + 32 * added.len());
    out.push_str(body);
    for (i, upgrade) in added.iter().enumerate() {
        if i > 0 || !empty {
            out.push(',');
        }
        out.push_str(&Value::from(upgrade.property.as_str()).to_string());
        out.push(':');
        out.push_str(&upgrade.value.to_string());
    }
    out.push('}');
    Some(out)
}

/// The text an object had before its upgrade, given its upgraded text `raw` (as
/// [`crate::parse_document_upgrading`] wrote it: the text received with the additions written
/// before its closing brace) and what was added. The additions are the only bytes written, so
/// this is the text received byte for byte (whitespace after its closing brace aside, which a
/// JSON object's text inside a bundle or TAXII envelope does not have). `None` if `raw` does
/// not end with exactly these additions.
pub fn text_before_upgrade(raw: &str, added: &[Upgrade]) -> Option<String> {
    if added.is_empty() {
        return Some(raw.to_owned());
    }
    let mut tail = String::new();
    for upgrade in added {
        tail.push(',');
        tail.push_str(&Value::from(upgrade.property.as_str()).to_string());
        tail.push(':');
        tail.push_str(&upgrade.value.to_string());
    }
    tail.push('}');
    let body = raw.strip_suffix(&tail).map(str::to_owned).or_else(|| {
        // An empty object's first addition has no comma before it.
        let first = tail.strip_prefix(',')?;
        let body = raw.strip_suffix(first)?;
        body.trim_end().ends_with('{').then(|| body.to_owned())
    })?;
    Some(body + "}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn upgraded(v: Value) -> (Map<String, Value>, Vec<Upgrade>) {
        let Value::Object(mut m) = v else {
            panic!("not an object")
        };
        let added = upgrade_object(&mut m);
        (m, added)
    }

    fn props(added: &[Upgrade]) -> Vec<(&str, UpgradeRule)> {
        added
            .iter()
            .map(|u| (u.property.as_str(), u.rule))
            .collect()
    }

    const T: &str = "2017-06-01T00:00:00.000Z";

    #[test]
    fn malware_gets_spec_version_is_family_and_types() {
        let (m, added) = upgraded(json!({"type": "malware",
            "id": "malware--2a6f4c7b-e690-4cc7-ab6b-1f821fb6b80b", "created": T, "modified": T,
            "name": "LOWBALL", "labels": ["malware"], "x_mitre_aliases": ["LOWBALL"]}));
        assert_eq!(
            props(&added),
            [
                ("spec_version", UpgradeRule::SpecVersion),
                ("is_family", UpgradeRule::MalwareIsFamily),
                ("malware_types", UpgradeRule::TypesFromLabels),
            ]
        );
        assert_eq!(m["is_family"], true);
        assert_eq!(m["malware_types"], json!(["malware"]));
        assert_eq!(m["labels"], json!(["malware"]));
        assert_eq!(m["x_mitre_aliases"], json!(["LOWBALL"]));
        assert_eq!(
            added[1].to_string(),
            "added `is_family: true` (STIX 2.1 requires it, and STIX 2.0 malware describes families)"
        );
    }

    #[test]
    fn malware_family_flag_already_given_is_kept() {
        let (m, added) = upgraded(json!({"type": "malware", "name": "x", "is_family": false,
            "malware_types": ["bot"], "labels": ["worm"]}));
        assert_eq!(props(&added), [("spec_version", UpgradeRule::SpecVersion)]);
        assert_eq!(m["is_family"], false);
        assert_eq!(m["malware_types"], json!(["bot"]));
    }

    #[test]
    fn indicator_gets_pattern_type_version_types_and_valid_from() {
        let (m, added) = upgraded(json!({"type": "indicator", "created": T, "modified": T,
            "labels": ["malicious-activity"], "pattern": "[file:name = 'x']"}));
        assert_eq!(
            props(&added),
            [
                ("spec_version", UpgradeRule::SpecVersion),
                ("pattern_type", UpgradeRule::IndicatorPatternType),
                ("pattern_version", UpgradeRule::IndicatorPatternVersion),
                ("valid_from", UpgradeRule::IndicatorValidFrom),
                ("indicator_types", UpgradeRule::TypesFromLabels),
            ]
        );
        assert_eq!(m["valid_from"], T);
        assert_eq!(m["pattern_type"], "stix");
        assert_eq!(m["pattern_version"], "2.0");
    }

    #[test]
    fn indicator_valid_from_given_is_kept() {
        let (m, added) = upgraded(json!({"type": "indicator", "created": T,
            "valid_from": "2016-01-01T00:00:00Z", "pattern": "[file:name = 'x']"}));
        assert!(!props(&added).contains(&("valid_from", UpgradeRule::IndicatorValidFrom)));
        assert_eq!(m["valid_from"], "2016-01-01T00:00:00Z");
    }

    #[test]
    fn report_threat_actor_tool_copy_labels_to_types() {
        for (ty, target) in [
            ("report", "report_types"),
            ("threat-actor", "threat_actor_types"),
            ("tool", "tool_types"),
        ] {
            let (m, added) = upgraded(json!({"type": ty, "labels": ["a", "b"]}));
            assert_eq!(
                props(&added),
                [
                    ("spec_version", UpgradeRule::SpecVersion),
                    (target, UpgradeRule::TypesFromLabels)
                ],
                "{ty}"
            );
            assert_eq!(m[target], json!(["a", "b"]));
            assert_eq!(m["labels"], json!(["a", "b"]));
        }
        // `published` is required in 2.0 as in 2.1: a report without it is not repaired.
        let (m, _) = upgraded(json!({"type": "report", "labels": ["threat-report"]}));
        assert!(!m.contains_key("published"));
    }

    #[test]
    fn labels_that_are_not_a_list_of_strings_are_not_copied() {
        for labels in [json!([]), json!("tool"), json!([1])] {
            let (m, added) = upgraded(json!({"type": "tool", "labels": labels}));
            assert_eq!(props(&added), [("spec_version", UpgradeRule::SpecVersion)]);
            assert!(!m.contains_key("tool_types"));
        }
    }

    #[test]
    fn types_without_a_types_property_only_get_spec_version() {
        for ty in [
            "attack-pattern",
            "campaign",
            "course-of-action",
            "identity",
            "intrusion-set",
            "observed-data",
            "vulnerability",
            "relationship",
            "sighting",
            "marking-definition",
            "x-mitre-tactic",
        ] {
            let input = json!({"type": ty, "labels": ["x"], "identity_class": "organization",
                "objects": {"0": {"type": "file", "name": "a"}},
                "definition_type": "statement", "definition": {"statement": "c"}});
            let (m, added) = upgraded(input.clone());
            assert_eq!(
                props(&added),
                [("spec_version", UpgradeRule::SpecVersion)],
                "{ty}"
            );
            let mut expected = input.as_object().cloned().unwrap_or_default();
            expected.insert("spec_version".into(), json!("2.1"));
            assert_eq!(m, expected, "{ty}");
        }
    }

    #[test]
    fn stix21_observable_and_new_types_are_not_upgraded() {
        for v in [
            json!({"type": "malware", "spec_version": "2.1"}),
            json!({"type": "ipv4-addr", "value": "198.51.100.1"}),
            json!({"type": "grouping", "context": "x"}),
            json!({"type": "note"}),
            json!({"id": "no-type"}),
        ] {
            let (m, added) = upgraded(v.clone());
            assert!(added.is_empty(), "{v}");
            assert_eq!(Value::Object(m), v);
        }
    }

    #[test]
    fn bundle_version_is_recognised() {
        let b20 = json!({"type": "bundle", "id": "bundle--1", "spec_version": "2.0",
            "objects": [{"type": "tool"}]});
        assert!(is_stix20_bundle(&b20));
        let mixed = json!({"type": "bundle", "spec_version": "2.0",
            "objects": [{"type": "tool", "spec_version": "2.1"}]});
        assert!(!is_stix20_bundle(&mixed));
        let b21 = json!({"type": "bundle", "objects": [{"type": "tool"}]});
        assert!(!is_stix20_bundle(&b21));
        assert!(!is_stix20_bundle(&json!({"objects": []})));
    }

    #[test]
    fn raw_text_is_kept_and_extended() {
        let added = [
            Upgrade {
                property: "spec_version".into(),
                value: json!("2.1"),
                rule: UpgradeRule::SpecVersion,
            },
            Upgrade {
                property: "is_family".into(),
                value: json!(true),
                rule: UpgradeRule::MalwareIsFamily,
            },
        ];
        let raw = "{\"type\": \"malware\", \"name\": \"caf\\u00e9\" }\n";
        assert_eq!(
            raw_with_upgrades(raw, &added).as_deref(),
            Some("{\"type\": \"malware\", \"name\": \"caf\\u00e9\" ,\"spec_version\":\"2.1\",\"is_family\":true}")
        );
        assert_eq!(
            raw_with_upgrades(" { } ", &added[..1]).as_deref(),
            Some(" { \"spec_version\":\"2.1\"}")
        );
        assert_eq!(raw_with_upgrades("[1]", &added), None);
    }

    #[test]
    fn text_before_upgrade_gives_back_the_bytes_received() {
        let (_, added) = upgraded(json!({"type": "malware", "name": "x", "labels": ["bot"]}));
        for raw in [
            "{\"type\": \"malware\",\n  \"name\": \"caf\\u00e9\\u2019\", \"labels\": [\"bot\"]\n}",
            "{\"type\":\"malware\",\"name\":\"x\",\"labels\":[\"bot\"]}",
        ] {
            let text = raw_with_upgrades(raw, &added).unwrap();
            assert_eq!(text_before_upgrade(&text, &added).as_deref(), Some(raw));
        }
        let empty = raw_with_upgrades("{ }", &added[..1]).unwrap();
        assert_eq!(
            text_before_upgrade(&empty, &added[..1]).as_deref(),
            Some("{ }")
        );
        assert_eq!(text_before_upgrade("{\"a\":1}", &added), None);
        assert_eq!(
            text_before_upgrade("{\"a\":1}", &[]).as_deref(),
            Some("{\"a\":1}")
        );
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;
        use serde_json::json;

        const TYPES: &[&str] = &[
            "attack-pattern",
            "campaign",
            "course-of-action",
            "identity",
            "indicator",
            "intrusion-set",
            "malware",
            "observed-data",
            "report",
            "threat-actor",
            "tool",
            "vulnerability",
            "relationship",
            "sighting",
            "marking-definition",
            "x-mitre-tactic",
            "grouping",
            "note",
            "file",
            "ipv4-addr",
        ];

        /// Properties the mapping may add or read, and custom ones.
        const KEYS: &[&str] = &[
            "spec_version",
            "labels",
            "is_family",
            "malware_types",
            "pattern",
            "pattern_type",
            "pattern_version",
            "valid_from",
            "indicator_types",
            "report_types",
            "tool_types",
            "threat_actor_types",
            "published",
            "objects",
            "x_mitre_version",
            "x_custom",
        ];

        fn json_value() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(Value::from),
                "[a-z0-9. -]{0,8}".prop_map(Value::from),
            ];
            leaf.prop_recursive(2, 12, 4, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                    prop::collection::vec(("[a-z_]{1,6}", inner), 0..4)
                        .prop_map(|kv| Value::Object(kv.into_iter().collect())),
                ]
            })
        }

        fn object() -> impl Strategy<Value = Map<String, Value>> {
            (
                prop::sample::select(TYPES),
                prop::option::of("[a-z0-9:.-]{1,12}"),
                prop::option::of("20[0-9]{2}-0[1-9]-1[0-9]T00:00:00(\\.[0-9]{3})?Z"),
                prop::option::of("20[0-9]{2}-0[1-9]-1[0-9]T00:00:00Z"),
                prop::collection::vec(
                    (
                        prop::sample::select(KEYS),
                        prop_oneof![
                            json_value(),
                            prop::collection::vec("[a-z-]{1,10}", 1..3).prop_map(|l| json!(l)),
                        ],
                    ),
                    0..8,
                ),
            )
                .prop_map(|(ty, id, created, modified, extra)| {
                    let mut m = Map::new();
                    m.insert("type".into(), json!(ty));
                    if let Some(id) = id {
                        m.insert("id".into(), json!(format!("{ty}--{id}")));
                    }
                    if let Some(c) = created {
                        m.insert("created".into(), json!(c));
                    }
                    if let Some(md) = modified {
                        m.insert("modified".into(), json!(md));
                    }
                    for (k, v) in extra {
                        m.insert(k.into(), v);
                    }
                    m
                })
        }

        proptest! {
            #[test]
            fn upgrade_only_adds_documented_properties_and_is_idempotent(input in object()) {
                let mut out = input.clone();
                let added = upgrade_object(&mut out);

                // Nothing present in the input changes: ids, timestamps, values, custom ones.
                for (k, v) in &input {
                    prop_assert_eq!(out.get(k), Some(v), "`{}` changed", k);
                }
                // What was added is exactly what is reported, each once.
                prop_assert_eq!(out.len(), input.len() + added.len());
                for u in &added {
                    prop_assert!(!input.contains_key(&u.property));
                    prop_assert_eq!(out.get(&u.property), Some(&u.value));
                }
                // Only a 2.0 object is touched, and then always gains `spec_version` first.
                prop_assert_eq!(is_stix20_object(&input), !added.is_empty());
                if let Some(first) = added.first() {
                    prop_assert_eq!(first.rule, UpgradeRule::SpecVersion);
                    prop_assert_eq!(&first.value, &json!("2.1"));
                }
                // Each addition follows the mapping table for its type.
                let ty = input.get("type").and_then(Value::as_str).unwrap_or_default();
                for u in &added {
                    let documented = match u.rule {
                        UpgradeRule::SpecVersion => u.property == "spec_version",
                        UpgradeRule::MalwareIsFamily => {
                            ty == "malware" && u.property == "is_family" && u.value == json!(true)
                        }
                        UpgradeRule::IndicatorPatternType => {
                            ty == "indicator" && u.property == "pattern_type" && u.value == "stix"
                        }
                        UpgradeRule::IndicatorPatternVersion => {
                            ty == "indicator" && u.property == "pattern_version" && u.value == "2.0"
                        }
                        UpgradeRule::IndicatorValidFrom => {
                            ty == "indicator"
                                && u.property == "valid_from"
                                && input.get("created") == Some(&u.value)
                        }
                        UpgradeRule::TypesFromLabels => {
                            TYPES_FROM_LABELS.contains(&(ty, u.property.as_str()))
                                && input.get("labels") == Some(&u.value)
                        }
                    };
                    prop_assert!(documented, "{} on `{}`", u, ty);
                }

                // Idempotent: a second upgrade adds nothing.
                let mut again = out.clone();
                prop_assert!(upgrade_object(&mut again).is_empty());
                prop_assert_eq!(&again, &out);

                // The upgraded text is the input's text plus the additions.
                let raw = Value::Object(input.clone()).to_string();
                let text = raw_with_upgrades(&raw, &added);
                // ... and the text received comes back from it.
                prop_assert_eq!(
                    text.as_deref().and_then(|t| text_before_upgrade(t, &added)),
                    Some(raw.clone())
                );
                let reparsed: Option<Value> = text.and_then(|t| serde_json::from_str(&t).ok());
                prop_assert_eq!(reparsed, Some(Value::Object(out)));
            }
        }
    }
}
