//! Fork detection between two signed checkpoints of one log. A log that shows one party a
//! tree that is not a prefix of what it showed before has forked (or rolled back); the two
//! signed checkpoints and the proof that failed are the evidence, kept to show others.

use tlog_tiles::Hash;

use crate::checkpoint::SignedCheckpoint;
use crate::error::{ForkError, ProofError};
use crate::tree::verify_consistency;

/// The outcome of comparing a previously accepted checkpoint with a new one.
#[derive(Debug, Clone, PartialEq)]
pub enum Consistency {
    /// The new checkpoint extends (or equals) the previous one.
    Consistent,
    /// It does not; here is the evidence.
    Inconsistent(Box<ForkEvidence>),
}

/// Two signed checkpoints of one log that cannot both be honest views of an append-only
/// log, and the proof that failed (absent if none was given).
#[derive(Debug, Clone, PartialEq)]
pub struct ForkEvidence {
    previous: SignedCheckpoint,
    current: SignedCheckpoint,
    proof: Option<Vec<Hash>>,
    failure: ProofError,
}

impl ForkEvidence {
    /// The checkpoint accepted before.
    pub fn previous(&self) -> &SignedCheckpoint {
        &self.previous
    }

    /// The checkpoint offered now.
    pub fn current(&self) -> &SignedCheckpoint {
        &self.current
    }

    /// The consistency proof that was offered, if any.
    pub fn proof(&self) -> Option<&[Hash]> {
        self.proof.as_deref()
    }

    /// Why they are inconsistent: [`ProofError::RootMismatch`] (same size, other root: a
    /// fork shown by the signatures alone), [`ProofError::Truncated`] (the log shrank),
    /// [`ProofError::ConsistencyMismatch`] or [`ProofError::ProofTooLong`] (the proof
    /// fails), [`ProofError::ProofMissing`] (the log gave none).
    pub fn failure(&self) -> &ProofError {
        &self.failure
    }

    /// Whether the two signatures alone prove misbehaviour, without trusting any proof:
    /// two roots for one size, or a log that shrank.
    pub fn is_conclusive(&self) -> bool {
        matches!(
            self.failure,
            ProofError::RootMismatch { .. } | ProofError::Truncated { .. }
        )
    }
}

/// Checks that `current` extends `previous` (RFC 6962, section 2.1.2), using `proof` from
/// `previous.size` to `current.size` when the sizes differ.
///
/// # Errors
/// [`ForkError::OriginMismatch`] if the checkpoints are of different logs (that is a
/// caller's mistake, not evidence).
pub fn check_consistency(
    previous: &SignedCheckpoint,
    current: &SignedCheckpoint,
    proof: Option<&[Hash]>,
) -> Result<Consistency, ForkError> {
    let (old, new) = (previous.checkpoint(), current.checkpoint());
    if old.origin() != new.origin() {
        return Err(ForkError::OriginMismatch(
            old.origin().to_owned(),
            new.origin().to_owned(),
        ));
    }
    let result = match proof {
        None if old.size() != new.size() && old.size() != 0 && new.size() > old.size() => {
            Err(ProofError::ProofMissing {
                old: old.size(),
                new: new.size(),
            })
        }
        _ => verify_consistency(
            old.size(),
            old.root(),
            new.size(),
            new.root(),
            proof.unwrap_or_default(),
        ),
    };
    Ok(match result {
        Ok(()) => Consistency::Consistent,
        Err(failure) => Consistency::Inconsistent(Box::new(ForkEvidence {
            previous: previous.clone(),
            current: current.clone(),
            proof: proof.map(<[Hash]>::to_vec),
            failure,
        })),
    })
}
