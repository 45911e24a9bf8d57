//! A whole liaison label and its wire form: a STIX 2.1 marking-definition carrying the
//! liaison property-extension (DESIGN.md, "The liaison marking, on the wire"). The fields of
//! the extension are authoritative; `name` is the banner line derived from them, and a
//! marking whose `name` disagrees with its fields is refused. The same label always gets the
//! same id. Also the extension-definition and the identity that publishes it.

use std::collections::BTreeSet;

use liaison_stix::{StixId, StixObject, LIAISON_EXTENSION_ID};
use serde_json::{Map, Value};

use crate::banner::{parse_compartment, rel_to_print_order, Banner};
use crate::error::{shown, LabelError};
use crate::grading::Grading;
use crate::party::Party;

/// The id of the identity that created liaison's extension-definition.
pub const LIAISON_IDENTITY_ID: &str = "identity--b6a5b8f2-4f0e-4c6a-9d1b-7c3e2a9f5d41";

/// When liaison's extension-definition and identity were created.
const PUBLISHED: &str = "2026-11-22T00:00:00.000Z";

/// The properties of the liaison extension on a marking-definition, in wire order.
const FIELDS: [&str; 10] = [
    "extension_type",
    "classification",
    "compartments",
    "rel_to",
    "controls",
    "originator",
    "tlp",
    "pap",
    "grading",
    "duty_to_warn",
];

/// The properties of the liaison extension a label cannot do without.
const REQUIRED: [&str; 4] = [
    "extension_type",
    "classification",
    "originator",
    "duty_to_warn",
];

/// A whole liaison label as carried in a marking-definition.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Label {
    /// What the banner line says.
    pub banner: Banner,
    /// The party that owns the material.
    pub originator: Party,
    /// The Admiralty grading, if given.
    pub grading: Option<Grading>,
    /// A warning of imminent threat to life: reciprocity gates never hold it back.
    pub duty_to_warn: bool,
}

impl Label {
    /// The liaison extension's properties for this label, in wire order, lists in canonical
    /// order (`rel_to` as the banner prints it, the rest sorted).
    fn extension(&self) -> Map<String, Value> {
        let b = &self.banner;
        let mut ext = Map::new();
        ext.insert("extension_type".into(), "property-extension".into());
        ext.insert("classification".into(), b.classification.as_str().into());
        // STIX 2.1 (section 3.1) prohibits empty lists: an empty set is written by omission.
        if !b.compartments.is_empty() {
            ext.insert(
                "compartments".into(),
                b.compartments
                    .iter()
                    .map(|c| Value::from(c.as_str()))
                    .collect(),
            );
        }
        if let Some(rel_to) = &b.rel_to {
            ext.insert(
                "rel_to".into(),
                rel_to_print_order(rel_to)
                    .into_iter()
                    .map(|p| Value::from(p.as_str()))
                    .collect(),
            );
        }
        if !b.controls.is_empty() {
            ext.insert(
                "controls".into(),
                b.controls.iter().map(|c| Value::from(c.as_str())).collect(),
            );
        }
        ext.insert("originator".into(), self.originator.as_str().into());
        if let Some(tlp) = b.tlp {
            ext.insert("tlp".into(), tlp.as_str().into());
        }
        if let Some(pap) = b.pap {
            ext.insert("pap".into(), pap.as_str().into());
        }
        if let Some(g) = self.grading {
            let mut gm = Map::new();
            gm.insert("reliability".into(), g.reliability.as_str().into());
            gm.insert("credibility".into(), g.credibility.as_str().into());
            ext.insert("grading".into(), Value::Object(gm));
        }
        ext.insert("duty_to_warn".into(), self.duty_to_warn.into());
        ext
    }

    /// The label's marking-definition: `type`, `spec_version`, `id` ([`Label::marking_id`]),
    /// `created` (the caller's STIX timestamp text, customarily millisecond precision),
    /// `name` (the banner line) and `extensions` with the liaison property-extension.
    pub fn to_marking_definition(&self, created: &str) -> Map<String, Value> {
        let mut exts = Map::new();
        exts.insert(LIAISON_EXTENSION_ID.into(), Value::Object(self.extension()));
        let mut m = Map::new();
        m.insert("type".into(), "marking-definition".into());
        m.insert("spec_version".into(), "2.1".into());
        m.insert("id".into(), self.marking_id().as_str().into());
        m.insert("created".into(), created.into());
        m.insert("name".into(), self.banner.to_string().into());
        m.insert("extensions".into(), Value::Object(exts));
        m
    }

