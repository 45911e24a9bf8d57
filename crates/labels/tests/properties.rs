//! Properties of the label algebra and of the label's two text forms (banner line and
//! marking-definition), over generated labels.

// Test code: an unwrap that fails is a failed test (clippy's test exemption does not reach
// the strategy helpers).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use liaison_labels::{
    Banner, Classification, Compartments, Control, Credibility, Grading, Label, Pap, Party,
    Reliability, Restriction, Tetragraphs, Tlp,
};
use liaison_stix::StixObject;
use proptest::prelude::*;

const TOKENS: [&str; 16] = [
    "USA", "GBR", "ISR", "FRA", "DEU", "FIN", "SWE", "AUS", "NZL", "CAN", "JPN", "RUS", "JOR",
    "FVEY", "NATO", "EU",
];

fn party() -> impl Strategy<Value = Party> {
    prop::sample::select(TOKENS.to_vec()).prop_map(|t| Party::parse(t).unwrap())
}

/// Parties a release can be addressed to: countries and the indivisible EU, never a
/// divisible group (those are expanded away).
fn recipient() -> impl Strategy<Value = Party> {
    prop::sample::select(TOKENS.to_vec())
        .prop_filter("not a divisible group", |t| *t != "FVEY" && *t != "NATO")
        .prop_map(|t| Party::parse(t).unwrap())
}

/// A compartment of the table in force: a label can carry no other.
fn compartment() -> impl Strategy<Value = String> {
    prop::sample::select(Compartments::current().words().to_vec()).prop_map(String::from)
}

/// A word that looks like a compartment but is in neither the compartment table nor the
/// control words (near misses of both included).
fn unknown_word() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "NOFORNX", "ORCONS", "NOFRON", "ORCN", "BOGUS", "SI-X", "TKK"
        ])
        .prop_map(String::from),
        "[A-Z0-9][A-Z0-9-]{0,6}",
    ]
    .prop_filter("not a known word", |w| {
        !Compartments::current().contains(w) && w.parse::<Control>().is_err()
    })
}

fn banner() -> impl Strategy<Value = Banner> {
    (
        prop::sample::select(Classification::ALL.to_vec()),
        prop::collection::btree_set(compartment(), 0..3),
        prop::collection::btree_set(prop::sample::select(Control::ALL.to_vec()), 0..3),
        prop::option::of(prop::collection::btree_set(party(), 1..5)),
        prop::option::of(prop::sample::select(Tlp::ALL.to_vec())),
        prop::option::of(prop::sample::select(Pap::ALL.to_vec())),
    )
        .prop_map(
            |(classification, compartments, controls, rel_to, tlp, pap)| Banner {
                classification,
                compartments,
                controls,
                rel_to,
                tlp,
                pap,
            },
        )
}

fn grading() -> impl Strategy<Value = Grading> {
    (
        prop::sample::select(Reliability::ALL.to_vec()),
        prop::sample::select(Credibility::ALL.to_vec()),
    )
        .prop_map(|(reliability, credibility)| Grading {
            reliability,
            credibility,
        })
}

fn label() -> impl Strategy<Value = Label> {
    (
        banner(),
        recipient(),
        prop::option::of(grading()),
        any::<bool>(),
    )
        .prop_map(|(banner, originator, grading, duty_to_warn)| Label {
            banner,
            originator,
            grading,
            duty_to_warn,
        })
}

/// Restrictions of labels, and joins of them: what the engine actually meets.
fn restriction() -> impl Strategy<Value = Restriction> {
    prop::collection::vec(label(), 1..4).prop_map(|labels| {
        let table = Tetragraphs::current();
        let mut rs = labels.iter().map(|l| Restriction::of(l, table));
        let first = rs.next().unwrap();
        rs.fold(first, |acc, r| acc.join(&r))
    })
}

