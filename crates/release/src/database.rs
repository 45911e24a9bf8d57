//! Which store a node runs on, as its home records it in `store.toml`:
//!
//! ```toml
//! backend = "postgres"
//! url = "postgres://liaison@db.example:5432/liaison"   # never with a password
//! password_file = "/etc/liaison/db-password"          # optional
//! ```
//!
//! or `backend = "sqlite"` with `path` (relative to the home, or absolute). A home without
//! `store.toml` runs on `node.db` in the home (every node made before the file existed).
//! The password is never kept here nor accepted in the URL: it comes from the environment
//! or a file, at each start (see [`Database::open`]).

use std::path::{Path, PathBuf};

use liaison_store::{AnyStore, PgStore, SqliteStore, StoreError};
use serde::{Deserialize, Serialize};

use crate::error::ReleaseError;
use crate::node::STORE_FILE;

/// The file in a node's home that names its store.
pub const STORE_CONFIG: &str = "store.toml";

/// A node's store, as `store.toml` names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "backend", rename_all = "lowercase", deny_unknown_fields)]
pub enum Database {
    /// An SQLite file.
    Sqlite {
        /// The file, relative to the home unless absolute.
        path: PathBuf,
    },
    /// A PostgreSQL database.
    Postgres {
        /// Its URL, without a password.
        url: String,
        /// A file holding the password, read at each start (when the environment gives
        /// none).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        password_file: Option<PathBuf>,
    },
}

impl Database {
    /// The home's default: `node.db` in it.
    pub fn default_sqlite() -> Database {
        Database::Sqlite {
            path: PathBuf::from(STORE_FILE),
        }
    }

    /// A PostgreSQL database at `url`, refused when the URL holds a password (it would end
    /// up on a command line, in a log, in `store.toml`).
    pub fn postgres(url: &str, password_file: Option<PathBuf>) -> Result<Database, ReleaseError> {
        liaison_store::check_postgres_url(url)?;
        Ok(Database::Postgres {
            url: url.to_owned(),
            password_file,
        })
    }

    /// What `home` records (the default when it records nothing).
    pub fn of_home(home: &Path) -> Result<Database, ReleaseError> {
        let path = home.join(STORE_CONFIG);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Database::default_sqlite())
            }
            Err(e) => return Err(config_error(&path, &e.to_string())),
        };
        let db: Database =
            toml::from_str(&text).map_err(|e| config_error(&path, &e.to_string()))?;
        if let Database::Postgres { url, .. } = &db {
            liaison_store::check_postgres_url(url)
                .map_err(|e| config_error(&path, &format!("field `url`: {e}")))?;
        }
        Ok(db)
    }

    /// Whether `home` names its store (else it is on the default).
    pub fn recorded_in(home: &Path) -> bool {
        home.join(STORE_CONFIG).exists()
    }

    /// Records this as `home`'s store (written whole, then renamed into place).
    pub fn record(&self, home: &Path) -> Result<(), ReleaseError> {
        let path = home.join(STORE_CONFIG);
        let body = toml::to_string(self).map_err(|e| config_error(&path, &e.to_string()))?;
        let text = format!(
            "# The store this node runs on (written by `liaison init` and `liaison migrate`).\n# Never put a password here: see LIAISON_DATABASE_PASSWORD and password_file.\n{body}"
        );
        let tmp = home.join(format!("{STORE_CONFIG}.tmp"));
        std::fs::write(&tmp, text).map_err(|e| config_error(&tmp, &e.to_string()))?;
        std::fs::rename(&tmp, &path).map_err(|e| config_error(&path, &e.to_string()))
    }

    /// The SQLite file, resolved against `home`.
    pub fn sqlite_path(&self, home: &Path) -> Option<PathBuf> {
        match self {
            Database::Sqlite { path } => Some(home.join(path)),
            Database::Postgres { .. } => None,
        }
    }

    /// Whether the store exists already (an SQLite file may not, yet).
    pub fn exists(&self, home: &Path) -> bool {
        match self.sqlite_path(home) {
            Some(p) => p.exists(),
            None => true,
        }
    }

    /// Opens (creating tables, running migration steps) the store. `password` is the
    /// PostgreSQL password from the environment, if any; without it, the recorded
    /// `password_file` is read, if any.
    pub fn open(&self, home: &Path, password: Option<&str>) -> Result<AnyStore, ReleaseError> {
        match self {
            Database::Sqlite { path } => Ok(SqliteStore::open(&home.join(path))?.into()),
            Database::Postgres { url, password_file } => {
                let from_file = match (password, password_file) {
                    (None, Some(file)) => Some(read_password_file(file)?),
                    _ => None,
                };
                let store = PgStore::connect_with_password(url, password.or(from_file.as_deref()))
                    .map_err(|e| match e {
                        StoreError::Postgres(e) => {
                            // The server's own words (e.g. `database "x" does not exist`)
                            // rather than the client's "db error".
                            let why = match (e.as_db_error(), std::error::Error::source(&e)) {
                                (Some(d), _) => d.message().to_owned(),
                                (None, Some(cause)) => format!("{e}: {cause}"),
                                (None, None) => e.to_string(),
                            };
                            ReleaseError::Database(format!(
                                "cannot use the PostgreSQL database at `{url}`: {why}"
                            ))
                        }
                        other => ReleaseError::Store(other),
                    })?;
                Ok(store.into())
            }
        }
    }

    /// For people: the backend and where (never a password).
    pub fn describe(&self, home: &Path) -> String {
        match self {
            Database::Sqlite { path } => format!("sqlite {}", home.join(path).display()),
            Database::Postgres { url, .. } => format!("postgres {url}"),
        }
    }
}

/// The password in `file`: its first line (a trailing newline is not part of it).
pub fn read_password_file(file: &Path) -> Result<String, ReleaseError> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        ReleaseError::Database(format!(
            "cannot read the database password file `{}`: {e}",
            file.display()
        ))
    })?;
    Ok(text.lines().next().unwrap_or_default().to_owned())
}

fn config_error(path: &Path, problem: &str) -> ReleaseError {
    ReleaseError::Database(format!(
        "`{}`: {problem} (it names the node's store: see README, \"Running on PostgreSQL\")",
        path.display()
    ))
}
