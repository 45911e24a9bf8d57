//! The PostgreSQL backend, for deployments: the same tables and semantics as the SQLite
//! backend. Tables live in the first schema of the connection's `search_path` (choose one
//! with `?options=-csearch_path%3Dname` in the URL).
//!
//! A batch is one transaction: rows are copied (binary `COPY`) into a session-local temporary
//! table, then moved with one `INSERT .. SELECT .. ON CONFLICT DO NOTHING` that also updates
//! `heads`; if some rows were not inserted, they are compared with what is stored (duplicate
//! or conflict). Every ingest takes a transaction-level advisory lock and starts `date_added`
//! after the largest one in the database, so that several processes writing to one database
//! still give strictly increasing `date_added` in the order of `seq`.
//!
//! [`ObjectStore::generation`] is a counter row in `meta`, bumped inside every transaction that
//! changes objects, partners, consents or credentials.
//!
//! Connections are plain TCP (`NoTls`); TLS for deployments is still to come.

use std::cell::{RefCell, RefMut};

use ::postgres::binary_copy::BinaryCopyInWriter;
use ::postgres::fallible_iterator::FallibleIterator;
use ::postgres::types::{ToSql, Type};
use ::postgres::{Client, NoTls};
use liaison_stix::{StixObject, Timestamp};

use crate::error::StoreError;
use crate::pairs::{PairIndex, CONTENT_KEYS, REFS};
use crate::prelude::*;
use crate::record::{
    AgreementNoteRecord, AuditRecord, BasisInputs, ConsentRecord, ForkRecord, HoldRecord, IndexRow,
    IngestReport, LogOpening, MatchCharge, MatchUsage, NewObject, NodeRecord, OperatorRecord,
    PartnerRecord, Refusal, RefusalKind, RefusalRecord, Stored, ViewRow, ViewState,
};
use crate::releases::{self, Released};
use crate::rows::{self, INDEX_COLUMNS, STORED_COLUMNS, VIEW_COLUMNS};
use crate::Along;
use rustc_hash::FxHashMap;

/// One migration step: the SQL that takes the schema from version `to - 1` to `to`, run in
/// the setup transaction (under [`SETUP_LOCK`]) with the version bump.
struct Step {
    to: i64,
    sql: &'static str,
}

/// The schema's history, oldest first. To change the schema, append a step (`to` one more
/// than the last) and never edit one that has shipped: a database is at the version of the
/// last step it ran. A node refuses a database whose version is past the last step here.
const STEPS: &[Step] = &[
    // 1: the tables as they were when versions began to be counted.
    Step { to: 1, sql: SCHEMA },
    // 2: catch up a version-1 database made before columns and tables were added under the
    // same version number (every statement of SCHEMA is idempotent).
    Step { to: 2, sql: SCHEMA },
    // 3: maintained views (issue 14).
    Step {
        to: 3,
        sql: VIEWS_SCHEMA,
    },
    // 4: release officers' holds (issue 13).
    Step {
        to: 4,
        sql: HOLDS_SCHEMA,
    },
    // 5: an object's first stored version by id, for ownership at ingest (`NOT_OWNED`).
    // Without it the planner, with statistics taken while `objects` was small, walked the
    // `seq` key in order to find an id's first row: a whole scan for every new id, so an
    // ingest slowed from 24k to 440 objects/s within 30,000 objects.
    Step {
        to: 5,
        sql: "CREATE INDEX IF NOT EXISTS objects_id_seq ON objects (id, seq);",
    },
    // 6: who received each object, filled from the releases already recorded (the SQLite
    // backend's `RECEIVED_SCHEMA` says why).
    Step {
        to: 6,
        sql: r#"
CREATE TABLE IF NOT EXISTS received (id text COLLATE "C" PRIMARY KEY, partners text NOT NULL);
INSERT INTO received (id, partners)
SELECT id, string_agg(partner, ' ' ORDER BY partner)
FROM (SELECT DISTINCT id, partner FROM releases) AS r GROUP BY id
ON CONFLICT (id) DO NOTHING;
"#,
    },
    // 7: the consents given for one partner, as each page reads them (the SQLite backend's
    // `consents_v7`).
    Step {
        to: 7,
        sql: "CREATE INDEX IF NOT EXISTS consents_to ON consents (to_party, created, id);",
    },
    // 8: each held object's content key, for traces (the SQLite backend's `content_keys_v8`).
    Step {
        to: 8,
        sql: r#"
CREATE TABLE IF NOT EXISTS content_keys (
    key text COLLATE "C" NOT NULL, id text COLLATE "C" NOT NULL, PRIMARY KEY (key, id)
);
CREATE INDEX IF NOT EXISTS content_keys_by_id ON content_keys (id);
"#,
    },
];

/// Release officers' holds: at most one per (partner, object).
const HOLDS_SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS holds (
    object text COLLATE "C" NOT NULL, partner text COLLATE "C" NOT NULL,
    by_operator text NOT NULL, created text COLLATE "C" NOT NULL, reason text NOT NULL,
    PRIMARY KEY (partner, object)
);
"#;

/// The newest schema this build knows: the last step's.
pub(crate) const SCHEMA_VERSION: i64 = STEPS[STEPS.len() - 1].to;

/// Advisory lock keys (transaction level): schema setup, and ingest (`date_added` order).
const SETUP_LOCK: i64 = 0x6c69_6173_0001;
const INGEST_LOCK: i64 = 0x6c69_6173_0002;
/// Appends to the transparency log, one at a time.
const LOG_LOCK: i64 = 0x6c69_6173_0003;

