//! The embedded default backend: one SQLite file in the node's home, WAL mode. Objects are
//! stored as their received text; the columns beside the text are what the label engine
//! reads without parsing bodies.
//!
//! Layout (schema 2), chosen so that bulk ingest stays fast as the store grows: `objects` is
//! appended to in `seq` order, and the only B-tree with random inserts is `objects_k`, over
//! a 64-bit hash of the id (`k`, a lookup hint, not unique: the id itself is compared). That
//! index is small (about 20 bytes an entry), so a batch dirties few pages of it. Uniqueness
//! of (id, version), duplicates and conflicts are decided here, in the ingest transaction
//! (taken `IMMEDIATE`, so writers are serialised), by reading the rows of the id. `latest`
//! marks the newest version of each id; the partial index `objects_latest` lists those rows
//! in `seq` order (appended to on ingest; an entry moves only when a newer version arrives).
//!
//! [`ObjectStore::generation`] is `PRAGMA data_version` (which changes when another connection
//! commits) plus a count of this connection's own content-changing commits.

use std::path::Path;

use liaison_stix::{StixObject, Timestamp};
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction, TransactionBehavior};

use crate::error::StoreError;
use crate::pairs::{PairIndex, CONTENT_KEYS, REFS};
use crate::prelude::*;
use crate::record::{
    AgreementNoteRecord, AuditRecord, ConsentRecord, ForkRecord, HoldRecord, IndexRow,
    IngestReport, LogOpening, MatchCharge, MatchUsage, NewObject, NodeRecord, OperatorRecord,
    PartnerRecord, Refusal, RefusalKind, RefusalRecord, Stored, ViewRow, ViewState,
};
use crate::releases::{self, Released};
use crate::rows::{self, CONSENTS, INDEX_COLUMNS, STORED_COLUMNS, VIEW_COLUMNS};
use crate::Along;
use rustc_hash::FxHashMap;

