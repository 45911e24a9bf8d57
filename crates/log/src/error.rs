//! Errors of the log crate, one enum per concern. Messages are lowercase and name no Rust
//! types; each failure a verifier must tell apart (a tampered leaf, a tampered proof, a
//! truncated log, a replaced checkpoint, a wrong key) has its own variant.

use std::error::Error as StdError;
use std::fmt;

/// A failure of the storage behind a [`crate::HashReader`].
#[derive(Debug)]
pub struct StorageError(Box<dyn StdError + Send + Sync>);

impl StorageError {
    /// Wraps the storage layer's own error.
    pub fn new(source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Self(source.into())
    }

    /// The hash at stored index `index` is not in storage.
    pub fn missing(index: u64) -> Self {
        Self(format!("stored hash {index} is missing").into())
    }
}

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl StdError for StorageError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.0.source()
    }
}

/// Computing a root or a proof from stored hashes failed.
#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    /// The caller asked about a leaf or size the tree of that size does not have.
    #[error("index {index} is not in a tree of size {size}")]
    IndexOutOfRange {
        /// The leaf index asked for.
        index: u64,
        /// The tree size asked about.
        size: u64,
    },
    /// A consistency proof was asked from a larger tree to a smaller one, or from size 0.
    #[error("no consistency proof from size {old} to size {new}")]
    BadSizes {
        /// The earlier tree size.
        old: u64,
        /// The later tree size.
        new: u64,
    },
    /// The size is beyond what this crate accepts ([`crate::MAX_TREE_SIZE`]).
    #[error("tree size {0} is too large")]
    SizeTooLarge(u64),
    /// The storage returned an error or the wrong number of hashes.
    /// (Printed in the message, not kept as the source: callers pass this error on as text.)
    #[error("reading stored hashes failed: {0}")]
    Storage(StorageError),
    /// The tree library refused the request (an internal inconsistency).
    #[error("tree computation failed: {0}")]
    Internal(String),
}

/// Verifying an inclusion or consistency proof failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The leaf the verifier holds does not hash to the leaf hash the log committed to.
    #[error("leaf {index} does not match the hash the log committed to")]
    LeafMismatch {
        /// The leaf index.
        index: u64,
    },
    /// The inclusion proof does not lead from the leaf to the checkpoint's root.
    #[error("inclusion proof for leaf {index} does not match the root of size {size}")]
    InclusionMismatch {
        /// The leaf index.
        index: u64,
        /// The tree size of the root.
        size: u64,
    },
    /// The consistency proof does not connect the two roots.
    #[error("consistency proof from size {old} to size {new} does not match the roots")]
    ConsistencyMismatch {
        /// The earlier tree size.
        old: u64,
        /// The later tree size.
        new: u64,
    },
    /// The index is not below the tree size.
    #[error("index {index} is not in a tree of size {size}")]
    IndexOutOfRange {
        /// The leaf index.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// The later tree is smaller than the earlier one: the log lost entries.
    #[error("log shrank from size {old} to size {new}")]
    Truncated {
        /// The earlier tree size.
        old: u64,
        /// The later, smaller tree size.
        new: u64,
    },
    /// Two roots for the same tree size differ.
    #[error("two different roots for size {size}")]
    RootMismatch {
        /// The tree size.
        size: u64,
    },
    /// Two checkpoints of different sizes came without a consistency proof.
    #[error("no consistency proof from size {old} to size {new}")]
    ProofMissing {
        /// The earlier tree size.
        old: u64,
        /// The later tree size.
        new: u64,
    },
    /// The proof has more hashes than any tree this crate accepts could need.
    #[error("proof has {0} hashes, too many")]
    ProofTooLong(usize),
    /// The size is beyond what this crate accepts ([`crate::MAX_TREE_SIZE`]).
    #[error("tree size {0} is too large")]
    SizeTooLarge(u64),
}

