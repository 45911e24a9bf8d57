//! Why a matching step was refused. Messages are lowercase and say what to do differently.

/// A refused or failed step of private matching.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PsiError {
    /// The message is for another epoch than the one in force.
    #[error("the message is for epoch {got}, but epoch {expected} is in force")]
    WrongEpoch {
        /// The epoch in force.
        expected: u64,
        /// The epoch the message names.
        got: u64,
    },
    /// The two sides normalise selectors differently; they would silently miss matches.
    #[error("normaliser version {theirs} differs from ours ({ours}); both sides must run the same normaliser")]
    NormaliserMismatch {
        /// Our normaliser version.
        ours: u32,
        /// The peer's.
        theirs: u32,
    },
    /// A request with more elements than the agreement allows.
    #[error("a request of {len} elements is over the limit of {max}")]
    Oversized {
        /// Elements in the request.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A request whose size is not a padding bucket, so it leaks the asker's set size.
    #[error("a request of {len} elements is not padded to a power of two")]
    NotPadded {
        /// Elements in the request.
        len: usize,
    },
    /// The asker's budget for this epoch cannot cover the request.
    #[error("budget exhausted: {requested} selectors asked, {remaining} left this epoch")]
    BudgetExhausted {
        /// Selectors the request would evaluate.
        requested: u64,
        /// Selectors left in the epoch's budget.
        remaining: u64,
    },
    /// An element that is not a canonical ristretto255 encoding.
    #[error("element {index} is not a valid ristretto255 element")]
    MalformedElement {
        /// Its position in the message.
        index: usize,
    },
    /// The epoch's public key is not a valid ristretto255 element.
    #[error("the epoch's public key is not a valid ristretto255 element")]
    MalformedKey,
    /// The DLEQ proof does not show that the epoch's key evaluated these elements.
    #[error("the holder's proof does not verify against the epoch's public key")]
    ProofInvalid,
    /// The response holds a different number of elements than the request.
    #[error("the response holds {got} elements for a request of {sent}")]
    LengthMismatch {
        /// Elements sent.
        sent: usize,
        /// Elements returned.
        got: usize,
    },
    /// A selector key the OPRF cannot take (empty or longer than 65535 bytes).
    #[error("selector {index} cannot be evaluated (empty or over 65535 bytes)")]
    BadInput {
        /// Its position among the asker's selectors.
        index: usize,
    },
    /// Building the holder's filter failed.
    #[error("the filter could not be built: {0}")]
    Filter(String),
    /// A message whose bytes are not a well-formed liaison-psi/1 message.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// The key derivation of RFC 9497 failed.
    #[error("the epoch key could not be derived")]
    KeyDerivation,
}
