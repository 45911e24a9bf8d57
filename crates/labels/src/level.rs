//! The ordered levels of a label: classification, TLP 2.0 and PAP. Each is a total order
//! from least to most restrictive (the derived `Ord` follows declaration order), which is
//! what the join takes the maximum of. Parsing is case-insensitive; printing is canonical.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{shown, LabelError};

/// A classification level of the default scheme, ordered
/// `Unclassified < Restricted < Confidential < Secret < TopSecret`.
///
/// Parsed from the full name or its abbreviation (`U`, `R`, `C`, `S`, `TS`), any case;
/// printed and serialized as the full uppercase name (`"TOP SECRET"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Classification {
    /// UNCLASSIFIED (`U`).
    Unclassified,
    /// RESTRICTED (`R`).
    Restricted,
    /// CONFIDENTIAL (`C`).
    Confidential,
    /// SECRET (`S`).
    Secret,
    /// TOP SECRET (`TS`).
    TopSecret,
}

impl Classification {
    /// Every level, lowest first.
    pub const ALL: [Classification; 5] = [
        Classification::Unclassified,
        Classification::Restricted,
        Classification::Confidential,
        Classification::Secret,
        Classification::TopSecret,
    ];

    /// The full uppercase name, e.g. `TOP SECRET`.
    pub fn as_str(self) -> &'static str {
        match self {
            Classification::Unclassified => "UNCLASSIFIED",
            Classification::Restricted => "RESTRICTED",
            Classification::Confidential => "CONFIDENTIAL",
            Classification::Secret => "SECRET",
            Classification::TopSecret => "TOP SECRET",
        }
    }

    /// The abbreviation, e.g. `TS`.
    pub fn abbreviation(self) -> &'static str {
        match self {
            Classification::Unclassified => "U",
            Classification::Restricted => "R",
            Classification::Confidential => "C",
            Classification::Secret => "S",
            Classification::TopSecret => "TS",
        }
    }
}

impl FromStr for Classification {
    type Err = LabelError;
    fn from_str(s: &str) -> Result<Self, LabelError> {
        let norm = s
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_ascii_uppercase();
        Classification::ALL
            .into_iter()
            .find(|c| c.as_str() == norm || c.abbreviation() == norm)
            .ok_or_else(|| LabelError::UnknownClassification(shown(s.trim())))
    }
}

impl fmt::Display for Classification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The TLP 2.0 extension-definition that the OASIS TLP 2.0 marking-definitions carry.
pub const TLP_2_EXTENSION_ID: &str = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";

/// A Traffic Light Protocol 2.0 level, ordered `Clear < Green < Amber < AmberStrict < Red`.
///
/// Parsed from `clear`, `white` (TLP 1.0, read as CLEAR), `green`, `amber`, `amber+strict`,
/// `red`, optionally prefixed `TLP:`, any case; printed as `TLP:AMBER+STRICT`; serialized as
/// the lowercase word (`"amber+strict"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Tlp {
    /// TLP:CLEAR (TLP 1.0: WHITE).
    Clear,
    /// TLP:GREEN.
    Green,
    /// TLP:AMBER.
    Amber,
    /// TLP:AMBER+STRICT.
    AmberStrict,
    /// TLP:RED.
    Red,
}

impl Tlp {
    /// Every level, least restrictive first.
    pub const ALL: [Tlp; 5] = [
        Tlp::Clear,
        Tlp::Green,
        Tlp::Amber,
        Tlp::AmberStrict,
        Tlp::Red,
    ];