/// A tile path or tile contents are wrong.
#[derive(Debug, thiserror::Error)]
pub enum TileError {
    /// The path is not a canonical C2SP tlog-tiles path.
    #[error("malformed tile path `{0}`")]
    MalformedPath(String),
    /// The tile does not exist in a tree of that size.
    #[error("tile `{path}` is not in a tree of size {size}")]
    NotInTree {
        /// The tile path.
        path: String,
        /// The tree size.
        size: u64,
    },
    /// An entry is larger than an entry bundle can carry (a big-endian u16 length).
    #[error("entry of {0} bytes is larger than 65535 bytes")]
    EntryTooLarge(usize),
    /// An entry bundle is cut short or has trailing bytes.
    #[error("malformed entry bundle")]
    MalformedBundle,
    /// Tile data has the wrong length for its width.
    #[error("tile data has {got} bytes, expected {expected}")]
    BadLength {
        /// Bytes received.
        got: usize,
        /// Bytes expected.
        expected: usize,
    },
    /// An entry in a bundle does not hash to the leaf hash in the level 0 tile: the entry or
    /// the tile was changed.
    #[error("entry {index} does not match its leaf hash")]
    LeafMismatch {
        /// The entry's index in the log.
        index: u64,
    },
    /// Reading the tile's hashes failed.
    #[error(transparent)]
    Tree(#[from] TreeError),
}

/// A node key or a verifier key is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The key name is empty or has spaces or `+`.
    #[error("invalid key name `{0}`")]
    InvalidName(String),
    /// The verifier key text is not `name+hex8+base64`.
    #[error("malformed verifier key")]
    Malformed,
    /// The verifier key has another signature type than the one expected.
    #[error("verifier key has signature type {got:#04x}, expected {expected:#04x}")]
    WrongType {
        /// The type byte found.
        got: u8,
        /// The type byte expected.
        expected: u8,
    },
    /// The key ID in the verifier key does not match its name and key.
    #[error("verifier key id does not match its name and key")]
    IdMismatch,
    /// The operating system's random source failed.
    #[error("random source failed: {0}")]
    Random(String),
}

/// A checkpoint is malformed, or its signature does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// The checkpoint body does not follow C2SP tlog-checkpoint.
    #[error("malformed checkpoint")]
    Malformed,
    /// The signed note does not follow C2SP signed-note.
    #[error("malformed signed note")]
    MalformedNote,
    /// The note is larger than [`crate::MAX_CHECKPOINT_BYTES`].
    #[error("checkpoint note of {0} bytes is too large")]
    TooLarge(usize),
    /// The checkpoint's origin is not the signing key's name.
    #[error("checkpoint origin `{origin}` is not the key name `{key}`")]
    OriginMismatch {
        /// The origin line.
        origin: String,
        /// The key name.
        key: String,
    },
    /// No signature by the expected key is on the note (signed by another key, or unsigned).
    #[error("checkpoint is not signed by key `{0}`")]
    NotSignedByKey(String),
    /// A signature claims to be by the expected key but does not verify: the text was changed.
    #[error("checkpoint signature by `{0}` does not verify")]
    BadSignature(String),
    /// The text to sign would be taken for a cosignature message.
    #[error("refusing to sign a note that starts like a cosignature message")]
    CosignaturePrefix,
    /// Signing failed.
    #[error("signing failed")]
    Signing,
}

/// A cosignature is malformed or does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CosignatureError {
    /// The line is not `— <name> base64(keyid || timestamp || signature)`.
    #[error("malformed cosignature line")]
    Malformed,
    /// The timestamp is above 2^63 - 1 (C2SP tlog-cosignature, "Format").
    #[error("cosignature timestamp {0} is out of range")]
    TimestampOutOfRange(u64),
    /// The cosignature names another cosigner or key ID than the verifier key.
    #[error("cosignature is by `{got}`, not by `{expected}`")]
    KeyMismatch {
        /// The name and key ID on the line.
        got: String,
        /// The name and key ID of the verifier key.
        expected: String,
    },
    /// The signature does not verify over this checkpoint.
    #[error("cosignature by `{0}` does not verify")]
    BadSignature(String),
    /// The checkpoint carries no cosignature by this key.
    #[error("no cosignature by `{0}`")]
    Missing(String),
    /// Adding the cosignature to the note failed.
    #[error("adding the cosignature to the note failed")]
    Note,
}

/// Two checkpoints cannot be compared at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ForkError {
    /// The checkpoints are of different logs.
    #[error("checkpoints of different logs `{0}` and `{1}`")]
    OriginMismatch(String, String),
}
