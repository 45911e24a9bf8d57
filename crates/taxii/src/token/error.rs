//! Why a `next` token was refused. The server answers 400 to all of them (section 3.4: a
//! malformed query parameter); the variants exist for logs and tests.

use thiserror::Error;

use crate::ErrorKind;

/// A pagination token the server refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum TokenError {
    /// Not base64url, or not the length or format version of a token.
    #[error("the `next` token is malformed")]
    Malformed,
    /// The token's MAC does not verify: altered, or not issued with this key.
    #[error("the `next` token was altered or not issued by this server")]
    Forged,
    /// Issued to another caller.
    #[error("the `next` token was issued to another client")]
    OtherCaller,
    /// Issued for other filters (or another collection).
    #[error("the `next` token was issued for other filters; repeat the original query")]
    OtherQuery,
    /// Past its expiry.
    #[error("the `next` token has expired; start again without `next`")]
    Expired,
}

impl TokenError {
    /// The HTTP error class: always [`ErrorKind::BadRequest`].
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::BadRequest
    }
}
