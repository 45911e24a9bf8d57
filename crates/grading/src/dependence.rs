//! Why two items are not independent, as stable codes and the evidence behind them. The
//! codes are part of the output analysts and scripts read (`liaison assess`): they never
//! change meaning, new ones are only added.

use std::fmt;

use liaison_labels::Party;
use serde::Serialize;

/// Why an item counts, or does not count, as an independent source of a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// The earliest item of its cluster: an independent source.
    Independent,
    /// It carries our fingerprint marks, or is ours: our reporting, echoed back.
    OurMarks,
    /// It has the same originator as an earlier item of the cluster.
    SharedOriginator,
    /// It and an earlier item rest on a common `derived-from` ancestor (or one on the other).
    CommonAncestor,
    /// Its text is a near-duplicate of an earlier item's.
    NearDuplicate,
    /// It is tied to the cluster only through other items of it.
    Indirect,
}

impl Reason {
    /// The stable code.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Independent => "independent",
            Reason::OurMarks => "our-marks",
            Reason::SharedOriginator => "shared-originator",
            Reason::CommonAncestor => "common-ancestor",
            Reason::NearDuplicate => "near-duplicate",
            Reason::Indirect => "indirect",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What ties two items together.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Evidence {
    /// Both come from this originator.
    Originator {
        /// The originator.
        party: Party,
    },
    /// Our fingerprint marks were found on it.
    Marks {
        /// What the mark reader found.
        found: String,
    },
    /// Both rest on this `derived-from` ancestor (it may be one of the two).
    Ancestor {
        /// The ancestor's id.
        id: String,
    },
    /// Their texts are near-duplicates.
    Similarity {
        /// The estimated Jaccard similarity of their word 3-shingles.
        value: f64,
    },
    /// Tied only through other items of the cluster, whose source is this item.
    Through {
        /// The cluster's source.
        id: String,
    },
}

impl fmt::Display for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Evidence::Originator { party } => write!(f, "same originator {party}"),
            Evidence::Marks { found } => write!(f, "our marks: {found}"),
            Evidence::Ancestor { id } => write!(f, "common ancestor {id}"),
            Evidence::Similarity { value } => write!(f, "text similarity {value:.2}"),
            Evidence::Through { id } => write!(f, "through the cluster of {id}"),
        }
    }
}
