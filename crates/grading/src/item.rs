//! An item as the curation engine sees it: who made it, whom it came through, what it rests
//! on, what it says, and a signature of its text. The caller builds items from stored
//! objects (labels, `derived-from` relationships, the fingerprint reader's verdict); this
//! crate never reads an object itself.

use std::fmt;
use std::str::FromStr;

use liaison_labels::{Grading, Party};
use liaison_stix::Timestamp;
use serde::Serialize;

use crate::error::GradingError;
use crate::similarity::Signature;

/// One held item.
#[derive(Debug, Clone)]
pub struct Item {
    /// The STIX id it is held under.
    pub id: String,
    /// The party that produced it (its label's originator).
    pub originator: Party,
    /// The party it arrived from (us for our own material).
    pub source: Party,
    /// The ids it is `derived-from` (held or not).
    pub derived_from: Vec<String>,
    /// The signature of its text fields, when they are long enough to have one.
    pub signature: Option<Signature>,
    /// Evidence that it carries our own fingerprint marks (what the mark reader found, e.g.
    /// "ids remapped for GBR"), read elsewhere; `None` when it carries none.
    pub our_marks: Option<String>,
    /// Its Admiralty grading, if any.
    pub grading: Option<Grading>,
    /// When it was produced (or first seen): the earliest item of a cluster is its source.
    pub time: Timestamp,
    /// What it asserts.
    pub claims: Vec<Claim>,
}

/// A property of an entity (threat actor, identity, intrusion set) that sources
/// characterise, and whose values can frame it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Property {
    /// `threat_actor_types`.
    ThreatActorTypes,
    /// `labels`.
    Labels,
    /// `roles`.
    Roles,
    /// `primary_motivation`.
    PrimaryMotivation,
    /// `goals`.
    Goals,
    /// `aliases`.
    Aliases,
}

impl Property {
    /// Every property.
    pub const ALL: [Property; 6] = [
        Property::ThreatActorTypes,
        Property::Labels,
        Property::Roles,
        Property::PrimaryMotivation,
        Property::Goals,
        Property::Aliases,
    ];

    /// The STIX property name.
    pub fn as_str(self) -> &'static str {
        match self {
            Property::ThreatActorTypes => "threat_actor_types",
            Property::Labels => "labels",
            Property::Roles => "roles",
            Property::PrimaryMotivation => "primary_motivation",
            Property::Goals => "goals",
            Property::Aliases => "aliases",
        }
    }
}

impl FromStr for Property {
    type Err = GradingError;
    fn from_str(s: &str) -> Result<Self, GradingError> {
        Property::ALL
            .into_iter()
            .find(|p| p.as_str() == s.trim())
            .ok_or_else(|| GradingError::UnknownProperty(s.trim().chars().take(64).collect()))
    }
}

impl fmt::Display for Property {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something an item asserts, whose independent sources are counted. The caller normalises
/// the parts (an indicator's value, an entity's canonical key: sources give one actor
/// different ids) so that the same assertion gives the same claim.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Claim {
    /// An indicator value (`ipv4-addr:value = '198.51.100.7'`).
    Indicator {
        /// The value.
        value: String,
    },
    /// An attribution: `from` is attributed to `to`.
    Attribution {
        /// What is attributed (a campaign, an intrusion set).
        from: String,
        /// To whom.
        to: String,
    },
    /// A characterisation: `entity`'s `property` includes `value`.
    Characterisation {
        /// The entity's canonical key.
        entity: String,
        /// The property.
        property: Property,
        /// One value of it.
        value: String,
    },
}

impl fmt::Display for Claim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Claim::Indicator { value } => write!(f, "indicator: {value}"),
            Claim::Attribution { from, to } => write!(f, "attribution: {from} → {to}"),
            Claim::Characterisation {
                entity,
                property,
                value,
            } => write!(f, "characterisation: {entity}/{property}={value}"),
        }
    }
}
