//! The release policy, as pure code: no I/O, no clocks. From what a node holds (objects'
//! labels, derivations, tear lines, consents, officers' holds) it computes every object's effective label and
//! decides, for a partner and its agreement, whether an object is released, released at its
//! tear line, or withheld, always with the reasons. Anything it cannot evaluate withholds.
#![deny(missing_docs)]

mod agreement;
mod consent;
mod cut;
mod decide;
mod error;
mod hold;
mod reason;
mod world;

pub use agreement::{Agreement, Matching, Reciprocity, Scope};
pub use consent::Consent;
pub use cut::{cut_for, Cut, CutKind, Delivered};
pub use decide::{Decision, Judge, Verdict};
pub use error::PolicyError;
pub use hold::Hold;
pub use reason::{Reason, ReasonCode};
pub use world::{Fault, Item, Ix, LabelId, Markings, World};