// Text that is compared or ordered uses the "C" collation: byte order, as in SQLite.
const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS meta (key text COLLATE "C" PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS refusals (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, created text NOT NULL,
    sender text COLLATE "C" NOT NULL, id text NOT NULL, version text NOT NULL,
    reason text NOT NULL, body text NOT NULL
);
CREATE TABLE IF NOT EXISTS objects (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id text COLLATE "C" NOT NULL,
    version text COLLATE "C" NOT NULL,
    date_added text COLLATE "C" NOT NULL,
    source text NOT NULL,
    assigned_label text,
    markings text NOT NULL,
    tearline_of text,
    derived_src text,
    derived_dst text,
    ends text,
    tags text,
    body text NOT NULL,
    UNIQUE (id, version)
);
ALTER TABLE objects ADD COLUMN IF NOT EXISTS upgrades text;
CREATE INDEX IF NOT EXISTS objects_date_added ON objects (date_added);
CREATE TABLE IF NOT EXISTS heads (
    id text COLLATE "C" PRIMARY KEY,
    seq bigint NOT NULL,
    version text COLLATE "C" NOT NULL
);
CREATE INDEX IF NOT EXISTS heads_seq ON heads (seq);
CREATE TABLE IF NOT EXISTS partners (
    party text COLLATE "C" PRIMARY KEY, agreement text NOT NULL, updated text NOT NULL
);
CREATE TABLE IF NOT EXISTS consents (
    id text COLLATE "C" PRIMARY KEY, object text NOT NULL, to_party text NOT NULL,
    by_party text NOT NULL, created text COLLATE "C" NOT NULL
);
ALTER TABLE consents ADD COLUMN IF NOT EXISTS signed text;
CREATE TABLE IF NOT EXISTS releases (
    partner text COLLATE "C" NOT NULL, id text COLLATE "C" NOT NULL,
    version text COLLATE "C" NOT NULL, first text COLLATE "C" NOT NULL,
    PRIMARY KEY (partner, id, version)
);
CREATE TABLE IF NOT EXISTS delivered_ids (
    delivered text COLLATE "C" PRIMARY KEY, partner text COLLATE "C" NOT NULL,
    original text COLLATE "C" NOT NULL
);
CREATE INDEX IF NOT EXISTS delivered_ids_by_partner ON delivered_ids (partner);
CREATE TABLE IF NOT EXISTS credentials (
    party text COLLATE "C" PRIMARY KEY, phc text NOT NULL, updated text NOT NULL
);
CREATE TABLE IF NOT EXISTS log_entries (idx bigint PRIMARY KEY, entry bytea NOT NULL);
CREATE TABLE IF NOT EXISTS log_hashes (idx bigint PRIMARY KEY, hash bytea NOT NULL);
CREATE TABLE IF NOT EXISTS log_openings (idx bigint PRIMARY KEY, leaf bytea NOT NULL, salt bytea NOT NULL);
CREATE TABLE IF NOT EXISTS log_access (
    party text COLLATE "C" NOT NULL, idx bigint NOT NULL, PRIMARY KEY (party, idx)
);
CREATE INDEX IF NOT EXISTS log_access_idx ON log_access (idx);
CREATE TABLE IF NOT EXISTS log_checkpoints (
    size bigint PRIMARY KEY, note text NOT NULL, created text NOT NULL
);
CREATE TABLE IF NOT EXISTS log_cosignatures (
    size bigint NOT NULL, cosigner text COLLATE "C" NOT NULL, line text NOT NULL,
    created text NOT NULL, PRIMARY KEY (size, cosigner)
);
CREATE TABLE IF NOT EXISTS partner_checkpoints (
    party text COLLATE "C" PRIMARY KEY, size bigint NOT NULL, note text NOT NULL,
    updated text NOT NULL
);
CREATE TABLE IF NOT EXISTS log_forks (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, party text COLLATE "C" NOT NULL,
    created text NOT NULL, evidence text NOT NULL
);
CREATE TABLE IF NOT EXISTS partner_keys (
    party text COLLATE "C" NOT NULL, kind text COLLATE "C" NOT NULL, key text NOT NULL,
    PRIMARY KEY (party, kind)
);
CREATE TABLE IF NOT EXISTS agreement_notes (
    partner text COLLATE "C" NOT NULL, side text COLLATE "C" NOT NULL, sha256 text NOT NULL,
    text text NOT NULL, note text NOT NULL, updated text NOT NULL,
    PRIMARY KEY (partner, side)
);
CREATE TABLE IF NOT EXISTS match_queries (
    request text COLLATE "C" PRIMARY KEY, partner text COLLATE "C" NOT NULL,
    epoch bigint NOT NULL, count bigint NOT NULL, answered text NOT NULL
);
CREATE INDEX IF NOT EXISTS match_queries_by_epoch ON match_queries (partner, epoch);
CREATE TABLE IF NOT EXISTS operators (
    name text COLLATE "C" PRIMARY KEY, role text NOT NULL, phc text NOT NULL,
    created text NOT NULL, updated text NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at text NOT NULL,
    operator text NOT NULL, action text NOT NULL, target text NOT NULL, detail text NOT NULL
);
"#;

// Schema 3, maintained views (issue 14): the change feed (`object_changes`, written by ingest
// and deletions under the ingest lock, so its numbers follow commit order), each partner's
// stored view (`view_state`, `view_rows`, `view_marks`) and the reference index
// (`object_refs`; built through `meta.refs_through`). A database migrated here starts with no
// stored view: each is computed whole on its first request.
const VIEWS_SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS object_changes (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, id text COLLATE "C" NOT NULL
);
CREATE TABLE IF NOT EXISTS view_state (
    partner text COLLATE "C" PRIMARY KEY, basis text NOT NULL, through bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS view_rows (
    partner text COLLATE "C" NOT NULL, original text COLLATE "C" NOT NULL,
    delivered text COLLATE "C" NOT NULL, type text NOT NULL, version text NOT NULL,
    spec_version text NOT NULL, date_added text NOT NULL, added bigint NOT NULL,
    json text NOT NULL, meta boolean NOT NULL,
    PRIMARY KEY (partner, original)
);
CREATE INDEX IF NOT EXISTS view_rows_page ON view_rows (partner, added, delivered);
CREATE INDEX IF NOT EXISTS view_rows_delivered ON view_rows (partner, delivered);
CREATE TABLE IF NOT EXISTS view_marks (
    partner text COLLATE "C" NOT NULL, mark text COLLATE "C" NOT NULL,
    original text COLLATE "C" NOT NULL, PRIMARY KEY (partner, mark, original)
);
CREATE INDEX IF NOT EXISTS view_marks_by_original ON view_marks (partner, original);
CREATE TABLE IF NOT EXISTS object_refs (
    ref text COLLATE "C" NOT NULL, id text COLLATE "C" NOT NULL, PRIMARY KEY (ref, id)
);
CREATE INDEX IF NOT EXISTS object_refs_by_id ON object_refs (id);
"#;

/// Counts content-changing commits (objects, partners, consents, credentials), in `meta`;
/// bumped inside each such transaction. [`ObjectStore::generation`] reads it.
const BUMP_GENERATION: &str = "
INSERT INTO meta (key, value) VALUES ('generation', '1')
ON CONFLICT (key) DO UPDATE SET value = (meta.value::bigint + 1)::text";

/// The largest `date_added` of versions deleted so far: ingest continues after it.
const DELETED_TAIL: &str = "deleted_tail";

/// Per session: the batch on its way in. Emptied by every commit.
const INCOMING: &str = r#"
CREATE TEMPORARY TABLE IF NOT EXISTS liaison_incoming (
    idx integer NOT NULL,
    id text COLLATE "C" NOT NULL,
    version text COLLATE "C" NOT NULL,
    date_added text COLLATE "C" NOT NULL,
    assigned_label text,
    markings text NOT NULL,
    tearline_of text,
    derived_src text,
    derived_dst text,
    ends text,
    tags text,
    body text NOT NULL,
    upgrades text
) ON COMMIT DELETE ROWS
"#;

const INCOMING_TYPES: [Type; 13] = [
    Type::INT4,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
];

/// Moves the batch into `objects` in batch order, points `heads` at the newest versions, and
/// counts the rows inserted.
const MOVE_IN: &str = "
WITH ins AS (
    INSERT INTO objects (id, version, date_added, source, assigned_label, markings, tearline_of,
                         derived_src, derived_dst, ends, tags, body, upgrades)
    SELECT id, version, date_added, $1, assigned_label, markings, tearline_of,
           derived_src, derived_dst, ends, tags, body, upgrades
    FROM liaison_incoming ORDER BY idx
    ON CONFLICT (id, version) DO NOTHING
    RETURNING seq, id, version
), head AS (
    INSERT INTO heads (id, seq, version)
    SELECT DISTINCT ON (id) id, seq, version FROM ins ORDER BY id, version DESC
    ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, version = excluded.version
    WHERE excluded.version > heads.version
), changed AS (
    INSERT INTO object_changes (id) SELECT id FROM ins ORDER BY seq
)
SELECT count(*) FROM ins";

/// The batch's rows that were not inserted (their `date_added` is not the stored one), with
/// the stored body when it differs from the received text.
const NOT_INSERTED: &str = "
SELECT i.idx, CASE WHEN o.body = i.body THEN NULL ELSE o.body END
FROM liaison_incoming i JOIN objects o ON o.id = i.id AND o.version = i.version
WHERE o.date_added <> i.date_added
ORDER BY i.idx";

/// The batch's rows that ownership may refuse: ids whose first stored version came from
/// another source, and marking-definitions under held ids; with the owner and the stored
/// body of the same version, if any (an exact copy of it is a duplicate, not a refusal).
const NOT_OWNED: &str = "
SELECT i.idx, f.source, s.body
FROM liaison_incoming i
JOIN LATERAL (SELECT o.source FROM objects o WHERE o.id = i.id ORDER BY o.seq LIMIT 1) f ON true
LEFT JOIN objects s ON s.id = i.id AND s.version = i.version
WHERE f.source <> $1 OR i.id LIKE 'marking-definition--%'
ORDER BY i.idx";

/// A connection, and the statements it has prepared, by their SQL.
///
/// The `postgres` crate prepares a statement given as text on every call: a round trip to
/// the server to parse and describe it before the one that runs it. A TAXII page makes six
/// small queries, and half its round trips went to preparing the same texts again. The
/// reads and writes made outside a transaction (`query`, `query_one`, `query_opt`,
/// `execute` here) are prepared once per connection; everything else is the `Client`'s
/// (`Deref`), as before. Every SQL text in this file is a constant, so the cache holds a
/// bounded set; it is emptied past `STATEMENTS` anyway.
///
/// Named prepared statements live as long as the connection: a pooler in front of the
/// database in transaction mode must carry them (PgBouncer 1.21 and later, with
/// `max_prepared_statements`), as README's PostgreSQL section says.
pub(crate) struct Conn {
    client: Client,
    statements: FxHashMap<String, ::postgres::Statement>,
}

/// The most statements a connection keeps prepared.
const STATEMENTS: usize = 256;

type Params<'a> = [&'a (dyn ToSql + Sync)];

impl Conn {
    fn new(client: Client) -> Conn {
        Conn {
            client,
            statements: FxHashMap::default(),
        }
    }

    /// `sql` prepared on this connection, once.
    fn prepared(&mut self, sql: &str) -> Result<::postgres::Statement, ::postgres::Error> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql)?;
        if self.statements.len() >= STATEMENTS {
            self.statements.clear();
        }
        self.statements.insert(sql.to_owned(), s.clone());
        Ok(s)
    }

    pub(crate) fn query(
        &mut self,
        sql: &str,
        params: &Params<'_>,
    ) -> Result<Vec<::postgres::Row>, ::postgres::Error> {
        let s = self.prepared(sql)?;
        self.client.query(&s, params)
    }

    pub(crate) fn query_one(
        &mut self,
        sql: &str,
        params: &Params<'_>,
    ) -> Result<::postgres::Row, ::postgres::Error> {
        let s = self.prepared(sql)?;
        self.client.query_one(&s, params)
    }

    pub(crate) fn query_opt(
        &mut self,
        sql: &str,
        params: &Params<'_>,
    ) -> Result<Option<::postgres::Row>, ::postgres::Error> {
        let s = self.prepared(sql)?;
        self.client.query_opt(&s, params)
    }

    pub(crate) fn execute(
        &mut self,
        sql: &str,
        params: &Params<'_>,
    ) -> Result<u64, ::postgres::Error> {
        let s = self.prepared(sql)?;
        self.client.execute(&s, params)
    }
}

impl std::ops::Deref for Conn {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

impl std::ops::DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut Client {
        &mut self.client
    }
}

/// The PostgreSQL store.
pub struct PgStore {
    pub(crate) client: RefCell<Conn>,
    /// How to connect again: for [`PgStore::side`].
    config: ::postgres::Config,
    /// A second connection, opened on first need, for reads made from inside a scan's
    /// callback while the first one streams the scan (the pipeline looks up a tear line or
    /// a delivered id while it walks the objects). Such a read sees what is committed, as
    /// any other process would.
    side: RefCell<Option<Conn>>,
}

