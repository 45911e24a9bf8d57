//! STIX 2.1 objects as liaison holds them: every property kept as received (custom ones too),
//! the exact received text kept beside the parsed value, and typed access to the common
//! properties. Parsing happens once, at the edge: a [`StixObject`] that exists is well formed.
#![deny(missing_docs)]

mod bundle;
mod error;
mod id;
mod object;
mod timestamp;
mod vocab;

pub use bundle::{bundle_json, parse_document, Document};
pub use error::{Locator, StixError};
pub use id::StixId;
pub use object::{GranularMarking, StixObject, LIAISON_EXTENSION_ID};
pub use timestamp::Timestamp;
pub use vocab::{is_sco_type, is_sdo_or_sro_type, required_properties};