    /// The deterministic id of this label's marking-definition: a version 5 UUID named by the
    /// canonical JSON of the extension, so equal labels share one marking-definition.
    pub fn marking_id(&self) -> StixId {
        let canonical = format!("liaison-label/1\n{}", Value::Object(self.extension()));
        StixId::new_named("marking-definition", canonical.as_bytes())
    }

    /// The label a marking-definition carries. `Ok(None)` when `obj` is not a
    /// marking-definition or carries no liaison extension; an error naming the field when it
    /// carries the extension with a field missing, malformed or unknown, or a `name` that is
    /// not the banner line of the fields.
    pub fn from_marking_definition(obj: &StixObject) -> Result<Option<Label>, LabelError> {
        if obj.object_type() != "marking-definition" {
            return Ok(None);
        }
        let Some(ext) = obj.extensions().and_then(|e| e.get(LIAISON_EXTENSION_ID)) else {
            return Ok(None);
        };
        let Value::Object(ext) = ext else {
            return Err(LabelError::field(
                "extensions",
                "the liaison extension must be a JSON object",
            ));
        };
        if let Some(unknown) = ext.keys().find(|k| !FIELDS.contains(&k.as_str())) {
            return Err(LabelError::field(&shown(unknown), "unknown field"));
        }
        // Every missing field at once, so that a hand-written label is fixed in one go.
        let missing: Vec<&str> = REQUIRED
            .into_iter()
            .filter(|f| !ext.contains_key(*f))
            .collect();
        if !missing.is_empty() {
            return Err(LabelError::Missing {
                fields: missing
                    .iter()
                    .map(|f| format!("`{f}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        match ext.get("extension_type") {
            Some(Value::String(s)) if s == "property-extension" => {}
            Some(_) => {
                return Err(LabelError::field(
                    "extension_type",
                    "must be `property-extension`",
                ))
            }
            None => return Err(LabelError::field("extension_type", "missing")),
        }

        let classification = req_str(ext, "classification")?
            .parse()
            .map_err(|e| wrap("classification", e))?;
        let compartments = opt_str_list(ext, "compartments")?
            .into_iter()
            .map(|(i, s)| parse_compartment(s).map_err(|e| wrap(&format!("compartments.[{i}]"), e)))
            .collect::<Result<BTreeSet<String>, _>>()?;
        let controls = opt_str_list(ext, "controls")?
            .into_iter()
            .map(|(i, s)| s.parse().map_err(|e| wrap(&format!("controls.[{i}]"), e)))
            .collect::<Result<_, _>>()?;
        let rel_to = match ext.get("rel_to") {
            None => None,
            Some(_) => {
                let items = str_list(ext, "rel_to")?;
                if items.is_empty() {
                    return Err(wrap("rel_to", LabelError::EmptyRelTo));
                }
                Some(
                    items
                        .into_iter()
                        .map(|(i, s)| {
                            Party::parse(s).map_err(|e| wrap(&format!("rel_to.[{i}]"), e))
                        })
                        .collect::<Result<BTreeSet<Party>, _>>()?,
                )
            }
        };
        let originator =
            Party::parse(req_str(ext, "originator")?).map_err(|e| wrap("originator", e))?;
        let tlp = opt_str(ext, "tlp")?
            .map(|s| s.parse().map_err(|e| wrap("tlp", e)))
            .transpose()?;
        let pap = opt_str(ext, "pap")?
            .map(|s| s.parse().map_err(|e| wrap("pap", e)))
            .transpose()?;
        let grading = match ext.get("grading") {
            None => None,
            Some(Value::Object(g)) => Some(parse_grading(g)?),
            Some(_) => return Err(LabelError::field("grading", "must be a JSON object")),
        };
        let duty_to_warn = match ext.get("duty_to_warn") {
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(LabelError::field("duty_to_warn", "must be true or false")),
            None => return Err(LabelError::field("duty_to_warn", "missing")),
        };

        let banner = Banner {
            classification,
            compartments,
            controls,
            rel_to,
            tlp,
            pap,
        };
        match obj.props().get("name") {
            None => {}
            Some(Value::String(name)) => match name.parse::<Banner>() {
                Ok(named) if named == banner => {}
                Ok(_) => {
                    return Err(LabelError::field(
                        "name",
                        format!(
                            "`{}` is not the banner line of the fields (`{banner}`)",
                            shown(name)
                        ),
                    ))
                }
                Err(e) => return Err(wrap("name", e)),
            },
            Some(_) => return Err(LabelError::field("name", "must be a string")),
        }
        Ok(Some(Label {
            banner,
            originator,
            grading,
            duty_to_warn,
        }))
    }
}

fn wrap(field: &str, e: LabelError) -> LabelError {
    LabelError::field(field, e.to_string())
}

fn req_str<'a>(ext: &'a Map<String, Value>, field: &str) -> Result<&'a str, LabelError> {
    opt_str(ext, field)?.ok_or_else(|| LabelError::field(field, "missing"))
}

fn opt_str<'a>(ext: &'a Map<String, Value>, field: &str) -> Result<Option<&'a str>, LabelError> {
    match ext.get(field) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(LabelError::field(field, "must be a string")),
    }
}

