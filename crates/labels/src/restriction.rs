//! The label algebra (DESIGN.md, "Label algebra"): a [`Restriction`] is what a label
//! restricts, with `rel_to` expanded, and [`Restriction::join`] is "most restrictive". Join is
//! associative, commutative and idempotent, and never makes anything more releasable.

use std::collections::BTreeSet;

use crate::control::Control;
use crate::label::Label;
use crate::level::{Classification, Pap, Tlp};
use crate::party::Party;
use crate::tetragraph::Tetragraphs;

/// An element of the join-semilattice of restrictions.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Restriction {
    /// The classification (join: maximum).
    pub classification: Classification,
    /// Compartments a reader must be cleared for (join: union).
    pub compartments: BTreeSet<String>,
    /// Dissemination controls (join: union, so any NOFORN input gives NOFORN).
    pub controls: BTreeSet<Control>,
    /// The parties it may be released to, groups expanded to their members (join:
    /// intersection). An owner-only label contributes its originator; empty means nobody.
    pub rel_to: BTreeSet<Party>,
    /// Originators whose consent onward release needs: the originator of every ORCON input
    /// (join: union).
    pub consent_from: BTreeSet<Party>,
    /// TLP (join: maximum; `None` is the bottom).
    pub tlp: Option<Tlp>,
    /// PAP (join: maximum; `None` is the bottom).
    pub pap: Option<Pap>,
}

impl Restriction {
    /// What `label` restricts, its `rel_to` expanded with `table`.
    pub fn of(label: &Label, table: &Tetragraphs) -> Restriction {
        let b = &label.banner;
        // The originator may always have its own material back: it is in every `rel_to`.
        let rel_to = match &b.rel_to {
            Some(parties) => {
                let mut set = table.expand(parties);
                set.insert(label.originator.clone());
                set
            }
            None => BTreeSet::from([label.originator.clone()]),
        };
        let consent_from = if b.controls.contains(&Control::Orcon) {
            BTreeSet::from([label.originator.clone()])
        } else {
            BTreeSet::new()
        };
        Restriction {
            classification: b.classification,
            compartments: b.compartments.clone(),
            controls: b.controls.clone(),
            rel_to,
            consent_from,
            tlp: b.tlp,
            pap: b.pap,
        }
    }

    /// The most restrictive combination of `self` and `other`.
    pub fn join(&self, other: &Restriction) -> Restriction {
        Restriction {
            classification: self.classification.max(other.classification),
            compartments: self
                .compartments
                .union(&other.compartments)
                .cloned()
                .collect(),
            controls: self.controls.union(&other.controls).copied().collect(),
            rel_to: self.rel_to.intersection(&other.rel_to).cloned().collect(),
            consent_from: self
                .consent_from
                .union(&other.consent_from)
                .cloned()
                .collect(),
            // `Option`'s order puts `None` below every `Some`: the bottom.
            tlp: self.tlp.max(other.tlp),
            pap: self.pap.max(other.pap),
        }
    }

    /// Whether the release list lets it go to `party`: not NOFORN, and `party` in `rel_to`.
    /// Classification, compartments and consents are the policy's to check.
    pub fn releasable_to(&self, party: &Party) -> bool {
        !self.controls.contains(&Control::Noforn) && self.rel_to.contains(party)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::banner::Banner;

    fn label(banner: &str, originator: &str) -> Label {
        Label {
            banner: banner.parse::<Banner>().unwrap(),
            originator: Party::parse(originator).unwrap(),
            grading: None,
            duty_to_warn: false,
        }
    }

    fn r(banner: &str, originator: &str) -> Restriction {
        Restriction::of(&label(banner, originator), Tetragraphs::current())
    }

    fn p(s: &str) -> Party {
        Party::parse(s).unwrap()
    }

    #[test]
    fn of_expands_and_records_orcon() {
        let a = r("SECRET//ORCON//REL TO FVEY, ISR", "ISR");
        assert_eq!(a.rel_to.len(), 6);
        assert!(!a.rel_to.contains(&p("FVEY")));
        assert_eq!(a.consent_from, BTreeSet::from([p("ISR")]));
        let back = r("SECRET//REL TO USA, GBR", "ISR");
        assert!(
            back.releasable_to(&p("ISR")),
            "the originator may have its own material back"
        );
        let owner = r("SECRET", "GBR");
        assert_eq!(owner.rel_to, BTreeSet::from([p("GBR")]));
        assert!(owner.consent_from.is_empty());
    }

    #[test]
    fn join_follows_the_design_table() {
        let a = r("SECRET//SI//ORCON//REL TO FVEY//TLP:AMBER", "ISR");
        let b = r("TOP SECRET//TK//REL TO USA, ISR//PAP:GREEN", "USA");
        let j = a.join(&b);
        assert_eq!(j.classification, Classification::TopSecret);
        assert_eq!(j.compartments, ["SI".to_owned(), "TK".to_owned()].into());
        assert_eq!(j.controls, [Control::Orcon].into());
        // ISR is the originator of `a`, so it is in both release lists.
        assert_eq!(j.rel_to, BTreeSet::from([p("ISR"), p("USA")]));
        assert_eq!(j.consent_from, BTreeSet::from([p("ISR")]));
        assert_eq!(j.tlp, Some(Tlp::Amber));
        assert_eq!(j.pap, Some(Pap::Green));
        assert!(j.releasable_to(&p("USA")));
        assert!(!j.releasable_to(&p("GBR")));
    }

    #[test]
    fn noforn_absorbs() {
        let a = r("SECRET//REL TO USA, GBR", "USA");
        let b = r("CONFIDENTIAL//NOFORN//REL TO USA, GBR", "USA");
        assert!(a.releasable_to(&p("GBR")));
        assert!(!b.releasable_to(&p("GBR")));
        assert!(!a.join(&b).releasable_to(&p("GBR")));
    }

    #[test]
    fn disjoint_release_lists_release_to_nobody() {
        let j = r("SECRET//REL TO GBR", "USA").join(&r("SECRET//REL TO ISR", "ISR"));
        assert!(j.rel_to.is_empty());
        assert!(!j.releasable_to(&p("GBR")) && !j.releasable_to(&p("ISR")));
    }

    #[test]
    fn eu_stays_a_recipient() {
        let a = r("SECRET//REL TO EU, FRA", "FRA");
        assert!(a.releasable_to(&p("EU")));
        assert!(!a.releasable_to(&p("DEU")));
    }
}
