//! The versioned tetragraph table: group tokens that a `REL TO` may name and the countries
//! they stand for. Expansion replaces a group by its members; an indivisible token (EU)
//! names the organisation itself as a recipient and is kept as it is.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use crate::party::Party;

/// A table of group tokens, with the version it was published under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tetragraphs {
    version: String,
    groups: Vec<Group>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Group {
    token: Party,
    /// `None` for an indivisible token, which names the organisation itself.
    members: Option<Vec<Party>>,
}

const FVEY: [&str; 5] = ["AUS", "CAN", "GBR", "NZL", "USA"];

const NATO: [&str; 32] = [
    "ALB", "BEL", "BGR", "CAN", "HRV", "CZE", "DNK", "EST", "FIN", "FRA", "DEU", "GRC", "HUN",
    "ISL", "ITA", "LVA", "LTU", "LUX", "MNE", "NLD", "MKD", "NOR", "POL", "PRT", "ROU", "SVK",
    "SVN", "ESP", "SWE", "TUR", "GBR", "USA",
];

impl Tetragraphs {
    /// The table in force: version `2026-11`, with FVEY (AUS, CAN, GBR, NZL, USA), NATO (its
    /// 32 members, Finland and Sweden included) and EU (indivisible).
    pub fn current() -> &'static Tetragraphs {
        static CURRENT: OnceLock<Tetragraphs> = OnceLock::new();
        CURRENT.get_or_init(|| {
            let members = |codes: &[&str]| {
                let mut v: Vec<Party> = codes.iter().map(|c| Party::known(c)).collect();
                v.sort();
                Some(v)
            };
            Tetragraphs {
                version: "2026-11".to_owned(),
                groups: vec![
                    Group {
                        token: Party::known("FVEY"),
                        members: members(&FVEY),
                    },
                    Group {
                        token: Party::known("NATO"),
                        members: members(&NATO),
                    },
                    Group {
                        token: Party::known("EU"),
                        members: None,
                    },
                ],
            }
        })
    }

    /// The table's version.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Every party in `parties`, groups replaced by their members (the group token itself is
    /// not kept); indivisible tokens and countries are kept as they are.
    pub fn expand(&self, parties: &BTreeSet<Party>) -> BTreeSet<Party> {
        let mut out = BTreeSet::new();
        for p in parties {
            match self.members(p) {
                Some(members) => out.extend(members.iter().cloned()),
                None => {
                    out.insert(p.clone());
                }
            }
        }
        out
    }

    /// The members of a divisible group, sorted; `None` for a country, an indivisible token
    /// (EU) or a token this table does not know.
    pub fn members(&self, group: &Party) -> Option<&[Party]> {
        self.groups
            .iter()
            .find(|g| &g.token == group)
            .and_then(|g| g.members.as_deref())
    }

    /// Whether `token` (uppercase) is a group token of this table, divisible or not.
    pub fn is_group_token(&self, token: &str) -> bool {
        self.groups.iter().any(|g| g.token.as_str() == token)
    }

    /// The group tokens of this table.
    pub fn groups(&self) -> impl Iterator<Item = &Party> {
        self.groups.iter().map(|g| &g.token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(tokens: &[&str]) -> BTreeSet<Party> {
        tokens.iter().map(|t| Party::parse(t).unwrap()).collect()
    }

    #[test]
    fn current_version() {
        assert_eq!(Tetragraphs::current().version(), "2026-11");
    }

    #[test]
    fn fvey_expands_to_its_five_members_without_the_token() {
        let t = Tetragraphs::current();
        assert_eq!(
            t.expand(&set(&["FVEY"])),
            set(&["AUS", "CAN", "GBR", "NZL", "USA"])
        );
        assert_eq!(
            t.expand(&set(&["FVEY", "ISR"])),
            set(&["AUS", "CAN", "GBR", "NZL", "USA", "ISR"])
        );
    }

    #[test]
    fn nato_has_32_members_finland_and_sweden_included() {
        let t = Tetragraphs::current();
        let nato = t.members(&Party::parse("NATO").unwrap()).unwrap();
        assert_eq!(nato.len(), 32);
        let expanded = t.expand(&set(&["NATO"]));
        assert_eq!(expanded.len(), 32);
        for p in ["FIN", "SWE", "USA", "TUR", "MKD", "MNE"] {
            assert!(expanded.contains(&Party::parse(p).unwrap()), "{p}");
        }
        for p in ["NATO", "AUS", "AUT", "IRL", "UKR"] {
            assert!(!expanded.contains(&Party::parse(p).unwrap()), "{p}");
        }
    }

    #[test]
    fn eu_is_not_expanded() {
        let t = Tetragraphs::current();
        assert_eq!(t.members(&Party::parse("EU").unwrap()), None);
        assert_eq!(t.expand(&set(&["EU", "USA"])), set(&["EU", "USA"]));
    }

    #[test]
    fn every_member_is_an_iso_country() {
        for g in Tetragraphs::current().groups() {
            for m in Tetragraphs::current().members(g).unwrap_or(&[]) {
                assert!(m.is_country(), "{m} in {g}");
            }
        }
    }
}