impl PgStore {
    /// A log append, with the releases it records when given, in one durable transaction.
    fn append(
        &mut self,
        along: Along<'_>,
        entries: &[Vec<u8>],
        openings: &[LogOpening],
        hashes: &[(u64, [u8; 32])],
    ) -> Result<(u64, Vec<Timestamp>), StoreError> {
        crate::sqlite::check_openings(entries.len(), openings.len())?;
        // Durable at commit (synchronous_commit is on by default; forced for this transaction).
        let mut tx = self.client.get_mut().transaction()?;
        tx.batch_execute("SET LOCAL synchronous_commit = on")?;
        let times = match along {
            Along::Releases(partner, keys) => pg_new_releases(&mut tx, partner, keys)?,
            _ => Vec::new(),
        };
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOG_LOCK])?;
        // Under the log lock, so that concurrent requests of one partner (on any server
        // process) are checked and charged one at a time.
        if let Along::Match(charge) = along {
            pg_charge(&mut tx, charge)?;
        }
        let row = tx.query_one(
            "SELECT (SELECT coalesce(max(idx) + 1, 0) FROM log_entries),
                    (SELECT coalesce(max(idx) + 1, 0) FROM log_hashes)",
            &[],
        )?;
        let size = row.try_get::<_, i64>(0)?.max(0) as u64;
        let stored = row.try_get::<_, i64>(1)?.max(0) as u64;
        crate::sqlite::check_continues(stored, hashes)?;
        let put = tx.prepare("INSERT INTO log_entries (idx, entry) VALUES ($1, $2)")?;
        for (i, e) in entries.iter().enumerate() {
            tx.execute(&put, &[&to_i64(size + i as u64)?, &e.as_slice()])?;
        }
        let put = tx.prepare("INSERT INTO log_openings (idx, leaf, salt) VALUES ($1, $2, $3)")?;
        let grant = tx.prepare(
            "INSERT INTO log_access (party, idx) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )?;
        for (i, o) in openings.iter().enumerate() {
            let idx = to_i64(size + i as u64)?;
            tx.execute(&put, &[&idx, &o.leaf.as_slice(), &&o.salt[..]])?;
            for party in &o.parties {
                tx.execute(&grant, &[party, &idx])?;
            }
        }
        let put = tx.prepare("INSERT INTO log_hashes (idx, hash) VALUES ($1, $2)")?;
        for (i, h) in hashes {
            tx.execute(&put, &[&to_i64(*i)?, &&h[..]])?;
        }
        tx.commit()?;
        Ok((size + entries.len() as u64, times))
    }

    /// Connects to `url` (`postgres://user:password@host:port/database`, or the key=value
    /// form), creating the tables if needed and running the schema's migration steps. No TLS
    /// yet.
    pub fn connect(url: &str) -> Result<PgStore, StoreError> {
        let config: ::postgres::Config = url.parse()?;
        Self::setup(config)
    }

    /// Connects to `url`, which must not hold a password ([`StoreError::PasswordInUrl`]):
    /// the password, if the server asks for one, is `password`. What a node uses, so that
    /// the password is never part of a URL that is printed, logged or kept.
    pub fn connect_with_password(url: &str, password: Option<&str>) -> Result<PgStore, StoreError> {
        let mut config = parse_url(url)?;
        if let Some(p) = password {
            config.password(p);
        }
        Self::setup(config)
    }

    fn setup(config: ::postgres::Config) -> Result<PgStore, StoreError> {
        let mut client = config.connect(NoTls)?;
        let mut tx = client.transaction()?;
        // Two processes connecting to a fresh database at once must not race on CREATE or on
        // a migration step.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SETUP_LOCK])?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version bigint NOT NULL)")?;
        let found: Option<i64> = tx
            .query_one("SELECT max(version) FROM schema_version", &[])?
            .get(0);
        let found = found.unwrap_or(0);
        if found > SCHEMA_VERSION {
            return Err(StoreError::Schema {
                found,
                known: SCHEMA_VERSION,
            });
        }
        for step in STEPS.iter().filter(|s| s.to > found) {
            tx.batch_execute(step.sql)?;
        }
        if found < SCHEMA_VERSION {
            tx.execute("DELETE FROM schema_version", &[])?;
            tx.execute(
                "INSERT INTO schema_version (version) VALUES ($1)",
                &[&SCHEMA_VERSION],
            )?;
        }
        tx.commit()?;
        client.batch_execute(INCOMING)?;
        Ok(PgStore {
            client: RefCell::new(Conn::new(client)),
            config,
            side: RefCell::new(None),
        })
    }

    /// The connection. Reads take `&self`; a read from inside a scan's callback goes to the side
    /// connection, and one nested deeper still gets an error rather than a panic.
    pub(crate) fn client(&self) -> Result<RefMut<'_, Conn>, StoreError> {
        if let Ok(client) = self.client.try_borrow_mut() {
            return Ok(client);
        }
        // Busy with a scan: a read from its callback goes to the side connection.
        let mut side = self.side.try_borrow_mut().map_err(|_| StoreError::Busy)?;
        if side.is_none() {
            *side = Some(Conn::new(self.config.connect(NoTls)?));
        }
        RefMut::filter_map(side, Option::as_mut).map_err(|_| StoreError::Busy)
    }
}

/// Checks that `url` reads as a PostgreSQL URL (or key=value string) and holds no password.
pub fn check_postgres_url(url: &str) -> Result<(), StoreError> {
    parse_url(url).map(|_| ())
}

/// `url` read into a connection configuration; refused when it holds a password.
pub(crate) fn parse_url(url: &str) -> Result<::postgres::Config, StoreError> {
    let config: ::postgres::Config = url.parse().map_err(|e| StoreError::Url(format!("{e}")))?;
    if config.get_password().is_some_and(|p| !p.is_empty()) {
        return Err(StoreError::PasswordInUrl);
    }
    Ok(config)
}

fn version_key(o: &StixObject) -> String {
    o.version().map(Timestamp::sort_key).unwrap_or_default()
}

/// Strictly increasing microsecond stamps after `last`, starting no earlier than now.
fn stamps(last: Option<&str>, n: usize) -> Result<Vec<Timestamp>, StoreError> {
    let last = match last {
        None => 0,
        Some(s) => Timestamp::parse(s)
            .map_err(|e| StoreError::Damaged(format!("largest date_added: {e}")))?
            .unix_nanos(),
    };
    // Whole microseconds: the stored text has six digits.
    let mut next = Timestamp::now().unix_nanos().max(last + 1_000) / 1_000 * 1_000;
    if next <= last {
        next += 1_000;
    }
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(Timestamp::from_unix_nanos(next, 6).ok_or_else(|| {
            StoreError::Damaged(format!("date_added out of range after {last}ns"))
        })?);
        next += 1_000;
    }
    Ok(out)
}

impl ObjectStore for PgStore {
    fn node(&self) -> Result<Option<NodeRecord>, StoreError> {
        let rows = self.client()?.query(
            "SELECT key, value FROM meta WHERE key IN ('party', 'created')",
            &[],
        )?;
        let mut party = None;
        let mut created = None;
        for r in &rows {
            let key: &str = r.try_get(0)?;
            let value: String = r.try_get(1)?;
            match key {
                "party" => party = Some(value),
                _ => created = Some(value),
            }
        }
        Ok(party.map(|party| NodeRecord {
            party,
            created: created.unwrap_or_default(),
        }))
    }

