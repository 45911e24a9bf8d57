//! Which store a node runs on: the PostgreSQL password (from the environment or a file, never
//! the command line) and `liaison migrate`, which copies a node's store to another backend,
//! checks the copy and only then switches the node to it.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{anyhow, bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use liaison_release::{read_password_file, Database, Node, Summary};
use liaison_store::AnyStore;
use serde::Serialize;
use serde_json::json;

use crate::output::{json, table, Format};

/// The environment variable that holds the PostgreSQL password.
pub(crate) const PASSWORD_ENV: &str = "LIAISON_DATABASE_PASSWORD";

/// `--database-password-file` (or `LIAISON_DATABASE_PASSWORD_FILE`), as given.
static PASSWORD_FILE: OnceLock<Option<PathBuf>> = OnceLock::new();

/// Remembers `--database-password-file` for every store this process opens.
pub(crate) fn set_password_file(file: Option<PathBuf>) {
    let _ = PASSWORD_FILE.set(file);
}

fn password_file() -> Option<&'static Path> {
    PASSWORD_FILE.get().and_then(|f| f.as_deref())
}

/// The PostgreSQL password: `LIAISON_DATABASE_PASSWORD`, else the file given with
/// `--database-password-file`; `None` leaves it to the `password_file` the home records, if
/// any.
pub(crate) fn password() -> anyhow::Result<Option<String>> {
    if let Ok(p) = std::env::var(PASSWORD_ENV) {
        if !p.is_empty() {
            return Ok(Some(p));
        }
    }
    password_file()
        .map(|f| read_password_file(f).map_err(anyhow::Error::from))
        .transpose()
}

/// `--database` / `--to`: a PostgreSQL URL (`postgres://` or `postgresql://`, without a
/// password), `sqlite` (the node's home's `node.db`), or the path of an SQLite file.
pub(crate) fn parse_target(text: &str, what: &str) -> anyhow::Result<Database> {
    let lower = text.to_ascii_lowercase();
    if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
        let file = match password_file() {
            Some(f) => Some(
                std::path::absolute(f)
                    .with_context(|| format!("--database-password-file `{}`", f.display()))?,
            ),
            None => None,
        };
        // The URL is not repeated in the error: it may hold the password being refused.
        return Database::postgres(text, file).map_err(|e| anyhow!("{what}: {e}"));
    }
    if text.eq_ignore_ascii_case("sqlite") {
        return Ok(Database::default_sqlite());
    }
    if text.contains("://") {
        bail!("{what}: only PostgreSQL URLs (`postgres://...`), `sqlite` or the path of an SQLite file are understood");
    }
    Ok(Database::Sqlite {
        path: std::path::absolute(text).with_context(|| format!("{what} `{text}`"))?,
    })
}

/// Opens the node at `home` on the store its home names.
pub(crate) fn open(home: &Path) -> anyhow::Result<Node<AnyStore>> {
    Node::open_home(home, password()?.as_deref())
        .with_context(|| format!("node at `{}`", home.display()))
}

/// One check of a migration: a value of the source, of the copy, and whether they agree.
#[derive(Serialize)]
struct Check {
    check: String,
    source: String,
    target: String,
    ok: bool,
}

fn check(checks: &mut Vec<Check>, what: String, source: String, target: String) {
    let ok = source == target;
    checks.push(Check {
        check: what,
        source,
        target,
        ok,
    });
}

