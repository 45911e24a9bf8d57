//! Admiralty (NATO AJP-2.1) grading: source reliability A–F and information credibility 1–6.
//! F and 6 mean "cannot be judged", not "worst", so neither scale is given an order that
//! would rank them below E or 5; compare with [`Reliability::is_judged`] in mind.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{shown, LabelError};

/// Source reliability. `F` means the reliability cannot be judged (a new source, say), which
/// is not worse than `E`; there is deliberately no `Ord`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Reliability {
    /// Completely reliable.
    A,
    /// Usually reliable.
    B,
    /// Fairly reliable.
    C,
    /// Not usually reliable.
    D,
    /// Unreliable.
    E,
    /// Reliability cannot be judged.
    F,
}

impl Reliability {
    /// Every grade.
    pub const ALL: [Reliability; 6] = [
        Reliability::A,
        Reliability::B,
        Reliability::C,
        Reliability::D,
        Reliability::E,
        Reliability::F,
    ];

    /// The letter.
    pub fn as_str(self) -> &'static str {
        match self {
            Reliability::A => "A",
            Reliability::B => "B",
            Reliability::C => "C",
            Reliability::D => "D",
            Reliability::E => "E",
            Reliability::F => "F",
        }
    }

    /// False for `F` (cannot be judged).
    pub fn is_judged(self) -> bool {
        self != Reliability::F
    }
}

impl FromStr for Reliability {
    type Err = LabelError;
    fn from_str(s: &str) -> Result<Self, LabelError> {
        let t = s.trim();
        Reliability::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(t))
            .ok_or_else(|| LabelError::UnknownReliability(shown(t)))
    }
}

impl fmt::Display for Reliability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Information credibility. `6` means the truth cannot be judged, which is not worse than
/// `5`; there is deliberately no `Ord`. Serialized as the digit in a string (`"2"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Credibility {
    /// 1: confirmed by other sources.
    #[serde(rename = "1")]
    One,
    /// 2: probably true.
    #[serde(rename = "2")]
    Two,
    /// 3: possibly true.
    #[serde(rename = "3")]
    Three,
    /// 4: doubtful.
    #[serde(rename = "4")]
    Four,
    /// 5: improbable.
    #[serde(rename = "5")]
    Five,
    /// 6: truth cannot be judged.
    #[serde(rename = "6")]
    Six,
}

impl Credibility {
    /// Every grade.
    pub const ALL: [Credibility; 6] = [
        Credibility::One,
        Credibility::Two,
        Credibility::Three,
        Credibility::Four,
        Credibility::Five,
        Credibility::Six,
    ];

    /// The digit.
    pub fn as_str(self) -> &'static str {
        match self {
            Credibility::One => "1",
            Credibility::Two => "2",
            Credibility::Three => "3",
            Credibility::Four => "4",
            Credibility::Five => "5",
            Credibility::Six => "6",
        }
    }

    /// False for `6` (cannot be judged).
    pub fn is_judged(self) -> bool {
        self != Credibility::Six
    }
}

impl FromStr for Credibility {
    type Err = LabelError;
    fn from_str(s: &str) -> Result<Self, LabelError> {
        let t = s.trim();
        Credibility::ALL
            .into_iter()
            .find(|c| c.as_str() == t)
            .ok_or_else(|| LabelError::UnknownCredibility(shown(t)))
    }
}

impl fmt::Display for Credibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An Admiralty grading, printed `B2`, serialized as
/// `{"reliability": "B", "credibility": "2"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grading {
    /// How reliable the source is.
    pub reliability: Reliability,
    /// How credible the information is.
    pub credibility: Credibility,
}

impl FromStr for Grading {
    type Err = LabelError;
    /// Parses the two-character form, e.g. `B2` (any case).
    fn from_str(s: &str) -> Result<Self, LabelError> {
        let t = s.trim();
        let mut chars = t.chars();
        let (Some(r), Some(c), None) = (chars.next(), chars.next(), chars.next()) else {
            return Err(LabelError::BadGrading(shown(t)));
        };
        let bad = |_| LabelError::BadGrading(shown(t));
        Ok(Grading {
            reliability: r.to_string().parse().map_err(bad)?,
            credibility: c.to_string().parse().map_err(bad)?,
        })
    }
}

impl fmt::Display for Grading {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.reliability, self.credibility)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_parse() {
        let g = Grading {
            reliability: Reliability::B,
            credibility: Credibility::Two,
        };
        assert_eq!(g.to_string(), "B2");
        assert_eq!("b2".parse::<Grading>(), Ok(g));
        for bad in ["G2", "B7", "B", "B22", "", "2B"] {
            assert!(bad.parse::<Grading>().is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn serde_form() {
        let g = Grading {
            reliability: Reliability::F,
            credibility: Credibility::Six,
        };
        let v = serde_json::to_value(g).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"reliability": "F", "credibility": "6"})
        );
        assert_eq!(serde_json::from_value::<Grading>(v).unwrap(), g);
        assert!(serde_json::from_value::<Grading>(
            serde_json::json!({"reliability": "B", "credibility": 2})
        )
        .is_err());
    }

    #[test]
    fn cannot_be_judged_is_not_a_grade() {
        assert!(!Reliability::F.is_judged() && Reliability::E.is_judged());
        assert!(!Credibility::Six.is_judged() && Credibility::Five.is_judged());
    }
}
