//! Copying a node's store into an empty store of either backend (`liaison migrate`), table
//! by table, and a digest of every table to check the copy with.
//!
//! Every table is listed once in [`TABLES`] with the columns both backends share, so that a
//! table added to the schema and not here is caught by `every_table_is_copied` (a test), not
//! silently left behind. What each backend keeps beside those columns is rebuilt on the
//! target: SQLite's `objects.k` (the id's lookup key) and PostgreSQL's `heads`, both from the
//! `latest` flag read from the source; identity sequences continue after the largest `seq`;
//! the deleted-tail mark (so that `date_added` is never handed out twice) is carried over.
//! The change counter (`generation`) is not copied: it counts this database's commits.

use ::postgres::binary_copy::BinaryCopyInWriter;
use ::postgres::fallible_iterator::FallibleIterator;
use ::postgres::types::{ToSql, Type};
use rusqlite::types::ValueRef;
use sha2::{Digest, Sha256};

use crate::error::StoreError;
use crate::{AnyStore, PgStore, SqliteStore};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Int,
    Text,
    Blob,
}

/// One value of a row, as both backends can hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Cell {
    Null,
    Int(i64),
    Text(String),
    Blob(Vec<u8>),
}

struct Table {
    name: &'static str,
    columns: &'static [(&'static str, Kind)],
    /// The order rows are read (and digested) in: the primary key.
    order: &'static str,
    /// Rows left out (the change counter and the deleted-tail mark, in `meta`).
    filter: &'static str,
    /// A `seq` column the database numbers (PostgreSQL identity): its sequence continues
    /// after the copy's largest value.
    identity: bool,
}

use Kind::{Blob, Int, Text};

/// `objects` has one more column than it stores in both backends: `latest` (SQLite's column;
/// PostgreSQL's `heads`).
const LATEST: &str = "latest";