/// The checks that compare two summaries and two sets of table digests.
fn compare(
    source: &Summary,
    target: &Summary,
    source_tables: &[liaison_store::TableDigest],
    target_tables: &[liaison_store::TableDigest],
) -> Vec<Check> {
    let mut checks = Vec::new();
    check(
        &mut checks,
        "log size".into(),
        source.log_size.to_string(),
        target.log_size.to_string(),
    );
    check(
        &mut checks,
        "log root".into(),
        source.log_root.clone(),
        target.log_root.clone(),
    );
    check(
        &mut checks,
        "objects".into(),
        source.objects.to_string(),
        target.objects.to_string(),
    );
    check(
        &mut checks,
        "versions".into(),
        source.versions.to_string(),
        target.versions.to_string(),
    );
    let partners = |s: &Summary| -> String {
        s.partners
            .iter()
            .map(|p| p.partner.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    check(
        &mut checks,
        "partners".into(),
        partners(source),
        partners(target),
    );
    for p in &source.partners {
        let other = target.partners.iter().find(|q| q.partner == p.partner);
        let get = |f: &dyn Fn(&liaison_release::PartnerSummary) -> String| {
            other.map(f).unwrap_or_else(|| "(missing)".into())
        };
        check(
            &mut checks,
            format!("releases to {} (view)", p.partner),
            format!("{} {}", p.releases, short(&p.releases_sha256)),
            get(&|q| format!("{} {}", q.releases, short(&q.releases_sha256))),
        );
        check(
            &mut checks,
            format!("decisions for {}", p.partner),
            short(&p.decisions_sha256),
            get(&|q| short(&q.decisions_sha256)),
        );
        check(
            &mut checks,
            format!("ledger with {}", p.partner),
            format!("{:.3} {}", p.balance, short(&p.ledger_sha256)),
            get(&|q| format!("{:.3} {}", q.balance, short(&q.ledger_sha256))),
        );
    }
    for s in source_tables {
        let t = target_tables.iter().find(|t| t.table == s.table);
        check(
            &mut checks,
            format!("table {}", s.table),
            format!("{} rows {}", s.rows, short(&s.sha256)),
            t.map_or_else(
                || "(missing)".into(),
                |t| format!("{} rows {}", t.rows, short(&t.sha256)),
            ),
        );
    }
    checks
}

fn short(hex: &str) -> String {
    hex.chars().take(16).collect()
}

/// `liaison migrate --to TARGET`.
pub(crate) fn migrate(home: &Path, to: &str, fmt: Format) -> anyhow::Result<()> {
    let from = Database::of_home(home)?;
    let target_db = parse_target(to, "--to")?;
    if !from.exists(home) {
        return Err(anyhow!(liaison_release::ReleaseError::NotInitialised))
            .with_context(|| format!("node at `{}`", home.display()));
    }
    if from == target_db
        || (from.sqlite_path(home).is_some()
            && from.sqlite_path(home) == target_db.sqlite_path(home))
    {
        bail!(
            "--to: the node already runs on {}",
            target_db.describe(home)
        );
    }
    let password = password()?;
    let source = open(home)?;
    let mut target = target_db
        .open(home, password.as_deref())
        .with_context(|| format!("--to {}", target_db.describe(home)))?;
    target
        .ensure_empty()
        .with_context(|| format!("--to {}", target_db.describe(home)))?;

    let total: u64 = source.store().table_rows()?.iter().map(|(_, n)| n).sum();
    let show = fmt == Format::Human && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let bar = if show {
        ProgressBar::new(total)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("copying {msg} [{bar:30}] {pos}/{len} rows ({per_sec})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = std::time::Instant::now();
    source
        .store()
        .copy_to(&mut target, &mut |table, done| {
            bar.set_message(table.to_owned());
            bar.set_position(done);
        })
        .with_context(|| {
            format!(
                "copying to {} (the node stays on {}; empty the target before trying again)",
                target_db.describe(home),
                from.describe(home)
            )
        })?;
    bar.finish_and_clear();
    let copied = started.elapsed();

    let spinner = if show {
        ProgressBar::new_spinner()
    } else {
        ProgressBar::hidden()
    };
    spinner.set_message("checking the copy: tables, log, views, decisions, ledger");
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    let source_tables = source.store().digests()?;
    let target_tables = target.digests()?;
    let source_summary = source.summary()?;
    let target_node = Node::open_store(home, target)?;
    let target_summary = target_node.summary()?;
    spinner.finish_and_clear();
    let checks = compare(
        &source_summary,
        &target_summary,
        &source_tables,
        &target_tables,
    );
    let failed: Vec<&str> = checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| c.check.as_str())
        .collect();

    // Switch only when every check holds; the old store is kept (an SQLite file is renamed
    // out of the way, so that the home cannot be read as being on it).
    drop(target_node);
    let mut kept = None;
    let switched = failed.is_empty();
    if switched {
        drop(source);
        target_db.record(home)?;
        if let Some(path) = from.sqlite_path(home) {
            kept = Some(set_aside(&path)?);
        }
    }

    match fmt {
        Format::Json => json(&json!({
            "from": from.describe(home),
            "to": target_db.describe(home),
            "rows": total,
            "seconds": copied.as_secs_f64(),
            "checks": checks,
            "switched": switched,
            "old_store_kept_at": kept.as_ref().map(|p| p.display().to_string()),
        }))?,
        Format::Human => {
            let mut t = table(&["check", "source", "copy", ""]);
            for c in &checks {
                t.add_row(vec![
                    c.check.clone(),
                    c.source.clone(),
                    c.target.clone(),
                    if c.ok { "same" } else { "DIFFERS" }.to_owned(),
                ]);
            }
            println!(
                "copied {total} rows from {} to {} in {:.1}s",
                from.describe(home),
                target_db.describe(home),
                copied.as_secs_f64()
            );
            println!("{t}");
            if switched {
                println!("the node now runs on {}", target_db.describe(home));
                match &kept {
                    Some(p) => println!("the old store was kept at {}", p.display()),
                    None => println!(
                        "the old database was left as it was; drop it once the node runs well"
                    ),
                }
            }
        }
    }
    if !switched {
        bail!(
            "the copy differs from the source ({}): the node stays on {}",
            failed.join(", "),
            from.describe(home)
        );
    }
    Ok(())
}

/// Renames an SQLite file (and its `-wal` and `-shm` files, if any) to
/// `<name>.migrated-<unix seconds>`; returns the new path.
fn set_aside(path: &Path) -> anyhow::Result<PathBuf> {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let name = |suffix: &str| -> PathBuf {
        let mut s = path.as_os_str().to_owned();
        s.push(suffix);
        PathBuf::from(s)
    };
    let moved = name(&format!(".migrated-{stamp}"));
    for extra in ["-wal", "-shm"] {
        let from = name(extra);
        if from.exists() {
            let mut to = moved.as_os_str().to_owned();
            to.push(extra);
            std::fs::rename(&from, &to)
                .with_context(|| format!("cannot move `{}` aside", from.display()))?;
        }
    }
    std::fs::rename(path, &moved)
        .with_context(|| format!("cannot move `{}` aside", path.display()))?;
    Ok(moved)
}