    /// The lowercase wire word, as in the TLP 2.0 extension's `tlp_2_0` property.
    pub fn as_str(self) -> &'static str {
        match self {
            Tlp::Clear => "clear",
            Tlp::Green => "green",
            Tlp::Amber => "amber",
            Tlp::AmberStrict => "amber+strict",
            Tlp::Red => "red",
        }
    }

    /// The id of the OASIS TLP 2.0 marking-definition for this level
    /// (oasis-open/cti-stix-common-objects, `extension-definition-specifications/tlp-2.0`).
    pub fn marking_id(self) -> &'static str {
        match self {
            Tlp::Clear => "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
            Tlp::Green => "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
            Tlp::Amber => "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
            Tlp::AmberStrict => "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
            Tlp::Red => "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
        }
    }

    /// The level a TLP marking-definition id stands for: the five TLP 2.0 ids and the four
    /// TLP 1.0 ids that STIX 2.1 predefines (section 7.2.1.4; WHITE reads as CLEAR).
    pub fn from_marking_id(id: &str) -> Option<Tlp> {
        match id {
            "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"
            | "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9" => Some(Tlp::Clear),
            "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
            | "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da" => Some(Tlp::Green),
            "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
            | "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82" => Some(Tlp::Amber),
            "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003" => Some(Tlp::AmberStrict),
            "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
            | "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed" => Some(Tlp::Red),
            _ => None,
        }
    }

    /// The predefined TLP marking-definition whose id is `id`, as published: TLP 2.0 for the
    /// TLP 2.0 ids, and for the four TLP 1.0 ids the STIX 2.1 objects of section 7.2.1.4
    /// (so that a copy referencing a TLP 1.0 id travels with that very definition).
    pub fn marking_definition_for_id(id: &str) -> Option<Map<String, Value>> {
        let tlp = Tlp::from_marking_id(id)?;
        if tlp.marking_id() == id {
            return Some(tlp.marking_definition());
        }
        let word = match tlp {
            Tlp::Clear => "white",
            other => other.as_str(),
        };
        let mut definition = Map::new();
        definition.insert("tlp".into(), word.into());
        let mut m = Map::new();
        m.insert("type".into(), "marking-definition".into());
        m.insert("spec_version".into(), "2.1".into());
        m.insert("id".into(), id.into());
        m.insert("created".into(), "2017-01-20T00:00:00.000Z".into());
        m.insert("definition_type".into(), "tlp".into());
        m.insert(
            "name".into(),
            format!("TLP:{}", word.to_ascii_uppercase()).into(),
        );
        m.insert("definition".into(), Value::Object(definition));
        Some(m)
    }

    /// The OASIS TLP 2.0 marking-definition object for this level, as published.
    pub fn marking_definition(self) -> Map<String, Value> {
        let mut ext = Map::new();
        ext.insert("extension_type".into(), "property-extension".into());
        ext.insert("tlp_2_0".into(), self.as_str().into());
        let mut exts = Map::new();
        exts.insert(TLP_2_EXTENSION_ID.into(), Value::Object(ext));
        let mut m = Map::new();
        m.insert("type".into(), "marking-definition".into());
        m.insert("spec_version".into(), "2.1".into());
        m.insert("id".into(), self.marking_id().into());
        m.insert("created".into(), "2022-10-01T00:00:00.000Z".into());
        m.insert("name".into(), self.to_string().into());
        m.insert("extensions".into(), Value::Object(exts));
        m
    }
}

impl FromStr for Tlp {
    type Err = LabelError;
    fn from_str(s: &str) -> Result<Self, LabelError> {
        let word = strip_prefix_ci(s.trim(), "TLP:")
            .unwrap_or(s)
            .trim()
            .to_ascii_lowercase();
        match word.as_str() {
            "white" => Ok(Tlp::Clear),
            w => Tlp::ALL
                .into_iter()
                .find(|t| t.as_str() == w)
                .ok_or_else(|| LabelError::UnknownTlp(shown(s.trim()))),
        }
    }
}

impl fmt::Display for Tlp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TLP:{}", self.as_str().to_ascii_uppercase())
    }
}

/// A Permissible Actions Protocol level, ordered `Clear < Green < Amber < Red`.
///
/// Parsed from `clear`, `white` (read as CLEAR), `green`, `amber`, `red`, optionally prefixed
/// `PAP:`, any case; printed as `PAP:GREEN`; serialized as the lowercase word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Pap {
    /// PAP:CLEAR (formerly WHITE).
    Clear,
    /// PAP:GREEN.
    Green,
    /// PAP:AMBER.
    Amber,
    /// PAP:RED.
    Red,
}

impl Pap {
    /// Every level, least restrictive first.
    pub const ALL: [Pap; 4] = [Pap::Clear, Pap::Green, Pap::Amber, Pap::Red];

    /// The lowercase wire word.
    pub fn as_str(self) -> &'static str {
        match self {
            Pap::Clear => "clear",
            Pap::Green => "green",
            Pap::Amber => "amber",
            Pap::Red => "red",
        }
    }
}

impl FromStr for Pap {
    type Err = LabelError;
    fn from_str(s: &str) -> Result<Self, LabelError> {
        let word = strip_prefix_ci(s.trim(), "PAP:")
            .unwrap_or(s)
            .trim()
            .to_ascii_lowercase();
        match word.as_str() {
            "white" => Ok(Pap::Clear),
            w => Pap::ALL
                .into_iter()
                .find(|t| t.as_str() == w)
                .ok_or_else(|| LabelError::UnknownPap(shown(s.trim()))),
        }
    }
}

impl fmt::Display for Pap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PAP:{}", self.as_str().to_ascii_uppercase())
    }
}

/// `s` without `prefix`, compared ignoring ASCII case.
pub(crate) fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) {
        s.get(prefix.len()..)
    } else {
        None
    }
}

macro_rules! string_serde {
    ($ty:ty, $to:expr) => {
        impl TryFrom<String> for $ty {
            type Error = LabelError;
            fn try_from(s: String) -> Result<Self, LabelError> {
                s.parse()
            }
        }
        impl From<$ty> for String {
            fn from(v: $ty) -> String {
                let to: fn($ty) -> String = $to;
                to(v)
            }
        }
    };
}
pub(crate) use string_serde;