    fn init_node(&mut self, node: &NodeRecord) -> Result<(), StoreError> {
        let client = self.client.get_mut();
        let mut tx = client.transaction()?;
        // Whoever writes first owns the node; the loser reads the winner's party.
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('party', $1), ('created', $2) ON CONFLICT (key) DO NOTHING",
            &[&node.party, &node.created],
        )?;
        let existing: String = tx
            .query_one("SELECT value FROM meta WHERE key = 'party'", &[])?
            .try_get(0)?;
        if existing != node.party {
            return Err(StoreError::OtherParty {
                existing,
                requested: node.party.clone(),
            });
        }
        tx.commit()?;
        Ok(())
    }

    fn ingest(
        &mut self,
        batch: &[NewObject<'_>],
        source: &str,
        progress: &mut dyn FnMut(u64),
    ) -> Result<IngestReport, StoreError> {
        if batch.is_empty() {
            progress(0);
            return Ok(IngestReport::default());
        }
        let client = self.client.get_mut();
        let mut tx = client.transaction()?;
        // Held to commit: ingests into this database, from any process, take turns, and each
        // one's date_added start after everything committed before it.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&INGEST_LOCK])?;
        // After deleted versions too: date_added is not handed out twice.
        let last: Option<String> = tx
            .query_one(
                "SELECT greatest((SELECT max(date_added) FROM objects),
                                 (SELECT value COLLATE \"C\" FROM meta WHERE key = $1))",
                &[&DELETED_TAIL],
            )?
            .try_get(0)?;
        let stamps = stamps(last.as_deref(), batch.len())?;

        let sink = tx.copy_in(
            "COPY liaison_incoming (idx, id, version, date_added, assigned_label, markings, tearline_of, \
             derived_src, derived_dst, ends, tags, body, upgrades) FROM STDIN (FORMAT binary)",
        )?;
        let mut writer = BinaryCopyInWriter::new(sink, &INCOMING_TYPES);
        for (index, (item, stamp)) in batch.iter().zip(&stamps).enumerate() {
            let o = item.object;
            let row = IndexRow::of(0, o, item.assigned_label, source);
            let idx = i32::try_from(index).map_err(|_| {
                StoreError::Damaged(format!("a batch of {} objects is too large", batch.len()))
            })?;
            let tags = if row.tags.is_empty() {
                None
            } else {
                Some(serde_json::Value::from(row.tags.clone()).to_string())
            };
            let (dsrc, ddst) = match &row.derivation {
                Some((a, b)) => (Some(a.as_str()), Some(b.as_str())),
                None => (None, None),
            };
            let upgrades = crate::record::upgrades_json(item.upgrades)?;
            let values: [&(dyn ToSql + Sync); 13] = [
                &idx,
                &row.id,
                &version_key(o),
                &stamp.as_str(),
                &row.assigned_label,
                &row.markings.join(" "),
                &row.tearline_of,
                &dsrc,
                &ddst,
                &row.ends.join(" "),
                &tags,
                &o.raw(),
                &upgrades,
            ];
            writer.write(&values)?;
            if index % 4096 == 4095 {
                progress(index as u64 + 1);
            }
        }
        writer.finish()?;
        // A temporary table is never analysed by autovacuum: without its size the planner
        // guesses how to join it to `objects` in the statements below.
        tx.batch_execute("ANALYZE liaison_incoming")?;

        // Ownership, in this transaction (the advisory lock keeps other ingests out): rows for
        // ids first stored from another source, and marking-definitions under held ids, that
        // are not exact copies of a stored version, are refused one by one.
        let mut refused = Vec::new();
        for r in tx.query(NOT_OWNED, &[&source])? {
            let idx: i32 = r.try_get(0)?;
            let owner: String = r.try_get(1)?;
            let stored: Option<&str> = r.try_get(2)?;
            let index = usize::try_from(idx)
                .map_err(|_| StoreError::Damaged(format!("batch index {idx}")))?;
            let Some(item) = batch.get(index) else {
                return Err(StoreError::Damaged(format!("batch index {idx}")));
            };
            let o = item.object;
            let identical = stored.is_some_and(|body| {
                body == o.raw()
                    || serde_json::from_str::<serde_json::Value>(body)
                        .map(|v| v.as_object() == Some(o.props()))
                        .unwrap_or(false)
            });
            if identical {
                continue;
            }
            let kind = if o.object_type() == "marking-definition" {
                RefusalKind::Redefined
            } else {
                RefusalKind::NotOwner { owner }
            };
            refused.push(Refusal {
                index,
                id: o.id().to_string(),
                kind,
            });
        }
        if !refused.is_empty() {
            let idx: Vec<i32> = refused
                .iter()
                .filter_map(|r| i32::try_from(r.index).ok())
                .collect();
            tx.execute("DELETE FROM liaison_incoming WHERE idx = ANY($1)", &[&idx])?;
        }

        let inserted: i64 = tx.query_one(MOVE_IN, &[&source])?.try_get(0)?;
        let mut report = IngestReport {
            added: (batch.len() - refused.len()) as u64,
            duplicates: 0,
            duplicates_at: Vec::new(),
            refused,
        };
        // Only when something was not inserted: which rows, and are they duplicates?
        let not_inserted = if inserted == batch.len() as i64 {
            Vec::new()
        } else {
            tx.query(NOT_INSERTED, &[])?
        };
        let mut conflict: Option<StoreError> = None;
        for r in not_inserted {
            let idx: i32 = r.try_get(0)?;
            let stored: Option<&str> = r.try_get(1)?;
            let index = usize::try_from(idx)
                .map_err(|_| StoreError::Damaged(format!("batch index {idx}")))?;
            let Some(item) = batch.get(index) else {
                return Err(StoreError::Damaged(format!("batch index {idx}")));
            };
            let o = item.object;
            let same = match stored {
                None => true,
                Some(body) => serde_json::from_str::<serde_json::Value>(body)
                    .map(|v| v.as_object() == Some(o.props()))
                    .unwrap_or(false),
            };
            if !same {
                // Every conflict is named in one pass; dropping the transaction (the `?` on
                // the error below) rolls the batch back.
                match &mut conflict {
                    None => {
                        conflict = Some(StoreError::Conflict {
                            index,
                            id: o.id().to_string(),
                            version: o.version().map(ToString::to_string).unwrap_or_default(),
                            also: Vec::new(),
                        })
                    }
                    Some(StoreError::Conflict { also, .. }) => also.push(index),
                    Some(_) => {}
                }
                continue;
            }
            report.added -= 1;
            report.duplicates += 1;
            report.duplicates_at.push(index);
        }
        if let Some(e) = conflict {
            return Err(e);
        }
        if inserted > 0 {
            tx.execute(BUMP_GENERATION, &[])?;
        }
        tx.commit()?;
        progress(batch.len() as u64);
        Ok(report)
    }

    fn latest(&self, id: &str) -> Result<Option<Stored>, StoreError> {
        let row = self.client()?.query_opt(
            &format!("SELECT {STORED_COLUMNS} FROM heads h JOIN objects o ON o.seq = h.seq WHERE h.id = $1"),
            &[&id],
        )?;
        row.as_ref().map(rows::stored).transpose()
    }

    fn versions(&self, id: &str) -> Result<Vec<Stored>, StoreError> {
        let rows = self.client()?.query(
            &format!("SELECT {STORED_COLUMNS} FROM objects o WHERE o.id = $1 ORDER BY o.version"),
            &[&id],
        )?;
        rows.iter().map(rows::stored).collect()
    }

    fn scan_latest(
        &self,
        f: &mut dyn FnMut(Stored) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        // One statement, streamed: a consistent snapshot without holding every row in memory.
        let mut client = self.client()?;
        let mut rows = client.query_raw(
            &format!("SELECT {STORED_COLUMNS} FROM heads h JOIN objects o ON o.seq = h.seq ORDER BY h.seq"),
            std::iter::empty::<i64>(),
        )?;
        while let Some(row) = rows.next()? {
            f(rows::stored(&row)?)?;
        }
        Ok(())
    }

    fn latest_between(
        &self,
        after: i64,
        upto: i64,
        limit: usize,
    ) -> Result<Vec<Stored>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self.client()?.query(
            &format!("SELECT {STORED_COLUMNS} FROM heads h JOIN objects o ON o.seq = h.seq WHERE h.seq > $1 AND h.seq <= $2 ORDER BY h.seq LIMIT $3"),
            &[&after, &upto, &limit],
        )?;
        rows.iter().map(rows::stored).collect()
    }

    fn index_rows(&self, ids: &[&str]) -> Result<Vec<IndexRow>, StoreError> {
        let rows = self.client()?.query(
            &format!("SELECT {INDEX_COLUMNS} FROM heads h JOIN objects o ON o.seq = h.seq WHERE h.id = ANY($1)"),
            &[&ids],
        )?;
        rows.iter().map(rows::index_row).collect()
    }

    fn last_seq(&self) -> Result<i64, StoreError> {
        let row = self
            .client()?
            .query_one("SELECT coalesce(max(seq), 0)::bigint FROM objects", &[])?;
        Ok(row.get(0))
    }

    fn scan_index(&self, f: &mut dyn FnMut(IndexRow)) -> Result<(), StoreError> {
        let mut client = self.client()?;
        let mut rows = client.query_raw(
            &format!("SELECT {INDEX_COLUMNS} FROM heads h JOIN objects o ON o.seq = h.seq ORDER BY h.seq"),
            std::iter::empty::<i64>(),
        )?;
        while let Some(row) = rows.next()? {
            f(rows::index_row(&row)?);
        }
        Ok(())
    }

    fn counts(&self) -> Result<(u64, u64), StoreError> {
        let row = self.client()?.query_one(
            "SELECT (SELECT count(*) FROM heads), (SELECT count(*) FROM objects)",
            &[],
        )?;
        let heads: i64 = row.try_get(0)?;
        let versions: i64 = row.try_get(1)?;
        Ok((heads.max(0) as u64, versions.max(0) as u64))
    }

    fn generation(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .client()?
            .query_one(
                "SELECT coalesce((SELECT value::bigint FROM meta WHERE key = 'generation'), 0)",
                &[],
            )?
            .try_get(0)?;
        Ok(n.max(0) as u64)
    }

    fn add_refusals(&mut self, refusals: &[RefusalRecord]) -> Result<(), StoreError> {
        let client = self.client.get_mut();
        let mut tx = client.transaction()?;
        for r in refusals {
            tx.execute(
                "INSERT INTO refusals (created, sender, id, version, reason, body) VALUES ($1, $2, $3, $4, $5, $6)",
                &[&r.created, &r.sender, &r.id, &r.version, &r.reason, &r.body],
            )?;
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
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self.client()?.query(
            "SELECT seq, created, sender, id, version, reason, body FROM refusals
             WHERE seq > $1 AND ($2::text IS NULL OR sender = $2) ORDER BY seq LIMIT $3",
            &[&after, &sender, &limit],
        )?;
        rows.iter().map(rows::refusal).collect()
    }

    fn scan_source(
        &self,
        source: &str,
        f: &mut dyn FnMut(Stored) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        // A full scan: an index on `source` would cost every ingested row an insert.
        let mut client = self.client()?;
        let mut rows = client.query_raw(
            &format!("SELECT {STORED_COLUMNS} FROM objects o WHERE o.source = $1 ORDER BY o.seq"),
            [source],
        )?;
        while let Some(row) = rows.next()? {
            f(rows::stored(&row)?)?;
        }
        Ok(())
    }

    fn delete_versions(
        &mut self,
        source: &str,
        id: &str,
        versions: Option<&[String]>,
    ) -> Result<u64, StoreError> {
        let client = self.client.get_mut();
        let mut tx = client.transaction()?;
        // Taken like ingest: heads are settled without an ingest of the same id in between.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&INGEST_LOCK])?;
        let row = tx.query_one(
            "WITH gone AS (
                 DELETE FROM objects
                 WHERE id = $1 AND source = $2 AND ($3::text[] IS NULL OR version = ANY($3))
                 RETURNING date_added, derived_src, tearline_of
             ), changed AS (
                 INSERT INTO object_changes (id)
                 SELECT $1 WHERE EXISTS (SELECT 1 FROM gone)
                 UNION ALL SELECT derived_src FROM gone WHERE derived_src IS NOT NULL
                 UNION ALL SELECT tearline_of FROM gone WHERE tearline_of IS NOT NULL
             )
             SELECT count(*), max(date_added) FROM gone",
            &[&id, &source, &versions],
        )?;
        let deleted: i64 = row.try_get(0)?;
        if deleted == 0 {
            return Ok(0);
        }
        let tail: Option<String> = row.try_get(1)?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET value = greatest(meta.value, excluded.value)",
            &[&DELETED_TAIL, &tail],
        )?;
        tx.execute("DELETE FROM heads WHERE id = $1", &[&id])?;
        tx.execute(
            "INSERT INTO heads (id, seq, version)
             SELECT id, seq, version FROM objects WHERE id = $1 ORDER BY version DESC LIMIT 1",
            &[&id],
        )?;
        tx.execute(BUMP_GENERATION, &[])?;
        tx.commit()?;
        Ok(deleted.max(0) as u64)
    }
}