/// One migration step: takes the schema from the step before it to version `to`, inside the
/// setup transaction (taken `IMMEDIATE`), which also records `to` in `PRAGMA user_version`.
struct Step {
    to: i64,
    run: fn(&Transaction<'_>) -> Result<(), StoreError>,
}

/// The schema's history after [`BASELINE_VERSION`], oldest first. A new file gets [`SCHEMA`]
/// (the baseline) and then every step; an older file the steps past its version. To change
/// the schema, append a step (`to` one more than the last) and never edit one that has
/// shipped, nor [`SCHEMA`]. A node refuses a file whose version is past the last step here.
const STEPS: &[Step] = &[
    Step {
        to: 2,
        run: migrate_v1,
    },
    Step {
        to: 3,
        run: catch_up_v2,
    },
    Step {
        to: 4,
        run: views_v4,
    },
    Step {
        to: 5,
        run: holds_v5,
    },
    Step {
        to: 6,
        run: received_v6,
    },
    Step {
        to: 7,
        run: consents_v7,
    },
    Step {
        to: 8,
        run: content_keys_v8,
    },
];

/// The version [`SCHEMA`] is.
const BASELINE_VERSION: i64 = 2;

/// The newest schema this build knows: the last step's.
pub(crate) const SCHEMA_VERSION: i64 = STEPS[STEPS.len() - 1].to;

/// The baseline: schema 2 as it was when steps began to be listed.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS refusals (
    seq INTEGER PRIMARY KEY, created TEXT NOT NULL, sender TEXT NOT NULL, id TEXT NOT NULL,
    version TEXT NOT NULL, reason TEXT NOT NULL, body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS objects (
    seq INTEGER PRIMARY KEY,
    k INTEGER NOT NULL,
    latest INTEGER NOT NULL,
    id TEXT NOT NULL,
    version TEXT NOT NULL,
    date_added TEXT NOT NULL,
    source TEXT NOT NULL,
    assigned_label TEXT,
    markings TEXT NOT NULL,
    tearline_of TEXT,
    derived_src TEXT,
    derived_dst TEXT,
    ends TEXT,
    tags TEXT,
    body TEXT NOT NULL,
    upgrades TEXT
);
CREATE INDEX IF NOT EXISTS objects_k ON objects (k);
CREATE INDEX IF NOT EXISTS objects_latest ON objects (seq) WHERE latest = 1;
CREATE TABLE IF NOT EXISTS partners (party TEXT PRIMARY KEY, agreement TEXT NOT NULL, updated TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS consents (
    id TEXT PRIMARY KEY, object TEXT NOT NULL, to_party TEXT NOT NULL, by_party TEXT NOT NULL, created TEXT NOT NULL,
    signed TEXT
);
CREATE TABLE IF NOT EXISTS releases (
    partner TEXT NOT NULL, id TEXT NOT NULL, version TEXT NOT NULL, first TEXT NOT NULL,
    PRIMARY KEY (partner, id, version)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS credentials (party TEXT PRIMARY KEY, phc TEXT NOT NULL, updated TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS delivered_ids (
    delivered TEXT PRIMARY KEY, partner TEXT NOT NULL, original TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS delivered_ids_by_partner ON delivered_ids (partner);
CREATE TABLE IF NOT EXISTS log_entries (idx INTEGER PRIMARY KEY, entry BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS log_hashes (idx INTEGER PRIMARY KEY, hash BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS log_openings (idx INTEGER PRIMARY KEY, leaf BLOB NOT NULL, salt BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS log_access (party TEXT NOT NULL, idx INTEGER NOT NULL, PRIMARY KEY (party, idx)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS log_access_idx ON log_access (idx);
CREATE TABLE IF NOT EXISTS log_checkpoints (size INTEGER PRIMARY KEY, note TEXT NOT NULL, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS log_cosignatures (
    size INTEGER NOT NULL, cosigner TEXT NOT NULL, line TEXT NOT NULL, created TEXT NOT NULL,
    PRIMARY KEY (size, cosigner)
);
CREATE TABLE IF NOT EXISTS partner_checkpoints (party TEXT PRIMARY KEY, size INTEGER NOT NULL, note TEXT NOT NULL, updated TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS log_forks (seq INTEGER PRIMARY KEY, party TEXT NOT NULL, created TEXT NOT NULL, evidence TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS partner_keys (party TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY (party, kind));
CREATE TABLE IF NOT EXISTS agreement_notes (
    partner TEXT NOT NULL, side TEXT NOT NULL, sha256 TEXT NOT NULL, text TEXT NOT NULL,
    note TEXT NOT NULL, updated TEXT NOT NULL, PRIMARY KEY (partner, side)
);
CREATE TABLE IF NOT EXISTS operators (
    name TEXT PRIMARY KEY, role TEXT NOT NULL, phc TEXT NOT NULL, created TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY, at TEXT NOT NULL, operator TEXT NOT NULL, action TEXT NOT NULL,
    target TEXT NOT NULL, detail TEXT NOT NULL
);
";

/// Schema 4, maintained views (issue 14): the change feed (`object_changes`, written by ingest
/// and deletions), each partner's stored view (`view_state`, `view_rows`, `view_marks`) and
/// the reference index (`object_refs`; built through `meta.refs_through`). A file migrated
/// here starts with no stored view: each is computed whole on its first request.
const VIEWS_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS object_changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS view_state (partner TEXT PRIMARY KEY, basis TEXT NOT NULL, through INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS view_rows (
    partner TEXT NOT NULL, original TEXT NOT NULL, delivered TEXT NOT NULL, type TEXT NOT NULL,
    version TEXT NOT NULL, spec_version TEXT NOT NULL, date_added TEXT NOT NULL,
    added INTEGER NOT NULL, json TEXT NOT NULL, meta INTEGER NOT NULL,
    UNIQUE (partner, original)
);
CREATE INDEX IF NOT EXISTS view_rows_page ON view_rows (partner, added, delivered);
CREATE INDEX IF NOT EXISTS view_rows_delivered ON view_rows (partner, delivered);
CREATE TABLE IF NOT EXISTS view_marks (
    partner TEXT NOT NULL, mark TEXT NOT NULL, original TEXT NOT NULL,
    PRIMARY KEY (partner, mark, original)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS view_marks_by_original ON view_marks (partner, original);
CREATE TABLE IF NOT EXISTS object_refs (
    ref TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (ref, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS object_refs_by_id ON object_refs (id);
";

/// The `meta` key that remembers the newest version deleted from the tail of `objects`
/// (`"<seq> <date_added>"`), so that the next ingest continues after it: SQLite would otherwise
/// give the next row that `seq` again, and `date_added` would continue from an older row.
const TAIL_KEY: &str = "deleted_tail";

/// Page size of new files. Rows are about 1.1 KB (mostly the body): 4 KiB pages hold three
/// and waste a fifth of the file; 16 KiB pages waste about 3 %.
const PAGE_SIZE: i64 = 16_384;

/// WAL frames (pages) allowed before a commit checkpoints them into the database file itself.
/// Normally the [`Checkpointer`] has already copied them, and this only bounds the WAL; the
/// default (1000) would make every large batch checkpoint (copy and sync) on the ingest path.
/// A batch of 100,000 objects into a store of 8M writes about 270 MB (its rows, and most pages
/// of the id index): at 256 MiB every such commit checkpointed on the ingest path.
const WAL_AUTOCHECKPOINT: i64 = 65_536; // 1 GiB at 16 KiB

/// The page cache of a connection, in MiB. A server holds two connections (requests, and the
/// views' upkeep) for good, so this is kept modest; the operating system caches the file
/// too. A bulk load raises its own ([`ObjectStore::prepare_bulk_load`]).
const CACHE_MIB: i64 = 64;

/// The page cache of a bulk load, in MiB: into a store of millions, each batch's random
/// inserts into the id index touch a page per object, and a cache that holds the index keeps
/// ingest flat (BENCHMARKS.md §14).
const BULK_CACHE_MIB: i64 = 256;

/// How long a connection waits for another writer (SQLite's busy timeout): a request must
/// answer.
const WRITER_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// How long a bulk load waits for another writer before it gives up on a batch. Everyone
/// else waits [`WRITER_WAIT`]; a server's upkeep, catching up on what the load
/// wrote, commits a transaction per partner after each batch, and 5 s was not always enough
/// for a batch to get its turn at a million objects (BENCHMARKS.md §14).
const BULK_WRITER_WAIT: std::time::Duration = std::time::Duration::from_secs(300);

/// Bytes the WAL file is cut back to when a checkpoint has emptied it (`journal_size_limit`).
const WAL_SIZE_LIMIT: i64 = 64 << 20;

/// [`DeliveryStore::delivered_ids`] seeks each id when asked about at most this many, and
/// asks for them all in one statement otherwise.
const SEEK_AT_MOST: usize = 256;

/// The lookup key of an id: FNV-1a, 64 bits. Not unique; rows are matched on `id` too.
pub(crate) fn id_key(id: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h as i64
}

/// The newest stored `date_added`, as nanoseconds (0 for an empty store).
fn last_added_in(conn: &Connection) -> Result<i128, StoreError> {
    let last: Option<String> = conn
        .query_row(
            "SELECT date_added FROM objects ORDER BY seq DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()?;
    Ok(last
        .and_then(|s| Timestamp::parse(&s).ok())
        .map(|t| t.unix_nanos())
        .unwrap_or(0))
}

/// Schema 1 (a `UNIQUE (id, version)` objects table and a `heads` table) to schema 2.
fn migrate_v1(tx: &Transaction<'_>) -> Result<(), StoreError> {
    tx.execute_batch("ALTER TABLE objects RENAME TO objects_v1;")?;
    tx.execute_batch(SCHEMA)?;
    {
        let mut read = tx.prepare(
            "SELECT o.seq, o.id, o.version, o.date_added, o.source, o.assigned_label, o.markings,
                    o.tearline_of, o.derived_src, o.derived_dst, o.ends, o.tags, o.body,
                    h.seq IS NOT NULL
             FROM objects_v1 o LEFT JOIN heads h ON h.seq = o.seq ORDER BY o.seq",
        )?;
        let mut write = tx.prepare(
            "INSERT INTO objects (seq, k, latest, id, version, date_added, source, assigned_label,
                 markings, tearline_of, derived_src, derived_dst, ends, tags, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        )?;
        let mut rows = read.query([])?;
        while let Some(r) = rows.next()? {
            let id: String = r.get(1)?;
            write.execute(params![
                r.get::<_, i64>(0)?,
                id_key(&id),
                r.get::<_, bool>(13)?,
                id,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, Option<String>>(7)?,
                r.get::<_, Option<String>>(8)?,
                r.get::<_, Option<String>>(9)?,
                r.get::<_, Option<String>>(10)?,
                r.get::<_, Option<String>>(11)?,
                r.get::<_, String>(12)?,
            ])?;
        }
    }
    tx.execute_batch("DROP TABLE objects_v1; DROP TABLE heads;")?;
    Ok(())
}

/// Schema 2 to 3: a version-2 file made before columns and tables were added under the same
/// version number gets them (each is added only where missing).
/// 3 to 4: the maintained views' tables ([`VIEWS_SCHEMA`]).
fn views_v4(tx: &Transaction<'_>) -> Result<(), StoreError> {
    tx.execute_batch(VIEWS_SCHEMA)?;
    Ok(())
}

/// 4 to 5: release officers' holds (issue 13).
fn holds_v5(tx: &Transaction<'_>) -> Result<(), StoreError> {
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS holds (
            object TEXT NOT NULL, partner TEXT NOT NULL, by_operator TEXT NOT NULL,
            created TEXT NOT NULL, reason TEXT NOT NULL, PRIMARY KEY (partner, object)
        ) WITHOUT ROWID;",
    )?;
    Ok(())
}

/// 5 to 6: who received each object, one row an object ([`RECEIVED_SCHEMA`]), filled from
/// the releases already recorded.
fn received_v6(tx: &Transaction<'_>) -> Result<(), StoreError> {
    tx.execute_batch(RECEIVED_SCHEMA)?;
    tx.execute_batch(
        "INSERT OR IGNORE INTO received (id, partners)
         SELECT id, group_concat(partner, ' ')
         FROM (SELECT DISTINCT id, partner FROM releases ORDER BY id, partner) GROUP BY id;",
    )?;
    Ok(())
}

/// The partners each object went to, at any version, as one row an object: the projection
/// of `releases` on (id, partner), kept in the transaction that records a release. A trace
/// asks it which of a leak's objects each partner received: one seek an object rather than
/// a read of every partner's releases (300,000 rows for a copy of 10,000 objects that went
/// to 30 partners). `partners` is their tokens separated by single spaces (a token has no
/// space: [`liaison_labels::Party`] is an ISO code or a group's tetragraph).
const RECEIVED_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS received (id TEXT PRIMARY KEY, partners TEXT NOT NULL) WITHOUT ROWID;
";

/// The consents given for one partner, in the order they are listed: what each TAXII page
/// checks its partner's view's basis against (`PartnerStore::consents`), without reading
/// every other partner's.
fn consents_v7(tx: &Transaction<'_>) -> Result<(), StoreError> {
    tx.execute_batch(
        "CREATE INDEX IF NOT EXISTS consents_to ON consents (to_party, created, id);",
    )?;
    Ok(())
}

/// Each held object's content key (its type and name, pattern or value, hashed: crates/release
/// `trace`), so that a trace finds which of our objects a leaked copy under ids that are not
/// ours is without reading every object. Derived, like `object_refs`: built on first need and
/// followed through the change feed (`meta.content_keys_through`).
fn content_keys_v8(tx: &Transaction<'_>) -> Result<(), StoreError> {
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS content_keys (
             key TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (key, id)
         ) WITHOUT ROWID;
         CREATE INDEX IF NOT EXISTS content_keys_by_id ON content_keys (id);",
    )?;
    Ok(())
}

fn catch_up_v2(tx: &Transaction<'_>) -> Result<(), StoreError> {
    add_missing_columns(tx)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS delivered_ids (
            delivered TEXT PRIMARY KEY, partner TEXT NOT NULL, original TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS delivered_ids_by_partner ON delivered_ids (partner);
        CREATE TABLE IF NOT EXISTS match_queries (
            request TEXT PRIMARY KEY, partner TEXT NOT NULL, epoch INTEGER NOT NULL,
            count INTEGER NOT NULL, answered TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS match_queries_by_epoch ON match_queries (partner, epoch);",
    )?;
    Ok(())
}

/// Brings the file to [`SCHEMA_VERSION`], or refuses a newer one; one transaction, taken
/// only when there is something to do (a file at the current version is opened without
/// waiting for a writer).
fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let schema_version = |c: &Connection| -> Result<i64, StoreError> {
        let found: i64 = c.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::Schema {
                found,
                known: SCHEMA_VERSION,
            });
        }
        Ok(found)
    };
    if schema_version(conn)? == SCHEMA_VERSION {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Again under the write lock: another process may have migrated meanwhile.
    let mut found = schema_version(&tx)?;
    if found == SCHEMA_VERSION {
        return Ok(());
    }
    if found == 0 {
        tx.execute_batch(SCHEMA)?;
        found = BASELINE_VERSION;
    }
    for step in STEPS.iter().filter(|s| s.to > found) {
        (step.run)(&tx)?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()?;
    Ok(())
}

/// The embedded SQLite store.
pub struct SqliteStore {
    pub(crate) conn: Connection,
    last_added: i128,
    /// Commits by this connection that changed objects, partners, consents or credentials.
    changes: u64,
    checkpointer: Option<Checkpointer>,
}

/// A thread with a connection of its own that copies committed WAL frames into the database
/// file (PASSIVE checkpoints) after each ingest, so that the writer does not wait for that
/// copy and its sync. The writer's own autocheckpoint remains as a bound on the WAL.
struct Checkpointer {
    wake: Option<std::sync::mpsc::SyncSender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checkpointer {
    fn start(path: &Path) -> Result<Checkpointer, StoreError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(WRITER_WAIT)?;
        conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)?;
        // Room for every statement this file prepares (about 40), so none is re-prepared.
        conn.set_prepared_statement_cache_capacity(64);
        let (wake, woken) = std::sync::mpsc::sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("liaison-checkpoint".into())
            .spawn(move || {
                while woken.recv().is_ok() {
                    // Failure (e.g. busy) is harmless: the next wake-up or the writer's
                    // autocheckpoint does the work.
                    let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                }
            })
            .map_err(|e| StoreError::Damaged(format!("checkpoint thread: {e}")))?;
        Ok(Checkpointer {
            wake: Some(wake),
            thread: Some(thread),
        })
    }

    fn nudge(&self) {
        if let Some(w) = &self.wake {
            let _ = w.try_send(());
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.wake = None; // the thread's recv fails and it ends
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl SqliteStore {
    /// A log append (with what goes `along` with it) that is durable when it returns: its
    /// commit syncs the WAL (`synchronous = FULL`) while ingest keeps NORMAL. The pragma cannot
    /// change inside a transaction, so it is set around it.
    fn durable_append(
        &mut self,
        along: Along<'_>,
        entries: &[Vec<u8>],
        openings: &[LogOpening],
        hashes: &[(u64, [u8; 32])],
    ) -> Result<(u64, Vec<Timestamp>), StoreError> {
        self.conn.pragma_update(None, "synchronous", "FULL")?;
        let result = sqlite_log_append(&mut self.conn, along, entries, openings, hashes);
        let reset = self.conn.pragma_update(None, "synchronous", "NORMAL");
        let done = result?;
        reset?;
        Ok(done)
    }

    /// Opens (creating if needed) the store at `path`.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let conn = Connection::open(path)?;
        let mut store = Self::setup(conn)?;
        store.checkpointer = Some(Checkpointer::start(path)?);
        Ok(store)
    }

    /// A store that lives in memory, for tests and benchmarks.
    pub fn in_memory() -> Result<SqliteStore, StoreError> {
        Self::setup(Connection::open_in_memory()?)
    }

    fn setup(mut conn: Connection) -> Result<SqliteStore, StoreError> {
        // Only takes effect on a new file (before the first table and before WAL mode).
        conn.pragma_update(None, "page_size", PAGE_SIZE)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "cache_size", -(CACHE_MIB * 1024))?; // in KiB
        conn.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT)?;
        // The WAL file is reused, not shrunk, after a checkpoint: without a limit it keeps the
        // size of its busiest moment (up to the gigabyte above) on disk for good.
        conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)?;
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        conn.busy_timeout(WRITER_WAIT)?;
        migrate(&mut conn)?;
        let last_added = last_added_in(&conn)?;
        Ok(SqliteStore {
            conn,
            last_added,
            changes: 0,
            checkpointer: None,
        })
    }
}

/// Adds a column that a table made by an earlier release lacks (SQLite has no `ADD COLUMN IF
/// NOT EXISTS`): `signed` on consents (consents were not signed at first), `upgrades` on
/// objects (STIX 2.0 was not read at first).
fn add_missing_columns(conn: &Connection) -> Result<(), StoreError> {
    for (table, column, declared) in [
        ("consents", "signed", "TEXT"),
        ("objects", "upgrades", "TEXT"),
    ] {
        let has: bool = conn.query_row(
            "SELECT count(*) > 0 FROM pragma_table_info(?1) WHERE name = ?2",
            [table, column],
            |r| r.get(0),
        )?;
        if !has {
            conn.execute_batch(&format!(
                "ALTER TABLE {table} ADD COLUMN {column} {declared}"
            ))?;
        }
    }
    Ok(())
}

/// The next `date_added` after `last`: now, but always after the previous one, so that
/// `date_added` orders versions strictly (TAXII pages on it).
fn next_added(last: &mut i128) -> Timestamp {
    let now = Timestamp::now().unix_nanos();
    let next = now.max(*last + 1_000);
    *last = next;
    Timestamp::from_unix_nanos(next, 6).unwrap_or_else(Timestamp::now)
}

fn version_key(o: &StixObject) -> String {
    o.version().map(Timestamp::sort_key).unwrap_or_default()
}

/// Column `i` of `r` as text, borrowed.
fn text<'r>(r: &'r Row<'_>, i: usize) -> rusqlite::Result<&'r str> {
    r.get_ref(i)?.as_str().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// `parts` joined by single spaces, into `out` (cleared first).
fn join_into<'a>(out: &mut String, parts: impl Iterator<Item = &'a str>) {
    out.clear();
    for (i, p) in parts.enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(p);
    }
}

impl ObjectStore for SqliteStore {
    fn node(&self) -> Result<Option<NodeRecord>, StoreError> {
        let party: Option<String> = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'party'", [], |r| {
                r.get(0)
            })
            .optional()?;
        let created: Option<String> = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'created'", [], |r| {
                r.get(0)
            })
            .optional()?;
        Ok(party.map(|party| NodeRecord {
            party,
            created: created.unwrap_or_default(),
        }))
    }

    fn init_node(&mut self, node: &NodeRecord) -> Result<(), StoreError> {
        if let Some(existing) = self.node()? {
            if existing.party != node.party {
                return Err(StoreError::OtherParty {
                    existing: existing.party,
                    requested: node.party.clone(),
                });
            }
            return Ok(());
        }
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('party', ?1)",
            [&node.party],
        )?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('created', ?1)",
            [&node.created],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn ingest(
        &mut self,
        batch: &[NewObject<'_>],
        source: &str,
        progress: &mut dyn FnMut(u64),
    ) -> Result<IngestReport, StoreError> {
        let mut report = IngestReport::default();
        // IMMEDIATE: the reads that decide duplicates and conflicts and the writes that follow
        // them are one serialised step, also against other connections to the same file.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut last = self.last_added.max(last_added_in(&tx)?);
        // After the newest version was deleted: continue after it (one lookup per batch).
        let mut tail_seq: Option<i64> = None;
        let tail: Option<String> = tx
            .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
            .query_row([TAIL_KEY], |r| r.get(0))
            .optional()?;
        if let Some((seq, added)) = tail.as_deref().and_then(|t| t.split_once(' ')) {
            tail_seq = seq.parse().ok();
            if let Ok(t) = Timestamp::parse(added) {
                last = last.max(t.unix_nanos());
            }
        }
        let result = (|| {
            let mut insert = tx.prepare_cached(
                "INSERT INTO objects (k, latest, id, version, date_added, source, assigned_label, markings, tearline_of, derived_src, derived_dst, ends, tags, body, upgrades)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            )?;
            let mut found = tx.prepare_cached(
                "SELECT seq, id, version, latest, source FROM objects WHERE k = ?1",
            )?;
            let mut body_of = tx.prepare_cached("SELECT body FROM objects WHERE seq = ?1")?;
            let mut demote = tx.prepare_cached("UPDATE objects SET latest = 0 WHERE seq = ?1")?;
            let mut changed = tx.prepare_cached("INSERT INTO object_changes (id) VALUES (?1)")?;
            let (mut markings, mut ends) = (String::new(), String::new());
            let mut tags: Vec<&str> = Vec::new();
            // The first conflict, with the positions of the others: the batch is refused
            // whole, but every conflict is named in one pass.
            let mut conflict: Option<StoreError> = None;
            for (index, item) in batch.iter().enumerate() {
                let o = item.object;
                let id = o.id().as_str();
                let k = id_key(id);
                let version = version_key(o);
                // Versions of this id already held: the same version, and the newest one.
                let mut same: Option<i64> = None;
                let mut newest: Option<(i64, String)> = None;
                // The owner: the source of the first version stored.
                let mut first: Option<(i64, String)> = None;
                let mut rows = found.query([k])?;
                while let Some(r) = rows.next()? {
                    if text(r, 1)? != id {
                        continue;
                    }
                    let seq: i64 = r.get(0)?;
                    let v = text(r, 2)?;
                    if v == version {
                        same = Some(seq);
                    }
                    if r.get::<_, bool>(3)? {
                        newest = Some((seq, v.to_owned()));
                    }
                    if first.as_ref().is_none_or(|(s, _)| seq < *s) {
                        first = Some((seq, text(r, 4)?.to_owned()));
                    }
                }
                drop(rows);
                let identical = match same {
                    Some(seq) => {
                        let body: String = body_of.query_row([seq], |r| r.get(0))?;
                        body == o.raw()
                            || serde_json::from_str::<serde_json::Value>(&body)
                                .map(|v| v.as_object() == Some(o.props()))
                                .unwrap_or(false)
                    }
                    None => false,
                };
                if let (Some((_, owner)), false) = (&first, identical) {
                    let kind = if o.object_type() == "marking-definition" {
                        Some(RefusalKind::Redefined)
                    } else if owner != source {
                        Some(RefusalKind::NotOwner {
                            owner: owner.clone(),
                        })
                    } else {
                        None
                    };
                    if let Some(kind) = kind {
                        report.refused.push(Refusal {
                            index,
                            id: id.to_owned(),
                            kind,
                        });
                        continue;
                    }
                }
                if same.is_some() {
                    if !identical {
                        match &mut conflict {
                            None => {
                                conflict = Some(StoreError::Conflict {
                                    index,
                                    id: id.to_owned(),
                                    version: o
                                        .version()
                                        .map(ToString::to_string)
                                        .unwrap_or_default(),
                                    also: Vec::new(),
                                })
                            }
                            Some(StoreError::Conflict { also, .. }) => also.push(index),
                            Some(_) => {}
                        }
                        continue;
                    }
                    report.duplicates += 1;
                    report.duplicates_at.push(index);
                } else {
                    let is_latest = match &newest {
                        None => true,
                        Some((seq, v)) if version > *v => {
                            demote.execute([seq])?;
                            true
                        }
                        Some(_) => false,
                    };
                    join_into(
                        &mut markings,
                        o.object_marking_refs().iter().map(|m| m.as_str()),
                    );
                    join_into(&mut ends, o.ends());
                    tags.clear();
                    tags.extend(o.tags());
                    let tags_json = if tags.is_empty() {
                        None
                    } else {
                        serde_json::to_string(&tags).ok()
                    };
                    let (dsrc, ddst) = match o.derivation() {
                        Some((a, b)) => (Some(a), Some(b)),
                        None => (None, None),
                    };
                    let stamp = next_added(&mut last);
                    insert.execute(params![
                        k,
                        is_latest,
                        id,
                        version,
                        stamp.as_str(),
                        source,
                        item.assigned_label.map(|l| l.as_str()),
                        markings,
                        o.tearline_of().map(|t| t.as_str()),
                        dsrc,
                        ddst,
                        ends,
                        tags_json,
                        o.raw(),
                        crate::record::upgrades_json(item.upgrades)?,
                    ])?;
                    if let Some(after) = tail_seq.take() {
                        // Only the first row needs moving: the rest follow it.
                        tx.execute(
                            "UPDATE objects SET seq = max(?1 + 1, seq) WHERE seq = last_insert_rowid()",
                            [after],
                        )?;
                        tx.execute("DELETE FROM meta WHERE key = ?1", [TAIL_KEY])?;
                    }
                    // After the statement above: it reads the object row's `last_insert_rowid`.
                    changed.execute([id])?;
                    report.added += 1;
                }
                if index % 4096 == 4095 {
                    progress(index as u64 + 1);
                }
            }
            match conflict {
                Some(e) => Err(e),
                None => Ok(()),
            }
        })();
        // on error, dropping the transaction rolls it back
        result?;
        tx.commit()?;
        self.last_added = last;
        if report.added > 0 {
            self.changes += 1;
        }
        if let Some(c) = &self.checkpointer {
            c.nudge();
        }
        progress(batch.len() as u64);
        Ok(report)
    }

    fn latest(&self, id: &str) -> Result<Option<Stored>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {STORED_COLUMNS} FROM objects o WHERE o.k = ?1 AND o.id = ?2 AND o.latest = 1"
        ))?;
        let mut rows = stmt.query(params![id_key(id), id])?;
        rows.next()?.map(rows::stored).transpose()
    }

    fn versions(&self, id: &str) -> Result<Vec<Stored>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {STORED_COLUMNS} FROM objects o WHERE o.k = ?1 AND o.id = ?2 ORDER BY o.version"
        ))?;
        let rows = stmt.query_and_then(params![id_key(id), id], |r| rows::stored(r))?;
        rows.collect()
    }

    fn scan_latest(
        &self,
        f: &mut dyn FnMut(Stored) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {STORED_COLUMNS} FROM objects o WHERE o.latest = 1 ORDER BY o.seq"
        ))?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            f(rows::stored(row)?)?;
        }
        Ok(())
    }

    fn latest_between(
        &self,
        after: i64,
        upto: i64,
        limit: usize,
    ) -> Result<Vec<Stored>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {STORED_COLUMNS} FROM objects o WHERE o.latest = 1 AND o.seq > ?1 AND o.seq <= ?2 ORDER BY o.seq LIMIT ?3"
        ))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut rows = stmt.query(params![after, upto, limit])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(rows::stored(row)?);
        }
        Ok(out)
    }

    fn index_rows(&self, ids: &[&str]) -> Result<Vec<IndexRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {INDEX_COLUMNS} FROM objects o WHERE o.k = ?1 AND o.id = ?2 AND o.latest = 1"
        ))?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let mut rows = stmt.query(params![id_key(id), id])?;
            if let Some(row) = rows.next()? {
                out.push(rows::index_row(row)?);
            }
        }
        Ok(out)
    }

    fn last_seq(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT coalesce(max(seq), 0) FROM objects", [], |r| {
                r.get(0)
            })?)
    }

    fn scan_index(&self, f: &mut dyn FnMut(IndexRow)) -> Result<(), StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {INDEX_COLUMNS} FROM objects o WHERE o.latest = 1 ORDER BY o.seq"
        ))?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            f(rows::index_row(row)?);
        }
        Ok(())
    }

    fn counts(&self) -> Result<(u64, u64), StoreError> {
        let heads: i64 =
            self.conn
                .query_row("SELECT count(*) FROM objects WHERE latest = 1", [], |r| {
                    r.get(0)
                })?;
        let versions: i64 = self
            .conn
            .query_row("SELECT count(*) FROM objects", [], |r| r.get(0))?;
        Ok((heads.max(0) as u64, versions.max(0) as u64))
    }

    fn generation(&self) -> Result<u64, StoreError> {
        let others: i64 = self
            .conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))?;
        // Both parts only grow, so the sum changes whenever either does.
        Ok((others.max(0) as u64).wrapping_add(self.changes))
    }

    fn prepare_bulk_load(&self) -> Result<(), StoreError> {
        self.conn
            .pragma_update(None, "cache_size", -(BULK_CACHE_MIB * 1024))?;
        self.conn.busy_timeout(BULK_WRITER_WAIT)?;
        Ok(())
    }

    fn add_refusals(&mut self, refusals: &[RefusalRecord]) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO refusals (created, sender, id, version, reason, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for r in refusals {
                insert.execute(params![
                    r.created, r.sender, r.id, r.version, r.reason, r.body
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn refusals(
        &self,
        sender: Option<&str>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<RefusalRecord>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, created, sender, id, version, reason, body FROM refusals
             WHERE seq > ?1 AND (?2 IS NULL OR sender = ?2) ORDER BY seq LIMIT ?3",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_and_then(params![after, sender, limit], |r| rows::refusal(r))?;
        rows.collect()
    }

    fn scan_source(
        &self,
        source: &str,
        f: &mut dyn FnMut(Stored) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        // A full scan: an index on `source` would cost every ingested row an insert.
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {STORED_COLUMNS} FROM objects o WHERE o.source = ?1 ORDER BY o.seq"
        ))?;
        let mut rows = stmt.query([source])?;
        while let Some(row) = rows.next()? {
            f(rows::stored(row)?)?;
        }
        Ok(())
    }

    fn delete_versions(
        &mut self,
        source: &str,
        id: &str,
        versions: Option<&[String]>,
    ) -> Result<u64, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut doomed: Vec<i64> = Vec::new();
        let mut lost_latest = false;
        // The newest version that stays: (version, seq).
        let mut keep: Option<(String, i64)> = None;
        {
            let mut found = tx.prepare_cached(
                "SELECT seq, id, version, latest, source FROM objects WHERE k = ?1",
            )?;
            let mut rows = found.query([id_key(id)])?;
            while let Some(r) = rows.next()? {
                if text(r, 1)? != id {
                    continue;
                }
                let seq: i64 = r.get(0)?;
                let version = text(r, 2)?;
                let listed = versions.is_none_or(|vs| vs.iter().any(|v| v == version));
                if listed && text(r, 4)? == source {
                    doomed.push(seq);
                    lost_latest |= r.get::<_, bool>(3)?;
                } else if keep.as_ref().is_none_or(|(v, _)| version > v.as_str()) {
                    keep = Some((version.to_owned(), seq));
                }
            }
        }
        if doomed.is_empty() {
            return Ok(0);
        }
        // Deleting the newest row: remember it, or SQLite would hand its seq out again.
        let (tail_seq, tail_added): (i64, String) = tx.query_row(
            "SELECT seq, date_added FROM objects ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        if doomed.contains(&tail_seq) {
            let before: Option<String> = tx
                .query_row("SELECT value FROM meta WHERE key = ?1", [TAIL_KEY], |r| {
                    r.get(0)
                })
                .optional()?;
            let before_seq = before
                .as_deref()
                .and_then(|t| t.split_once(' '))
                .and_then(|(s, _)| s.parse::<i64>().ok());
            if before_seq.is_none_or(|b| b < tail_seq) {
                tx.execute(
                    "INSERT INTO meta (key, value) VALUES (?1, ?2)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    params![TAIL_KEY, format!("{tail_seq} {tail_added}")],
                )?;
            }
        }
        {
            // The change feed: the id, and what the deleted versions derived or tore from.
            let mut related =
                tx.prepare_cached("SELECT derived_src, tearline_of FROM objects WHERE seq = ?1")?;
            let mut changed = tx.prepare_cached("INSERT INTO object_changes (id) VALUES (?1)")?;
            changed.execute([id])?;
            for seq in &doomed {
                let (d, t): (Option<String>, Option<String>) =
                    related.query_row([seq], |r| Ok((r.get(0)?, r.get(1)?)))?;
                for other in d.iter().chain(t.iter()) {
                    changed.execute([other])?;
                }
            }
            let mut delete = tx.prepare_cached("DELETE FROM objects WHERE seq = ?1")?;
            for seq in &doomed {
                delete.execute([seq])?;
            }
        }
        if lost_latest {
            if let Some((_, seq)) = &keep {
                tx.execute("UPDATE objects SET latest = 1 WHERE seq = ?1", [seq])?;
            }
        }
        tx.commit()?;
        self.changes += 1;
        Ok(doomed.len() as u64)
    }
}

