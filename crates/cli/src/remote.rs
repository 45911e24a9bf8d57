//! `liaison pull`: the shell over [`liaison_exchange::pull`]. Arguments in, a progress bar
//! while it runs, the summary printed. Where the partner is and how far the last pull got
//! are kept in `remotes/<PARTY>.toml` in the node's home by the library.

use std::future::Future;
use std::path::Path;

use anyhow::anyhow;
use indicatif::{ProgressBar, ProgressStyle};
use liaison_exchange::{ExchangeError, Progress, PullOptions, PullSummary, Remotes};
use liaison_labels::Party;
use liaison_release::Node;
use liaison_store::prelude::*;
use liaison_store::AnyStore;

use crate::output::{json, Format};

/// Runs `f` to completion on a runtime of its own (the CLI is synchronous).
pub(crate) fn block_on<F: Future>(f: F) -> anyhow::Result<F::Output> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    Ok(rt.block_on(f))
}

/// The library's error, with what the operator can do about it on the command line;
/// `no_address` says what to do when no address is known for the partner.
pub(crate) fn explain(e: ExchangeError, no_address: &str) -> anyhow::Error {
    match &e {
        ExchangeError::NoAddress(_) => anyhow!("{e}: {no_address}"),
        ExchangeError::NoLogKey(p) => anyhow!(
            "{e}: register it (`liaison partner logkey {p} VKEY`), or pull `--without-log-check` to take what {p} sends unchecked"
        ),
        ExchangeError::Forked { partner, .. } => {
            anyhow!("{e} (`liaison log verify --partner {partner}`)")
        }
        _ => e.into(),
    }
}

struct Bar(ProgressBar);

impl Progress for Bar {
    fn page(&mut self, objects: u64) {
        self.0.inc(objects);
    }
}

/// How to reach a partner for one pull.
pub(crate) struct PullArgs<'a> {
    pub(crate) url: Option<&'a str>,
    pub(crate) fingerprint: Option<&'a str>,
    pub(crate) secret: &'a str,
    pub(crate) limit: usize,
    pub(crate) from_start: bool,
    pub(crate) without_log_check: bool,
    pub(crate) progress: bool,
}

/// Pulls from `partner` into `node`, keeping where it got to in the node's home.
pub(crate) fn pull_into<S: Store>(
    node: &mut Node<S>,
    home: &Path,
    partner: &Party,
    args: &PullArgs<'_>,
) -> anyhow::Result<PullSummary> {
    pull_typed(node, home, partner, args)?
        .map_err(|e| explain(e, "give `--url https://HOST:PORT/ --fingerprint SHA256`"))
}

/// [`pull_into`] with the protocol's error kept as it is (for callers that match on it);
/// the outer error is the runtime's.
pub(crate) fn pull_typed<S: Store>(
    node: &mut Node<S>,
    home: &Path,
    partner: &Party,
    args: &PullArgs<'_>,
) -> anyhow::Result<Result<PullSummary, ExchangeError>> {
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
    let options = PullOptions {
        url: args.url,
        fingerprint: args.fingerprint,
        secret: args.secret,
        limit: args.limit,
        from_start: args.from_start,
        without_log_check: args.without_log_check,
    };
    let mut progress = Bar(bar);
    let summary = block_on(liaison_exchange::pull(
        node,
        &Remotes::in_home(home),
        partner,
        &options,
        &mut progress,
    ))?;
    progress.0.finish_and_clear();
    Ok(summary)
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
    without_log_check: bool,
    fmt: Format,
) -> anyhow::Result<()> {
    let partner = crate::commands::party(partner, "partner")?;
    let mut node: Node<AnyStore> = crate::commands::open(home)?;
    let secret = std::env::var(secret_env).map_err(|_| {
        anyhow!("set `{secret_env}` to the secret {partner} gave us (it is never taken on the command line)")
    })?;
    let args = PullArgs {
        url,
        fingerprint,
        secret: &secret,
        limit,
        from_start,
        without_log_check,
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
                match &r.id {
                    Some(id) => println!("  refused `{id}`: {}", r.message),
                    None => println!("  refused: {}", r.message),
                }
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
            match (&summary.log, summary.keeps_log) {
                (None, Some(false)) => println!(
                    "{partner} keeps no verifiable log (its server has no `/log/checkpoint`: a TAXII server that is not a liaison node): nothing it sent can be proved later, no cosignature sent"
                ),
                (None, _) => println!(
                    "{partner}'s log: NOT checked (--without-log-check): no inclusion proofs, no cosignature"
                ),
                (Some(_), _) => {}
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
