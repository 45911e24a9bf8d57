//! A pull: fetch what a partner releases to us over TAXII 2.1, page by page from where the
//! last pull stopped, and hand each page to the node as received from that partner. The
//! partner's log is checked before anything is taken (nothing is stored from a forked log)
//! and again after, then cosigned, and the partner's terms for us are countersigned.

use liaison_client::Remote;
use liaison_labels::Party;
use liaison_release::{Node, PARTNER_LOG_KEY};
use liaison_store::prelude::*;
use serde::Serialize;

use crate::error::ExchangeError;
use crate::partner_log::{check_partner_log, LogCheck};
use crate::remotes::{RemoteState, Remotes};
use crate::terms::{countersign_terms, AgreementCheck};

/// How to reach a partner for one pull, and what to take.
#[derive(Debug, Clone)]
pub struct PullOptions<'a> {
    /// The partner's server (`https://host:port/`); remembered for next time. `None` uses
    /// the one the last pull left.
    pub url: Option<&'a str>,
    /// SHA-256 fingerprint of its certificate; remembered for next time.
    pub fingerprint: Option<&'a str>,
    /// The secret the partner gave us.
    pub secret: &'a str,
    /// Objects per page.
    pub limit: usize,
    /// Fetch everything again, not only what was added since the last pull.
    pub from_start: bool,
    /// Pull even though the partner's log key is not registered. Its log is then not
    /// checked: no checkpoint verified or cosigned, nothing it sends can later be proved
    /// included in its log, and its terms for us are not countersigned. Without this, such a
    /// pull is refused with [`ExchangeError::NoLogKey`]. A registered key is always used.
    pub without_log_check: bool,
}

/// Told of a pull's progress; the CLI draws a progress bar with it.
pub trait Progress {
    /// A page of `objects` objects was taken.
    fn page(&mut self, objects: u64);
}

/// No progress reports.
impl Progress for () {
    fn page(&mut self, _objects: u64) {}
}

/// One object the node refused during a pull.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refused {
    /// Its id, when it could be read.
    pub id: Option<String>,
    /// Its version, when it could be read.
    pub version: Option<String>,
    /// Why it was refused.
    pub message: String,
}

/// What one pull did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PullSummary {
    /// The partner pulled from.
    pub partner: String,
    /// Pages fetched.
    pub pages: u64,
    /// Objects fetched.
    pub received: u64,
    /// Objects stored (or already held exactly as sent).
    pub stored: u64,
    /// Objects refused, and why.
    pub refused: Vec<Refused>,
    /// Where the next pull starts (`X-TAXII-Date-Added-Last` of the last page taken).
    pub added_after: Option<String>,
    /// The partner's log checkpoint, checked and cosigned (absent when pulled without the
    /// log check).
    pub log: Option<LogCheck>,
    /// The partner's terms for us, checked and countersigned (absent without its log key,
    /// or when it has signed none).
    pub agreement: Option<AgreementCheck>,
    /// Pulled without the log check: whether the partner's server serves a log checkpoint at
    /// all. `Some(false)` is a TAXII server that is not a liaison node (or hides its log): it
    /// keeps no log we could verify, so nothing it sent can be proved later. `None` when the
    /// log was checked (see `log`).
    pub keeps_log: Option<bool>,
}

/// Pulls from `partner` into `node`, keeping where it got to in `remotes`.
///
/// Refused with [`ExchangeError::NoLogKey`] before anything is fetched when the partner's log
/// key is not registered, unless [`PullOptions::without_log_check`] says to go on unchecked.
/// The remote state is written before connecting (so that the partner's address is kept
/// even if the pull fails later, e.g. its log forked) and after every page.
pub async fn pull<S: Store>(
    node: &mut Node<S>,
    remotes: &Remotes,
    partner: &Party,
    options: &PullOptions<'_>,
    progress: &mut dyn Progress,
) -> Result<PullSummary, ExchangeError> {
    node.agreement(partner)?;
    let checked = node.partner_key(partner, PARTNER_LOG_KEY)?.is_some();
    if !checked && !options.without_log_check {
        return Err(ExchangeError::NoLogKey(partner.clone()));
    }
    let mut saved = remotes.load(partner)?.unwrap_or_default();
    if let Some(u) = options.url {
        if saved.url != u {
            saved = RemoteState {
                url: u.to_owned(),
                ..RemoteState::default()
            };
        }
    }
    if let Some(f) = options.fingerprint {
        saved.fingerprint = Some(f.to_owned());
    }
    if saved.url.is_empty() {
        return Err(ExchangeError::NoAddress(partner.clone()));
    }
    if options.from_start {
        saved.added_after = None;
    }
    let remote = Remote::new(
        &saved.url,
        saved.fingerprint.as_deref(),
        node.party().as_str(),
        options.secret,
    )?;
    remotes.save(partner, &saved)?;

    let mut summary = PullSummary {
        partner: partner.to_string(),
        ..PullSummary::default()
    };
    let mut session = remote.connect().await?;
    let root = session.api_root().await?;
    let collection = session.outbound_collection(&root).await?;
    if checked {
        // Before anything is taken: nothing is stored from a partner whose log forked.
        check_partner_log(node, &mut session, partner, false).await?;
    } else {
        // Any TAXII 2.1 server can be pulled from; say plainly whether it keeps a log at all.
        let keeps = session.get_bytes("/log/checkpoint").await.is_ok();
        if !keeps {
            tracing::warn!(partner = %partner, "the partner's server keeps no verifiable log (no /log/checkpoint): not a liaison node");
        }
        summary.keeps_log = Some(keeps);
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
                options.limit,
            )
            .await?;
        summary.pages += 1;
        summary.received += page.objects.len() as u64;
        let texts: Vec<&str> = page.objects.iter().map(String::as_str).collect();
        let receipt = node.receive(partner, &texts)?;
        summary.stored += receipt.successes.len() as u64;
        for f in receipt.failures {
            tracing::warn!(partner = %partner, id = ?f.id, "refused: {}", f.message);
            summary.refused.push(Refused {
                id: f.id,
                version: f.version,
                message: f.message,
            });
        }
        progress.page(page.objects.len() as u64);
        if let Some(last) = page.date_added_last {
            saved.added_after = Some(last);
            remotes.save(partner, &saved)?;
        }
        if !page.more {
            break;
        }
        match page.next {
            Some(n) => next = Some(n),
            None => {
                return Err(ExchangeError::Protocol {
                    partner: partner.clone(),
                    what: "server".into(),
                    detail: "says there is more but gives no `next`".into(),
                })
            }
        }
    }
    // The partner's log: verified, consistent with the last checkpoint we accepted, then
    // cosigned. Without its log key registered (and the caller's leave) there is nothing to
    // check it with.
    if checked {
        summary.log = Some(check_partner_log(node, &mut session, partner, true).await?);
        summary.agreement = countersign_terms(node, &mut session, partner).await?;
    } else {
        tracing::warn!(partner = %partner, "the partner's log is not checked: no inclusion proofs, no cosignature (its log key is not registered)");
    }
    remotes.save(partner, &saved)?;
    summary.added_after = saved.added_after;
    Ok(summary)
}