/// Every table of the schema, in the order they are copied.
const TABLES: &[Table] = &[
    Table {
        name: "meta",
        columns: &[("key", Text), ("value", Text)],
        order: "key",
        filter: "WHERE key NOT IN ('generation', 'deleted_tail')",
        identity: false,
    },
    Table {
        name: "objects",
        columns: &[
            ("seq", Int),
            ("id", Text),
            ("version", Text),
            ("date_added", Text),
            ("source", Text),
            ("assigned_label", Text),
            ("markings", Text),
            ("tearline_of", Text),
            ("derived_src", Text),
            ("derived_dst", Text),
            ("ends", Text),
            ("tags", Text),
            ("body", Text),
            ("upgrades", Text),
            (LATEST, Int),
        ],
        order: "seq",
        filter: "",
        identity: true,
    },
    Table {
        name: "partners",
        columns: &[("party", Text), ("agreement", Text), ("updated", Text)],
        order: "party",
        filter: "",
        identity: false,
    },
    Table {
        name: "consents",
        columns: &[
            ("id", Text),
            ("object", Text),
            ("to_party", Text),
            ("by_party", Text),
            ("created", Text),
            ("signed", Text),
        ],
        order: "id",
        filter: "",
        identity: false,
    },
    Table {
        name: "holds",
        columns: &[
            ("object", Text),
            ("partner", Text),
            ("by_operator", Text),
            ("created", Text),
            ("reason", Text),
        ],
        order: "partner, object",
        filter: "",
        identity: false,
    },
    Table {
        name: "releases",
        columns: &[
            ("partner", Text),
            ("id", Text),
            ("version", Text),
            ("first", Text),
        ],
        order: "partner, id, version",
        filter: "",
        identity: false,
    },
    Table {
        name: "received",
        columns: &[("id", Text), ("partners", Text)],
        order: "id",
        filter: "",
        identity: false,
    },
    Table {
        name: "delivered_ids",
        columns: &[("delivered", Text), ("partner", Text), ("original", Text)],
        order: "delivered",
        filter: "",
        identity: false,
    },
    Table {
        name: "credentials",
        columns: &[("party", Text), ("phc", Text), ("updated", Text)],
        order: "party",
        filter: "",
        identity: false,
    },
    Table {
        name: "log_entries",
        columns: &[("idx", Int), ("entry", Blob)],
        order: "idx",
        filter: "",
        identity: false,
    },
    Table {
        name: "log_hashes",
        columns: &[("idx", Int), ("hash", Blob)],
        order: "idx",
        filter: "",
        identity: false,
    },
    Table {
        name: "log_openings",
        columns: &[("idx", Int), ("leaf", Blob), ("salt", Blob)],
        order: "idx",
        filter: "",
        identity: false,
    },
    Table {
        name: "log_access",
        columns: &[("party", Text), ("idx", Int)],
        order: "party, idx",
        filter: "",
        identity: false,
    },
    Table {
        name: "log_checkpoints",
        columns: &[("size", Int), ("note", Text), ("created", Text)],
        order: "size",
        filter: "",
        identity: false,
    },
    Table {
        name: "log_cosignatures",
        columns: &[
            ("size", Int),
            ("cosigner", Text),
            ("line", Text),
            ("created", Text),
        ],
        order: "size, cosigner",
        filter: "",
        identity: false,
    },
    Table {
        name: "partner_checkpoints",
        columns: &[
            ("party", Text),
            ("size", Int),
            ("note", Text),
            ("updated", Text),
        ],
        order: "party",
        filter: "",
        identity: false,
    },
    Table {
        name: "log_forks",
        columns: &[
            ("seq", Int),
            ("party", Text),
            ("created", Text),
            ("evidence", Text),
        ],
        order: "seq",
        filter: "",
        identity: true,
    },
    Table {
        name: "partner_keys",
        columns: &[("party", Text), ("kind", Text), ("key", Text)],
        order: "party, kind",
        filter: "",
        identity: false,
    },
    Table {
        name: "agreement_notes",
        columns: &[
            ("partner", Text),
            ("side", Text),
            ("sha256", Text),
            ("text", Text),
            ("note", Text),
            ("updated", Text),
        ],
        order: "partner, side",
        filter: "",
        identity: false,
    },
    Table {
        name: "match_queries",
        columns: &[
            ("request", Text),
            ("partner", Text),
            ("epoch", Int),
            ("count", Int),
            ("answered", Text),
        ],
        order: "request",
        filter: "",
        identity: false,
    },
    Table {
        name: "refusals",
        columns: &[
            ("seq", Int),
            ("created", Text),
            ("sender", Text),
            ("id", Text),
            ("version", Text),
            ("reason", Text),
            ("body", Text),
        ],
        order: "seq",
        filter: "",
        identity: true,
    },
    Table {
        name: "operators",
        columns: &[
            ("name", Text),
            ("role", Text),
            ("phc", Text),
            ("created", Text),
            ("updated", Text),
        ],
        order: "name",
        filter: "",
        identity: false,
    },
    Table {
        name: "audit",
        columns: &[
            ("seq", Int),
            ("at", Text),
            ("operator", Text),
            ("action", Text),
            ("target", Text),
            ("detail", Text),
        ],
        order: "seq",
        filter: "",
        identity: true,
    },
    // The change feed, and the derived indexes kept through it (`pairs.rs`): copied, since
    // `meta` says how far each is built and must stay true of the copy.
    Table {
        name: "object_changes",
        columns: &[("seq", Int), ("id", Text)],
        order: "seq",
        filter: "",
        identity: true,
    },
    Table {
        name: "object_refs",
        columns: &[("ref", Text), ("id", Text)],
        order: "ref, id",
        filter: "",
        identity: false,
    },
    // Copied for the same reason: `meta.content_keys_through`.
    Table {
        name: "content_keys",
        columns: &[("key", Text), ("id", Text)],
        order: "key, id",
        filter: "",
        identity: false,
    },
];

/// Tables that are the backends' own bookkeeping, rebuilt rather than copied. The stored
/// views (`view_state`, `view_rows`, `view_marks`) are left behind too: a node on the copy
/// computes each partner's view whole on its first request, from the releases (copied), so
/// with the same `date_added` and nothing delivered twice.
#[cfg(test)]
const NOT_COPIED: &[&str] = &[
    "heads",
    "schema_version",
    "view_state",
    "view_rows",
    "view_marks",
    "sqlite_sequence",
];

