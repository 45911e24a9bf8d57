//! The node's transparency log. Entries are numbered from 0; the tree's stored hashes
//! (RFC 6962, in the linear order of `liaison_log::stored_hash_index`) are numbered from 0
//! too. Appends are atomic and durable when they return; log writes do not change
//! [`ObjectStore::generation`](crate::ObjectStore::generation) (views do not depend on them).
//! Beside the log: checkpoints, partners' cosignatures on ours, the partners' checkpoints we
//! accepted, evidence of their forks, and the matching budget charged with log entries.

use crate::error::StoreError;
use crate::record::{ForkRecord, LogOpening, MatchCharge, MatchUsage};

/// The transparency log and what is kept beside it.
pub trait LogStore {
    /// Appends `entries` (the published commitments) at the end of the log, with their
    /// private `openings` (aligned with `entries`, or empty) and the stored hashes they add
    /// (computed by the caller with `liaison_log::hashes_to_store`; their indexes must
    /// continue the stored hashes without a gap). One transaction, synced to disk before it
    /// returns. Returns the new size. [`StoreError::LogMoved`] if the log grew since the
    /// caller read it.
    fn log_append(
        &mut self,
        entries: &[Vec<u8>],
        openings: &[LogOpening],
        hashes: &[(u64, [u8; 32])],
    ) -> Result<u64, StoreError>;

    /// [`LogStore::log_append`] and the release of `keys` to `partner` (each (id, version)
    /// entering its view now, none recorded before) in one durable transaction, so that a
    /// delivery is never recorded without its log entries nor logged without being recorded.
    /// Returns the time each key entered the view (strictly increasing per partner, after
    /// every earlier one), aligned with `keys`. [`StoreError::LogMoved`] if the log grew
    /// since the caller read it, [`StoreError::ReleasesMoved`] if a key was recorded
    /// meanwhile; nothing is written then.
    fn log_append_releases(
        &mut self,
        partner: &str,
        keys: &[(String, String)],
        entries: &[Vec<u8>],
        openings: &[LogOpening],
        hashes: &[(u64, [u8; 32])],
    ) -> Result<Vec<liaison_stix::Timestamp>, StoreError>;

    /// [`LogStore::log_append`] and a private-matching request charged to its partner's budget
    /// in one durable transaction: refused, with nothing written, when the same request was
    /// answered before ([`StoreError::MatchReplayed`]) or the epoch's budget cannot cover it
    /// ([`StoreError::MatchBudget`]). Several processes charging at once cannot overspend:
    /// the check and the charge happen under the log's write lock. Returns the new size.
    fn log_append_match(
        &mut self,
        charge: &MatchCharge,
        entries: &[Vec<u8>],
        openings: &[LogOpening],
        hashes: &[(u64, [u8; 32])],
    ) -> Result<u64, StoreError>;

    /// What `partner` has spent of its matching budget in `epoch`.
    fn match_usage(&self, partner: &str, epoch: u64) -> Result<MatchUsage, StoreError>;

    /// The number of entries in the log.
    fn log_size(&self) -> Result<u64, StoreError>;

    /// The stored hashes at `indexes`, in order; a missing one is an error.
    fn log_hashes(&self, indexes: &[u64]) -> Result<Vec<[u8; 32]>, StoreError>;

    /// The entries `start..end` (clipped to the log's size), in order.
    fn log_entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, StoreError>;

    /// The opening of entry `index`, if one was kept.
    fn log_opening(&self, index: u64) -> Result<Option<LogOpening>, StoreError>;

    /// Every opening that concerns `party`, by index: (index, opening).
    fn log_openings_for(&self, party: &str) -> Result<Vec<(u64, LogOpening)>, StoreError>;

    /// Keeps a signed checkpoint of our log at `size`; one already kept for `size` stays (a
    /// size is signed once).
    fn put_checkpoint(&mut self, size: u64, note: &str) -> Result<(), StoreError>;

    /// The signed checkpoint of our log at `size`, if one was kept.
    fn checkpoint_at(&self, size: u64) -> Result<Option<String>, StoreError>;

    /// The signed checkpoint of the largest size kept: (size, note).
    fn latest_checkpoint(&self) -> Result<Option<(u64, String)>, StoreError>;

    /// Keeps a partner's cosignature line on our checkpoint of `size` (one per cosigner and
    /// size; a newer one replaces it).
    fn add_cosignature(&mut self, size: u64, cosigner: &str, line: &str) -> Result<(), StoreError>;

    /// The cosignatures on our checkpoint of `size`: (cosigner, line), by cosigner.
    fn cosignatures(&self, size: u64) -> Result<Vec<(String, String)>, StoreError>;

    /// Every cosigner's newest cosignature: (cosigner, size, line), by cosigner.
    fn latest_cosignatures(&self) -> Result<Vec<(String, u64, String)>, StoreError>;

    /// Records the partner's checkpoint we last accepted (verified and consistent).
    fn put_partner_checkpoint(
        &mut self,
        party: &str,
        size: u64,
        note: &str,
    ) -> Result<(), StoreError>;

    /// The partner's checkpoint we last accepted: (size, note).
    fn partner_checkpoint(&self, party: &str) -> Result<Option<(u64, String)>, StoreError>;

    /// Keeps evidence that a partner's log forked (a JSON document).
    fn add_fork_evidence(&mut self, party: &str, evidence: &str) -> Result<(), StoreError>;

    /// Every piece of fork evidence about `party`, oldest first.
    fn fork_evidence(&self, party: &str) -> Result<Vec<ForkRecord>, StoreError>;
}
