//! Per-recipient fingerprints, pure (no I/O): the mark families of DESIGN.md "Fingerprinting
//! and leak tracing" (ids, and the order and form variants that carry a Tardos code) and the
//! accusation that traces a leaked copy back.
//!
//! - [`remap`]: identifier remapping. The ids a recipient receives are a keyed function of
//!   (recipient, original id); a leaked id names its recipient exactly via a [`RemapIndex`].
//!   [`keeps_id`] says which ids are never remapped, and why.
//! - [`TardosCode`]: a binary Tardos code with a secret bias vector, one [`Codeword`] per
//!   recipient over an open-ended stream of positions.
//! - [`accuse`]: the symmetric score of every recipient over the positions it received, its
//!   own Chernoff threshold, the agreement of the families, and a Monte-Carlo p-value for each
//!   recipient accused.
//! - [`Embedder`]: puts the marks on a copy (ids remapped, the order of freely ordered lists
//!   and the written form of free-form timestamps chosen by the recipient's codeword bits) and
//!   reads them back off a leaked object into [`Observation`]s; [`normalise`] gives the form
//!   in which a marked copy and its original compare equal.
//!
//! The release pipeline (crates/release) calls this crate on every delivery and for
//! `liaison trace`, and logs the key's commitment and the code's design; this crate calls
//! nothing.
//!
//! References: G. Tardos, "Optimal probabilistic fingerprint codes", STOC 2003 / J. ACM 2008;
//! B. Škorić, T. Vladimirova, M. Celik, J. Talstra, "Tardos fingerprinting is better than we
//! thought", IEEE Trans. Inf. Theory 54(8), 2008; T. Laarhoven, B. de Weger, "Optimal
//! symmetric Tardos traitor tracing schemes", Des. Codes Cryptogr. 71, 2014.
#![deny(missing_docs)]

mod accuse;
mod embed;
mod error;
mod key;
mod recipient;
mod remap;
mod tardos;

pub use accuse::{
    accuse, Accusation, AccuseOptions, Accused, Delivered, Family, FamilyScore, Observation,
    Positions, RecipientScore,
};
pub use embed::{
    may_mark, normalise, rewrite_ids, Embedder, Readout, Slot, FREE_FORM_TIMESTAMPS, ORDERED_FREELY,
};
pub use error::FingerprintError;
pub use key::FingerprintKey;
pub use recipient::Recipient;
pub use remap::{deliver_id, keeps_id, remap, RemapIndex, Unmapped};
pub use tardos::{symmetric_score, CodeParams, Codeword, TardosCode};