impl ChangeStore for SqliteStore {
    fn changed_since(&self, after: i64, prefix: &str) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT 1 FROM object_changes WHERE seq > ?1 AND substr(id, 1, length(?2)) = ?2 LIMIT 1",
            )?
            .query_row(params![after, prefix], |_| Ok(()))
            .optional()?
            .is_some())
    }

    fn change_head(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT coalesce(max(seq), 0) FROM object_changes")?
            .query_row([], |r| r.get(0))?)
    }

    fn changes_since(&self, after: i64, limit: usize) -> Result<Vec<(i64, String)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, id FROM object_changes WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![after, limit], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn refs_through(&self) -> Result<Option<i64>, StoreError> {
        self.index_through(&REFS)
    }

    fn write_refs(
        &mut self,
        through: i64,
        replace: bool,
        ids: &[String],
        pairs: &[(String, String)],
    ) -> Result<(), StoreError> {
        self.write_pairs(&REFS, Some(through), replace, ids, pairs)
    }

    fn referrers(&self, ids: &[String]) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id FROM object_refs WHERE ref = ?1")?;
        let mut out = std::collections::BTreeSet::new();
        for id in ids {
            for r in stmt.query_map([id], |r| r.get::<_, String>(0))? {
                out.insert(r?);
            }
        }
        Ok(out.into_iter().collect())
    }

    fn content_keys_through(&self) -> Result<Option<i64>, StoreError> {
        self.index_through(&CONTENT_KEYS)
    }

    fn write_content_keys(
        &mut self,
        through: Option<i64>,
        replace: bool,
        ids: &[String],
        pairs: &[(String, String)],
    ) -> Result<(), StoreError> {
        self.write_pairs(&CONTENT_KEYS, through, replace, ids, pairs)
    }

    fn content_key_ids(&self, keys: &[String]) -> Result<Vec<(String, String)>, StoreError> {
        // One statement: each distinct key asked seeks its range of the primary key.
        let asked = serde_json::to_string(keys)
            .map_err(|e| StoreError::Damaged(format!("content keys as JSON: {e}")))?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT c.key, c.id FROM (SELECT DISTINCT value AS key FROM json_each(?1)) AS j
             JOIN content_keys AS c ON c.key = j.key ORDER BY c.key, c.id",
        )?;
        let rows = stmt.query_map([asked], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

impl SqliteStore {
    /// The change derived index `index` reflects (`None`: never built).
    fn index_through(&self, index: &PairIndex) -> Result<Option<i64>, StoreError> {
        let v: Option<String> = self
            .conn
            .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
            .query_row([index.through], |r| r.get(0))
            .optional()?;
        v.map(|v| {
            v.parse()
                .map_err(|_| StoreError::Damaged(format!("{}: `{v}`", index.through)))
        })
        .transpose()
    }

    /// Replaces the pairs ((id, value)) of each of `ids` in derived index `index` (every pair
    /// first, with `replace`), and records it as built `through` when given, in one
    /// transaction.
    fn write_pairs(
        &mut self,
        index: &PairIndex,
        through: Option<i64>,
        replace: bool,
        ids: &[String],
        pairs: &[(String, String)],
    ) -> Result<(), StoreError> {
        let PairIndex {
            table,
            value,
            through: key,
        } = index;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        if replace {
            tx.execute(&format!("DELETE FROM {table}"), [])?;
        }
        {
            let mut gone = tx.prepare_cached(&format!("DELETE FROM {table} WHERE id = ?1"))?;
            for id in ids {
                gone.execute([id])?;
            }
            let mut put = tx.prepare_cached(&format!(
                "INSERT OR IGNORE INTO {table} ({value}, id) VALUES (?1, ?2)"
            ))?;
            for (id, v) in pairs {
                put.execute(params![v, id])?;
            }
        }
        if let Some(through) = through {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, through.to_string()],
            )?;
        }
        tx.commit()?;
        Ok(())
    }
}

