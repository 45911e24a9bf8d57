//! The embedded default backend: one SQLite file in the node's home, WAL mode. Objects are
//! stored as their received text; the columns beside the text are what the label engine
//! reads without parsing bodies. `heads` maps every id to its newest version.

use std::path::Path;

use liaison_stix::{StixObject, Timestamp};
use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::error::StoreError;
use crate::record::{
    ConsentRecord, IndexRow, IngestReport, NewObject, NodeRecord, PartnerRecord, Stored,
};
use crate::Store;

const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS objects (
    seq INTEGER PRIMARY KEY,
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
    UNIQUE (id, version)
);
CREATE TABLE IF NOT EXISTS heads (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    version TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS partners (party TEXT PRIMARY KEY, agreement TEXT NOT NULL, updated TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS consents (
    id TEXT PRIMARY KEY, object TEXT NOT NULL, to_party TEXT NOT NULL, by_party TEXT NOT NULL, created TEXT NOT NULL
);
";

/// The embedded SQLite store.
pub struct SqliteStore {
    conn: Connection,
    last_added: i128,
}

impl SqliteStore {
    /// Opens (creating if needed) the store at `path`.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let conn = Connection::open(path)?;
        Self::setup(conn)
    }

    /// A store that lives in memory, for tests and benchmarks.
    pub fn in_memory() -> Result<SqliteStore, StoreError> {
        Self::setup(Connection::open_in_memory()?)
    }

    fn setup(conn: Connection) -> Result<SqliteStore, StoreError> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "cache_size", -262_144)?; // KiB: 256 MiB of page cache
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::Schema {
                found,
                known: SCHEMA_VERSION,
            });
        }
        conn.execute_batch(SCHEMA)?;
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        let last: Option<String> =
            conn.query_row("SELECT max(date_added) FROM objects", [], |r| r.get(0))?;
        let last_added = last
            .and_then(|s| Timestamp::parse(&s).ok())
            .map(|t| t.unix_nanos())
            .unwrap_or(0);
        Ok(SqliteStore { conn, last_added })
    }

    /// The next `date_added`: now, but always after the previous one, so that `date_added`
    /// orders versions strictly (TAXII pages on it).
    fn next_added(&mut self) -> Timestamp {
        let now = Timestamp::now().unix_nanos();
        let next = now.max(self.last_added + 1_000);
        self.last_added = next;
        Timestamp::from_unix_nanos(next, 6).unwrap_or_else(Timestamp::now)
    }
}

fn version_key(o: &StixObject) -> String {
    o.version().map(Timestamp::sort_key).unwrap_or_default()
}

fn read_stored(row: &Row<'_>) -> rusqlite::Result<(i64, String, String, String, Option<String>)> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
    ))
}

fn to_stored(
    (seq, body, date_added, source, assigned): (i64, String, String, String, Option<String>),
) -> Result<Stored, StoreError> {
    let doc = liaison_stix::parse_document(&body)
        .map_err(|e| StoreError::Damaged(format!("row {seq}: {e}")))?;
    let object = doc
        .objects
        .into_iter()
        .next()
        .ok_or_else(|| StoreError::Damaged(format!("row {seq}: empty body")))?;
    let date_added = Timestamp::parse(&date_added)
        .map_err(|e| StoreError::Damaged(format!("row {seq}: {e}")))?;
    let assigned_label = match assigned {
        None => None,
        Some(s) => Some(
            liaison_stix::StixId::parse(&s)
                .map_err(|e| StoreError::Damaged(format!("row {seq}: {e}")))?,
        ),
    };
    Ok(Stored {
        seq,
        object,
        date_added,
        source,
        assigned_label,
    })
}

const STORED_COLUMNS: &str = "o.seq, o.body, o.date_added, o.source, o.assigned_label";

