//! The TAXII 2.1 protocol pieces that need no HTTP framework and no I/O, shared by the
//! liaison server and `liaison pull`: media-type negotiation, the resources with their exact
//! property names, the query filters of section 3.4 parsed into typed values, the selection of
//! versions, and tamper-evident pagination tokens bound to a caller and a query.
//!
//! Everything a partner sends (headers, query strings, tokens) is parsed here, once, and refused
//! with a named error when malformed: nothing in this crate panics on input.
#![deny(missing_docs)]

mod error_kind;
mod media;
mod query;
mod resources;
mod token;

pub use error_kind::ErrorKind;
pub use media::{
    accepts, content_type_ok, preferred, STIX_MEDIA_TYPE, TAXII_MEDIA_TYPE,
    TAXII_MEDIA_TYPE_UNVERSIONED,
};
pub use query::{
    select_versions, Endpoint, EntryMeta, Query, QueryError, VersionFilter, VersionSelector,
    MAX_VALUES_PER_FIELD,
};
pub use resources::{
    ApiRoot, Collection, Collections, Discovery, Envelope, ErrorMessage, Manifest, ManifestRecord,
    Status, StatusDetails, StatusKind, Versions, HEADER_DATE_ADDED_FIRST, HEADER_DATE_ADDED_LAST,
};
pub use token::{NextToken, TokenError};

/// A TAXII `timestamp` (section 2): RFC 3339 in UTC with exactly six fractional digits, the
/// precision TAXII requires of `date_added` and of the `X-TAXII-Date-Added-*` headers.
///
/// The same as [`liaison_stix::Timestamp::to_micros`], named for the spec's type.
pub fn taxii_time(t: &liaison_stix::Timestamp) -> String {
    t.to_micros()
}