impl PartnerStore for SqliteStore {
    fn put_partner(&mut self, p: &PartnerRecord) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO partners (party, agreement, updated) VALUES (?1, ?2, ?3)
             ON CONFLICT (party) DO UPDATE SET agreement = excluded.agreement, updated = excluded.updated",
            params![p.party, p.agreement, p.updated],
        )?;
        self.changes += 1;
        Ok(())
    }

    fn partner(&self, party: &str) -> Result<Option<PartnerRecord>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT party, agreement, updated FROM partners WHERE party = ?1")?;
        let mut rows = stmt.query([party])?;
        rows.next()?.map(rows::partner).transpose()
    }

    fn partners(&self) -> Result<Vec<PartnerRecord>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT party, agreement, updated FROM partners ORDER BY party")?;
        let rows = stmt.query_and_then([], |r| rows::partner(r))?;
        rows.collect()
    }

    fn add_consent(&mut self, c: &ConsentRecord) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO consents (id, object, to_party, by_party, created) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![c.id, c.object, c.to, c.by, c.created],
        )?;
        self.changes += 1;
        Ok(())
    }

    fn add_signed_consent(&mut self, c: &ConsentRecord, signed: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO consents (id, object, to_party, by_party, created, signed) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![c.id, c.object, c.to, c.by, c.created, signed],
        )?;
        self.changes += 1;
        Ok(())
    }

    fn signed_consents(&self) -> Result<Vec<(ConsentRecord, Option<String>)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, object, to_party, by_party, created, signed FROM consents ORDER BY created, id",
        )?;
        let rows = stmt.query_and_then([], |r| Ok((rows::consent(r)?, r.get(5)?)))?;
        rows.collect()
    }

    fn consents(&self, to: Option<&str>) -> Result<Vec<ConsentRecord>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(CONSENTS[usize::from(to.is_some())])?;
        let rows = stmt.query_and_then(rusqlite::params_from_iter(to), |r| rows::consent(r))?;
        rows.collect()
    }

    fn add_hold(&mut self, h: &HoldRecord) -> Result<bool, StoreError> {
        let n = self.conn.execute(
            "INSERT INTO holds (object, partner, by_operator, created, reason)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (partner, object) DO NOTHING",
            params![h.object, h.partner, h.by, h.created, h.reason],
        )?;
        if n > 0 {
            self.changes += 1;
        }
        Ok(n > 0)
    }

    fn lift_hold(&mut self, object: &str, partner: &str) -> Result<Option<HoldRecord>, StoreError> {
        let lifted = {
            let mut stmt = self.conn.prepare(
                "DELETE FROM holds WHERE partner = ?1 AND object = ?2
                 RETURNING object, partner, by_operator, created, reason",
            )?;
            let mut rows = stmt.query(params![partner, object])?;
            rows.next()?.map(rows::hold).transpose()?
        };
        if lifted.is_some() {
            self.changes += 1;
        }
        Ok(lifted)
    }

    fn holds(&self, partner: Option<&str>) -> Result<Vec<HoldRecord>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT object, partner, by_operator, created, reason FROM holds
             WHERE ?1 IS NULL OR partner = ?1 ORDER BY partner, created, object",
        )?;
        let rows = stmt.query_and_then(params![partner], |r| rows::hold(r))?;
        rows.collect()
    }

    fn set_credential(&mut self, party: &str, phc: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO credentials (party, phc, updated) VALUES (?1, ?2, ?3)
             ON CONFLICT (party) DO UPDATE SET phc = excluded.phc, updated = excluded.updated",
            params![party, phc, Timestamp::now().as_str()],
        )?;
        self.changes += 1;
        Ok(())
    }

    fn credential(&self, party: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT phc FROM credentials WHERE party = ?1",
                [party],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn set_partner_key(&mut self, party: &str, kind: &str, key: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO partner_keys (party, kind, key) VALUES (?1, ?2, ?3)
             ON CONFLICT (party, kind) DO UPDATE SET key = excluded.key",
            params![party, kind, key],
        )?;
        Ok(())
    }

    fn put_agreement_note(&mut self, n: &AgreementNoteRecord) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO agreement_notes (partner, side, sha256, text, note, updated)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (partner, side) DO UPDATE SET sha256 = excluded.sha256,
                 text = excluded.text, note = excluded.note, updated = excluded.updated",
            params![n.partner, n.side, n.sha256, n.text, n.note, n.updated],
        )?;
        Ok(())
    }

    fn agreement_note(
        &self,
        partner: &str,
        side: &str,
    ) -> Result<Option<AgreementNoteRecord>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT sha256, text, note, updated FROM agreement_notes
             WHERE partner = ?1 AND side = ?2",
        )?;
        let mut rows = stmt.query([partner, side])?;
        rows.next()?
            .map(|r| rows::agreement_note(r, partner, side))
            .transpose()
    }

    fn partner_key(&self, party: &str, kind: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT key FROM partner_keys WHERE party = ?1 AND kind = ?2",
                [party, kind],
                |r| r.get(0),
            )
            .optional()?)
    }
}