impl Store for SqliteStore {
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
        let saved_last = self.last_added;
        let mut stamps = Vec::with_capacity(batch.len());
        for _ in batch {
            stamps.push(self.next_added());
        }
        let tx = self.conn.transaction()?;
        let result = (|| {
            let mut insert = tx.prepare_cached(
                "INSERT INTO objects (id, version, date_added, source, assigned_label, markings, tearline_of, derived_src, derived_dst, ends, tags, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
                 ON CONFLICT (id, version) DO NOTHING",
            )?;
            let mut head = tx.prepare_cached(
                "INSERT INTO heads (id, seq, version) VALUES (?1, ?2, ?3)
                 ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, version = excluded.version
                 WHERE excluded.version > heads.version",
            )?;
            let mut existing =
                tx.prepare_cached("SELECT body FROM objects WHERE id = ?1 AND version = ?2")?;
            for (index, (item, stamp)) in batch.iter().zip(&stamps).enumerate() {
                let o = item.object;
                let version = version_key(o);
                let row = IndexRow::of(0, o, item.assigned_label, source);
                let tags = if row.tags.is_empty() {
                    None
                } else {
                    Some(serde_json::Value::from(row.tags.clone()).to_string())
                };
                let (dsrc, ddst) = match &row.derivation {
                    Some((a, b)) => (Some(a.as_str()), Some(b.as_str())),
                    None => (None, None),
                };
                let n = insert.execute(params![
                    row.id,
                    version,
                    stamp.as_str(),
                    source,
                    row.assigned_label,
                    row.markings.join(" "),
                    row.tearline_of,
                    dsrc,
                    ddst,
                    row.ends.join(" "),
                    tags,
                    o.raw(),
                ])?;
                if n == 0 {
                    let body: String =
                        existing.query_row(params![row.id, version], |r| r.get(0))?;
                    let same = body == o.raw()
                        || serde_json::from_str::<serde_json::Value>(&body)
                            .map(|v| v.as_object() == Some(o.props()))
                            .unwrap_or(false);
                    if !same {
                        return Err(StoreError::Conflict {
                            index,
                            id: row.id,
                            version: o.version().map(ToString::to_string).unwrap_or_default(),
                        });
                    }
                    report.duplicates += 1;
                } else {
                    head.execute(params![row.id, tx.last_insert_rowid(), version])?;
                    report.added += 1;
                }
                if index % 4096 == 4095 {
                    progress(index as u64 + 1);
                }
            }
            Ok(())
        })();
        match result {
            Ok(()) => {
                tx.commit()?;
                progress(batch.len() as u64);
                Ok(report)
            }
            Err(e) => {
                self.last_added = saved_last;
                // dropping the transaction rolls it back
                Err(e)
            }
        }
    }

    fn latest(&self, id: &str) -> Result<Option<Stored>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {STORED_COLUMNS} FROM heads h JOIN objects o ON o.seq = h.seq WHERE h.id = ?1"
        ))?;
        let row = stmt.query_row([id], read_stored).optional()?;
        row.map(to_stored).transpose()
    }

    fn versions(&self, id: &str) -> Result<Vec<Stored>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {STORED_COLUMNS} FROM objects o WHERE o.id = ?1 ORDER BY o.version"
        ))?;
        let rows = stmt.query_map([id], read_stored)?;
        rows.map(|r| to_stored(r?)).collect()
    }

    fn scan_latest(
        &self,
        f: &mut dyn FnMut(Stored) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {STORED_COLUMNS} FROM heads h JOIN objects o ON o.seq = h.seq ORDER BY o.seq"
        ))?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            f(to_stored(read_stored(row)?)?)?;
        }
        Ok(())
    }

    fn scan_index(&self, f: &mut dyn FnMut(IndexRow)) -> Result<(), StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT o.seq, o.id, o.markings, o.assigned_label, o.tearline_of, o.derived_src, o.derived_dst, o.tags, o.source, o.ends
             FROM heads h JOIN objects o ON o.seq = h.seq ORDER BY o.seq",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let seq: i64 = row.get(0)?;
            let markings: String = row.get(2)?;
            let src: Option<String> = row.get(5)?;
            let dst: Option<String> = row.get(6)?;
            let tags: Option<String> = row.get(7)?;
            let tags = match tags {
                None => Vec::new(),
                Some(t) => serde_json::from_str(&t)
                    .map_err(|e| StoreError::Damaged(format!("row {seq}: tags: {e}")))?,
            };
            f(IndexRow {
                seq,
                id: row.get(1)?,
                markings: markings.split_whitespace().map(str::to_owned).collect(),
                assigned_label: row.get(3)?,
                tearline_of: row.get(4)?,
                derivation: src.zip(dst),
                ends: row
                    .get::<_, String>(9)?
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect(),
                tags,
                source: row.get(8)?,
            });
        }
        Ok(())
    }

    fn counts(&self) -> Result<(u64, u64), StoreError> {
        let heads: i64 = self
            .conn
            .query_row("SELECT count(*) FROM heads", [], |r| r.get(0))?;
        let versions: i64 = self
            .conn
            .query_row("SELECT count(*) FROM objects", [], |r| r.get(0))?;
        Ok((heads.max(0) as u64, versions.max(0) as u64))
    }

    fn put_partner(&mut self, p: &PartnerRecord) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO partners (party, agreement, updated) VALUES (?1, ?2, ?3)
             ON CONFLICT (party) DO UPDATE SET agreement = excluded.agreement, updated = excluded.updated",
            params![p.party, p.agreement, p.updated],
        )?;
        Ok(())
    }

    fn partner(&self, party: &str) -> Result<Option<PartnerRecord>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT party, agreement, updated FROM partners WHERE party = ?1",
                [party],
                |r| {
                    Ok(PartnerRecord {
                        party: r.get(0)?,
                        agreement: r.get(1)?,
                        updated: r.get(2)?,
                    })
                },
            )
            .optional()?)
    }

    fn partners(&self) -> Result<Vec<PartnerRecord>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT party, agreement, updated FROM partners ORDER BY party")?;
        let rows = stmt.query_map([], |r| {
            Ok(PartnerRecord {
                party: r.get(0)?,
                agreement: r.get(1)?,
                updated: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn add_consent(&mut self, c: &ConsentRecord) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO consents (id, object, to_party, by_party, created) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![c.id, c.object, c.to, c.by, c.created],
        )?;
        Ok(())
    }

    fn consents(&self) -> Result<Vec<ConsentRecord>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, object, to_party, by_party, created FROM consents ORDER BY created, id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(ConsentRecord {
                id: r.get(0)?,
                object: r.get(1)?,
                to: r.get(2)?,
                by: r.get(3)?,
                created: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
