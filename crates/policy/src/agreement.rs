//! A partner's agreement, as the operator writes it in TOML. Unknown fields are refused, so
//! that a misspelt restriction never silently loosens anything.

use std::collections::{BTreeMap, BTreeSet};

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
    /// How deliveries are valued, and when releases pause.
    pub reciprocity: Reciprocity,
}

/// The reciprocity terms of an agreement (DESIGN.md, "Reciprocity ledger"): what each
/// delivery is worth, and the balance past which releases pause.
#[derive(Debug, Clone, PartialEq)]
pub struct Reciprocity {
    /// When what we gave minus what we received exceeds this, releases pause (except
    /// duty-to-warn and the small gestures). `None`: never.
    pub balance_limit: Option<f64>,
    /// STIX types that still flow while releases are paused.
    pub small_gestures: BTreeSet<String>,
    /// Value of one object, by STIX type.
    pub values: BTreeMap<String, f64>,
    /// Value of an object of a type not in `values`.
    pub default_value: f64,
    /// Factor for something the other side already had (it gave it to us, or we to it).
    pub echo_factor: f64,
}

impl Default for Reciprocity {
    fn default() -> Reciprocity {
        Reciprocity {
            balance_limit: None,
            small_gestures: BTreeSet::new(),
            values: BTreeMap::new(),
            default_value: 1.0,
            echo_factor: 0.1,
        }
    }
}

impl Reciprocity {
    /// The value of one object of type `ty` (before grading and novelty).
    pub fn value_of(&self, ty: &str) -> f64 {
        self.values.get(ty).copied().unwrap_or(self.default_value)
    }
}

impl Eq for Reciprocity {}

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
    reciprocity: Option<ReciprocityFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReciprocityFile {
    balance_limit: Option<f64>,
    #[serde(default)]
    small_gestures: Vec<String>,
    #[serde(default)]
    values: BTreeMap<String, f64>,
    default_value: Option<f64>,
    echo_factor: Option<f64>,
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
        let reciprocity = match file.reciprocity {
            None => Reciprocity::default(),
            Some(r) => {
                let number = |field: &str, v: f64| {
                    if v.is_finite() && v >= 0.0 {
                        Ok(v)
                    } else {
                        Err(PolicyError::Agreement(format!(
                            "field `reciprocity.{field}`: `{v}` is not a number of zero or more"
                        )))
                    }
                };
                let defaults = Reciprocity::default();
                let mut values = BTreeMap::new();
                for (ty, v) in r.values {
                    values.insert(ty.clone(), number(&format!("values.{ty}"), v)?);
                }
                Reciprocity {
                    balance_limit: r
                        .balance_limit
                        .map(|v| number("balance_limit", v))
                        .transpose()?,
                    small_gestures: r.small_gestures.into_iter().collect(),
                    values,
                    default_value: number(
                        "default_value",
                        r.default_value.unwrap_or(defaults.default_value),
                    )?,
                    echo_factor: number(
                        "echo_factor",
                        r.echo_factor.unwrap_or(defaults.echo_factor),
                    )?,
                }
            }
        };
        Ok(Agreement {
            reciprocity,
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
    fn reads_reciprocity_terms() {
        let a = Agreement::from_toml(
            &rus(),
            r#"
            ceiling = "SECRET"
            [scope]
            max_tlp = "amber"
            [reciprocity]
            balance_limit = 20
            small_gestures = ["indicator"]
            [reciprocity.values]
            report = 5.0
            "#,
        )
        .unwrap();
        assert_eq!(a.reciprocity.balance_limit, Some(20.0));
        assert_eq!(a.reciprocity.value_of("report"), 5.0);
        assert_eq!(a.reciprocity.value_of("malware"), 1.0);
        assert!(a.reciprocity.small_gestures.contains("indicator"));
        let none =
            Agreement::from_toml(&rus(), "ceiling = \"SECRET\"\n[scope]\nmax_tlp = \"amber\"")
                .unwrap();
        assert_eq!(
            none.reciprocity.balance_limit, None,
            "no limit unless agreed"
        );
        let bad =
            "ceiling = \"SECRET\"\n[scope]\nmax_tlp = \"amber\"\n[reciprocity]\nbalance_limit = -1";
        assert!(Agreement::from_toml(&rus(), bad)
            .unwrap_err()
            .to_string()
            .contains("balance_limit"));
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