impl DeliveryStore for SqliteStore {
    fn releases(&self, partner: &str) -> Result<Vec<(String, String, String)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, version, first FROM releases WHERE partner = ?1 ORDER BY first, id",
        )?;
        let rows = stmt.query_map([partner], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn received_among(
        &self,
        partners: &[&str],
        ids: &[&str],
    ) -> Result<Vec<Vec<usize>>, StoreError> {
        let which: FxHashMap<&str, usize> =
            partners.iter().enumerate().map(|(i, p)| (*p, i)).collect();
        let mut out: Vec<Vec<usize>> = vec![Vec::new(); partners.len()];
        if partners.is_empty() {
            return Ok(out);
        }
        // One statement: each asked id (its place in `ids` is json_each's key) seeks its row.
        let asked = serde_json::to_string(ids)
            .map_err(|e| StoreError::Damaged(format!("received: {e}")))?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT j.key, r.partners FROM json_each(?1) AS j JOIN received AS r ON r.id = j.value",
        )?;
        let mut rows = stmt.query([asked])?;
        while let Some(r) = rows.next()? {
            let i = usize::try_from(r.get::<_, i64>(0)?)
                .map_err(|e| StoreError::Damaged(format!("received: {e}")))?;
            let got = r
                .get_ref(1)?
                .as_str()
                .map_err(|e| StoreError::Damaged(format!("received: {e}")))?;
            for p in got.split(' ').filter_map(|p| which.get(p)) {
                out[*p].push(i);
            }
        }
        for got in &mut out {
            got.sort_unstable();
            got.dedup();
        }
        Ok(out)
    }

    fn add_delivered_ids(
        &mut self,
        partner: &str,
        pairs: &[(String, String)],
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT OR IGNORE INTO delivered_ids (delivered, partner, original) VALUES (?1, ?2, ?3)",
            )?;
            for (delivered, original) in pairs {
                stmt.execute(params![delivered, partner, original])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn delivered_ids(&self, ids: &[&str]) -> Result<Vec<(String, String, String)>, StoreError> {
        if ids.len() <= SEEK_AT_MOST {
            let mut stmt = self.conn.prepare_cached(
                "SELECT delivered, partner, original FROM delivered_ids WHERE delivered = ?1",
            )?;
            let mut out = Vec::new();
            for id in ids {
                if let Some(row) = stmt
                    .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .optional()?
                {
                    out.push(row);
                }
            }
            return Ok(out);
        }
        // Many ids (a whole leaked copy): one statement seeks them all.
        let asked = serde_json::to_string(ids)
            .map_err(|e| StoreError::Damaged(format!("delivered ids: {e}")))?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT d.delivered, d.partner, d.original FROM json_each(?1) AS j
             JOIN delivered_ids AS d ON d.delivered = j.value",
        )?;
        let rows = stmt.query_map([asked], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn was_released(&self, partner: &str, id: &str, version: &str) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT 1 FROM releases WHERE partner = ?1 AND id = ?2 AND version = ?3",
            )?
            .query_row(params![partner, id, version], |_| Ok(()))
            .optional()?
            .is_some())
    }

    fn record_releases(
        &mut self,
        partner: &str,
        keys: &[(String, String)],
    ) -> Result<Vec<(Timestamp, bool)>, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut known = Released::default();
        {
            let mut stmt =
                tx.prepare_cached("SELECT id, version, first FROM releases WHERE partner = ?1")?;
            let mut rows = stmt.query([partner])?;
            while let Some(r) = rows.next()? {
                let first: String = r.get(2)?;
                known.insert((r.get(0)?, r.get(1)?), releases::parse_time(&first)?);
            }
        }
        let new = releases::new_keys(keys, &known);
        let times = sqlite_new_releases(&tx, partner, &new)?;
        tx.commit()?;
        releases::aligned(keys, &known, new, times)
    }

    fn released_at(
        &self,
        partner: &str,
        keys: &[(String, String)],
    ) -> Result<Vec<Option<String>>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT first FROM releases WHERE partner = ?1 AND id = ?2 AND version = ?3",
        )?;
        let mut out = Vec::with_capacity(keys.len());
        for (id, version) in keys {
            out.push(
                stmt.query_row(params![partner, id, version], |r| r.get(0))
                    .optional()?,
            );
        }
        Ok(out)
    }
}