/// Rows moved per write transaction on the target.
const CHUNK: usize = 5_000;

/// One table's rows and a SHA-256 over them (in key order, every column, the same encoding
/// whichever backend they were read from).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDigest {
    /// The table.
    pub table: &'static str,
    /// Its rows.
    pub rows: u64,
    /// SHA-256 of its rows, lowercase hex.
    pub sha256: String,
}

/// The deleted-tail mark: the last `date_added` handed out to a version since deleted, and
/// (SQLite) the `seq` it had.
struct Tail {
    seq: Option<i64>,
    date_added: String,
}

impl AnyStore {
    /// How many rows each table holds, in copy order.
    pub fn table_rows(&self) -> Result<Vec<(&'static str, u64)>, StoreError> {
        TABLES
            .iter()
            .map(|t| {
                let sql = format!("SELECT count(*) FROM {} {}", t.name, t.filter);
                let n: i64 = match self {
                    AnyStore::Sqlite(s) => s.conn.query_row(&sql, [], |r| r.get(0))?,
                    AnyStore::Pg(p) => p.client()?.query_one(&sql, &[])?.try_get(0)?,
                };
                Ok((t.name, n.max(0) as u64))
            })
            .collect()
    }

    /// Refuses a store that holds anything ([`StoreError::NotEmpty`]).
    pub fn ensure_empty(&self) -> Result<(), StoreError> {
        match self.table_rows()?.into_iter().find(|(_, n)| *n > 0) {
            Some((table, rows)) => Err(StoreError::NotEmpty {
                table: table.to_owned(),
                rows,
            }),
            None => Ok(()),
        }
    }

    /// A digest of every table, in copy order: two stores with the same digests hold the
    /// same rows.
    pub fn digests(&self) -> Result<Vec<TableDigest>, StoreError> {
        self.read_snapshot(|store| {
            TABLES
                .iter()
                .map(|t| {
                    let mut hash = Sha256::new();
                    let mut rows = 0u64;
                    store.scan_table(t, &mut |row| {
                        rows += 1;
                        digest_row(&mut hash, &row);
                        Ok(())
                    })?;
                    Ok(TableDigest {
                        table: t.name,
                        rows,
                        sha256: lower_hex(&hash.finalize()),
                    })
                })
                .collect()
        })
    }

    /// Copies every row into `target`, which must be empty (checked first). `progress` is
    /// called with the table being copied and the rows copied so far, over all tables. The
    /// source is read in one snapshot; the target is written in chunks, so a failure leaves
    /// it partly written (empty it before trying again).
    pub fn copy_to(
        &self,
        target: &mut AnyStore,
        progress: &mut dyn FnMut(&str, u64),
    ) -> Result<(), StoreError> {
        target.ensure_empty()?;
        self.read_snapshot(|source| {
            let mut done = 0u64;
            for t in TABLES {
                let mut chunk: Vec<Vec<Cell>> = Vec::with_capacity(CHUNK);
                source.scan_table(t, &mut |row| {
                    chunk.push(row);
                    if chunk.len() == CHUNK {
                        target.load(t, &chunk)?;
                        done += chunk.len() as u64;
                        chunk.clear();
                        progress(t.name, done);
                    }
                    Ok(())
                })?;
                if !chunk.is_empty() {
                    target.load(t, &chunk)?;
                    done += chunk.len() as u64;
                }
                progress(t.name, done);
            }
            let tail = source.tail()?;
            target.finish(tail.as_ref())
        })
    }

