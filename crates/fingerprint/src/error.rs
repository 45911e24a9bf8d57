use liaison_stix::StixId;
use thiserror::Error;

use crate::Recipient;

/// Why a fingerprinting step could not be done.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum FingerprintError {
    /// Code parameters outside their meaningful range.
    #[error("invalid code parameters: {0}")]
    Parameters(String),
    /// Two (recipient, original id) pairs remap to the same id: with 122 random bits this
    /// means a broken key or a bug, never chance, so nothing may be unmapped with that index.
    #[error("remapped id `{remapped}` collides for `{first}` and `{second}`")]
    RemapCollision {
        /// The id both pairs remap to.
        remapped: StixId,
        /// The first recipient.
        first: Recipient,
        /// The second recipient.
        second: Recipient,
    },
    /// A remapped id did not form a STIX identifier (a bug: the type comes from a valid id).
    #[error("remapped id is not a STIX identifier: {0}")]
    InvalidId(String),
}