/// A list of strings that STIX lets a writer omit when empty (empty lists are prohibited),
/// so absent reads as empty; an empty list is tolerated.
fn opt_str_list<'a>(
    ext: &'a Map<String, Value>,
    field: &str,
) -> Result<Vec<(usize, &'a str)>, LabelError> {
    if ext.contains_key(field) {
        str_list(ext, field)
    } else {
        Ok(Vec::new())
    }
}

/// A required list of strings, with each item's index for error messages.
fn str_list<'a>(
    ext: &'a Map<String, Value>,
    field: &str,
) -> Result<Vec<(usize, &'a str)>, LabelError> {
    match ext.get(field) {
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok((i, s.as_str())),
                _ => Err(LabelError::field(
                    &format!("{field}.[{i}]"),
                    "must be a string",
                )),
            })
            .collect(),
        Some(_) => Err(LabelError::field(field, "must be a list of strings")),
        None => Err(LabelError::field(field, "missing")),
    }
}

fn parse_grading(g: &Map<String, Value>) -> Result<Grading, LabelError> {
    if let Some(unknown) = g
        .keys()
        .find(|k| *k != "reliability" && *k != "credibility")
    {
        return Err(LabelError::field(
            &format!("grading.{}", shown(unknown)),
            "unknown field",
        ));
    }
    Ok(Grading {
        reliability: req_str(g, "reliability")
            .map_err(|e| wrap("grading", e))?
            .parse()
            .map_err(|e| wrap("grading.reliability", e))?,
        credibility: req_str(g, "credibility")
            .map_err(|e| wrap("grading", e))?
            .parse()
            .map_err(|e| wrap("grading.credibility", e))?,
    })
}

/// The extension-definition object liaison publishes for its label (STIX 2.1 section 7.3),
/// with id [`LIAISON_EXTENSION_ID`], created by [`liaison_identity`].
pub fn extension_definition() -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("type".into(), "extension-definition".into());
    m.insert("spec_version".into(), "2.1".into());
    m.insert("id".into(), LIAISON_EXTENSION_ID.into());
    m.insert("created_by_ref".into(), LIAISON_IDENTITY_ID.into());
    m.insert("created".into(), PUBLISHED.into());
    m.insert("modified".into(), PUBLISHED.into());
    m.insert("name".into(), "liaison security label".into());
    m.insert(
        "description".into(),
        "A security label for intelligence exchanged between distrustful partners: \
         classification, compartments, release list, dissemination controls, originator, \
         TLP 2.0, PAP, Admiralty grading and duty to warn. Carried on marking-definitions."
            .into(),
    );
    m.insert(
        "schema".into(),
        "Property-extension on marking-definition. classification (string, required): \
         UNCLASSIFIED, RESTRICTED, CONFIDENTIAL, SECRET or TOP SECRET. compartments (list of \
         strings matching [A-Z0-9][A-Z0-9-]*; omitted when there are none). rel_to (list of ISO \
         3166-1 alpha-3 codes or group tokens FVEY, NATO, EU; absent means owner only; never \
         empty). controls (list of NOFORN, ORCON, IMCON, PROPIN, RELIDO, FISA, LIMDIS, EXDIS, \
         NODIS, DSEN; omitted when there are none; unknown words are refused). originator (ISO \
         3166-1 alpha-3 code or group token, required). tlp (clear, green, amber, \
         amber+strict or red; optional). pap (clear, green, amber or red; optional). grading \
         (object {reliability: A-F, credibility: 1-6 as a string}; optional; F and 6 mean \
         cannot be judged). duty_to_warn (boolean, required). No other property is allowed. \
         The marking-definition's name is the banner line of these fields, e.g. \
         SECRET//ORCON//REL TO USA, GBR//TLP:AMBER."
            .into(),
    );
    m.insert("version".into(), "1.0.0".into());
    m.insert(
        "extension_types".into(),
        Value::Array(vec!["property-extension".into()]),
    );
    m
}