impl ChangeStore for PgStore {
    fn changed_since(&self, after: i64, prefix: &str) -> Result<bool, StoreError> {
        Ok(self
            .client()?
            .query_opt(
                "SELECT 1 FROM object_changes WHERE seq > $1 AND left(id, length($2)) = $2 LIMIT 1",
                &[&after, &prefix],
            )?
            .is_some())
    }

    fn change_head(&self) -> Result<i64, StoreError> {
        Ok(self
            .client()?
            .query_one(
                "SELECT coalesce(max(seq), 0)::bigint FROM object_changes",
                &[],
            )?
            .try_get(0)?)
    }

    fn changes_since(&self, after: i64, limit: usize) -> Result<Vec<(i64, String)>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self.client()?.query(
            "SELECT seq, id FROM object_changes WHERE seq > $1 ORDER BY seq LIMIT $2",
            &[&after, &limit],
        )?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
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
        let rows = self.client()?.query(
            "SELECT DISTINCT id FROM object_refs WHERE ref = ANY($1) ORDER BY id",
            &[&ids],
        )?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
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
        let rows = self.client()?.query(
            "SELECT key, id FROM content_keys WHERE key = ANY($1) ORDER BY key, id",
            &[&keys],
        )?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }
}

impl PgStore {
    /// The change derived index `index` reflects (`None`: never built).
    fn index_through(&self, index: &PairIndex) -> Result<Option<i64>, StoreError> {
        let row = self
            .client()?
            .query_opt("SELECT value FROM meta WHERE key = $1", &[&index.through])?;
        row.map(|r| {
            let v: String = r.try_get(0)?;
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
        let client = self.client.get_mut();
        let mut tx = client.transaction()?;
        if replace {
            tx.execute(&format!("DELETE FROM {table}"), &[])?;
        }
        if !ids.is_empty() {
            tx.execute(&format!("DELETE FROM {table} WHERE id = ANY($1)"), &[&ids])?;
        }
        for chunk in pairs.chunks(10_000) {
            let (id, v): (Vec<&str>, Vec<&str>) =
                chunk.iter().map(|(a, b)| (a.as_str(), b.as_str())).unzip();
            tx.execute(
                &format!(
                    "INSERT INTO {table} (id, {value}) SELECT * FROM unnest($1::text[], $2::text[])
                     ON CONFLICT DO NOTHING"
                ),
                &[&id, &v],
            )?;
        }
        if let Some(through) = through {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ($1, $2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                &[key, &through.to_string()],
            )?;
        }
        tx.commit()?;
        Ok(())
    }
}

impl PartnerStore for PgStore {
    fn put_partner(&mut self, p: &PartnerRecord) -> Result<(), StoreError> {
        let mut tx = self.client.get_mut().transaction()?;
        tx.execute(
            "INSERT INTO partners (party, agreement, updated) VALUES ($1, $2, $3)
             ON CONFLICT (party) DO UPDATE SET agreement = excluded.agreement, updated = excluded.updated",
            &[&p.party, &p.agreement, &p.updated],
        )?;
        tx.execute(BUMP_GENERATION, &[])?;
        tx.commit()?;
        Ok(())
    }

    fn partner(&self, party: &str) -> Result<Option<PartnerRecord>, StoreError> {
        let row = self.client()?.query_opt(
            "SELECT party, agreement, updated FROM partners WHERE party = $1",
            &[&party],
        )?;
        row.as_ref().map(rows::partner).transpose()
    }

    fn partners(&self) -> Result<Vec<PartnerRecord>, StoreError> {
        let rows = self.client()?.query(
            "SELECT party, agreement, updated FROM partners ORDER BY party",
            &[],
        )?;
        rows.iter().map(rows::partner).collect()
    }

    fn add_consent(&mut self, c: &ConsentRecord) -> Result<(), StoreError> {
        let mut tx = self.client.get_mut().transaction()?;
        tx.execute(
            "INSERT INTO consents (id, object, to_party, by_party, created) VALUES ($1, $2, $3, $4, $5)",
            &[&c.id, &c.object, &c.to, &c.by, &c.created],
        )?;
        tx.execute(BUMP_GENERATION, &[])?;
        tx.commit()?;
        Ok(())
    }

    fn add_signed_consent(&mut self, c: &ConsentRecord, signed: &str) -> Result<(), StoreError> {
        let mut tx = self.client.get_mut().transaction()?;
        tx.execute(
            "INSERT INTO consents (id, object, to_party, by_party, created, signed) VALUES ($1, $2, $3, $4, $5, $6)",
            &[&c.id, &c.object, &c.to, &c.by, &c.created, &signed],
        )?;
        tx.execute(BUMP_GENERATION, &[])?;
        tx.commit()?;
        Ok(())
    }

    fn signed_consents(&self) -> Result<Vec<(ConsentRecord, Option<String>)>, StoreError> {
        let rows = self.client()?.query(
            "SELECT id, object, to_party, by_party, created, signed FROM consents ORDER BY created, id",
            &[],
        )?;
        rows.iter()
            .map(|r| Ok((rows::consent(r)?, r.try_get(5)?)))
            .collect()
    }

    fn consents(&self, to: Option<&str>) -> Result<Vec<ConsentRecord>, StoreError> {
        let rows = match to {
            Some(to) => self.client()?.query(rows::CONSENTS[1], &[&to])?,
            None => self.client()?.query(rows::CONSENTS[0], &[])?,
        };
        rows.iter().map(rows::consent).collect()
    }

    fn add_hold(&mut self, h: &HoldRecord) -> Result<bool, StoreError> {
        let mut tx = self.client.get_mut().transaction()?;
        let n = tx.execute(
            "INSERT INTO holds (object, partner, by_operator, created, reason)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (partner, object) DO NOTHING",
            &[&h.object, &h.partner, &h.by, &h.created, &h.reason],
        )?;
        if n > 0 {
            tx.execute(BUMP_GENERATION, &[])?;
        }
        tx.commit()?;
        Ok(n > 0)
    }

    fn lift_hold(&mut self, object: &str, partner: &str) -> Result<Option<HoldRecord>, StoreError> {
        let mut tx = self.client.get_mut().transaction()?;
        let row = tx.query_opt(
            "DELETE FROM holds WHERE partner = $1 AND object = $2
             RETURNING object, partner, by_operator, created, reason",
            &[&partner, &object],
        )?;
        let lifted = row.as_ref().map(rows::hold).transpose()?;
        if lifted.is_some() {
            tx.execute(BUMP_GENERATION, &[])?;
        }
        tx.commit()?;
        Ok(lifted)
    }

    fn basis_inputs(&self, partner: &str) -> Result<BasisInputs, StoreError> {
        // The partner's consents are read once, into two arrays in the same order.
        let row = self.client()?.query_one(
            "SELECT (SELECT agreement FROM partners WHERE party = $1),
                    (SELECT count(*) FROM partners),
                    c.objects, c.by,
                    (SELECT array_agg(object ORDER BY object COLLATE \"C\") FROM holds WHERE partner = $1)
             FROM (SELECT array_agg(object ORDER BY created, id) AS objects,
                          array_agg(by_party ORDER BY created, id) AS by
                   FROM consents WHERE to_party = $1) AS c",
            &[&partner],
        )?;
        let partners: i64 = row.try_get(1)?;
        let objects: Option<Vec<String>> = row.try_get(2)?;
        let by: Option<Vec<String>> = row.try_get(3)?;
        Ok(BasisInputs {
            agreement: row.try_get(0)?,
            partners: usize::try_from(partners).unwrap_or(0),
            consents: objects
                .unwrap_or_default()
                .into_iter()
                .zip(by.unwrap_or_default())
                .collect(),
            held: row
                .try_get::<_, Option<Vec<String>>>(4)?
                .unwrap_or_default(),
        })
    }

    fn holds(&self, partner: Option<&str>) -> Result<Vec<HoldRecord>, StoreError> {
        let rows = self.client()?.query(
            "SELECT object, partner, by_operator, created, reason FROM holds
             WHERE $1::text IS NULL OR partner = $1 ORDER BY partner, created, object",
            &[&partner],
        )?;
        rows.iter().map(rows::hold).collect()
    }

    fn set_credential(&mut self, party: &str, phc: &str) -> Result<(), StoreError> {
        let updated = Timestamp::now();
        let mut tx = self.client.get_mut().transaction()?;
        tx.execute(
            "INSERT INTO credentials (party, phc, updated) VALUES ($1, $2, $3)
             ON CONFLICT (party) DO UPDATE SET phc = excluded.phc, updated = excluded.updated",
            &[&party, &phc, &updated.as_str()],
        )?;
        tx.execute(BUMP_GENERATION, &[])?;
        tx.commit()?;
        Ok(())
    }

    fn credential(&self, party: &str) -> Result<Option<String>, StoreError> {
        let row = self
            .client()?
            .query_opt("SELECT phc FROM credentials WHERE party = $1", &[&party])?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    fn set_partner_key(&mut self, party: &str, kind: &str, key: &str) -> Result<(), StoreError> {
        self.client.get_mut().execute(
            "INSERT INTO partner_keys (party, kind, key) VALUES ($1, $2, $3)
             ON CONFLICT (party, kind) DO UPDATE SET key = excluded.key",
            &[&party, &kind, &key],
        )?;
        Ok(())
    }

    fn put_agreement_note(&mut self, n: &AgreementNoteRecord) -> Result<(), StoreError> {
        self.client.get_mut().execute(
            "INSERT INTO agreement_notes (partner, side, sha256, text, note, updated)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (partner, side) DO UPDATE SET sha256 = excluded.sha256,
                 text = excluded.text, note = excluded.note, updated = excluded.updated",
            &[&n.partner, &n.side, &n.sha256, &n.text, &n.note, &n.updated],
        )?;
        Ok(())
    }

    fn agreement_note(
        &self,
        partner: &str,
        side: &str,
    ) -> Result<Option<AgreementNoteRecord>, StoreError> {
        let row = self.client()?.query_opt(
            "SELECT sha256, text, note, updated FROM agreement_notes
             WHERE partner = $1 AND side = $2",
            &[&partner, &side],
        )?;
        row.map(|r| rows::agreement_note(&r, partner, side))
            .transpose()
    }

    fn partner_key(&self, party: &str, kind: &str) -> Result<Option<String>, StoreError> {
        let row = self.client()?.query_opt(
            "SELECT key FROM partner_keys WHERE party = $1 AND kind = $2",
            &[&party, &kind],
        )?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }
}

impl DeliveryStore for PgStore {
    fn releases(&self, partner: &str) -> Result<Vec<(String, String, String)>, StoreError> {
        let rows = self.client()?.query(
            "SELECT id, version, first FROM releases WHERE partner = $1 ORDER BY first, id",
            &[&partner],
        )?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .collect()
    }

    fn received_among(
        &self,
        partners: &[&str],
        ids: &[&str],
    ) -> Result<Vec<Vec<usize>>, StoreError> {
        let mut out: Vec<Vec<usize>> = vec![Vec::new(); partners.len()];
        if partners.is_empty() || ids.is_empty() {
            return Ok(out);
        }
        let which: FxHashMap<&str, usize> =
            partners.iter().enumerate().map(|(i, p)| (*p, i)).collect();
        // One query: the asked ids' rows of `received`, each with its place in `ids`.
        let rows = self.client()?.query(
            "SELECT (t.n - 1)::bigint, r.partners
             FROM unnest($1::text[]) WITH ORDINALITY AS t(id, n) JOIN received AS r ON r.id = t.id",
            &[&ids],
        )?;
        for r in &rows {
            let (n, got): (i64, &str) = (r.try_get(0)?, r.try_get(1)?);
            let i =
                usize::try_from(n).map_err(|e| StoreError::Damaged(format!("received: {e}")))?;
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
        if pairs.is_empty() {
            return Ok(());
        }
        let delivered: Vec<&str> = pairs.iter().map(|(d, _)| d.as_str()).collect();
        let original: Vec<&str> = pairs.iter().map(|(_, o)| o.as_str()).collect();
        self.client()?.execute(
            "INSERT INTO delivered_ids (delivered, partner, original)
             SELECT d, $1, o FROM unnest($2::text[], $3::text[]) AS t(d, o)
             ON CONFLICT (delivered) DO NOTHING",
            &[&partner, &delivered, &original],
        )?;
        Ok(())
    }

    fn delivered_ids(&self, ids: &[&str]) -> Result<Vec<(String, String, String)>, StoreError> {
        let rows = self.client()?.query(
            "SELECT delivered, partner, original FROM delivered_ids WHERE delivered = ANY($1)",
            &[&ids],
        )?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .collect()
    }

    fn was_released(&self, partner: &str, id: &str, version: &str) -> Result<bool, StoreError> {
        Ok(self
            .client()?
            .query_opt(
                "SELECT 1 FROM releases WHERE partner = $1 AND id = $2 AND version = $3",
                &[&partner, &id, &version],
            )?
            .is_some())
    }

    fn record_releases(
        &mut self,
        partner: &str,
        keys: &[(String, String)],
    ) -> Result<Vec<(Timestamp, bool)>, StoreError> {
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        // The partner's release lock first, so that what is read stays true until commit.
        tx.execute(RELEASE_LOCK, &[&partner])?;
        let mut known = Released::default();
        for r in tx.query(
            "SELECT id, version, first FROM releases WHERE partner = $1",
            &[&partner],
        )? {
            let first: String = r.try_get(2)?;
            known.insert(
                (r.try_get(0)?, r.try_get(1)?),
                releases::parse_time(&first)?,
            );
        }
        let new = releases::new_keys(keys, &known);
        let times = pg_new_releases(&mut tx, partner, &new)?;
        tx.commit()?;
        releases::aligned(keys, &known, new, times)
    }

    fn released_at(
        &self,
        partner: &str,
        keys: &[(String, String)],
    ) -> Result<Vec<Option<String>>, StoreError> {
        let (ids, versions): (Vec<&str>, Vec<&str>) =
            keys.iter().map(|(i, v)| (i.as_str(), v.as_str())).unzip();
        let rows = self.client()?.query(
            "SELECT k.i, r.first FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS k(id, version, i)
             JOIN releases r ON r.partner = $1 AND r.id = k.id AND r.version = k.version",
            &[&partner, &ids, &versions],
        )?;
        let mut out = vec![None; keys.len()];
        for r in rows {
            let i: i64 = r.try_get(0)?;
            if let Some(slot) = usize::try_from(i - 1).ok().and_then(|i| out.get_mut(i)) {
                *slot = Some(r.try_get(1)?);
            }
        }
        Ok(out)
    }
}

impl LogStore for PgStore {
    fn log_append(
        &mut self,
        entries: &[Vec<u8>],
        openings: &[LogOpening],
        hashes: &[(u64, [u8; 32])],
    ) -> Result<u64, StoreError> {
        Ok(self.append(Along::Nothing, entries, openings, hashes)?.0)
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
            .append(Along::Releases(partner, keys), entries, openings, hashes)?
            .1)
    }

    fn log_append_match(
        &mut self,
        charge: &MatchCharge,
        entries: &[Vec<u8>],
        openings: &[LogOpening],
        hashes: &[(u64, [u8; 32])],
    ) -> Result<u64, StoreError> {
        Ok(self
            .append(Along::Match(charge), entries, openings, hashes)?
            .0)
    }

    fn match_usage(&self, partner: &str, epoch: u64) -> Result<MatchUsage, StoreError> {
        let row = self.client()?.query_one(
            "SELECT coalesce(sum(count), 0)::bigint, count(*), max(answered) FROM match_queries
             WHERE partner = $1 AND epoch = $2",
            &[&partner, &to_i64(epoch)?],
        )?;
        rows::match_usage(&row)
    }

    fn log_size(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .client()?
            .query_one("SELECT coalesce(max(idx) + 1, 0) FROM log_entries", &[])?
            .try_get(0)?;
        Ok(n.max(0) as u64)
    }

    fn log_hashes(&self, indexes: &[u64]) -> Result<Vec<[u8; 32]>, StoreError> {
        let wanted: Vec<i64> = indexes
            .iter()
            .map(|&i| to_i64(i))
            .collect::<Result<_, _>>()?;
        let rows = self.client()?.query(
            "SELECT idx, hash FROM log_hashes WHERE idx = ANY($1)",
            &[&wanted],
        )?;
        let mut found: rustc_hash::FxHashMap<i64, [u8; 32]> = Default::default();
        for r in rows {
            let i: i64 = r.try_get(0)?;
            let h: &[u8] = r.try_get(1)?;
            let h = <[u8; 32]>::try_from(h)
                .map_err(|_| StoreError::Damaged(format!("stored hash {i} is not 32 bytes")))?;
            found.insert(i, h);
        }
        wanted
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
        let rows = self.client()?.query(
            "SELECT entry FROM log_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx",
            &[&to_i64(start)?, &to_i64(end)?],
        )?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    fn log_opening(&self, index: u64) -> Result<Option<LogOpening>, StoreError> {
        let mut client = self.client()?;
        let Some(row) = client.query_opt(
            "SELECT leaf, salt FROM log_openings WHERE idx = $1",
            &[&to_i64(index)?],
        )?
        else {
            return Ok(None);
        };
        let leaf: Vec<u8> = row.try_get(0)?;
        let salt: Vec<u8> = row.try_get(1)?;
        let parties = client
            .query(
                "SELECT party FROM log_access WHERE idx = $1 ORDER BY party",
                &[&to_i64(index)?],
            )?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?;
        Ok(Some(LogOpening {
            leaf,
            salt: rows::salt32(index, &salt)?,
            parties,
        }))
    }

    fn log_openings_for(&self, party: &str) -> Result<Vec<(u64, LogOpening)>, StoreError> {
        let rows = self.client()?.query(
            "SELECT o.idx, o.leaf, o.salt FROM log_access a JOIN log_openings o ON o.idx = a.idx
             WHERE a.party = $1 ORDER BY a.idx",
            &[&party],
        )?;
        rows.iter().map(|r| rows::opening_for(r, party)).collect()
    }

    fn put_checkpoint(&mut self, size: u64, note: &str) -> Result<(), StoreError> {
        self.client.get_mut().execute(
            "INSERT INTO log_checkpoints (size, note, created) VALUES ($1, $2, $3)
             ON CONFLICT (size) DO NOTHING",
            &[&to_i64(size)?, &note, &Timestamp::now().as_str()],
        )?;
        Ok(())
    }

    fn checkpoint_at(&self, size: u64) -> Result<Option<String>, StoreError> {
        let row = self.client()?.query_opt(
            "SELECT note FROM log_checkpoints WHERE size = $1",
            &[&to_i64(size)?],
        )?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    fn latest_checkpoint(&self) -> Result<Option<(u64, String)>, StoreError> {
        let row = self.client()?.query_opt(
            "SELECT size, note FROM log_checkpoints ORDER BY size DESC LIMIT 1",
            &[],
        )?;
        row.as_ref().map(rows::sized_note).transpose()
    }

    fn add_cosignature(&mut self, size: u64, cosigner: &str, line: &str) -> Result<(), StoreError> {
        self.client.get_mut().execute(
            "INSERT INTO log_cosignatures (size, cosigner, line, created) VALUES ($1, $2, $3, $4)
             ON CONFLICT (size, cosigner) DO UPDATE SET line = excluded.line, created = excluded.created",
            &[&to_i64(size)?, &cosigner, &line, &Timestamp::now().as_str()],
        )?;
        Ok(())
    }

    fn cosignatures(&self, size: u64) -> Result<Vec<(String, String)>, StoreError> {
        let rows = self.client()?.query(
            "SELECT cosigner, line FROM log_cosignatures WHERE size = $1 ORDER BY cosigner",
            &[&to_i64(size)?],
        )?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }

    fn latest_cosignatures(&self) -> Result<Vec<(String, u64, String)>, StoreError> {
        let rows = self.client()?.query(
            "SELECT DISTINCT ON (cosigner) cosigner, size, line FROM log_cosignatures
             ORDER BY cosigner, size DESC",
            &[],
        )?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get(0)?,
                    r.try_get::<_, i64>(1)?.max(0) as u64,
                    r.try_get(2)?,
                ))
            })
            .collect()
    }

    fn put_partner_checkpoint(
        &mut self,
        party: &str,
        size: u64,
        note: &str,
    ) -> Result<(), StoreError> {
        self.client.get_mut().execute(
            "INSERT INTO partner_checkpoints (party, size, note, updated) VALUES ($1, $2, $3, $4)
             ON CONFLICT (party) DO UPDATE SET size = excluded.size, note = excluded.note, updated = excluded.updated",
            &[&party, &to_i64(size)?, &note, &Timestamp::now().as_str()],
        )?;
        Ok(())
    }

    fn partner_checkpoint(&self, party: &str) -> Result<Option<(u64, String)>, StoreError> {
        let row = self.client()?.query_opt(
            "SELECT size, note FROM partner_checkpoints WHERE party = $1",
            &[&party],
        )?;
        row.as_ref().map(rows::sized_note).transpose()
    }

    fn add_fork_evidence(&mut self, party: &str, evidence: &str) -> Result<(), StoreError> {
        self.client.get_mut().execute(
            "INSERT INTO log_forks (party, created, evidence) VALUES ($1, $2, $3)",
            &[&party, &Timestamp::now().as_str(), &evidence],
        )?;
        Ok(())
    }

    fn fork_evidence(&self, party: &str) -> Result<Vec<ForkRecord>, StoreError> {
        let rows = self.client()?.query(
            "SELECT party, created, evidence FROM log_forks WHERE party = $1 ORDER BY seq",
            &[&party],
        )?;
        rows.iter().map(rows::fork).collect()
    }
}

impl ViewStore for PgStore {
    fn view_state(&self, partner: &str) -> Result<Option<ViewState>, StoreError> {
        let row = self.client()?.query_opt(
            "SELECT basis, through FROM view_state WHERE partner = $1",
            &[&partner],
        )?;
        row.as_ref().map(rows::view_state).transpose()
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
        let client = self.client.get_mut();
        let mut tx = client.transaction()?;
        // One writer of a partner's view at a time: two servers writing it at once would each
        // delete what they can see and insert, and the second insert would meet the first's
        // committed rows. Under the lock, the second's statements see the first's commit.
        tx.execute(VIEW_LOCK, &[&partner])?;
        if let Some(expect) = expect {
            let basis: Option<String> = tx
                .query_opt(
                    "SELECT basis FROM view_state WHERE partner = $1",
                    &[&partner],
                )?
                .map(|r| r.get(0));
            if basis.as_deref() != Some(expect) {
                return Ok(false);
            }
        }
        if replace {
            tx.execute("DELETE FROM view_rows WHERE partner = $1", &[&partner])?;
            tx.execute("DELETE FROM view_marks WHERE partner = $1", &[&partner])?;
        }
        let gone: Vec<&str> = remove
            .iter()
            .chain(rows.iter().map(|r| &r.original))
            .map(String::as_str)
            .collect();
        if !gone.is_empty() {
            tx.execute(
                "DELETE FROM view_rows WHERE partner = $1 AND original = ANY($2)",
                &[&partner, &gone],
            )?;
            tx.execute(
                "DELETE FROM view_marks WHERE partner = $1 AND original = ANY($2)",
                &[&partner, &gone],
            )?;
        }
        let put = tx.prepare(
            "INSERT INTO view_rows (partner, original, delivered, type, version, spec_version,
                 date_added, added, json, meta)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )?;
        let mark = tx.prepare(
            "INSERT INTO view_marks (partner, mark, original) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
        )?;
        for r in rows {
            tx.execute(
                &put,
                &[
                    &partner,
                    &r.original,
                    &r.delivered,
                    &r.object_type,
                    &r.version,
                    &r.spec_version,
                    &r.date_added,
                    &r.added_micros,
                    &&*r.json,
                    &r.meta,
                ],
            )?;
            for m in &r.marks {
                tx.execute(&mark, &[&partner, m, &r.original])?;
            }
        }
        tx.execute(
            "INSERT INTO view_state (partner, basis, through) VALUES ($1, $2, $3)
             ON CONFLICT (partner) DO UPDATE SET basis = excluded.basis, through = excluded.through",
            &[&partner, &state.basis, &state.through],
        )?;
        tx.commit()?;
        Ok(true)
    }

    fn view_rows(&self, partner: &str, originals: &[String]) -> Result<Vec<ViewRow>, StoreError> {
        let mut client = self.client()?;
        let rows = client.query(
            &format!(
                "SELECT {VIEW_COLUMNS} FROM view_rows WHERE partner = $1 AND original = ANY($2)"
            ),
            &[&partner, &originals],
        )?;
        let mut out: Vec<ViewRow> = rows.iter().map(rows::view_row).collect::<Result<_, _>>()?;
        let marks = client.query(
            "SELECT original, mark FROM view_marks WHERE partner = $1 AND original = ANY($2)
             ORDER BY original, mark",
            &[&partner, &originals],
        )?;
        let mut by: std::collections::HashMap<String, Vec<String>> = Default::default();
        for m in marks {
            by.entry(m.try_get(0)?).or_default().push(m.try_get(1)?);
        }
        for r in &mut out {
            r.marks = by.remove(&r.original).unwrap_or_default();
        }
        // In the order asked, as the SQLite backend gives them.
        let at: std::collections::HashMap<&str, usize> = originals
            .iter()
            .enumerate()
            .map(|(i, o)| (o.as_str(), i))
            .collect();
        out.sort_by_key(|r| at.get(r.original.as_str()).copied().unwrap_or(usize::MAX));
        Ok(out)
    }

    fn view_page(
        &self,
        partner: &str,
        after_micros: i64,
        limit: usize,
    ) -> Result<Vec<ViewRow>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self.client()?.query(
            &format!(
                "SELECT {VIEW_COLUMNS} FROM view_rows WHERE partner = $1 AND added > $2
                 ORDER BY added, delivered LIMIT $3"
            ),
            &[&partner, &after_micros, &limit],
        )?;
        rows.iter().map(rows::view_row).collect()
    }

    fn view_row_delivered(
        &self,
        partner: &str,
        delivered: &str,
    ) -> Result<Option<ViewRow>, StoreError> {
        let row = self.client()?.query_opt(
            &format!("SELECT {VIEW_COLUMNS} FROM view_rows WHERE partner = $1 AND delivered = $2"),
            &[&partner, &delivered],
        )?;
        row.as_ref().map(rows::view_row).transpose()
    }

    fn view_marks(&self, partner: &str, excluding: &[String]) -> Result<Vec<String>, StoreError> {
        let mut client = self.client()?;
        // A skip scan over (partner, mark): one seek per distinct marking.
        let mut out = Vec::new();
        let mut after = String::new();
        while let Some(row) = client.query_opt(
            "SELECT mark FROM view_marks WHERE partner = $1 AND mark > $2 ORDER BY mark LIMIT 1",
            &[&partner, &after],
        )? {
            let mark: String = row.try_get(0)?;
            if excluding.is_empty()
                || client
                    .query_opt(
                        "SELECT 1 FROM view_marks WHERE partner = $1 AND mark = $2
                         AND original <> ALL($3) LIMIT 1",
                        &[&partner, &mark, &excluding],
                    )?
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

/// One writer of a partner's release times at a time (held until commit), so times stay
/// increasing; taking it again in the same transaction is a no-op.
const RELEASE_LOCK: &str = "SELECT pg_advisory_xact_lock(hashtext('liaison-releases:' || $1))";
/// Writes of one partner's stored view, one at a time.
const VIEW_LOCK: &str = "SELECT pg_advisory_xact_lock(hashtext('liaison-view:' || $1))";

/// Records `keys` entering `partner`'s view now, inside `tx` (holding the partner's release
/// lock until commit): each gets a time after every earlier one; a key recorded before is
/// [`StoreError::ReleasesMoved`].
fn pg_new_releases(
    tx: &mut ::postgres::Transaction<'_>,
    partner: &str,
    keys: &[(String, String)],
) -> Result<Vec<Timestamp>, StoreError> {
    tx.execute(RELEASE_LOCK, &[&partner])?;
    let newest: Option<String> = tx
        .query_one(
            "SELECT max(first) FROM releases WHERE partner = $1",
            &[&partner],
        )?
        .try_get(0)?;
    let mut last = newest
        .and_then(|t| Timestamp::parse(&t).ok())
        .map_or(0, |t| t.unix_nanos());
    let ids: Vec<&str> = keys.iter().map(|(id, _)| id.as_str()).collect();
    let mut known: rustc_hash::FxHashSet<(String, String)> = Default::default();
    for r in tx.query(
        "SELECT id, version FROM releases WHERE partner = $1 AND id = ANY($2)",
        &[&partner, &ids],
    )? {
        known.insert((r.try_get(0)?, r.try_get(1)?));
    }
    if let Some((id, _)) = keys.iter().find(|k| known.contains(*k)) {
        return Err(StoreError::ReleasesMoved {
            partner: partner.to_owned(),
            id: id.clone(),
        });
    }
    let insert =
        tx.prepare("INSERT INTO releases (partner, id, version, first) VALUES ($1, $2, $3, $4)")?;
    let mut out = Vec::with_capacity(keys.len());
    for (id, version) in keys {
        last = Timestamp::now().unix_nanos().max(last + 1_000);
        let t = Timestamp::from_unix_nanos(last, 6)
            .ok_or_else(|| StoreError::Damaged("clock out of range".into()))?;
        tx.execute(&insert, &[&partner, id, version, &t.as_str()])?;
        out.push(t);
    }
    // Who received each object: the ids in order, so that two transactions adding different
    // partners to the same rows take their row locks in one order.
    let mut ids = ids;
    ids.sort_unstable();
    ids.dedup();
    tx.execute(
        "INSERT INTO received (id, partners) SELECT id, $2 FROM unnest($1::text[]) AS t(id)
         ORDER BY id
         ON CONFLICT (id) DO UPDATE SET partners = received.partners || ' ' || EXCLUDED.partners
         WHERE strpos(' ' || received.partners || ' ', ' ' || EXCLUDED.partners || ' ') = 0",
        &[&ids, &partner],
    )?;
    Ok(out)
}

/// Charges a matching request inside `tx`, which holds the log lock.
fn pg_charge(tx: &mut ::postgres::Transaction<'_>, charge: &MatchCharge) -> Result<(), StoreError> {
    let seen = tx
        .query_opt(
            "SELECT 1 FROM match_queries WHERE request = $1",
            &[&charge.request],
        )?
        .is_some();
    let used: i64 = tx
        .query_one(
            "SELECT coalesce(sum(count), 0)::bigint FROM match_queries
             WHERE partner = $1 AND epoch = $2",
            &[&charge.partner, &to_i64(charge.epoch)?],
        )?
        .try_get(0)?;
    charge.check(seen, used)?;
    tx.execute(
        "INSERT INTO match_queries (request, partner, epoch, count, answered)
         VALUES ($1, $2, $3, $4, $5)",
        &[
            &charge.request,
            &charge.partner,
            &to_i64(charge.epoch)?,
            &to_i64(charge.count)?,
            &Timestamp::now().as_str(),
        ],
    )?;
    Ok(())
}

impl OperatorStore for PgStore {
    fn put_operator(&mut self, o: &OperatorRecord) -> Result<(), StoreError> {
        self.client.get_mut().execute(
            "INSERT INTO operators (name, role, phc, created, updated) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (name) DO UPDATE SET role = excluded.role, phc = excluded.phc,
                 updated = excluded.updated",
            &[&o.name, &o.role, &o.phc, &o.created, &o.updated],
        )?;
        Ok(())
    }

    fn operator(&self, name: &str) -> Result<Option<OperatorRecord>, StoreError> {
        self.client()?
            .query_opt(
                "SELECT name, role, phc, created, updated FROM operators WHERE name = $1",
                &[&name],
            )?
            .as_ref()
            .map(rows::operator)
            .transpose()
    }

    fn operators(&self) -> Result<Vec<OperatorRecord>, StoreError> {
        self.client()?
            .query(
                "SELECT name, role, phc, created, updated FROM operators ORDER BY name",
                &[],
            )?
            .iter()
            .map(rows::operator)
            .collect()
    }

    fn add_audit(&mut self, e: &AuditRecord) -> Result<i64, StoreError> {
        let row = self.client.get_mut().query_one(
            "INSERT INTO audit (at, operator, action, target, detail) VALUES ($1, $2, $3, $4, $5)
             RETURNING seq",
            &[&e.at, &e.operator, &e.action, &e.target, &e.detail],
        )?;
        Ok(row.try_get(0)?)
    }

    fn audit(&self, before: Option<i64>, limit: usize) -> Result<Vec<AuditRecord>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.client()?
            .query(
                "SELECT seq, at, operator, action, target, detail FROM audit
                 WHERE $1::bigint IS NULL OR seq < $1 ORDER BY seq DESC LIMIT $2",
                &[&before, &limit],
            )?
            .iter()
            .map(rows::audit)
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// A store in a database of its own on the test server (`LIAISON_TEST_PG_URL`), and the
    /// server's maintenance URL to drop it with; None without a server (unless required).
    fn store() -> Option<(PgStore, String, String)> {
        let Some(admin) = std::env::var("LIAISON_TEST_PG_URL")
            .ok()
            .filter(|u| !u.trim().is_empty())
        else {
            assert!(
                std::env::var("LIAISON_REQUIRE_PG").as_deref() != Ok("1"),
                "LIAISON_REQUIRE_PG=1 but LIAISON_TEST_PG_URL is not set"
            );
            return None;
        };
        let name = format!("liaison_unit_{}", std::process::id());
        let mut c = Client::connect(&admin, NoTls).unwrap();
        c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .unwrap();
        c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        let url = match admin.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{name}"),
            None => panic!("no database in {admin}"),
        };
        Some((PgStore::connect(&url).unwrap(), admin, name))
    }

    fn prepared_like(conn: &mut Conn, pattern: &str) -> i64 {
        conn.query_one(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE $1",
            &[&pattern],
        )
        .unwrap()
        .get(0)
    }

    /// A query run again is not prepared again, and the statements a connection keeps are
    /// bounded whatever texts it is given.
    #[test]
    fn statements_are_prepared_once_and_bounded() {
        let Some((store, admin, name)) = store() else {
            return;
        };
        for _ in 0..5 {
            store.generation().unwrap();
        }
        {
            let mut conn = store.client().unwrap();
            assert_eq!(prepared_like(&mut conn, "%key = 'generation'%"), 1);
            for i in 0..STATEMENTS + 40 {
                let n: i32 = conn
                    .query_one(&format!("SELECT {i}::int AS n{i}"), &[])
                    .unwrap()
                    .get(0);
                assert_eq!(n, i32::try_from(i).unwrap());
            }
            let kept = prepared_like(&mut conn, "%");
            assert!(
                kept <= i64::try_from(STATEMENTS).unwrap() + 1,
                "{kept} statements kept"
            );
            assert!(conn.statements.len() <= STATEMENTS);
        }
        drop(store);
        let mut c = Client::connect(&admin, NoTls).unwrap();
        c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .unwrap();
    }
}
