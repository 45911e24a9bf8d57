use serde_json::{Map, Value};

use crate::error::{Locator, StixError};
use crate::id::{check_type_name, StixId};
use crate::timestamp::Timestamp;
use crate::upgrade::type_reads_as_stix20;
use crate::vocab::{is_sco_type, is_sdo_or_sro_type, required_properties};

/// The liaison extension-definition (DESIGN.md, "The liaison marking, on the wire"). Labels
/// carry it on marking-definitions; objects carry it for `tearline_of`.
pub const LIAISON_EXTENSION_ID: &str = "extension-definition--fdceca40-f3b2-4da3-949c-c0e437c0f459";

/// One granular marking (STIX 2.1 section 7.2.3): a marking or a language applied to the
/// fields that `selectors` name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GranularMarking {
    /// The marking-definition applied, if this is a marking (not a language).
    pub marking_ref: Option<StixId>,
    /// The language, if this is a language marking.
    pub lang: Option<String>,
    /// Selectors of the marked fields, e.g. `description` or `external_references.[0].url`.
    pub selectors: Vec<String>,
}

/// A STIX 2.1 object, kept exactly as received, with the common properties checked and
/// typed.
#[derive(Debug, Clone)]
pub struct StixObject {
    raw: String,
    props: Map<String, Value>,
    id: StixId,
    created: Option<Timestamp>,
    modified: Option<Timestamp>,
    object_marking_refs: Vec<StixId>,
    granular_markings: Vec<GranularMarking>,
    tearline_of: Option<StixId>,
}

impl PartialEq for StixObject {
    fn eq(&self, other: &Self) -> bool {
        self.props == other.props
    }
}

impl StixObject {
    /// Checks a parsed JSON value as a STIX 2.1 object. `raw` is the text it was parsed from,
    /// kept verbatim.
    pub fn from_parts(value: Value, raw: String, at: &Locator) -> Result<StixObject, StixError> {
        let Value::Object(props) = value else {
            return Err(StixError::new(at, "-", "not a JSON object"));
        };
        let mut at = at.clone();
        at.id = props.get("id").and_then(Value::as_str).map(str::to_owned);
        let at = &at;

        let ty = req_str(&props, "type", at)?;
        check_type_name(ty).map_err(|e| StixError::new(at, "type", e))?;
        let id =
            StixId::parse(req_str(&props, "id", at)?).map_err(|e| StixError::new(at, "id", e))?;
        if id.object_type() != ty {
            return Err(StixError::new(
                at,
                "id",
                format!(
                    "the id's type `{}` differs from `type` `{ty}`",
                    id.object_type()
                ),
            ));
        }
        let sco = is_sco_type(ty);
        match props.get("spec_version") {
            Some(Value::String(v)) if v == "2.1" => {}
            Some(Value::String(v)) => {
                return Err(StixError::new(
                    at,
                    "spec_version",
                    format!("`{v}` is not supported: liaison speaks STIX 2.1"),
                ))
            }
            Some(_) => return Err(StixError::new(at, "spec_version", "must be a string")),
            None if sco => {}
            None if type_reads_as_stix20(ty) => {
                return Err(StixError::new(
                    at,
                    "spec_version",
                    "missing (required: `2.1`): without it this is a STIX 2.0 object",
                )
                .in_stix20())
            }
            None => {
                return Err(StixError::new(
                    at,
                    "spec_version",
                    "missing (required: `2.1`)",
                ))
            }
        }

        let created = opt_timestamp(&props, "created", at)?;
        let modified = opt_timestamp(&props, "modified", at)?;
        if is_sdo_or_sro_type(ty) || ty == "marking-definition" {
            if created.is_none() {
                return Err(StixError::new(at, "created", "missing"));
            }
            if modified.is_none() && ty != "marking-definition" {
                return Err(StixError::new(at, "modified", "missing"));
            }
        }
        if let (Some(c), Some(m)) = (&created, &modified) {
            if m < c {
                return Err(StixError::new(
                    at,
                    "modified",
                    format!("`{m}` is earlier than `created` `{c}`"),
                ));
            }
        }

        for (key, value) in &props {
            check_reference_property(key, value, at)?;
        }
        let object_marking_refs = match props.get("object_marking_refs") {
            Some(v) => {
                let refs = id_list(v, "object_marking_refs", at)?;
                if let Some(bad) = refs
                    .iter()
                    .find(|r| r.object_type() != "marking-definition")
                {
                    return Err(StixError::new(
                        at,
                        "object_marking_refs",
                        format!("`{bad}` is not a marking-definition"),
                    ));
                }
                refs
            }
            None => Vec::new(),
        };
        let granular_markings = match props.get("granular_markings") {
            Some(v) => parse_granular(v, at)?,
            None => Vec::new(),
        };

        for key in required_properties(ty) {
            match props.get(*key) {
                None => {
                    return Err(StixError::new(
                        at,
                        key,
                        format!("missing (required for `{ty}`)"),
                    ))
                }
                Some(Value::Array(a)) if a.is_empty() => {
                    return Err(StixError::new(at, key, "must not be an empty list"))
                }
                Some(_) => {}
            }
        }
        if ty == "relationship" {
            req_str(&props, "relationship_type", at)?;
        }
        if ty == "marking-definition"
            && !props.contains_key("extensions")
            && !(props.contains_key("definition_type") && props.contains_key("definition"))
        {
            return Err(StixError::new(
                at,
                "definition",
                "a marking-definition needs `definition_type` and `definition`, or `extensions`",
            ));
        }

        let tearline_of = match props
            .get("extensions")
            .and_then(|e| e.get(LIAISON_EXTENSION_ID))
            .and_then(|e| e.get("tearline_of"))
        {
            None => None,
            Some(Value::String(s)) => Some(
                StixId::parse(s)
                    .map_err(|e| StixError::new(at, "extensions.liaison.tearline_of", e))?,
            ),
            Some(_) => {
                return Err(StixError::new(
                    at,
                    "extensions.liaison.tearline_of",
                    "must be a STIX identifier",
                ))
            }
        };
        if let Some(ext) = props.get("extensions") {
            if !ext.is_object() {
                return Err(StixError::new(at, "extensions", "must be a JSON object"));
            }
        }

        Ok(StixObject {
            raw,
            props,
            id,
            created,
            modified,
            object_marking_refs,
            granular_markings,
            tearline_of,
        })
    }

