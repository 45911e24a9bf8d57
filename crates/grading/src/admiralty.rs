//! Admiralty (NATO AJP-2.1) factors and ranks, shared by the reciprocity ledger and the
//! curation engine so that a grading is worth the same everywhere. F and 6 mean "cannot be
//! judged": their factor is neutral (1) and they have no rank, so no sort puts them last.

use std::cmp::Ordering;

use liaison_labels::{Credibility, Grading, Reliability};

/// The factor a source reliability gives a value: A 1.5, B 1.25, C 1, D 0.75, E 0.5; F
/// (cannot be judged) is neutral, 1.
pub fn reliability_factor(r: Reliability) -> f64 {
    match r {
        Reliability::A => 1.5,
        Reliability::B => 1.25,
        Reliability::C => 1.0,
        Reliability::D => 0.75,
        Reliability::E => 0.5,
        Reliability::F => 1.0,
    }
}

/// The factor an information credibility gives a value: 1 1.25, 2 1.1, 3 1, 4 0.8, 5 0.5; 6
/// (cannot be judged) is neutral, 1.
pub fn credibility_factor(c: Credibility) -> f64 {
    match c {
        Credibility::One => 1.25,
        Credibility::Two => 1.1,
        Credibility::Three => 1.0,
        Credibility::Four => 0.8,
        Credibility::Five => 0.5,
        Credibility::Six => 1.0,
    }
}

/// The factor a grading gives a value (the product of its two factors); an ungraded object
/// is neutral, 1.
pub fn grading_factor(g: Option<Grading>) -> f64 {
    g.map_or(1.0, |g| {
        reliability_factor(g.reliability) * credibility_factor(g.credibility)
    })
}

/// The rank of a judged reliability, 1 (A, best) to 5 (E); `None` for F, which is not a rank
/// below E but no rank at all.
pub fn reliability_rank(r: Reliability) -> Option<u8> {
    match r {
        Reliability::A => Some(1),
        Reliability::B => Some(2),
        Reliability::C => Some(3),
        Reliability::D => Some(4),
        Reliability::E => Some(5),
        Reliability::F => None,
    }
}

/// The rank of a judged credibility, 1 (best) to 5; `None` for 6 (cannot be judged).
pub fn credibility_rank(c: Credibility) -> Option<u8> {
    match c {
        Credibility::One => Some(1),
        Credibility::Two => Some(2),
        Credibility::Three => Some(3),
        Credibility::Four => Some(4),
        Credibility::Five => Some(5),
        Credibility::Six => None,
    }
}

/// Compares two reliabilities, `Less` meaning better; `None` when either cannot be judged
/// (they are incomparable, as `f64::NAN` is).
pub fn compare_reliability(a: Reliability, b: Reliability) -> Option<Ordering> {
    Some(reliability_rank(a)?.cmp(&reliability_rank(b)?))
}

/// Compares two credibilities, `Less` meaning better; `None` when either cannot be judged.
pub fn compare_credibility(a: Credibility, b: Credibility) -> Option<Ordering> {
    Some(credibility_rank(a)?.cmp(&credibility_rank(b)?))
}

/// Gradings split for display: the judged ones best first (by reliability, then
/// credibility, an unjudged credibility after the judged ones of the same reliability), and
/// apart from them those whose reliability cannot be judged, in their given order. Nothing
/// unjudged is ever placed among or below the worst judged grades.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ranked {
    /// Gradings with a judged reliability, best first.
    pub judged: Vec<Grading>,
    /// Gradings whose reliability cannot be judged (F).
    pub unjudged: Vec<Grading>,
}

/// Splits and orders `gradings` as [`Ranked`] describes.
pub fn rank(gradings: impl IntoIterator<Item = Grading>) -> Ranked {
    let (mut judged, unjudged): (Vec<Grading>, Vec<Grading>) = gradings
        .into_iter()
        .partition(|g| g.reliability.is_judged());
    // Within one reliability an unjudged credibility sorts after the judged ones: `None`
    // mapped to 6 here only orders a display group, it is never reported as a rank.
    judged.sort_by_key(|g| {
        (
            reliability_rank(g.reliability),
            credibility_rank(g.credibility).unwrap_or(6),
        )
    });
    Ranked { judged, unjudged }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(s: &str) -> Grading {
        s.parse().unwrap()
    }

    #[test]
    fn factors_are_the_ledger_s() {
        assert_eq!(grading_factor(None), 1.0);
        assert_eq!(grading_factor(Some(g("A1"))), 1.5 * 1.25);
        assert_eq!(grading_factor(Some(g("E5"))), 0.25);
        assert_eq!(grading_factor(Some(g("B2"))), 1.25 * 1.1);
    }

    #[test]
    fn cannot_be_judged_is_never_worst() {
        // The factor of F6 is neutral, above the worst judged grading.
        assert!(grading_factor(Some(g("F6"))) > grading_factor(Some(g("E5"))));
        assert_eq!(compare_reliability(Reliability::F, Reliability::E), None);
        assert_eq!(
            compare_credibility(Credibility::Six, Credibility::Five),
            None
        );
        assert_eq!(
            compare_reliability(Reliability::A, Reliability::E),
            Some(Ordering::Less)
        );
        let ranked = rank([g("F6"), g("E5"), g("A2"), g("F1"), g("A6"), g("A1")]);
        assert_eq!(ranked.judged, vec![g("A1"), g("A2"), g("A6"), g("E5")]);
        assert_eq!(ranked.unjudged, vec![g("F6"), g("F1")]);
    }
}
