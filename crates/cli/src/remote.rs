//! `liaison pull`: fetch what a partner releases to us over TAXII and keep it as received
//! from that partner. Where the partner is, its certificate fingerprint and how far the last
//! pull got are kept in `remotes/<PARTY>.toml` in the node's home, written after every page,
//! so an interrupted pull resumes where it stopped (anything fetched twice is a duplicate and
//! is skipped).

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use liaison_client::Remote;
use liaison_labels::Party;
use liaison_release::Node;
use liaison_store::SqliteStore;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::output::{json, Format};

#[derive(Debug, Default, Serialize, Deserialize)]
struct RemoteFile {
    url: String,
    fingerprint: Option<String>,
    /// `X-TAXII-Date-Added-Last` of the last page taken.
    added_after: Option<String>,
}

fn remote_path(home: &Path, p: &Party) -> PathBuf {
    home.join("remotes").join(format!("{p}.toml"))
}

fn load(path: &Path) -> anyhow::Result<Option<RemoteFile>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(
            toml::from_str(&text).with_context(|| format!("`{}`", path.display()))?,
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(anyhow!("cannot read `{}`: {e}", path.display())),
    }
}

fn save(path: &Path, r: &RemoteFile) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, toml::to_string(r)?.as_bytes())?;
    tmp.persist(path)
        .map_err(|e| anyhow!("cannot write `{}`: {e}", path.display()))?;
    Ok(())
}

/// Summary of one pull.
#[derive(Debug, Default, Serialize)]
pub(crate) struct PullSummary {
    pub(crate) partner: String,
    pub(crate) pages: u64,
    pub(crate) received: u64,
    pub(crate) stored: u64,
    pub(crate) refused: Vec<serde_json::Value>,
    pub(crate) added_after: Option<String>,
    /// The partner's log checkpoint, checked and cosigned (absent without its log key).
    pub(crate) log: Option<crate::log::LogCheck>,
    /// The partner's terms for us, checked and countersigned (absent without its log key,
    /// or when it has signed none).
    pub(crate) agreement: Option<AgreementCheck>,
}

/// The terms a partner applies to us, as a pull found them.
#[derive(Debug, Default, Serialize)]
pub(crate) struct AgreementCheck {
    /// SHA-256 of the agreement text.
    pub(crate) sha256: String,
    /// Whether the partner took our countersignature (it had it already, or took it now).
    pub(crate) countersigned: bool,
    /// Why it did not, if it did not.
    pub(crate) problem: Option<String>,
}

/// Fetches the terms `partner` applies to us, checks its signature and the text's hash,
/// countersigns them (kept and logged on our side) and sends the countersigned note back.
/// `None` when the partner has signed no agreement for us.
async fn countersign_terms(
    node: &mut Node<SqliteStore>,
    session: &mut liaison_client::Session,
    partner: &Party,
) -> anyhow::Result<Option<AgreementCheck>> {
    let body = match session.get_bytes("/liaison/agreement").await {
        Ok(b) => b,
        Err(liaison_client::ClientError::Taxii { status: 404, .. }) => {
            tracing::warn!(partner = %partner, "the partner has signed no agreement for us");
            return Ok(None);
        }
        Err(e) => return Err(e.into()),
    };
    #[derive(Deserialize)]
    struct Offered {
        text: String,
        note: String,
    }
    let offered: Offered = serde_json::from_slice(&body)
        .map_err(|e| anyhow!("{partner}'s /liaison/agreement is not the expected JSON: {e}"))?;
    let both = node
        .countersign_agreement(partner, &offered.text, &offered.note)
        .with_context(|| format!("{partner}'s agreement terms for us"))?;
    let sha256 = liaison_release::sha256_hex(offered.text.as_bytes());
    let mut check = AgreementCheck {
        sha256,
        countersigned: true,
        problem: None,
    };
    if both != offered.note {
        // Kept and logged on our side already; if the partner refuses it (e.g. it has not
        // registered our log key yet), the pull still stands and the next one sends it again.
        if let Err(e) = session
            .post_bytes("/liaison/agreement", both.into_bytes())
            .await
        {
            tracing::warn!(partner = %partner, "{partner} did not take our countersignature of its terms: {e}");
            check.countersigned = false;
            check.problem = Some(e.to_string());
        }
    }
    Ok(Some(check))
}

/// How to reach a partner for one pull.
pub(crate) struct PullArgs<'a> {
    pub(crate) url: Option<&'a str>,
    pub(crate) fingerprint: Option<&'a str>,
    pub(crate) secret: &'a str,
    pub(crate) limit: usize,
    pub(crate) from_start: bool,
    pub(crate) progress: bool,
}

