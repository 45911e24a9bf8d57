//! Storage for a liaison node: every version of every object exactly as received, with the
//! time it was added and where it came from; partners' agreements; consents. The [`Store`]
//! trait is what the release pipeline sees; [`SqliteStore`] is the embedded default and
//! [`PgStore`] the PostgreSQL backend for deployments; [`AnyStore`] is either, chosen at start.
//! Each backend versions its schema as an ordered list of migration steps (`STEPS` in
//! `sqlite.rs` and `postgres.rs`), run when a store is opened.
//! Invariant: a batch is written whole or not at all.
#![deny(missing_docs)]

mod any;
mod copy;
mod error;
mod operators;
mod postgres;
mod record;
pub mod releases;
mod sqlite;

pub use any::AnyStore;
pub use copy::TableDigest;
pub use error::StoreError;
pub use operators::{AuditRecord, OperatorRecord, OperatorStore};
pub use postgres::{check_postgres_url, PgStore};
pub use record::{
    AgreementNoteRecord, ConsentRecord, ForkRecord, HoldRecord, IndexRow, IngestReport, LogOpening,
    MatchCharge, MatchUsage, NewObject, NodeRecord, PartnerRecord, Refusal, RefusalKind,
    RefusalRecord, Stored, ViewRow, ViewState,
};
pub use sqlite::SqliteStore;

/// What a log append writes along with its entries, in the same transaction.
#[derive(Clone, Copy)]
pub(crate) enum Along<'a> {
    /// Nothing else.
    Nothing,
    /// Keys entering a partner's view: (partner, [(id, version)]).
    Releases(&'a str, &'a [(String, String)]),
    /// A matching request charged to its partner's budget.
    Match(&'a MatchCharge),
}

/// What the release pipeline needs from storage. Implementations must make [`Store::ingest`]
/// atomic and keep versions by (`id`, version) unique. Operator accounts and the audit list
/// are kept through [`OperatorStore`].
pub trait Store: OperatorStore {
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
    /// What the label engine needs of the newest version of every object, without bodies.
    fn scan_index(&self, f: &mut dyn FnMut(IndexRow)) -> Result<(), StoreError>;
    /// How many objects (newest versions) and versions are held.
    fn counts(&self) -> Result<(u64, u64), StoreError>;

    /// Adds or replaces a partner's agreement.
    fn put_partner(&mut self, partner: &PartnerRecord) -> Result<(), StoreError>;
    /// One partner.
    fn partner(&self, party: &str) -> Result<Option<PartnerRecord>, StoreError>;
    /// Every partner, by party.
    fn partners(&self) -> Result<Vec<PartnerRecord>, StoreError>;

    /// Records a consent.
    fn add_consent(&mut self, consent: &ConsentRecord) -> Result<(), StoreError>;
    /// Every consent on record.
    fn consents(&self) -> Result<Vec<ConsentRecord>, StoreError>;
    /// Records a consent with the signed note it was accepted from (C2SP signed-note text).
    fn add_signed_consent(
        &mut self,
        consent: &ConsentRecord,
        signed: &str,
    ) -> Result<(), StoreError>;
    /// Every consent on record with its signed note (`None` for a consent recorded unsigned).
    fn signed_consents(&self) -> Result<Vec<(ConsentRecord, Option<String>)>, StoreError>;

    /// Places a release officer's hold; `false` (and nothing written) if one already stands
    /// on the same object for the same partner. Only our own operators place holds: nothing
    /// a partner sends reaches this.
    fn add_hold(&mut self, hold: &HoldRecord) -> Result<bool, StoreError>;
    /// Lifts the hold on `object` for `partner`, returning it (`None`: none stood).
    fn lift_hold(&mut self, object: &str, partner: &str) -> Result<Option<HoldRecord>, StoreError>;
    /// The holds standing, for one partner or all, by partner, then when placed.
    fn holds(&self, partner: Option<&str>) -> Result<Vec<HoldRecord>, StoreError>;

