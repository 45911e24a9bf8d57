//! A partner's agreement, as the operator writes it in TOML. Unknown fields are refused, so
//! that a misspelt restriction never silently loosens anything.

use std::collections::BTreeSet;

use liaison_labels::{Classification, Party, Tlp};
use serde::Deserialize;

use crate::error::PolicyError;

/// What has been agreed with one partner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agreement {
    /// The partner.
    pub party: Party,
    /// The highest classification the partner may receive.
    pub ceiling: Classification,
    /// The compartments the partner is cleared for.
    pub compartments: BTreeSet<String>,
    /// What the exchange covers.
    pub scope: Scope,
}

/// What an agreement covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// STIX types that may flow; `None` means every type.
    pub types: Option<BTreeSet<String>>,
    /// The highest TLP that may flow.
    pub max_tlp: Tlp,
    /// Topics (STIX `labels`) of which an object must carry one; `None` means any.
    pub topics: Option<BTreeSet<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AgreementFile {
    party: Option<String>,
    ceiling: String,
    #[serde(default)]
    compartments: Vec<String>,
    scope: ScopeFile,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScopeFile {
    types: Option<Vec<String>>,
    max_tlp: String,
    topics: Option<Vec<String>>,
}

impl Agreement {
    /// Reads an agreement with `party` from its TOML text. A `party` written in the file
    /// must match.
    pub fn from_toml(party: &Party, text: &str) -> Result<Agreement, PolicyError> {
        let file: AgreementFile = toml::from_str(text)
            .map_err(|e| PolicyError::Agreement(e.to_string().trim_end().to_owned()))?;
        if let Some(named) = &file.party {
            if named != party.as_str() {
                return Err(PolicyError::Agreement(format!(
                    "field `party`: the file is for `{named}`, not `{party}`"
                )));
            }
        }
        let ceiling: Classification = file
            .ceiling
            .parse()
            .map_err(|e| PolicyError::Agreement(format!("field `ceiling`: {e}")))?;
        let max_tlp: Tlp = file
            .scope
            .max_tlp
            .parse()
            .map_err(|e| PolicyError::Agreement(format!("field `scope.max_tlp`: {e}")))?;
        let mut compartments = BTreeSet::new();
        for c in file.compartments {
            let up = c.trim().to_ascii_uppercase();
            if up.is_empty() || !up.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                return Err(PolicyError::Agreement(format!(
                    "field `compartments`: `{c}` is not a compartment name"
                )));
            }
            compartments.insert(up);
        }
        if let Some(types) = &file.scope.types {
            if let Some(bad) = types.iter().find(|t| {
                t.len() < 3
                    || !t
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            }) {
                return Err(PolicyError::Agreement(format!(
                    "field `scope.types`: `{bad}` is not a STIX type"
                )));
            }
        }
        Ok(Agreement {
            party: party.clone(),
            ceiling,
            compartments,
            scope: Scope {
                types: file.scope.types.map(|t| t.into_iter().collect()),
                max_tlp,
                topics: file.scope.topics.map(|t| t.into_iter().collect()),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rus() -> Party {
        Party::parse("RUS").unwrap()
    }

    #[test]
    fn reads_a_full_agreement() {
        let a = Agreement::from_toml(
            &rus(),
            r#"
            party = "RUS"
            ceiling = "CONFIDENTIAL"
            compartments = ["ct"]
            [scope]
            types = ["indicator", "report"]
            max_tlp = "amber"
            topics = ["terrorism"]
            "#,
        )
        .unwrap();
        assert_eq!(a.ceiling, Classification::Confidential);
        assert!(a.compartments.contains("CT"));
        assert_eq!(a.scope.max_tlp, Tlp::Amber);
        assert!(a.scope.types.unwrap().contains("report"));
    }

    #[test]
    fn refuses_what_it_does_not_understand() {
        let cases = [
            (
                "ceiling = \"SEKRET\"\n[scope]\nmax_tlp = \"green\"",
                "ceiling",
            ),
            (
                "ceiling = \"SECRET\"\n[scope]\nmax_tlp = \"purple\"",
                "max_tlp",
            ),
            (
                "ceiling = \"SECRET\"\n[scope]\nmax_tlp = \"green\"\ntypos = []",
                "typos",
            ),
            ("ceiling = \"SECRET\"", "scope"),
            (
                "party = \"GBR\"\nceiling = \"SECRET\"\n[scope]\nmax_tlp = \"green\"",
                "party",
            ),
        ];
        for (text, field) in cases {
            let err = Agreement::from_toml(&rus(), text).unwrap_err().to_string();
            assert!(err.contains(field), "{err} should name {field}");
        }
    }
}
