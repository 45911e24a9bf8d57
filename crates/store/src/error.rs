/// Why the store refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database itself failed.
    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),
    /// The PostgreSQL server or the connection to it failed.
    #[error("database error: {}", postgres_detail(.0))]
    Postgres(#[from] ::postgres::Error),
    /// The store was used again from inside one of its own scans (PostgreSQL: one connection).
    #[error("the store is busy with a scan; it cannot be used from inside the scan's callback")]
    Busy,
    /// A different object already holds this id and version; the batch was not written.
    #[error("object {index} (`{id}`): a different object with version `{version}` is already stored; nothing from this batch was written")]
    Conflict {
        /// Position in the batch.
        index: usize,
        /// The object's id.
        id: String,
        /// The version (`modified`, else `created`).
        version: String,
        /// The positions of the other conflicting objects of the batch, if any (all of them
        /// are found in one pass, so a caller taking the rest goes through once more, not
        /// once per conflict).
        also: Vec<usize>,
    },
    /// The node was initialised for another party.
    #[error("this node belongs to `{existing}`, not `{requested}`")]
    OtherParty {
        /// The party on record.
        existing: String,
        /// The party asked for.
        requested: String,
    },
    /// A stored row does not read back (the database was changed behind liaison's back).
    #[error("stored data is damaged: {0}")]
    Damaged(String),
    /// The database was written by a newer liaison.
    #[error("the store has schema version {found}, newer than this liaison knows (up to {known}): it was written by a newer liaison; run that one (or a newer one) on it, nothing was changed")]
    Schema {
        /// Found in the file.
        found: i64,
        /// The newest this build knows.
        known: i64,
    },
    /// The log grew (or the stored hashes do not continue it) since the caller read it:
    /// nothing was appended.
    #[error("the log changed under this append (expected {expected} stored hashes, found {found}); nothing was appended")]
    LogMoved {
        /// The stored hash index the append started at.
        expected: u64,
        /// The number of stored hashes found.
        found: u64,
    },
    /// Something already entered the partner's view that the caller thought new: nothing
    /// was appended or recorded (read the releases again and retry).
    #[error("releases to {partner} changed under this append (`{id}` was recorded meanwhile); nothing was appended")]
    ReleasesMoved {
        /// The partner.
        partner: String,
        /// An id recorded meanwhile.
        id: String,
    },
    /// The PostgreSQL URL does not read.
    #[error("database URL: {0}")]
    Url(String),
    /// The PostgreSQL URL holds a password, which would then be on a command line, in a log
    /// or in the node's home.
    #[error("the database URL holds a password: take it out of the URL and give it in the environment (`LIAISON_DATABASE_PASSWORD`) or in a file (`--database-password-file`, or `LIAISON_DATABASE_PASSWORD_FILE`)")]
    PasswordInUrl,
    /// A store to copy into already holds data.
    #[error("the target store is not empty (table `{table}` has {rows} rows); migrate into an empty database or file")]
    NotEmpty {
        /// A table with rows.
        table: String,
        /// How many.
        rows: u64,
    },
    /// A private-matching request that was answered before.
    #[error("this matching request was answered before; a replay is not evaluated again")]
    MatchReplayed,
    /// A private-matching request over what is left of the epoch's budget.
    #[error("budget exhausted: {requested} selectors asked, {remaining} left this epoch")]
    MatchBudget {
        /// Selectors the request would evaluate.
        requested: u64,
        /// Selectors left.
        remaining: u64,
    },
}

/// What the PostgreSQL client's own message leaves out: the server's message for an error the
/// server sent (its text alone is "db error"), the cause for a connection that failed.
fn postgres_detail(e: &::postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{} {}: {}", db.severity(), db.code().code(), db.message());
    }
    match std::error::Error::source(e) {
        Some(cause) => format!("{e}: {cause}"),
        None => e.to_string(),
    }
}
