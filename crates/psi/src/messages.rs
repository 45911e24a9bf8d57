//! The protocol's messages as typed values (serde). Elements travel as their 32-byte
//! RFC 9497 encodings and are parsed into group elements at the edge, where a malformed one
//! is refused by position.

use serde::{Deserialize, Serialize};
use xorf::BinaryFuse16;

/// An epoch: keys rotate, budgets reset and sets are re-evaluated at each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EpochId(pub u64);

/// A serialised ristretto255 element (RFC 9497 `SerializeElement`, 32 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Element(pub [u8; 32]);

/// The holder's public key for one asker and epoch (`pkS`, RFC 9497 §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicKey(pub [u8; 32]);

/// A DLEQ proof (RFC 9497 §2.2): the scalars `c` and `s`, 32 bytes each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proof {
    /// The challenge scalar.
    pub c: [u8; 32],
    /// The response scalar.
    pub s: [u8; 32],
}

/// What the holder publishes to one asker per epoch: its key and its own selectors,
/// evaluated and padded, as two filters.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EpochSet {
    /// The epoch.
    pub epoch: EpochId,
    /// The holder's normaliser version.
    pub normaliser_version: u32,
    /// The key the holder evaluates under for this asker and epoch.
    pub public_key: PublicKey,
    /// Elements in each filter: the holder's set size padded to a power of two.
    pub padded_size: u64,
    /// Fingerprints (label `filter`) of the holder's OPRF outputs.
    pub filter: BinaryFuse16,
    /// Independent fingerprints (label `confirm`) of the same outputs.
    pub confirm: BinaryFuse16,
}

/// The asker's blinded selectors, padded with blinded dummies to a power of two.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvaluationRequest {
    /// The epoch the asker matches against.
    pub epoch: EpochId,
    /// The asker's normaliser version.
    pub normaliser_version: u32,
    /// Blinded elements.
    pub blinded: Vec<Element>,
}

/// The holder's evaluation of a request, with a proof that the epoch's key was used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvaluationResponse {
    /// The epoch.
    pub epoch: EpochId,
    /// Evaluated elements, in request order.
    pub evaluated: Vec<Element>,
    /// The batch DLEQ proof over all of them.
    pub proof: Proof,
}

#[cfg(test)]
impl Proof {
    /// `c ‖ s`, as `voprf` serialises a proof.
    pub(crate) fn from_slice(bytes: &[u8]) -> Option<Self> {
        let (c, s) = bytes.split_at_checked(32)?;
        Some(Self {
            c: c.try_into().ok()?,
            s: s.try_into().ok()?,
        })
    }
}