    /// When each (id, version) first entered `partner`'s view: the recorded time for those
    /// seen before, a new time for the others (strictly increasing per partner, after every
    /// earlier one), recorded in one transaction. Aligned with `keys`.
    fn release_times(
        &mut self,
        partner: &str,
        keys: &[(String, String)],
    ) -> Result<Vec<liaison_stix::Timestamp>, StoreError> {
        Ok(self
            .record_releases(partner, keys)?
            .into_iter()
            .map(|(t, _)| t)
            .collect())
    }

    /// Every (id, version, first time) that entered `partner`'s view, oldest first: what
    /// was delivered to it.
    fn releases(&self, partner: &str) -> Result<Vec<(String, String, String)>, StoreError>;
    /// Which of `ids` (our ids, distinct) each of `partners` received, in any version: for
    /// each partner, aligned, the indices into `ids` of those it received, ascending. One
    /// aggregate over the releases of those ids (what `liaison trace` asks of a leak), not a
    /// read of every partner's whole delivery history.
    fn received_among(
        &self,
        partners: &[&str],
        ids: &[&str],
    ) -> Result<Vec<Vec<usize>>, StoreError>;
    /// Remembers the ids copies went to `partner` under: (delivered id, our id) pairs, each
    /// kept once (fingerprinting remaps ids per recipient; see crates/release).
    fn add_delivered_ids(
        &mut self,
        partner: &str,
        pairs: &[(String, String)],
    ) -> Result<(), StoreError>;
    /// Of `ids`, those we delivered to a partner: (delivered id, partner, our id).
    fn delivered_ids(&self, ids: &[&str]) -> Result<Vec<(String, String, String)>, StoreError>;
    /// When each of `keys` ((id, version)) entered `partner`'s view, if it did; aligned.
    fn released_at(
        &self,
        partner: &str,
        keys: &[(String, String)],
    ) -> Result<Vec<Option<String>>, StoreError>;
    /// How many delivered ids are remembered for `partner`.
    fn delivered_id_count(&self, partner: &str) -> Result<u64, StoreError>;
    /// Whether (id, version key) entered `partner`'s view: one lookup, not a scan.
    fn was_released(&self, partner: &str, id: &str, version: &str) -> Result<bool, StoreError>;

