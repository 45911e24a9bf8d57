//! Edits of an object's text that keep every byte they do not change: what a partner or a
//! feed sent (its escapes such as `\u2019`, its spacing, its key order) goes out again as it
//! came, with only the property that liaison sets written anew. Re-serialising the parsed
//! value instead would rewrite escapes and spacing, and so the bytes a recipient hashes.

use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::Value;

/// The top-level members of an object's text: each key with its value's text, borrowed from
/// the text read (so its position in that text is known).
struct Members<'a>(Vec<(String, &'a RawValue)>);

impl<'de> serde::Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MembersVisitor;
        impl<'de> Visitor<'de> for MembersVisitor {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<'de>, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry::<String, &'de RawValue>()? {
                    members.push(member);
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(MembersVisitor)
    }
}

/// `raw` (a JSON object's text) with the top-level property `key` set to `value`: the value's
/// text replaced where the property stands, or the property written before the closing brace
/// when absent. Every other byte of `raw` is kept. `None` if `raw` is not an object's text or
/// names `key` more than once (the caller then writes the object anew).
pub fn with_property(raw: &str, key: &str, value: &Value) -> Option<String> {
    let Members(members) = serde_json::from_str(raw).ok()?;
    let mut found = members.iter().filter(|(k, _)| k == key);
    let value_text = value.to_string();
    match (found.next(), found.next()) {
        (Some((_, at)), None) => {
            let text = at.get();
            // The value's text is borrowed from `raw`: its offset is where it starts there.
            let start = (text.as_ptr() as usize).checked_sub(raw.as_ptr() as usize)?;
            let end = start.checked_add(text.len())?;
            if raw.get(start..end) != Some(text) {
                return None;
            }
            let mut out = String::with_capacity(raw.len() + value_text.len());
            out.push_str(raw.get(..start)?);
            out.push_str(&value_text);
            out.push_str(raw.get(end..)?);
            Some(out)
        }
        (None, _) => {
            let trimmed = raw.trim_end();
            let body = trimmed.strip_suffix('}')?;
            let mut out = String::with_capacity(raw.len() + key.len() + value_text.len() + 4);
            out.push_str(body);
            if !members.is_empty() {
                out.push(',');
            }
            out.push_str(&Value::from(key).to_string());
            out.push(':');
            out.push_str(&value_text);
            out.push('}');
            out.push_str(raw.get(trimmed.len()..)?);
            Some(out)
        }
        (Some(_), Some(_)) => None,
    }
}

/// `raw` with the values of several top-level properties, each present exactly once,
/// replaced by `changes` in one pass; every other byte kept. `None` if `raw` is not an
/// object's text, or a key of `changes` is absent or named twice.
pub fn with_properties(raw: &str, changes: &[(&str, &Value)]) -> Option<String> {
    let Members(members) = serde_json::from_str(raw).ok()?;
    let mut spans: Vec<(usize, usize, String)> = Vec::with_capacity(changes.len());
    for (key, value) in changes {
        let mut found = members.iter().filter(|(k, _)| k == key);
        let (Some((_, at)), None) = (found.next(), found.next()) else {
            return None;
        };
        let text = at.get();
        let start = (text.as_ptr() as usize).checked_sub(raw.as_ptr() as usize)?;
        let end = start.checked_add(text.len())?;
        if raw.get(start..end) != Some(text) {
            return None;
        }
        spans.push((start, end, value.to_string()));
    }
    spans.sort_by_key(|(start, _, _)| *start);
    let mut out = String::with_capacity(raw.len());
    let mut at = 0;
    for (start, end, text) in spans {
        out.push_str(raw.get(at..start)?);
        out.push_str(&text);
        at = end;
    }
    out.push_str(raw.get(at..)?);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const RAW: &str = "{\n  \"type\": \"attack-pattern\",\n  \"name\": \"Don\\u2019t \\/ \\u00e9\",\n  \"object_marking_refs\": [ \"marking-definition--a\" ],\n  \"x\": 1.50\n}";

    #[test]
    fn replaces_a_value_and_keeps_every_other_byte() {
        let refs = json!(["marking-definition--a", "marking-definition--b"]);
        let out = with_property(RAW, "object_marking_refs", &refs).unwrap();
        assert_eq!(
            out,
            RAW.replace(
                "[ \"marking-definition--a\" ]",
                "[\"marking-definition--a\",\"marking-definition--b\"]"
            )
        );
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["object_marking_refs"], refs);
    }

    #[test]
    fn adds_a_missing_property_before_the_closing_brace() {
        let out = with_property(RAW, "labels", &json!(["a"])).unwrap();
        assert_eq!(out, RAW.replace("1.50\n}", "1.50\n,\"labels\":[\"a\"]}"));
        assert_eq!(
            with_property(" {} ", "a", &json!(1)).as_deref(),
            Some(" {\"a\":1} ")
        );
    }

    #[test]
    fn refuses_what_it_cannot_edit_in_place() {
        assert_eq!(with_property("[1]", "a", &json!(1)), None);
        assert_eq!(with_property("{", "a", &json!(1)), None);
        assert_eq!(with_property(r#"{"a":1,"a":2}"#, "a", &json!(3)), None);
    }

    #[test]
    fn nested_members_of_the_same_name_are_not_touched() {
        let raw = r#"{"x":{"object_marking_refs":["m"]},"object_marking_refs":["n"]}"#;
        assert_eq!(
            with_property(raw, "object_marking_refs", &json!(["o"])).as_deref(),
            Some(r#"{"x":{"object_marking_refs":["m"]},"object_marking_refs":["o"]}"#)
        );
    }

    #[test]
    fn several_properties_are_replaced_keeping_every_other_byte() {
        let raw = "{ \"id\": \"x--1\",\n \"name\": \"O\\u2019B\", \"refs\": [1, 2] }";
        let out = with_properties(raw, &[("refs", &json!([2, 1])), ("id", &json!("x--2"))]);
        assert_eq!(
            out.as_deref(),
            Some("{ \"id\": \"x--2\",\n \"name\": \"O\\u2019B\", \"refs\": [2,1] }")
        );
        assert_eq!(with_properties(raw, &[("absent", &json!(1))]), None);
    }
}
