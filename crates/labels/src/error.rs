//! The one error type of label parsing and checking. Labels come from partners, so every
//! message names the offending input in backticks, cut to a bounded length and with control
//! characters escaped, and never echoes more than that.

use thiserror::Error;

/// Why a label, or a part of one, was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LabelError {
    /// A classification level outside the default scheme.
    #[error("unknown classification `{0}`")]
    UnknownClassification(String),
    /// A TLP level that is neither TLP 2.0 nor TLP 1.0 `WHITE`.
    #[error("unknown TLP level `{0}`")]
    UnknownTlp(String),
    /// A PAP level outside CLEAR, GREEN, AMBER, RED.
    #[error("unknown PAP level `{0}`")]
    UnknownPap(String),
    /// A dissemination control word the engine does not know (and so cannot evaluate).
    #[error("unknown dissemination control `{word}` ({help})")]
    UnknownControl {
        /// The word, as shown.
        word: String,
        /// The known word it is closest to, or the known words.
        help: String,
    },
    /// A word in a banner's compartments or controls that is neither a compartment of the
    /// compartment table nor a dissemination control.
    #[error("unknown compartment or control `{word}` ({help})")]
    UnknownWord {
        /// The word, as shown.
        word: String,
        /// The known word it is closest to, or the known words.
        help: String,
    },
    /// A compartment (where only a compartment can stand, e.g. a marking's `compartments`)
    /// that is not in the compartment table.
    #[error("unknown compartment `{word}` ({help})")]
    UnknownCompartment {
        /// The word, as shown.
        word: String,
        /// The known word it is closest to, or the known words.
        help: String,
    },
    /// A party that is neither an ISO 3166-1 alpha-3 code nor a group of the tetragraph table.
    #[error("`{0}` is not an ISO 3166 trigraph or a known group")]
    UnknownParty(String),
    /// A compartment token that is not `[A-Z0-9][A-Z0-9-]*`.
    #[error(
        "`{0}` is not a compartment (letters, digits and hyphens, not starting with a hyphen)"
    )]
    BadCompartment(String),
    /// A known control word used as a compartment: refused, since the control would not be
    /// honoured there.
    #[error("`{0}` is a dissemination control, not a compartment")]
    ControlAsCompartment(String),
    /// A source reliability outside A to F.
    #[error("unknown source reliability `{0}` (expected A to F)")]
    UnknownReliability(String),
    /// An information credibility outside 1 to 6.
    #[error("unknown information credibility `{0}` (expected 1 to 6)")]
    UnknownCredibility(String),
    /// An Admiralty grading not of the form letter + digit, e.g. `B2`.
    #[error("`{0}` is not an Admiralty grading (expected a letter A to F and a digit 1 to 6)")]
    BadGrading(String),
    /// A `REL TO` that names nobody.
    #[error("`REL TO` names no party")]
    EmptyRelTo,
    /// A banner line that does not follow the grammar.
    #[error("malformed banner `{banner}`: {reason}")]
    Banner {
        /// The banner line, as shown.
        banner: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A marking-definition that carries the liaison extension without fields it needs.
    #[error("liaison marking: missing {fields}")]
    Missing {
        /// Every field missing, in backticks, comma separated.
        fields: String,
    },
    /// A marking-definition that carries the liaison extension with a missing, malformed or
    /// unknown field.
    #[error("liaison marking field `{field}`: {reason}")]
    Field {
        /// The field, e.g. `classification` or `rel_to.[1]`.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl LabelError {
    pub(crate) fn banner(banner: &str, reason: impl Into<String>) -> LabelError {
        LabelError::Banner {
            banner: shown(banner),
            reason: reason.into(),
        }
    }

    pub(crate) fn field(field: &str, reason: impl Into<String>) -> LabelError {
        LabelError::Field {
            field: field.to_owned(),
            reason: reason.into(),
        }
    }
}

/// The longest stretch of partner input an error message repeats.
const SHOWN_CHARS: usize = 64;

/// Partner input as an error message shows it: at most [`SHOWN_CHARS`] characters, control
/// characters and backticks escaped so that the message cannot be forged or garbled.
pub(crate) fn shown(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i == SHOWN_CHARS {
            out.push('…');
            break;
        }
        if c == '`' {
            out.extend(c.escape_unicode());
        } else if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_cuts_and_escapes() {
        assert_eq!(shown("SEKRET"), "SEKRET");
        assert_eq!(shown("a`b\nc"), "a\\u{60}b\\nc");
        let long = "X".repeat(100);
        assert_eq!(shown(&long).chars().count(), SHOWN_CHARS + 1);
    }
}