impl LogStore for SqliteStore {
    fn log_append(
        &mut self,
        entries: &[Vec<u8>],
        openings: &[LogOpening],
        hashes: &[(u64, [u8; 32])],
    ) -> Result<u64, StoreError> {
        Ok(self
            .durable_append(Along::Nothing, entries, openings, hashes)?
            .0)
    }

    fn log_append_match(
        &mut self,
        charge: &MatchCharge,
        entries: &[Vec<u8>],
        openings: &[LogOpening],
        hashes: &[(u64, [u8; 32])],
    ) -> Result<u64, StoreError> {
        Ok(self
            .durable_append(Along::Match(charge), entries, openings, hashes)?
            .0)
    }

    fn match_usage(&self, partner: &str, epoch: u64) -> Result<MatchUsage, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT coalesce(sum(count), 0), count(*), max(answered) FROM match_queries
             WHERE partner = ?1 AND epoch = ?2",
        )?;
        let mut rows = stmt.query(params![partner, to_i64(epoch)?])?;
        let row = rows.next()?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
        rows::match_usage(row)
    }

    fn log_append_releases(
        &mut self,
        partner: &str,
        keys: &[(String, String)],
        entries: &[Vec<u8>],
        openings: &[LogOpening],
        hashes: &[(u64, [u8; 32])],
    ) -> Result<Vec<Timestamp>, StoreError> {
        Ok(self
            .durable_append(Along::Releases(partner, keys), entries, openings, hashes)?
            .1)
    }

    fn log_size(&self) -> Result<u64, StoreError> {
        next_index(&self.conn, "log_entries")
    }

    fn log_hashes(&self, indexes: &[u64]) -> Result<Vec<[u8; 32]>, StoreError> {
        // One statement, not one per index: an inclusion proof's hashes come in one query.
        // Hashes close together in the stored order (a proof's lower levels sit beside its
        // leaf; a tile's hashes are one stretch) are read as a range, one B-tree seek; others
        // by chunks of an `IN` list, padded (with their first index) to a power of two so that
        // a few prepared statements serve every count.
        let mut found: rustc_hash::FxHashMap<u64, [u8; 32]> = Default::default();
        let (Some(&lo), Some(&hi)) = (indexes.iter().min(), indexes.iter().max()) else {
            return Ok(Vec::new());
        };
        if hi - lo < 2 * indexes.len() as u64 + 64 {
            let mut stmt = self.conn.prepare_cached(
                "SELECT idx, hash FROM log_hashes WHERE idx >= ?1 AND idx <= ?2 ORDER BY idx",
            )?;
            let rows = stmt.query([to_i64(lo)?, to_i64(hi)?])?;
            collect_hashes(rows, &mut found)?;
        } else {
            for chunk in indexes.chunks(HASHES_PER_QUERY) {
                let Some(&first) = chunk.first() else {
                    continue;
                };
                let width = chunk.len().next_power_of_two();
                let mut stmt = self.conn.prepare_cached(log_hashes_query(width))?;
                let wanted = chunk
                    .iter()
                    .chain(std::iter::repeat(&first))
                    .take(width)
                    .map(|&i| to_i64(i))
                    .collect::<Result<Vec<_>, _>>()?;
                let rows = stmt.query(rusqlite::params_from_iter(wanted))?;
                collect_hashes(rows, &mut found)?;
            }
        }
        indexes
            .iter()
            .map(|i| {
                found
                    .get(i)
                    .copied()
                    .ok_or_else(|| StoreError::Damaged(format!("stored hash {i} is missing")))
            })
            .collect()
    }

    fn log_entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT entry FROM log_entries WHERE idx >= ?1 AND idx < ?2 ORDER BY idx",
        )?;
        let rows = stmt.query_map([to_i64(start)?, to_i64(end)?], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn log_opening(&self, index: u64) -> Result<Option<LogOpening>, StoreError> {
        let row: Option<(Vec<u8>, Vec<u8>)> = self
            .conn
            .prepare_cached("SELECT leaf, salt FROM log_openings WHERE idx = ?1")?
            .query_row([to_i64(index)?], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let Some((leaf, salt)) = row else {
            return Ok(None);
        };
        let mut stmt = self
            .conn
            .prepare_cached("SELECT party FROM log_access WHERE idx = ?1 ORDER BY party")?;
        let parties = stmt
            .query_map([to_i64(index)?], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(Some(LogOpening {
            leaf,
            salt: rows::salt32(index, &salt)?,
            parties,
        }))
    }

    fn log_openings_for(&self, party: &str) -> Result<Vec<(u64, LogOpening)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT o.idx, o.leaf, o.salt FROM log_access a JOIN log_openings o ON o.idx = a.idx
             WHERE a.party = ?1 ORDER BY a.idx",
        )?;
        let rows = stmt.query_and_then([party], |r| rows::opening_for(r, party))?;
        rows.collect()
    }

    fn put_checkpoint(&mut self, size: u64, note: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO log_checkpoints (size, note, created) VALUES (?1, ?2, ?3)
             ON CONFLICT (size) DO NOTHING",
            params![to_i64(size)?, note, Timestamp::now().as_str()],
        )?;
        Ok(())
    }

    fn checkpoint_at(&self, size: u64) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT note FROM log_checkpoints WHERE size = ?1",
                [to_i64(size)?],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn latest_checkpoint(&self) -> Result<Option<(u64, String)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT size, note FROM log_checkpoints ORDER BY size DESC LIMIT 1")?;
        let mut rows = stmt.query([])?;
        rows.next()?.map(rows::sized_note).transpose()
    }

    fn add_cosignature(&mut self, size: u64, cosigner: &str, line: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO log_cosignatures (size, cosigner, line, created) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (size, cosigner) DO UPDATE SET line = excluded.line, created = excluded.created",
            params![to_i64(size)?, cosigner, line, Timestamp::now().as_str()],
        )?;
        Ok(())
    }

    fn cosignatures(&self, size: u64) -> Result<Vec<(String, String)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT cosigner, line FROM log_cosignatures WHERE size = ?1 ORDER BY cosigner",
        )?;
        let rows = stmt.query_map([to_i64(size)?], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn latest_cosignatures(&self) -> Result<Vec<(String, u64, String)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT c.cosigner, c.size, c.line FROM log_cosignatures c
             WHERE c.size = (SELECT max(size) FROM log_cosignatures d WHERE d.cosigner = c.cosigner)
             ORDER BY c.cosigner",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get(0)?, r.get::<_, i64>(1)?.max(0) as u64, r.get(2)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn put_partner_checkpoint(
        &mut self,
        party: &str,
        size: u64,
        note: &str,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO partner_checkpoints (party, size, note, updated) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (party) DO UPDATE SET size = excluded.size, note = excluded.note, updated = excluded.updated",
            params![party, to_i64(size)?, note, Timestamp::now().as_str()],
        )?;
        Ok(())
    }

    fn partner_checkpoint(&self, party: &str) -> Result<Option<(u64, String)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT size, note FROM partner_checkpoints WHERE party = ?1")?;
        let mut rows = stmt.query([party])?;
        rows.next()?.map(rows::sized_note).transpose()
    }

    fn add_fork_evidence(&mut self, party: &str, evidence: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO log_forks (party, created, evidence) VALUES (?1, ?2, ?3)",
            params![party, Timestamp::now().as_str(), evidence],
        )?;
        Ok(())
    }

    fn fork_evidence(&self, party: &str) -> Result<Vec<ForkRecord>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT party, created, evidence FROM log_forks WHERE party = ?1 ORDER BY seq",
        )?;
        let rows = stmt.query_and_then([party], |r| rows::fork(r))?;
        rows.collect()
    }
}

impl ViewStore for SqliteStore {
    fn view_state(&self, partner: &str) -> Result<Option<ViewState>, StoreError> {
        self.conn
            .prepare_cached("SELECT basis, through FROM view_state WHERE partner = ?1")?
            .query([partner])?
            .next()?
            .map(rows::view_state)
            .transpose()
    }

