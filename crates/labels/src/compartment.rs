//! The versioned compartment table: the compartment words a label may carry. A word outside
//! it is refused, never taken on trust: a misspelt control (`NOFRON`) must not pass for a
//! compartment and silently drop the control it meant. The table is built in and versioned,
//! like the tetragraph table, rather than configured per node: a partner parses our labels
//! against its own table, so a word only one node knows would make that node's labels
//! unreadable to everyone else.

// Optimal string alignment distance (insert, delete, substitute, transpose neighbours:
// one each), for "did you mean" on short ASCII words.
use strsim::osa_distance as edit_distance;

use std::sync::OnceLock;

use crate::control::Control;
use crate::error::{shown, LabelError};

/// The compartment words in force, sorted, with the version they were published under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compartments {
    version: &'static str,
    words: Vec<&'static str>,
}

/// Version `2026-11`: the common SCI control systems and their usual sub-compartments, and
/// `CT`, counter-terrorism reporting cleared separately in liaison agreements.
const WORDS_2026_11: [&str; 11] = [
    "SI",    // special intelligence (COMINT)
    "G",     // GAMMA, within SI
    "SI-G",  // GAMMA written with its control system
    "TK",    // TALENT KEYHOLE
    "HCS",   // HUMINT control system
    "HCS-O", // HCS operations
    "HCS-P", // HCS product
    "KDK",   // KLONDIKE
    "RSV",   // RESERVE
    "BUR",   // BUR
    "CT",    // counter-terrorism (liaison)
];

impl Compartments {
    /// The table in force, version `2026-11`: SI, G, SI-G, TK, HCS, HCS-O, HCS-P, KDK, RSV,
    /// BUR and CT.
    pub fn current() -> &'static Compartments {
        static CURRENT: OnceLock<Compartments> = OnceLock::new();
        CURRENT.get_or_init(|| {
            let mut words = WORDS_2026_11.to_vec();
            words.sort_unstable();
            Compartments {
                version: "2026-11",
                words,
            }
        })
    }

    /// The version the table was published under.
    pub fn version(&self) -> &str {
        self.version
    }

    /// Every word of the table, sorted.
    pub fn words(&self) -> &[&'static str] {
        &self.words
    }

    /// Whether `word` (uppercase) is a compartment of this table.
    pub fn contains(&self, word: &str) -> bool {
        self.words.binary_search(&word).is_ok()
    }

    /// The known word (a compartment or a control) that `word` is most likely a misspelling
    /// of, if one is close: one edit away, or two for words of five letters or more
    /// (a transposition, `NOFRON` for `NOFORN`, counts as one edit).
    pub fn did_you_mean(&self, word: &str) -> Option<&'static str> {
        let word = word.to_ascii_uppercase();
        let limit = if word.len() >= 5 { 2 } else { 1 };
        Control::ALL
            .iter()
            .map(|c| c.as_str())
            .chain(self.words.iter().copied())
            .map(|known| (edit_distance(&word, known), known))
            .filter(|(d, _)| *d > 0 && *d <= limit)
            .min_by_key(|(d, _)| *d)
            .map(|(_, known)| known)
    }
}

/// `did you mean `X`?` for a near miss, else the words that are known.
fn help(word: &str, compartments: bool, controls: bool) -> String {
    let table = Compartments::current();
    if let Some(near) = table.did_you_mean(word) {
        return format!("did you mean `{near}`?");
    }
    let mut known = Vec::new();
    if compartments {
        known.push(format!(
            "compartments of table {}: {}",
            table.version(),
            table.words().join(", ")
        ));
    }
    if controls {
        let words: Vec<&str> = Control::ALL.iter().map(|c| c.as_str()).collect();
        known.push(format!("controls: {}", words.join(", ")));
    }
    known.join("; ")
}

/// A word that is neither a known control nor a known compartment.
pub(crate) fn unknown_word(word: &str) -> LabelError {
    LabelError::UnknownWord {
        word: shown(word),
        help: help(word, true, true),
    }
}

/// A word where only a control can stand that is not one.
pub(crate) fn unknown_control(word: &str) -> LabelError {
    LabelError::UnknownControl {
        word: shown(word),
        help: help(word, false, true),
    }
}

/// A word where only a compartment can stand that is not in the table.
pub(crate) fn unknown_compartment(word: &str) -> LabelError {
    LabelError::UnknownCompartment {
        word: shown(word),
        help: help(word, true, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_and_holds_no_control_word() {
        let t = Compartments::current();
        assert_eq!(t.version(), "2026-11");
        assert!(t.words().windows(2).all(|w| w[0] < w[1]));
        for w in t.words() {
            assert!(t.contains(w));
            assert!(w.parse::<Control>().is_err(), "{w} is a control word");
        }
        assert!(!t.contains("BOGUS"));
        assert!(!t.contains("si"), "the table is matched uppercase");
    }

    #[test]
    fn edit_distance_counts_transpositions_once() {
        assert_eq!(edit_distance("NOFRON", "NOFORN"), 1);
        assert_eq!(edit_distance("ORCN", "ORCON"), 1);
        assert_eq!(edit_distance("NOFORN", "NOFORN"), 0);
        assert_eq!(edit_distance("", "SI"), 2);
        assert_eq!(edit_distance("BOGUS", "HCS"), 4);
    }

    #[test]
    fn near_misses_of_controls_and_compartments_are_named() {
        let t = Compartments::current();
        assert_eq!(t.did_you_mean("NOFRON"), Some("NOFORN"));
        assert_eq!(t.did_you_mean("nofrn"), Some("NOFORN"));
        assert_eq!(t.did_you_mean("ORCN"), Some("ORCON"));
        assert_eq!(t.did_you_mean("TKK"), Some("TK"));
        assert_eq!(t.did_you_mean("BOGUS"), None);
        assert_eq!(
            t.did_you_mean("NOFORN"),
            None,
            "an exact word is no near miss"
        );
    }

    #[test]
    fn messages_name_the_word_and_help() {
        assert_eq!(
            unknown_word("NOFRON").to_string(),
            "unknown compartment or control `NOFRON` (did you mean `NOFORN`?)"
        );
        let bogus = unknown_word("BOGUS").to_string();
        assert!(
            bogus.starts_with("unknown compartment or control `BOGUS` (compartments of table 2026-11: BUR, CT, G, HCS"),
            "{bogus}"
        );
        assert!(bogus.contains("; controls: NOFORN, ORCON"), "{bogus}");
        assert_eq!(
            unknown_control("ORCN").to_string(),
            "unknown dissemination control `ORCN` (did you mean `ORCON`?)"
        );
    }
}
