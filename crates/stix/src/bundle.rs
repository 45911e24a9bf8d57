use std::collections::HashMap;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::error::{Locator, StixError};
use crate::id::StixId;
use crate::object::StixObject;
use crate::upgrade::{raw_with_upgrades, upgrade_object, Upgrade};

/// What a file or request body held: a bundle (or TAXII envelope) of objects, or one object.
#[derive(Debug, Clone)]
pub struct Document {
    /// The bundle's id, when the document was a bundle.
    pub bundle_id: Option<StixId>,
    /// The objects, in document order.
    pub objects: Vec<StixObject>,
}

/// A document read with [`parse_document_upgrading`]: the objects as STIX 2.1, and what the
/// STIX 2.0 upgrade added to each.
#[derive(Debug, Clone)]
pub struct UpgradedDocument {
    /// The objects, upgraded where they were STIX 2.0; each one's `raw` is the text received
    /// with the added properties written before its closing brace.
    pub document: Document,
    /// For each of `document.objects`, in the same order, the properties the upgrade added:
    /// empty for an object that was already STIX 2.1.
    pub upgrades: Vec<Vec<Upgrade>>,
    /// Whether the document said it was STIX 2.0: a bundle with `spec_version` `2.0`.
    pub declared_stix20: bool,
}

impl UpgradedDocument {
    /// How many objects were upgraded from STIX 2.0.
    pub fn upgraded_count(&self) -> usize {
        self.upgrades.iter().filter(|u| !u.is_empty()).count()
    }
}

#[derive(Deserialize)]
struct Shape<'a> {
    #[serde(rename = "type")]
    ty: Option<&'a str>,
    id: Option<&'a str>,
    #[serde(borrow)]
    spec_version: Option<&'a RawValue>,
    #[serde(borrow)]
    objects: Option<Vec<&'a RawValue>>,
}

/// Parses a STIX bundle, a TAXII envelope (`{"objects": [...]}`) or a single object. Every
/// object is checked; the first problem found refuses the whole document, so that a bundle
/// is taken whole or not at all. STIX 2.0 objects are refused with an error whose
/// [`StixError::is_stix20`] is true.
pub fn parse_document(text: &str) -> Result<Document, StixError> {
    parse(text, false).map(|read| read.document)
}

/// Like [`parse_document`], but STIX 2.0 objects (no `spec_version`, see
/// [`crate::is_stix20_object`]) are first upgraded to STIX 2.1 by [`crate::upgrade_object`];
/// the result says what was added to each. Objects that are already STIX 2.1 are read
/// exactly as [`parse_document`] reads them. An upgraded object that 2.1 still refuses
/// fails the document, with an error whose [`StixError::is_stix20`] is true.
pub fn parse_document_upgrading(text: &str) -> Result<UpgradedDocument, StixError> {
    parse(text, true)
}

fn parse(text: &str, upgrade: bool) -> Result<UpgradedDocument, StixError> {
    let whole = Locator {
        index: None,
        id: None,
    };
    let shape: Shape<'_> = serde_json::from_str(text)
        .map_err(|e| StixError::new(&whole, "-", format!("not valid JSON: {e}")))?;
    let declared_stix20 =
        shape.ty == Some("bundle") && shape.spec_version.map(RawValue::get) == Some("\"2.0\"");
    let Some(items) = shape.objects else {
        if shape.ty == Some("bundle") {
            return Ok(UpgradedDocument {
                document: Document {
                    bundle_id: bundle_id(shape.id, &whole)?,
                    objects: Vec::new(),
                },
                upgrades: Vec::new(),
                declared_stix20,
            });
        }
        let (object, upgrades) = read_object(text.trim(), &whole, upgrade, false)?;
        return Ok(UpgradedDocument {
            document: Document {
                bundle_id: None,
                objects: vec![object],
            },
            upgrades: vec![upgrades],
            declared_stix20,
        });
    };
    let bundle_id = match shape.ty {
        Some("bundle") => bundle_id(shape.id, &whole)?,
        None => None,
        Some(other) => {
            return Err(StixError::new(
                &whole,
                "type",
                format!("a document with `objects` must be a `bundle`, not `{other}`"),
            ))
        }
    };
    let mut objects = Vec::with_capacity(items.len());
    let mut upgrades = Vec::with_capacity(items.len());
    let mut seen: HashMap<(String, Option<i128>), usize> = HashMap::with_capacity(items.len());
    for (index, raw) in items.into_iter().enumerate() {
        let at = Locator {
            index: Some(index),
            id: None,
        };
        let (object, added) = read_object(raw.get(), &at, upgrade, declared_stix20)?;
        let key = (
            object.id().as_str().to_owned(),
            object.version().map(|t| t.unix_nanos()),
        );
        if let Some(first) = seen.insert(key, index) {
            if objects.get(first) != Some(&object) {
                return Err(StixError::new(
                    &Locator {
                        index: Some(index),
                        id: Some(object.id().to_string()),
                    },
                    "modified",
                    format!("same id and version as object {first} but different content"),
                ));
            }
        }
        objects.push(object);
        upgrades.push(added);
    }
    Ok(UpgradedDocument {
        document: Document { bundle_id, objects },
        upgrades,
        declared_stix20,
    })
}

