//! Curated intelligence, pure (no I/O): how much a piece of intelligence is worth and why
//! (DESIGN.md, "Curated intelligence"). Every figure comes with what it is made of.
//!
//! - Admiralty factors and ranks ([`grading_factor`], [`rank`]): F and 6 "cannot be judged",
//!   neutral in value and never ranked as worst. The reciprocity ledger uses these factors.
//! - [`Item`]s and the [`Engine`]: two items are not independent when they share an
//!   originator (ours for an item carrying our marks), rest on a common `derived-from`
//!   ancestor, or have near-duplicate text ([`Signature`], MinHash with LSH bands). Items
//!   arrive one at a time ([`Engine::add`] returns an [`Update`]); the result is a function of
//!   the set of items, the same as [`Engine::from_items`] from scratch.
//! - [`Corroboration`]: the independent sources of a [`Claim`], with a [`Reason`] code for each
//!   item and the item it was relayed from; [`Engine::assess`] for one item.
//! - [`Echo`]: circular reporting, an item from a partner that is our own reporting or an item
//!   already held from its true source, with the [`Evidence`].
//! - [`track_record`]: a partner's gradings and outcomes per period, every rate with its counts.
//! - [`Framing`]: the characterisations a partner alone gives ([`Engine::framing`]).
//!
//! The caller (crates/release) builds items from stored objects; this crate reads nothing.
#![deny(missing_docs)]

mod admiralty;
mod corroboration;
mod dependence;
mod engine;
mod error;
mod framing;
mod item;
mod record;
mod similarity;
mod unionfind;

pub use admiralty::{
    compare_credibility, compare_reliability, credibility_factor, credibility_rank, grading_factor,
    rank, reliability_factor, reliability_rank, Ranked,
};
pub use corroboration::{Assessment, Cluster, Corroboration, Member};
pub use dependence::{Evidence, Reason};
pub use engine::{ClaimChange, Echo, EchoChange, EchoKind, Engine, Update};
pub use error::GradingError;
pub use framing::{Divergence, FramedEntity, Framing};
pub use item::{Claim, Item, Property};
pub use record::{
    track_record, Graded, Outcome, OutcomeEvent, Period, PeriodRecord, Rate, TrackRecord,
};
pub use similarity::{
    near_duplicate, Signature, BANDS, MIN_SHINGLES, NEAR_DUPLICATE, PERMUTATIONS,
};
