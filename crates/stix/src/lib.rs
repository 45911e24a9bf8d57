//! STIX 2.1 objects as liaison holds them: every property kept as received (custom ones too),
//! the exact received text kept beside the parsed value, and typed access to the common
//! properties. Parsing happens once, at the edge: a [`StixObject`] that exists is well formed.
//! STIX 2.0 content is read only when asked ([`parse_document_upgrading`]), upgraded to 2.1 by
//! a documented mapping that says what it added.
#![deny(missing_docs)]

mod bundle;
mod error;
mod id;
mod object;
mod stream;
mod text;
mod timestamp;
mod upgrade;
mod vocab;

pub use bundle::{
    bundle_json, parse_document, parse_document_upgrading, Document, UpgradedDocument,
};
pub use error::{Locator, StixError};
pub use id::StixId;
pub use object::{GranularMarking, StixObject, LIAISON_EXTENSION_ID};
pub use stream::{stream_document, StreamError, Streamed, MAX_LONE_OBJECT};
pub use text::{with_properties, with_property};
pub use timestamp::Timestamp;
pub use upgrade::{
    is_stix20_bundle, is_stix20_object, text_before_upgrade, upgrade_object, Upgrade, UpgradeRule,
};
pub use vocab::{
    closest_stix_type, is_sco_type, is_sdo_or_sro_type, is_stix_type, required_properties,
    sdo_and_sro_types,
};