/// Reads one object's text; with `upgrade`, a STIX 2.0 object is upgraded first.
pub(crate) fn read_object(
    raw: &str,
    at: &Locator,
    upgrade: bool,
    in_stix20_bundle: bool,
) -> Result<(StixObject, Vec<Upgrade>), StixError> {
    let value: Value = serde_json::from_str(raw)
        .map_err(|e| StixError::new(at, "-", format!("not valid JSON: {e}")))?;
    upgrade_parts(value, raw, at, upgrade, in_stix20_bundle)
}

impl StixObject {
    /// Like [`StixObject::from_parts`], but a STIX 2.0 object (see
    /// [`crate::is_stix20_object`]) is upgraded to 2.1 first, as
    /// [`parse_document_upgrading`] does for each object of a document: its text becomes
    /// `raw` with the added properties written before its closing brace, and the result says
    /// what was added (empty for a STIX 2.1 object).
    pub fn from_parts_upgrading(
        value: Value,
        raw: &str,
        at: &Locator,
    ) -> Result<(StixObject, Vec<Upgrade>), StixError> {
        upgrade_parts(value, raw, at, true, false)
    }
}

fn upgrade_parts(
    value: Value,
    raw: &str,
    at: &Locator,
    upgrade: bool,
    in_stix20_bundle: bool,
) -> Result<(StixObject, Vec<Upgrade>), StixError> {
    let Value::Object(mut props) = value else {
        return StixObject::from_parts(value, raw.to_owned(), at).map(|o| (o, Vec::new()));
    };
    let added = if upgrade {
        upgrade_object(&mut props)
    } else {
        Vec::new()
    };
    if added.is_empty() {
        return match StixObject::from_parts(Value::Object(props), raw.to_owned(), at) {
            Err(mut e) if e.is_stix20() && e.field == "spec_version" && in_stix20_bundle => {
                e.problem = "missing (required: `2.1`): the bundle is STIX 2.0".to_owned();
                Err(e)
            }
            other => other.map(|o| (o, Vec::new())),
        };
    }
    let text =
        raw_with_upgrades(raw, &added).unwrap_or_else(|| Value::Object(props.clone()).to_string());
    StixObject::from_parts(Value::Object(props), text, at)
        .map(|o| (o, added))
        .map_err(|e| {
            let mut e = e.in_stix20();
            e.problem
                .push_str(" (this STIX 2.0 object was upgraded to 2.1 first)");
            e
        })
}

pub(crate) fn bundle_id(id: Option<&str>, at: &Locator) -> Result<Option<StixId>, StixError> {
    match id {
        None => Err(StixError::new(at, "id", "a bundle needs an id")),
        Some(s) => {
            let id = StixId::parse(s).map_err(|e| StixError::new(at, "id", e))?;
            if id.object_type() != "bundle" {
                return Err(StixError::new(
                    at,
                    "id",
                    format!("`{id}` is not a bundle id"),
                ));
            }
            Ok(Some(id))
        }
    }
}