    /// Runs `f` inside one read transaction, so that everything it reads is one state.
    fn read_snapshot<T>(
        &self,
        f: impl FnOnce(&AnyStore) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let (begin, end) = match self {
            AnyStore::Sqlite(_) => ("BEGIN DEFERRED", "COMMIT"),
            AnyStore::Pg(_) => ("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "COMMIT"),
        };
        self.batch(begin)?;
        let result = f(self);
        let closed = self.batch(if result.is_ok() { end } else { "ROLLBACK" });
        let value = result?;
        closed?;
        Ok(value)
    }

    fn batch(&self, sql: &str) -> Result<(), StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.conn.execute_batch(sql)?,
            AnyStore::Pg(p) => p.client()?.batch_execute(sql)?,
        }
        Ok(())
    }

    fn scan_table(
        &self,
        t: &Table,
        f: &mut dyn FnMut(Vec<Cell>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        match self {
            AnyStore::Sqlite(s) => scan_sqlite(s, t, f),
            AnyStore::Pg(p) => scan_pg(p, t, f),
        }
    }

    fn load(&mut self, t: &Table, rows: &[Vec<Cell>]) -> Result<(), StoreError> {
        match self {
            AnyStore::Sqlite(s) => load_sqlite(s, t, rows),
            AnyStore::Pg(p) => load_pg(p, t, rows),
        }
    }

    fn tail(&self) -> Result<Option<Tail>, StoreError> {
        let value: Option<String> = match self {
            AnyStore::Sqlite(s) => {
                use rusqlite::OptionalExtension;
                s.conn
                    .query_row(
                        "SELECT value FROM meta WHERE key = 'deleted_tail'",
                        [],
                        |r| r.get(0),
                    )
                    .optional()?
            }
            AnyStore::Pg(p) => p
                .client()?
                .query_opt("SELECT value FROM meta WHERE key = 'deleted_tail'", &[])?
                .map(|r| r.try_get(0))
                .transpose()?,
        };
        Ok(value.map(|v| match v.split_once(' ') {
            // SQLite keeps "<seq> <date_added>", PostgreSQL the date alone.
            Some((seq, date)) => Tail {
                seq: seq.parse().ok(),
                date_added: date.to_owned(),
            },
            None => Tail {
                seq: None,
                date_added: v,
            },
        }))
    }

    /// What the target needs once every row is in: identity sequences continued and the
    /// deleted-tail mark.
    fn finish(&mut self, tail: Option<&Tail>) -> Result<(), StoreError> {
        match self {
            AnyStore::Sqlite(s) => {
                if let Some(tail) = tail {
                    // SQLite continues `seq` after the largest row; the mark keeps it after
                    // the deleted one too.
                    let max: i64 =
                        s.conn
                            .query_row("SELECT coalesce(max(seq), 0) FROM objects", [], |r| {
                                r.get(0)
                            })?;
                    let seq = tail.seq.unwrap_or(max).max(max);
                    s.conn.execute(
                        "INSERT INTO meta (key, value) VALUES ('deleted_tail', ?1)",
                        [format!("{seq} {}", tail.date_added)],
                    )?;
                }
            }
            AnyStore::Pg(p) => {
                let mut client = p.client()?;
                let mut tx = client.transaction()?;
                for t in TABLES.iter().filter(|t| t.identity) {
                    let floor = if t.name == "objects" {
                        tail.and_then(|t| t.seq).unwrap_or(0)
                    } else {
                        0
                    };
                    tx.execute(
                        &format!(
                            "SELECT setval(pg_get_serial_sequence('{0}', 'seq'), greatest(coalesce(max(seq), 0), $1, 1), greatest(coalesce(max(seq), 0), $1) > 0) FROM {0}",
                            t.name
                        ),
                        &[&floor],
                    )?;
                }
                if let Some(tail) = tail {
                    tx.execute(
                        "INSERT INTO meta (key, value) VALUES ('deleted_tail', $1)",
                        &[&tail.date_added],
                    )?;
                }
                tx.commit()?;
            }
        }
        Ok(())
    }
}

