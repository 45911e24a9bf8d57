use std::collections::HashMap;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::error::{Locator, StixError};
use crate::id::StixId;
use crate::object::StixObject;

/// What a file or request body held: a bundle (or TAXII envelope) of objects, or one object.
#[derive(Debug, Clone)]
pub struct Document {
    /// The bundle's id, when the document was a bundle.
    pub bundle_id: Option<StixId>,
    /// The objects, in document order.
    pub objects: Vec<StixObject>,
}

#[derive(Deserialize)]
struct Shape<'a> {
    #[serde(rename = "type")]
    ty: Option<&'a str>,
    id: Option<&'a str>,
    #[serde(borrow)]
    objects: Option<Vec<&'a RawValue>>,
}

/// Parses a STIX bundle, a TAXII envelope (`{"objects": [...]}`) or a single object. Every
/// object is checked; the first problem found refuses the whole document, so that a bundle
/// is taken whole or not at all.
pub fn parse_document(text: &str) -> Result<Document, StixError> {
    let whole = Locator {
        index: None,
        id: None,
    };
    let shape: Shape<'_> = serde_json::from_str(text)
        .map_err(|e| StixError::new(&whole, "-", format!("not valid JSON: {e}")))?;
    let Some(items) = shape.objects else {
        if shape.ty == Some("bundle") {
            return Ok(Document {
                bundle_id: bundle_id(shape.id, &whole)?,
                objects: Vec::new(),
            });
        }
        let value: Value = serde_json::from_str(text)
            .map_err(|e| StixError::new(&whole, "-", format!("not valid JSON: {e}")))?;
        let object = StixObject::from_parts(value, text.trim().to_owned(), &whole)?;
        return Ok(Document {
            bundle_id: None,
            objects: vec![object],
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
    let mut seen: HashMap<(String, Option<i128>), usize> = HashMap::with_capacity(items.len());
    for (index, raw) in items.into_iter().enumerate() {
        let at = Locator {
            index: Some(index),
            id: None,
        };
        let value: Value = serde_json::from_str(raw.get())
            .map_err(|e| StixError::new(&at, "-", format!("not valid JSON: {e}")))?;
        let object = StixObject::from_parts(value, raw.get().to_owned(), &at)?;
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
    }
    Ok(Document { bundle_id, objects })
}

fn bundle_id(id: Option<&str>, at: &Locator) -> Result<Option<StixId>, StixError> {
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
}
