//! The liaison security label: banner lines, the wire form as a STIX 2.1 marking-definition,
//! the tetragraph table, and the join that makes derived material at least as restricted as
//! its sources. Pure: no I/O. Everything a partner sends is parsed once and refused if unknown.
#![deny(missing_docs)]

mod banner;
mod compartment;
mod control;
mod error;
mod grading;
mod label;
mod level;
mod party;
mod restriction;
mod tetragraph;

pub use banner::{parse_compartment, Banner, MAX_BANNER_BYTES};
pub use compartment::Compartments;
pub use control::Control;
pub use error::LabelError;
pub use grading::{Credibility, Grading, Reliability};
pub use label::{extension_definition, liaison_identity, Label, LIAISON_IDENTITY_ID};
pub use level::{Classification, Pap, Tlp, TLP_2_EXTENSION_ID};
pub use party::{is_iso_3166_alpha3, Party, ISO_3166_ALPHA3};
pub use restriction::Restriction;
pub use tetragraph::Tetragraphs;
