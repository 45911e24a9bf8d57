//! Private matching of selectors between partners, as pure values and functions: RFC 9497
//! VOPRF on ristretto255-SHA512 (the `voprf` crate; its batch proof by multiscalar
//! multiplication in `dleq`), padded sets, the holder's precomputed
//! set as binary fuse filters, and budgets. No I/O: the caller moves the messages.
//!
//! The flow, per asker and epoch:
//! 1. the holder derives the asker's key ([`HolderKey::derive`]), evaluates its own
//!    normalised selectors under it and publishes an [`EpochSet`] (public key, padded
//!    filters; the public key and the filter hash go into the transparency log);
//! 2. the asker blinds its selectors, padded with dummies to a power of two
//!    ([`Query::new`] → [`EvaluationRequest`]; additively, with RFC 9497's outputs: why in
//!    `dleq::BlindKind`);
//! 3. the holder checks epoch, normaliser version, size and budget, and evaluates
//!    ([`HolderKey::evaluate`] → [`EvaluationResponse`] with a DLEQ proof);
//! 4. the asker verifies the proof against the epoch's public key, unblinds, and looks
//!    each output up in the filter, confirming hits in the second filter ([`Query::finish`]).
//!
//! **Askers cannot pool budgets** because each asker has its own key per epoch: the key pair
//! is RFC 9497 `DeriveKeyPair(seed = master secret, info = "liaison-psi/1" ‖ epoch ‖ asker)`
//! (§3.2.1). Outputs under one asker's key say nothing about another's, so a budget spent by
//! one asker cannot be topped up by a colluding one. We chose this over POPRF because the
//! holder's set is per asker anyway (it holds only what the policy releases to that asker),
//! so a key per asker costs no extra evaluations, and plain VOPRF keeps the logged public
//! key a single value per asker and epoch.
//!
//! **Filters**: two binary fuse filters with 16-bit fingerprints over two independent 64-bit
//! fingerprints of each OPRF output (SHA-256 under the labels `filter` and `confirm`). A
//! selector matches only if both contain it. Each has a false-positive rate of about 2^-16
//! (0.0015 %); independent, a non-member passes both with probability about 2^-32. The
//! confirm filter is the confirm step: it is local, because a confirm round trip would show
//! the holder which of its selectors matched, and the holder must learn only the count.
//! Size: about 2 × 18 bits per padded element; the holder's set is padded to
//! [`holder_bucket`] (within 12.5 %), so 10^7 selectors make about 47 MB.
#![deny(missing_docs)]

mod asker;
mod budget;
mod codec;
mod dleq;
mod error;
mod filter;
mod holder;
mod messages;
mod parallel;

pub use asker::Query;
pub use budget::{Budget, Limits, MAX_REQUEST};
pub use error::PsiError;
pub use filter::{bucket, holder_bucket, FALSE_POSITIVE_RATE};
pub use holder::{HolderKey, MasterSecret};
pub use messages::{
    Element, EpochId, EpochSet, EvaluationRequest, EvaluationResponse, Proof, PublicKey,
};

/// The RFC 9497 ciphersuite: ristretto255 with SHA-512.
pub(crate) type Suite = voprf::Ristretto255;
