//! Dissemination control words. Only NOFORN and ORCON change release decisions; the others
//! are carried and joined by union. An unknown word is refused rather than ignored: the
//! engine cannot evaluate a control it does not know (fail closed).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::compartment::unknown_control;
use crate::error::LabelError;
use crate::level::string_serde;

/// A dissemination control. Printed and serialized as its uppercase word (`"NOFORN"`),
/// parsed in any case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Control {
    /// Not releasable to foreign nationals: the material never leaves its owner.
    Noforn,
    /// Originator controlled: onward release needs the originator's consent.
    Orcon,
    /// Controlled imagery.
    Imcon,
    /// Caution: proprietary information involved.
    Propin,
    /// Releasable by information disclosure official.
    Relido,
    /// Foreign Intelligence Surveillance Act material.
    Fisa,
    /// Limited distribution.
    Limdis,
    /// Exclusive distribution.
    Exdis,
    /// No distribution.
    Nodis,
    /// DEA sensitive.
    Dsen,
}

impl Control {
    /// Every control, in their sort order.
    pub const ALL: [Control; 10] = [
        Control::Noforn,
        Control::Orcon,
        Control::Imcon,
        Control::Propin,
        Control::Relido,
        Control::Fisa,
        Control::Limdis,
        Control::Exdis,
        Control::Nodis,
        Control::Dsen,
    ];

    /// The uppercase control word.
    pub fn as_str(self) -> &'static str {
        match self {
            Control::Noforn => "NOFORN",
            Control::Orcon => "ORCON",
            Control::Imcon => "IMCON",
            Control::Propin => "PROPIN",
            Control::Relido => "RELIDO",
            Control::Fisa => "FISA",
            Control::Limdis => "LIMDIS",
            Control::Exdis => "EXDIS",
            Control::Nodis => "NODIS",
            Control::Dsen => "DSEN",
        }
    }
}

impl FromStr for Control {
    type Err = LabelError;
    fn from_str(s: &str) -> Result<Self, LabelError> {
        let word = s.trim();
        Control::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(word))
            .ok_or_else(|| unknown_control(word))
    }
}

impl fmt::Display for Control {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

string_serde!(Control, |c| c.as_str().to_owned());

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip() {
        for c in Control::ALL {
            assert_eq!(c.to_string().parse::<Control>(), Ok(c));
            assert_eq!(c.as_str().to_ascii_lowercase().parse::<Control>(), Ok(c));
            assert_eq!(
                serde_json::to_value(c).unwrap(),
                serde_json::Value::from(c.as_str())
            );
        }
    }

    #[test]
    fn unknown_word_is_refused() {
        assert_eq!(
            "NOFORNX".parse::<Control>().map_err(|e| e.to_string()),
            Err("unknown dissemination control `NOFORNX` (did you mean `NOFORN`?)".to_owned())
        );
        assert!(serde_json::from_value::<Control>(serde_json::Value::from("WAIVED")).is_err());
    }
}