proptest! {
    #[test]
    fn join_is_associative(a in restriction(), b in restriction(), c in restriction()) {
        prop_assert_eq!(a.join(&b).join(&c), a.join(&b.join(&c)));
    }

    #[test]
    fn join_is_commutative(a in restriction(), b in restriction()) {
        prop_assert_eq!(a.join(&b), b.join(&a));
    }

    #[test]
    fn join_is_idempotent(a in restriction()) {
        prop_assert_eq!(a.join(&a), a);
    }

    #[test]
    fn join_is_never_more_releasable(a in restriction(), b in restriction(), p in recipient()) {
        if a.join(&b).releasable_to(&p) {
            prop_assert!(a.releasable_to(&p) && b.releasable_to(&p));
        }
    }

    #[test]
    fn join_is_at_least_as_restrictive(a in restriction(), b in restriction()) {
        let j = a.join(&b);
        prop_assert!(j.classification >= a.classification && j.classification >= b.classification);
        prop_assert!(j.tlp >= a.tlp && j.tlp >= b.tlp);
        prop_assert!(j.pap >= a.pap && j.pap >= b.pap);
        prop_assert!(j.compartments.is_superset(&a.compartments));
        prop_assert!(j.controls.is_superset(&b.controls));
        prop_assert!(j.consent_from.is_superset(&a.consent_from));
        prop_assert!(j.rel_to.is_subset(&b.rel_to));
        if a.controls.contains(&Control::Noforn) {
            prop_assert!(j.controls.contains(&Control::Noforn));
        }
    }

    #[test]
    fn orcon_asks_the_originator(l in label()) {
        let r = Restriction::of(&l, Tetragraphs::current());
        prop_assert_eq!(
            r.consent_from.contains(&l.originator),
            l.banner.controls.contains(&Control::Orcon)
        );
        let groups: BTreeSet<&str> = ["FVEY", "NATO"].into();
        prop_assert!(r.rel_to.iter().all(|p| !groups.contains(p.as_str())));
    }

    #[test]
    fn banner_round_trips(b in banner()) {
        let line = b.to_string();
        prop_assert_eq!(line.parse::<Banner>(), Ok(b.clone()));
        prop_assert_eq!(line.to_lowercase().parse::<Banner>(), Ok(b));
    }

    #[test]
    fn a_word_outside_the_tables_is_refused_and_named(b in banner(), w in unknown_word()) {
        // Wherever it stands (its own segment, or beside known compartments), the word is
        // refused: it never becomes a compartment.
        let line = b.to_string();
        let (head, tail) = line.split_once("//").map_or((line.as_str(), ""), |(h, t)| (h, t));
        let with_word = if b.compartments.is_empty() {
            format!("{head}//{w}{}{tail}", if tail.is_empty() { "" } else { "//" })
        } else {
            line.replacen(&format!("{head}//"), &format!("{head}//{w}/"), 1)
        };
        let err = with_word.parse::<Banner>().map(|b| b.to_string());
        prop_assert!(
            err.as_ref().is_err_and(|e| e.to_string().contains(&format!("`{w}`"))),
            "{} gave {:?}", with_word, err
        );
    }

    #[test]
    fn label_round_trips_through_a_stix_marking(l in label()) {
        let m = l.to_marking_definition("2026-11-22T10:11:12.345Z");
        let obj = StixObject::from_props(m).unwrap();
        prop_assert_eq!(obj.id(), &l.marking_id());
        prop_assert_eq!(Label::from_marking_definition(&obj), Ok(Some(l)));
    }

    #[test]
    fn marking_ids_tell_labels_apart(a in label(), b in label()) {
        prop_assert_eq!(a == b, a.marking_id() == b.marking_id());
    }

    #[test]
    fn banner_parsing_never_panics(s in "\\PC{0,80}") {
        let _ = s.parse::<Banner>();
    }

    #[test]
    fn banner_like_garbage_never_panics(s in "[A-Za-z/ ,:+-]{0,60}") {
        if let Ok(b) = s.parse::<Banner>() {
            prop_assert_eq!(b.to_string().parse::<Banner>(), Ok(b));
        }
    }
}