    /// A number that changes whenever objects, partners, consents or credentials change,
    /// whether this process or another one made the change (views are cached on it).
    fn generation(&self) -> Result<u64, StoreError>;
    /// Sets a partner's credential: an Argon2 PHC string (the secret itself is never stored).
    fn set_credential(&mut self, party: &str, phc: &str) -> Result<(), StoreError>;
    /// A partner's credential, if one is set.
    fn credential(&self, party: &str) -> Result<Option<String>, StoreError>;
    /// Every version received from `source` (a partner's party, or `local`), in storage order.
    fn scan_source(
        &self,
        source: &str,
        f: &mut dyn FnMut(Stored) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;
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

    /// Like [`Store::release_times`], and says for each key whether it entered the view just
    /// now (a new time was recorded) rather than before.
    fn record_releases(
        &mut self,
        partner: &str,
        keys: &[(String, String)],
    ) -> Result<Vec<(liaison_stix::Timestamp, bool)>, StoreError>;

    // The node's transparency log. Entries are numbered from 0; the tree's stored hashes
    // (RFC 6962, in the linear order of `liaison_log::stored_hash_index`) are numbered from 0
    // too. Appends are atomic and durable when they return; log writes do not change
    // [`Store::generation`] (views do not depend on them).

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
    /// [`Store::log_append`] and the release of `keys` to `partner` (each (id, version)
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
    /// [`Store::log_append`] and a private-matching request charged to its partner's budget
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
    /// Keeps an agreement's signed note, replacing the one kept for its partner and side.
    fn put_agreement_note(&mut self, note: &AgreementNoteRecord) -> Result<(), StoreError>;
    /// The agreement note kept for `partner` and `side` (`ours` or `theirs`).
    fn agreement_note(
        &self,
        partner: &str,
        side: &str,
    ) -> Result<Option<AgreementNoteRecord>, StoreError>;
    /// The opening of entry `index`, if one was kept.
    fn log_opening(&self, index: u64) -> Result<Option<LogOpening>, StoreError>;
    /// Every opening that concerns `party`, by index: (index, opening).
    fn log_openings_for(&self, party: &str) -> Result<Vec<(u64, LogOpening)>, StoreError>;
    /// The number of entries in the log.
    fn log_size(&self) -> Result<u64, StoreError>;
    /// The stored hashes at `indexes`, in order; a missing one is an error.
    fn log_hashes(&self, indexes: &[u64]) -> Result<Vec<[u8; 32]>, StoreError>;
    /// The entries `start..end` (clipped to the log's size), in order.
    fn log_entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, StoreError>;
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
    /// Sets a partner's public key of `kind` (`log`: its checkpoint verifier key; `cosigner`:
    /// the key it cosigns our checkpoints with), as the operator gave it.
    fn set_partner_key(&mut self, party: &str, kind: &str, key: &str) -> Result<(), StoreError>;
    /// A partner's public key of `kind`.
    fn partner_key(&self, party: &str, kind: &str) -> Result<Option<String>, StoreError>;

    // Maintained views (crates/release `maintain`): the change feed that ingest and
    // deletions write, each partner's stored view and what it is maintained through, and the
    // references between held objects (which objects a change can affect through cuts).

    /// The number of the newest change recorded (0 when none): [`Store::ingest`] records the
    /// id of every version it adds and [`Store::delete_versions`] the id of every version it
    /// deletes (and the ids that version derived or was the tear line of), in their own
    /// transaction, numbered in commit order.
    fn change_head(&self) -> Result<i64, StoreError>;
    /// The changes after `after`, oldest first, at most `limit`: (number, id).
    fn changes_since(&self, after: i64, limit: usize) -> Result<Vec<(i64, String)>, StoreError>;
    /// What `partner`'s stored view is maintained through, if it has one.
    fn view_state(&self, partner: &str) -> Result<Option<ViewState>, StoreError>;
    /// Writes `partner`'s stored view in one transaction: every row first removed when
    /// `replace` (a full recomputation), else the rows of `remove` (our ids); then `rows`
    /// written (a row of the same original replaced); then its state set.
    fn write_view(
        &mut self,
        partner: &str,
        state: &ViewState,
        replace: bool,
        remove: &[String],
        rows: &[ViewRow],
    ) -> Result<(), StoreError>;
    /// The rows of `partner`'s view whose original is one of `originals`.
    fn view_rows(&self, partner: &str, originals: &[String]) -> Result<Vec<ViewRow>, StoreError>;
    /// Up to `limit` rows of `partner`'s view added strictly after `after_micros`, by
    /// (`date_added`, delivered id): one index range, whatever the holdings.
    fn view_page(
        &self,
        partner: &str,
        after_micros: i64,
        limit: usize,
    ) -> Result<Vec<ViewRow>, StoreError>;
    /// The row `partner` received under `delivered`, if its view holds one.
    fn view_row_delivered(
        &self,
        partner: &str,
        delivered: &str,
    ) -> Result<Option<ViewRow>, StoreError>;
    /// Every marking-definition the intelligence rows of `partner`'s view refer to, sorted,
    /// counting only rows whose original is not in `excluding` (one index seek per marking).
    fn view_marks(&self, partner: &str, excluding: &[String]) -> Result<Vec<String>, StoreError>;
    /// The change the reference index reflects (`None`: never built).
    fn refs_through(&self) -> Result<Option<i64>, StoreError>;
    /// Replaces the references of each of `ids` by those in `pairs` ((referrer, referenced));
    /// with `replace`, every reference first. Then records the index as built `through`.
    fn write_refs(
        &mut self,
        through: i64,
        replace: bool,
        ids: &[String],
        pairs: &[(String, String)],
    ) -> Result<(), StoreError>;
    /// Whether a change after `after` concerns an id starting with `prefix` (a type's
    /// `type--`): reads the pending changes only.
    fn changed_since(&self, after: i64, prefix: &str) -> Result<bool, StoreError>;
    /// The objects that refer to any of `ids` (by `*_ref`, `*_refs` or a relationship's ends),
    /// each once, sorted.
    fn referrers(&self, ids: &[String]) -> Result<Vec<String>, StoreError>;

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