    /// Checks a JSON object that liaison itself built, writing its text.
    pub fn from_props(props: Map<String, Value>) -> Result<StixObject, StixError> {
        let raw = Value::Object(props.clone()).to_string();
        StixObject::from_parts(
            Value::Object(props),
            raw,
            &Locator {
                index: None,
                id: None,
            },
        )
    }

    /// The object's text exactly as received.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// Every property, as received.
    pub fn props(&self) -> &Map<String, Value> {
        &self.props
    }

    /// `id`.
    pub fn id(&self) -> &StixId {
        &self.id
    }

    /// `type`.
    pub fn object_type(&self) -> &str {
        self.id.object_type()
    }

    /// `spec_version` (absent on some observables).
    pub fn spec_version(&self) -> Option<&str> {
        self.props.get("spec_version").and_then(Value::as_str)
    }

    /// `created`.
    pub fn created(&self) -> Option<&Timestamp> {
        self.created.as_ref()
    }

    /// `modified`.
    pub fn modified(&self) -> Option<&Timestamp> {
        self.modified.as_ref()
    }

    /// What tells versions of this object apart: `modified`, else `created`; observables
    /// have none and a single version.
    pub fn version(&self) -> Option<&Timestamp> {
        self.modified.as_ref().or(self.created.as_ref())
    }

    /// `created_by_ref`.
    pub fn created_by_ref(&self) -> Option<&str> {
        self.str_prop("created_by_ref")
    }

    /// `object_marking_refs`.
    pub fn object_marking_refs(&self) -> &[StixId] {
        &self.object_marking_refs
    }

    /// `granular_markings`.
    pub fn granular_markings(&self) -> &[GranularMarking] {
        &self.granular_markings
    }

