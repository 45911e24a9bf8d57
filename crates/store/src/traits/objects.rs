//! The objects a node holds: its identity, every version of every object as received (ingest,
//! reads, scans, deletion of a source's versions), the change counter views are cached on,
//! and the objects the trust boundary refused.

use crate::error::StoreError;
use crate::record::{IndexRow, IngestReport, NewObject, NodeRecord, RefusalRecord, Stored};

/// Objects and versions. Implementations must make [`ObjectStore::ingest`] atomic and keep
/// versions by (`id`, version) unique.
pub trait ObjectStore {
    /// The node's own identity, once `init` has run.
    fn node(&self) -> Result<Option<NodeRecord>, StoreError>;

    /// Records the node's identity; refuses to change the party of an initialised node.
    fn init_node(&mut self, node: &NodeRecord) -> Result<(), StoreError>;

    /// Adds a batch of objects atomically. An exact duplicate of a stored version is not an
    /// error. Ownership is enforced here, in the same transaction: a version of an id whose
    /// first stored version came from another `source`, and a marking-definition under a held
    /// id with other content, are refused one by one ([`IngestReport::refused`]) and the rest
    /// goes in. Otherwise a different object under the same id and version refuses the whole
    /// batch ([`StoreError::Conflict`]).
    /// `progress` is called with the number of objects written so far.
    fn ingest(
        &mut self,
        batch: &[NewObject<'_>],
        source: &str,
        progress: &mut dyn FnMut(u64),
    ) -> Result<IngestReport, StoreError>;

    /// The newest version of an object.
    fn latest(&self, id: &str) -> Result<Option<Stored>, StoreError>;

    /// Every version of an object, oldest first.
    fn versions(&self, id: &str) -> Result<Vec<Stored>, StoreError>;

    /// The newest version of every object, in the order they were added.
    fn scan_latest(
        &self,
        f: &mut dyn FnMut(Stored) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;

    /// The newest version of up to `limit` objects whose newest version was stored after
    /// `after` and no later than `upto` (storage order, `seq`), in that order: a scan taken
    /// slice by slice, each slice a statement of its own (a view computed whole writes
    /// between slices).
    fn latest_between(
        &self,
        after: i64,
        upto: i64,
        limit: usize,
    ) -> Result<Vec<Stored>, StoreError>;

    /// The storage order (`seq`) of the newest version stored, 0 when nothing is.
    fn last_seq(&self) -> Result<i64, StoreError>;

    /// [`ObjectStore::scan_index`]'s row of the newest version of each of `ids` that is
    /// held (in no particular order): one lookup each, whatever the holdings.
    fn index_rows(&self, ids: &[&str]) -> Result<Vec<IndexRow>, StoreError>;

    /// What the label engine needs of the newest version of every object, without bodies.
    fn scan_index(&self, f: &mut dyn FnMut(IndexRow)) -> Result<(), StoreError>;

    /// Every version received from `source` (a partner's party, or `local`), in storage order.
    fn scan_source(
        &self,
        source: &str,
        f: &mut dyn FnMut(Stored) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;

    /// How many objects (newest versions) and versions are held.
    fn counts(&self) -> Result<(u64, u64), StoreError>;

    /// A number that changes whenever objects, partners, consents or credentials change,
    /// whether this process or another one made the change (views are cached on it).
    fn generation(&self) -> Result<u64, StoreError>;

    /// Sets this connection up for a bulk load (`liaison ingest`): a larger cache of the
    /// database in memory, and a longer wait for other writers (a server's upkeep writes a
    /// transaction per partner after each batch it sees: a batch job waits its turn rather
    /// than fail). A backend that has neither of its own (PostgreSQL) ignores it.
    fn prepare_bulk_load(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Deletes versions of `id` that came from `source`: all of them when `versions` is None,
    /// else those whose version key is listed (the key is `Timestamp::sort_key()` of the
    /// object's `modified`, else `created`, else the empty string — the same key ingest
    /// uses). The newest remaining version (from any source) becomes the latest again.
    /// Returns how many versions were deleted. Atomic.
    fn delete_versions(
        &mut self,
        source: &str,
        id: &str,
        versions: Option<&[String]>,
    ) -> Result<u64, StoreError>;

    /// Keeps objects the trust boundary refused (their `seq` is ignored).
    fn add_refusals(&mut self, refusals: &[RefusalRecord]) -> Result<(), StoreError>;

    /// Refusals kept, oldest first, after `after` (a `seq`), at most `limit`; only those sent
    /// by `sender` when given.
    fn refusals(
        &self,
        sender: Option<&str>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<RefusalRecord>, StoreError>;
}