    fn write_view(
        &mut self,
        partner: &str,
        state: &ViewState,
        replace: bool,
        remove: &[String],
        rows: &[ViewRow],
        expect: Option<&str>,
    ) -> Result<bool, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Some(expect) = expect {
            let basis: Option<String> = tx
                .query_row(
                    "SELECT basis FROM view_state WHERE partner = ?1",
                    [partner],
                    |r| r.get(0),
                )
                .optional()?;
            if basis.as_deref() != Some(expect) {
                return Ok(false);
            }
        }
        if replace {
            tx.execute("DELETE FROM view_rows WHERE partner = ?1", [partner])?;
            tx.execute("DELETE FROM view_marks WHERE partner = ?1", [partner])?;
        }
        {
            let mut gone =
                tx.prepare_cached("DELETE FROM view_rows WHERE partner = ?1 AND original = ?2")?;
            let mut gone_marks =
                tx.prepare_cached("DELETE FROM view_marks WHERE partner = ?1 AND original = ?2")?;
            for original in remove.iter().chain(rows.iter().map(|r| &r.original)) {
                gone.execute(params![partner, original])?;
                gone_marks.execute(params![partner, original])?;
            }
            let mut put = tx.prepare_cached(
                "INSERT INTO view_rows (partner, original, delivered, type, version, spec_version,
                     date_added, added, json, meta)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?;
            let mut mark = tx.prepare_cached(
                "INSERT OR IGNORE INTO view_marks (partner, mark, original) VALUES (?1, ?2, ?3)",
            )?;
            for r in rows {
                put.execute(params![
                    partner,
                    r.original,
                    r.delivered,
                    r.object_type,
                    r.version,
                    r.spec_version,
                    r.date_added,
                    r.added_micros,
                    &*r.json,
                    r.meta
                ])?;
                for m in &r.marks {
                    mark.execute(params![partner, m, r.original])?;
                }
            }
        }
        tx.execute(
            "INSERT INTO view_state (partner, basis, through) VALUES (?1, ?2, ?3)
             ON CONFLICT (partner) DO UPDATE SET basis = excluded.basis, through = excluded.through",
            params![partner, state.basis, state.through],
        )?;
        tx.commit()?;
        Ok(true)
    }

    fn view_rows(&self, partner: &str, originals: &[String]) -> Result<Vec<ViewRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {VIEW_COLUMNS} FROM view_rows WHERE partner = ?1 AND original = ?2"
        ))?;
        let mut marks = self.conn.prepare_cached(
            "SELECT mark FROM view_marks WHERE partner = ?1 AND original = ?2 ORDER BY mark",
        )?;
        let mut out = Vec::new();
        for o in originals {
            if let Some(mut row) = stmt
                .query(params![partner, o])?
                .next()?
                .map(rows::view_row)
                .transpose()?
            {
                row.marks = marks
                    .query_map(params![partner, o], |r| r.get(0))?
                    .collect::<Result<_, _>>()?;
                out.push(row);
            }
        }
        Ok(out)
    }

    fn view_page(
        &self,
        partner: &str,
        after_micros: i64,
        limit: usize,
    ) -> Result<Vec<ViewRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {VIEW_COLUMNS} FROM view_rows WHERE partner = ?1 AND added > ?2
             ORDER BY added, delivered LIMIT ?3"
        ))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows =
            stmt.query_and_then(params![partner, after_micros, limit], |r| rows::view_row(r))?;
        rows.collect()
    }

    fn view_row_delivered(
        &self,
        partner: &str,
        delivered: &str,
    ) -> Result<Option<ViewRow>, StoreError> {
        self.conn
            .prepare_cached(&format!(
                "SELECT {VIEW_COLUMNS} FROM view_rows WHERE partner = ?1 AND delivered = ?2"
            ))?
            .query(params![partner, delivered])?
            .next()?
            .map(rows::view_row)
            .transpose()
    }

    fn view_marks(&self, partner: &str, excluding: &[String]) -> Result<Vec<String>, StoreError> {
        // A skip scan over (partner, mark): one seek per distinct marking.
        let mut next = self.conn.prepare_cached(
            "SELECT mark FROM view_marks WHERE partner = ?1 AND mark > ?2 ORDER BY mark LIMIT 1",
        )?;
        let mut carried = self.conn.prepare_cached(
            "SELECT 1 FROM view_marks WHERE partner = ?1 AND mark = ?2
             AND original NOT IN (SELECT value FROM json_each(?3)) LIMIT 1",
        )?;
        let excluded = serde_json::to_string(excluding)
            .map_err(|e| StoreError::Damaged(format!("view marks: {e}")))?;
        let mut out = Vec::new();
        let mut after = String::new();
        while let Some(mark) = next
            .query_row(params![partner, after], |r| r.get::<_, String>(0))
            .optional()?
        {
            if excluding.is_empty()
                || carried
                    .query_row(params![partner, mark, excluded], |_| Ok(()))
                    .optional()?
                    .is_some()
            {
                out.push(mark.clone());
            }
            after = mark;
        }
        Ok(out)
    }
}

fn to_i64(n: u64) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| StoreError::Damaged(format!("log index {n} out of range")))
}

/// The next index of a log table: one past the largest (indexes are contiguous from 0).
fn next_index(conn: &Connection, table: &str) -> Result<u64, StoreError> {
    let max: Option<i64> = conn
        .prepare_cached(&format!("SELECT max(idx) FROM {table}"))?
        .query_row([], |r| r.get(0))?;
    Ok(max.map_or(0, |m| m.max(-1) as u64 + 1))
}

/// Openings must be aligned with the entries they open (or absent).
pub(crate) fn check_openings(entries: usize, openings: usize) -> Result<(), StoreError> {
    if openings != 0 && openings != entries {
        return Err(StoreError::Damaged(format!(
            "{openings} openings for {entries} log entries"
        )));
    }
    Ok(())
}

fn sqlite_log_append(
    conn: &mut Connection,
    along: Along<'_>,
    entries: &[Vec<u8>],
    openings: &[LogOpening],
    hashes: &[(u64, [u8; 32])],
) -> Result<(u64, Vec<Timestamp>), StoreError> {
    check_openings(entries.len(), openings.len())?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let times = match along {
        Along::Releases(partner, keys) => sqlite_new_releases(&tx, partner, keys)?,
        Along::Match(charge) => {
            sqlite_charge(&tx, charge)?;
            Vec::new()
        }
        Along::Nothing => Vec::new(),
    };
    let size = next_index(&tx, "log_entries")?;
    let stored = next_index(&tx, "log_hashes")?;
    check_continues(stored, hashes)?;
    {
        let mut put = tx.prepare_cached("INSERT INTO log_entries (idx, entry) VALUES (?1, ?2)")?;
        for (i, e) in entries.iter().enumerate() {
            put.execute(params![to_i64(size + i as u64)?, e])?;
        }
        let mut put =
            tx.prepare_cached("INSERT INTO log_openings (idx, leaf, salt) VALUES (?1, ?2, ?3)")?;
        let mut grant =
            tx.prepare_cached("INSERT OR IGNORE INTO log_access (party, idx) VALUES (?1, ?2)")?;
        for (i, o) in openings.iter().enumerate() {
            let idx = to_i64(size + i as u64)?;
            put.execute(params![idx, o.leaf, &o.salt[..]])?;
            for p in &o.parties {
                grant.execute(params![p, idx])?;
            }
        }
        let mut put = tx.prepare_cached("INSERT INTO log_hashes (idx, hash) VALUES (?1, ?2)")?;
        for (i, h) in hashes {
            put.execute(params![to_i64(*i)?, &h[..]])?;
        }
    }
    tx.commit()?;
    Ok((size + entries.len() as u64, times))
}

/// Charges a matching request inside `tx` (an immediate transaction: no other writer runs
/// between the check and the charge).
fn sqlite_charge(tx: &rusqlite::Transaction<'_>, charge: &MatchCharge) -> Result<(), StoreError> {
    let seen = tx
        .prepare_cached("SELECT 1 FROM match_queries WHERE request = ?1")?
        .exists([&charge.request])?;
    let used: i64 = tx
        .prepare_cached(
            "SELECT coalesce(sum(count), 0) FROM match_queries WHERE partner = ?1 AND epoch = ?2",
        )?
        .query_row(params![charge.partner, to_i64(charge.epoch)?], |r| r.get(0))?;
    charge.check(seen, used)?;
    tx.prepare_cached(
        "INSERT INTO match_queries (request, partner, epoch, count, answered)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        charge.request,
        charge.partner,
        to_i64(charge.epoch)?,
        to_i64(charge.count)?,
        Timestamp::now().as_str()
    ])?;
    Ok(())
}

/// Records `keys` entering `partner`'s view now, inside `tx`: each gets a time after every
/// earlier one; a key recorded before is [`StoreError::ReleasesMoved`].
fn sqlite_new_releases(
    tx: &rusqlite::Transaction<'_>,
    partner: &str,
    keys: &[(String, String)],
) -> Result<Vec<Timestamp>, StoreError> {
    let mut last = 0i128;
    let newest: Option<String> = tx
        .prepare_cached("SELECT max(first) FROM releases WHERE partner = ?1")?
        .query_row([partner], |r| r.get(0))?;
    if let Some(t) = newest.and_then(|t| Timestamp::parse(&t).ok()) {
        last = t.unix_nanos();
    }
    let mut known = tx
        .prepare_cached("SELECT 1 FROM releases WHERE partner = ?1 AND id = ?2 AND version = ?3")?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO releases (partner, id, version, first) VALUES (?1, ?2, ?3, ?4)",
    )?;
    let mut received = tx.prepare_cached(RECEIVED_UPSERT)?;
    let mut out = Vec::with_capacity(keys.len());
    for (id, version) in keys {
        if known.exists(params![partner, id, version])? {
            return Err(StoreError::ReleasesMoved {
                partner: partner.to_owned(),
                id: id.clone(),
            });
        }
        last = Timestamp::now().unix_nanos().max(last + 1_000);
        let t = Timestamp::from_unix_nanos(last, 6)
            .ok_or_else(|| StoreError::Damaged("clock out of range".into()))?;
        insert.execute(params![partner, id, version, t.as_str()])?;
        received.execute(params![id, partner])?;
        out.push(t);
    }
    Ok(out)
}

