//! Why a step of the partner protocol failed. A variant that adds context to a lower error
//! keeps it as its `source` and does not repeat it in its own message, so that a chain
//! printed as "context: source" says each thing once.

use std::path::PathBuf;

use liaison_client::ClientError;
use liaison_labels::Party;
use liaison_log::{CheckpointError, CosignatureError, ForkError, TreeError};
use liaison_release::ReleaseError;

/// Why a pull, a log check or a send to a partner failed.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    /// The node refused or failed (unknown partner, store, log).
    #[error(transparent)]
    Release(#[from] ReleaseError),
    /// The partner could not be reached, or answered with an error.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// No address is known for the partner: none given, and no earlier pull left one.
    #[error("no address for {0} yet")]
    NoAddress(Party),
    /// The partner's log key is not registered, so its log cannot be checked, and the
    /// caller did not allow a pull without the check.
    #[error("no log key registered for {0}: its log cannot be checked (no inclusion proofs, no cosignature); nothing pulled")]
    NoLogKey(Party),
    /// The remote-state file (`remotes/<PARTY>.toml`) cannot be read or written.
    #[error("`{}`: {detail}", path.display())]
    RemoteFile {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// The partner's checkpoint does not verify with its registered log key.
    #[error("{partner}'s checkpoint does not verify with its log key")]
    Checkpoint {
        /// The partner.
        partner: Party,
        /// Why.
        #[source]
        source: CheckpointError,
    },
    /// The partner's tiles do not prove its checkpoint consistent with the one accepted
    /// before (they disagree with its root, or do not give a proof).
    #[error("{partner}'s tiles do not prove its checkpoint of size {size}: {detail}; refused")]
    Tiles {
        /// The partner.
        partner: Party,
        /// The size of the checkpoint being checked.
        size: u64,
        /// What is wrong.
        detail: String,
    },
    /// The partner's log forked: its checkpoint is not consistent with the one we accepted.
    /// Both checkpoints and the failed proof were kept as evidence.
    #[error("{partner}'s log FORKED: its checkpoint of size {size} is not consistent with the checkpoint of size {previous} we accepted ({failure}); refused, not cosigned, evidence kept")]
    Forked {
        /// The partner.
        partner: Party,
        /// The size of the checkpoint refused.
        size: u64,
        /// The size of the checkpoint accepted before.
        previous: u64,
        /// Why the two are not consistent.
        failure: String,
    },
    /// The log's own computation failed (a tree, tile, fork check or cosignature).
    #[error("{0}")]
    Log(String),
    /// Sending something to the partner failed.
    #[error("sending {what} to {partner}")]
    Send {
        /// What was being sent.
        what: &'static str,
        /// The partner.
        partner: Party,
        /// Why.
        #[source]
        source: ClientError,
    },
    /// Private matching with the partner failed or was refused before anything was asked.
    #[error("matching with {partner}: {detail}")]
    Matching {
        /// The partner.
        partner: Party,
        /// What went wrong.
        detail: String,
    },
    /// The partner's terms for us were refused (bad signature, other text, malformed).
    #[error("{partner}'s agreement terms for us")]
    Terms {
        /// The partner.
        partner: Party,
        /// Why.
        #[source]
        source: ReleaseError,
    },
    /// The partner answered something the protocol does not allow.
    #[error("{partner}'s {what}: {detail}")]
    Protocol {
        /// The partner.
        partner: Party,
        /// Which answer.
        what: String,
        /// What is wrong with it.
        detail: String,
    },
}

impl From<TreeError> for ExchangeError {
    fn from(e: TreeError) -> Self {
        ExchangeError::Log(e.to_string())
    }
}

impl From<ForkError> for ExchangeError {
    fn from(e: ForkError) -> Self {
        ExchangeError::Log(e.to_string())
    }
}

impl From<CosignatureError> for ExchangeError {
    fn from(e: CosignatureError) -> Self {
        ExchangeError::Log(e.to_string())
    }
}