fn select_list(t: &Table, latest: &str) -> String {
    t.columns
        .iter()
        .map(|(c, _)| {
            if *c == LATEST {
                latest.to_owned()
            } else if t.name == "objects" {
                format!("o.{c}")
            } else {
                (*c).to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn scan_sqlite(
    s: &SqliteStore,
    t: &Table,
    f: &mut dyn FnMut(Vec<Cell>) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let sql = if t.name == "objects" {
        format!(
            "SELECT {} FROM objects o ORDER BY o.seq",
            select_list(t, "o.latest")
        )
    } else {
        format!(
            "SELECT {} FROM {} {} ORDER BY {}",
            select_list(t, ""),
            t.name,
            t.filter,
            t.order
        )
    };
    let mut stmt = s.conn.prepare(&sql)?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let mut row = Vec::with_capacity(t.columns.len());
        for (i, (column, kind)) in t.columns.iter().enumerate() {
            let cell = match (r.get_ref(i)?, kind) {
                (ValueRef::Null, _) => Cell::Null,
                (ValueRef::Integer(n), Int) => Cell::Int(n),
                (ValueRef::Text(b), Text) => {
                    Cell::Text(String::from_utf8(b.to_vec()).map_err(|_| {
                        StoreError::Damaged(format!("{}.{column}: text that is not UTF-8", t.name))
                    })?)
                }
                (ValueRef::Blob(b), Blob) => Cell::Blob(b.to_vec()),
                (other, _) => {
                    return Err(StoreError::Damaged(format!(
                        "{}.{column}: a {:?} value where {kind:?} was expected",
                        t.name,
                        other.data_type()
                    )))
                }
            };
            row.push(cell);
        }
        f(row)?;
    }
    Ok(())
}

fn scan_pg(
    p: &PgStore,
    t: &Table,
    f: &mut dyn FnMut(Vec<Cell>) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let sql = if t.name == "objects" {
        format!(
            "SELECT {} FROM objects o LEFT JOIN heads h ON h.seq = o.seq ORDER BY o.seq",
            select_list(t, "CASE WHEN h.seq IS NULL THEN 0 ELSE 1 END::bigint")
        )
    } else {
        format!(
            "SELECT {} FROM {} {} ORDER BY {}",
            select_list(t, ""),
            t.name,
            t.filter,
            t.order
        )
    };
    let mut client = p.client()?;
    let mut rows = client.query_raw(&sql, std::iter::empty::<i64>())?;
    while let Some(r) = rows.next()? {
        let mut row = Vec::with_capacity(t.columns.len());
        for (i, (_, kind)) in t.columns.iter().enumerate() {
            let cell = match kind {
                Int => r.try_get::<_, Option<i64>>(i)?.map(Cell::Int),
                Text => r.try_get::<_, Option<String>>(i)?.map(Cell::Text),
                Blob => r.try_get::<_, Option<Vec<u8>>>(i)?.map(Cell::Blob),
            };
            row.push(cell.unwrap_or(Cell::Null));
        }
        f(row)?;
    }
    Ok(())
}

impl rusqlite::ToSql for Cell {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(match self {
            Cell::Null => rusqlite::types::ToSqlOutput::Borrowed(ValueRef::Null),
            Cell::Int(n) => (*n).into(),
            Cell::Text(s) => rusqlite::types::ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Cell::Blob(b) => rusqlite::types::ToSqlOutput::Borrowed(ValueRef::Blob(b)),
        })
    }
}

fn load_sqlite(s: &mut SqliteStore, t: &Table, rows: &[Vec<Cell>]) -> Result<(), StoreError> {
    let names: Vec<&str> = t.columns.iter().map(|(c, _)| *c).collect();
    let objects = t.name == "objects";
    // objects: `k`, the id's lookup key, goes last.
    let (columns, count) = if objects {
        (format!("{}, k", names.join(", ")), names.len() + 1)
    } else {
        (names.join(", "), names.len())
    };
    let marks: Vec<String> = (1..=count).map(|i| format!("?{i}")).collect();
    let sql = format!(
        "INSERT INTO {} ({columns}) VALUES ({})",
        t.name,
        marks.join(", ")
    );
    let tx = s.conn.transaction()?;
    {
        let mut insert = tx.prepare(&sql)?;
        let id_at = names.iter().position(|c| *c == "id");
        for row in rows {
            let mut values: Vec<&dyn rusqlite::ToSql> =
                row.iter().map(|c| c as &dyn rusqlite::ToSql).collect();
            let key;
            if objects {
                key = match id_at.and_then(|i| row.get(i)) {
                    Some(Cell::Text(id)) => crate::sqlite::id_key(id),
                    _ => return Err(StoreError::Damaged("objects: a row without an id".into())),
                };
                values.push(&key);
            }
            insert.execute(values.as_slice())?;
        }
    }
    tx.commit()?;
    Ok(())
}

fn load_pg(p: &mut PgStore, t: &Table, rows: &[Vec<Cell>]) -> Result<(), StoreError> {
    let stored: Vec<(&str, Kind)> = t
        .columns
        .iter()
        .filter(|(c, _)| *c != LATEST)
        .copied()
        .collect();
    let names: Vec<&str> = stored.iter().map(|(c, _)| *c).collect();
    let types: Vec<Type> = stored
        .iter()
        .map(|(_, k)| match k {
            Int => Type::INT8,
            Text => Type::TEXT,
            Blob => Type::BYTEA,
        })
        .collect();
    let client = p.client.get_mut();
    let mut tx = client.transaction()?;
    {
        let sink = tx.copy_in(&format!(
            "COPY {} ({}) FROM STDIN (FORMAT binary)",
            t.name,
            names.join(", ")
        ))?;
        let mut writer = BinaryCopyInWriter::new(sink, &types);
        for row in rows {
            let values: Vec<Box<dyn ToSql + Sync>> = stored
                .iter()
                .zip(row)
                .map(|((_, kind), cell)| -> Box<dyn ToSql + Sync> {
                    match (cell, kind) {
                        (Cell::Int(n), _) => Box::new(*n),
                        (Cell::Text(s), _) => Box::new(s.clone()),
                        (Cell::Blob(b), _) => Box::new(b.clone()),
                        (Cell::Null, Int) => Box::new(None::<i64>),
                        (Cell::Null, Text) => Box::new(None::<String>),
                        (Cell::Null, Blob) => Box::new(None::<Vec<u8>>),
                    }
                })
                .collect();
            let refs: Vec<&(dyn ToSql + Sync)> = values.iter().map(|b| b.as_ref()).collect();
            writer.write(&refs)?;
        }
        writer.finish()?;
    }
    if t.name == "objects" {
        let latest_at = t.columns.iter().position(|(c, _)| *c == LATEST);
        let seqs: Vec<i64> = rows
            .iter()
            .filter(|r| latest_at.and_then(|i| r.get(i)) == Some(&Cell::Int(1)))
            .filter_map(|r| match r.first() {
                Some(Cell::Int(seq)) => Some(*seq),
                _ => None,
            })
            .collect();
        tx.execute(
            "INSERT INTO heads (id, seq, version) SELECT id, seq, version FROM objects WHERE seq = ANY($1)",
            &[&seqs],
        )?;
    }
    tx.commit()?;
    Ok(())
}

fn digest_row(hash: &mut Sha256, row: &[Cell]) {
    for cell in row {
        match cell {
            Cell::Null => hash.update([0u8]),
            Cell::Int(n) => {
                hash.update([1u8]);
                hash.update(n.to_le_bytes());
            }
            Cell::Text(s) => {
                hash.update([2u8]);
                hash.update((s.len() as u64).to_le_bytes());
                hash.update(s.as_bytes());
            }
            Cell::Blob(b) => {
                hash.update([3u8]);
                hash.update((b.len() as u64).to_le_bytes());
                hash.update(b);
            }
        }
    }
}

fn lower_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A table added to the SQLite schema must be listed in [`TABLES`] (or be bookkeeping),
    /// or `liaison migrate` would leave it behind.
    #[test]
    fn every_table_is_copied() {
        let s = SqliteStore::in_memory().unwrap();
        let mut stmt = s
            .conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap();
        let names: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(names.len() > 15, "{names:?}");
        for name in names {
            assert!(
                TABLES.iter().any(|t| t.name == name) || NOT_COPIED.contains(&name.as_str()),
                "table `{name}` is not copied by `liaison migrate`: add it to TABLES in copy.rs"
            );
        }
    }
}