/// Adds partner `?2` to the row of object `?1` in `received`, unless it is there already.
const RECEIVED_UPSERT: &str = "INSERT INTO received (id, partners) VALUES (?1, ?2)
     ON CONFLICT (id) DO UPDATE SET partners = partners || ' ' || excluded.partners
     WHERE instr(' ' || partners || ' ', ' ' || excluded.partners || ' ') = 0";

/// The most stored hashes [`LogStore::log_hashes`] asks SQLite for in one statement (well under
/// SQLite's limit of 32,766 parameters).
const HASHES_PER_QUERY: usize = 256;

/// `SELECT idx, hash FROM log_hashes WHERE idx IN (?1, ..., ?width)` for `width` a power of
/// two up to [`HASHES_PER_QUERY`], written once.
fn log_hashes_query(width: usize) -> &'static str {
    static QUERIES: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
        std::iter::successors(Some(1usize), |w| Some(w * 2))
            .take_while(|&w| w <= HASHES_PER_QUERY)
            .map(|w| {
                let params: Vec<String> = (1..=w).map(|k| format!("?{k}")).collect();
                format!(
                    "SELECT idx, hash FROM log_hashes WHERE idx IN ({})",
                    params.join(",")
                )
            })
            .collect()
    });
    QUERIES
        .get(width.trailing_zeros() as usize)
        .map_or("", String::as_str)
}

/// Rows of (idx, hash) into `found`.
fn collect_hashes(
    mut rows: rusqlite::Rows<'_>,
    found: &mut rustc_hash::FxHashMap<u64, [u8; 32]>,
) -> Result<(), StoreError> {
    while let Some(row) = rows.next()? {
        let i = row.get::<_, i64>(0)?.max(0) as u64;
        let h = row
            .get_ref(1)?
            .as_blob()
            .ok()
            .and_then(|h| <[u8; 32]>::try_from(h).ok())
            .ok_or_else(|| StoreError::Damaged(format!("stored hash {i} is not 32 bytes")))?;
        found.insert(i, h);
    }
    Ok(())
}

/// The hashes of an append must continue the `stored` hashes without gap or overlap.
pub(crate) fn check_continues(stored: u64, hashes: &[(u64, [u8; 32])]) -> Result<(), StoreError> {
    for (k, (i, _)) in hashes.iter().enumerate() {
        if *i != stored + k as u64 {
            return Err(StoreError::LogMoved {
                expected: hashes.first().map_or(stored, |h| h.0),
                found: stored,
            });
        }
    }
    Ok(())
}

impl OperatorStore for SqliteStore {
    fn put_operator(&mut self, o: &OperatorRecord) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO operators (name, role, phc, created, updated) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (name) DO UPDATE SET role = excluded.role, phc = excluded.phc,
                 updated = excluded.updated",
            params![o.name, o.role, o.phc, o.created, o.updated],
        )?;
        Ok(())
    }

    fn operator(&self, name: &str) -> Result<Option<OperatorRecord>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT name, role, phc, created, updated FROM operators WHERE name = ?1")?;
        let mut rows = stmt.query([name])?;
        rows.next()?.map(rows::operator).transpose()
    }

    fn operators(&self) -> Result<Vec<OperatorRecord>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT name, role, phc, created, updated FROM operators ORDER BY name",
        )?;
        let rows = stmt.query_and_then([], |r| rows::operator(r))?;
        rows.collect()
    }

    fn add_audit(&mut self, e: &AuditRecord) -> Result<i64, StoreError> {
        self.conn.execute(
            "INSERT INTO audit (at, operator, action, target, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![e.at, e.operator, e.action, e.target, e.detail],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    fn audit(&self, before: Option<i64>, limit: usize) -> Result<Vec<AuditRecord>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, at, operator, action, target, detail FROM audit
             WHERE ?1 IS NULL OR seq < ?1 ORDER BY seq DESC LIMIT ?2",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_and_then(params![before, limit], |r| rows::audit(r))?;
        rows.collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn indicator(modified: &str, value: &str) -> StixObject {
        let text = format!(
            r#"{{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-000000000001","created":"2026-01-01T00:00:00.000Z","modified":"{modified}","pattern":"[ipv4-addr:value = '{value}']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}}"#
        );
        liaison_stix::parse_document(&text)
            .unwrap()
            .objects
            .remove(0)
    }

    /// A partner's consents are one range of the `consents_to` index, not a scan of every
    /// consent: what each TAXII page reads to check its partner's view.
    #[test]
    fn a_partners_consents_are_read_from_the_index() {
        let s = SqliteStore::in_memory().unwrap();
        let plan: Vec<String> = s
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {}", CONSENTS[1]))
            .unwrap()
            .query_map(["GBR"], |r| r.get(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            plan.iter().any(|p| p.contains("USING INDEX consents_to")),
            "{plan:?}"
        );
        assert!(!plan.iter().any(|p| p.contains("TEMP B-TREE")), "{plan:?}");
    }

    #[test]
    fn a_file_made_before_stix20_was_read_gets_the_upgrades_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.db");
        let v1 = indicator("2026-01-01T00:00:00.000Z", "198.51.100.1");
        {
            let mut s = SqliteStore::open(&path).unwrap();
            s.ingest(
                &[NewObject {
                    object: &v1,
                    assigned_label: None,
                    upgrades: &[],
                }],
                "local",
                &mut |_| {},
            )
            .unwrap();
            // As such a file was: version 2, without the column (step 3 adds it).
            s.conn
                .execute_batch("ALTER TABLE objects DROP COLUMN upgrades; PRAGMA user_version = 2;")
                .unwrap();
        }
        let mut s = SqliteStore::open(&path).unwrap();
        assert!(s
            .latest(v1.id().as_str())
            .unwrap()
            .unwrap()
            .upgrades
            .is_empty());
        let read = liaison_stix::parse_document_upgrading(
            r#"{"type":"tool","id":"tool--00000000-0000-4000-8000-000000000002","created":"2017-05-31T21:32:40.000Z","modified":"2017-05-31T21:32:40.000Z","name":"t"}"#,
        )
        .unwrap();
        let tool = &read.document.objects[0];
        s.ingest(
            &[NewObject {
                object: tool,
                assigned_label: None,
                upgrades: &read.upgrades[0],
            }],
            "local",
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(
            s.latest(tool.id().as_str()).unwrap().unwrap().upgrades,
            read.upgrades[0]
        );
    }

    #[test]
    fn a_schema_1_file_is_migrated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.db");
        let (v1, v2) = (
            indicator("2026-01-01T00:00:00.000Z", "198.51.100.1"),
            indicator("2026-02-01T00:00:00.000Z", "198.51.100.2"),
        );
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch(
                "CREATE TABLE objects (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, version TEXT NOT NULL,
                    date_added TEXT NOT NULL, source TEXT NOT NULL, assigned_label TEXT, markings TEXT NOT NULL,
                    tearline_of TEXT, derived_src TEXT, derived_dst TEXT, ends TEXT, tags TEXT, body TEXT NOT NULL,
                    UNIQUE (id, version));
                 CREATE TABLE heads (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, version TEXT NOT NULL) WITHOUT ROWID;
                 PRAGMA user_version = 1;",
            )
            .unwrap();
            for (seq, o, added) in [
                (1, &v2, "2026-03-01T00:00:00.000001Z"),
                (2, &v1, "2026-03-01T00:00:00.000002Z"),
            ] {
                c.execute(
                    "INSERT INTO objects (seq, id, version, date_added, source, markings, ends, body)
                     VALUES (?1, ?2, ?3, ?4, 'local', '', '', ?5)",
                    params![seq, o.id().as_str(), version_key(o), added, o.raw()],
                )
                .unwrap();
            }
            c.execute(
                "INSERT INTO heads (id, seq, version) VALUES (?1, 1, ?2)",
                params![v2.id().as_str(), version_key(&v2)],
            )
            .unwrap();
        }
        let mut s = SqliteStore::open(&path).unwrap();
        assert_eq!(s.counts().unwrap(), (1, 2));
        let latest = s.latest(v1.id().as_str()).unwrap().unwrap();
        assert_eq!(latest.object.raw(), v2.raw());
        assert_eq!(s.versions(v1.id().as_str()).unwrap().len(), 2);
        let r = s
            .ingest(
                &[NewObject {
                    object: &v1,
                    assigned_label: None,
                    upgrades: &[],
                }],
                "local",
                &mut |_| {},
            )
            .unwrap();
        assert_eq!((r.added, r.duplicates), (0, 1));
        let v3 = indicator("2026-03-01T00:00:00.000Z", "198.51.100.3");
        s.ingest(
            &[NewObject {
                object: &v3,
                assigned_label: None,
                upgrades: &[],
            }],
            "local",
            &mut |_| {},
        )
        .unwrap();
        let latest = s.latest(v1.id().as_str()).unwrap().unwrap();
        assert_eq!(latest.object.raw(), v3.raw());
        assert!(latest.date_added.as_str() > "2026-03-01T00:00:00.000002Z");
        assert_eq!(s.counts().unwrap(), (1, 3));
    }
}