    /// `external_references`, as received.
    pub fn external_references(&self) -> &[Value] {
        self.props
            .get("external_references")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// `object_refs` (reports, groupings, notes, opinions).
    pub fn object_refs(&self) -> impl Iterator<Item = &str> {
        self.props
            .get("object_refs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
    }

    /// `relationship_type` of a relationship.
    pub fn relationship_type(&self) -> Option<&str> {
        self.str_prop("relationship_type")
    }

    /// `source_ref` of a relationship.
    pub fn source_ref(&self) -> Option<&str> {
        self.str_prop("source_ref")
    }

    /// `target_ref` of a relationship.
    pub fn target_ref(&self) -> Option<&str> {
        self.str_prop("target_ref")
    }

    /// `sighting_of_ref` of a sighting.
    pub fn sighting_of_ref(&self) -> Option<&str> {
        self.str_prop("sighting_of_ref")
    }

    /// `extensions`, as received.
    pub fn extensions(&self) -> Option<&Map<String, Value>> {
        self.props.get("extensions").and_then(Value::as_object)
    }

    /// `labels` (free-form tags), as received.
    pub fn tags(&self) -> impl Iterator<Item = &str> {
        self.props
            .get("labels")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
    }

    /// For an owner's sanitized version of another object, the id of that object
    /// (`extensions.<liaison>.tearline_of`).
    pub fn tearline_of(&self) -> Option<&StixId> {
        self.tearline_of.as_ref()
    }

    /// The objects a relationship or sighting joins, which a recipient must be able to see
    /// for it to flow: `source_ref` and `target_ref`, or `sighting_of_ref`.
    pub fn ends(&self) -> impl Iterator<Item = &str> {
        let keys: &[&str] = match self.object_type() {
            "relationship" => &["source_ref", "target_ref"],
            "sighting" => &["sighting_of_ref"],
            _ => &[],
        };
        keys.iter().filter_map(|k| self.str_prop(k))
    }

    /// For a `derived-from` relationship, the (derived, source) pair.
    pub fn derivation(&self) -> Option<(&str, &str)> {
        if self.object_type() == "relationship" && self.relationship_type() == Some("derived-from")
        {
            Some((self.source_ref()?, self.target_ref()?))
        } else {
            None
        }
    }

    fn str_prop(&self, key: &str) -> Option<&str> {
        self.props.get(key).and_then(Value::as_str)
    }
}

fn req_str<'a>(
    props: &'a Map<String, Value>,
    key: &str,
    at: &Locator,
) -> Result<&'a str, StixError> {
    match props.get(key) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(StixError::new(at, key, "must be a string")),
        None => Err(StixError::new(at, key, "missing")),
    }
}

fn opt_timestamp(
    props: &Map<String, Value>,
    key: &str,
    at: &Locator,
) -> Result<Option<Timestamp>, StixError> {
    match props.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Timestamp::parse(s)
            .map(Some)
            .map_err(|e| StixError::new(at, key, e)),
        Some(_) => Err(StixError::new(at, key, "must be a timestamp string")),
    }
}

fn id_list(v: &Value, field: &str, at: &Locator) -> Result<Vec<StixId>, StixError> {
    let Value::Array(items) = v else {
        return Err(StixError::new(at, field, "must be a list of identifiers"));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::String(s) => {
                StixId::parse(s).map_err(|e| StixError::new(at, &format!("{field}.[{i}]"), e))
            }
            _ => Err(StixError::new(
                at,
                &format!("{field}.[{i}]"),
                "must be an identifier string",
            )),
        })
        .collect()
}

/// Section 3.3: properties named `*_ref` hold one identifier and `*_refs` a list of them.
fn check_reference_property(key: &str, value: &Value, at: &Locator) -> Result<(), StixError> {
    if key.ends_with("_ref") {
        match value {
            Value::String(s) => StixId::parse(s)
                .map(|_| ())
                .map_err(|e| StixError::new(at, key, e)),
            _ => Err(StixError::new(at, key, "must be an identifier string")),
        }
    } else if key.ends_with("_refs") {
        id_list(value, key, at).map(|_| ())
    } else {
        Ok(())
    }
}

fn parse_granular(v: &Value, at: &Locator) -> Result<Vec<GranularMarking>, StixError> {
    let Value::Array(items) = v else {
        return Err(StixError::new(at, "granular_markings", "must be a list"));
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let field = format!("granular_markings.[{i}]");
        let Value::Object(m) = item else {
            return Err(StixError::new(at, &field, "must be a JSON object"));
        };
        let marking_ref = match m.get("marking_ref") {
            None => None,
            Some(Value::String(s)) => {
                let id = StixId::parse(s)
                    .map_err(|e| StixError::new(at, &format!("{field}.marking_ref"), e))?;
                if id.object_type() != "marking-definition" {
                    return Err(StixError::new(
                        at,
                        &format!("{field}.marking_ref"),
                        format!("`{id}` is not a marking-definition"),
                    ));
                }
                Some(id)
            }
            Some(_) => {
                return Err(StixError::new(
                    at,
                    &format!("{field}.marking_ref"),
                    "must be an identifier string",
                ))
            }
        };
        let lang = match m.get("lang") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                return Err(StixError::new(
                    at,
                    &format!("{field}.lang"),
                    "must be a string",
                ))
            }
        };
        if marking_ref.is_some() == lang.is_some() {
            return Err(StixError::new(
                at,
                &field,
                "needs exactly one of `marking_ref` and `lang`",
            ));
        }
        let selectors = match m.get("selectors") {
            Some(Value::Array(s)) if !s.is_empty() => s
                .iter()
                .map(|x| x.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    StixError::new(at, &format!("{field}.selectors"), "must be strings")
                })?,
            _ => {
                return Err(StixError::new(
                    at,
                    &format!("{field}.selectors"),
                    "missing or empty",
                ))
            }
        };
        out.push(GranularMarking {
            marking_ref,
            lang,
            selectors,
        });
    }
    Ok(out)
}