/// The identity that created liaison's extension-definition.
pub fn liaison_identity() -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("type".into(), "identity".into());
    m.insert("spec_version".into(), "2.1".into());
    m.insert("id".into(), LIAISON_IDENTITY_ID.into());
    m.insert("created".into(), PUBLISHED.into());
    m.insert("modified".into(), PUBLISHED.into());
    m.insert("name".into(), "liaison".into());
    m.insert("identity_class".into(), "organization".into());
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grading::{Credibility, Reliability};
    use crate::level::{Classification, Tlp};
    use serde_json::json;

    const CREATED: &str = "2026-11-22T00:00:00.000Z";

    fn design_example() -> Label {
        Label {
            banner: "SECRET//ORCON//REL TO USA, GBR//TLP:AMBER//PAP:GREEN"
                .parse()
                .unwrap(),
            originator: Party::parse("ISR").unwrap(),
            grading: Some(Grading {
                reliability: Reliability::B,
                credibility: Credibility::Two,
            }),
            duty_to_warn: false,
        }
    }

    #[test]
    fn wire_form_matches_design() {
        let label = design_example();
        let m = label.to_marking_definition(CREATED);
        let expected = json!({
            "type": "marking-definition", "spec_version": "2.1",
            "id": label.marking_id().as_str(), "created": CREATED,
            "name": "SECRET//ORCON//REL TO USA, GBR//TLP:AMBER//PAP:GREEN",
            "extensions": {"extension-definition--fdceca40-f3b2-4da3-949c-c0e437c0f459": {
                "extension_type": "property-extension",
                "classification": "SECRET", "rel_to": ["USA", "GBR"],
                "controls": ["ORCON"], "originator": "ISR", "tlp": "amber", "pap": "green",
                "grading": {"reliability": "B", "credibility": "2"}, "duty_to_warn": false}}
        });
        assert_eq!(Value::Object(m.clone()), expected);
        // Key order is part of the canonical form.
        let keys: Vec<&str> = m.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "type",
                "spec_version",
                "id",
                "created",
                "name",
                "extensions"
            ]
        );
    }

    #[test]
    fn round_trips_through_stix() {
        let label = design_example();
        let obj = StixObject::from_props(label.to_marking_definition(CREATED)).unwrap();
        assert_eq!(Label::from_marking_definition(&obj), Ok(Some(label)));
    }

    #[test]
    fn optional_fields_are_omitted() {
        let label = Label {
            banner: Banner::new(Classification::Unclassified),
            originator: Party::parse("USA").unwrap(),
            grading: None,
            duty_to_warn: true,
        };
        let m = label.to_marking_definition(CREATED);
        let ext = &m["extensions"][LIAISON_EXTENSION_ID];
        for absent in [
            "compartments",
            "controls",
            "rel_to",
            "tlp",
            "pap",
            "grading",
        ] {
            assert!(ext.get(absent).is_none(), "{absent}");
        }
        let obj = StixObject::from_props(m).unwrap();
        assert_eq!(Label::from_marking_definition(&obj), Ok(Some(label)));
    }

    #[test]
    fn ids_are_deterministic_and_distinct() {
        let a = design_example();
        assert_eq!(a.marking_id(), design_example().marking_id());
        let mut b = design_example();
        b.duty_to_warn = true;
        assert_ne!(a.marking_id(), b.marking_id());
        let mut c = design_example();
        c.originator = Party::parse("USA").unwrap();
        assert_ne!(a.marking_id(), c.marking_id());
        assert_eq!(a.marking_id().object_type(), "marking-definition");
    }

    #[test]
    fn other_objects_are_not_labels() {
        let tlp = StixObject::from_props(Tlp::Amber.marking_definition()).unwrap();
        assert_eq!(Label::from_marking_definition(&tlp), Ok(None));
        let ident = StixObject::from_props(liaison_identity()).unwrap();
        assert_eq!(Label::from_marking_definition(&ident), Ok(None));
    }

    fn with_ext(edit: impl FnOnce(&mut Map<String, Value>)) -> Result<Option<Label>, LabelError> {
        let mut m = design_example().to_marking_definition(CREATED);
        if let Some(Value::Object(exts)) = m.get_mut("extensions") {
            if let Some(Value::Object(ext)) = exts.get_mut(LIAISON_EXTENSION_ID) {
                edit(ext);
            }
        }
        m.remove("name");
        Label::from_marking_definition(&StixObject::from_props(m).unwrap())
    }

    fn field_of(r: Result<Option<Label>, LabelError>) -> String {
        match r {
            Err(LabelError::Field { field, .. }) => field,
            Err(LabelError::Missing { fields }) => fields.replace('`', ""),
            other => format!("not a field error: {other:?}"),
        }
    }

    #[test]
    fn every_missing_field_is_named_at_once() {
        let err = with_ext(|e| {
            e.remove("classification");
            e.remove("originator");
            e.remove("duty_to_warn");
        })
        .map_err(|e| e.to_string());
        assert_eq!(
            err,
            Err(
                "liaison marking: missing `classification`, `originator`, `duty_to_warn`"
                    .to_owned()
            )
        );
    }

    #[test]
    fn malformed_fields_are_named() {
        assert_eq!(
            field_of(with_ext(|e| {
                e.remove("classification");
            })),
            "classification"
        );
        assert_eq!(
            field_of(with_ext(|e| {
                e.insert("classification".into(), "SEKRET".into());
            })),
            "classification"
        );
        assert_eq!(
            field_of(with_ext(|e| {
                e.insert("compartments".into(), json!("SI"));
            })),
            "compartments"
        );
        assert_eq!(
            field_of(with_ext(|e| {
                e.insert("controls".into(), json!([1]));
            })),
            "controls.[0]"
        );
        assert_eq!(
            field_of(with_ext(|e| {
                e.insert("controls".into(), json!(["ORCON", "WAIVED"]));
            })),
            "controls.[1]"
        );
        assert_eq!(
            field_of(with_ext(|e| {
                e.insert("rel_to".into(), json!(["USA", "XYZ"]));
            })),
            "rel_to.[1]"
        );
        assert_eq!(
            field_of(with_ext(|e| {
                e.insert("rel_to".into(), json!([]));
            })),
            "rel_to"
        );
        assert_eq!(
            field_of(with_ext(|e| {
                e.insert("rel_to".into(), json!("USA"));
            })),
            "rel_to"
        );
        assert_eq!(
            field_of(with_ext(|e| {
                e.remove("originator");
            })),
            "originator"
        );
        assert_eq!(
            field_of(with_ext(|e| {
                e.insert("tlp".into(), "blue".into());
            })),
            "tlp"
        );
        assert_eq!(
            field_of(with_ext(|e| {
                e.insert("pap".into(), json!(2));
            })),
            "pap"
        );
        assert_eq!(
            field_of(with_ext(|e| {
                e.insert(
                    "grading".into(),
                    json!({"reliability": "G", "credibility": "2"}),
                );
            })),
            "grading.reliability"
        );
        assert_eq!(
            field_of(with_ext(|e| {
                e.insert("duty_to_warn".into(), "yes".into());
            })),
            "duty_to_warn"
        );
        assert_eq!(
            field_of(with_ext(|e| {
                e.remove("duty_to_warn");
            })),
            "duty_to_warn"
        );
        assert_eq!(
            field_of(with_ext(|e| {
                e.insert("caveat".into(), "x".into());
            })),
            "caveat"
        );
        assert_eq!(
            field_of(with_ext(|e| {
                e.insert(
                    "extension_type".into(),
                    "toplevel-property-extension".into(),
                );
            })),
            "extension_type"
        );
        assert_eq!(
            field_of(with_ext(|e| {
                e.insert("compartments".into(), json!(["SI", "NOFORN"]));
            })),
            "compartments.[1]"
        );
        // Omitted and empty lists both read as empty.
        let no_controls = with_ext(|e| {
            e.remove("controls");
        })
        .unwrap()
        .unwrap();
        assert!(no_controls.banner.controls.is_empty());
        let empty_controls = with_ext(|e| {
            e.insert("controls".into(), json!([]));
        });
        assert_eq!(empty_controls, Ok(Some(no_controls)));
        // And the untouched one (without `name`) is fine.
        assert_eq!(with_ext(|_| {}), Ok(Some(design_example())));
    }

    #[test]
    fn a_name_that_disagrees_with_the_fields_is_refused() {
        let mut m = design_example().to_marking_definition(CREATED);
        m.insert("name".into(), "UNCLASSIFIED//TLP:CLEAR".into());
        let obj = StixObject::from_props(m).unwrap();
        assert_eq!(field_of(Label::from_marking_definition(&obj)), "name");
    }

    #[test]
    fn published_objects_are_well_formed_stix() {
        let ext = StixObject::from_props(extension_definition()).unwrap();
        assert_eq!(ext.id().as_str(), LIAISON_EXTENSION_ID);
        assert_eq!(ext.created_by_ref(), Some(LIAISON_IDENTITY_ID));
        let ident = StixObject::from_props(liaison_identity()).unwrap();
        assert_eq!(ident.id().as_str(), LIAISON_IDENTITY_ID);
    }
}