string_serde!(Classification, |c| c.as_str().to_owned());
string_serde!(Tlp, |t| t.as_str().to_owned());
string_serde!(Pap, |p| p.as_str().to_owned());

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_order_and_names() {
        assert!(Classification::Unclassified < Classification::Restricted);
        assert!(Classification::Secret < Classification::TopSecret);
        for (s, c) in [
            ("UNCLASSIFIED", Classification::Unclassified),
            ("u", Classification::Unclassified),
            ("restricted", Classification::Restricted),
            ("C", Classification::Confidential),
            ("Secret", Classification::Secret),
            ("ts", Classification::TopSecret),
            (" top  secret ", Classification::TopSecret),
        ] {
            assert_eq!(s.parse::<Classification>(), Ok(c), "{s}");
        }
        assert_eq!(Classification::TopSecret.to_string(), "TOP SECRET");
        assert_eq!(
            "SEKRET"
                .parse::<Classification>()
                .map_err(|e| e.to_string()),
            Err("unknown classification `SEKRET`".to_owned())
        );
    }

    #[test]
    fn classification_serde_is_the_full_name() {
        let v = serde_json::to_value(Classification::TopSecret).unwrap();
        assert_eq!(v, Value::from("TOP SECRET"));
        let c: Classification = serde_json::from_value(Value::from("SECRET")).unwrap();
        assert_eq!(c, Classification::Secret);
        assert!(serde_json::from_value::<Classification>(Value::from("SEKRET")).is_err());
    }

    #[test]
    fn tlp_parse_print_serde() {
        for (s, t) in [
            ("clear", Tlp::Clear),
            ("WHITE", Tlp::Clear),
            ("TLP:WHITE", Tlp::Clear),
            ("tlp:green", Tlp::Green),
            ("Amber", Tlp::Amber),
            ("TLP:AMBER+STRICT", Tlp::AmberStrict),
            ("red", Tlp::Red),
        ] {
            assert_eq!(s.parse::<Tlp>(), Ok(t), "{s}");
        }
        assert!("amber strict".parse::<Tlp>().is_err());
        assert!("TLP:".parse::<Tlp>().is_err());
        assert_eq!(Tlp::AmberStrict.to_string(), "TLP:AMBER+STRICT");
        assert_eq!(Tlp::Clear.to_string(), "TLP:CLEAR");
        assert_eq!(
            serde_json::to_value(Tlp::AmberStrict).unwrap(),
            Value::from("amber+strict")
        );
        let t: Tlp = serde_json::from_value(Value::from("white")).unwrap();
        assert_eq!(t, Tlp::Clear);
        assert!(
            Tlp::Clear < Tlp::Green && Tlp::Amber < Tlp::AmberStrict && Tlp::AmberStrict < Tlp::Red
        );
    }

    #[test]
    fn tlp_marking_ids_all_nine() {
        let cases = [
            (
                "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
                Tlp::Clear,
            ),
            (
                "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
                Tlp::Green,
            ),
            (
                "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
                Tlp::Amber,
            ),
            (
                "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
                Tlp::AmberStrict,
            ),
            (
                "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
                Tlp::Red,
            ),
            (
                "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
                Tlp::Clear,
            ),
            (
                "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
                Tlp::Green,
            ),
            (
                "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
                Tlp::Amber,
            ),
            (
                "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
                Tlp::Red,
            ),
        ];
        for (id, t) in cases {
            assert_eq!(Tlp::from_marking_id(id), Some(t), "{id}");
        }
        for t in Tlp::ALL {
            assert_eq!(Tlp::from_marking_id(t.marking_id()), Some(t));
        }
        assert_eq!(
            Tlp::from_marking_id("marking-definition--00000000-0000-4000-8000-000000000000"),
            None
        );
    }

    #[test]
    fn tlp_marking_definition_is_the_published_object() {
        let m = Tlp::AmberStrict.marking_definition();
        let expected = serde_json::json!({
            "type": "marking-definition",
            "spec_version": "2.1",
            "id": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
            "created": "2022-10-01T00:00:00.000Z",
            "name": "TLP:AMBER+STRICT",
            "extensions": {
                "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d": {
                    "extension_type": "property-extension",
                    "tlp_2_0": "amber+strict"
                }
            }
        });
        assert_eq!(Value::Object(m.clone()), expected);
        assert!(liaison_stix::StixObject::from_props(m).is_ok());
    }

    #[test]
    fn pap_parse_print_serde() {
        for (s, p) in [
            ("clear", Pap::Clear),
            ("PAP:WHITE", Pap::Clear),
            ("pap:Green", Pap::Green),
            ("AMBER", Pap::Amber),
            ("red", Pap::Red),
        ] {
            assert_eq!(s.parse::<Pap>(), Ok(p), "{s}");
        }
        assert!("amber+strict".parse::<Pap>().is_err());
        assert_eq!(Pap::Green.to_string(), "PAP:GREEN");
        assert_eq!(serde_json::to_value(Pap::Red).unwrap(), Value::from("red"));
        assert!(Pap::Clear < Pap::Green && Pap::Amber < Pap::Red);
    }
}
