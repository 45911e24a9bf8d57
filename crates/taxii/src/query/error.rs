//! Why a query string was refused. Every variant is a 400 (section 3.4: malformed query
//! parameters get HTTP 400). Input echoed back is clipped, so a hostile query cannot make the
//! error body large.

use thiserror::Error;

use crate::ErrorKind;

/// A query string the server refuses.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum QueryError {
    /// A parameter this endpoint does not define (refused rather than ignored: liaison fails
    /// closed on filters it does not understand).
    #[error("unknown query parameter `{0}`")]
    Unknown(String),
    /// A parameter TAXII defines but not for this endpoint (for instance `match[type]` on Get
    /// an Object, section 5.6).
    #[error("query parameter `{0}` is not supported on this endpoint")]
    NotSupportedHere(String),
    /// A parameter given twice (section 3.4: each may occur once).
    #[error("query parameter `{0}` is given more than once")]
    Repeated(String),
    /// A parameter without a value, or a list with an empty item.
    #[error("query parameter `{0}` has an empty value")]
    Empty(String),
    /// Percent-encoding that is malformed or does not decode to UTF-8.
    #[error("query parameter `{0}` is not valid percent-encoded utf-8")]
    Encoding(String),
    /// `added_after` (or a version) that is not a timestamp.
    #[error("`{value}` in `{param}` is not a timestamp (YYYY-MM-DDTHH:MM:SS[.s+]Z)")]
    Timestamp {
        /// The parameter.
        param: String,
        /// The value refused.
        value: String,
    },
    /// `limit` that is not a positive integer.
    #[error("`limit` must be a positive integer, not `{0}`")]
    Limit(String),
    /// A `match[version]` item that is neither a keyword nor a timestamp.
    #[error("`{0}` in `match[version]` is not `first`, `last`, `all` or a timestamp")]
    Version(String),
    /// `all` combined with other versions (section 3.4.1 forbids it).
    #[error("`all` in `match[version]` cannot be combined with other values")]
    AllWithOthers,
    /// The same value twice in a list where section 3.4.1 forbids it (`match[version]`).
    #[error("`{value}` is given more than once in `{param}`")]
    RepeatedValue {
        /// The parameter.
        param: String,
        /// The repeated value.
        value: String,
    },
    /// More values in one `match[...]` than the server reads.
    #[error("query parameter `{param}` has more than {max} values")]
    TooManyValues {
        /// The parameter.
        param: String,
        /// The most accepted.
        max: usize,
    },
}

impl QueryError {
    /// The HTTP error class: always [`ErrorKind::BadRequest`].
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::BadRequest
    }
}

/// At most 80 characters of partner input, marked when cut.
pub(super) fn clip(s: &str) -> String {
    const MAX: usize = 80;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", s.get(..i).unwrap_or("")),
        None => s.to_owned(),
    }
}
