//! A partner's agreement, as the operator writes it in TOML. Unknown fields are refused, so
//! that a misspelt restriction never silently loosens anything; so are values a field cannot
//! take (a STIX type that does not exist, a compartment outside the table, a factor out of
//! range), each with the field named.

use std::collections::{BTreeMap, BTreeSet};

use liaison_labels::{parse_compartment, Classification, Party, Tlp};
use liaison_stix::{closest_stix_type, is_stix_type};
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
    /// Private matching (DESIGN.md "Private matching"): `None` when the agreement has no
    /// `[matching]` section, and the partner may not ask.
    pub matching: Option<Matching>,
}

/// The private-matching terms of an agreement: how often the holder's keys rotate, and how
/// much a partner may ask. Both limits count selectors (padding included), not requests, so
/// splitting a list buys nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Matching {
    /// Selectors the partner may have evaluated per epoch.
    pub budget_per_epoch: u64,
    /// The most selectors in one request (after padding to a power of two).
    pub max_set_size: u64,
    /// The length of an epoch, in hours: keys rotate and budgets reset at each.
    pub epoch_hours: u64,
}

impl Matching {
    /// The epoch a moment (seconds since 1970, UTC) falls in.
    pub fn epoch_at(&self, unix_seconds: u64) -> u64 {
        unix_seconds / (self.epoch_hours.max(1) * 3600)
    }