/// Pulls from `partner` into `node`, keeping where it got to in the node's home.
pub(crate) fn pull_into(
    node: &mut Node<SqliteStore>,
    home: &Path,
    partner: &Party,
    args: &PullArgs<'_>,
) -> anyhow::Result<PullSummary> {
    node.agreement(partner)?;
    let path = remote_path(home, partner);
    let mut saved = load(&path)?.unwrap_or_default();
    if let Some(u) = args.url {
        if saved.url != u {
            saved = RemoteFile {
                url: u.to_owned(),
                ..RemoteFile::default()
            };
        }
    }
    if let Some(f) = args.fingerprint {
        saved.fingerprint = Some(f.to_owned());
    }
    if saved.url.is_empty() {
        bail!("no address for {partner} yet: give `--url https://HOST:PORT/ --fingerprint SHA256`");
    }
    if args.from_start {
        saved.added_after = None;
    }
    let remote = Remote::new(
        &saved.url,
        saved.fingerprint.as_deref(),
        node.party().as_str(),
        args.secret,
    )?;

    // Remember where the partner is even if this pull fails later (e.g. its log forked).
    save(&path, &saved)?;
    let bar = if args.progress {
        ProgressBar::new_spinner()
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} pulling from {msg}: {pos} objects ({per_sec})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_message(partner.to_string());

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut summary = PullSummary {
        partner: partner.to_string(),
        ..PullSummary::default()
    };
    rt.block_on(async {
        let mut session = remote.connect().await?;
        let root = session.api_root().await?;
        let collection = session.outbound_collection(&root).await?;
        let checked = node
            .partner_key(partner, liaison_release::PARTNER_LOG_KEY)?
            .is_some();
        if checked {
            // Before anything is taken: nothing is stored from a partner whose log forked.
            crate::log::check_partner_log(node, &mut session, partner, false).await?;
        }
        let start = saved.added_after.clone();
        let mut next: Option<String> = None;
        loop {
            let page = session
                .page(
                    &root,
                    &collection,
                    start.as_deref(),
                    next.as_deref(),
                    args.limit,
                )
                .await?;
            summary.pages += 1;
            summary.received += page.objects.len() as u64;
            let texts: Vec<&str> = page.objects.iter().map(String::as_str).collect();
            let receipt = node.receive(partner, &texts)?;
            summary.stored += receipt.successes.len() as u64;
            for f in receipt.failures {
                tracing::warn!(partner = %partner, id = ?f.id, "refused: {}", f.message);
                summary
                    .refused
                    .push(json!({"id": f.id, "version": f.version, "message": f.message}));
            }
            bar.inc(page.objects.len() as u64);
            if let Some(last) = page.date_added_last {
                saved.added_after = Some(last);
                save(&path, &saved)?;
            }
            if !page.more {
                break;
            }
            match page.next {
                Some(n) => next = Some(n),
                None => bail!("{partner}'s server says there is more but gives no `next`"),
            }
        }
        // The partner's log: verified, consistent with the last checkpoint we accepted, then
        // cosigned. Without its log key registered there is nothing to check it with.
        if checked {
            summary.log =
                Some(crate::log::check_partner_log(node, &mut session, partner, true).await?);
            summary.agreement = countersign_terms(node, &mut session, partner).await?;
        } else {
            tracing::warn!(partner = %partner, "no log key registered: the partner's log is not checked (`liaison partner logkey`)");
        }
        anyhow::Ok(())
    })?;
    bar.finish_and_clear();
    save(&path, &saved)?;
    summary.added_after = saved.added_after.clone();
    Ok(summary)
}

/// The partner's server as the last pull left it in `remotes/<P>.toml`.
pub(crate) fn remote_for(
    node: &Node<SqliteStore>,
    home: &Path,
    partner: &Party,
    secret: &str,
) -> anyhow::Result<Remote> {
    let saved = load(&remote_path(home, partner))?
        .filter(|r| !r.url.is_empty())
        .ok_or_else(|| anyhow!("no address for {partner} yet: pull from it first"))?;
    Ok(Remote::new(
        &saved.url,
        saved.fingerprint.as_deref(),
        node.party().as_str(),
        secret,
    )?)
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn pull(
    home: &Path,
    partner: &str,
    url: Option<&str>,
    fingerprint: Option<&str>,
    secret_env: &str,
    limit: usize,
    from_start: bool,
    fmt: Format,
) -> anyhow::Result<()> {
    let partner = crate::commands::party(partner, "partner")?;
    let mut node: Node<SqliteStore> =
        Node::open(home).with_context(|| format!("node at `{}`", home.display()))?;
    let secret = std::env::var(secret_env).map_err(|_| {
        anyhow!("set `{secret_env}` to the secret {partner} gave us (it is never taken on the command line)")
    })?;
    let args = PullArgs {
        url,
        fingerprint,
        secret: &secret,
        limit,
        from_start,
        progress: fmt == Format::Human && std::io::IsTerminal::is_terminal(&std::io::stderr()),
    };
    let summary = pull_into(&mut node, home, &partner, &args)?;
    match fmt {
        Format::Json => json(&summary),
        Format::Human => {
            println!(
                "pulled {} objects from {} in {} pages: {} stored, {} refused",
                summary.received,
                partner,
                summary.pages,
                summary.stored,
                summary.refused.len()
            );
            for r in &summary.refused {
                println!("  refused {}: {}", r["id"], r["message"]);
            }
            if let Some(l) = &summary.log {
                println!(
                    "{partner}'s log: checkpoint of size {} verified{}{}",
                    l.size,
                    l.previous
                        .map(|p| format!(", consistent with size {p}"))
                        .unwrap_or_default(),
                    if l.cosigned { ", cosigned" } else { "" }
                );
            }
            if let Some(a) = &summary.agreement {
                match &a.problem {
                    None => println!(
                        "{partner}'s terms for us (sha256 {}…): checked and countersigned",
                        a.sha256.get(..16).unwrap_or(&a.sha256)
                    ),
                    Some(p) => println!(
                        "{partner}'s terms for us (sha256 {}…): countersigned here, but {partner} did not take it: {p}",
                        a.sha256.get(..16).unwrap_or(&a.sha256)
                    ),
                }
            }
            Ok(())
        }
    }
}