/// Writes a STIX 2.1 bundle holding the given object texts (each already valid JSON), with a
/// fresh bundle id.
pub fn bundle_json<'a>(objects: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = format!(
        "{{\"type\":\"bundle\",\"id\":\"{}\",\"objects\":[",
        StixId::new_random("bundle")
    );
    for (i, o) in objects.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(o);
    }
    out.push_str("]}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const IND: &str = r#"{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2016-04-06T20:03:48.000Z","modified":"2016-04-06T20:03:48.000Z","pattern":"[ipv4-addr:value = '198.51.100.1']","pattern_type":"stix","valid_from":"2016-01-01T00:00:00Z","x_custom":{"kept":[1,2,3]}}"#;

    #[test]
    fn keeps_custom_properties_and_exact_text() {
        let doc = parse_document(&format!(
            r#"{{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[{IND}]}}"#
        ))
        .unwrap();
        let o = &doc.objects[0];
        assert_eq!(o.raw(), IND);
        assert_eq!(o.props()["x_custom"]["kept"][2], 3);
        assert_eq!(o.object_type(), "indicator");
    }

    #[test]
    fn names_index_id_and_field() {
        let bad = IND.replace(
            "2016-04-06T20:03:48.000Z\",\"pattern",
            "yesterday\",\"pattern",
        );
        let doc = format!(
            r#"{{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[{IND},{bad}]}}"#
        );
        let err = parse_document(&doc).unwrap_err();
        assert_eq!(err.at.index, Some(1));
        assert_eq!(
            err.at.id.as_deref(),
            Some("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f")
        );
        assert_eq!(err.field, "modified");
        assert!(
            err.to_string().starts_with("object 1 (`indicator--"),
            "{err}"
        );
    }

    #[test]
    fn refuses_conflicting_duplicates_but_not_exact_ones() {
        let other = IND.replace("198.51.100.1", "198.51.100.2");
        let wrap = |a: &str, b: &str| {
            format!(
                r#"{{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[{a},{b}]}}"#
            )
        };
        assert!(parse_document(&wrap(IND, IND)).is_ok());
        let err = parse_document(&wrap(IND, &other)).unwrap_err();
        assert_eq!(err.at.index, Some(1));
    }

    #[test]
    fn single_objects_and_envelopes() {
        assert_eq!(parse_document(IND).unwrap().objects.len(), 1);
        let env = format!(r#"{{"objects":[{IND}]}}"#);
        assert_eq!(parse_document(&env).unwrap().objects.len(), 1);
        assert!(parse_document("{").is_err());
        assert!(parse_document("[]").is_err());
    }

    #[test]
    fn required_properties_by_type() {
        let no_ref = r#"{"type":"relationship","spec_version":"2.1","id":"relationship--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2016-04-06T20:03:48.000Z","modified":"2016-04-06T20:03:48.000Z","relationship_type":"derived-from","source_ref":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"}"#;
        assert_eq!(parse_document(no_ref).unwrap_err().field, "target_ref");
        let bad_ref = IND.replace("\"pattern\"", "\"created_by_ref\":\"nobody\",\"pattern\"");
        assert_eq!(
            parse_document(&bad_ref).unwrap_err().field,
            "created_by_ref"
        );
        let no_pattern = IND.replace("\"pattern\":", "\"x_pattern\":");
        let err = parse_document(&no_pattern).unwrap_err();
        assert_eq!(
            (err.field.as_str(), err.problem.as_str()),
            ("pattern", "missing (required for `indicator`)")
        );
        let v20 = IND.replace("\"2.1\"", "\"2.0\"");
        assert_eq!(parse_document(&v20).unwrap_err().field, "spec_version");
    }

    const BUNDLE20: &str = r#"{"type": "bundle", "id": "bundle--1e532e16-dc33-4c7b-be64-428c93ef3b46", "spec_version": "2.0", "objects": [
        {"type": "malware", "id": "malware--2a6f4c7b-e690-4cc7-ab6b-1f821fb6b80b", "created": "2017-06-01T00:00:00.000Z", "modified": "2023-10-02T00:00:00.000Z", "name": "Caf\u00e9", "labels": ["malware"], "x_mitre_version": "1.1"},
        {"type": "relationship", "id": "relationship--0fe4d6b1-7ba7-4ba8-a6c1-8a1b6e5e6a9c", "created": "2017-06-01T00:00:00.000Z", "modified": "2017-06-01T00:00:00.000Z", "relationship_type": "uses", "source_ref": "malware--2a6f4c7b-e690-4cc7-ab6b-1f821fb6b80b", "target_ref": "x-mitre-tactic--daa4cbb1-b4f4-4723-a824-7f1efd6e0592"},
        {"type": "x-mitre-tactic", "id": "x-mitre-tactic--daa4cbb1-b4f4-4723-a824-7f1efd6e0592", "created": "2017-06-01T00:00:00.000Z", "modified": "2017-06-01T00:00:00.000Z", "name": "Execution", "x_mitre_shortname": "execution"}
    ]}"#;

    #[test]
    fn strict_parse_says_a_stix20_bundle_is_stix20() {
        let err = parse_document(BUNDLE20).unwrap_err();
        assert!(err.is_stix20());
        assert_eq!(
            (err.at.index, err.field.as_str()),
            (Some(0), "spec_version")
        );
        assert_eq!(
            err.problem,
            "missing (required: `2.1`): the bundle is STIX 2.0"
        );
        let lone = r#"{"type":"tool","id":"tool--2a6f4c7b-e690-4cc7-ab6b-1f821fb6b80b","created":"2017-06-01T00:00:00.000Z","modified":"2017-06-01T00:00:00.000Z","name":"x","labels":["x"]}"#;
        let err = parse_document(lone).unwrap_err();
        assert!(err.is_stix20(), "{err}");
        assert!(err
            .problem
            .ends_with("without it this is a STIX 2.0 object"));
        // A type new in 2.1 without `spec_version` is a broken 2.1 object, not a 2.0 one.
        let note = IND
            .replace(r#""spec_version":"2.1","#, "")
            .replace("indicator", "note");
        let err = parse_document(&note).unwrap_err();
        assert_eq!(
            (err.field.as_str(), err.is_stix20()),
            ("spec_version", false)
        );
        // Other errors are not about STIX 2.0.
        assert!(!parse_document("{").unwrap_err().is_stix20());
    }

    #[test]
    fn upgrading_parse_reads_a_stix20_bundle() {
        let read = parse_document_upgrading(BUNDLE20).unwrap();
        assert!(read.declared_stix20);
        assert_eq!(read.document.objects.len(), 3);
        assert_eq!(read.upgrades.len(), 3);
        assert_eq!(read.upgraded_count(), 3);
        let malware = &read.document.objects[0];
        assert_eq!(malware.spec_version(), Some("2.1"));
        assert_eq!(malware.props()["is_family"], true);
        let rules: Vec<_> = read.upgrades[0]
            .iter()
            .map(|u| u.property.as_str())
            .collect();
        assert_eq!(rules, ["spec_version", "is_family", "malware_types"]);
        // The text received is kept byte for byte (the escape too), the additions at its end.
        assert!(malware
            .raw()
            .starts_with(r#"{"type": "malware", "id": "malware--2a6f4c7b"#));
        assert!(malware.raw().contains(r#""name": "Caf\u00e9""#));
        assert!(malware.raw().ends_with(
            r#""x_mitre_version": "1.1","spec_version":"2.1","is_family":true,"malware_types":["malware"]}"#
        ));
        let reparsed = parse_document(malware.raw()).unwrap();
        assert_eq!(&reparsed.objects[0], malware);
        assert_eq!(read.upgrades[2].len(), 1);
        assert_eq!(read.document.objects[2].object_type(), "x-mitre-tactic");
    }

    #[test]
    fn upgrading_parse_reads_stix21_exactly_as_the_strict_one() {
        let doc = format!(
            r#"{{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[{IND}]}}"#
        );
        let read = parse_document_upgrading(&doc).unwrap();
        assert!(!read.declared_stix20);
        assert_eq!(read.upgraded_count(), 0);
        assert_eq!(read.document.objects[0].raw(), IND);
        assert_eq!(read.document.objects, parse_document(&doc).unwrap().objects);
        let bad = IND.replace("\"2.1\"", "\"2.0\"");
        assert_eq!(
            parse_document_upgrading(&bad).unwrap_err(),
            parse_document(&bad).unwrap_err()
        );
    }

    #[test]
    fn upgrading_parse_mixes_versions_and_reads_lone_objects() {
        let ind20 = r#"{"type":"indicator","id":"indicator--1e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2016-04-06T20:03:48.000Z","modified":"2016-04-06T20:03:48.000Z","labels":["malicious-activity"],"pattern":"[ipv4-addr:value = '198.51.100.1']","valid_from":"2016-01-01T00:00:00Z"}"#;
        let read = parse_document_upgrading(&format!(r#"{{"objects":[{IND},{ind20}]}}"#)).unwrap();
        assert!(read.upgrades[0].is_empty());
        let added: Vec<_> = read.upgrades[1]
            .iter()
            .map(|u| u.property.as_str())
            .collect();
        assert_eq!(
            added,
            [
                "spec_version",
                "pattern_type",
                "pattern_version",
                "indicator_types"
            ]
        );
        let lone = parse_document_upgrading(ind20).unwrap();
        assert_eq!(lone.upgrades[0], read.upgrades[1]);
        assert_eq!(lone.document.objects[0], read.document.objects[1]);
    }

    #[test]
    fn upgraded_objects_that_21_refuses_say_they_were_stix20() {
        // `published` is required in 2.0 already: the upgrade does not invent it.
        let report = r#"{"type":"report","id":"report--1e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2016-04-06T20:03:48.000Z","modified":"2016-04-06T20:03:48.000Z","name":"r","labels":["threat-report"],"object_refs":["indicator--1e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"]}"#;
        let err = parse_document_upgrading(report).unwrap_err();
        assert!(err.is_stix20());
        assert_eq!(err.field, "published");
        assert_eq!(
            err.to_string(),
            "object `report--1e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f`: field `published`: missing (required for `report`) (this STIX 2.0 object was upgraded to 2.1 first)"
        );
    }
}