    /// Seconds from `unix_seconds` until the next epoch starts.
    pub fn seconds_to_next_epoch(&self, unix_seconds: u64) -> u64 {
        let length = self.epoch_hours.max(1) * 3600;
        length - unix_seconds % length
    }
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
    matching: Option<MatchingFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MatchingFile {
    budget_per_epoch: u64,
    max_set_size: u64,
    epoch_hours: Option<u64>,
}

/// The largest request the protocol takes (`liaison_psi::MAX_REQUEST`, 2^15).
const MAX_SET_SIZE: u64 = 1 << 15;

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
        for (i, c) in file.compartments.iter().enumerate() {
            let word = parse_compartment(c).map_err(|e| {
                PolicyError::Agreement(format!("field `compartments` (item {i}): {e}"))
            })?;
            compartments.insert(word);
        }
        if let Some(types) = &file.scope.types {
            check_types("scope.types", types)?;
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
                check_types("reciprocity.small_gestures", &r.small_gestures)?;
                check_types(
                    "reciprocity.values",
                    &r.values.keys().cloned().collect::<Vec<_>>(),
                )?;
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
                    echo_factor: match r.echo_factor {
                        // What the other side already had is worth less than something new,
                        // never more.
                        Some(v) if !(0.0..=1.0).contains(&v) => {
                            return Err(PolicyError::Agreement(format!(
                                "field `reciprocity.echo_factor`: `{v}` is not between 0 and 1"
                            )))
                        }
                        Some(v) => v,
                        None => defaults.echo_factor,
                    },
                }
            }
        };
        let matching = file.matching.map(|m| read_matching(&m)).transpose()?;
        Ok(Agreement {
            matching,
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

fn read_matching(m: &MatchingFile) -> Result<Matching, PolicyError> {
    if !(1..=MAX_SET_SIZE).contains(&m.max_set_size) {
        return Err(PolicyError::Agreement(format!(
            "field `matching.max_set_size`: `{}` is not between 1 and {MAX_SET_SIZE}",
            m.max_set_size
        )));
    }
    let epoch_hours = m.epoch_hours.unwrap_or(24);
    if !(1..=24 * 366).contains(&epoch_hours) {
        return Err(PolicyError::Agreement(format!(
            "field `matching.epoch_hours`: `{epoch_hours}` is not between 1 and 8784 (a year)"
        )));
    }
    Ok(Matching {
        budget_per_epoch: m.budget_per_epoch,
        // A request is padded to a power of two, so a limit in between could never be used
        // whole: round it down to the bucket it allows.
        max_set_size: 1 << m.max_set_size.ilog2(),
        epoch_hours,
    })
}

/// Refuses a name in `field` that is not a STIX 2.1 type, unless it is a custom type
/// (`x-` prefix, as ATT&CK's `x-mitre-tactic`): a misspelt type would silently match nothing.
fn check_types(field: &str, types: &[String]) -> Result<(), PolicyError> {
    for ty in types {
        if is_stix_type(ty) {
            continue;
        }
        let custom = ty.len() >= 3
            && ty.len() <= 250
            && ty.starts_with("x-")
            && ty
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if custom {
            continue;
        }
        let hint = match closest_stix_type(ty) {
            Some(near) => format!(" (did you mean `{near}`?)"),
            None => " (custom types start with `x-`)".to_owned(),
        };
        return Err(PolicyError::Agreement(format!(
            "field `{field}`: `{ty}` is not a STIX 2.1 type{hint}"
        )));
    }
    Ok(())
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

    const BASE: &str = "ceiling = \"SECRET\"\n[scope]\nmax_tlp = \"amber\"\n";

    #[test]
    fn matching_is_off_unless_agreed_and_rounds_the_set_size_to_a_bucket() {
        assert_eq!(Agreement::from_toml(&rus(), BASE).unwrap().matching, None);
        let a = Agreement::from_toml(
            &rus(),
            &format!("{BASE}[matching]\nbudget_per_epoch = 5000\nmax_set_size = 3000\n"),
        )
        .unwrap();
        let m = a.matching.unwrap();
        assert_eq!(m.budget_per_epoch, 5000);
        assert_eq!(m.max_set_size, 2048);
        assert_eq!(m.epoch_hours, 24);
        assert_eq!(m.epoch_at(86_400 * 3 + 5), 3);
        assert_eq!(m.seconds_to_next_epoch(86_400 * 3 + 5), 86_395);
    }

    #[test]
    fn matching_limits_out_of_range_are_refused_with_the_field_named() {
        for (section, field) in [
            (
                "budget_per_epoch = 10\nmax_set_size = 0",
                "matching.max_set_size",
            ),
            (
                "budget_per_epoch = 10\nmax_set_size = 40000",
                "matching.max_set_size",
            ),
            (
                "budget_per_epoch = 10\nmax_set_size = 8\nepoch_hours = 0",
                "matching.epoch_hours",
            ),
            (
                "budget_per_epoch = -1\nmax_set_size = 8",
                "budget_per_epoch",
            ),
            ("budget = 10\nmax_set_size = 8", "budget"),
        ] {
            let err = Agreement::from_toml(&rus(), &format!("{BASE}[matching]\n{section}\n"))
                .unwrap_err()
                .to_string();
            assert!(err.contains(field), "{err}");
        }
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
            (
                "ceiling = \"SECRET\"\n[scope]\nmax_tlp = \"green\"\ntypes = [\"indicatr\"]",
                "field `scope.types`: `indicatr` is not a STIX 2.1 type (did you mean `indicator`?)",
            ),
            (
                "ceiling = \"SECRET\"\n[scope]\nmax_tlp = \"green\"\ntypes = [\"widget\"]",
                "`widget` is not a STIX 2.1 type (custom types start with `x-`)",
            ),
            (
                "ceiling = \"SECRET\"\n[scope]\nmax_tlp = \"green\"\n[reciprocity]\nsmall_gestures = [\"indicators\"]",
                "field `reciprocity.small_gestures`: `indicators`",
            ),
            (
                "ceiling = \"SECRET\"\n[scope]\nmax_tlp = \"green\"\n[reciprocity.values]\nreprot = 5.0",
                "field `reciprocity.values`: `reprot`",
            ),
            (
                "ceiling = \"SECRET\"\n[scope]\nmax_tlp = \"green\"\n[reciprocity]\necho_factor = 7",
                "field `reciprocity.echo_factor`: `7` is not between 0 and 1",
            ),
            (
                "ceiling = \"SECRET\"\ncompartments = [\"SI\", \"BOGUS\"]\n[scope]\nmax_tlp = \"green\"",
                "field `compartments` (item 1): unknown compartment `BOGUS`",
            ),
        ];
        for (text, field) in cases {
            let err = Agreement::from_toml(&rus(), text).unwrap_err().to_string();
            assert!(err.contains(field), "{err} should name {field}");
        }
        let custom = "ceiling = \"SECRET\"\n[scope]\nmax_tlp = \"green\"\ntypes = [\"x-mitre-tactic\", \"ipv4-addr\"]";
        assert!(Agreement::from_toml(&rus(), custom).is_ok());
    }
}
