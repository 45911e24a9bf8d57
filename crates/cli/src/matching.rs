//! `liaison match`: the shell over private matching. `match --partner P --selectors FILE`
//! asks P which of our selectors it holds ([`liaison_exchange::match_selectors`]);
//! `match budgets` shows, as the holder, what each partner has spent this epoch.

use std::path::Path;

use anyhow::{anyhow, Context};
use indicatif::{ProgressBar, ProgressStyle};
use liaison_client::Remote;
use liaison_exchange::{match_selectors, MatchReport, Remotes, Selector};
use liaison_labels::Party;
use liaison_release::{read_selector_line, unix_now, MatchEventKind, Node};
use liaison_selectors::Region;
use liaison_store::prelude::*;
use liaison_store::AnyStore;

use crate::output::{json, table, Format};
use crate::remote::{block_on, explain};

/// The selectors in `file`: one per line, `kind,value` or a bare value whose kind is
/// guessed (see [`read_selector_line`]); `#` starts a comment.
pub(crate) fn read_selectors(file: &Path) -> anyhow::Result<Vec<Selector>> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read `{}`", file.display()))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        match read_selector_line(line) {
            Ok(Some((kind, raw))) => out.push(Selector {
                kind,
                raw,
                line: i + 1,
            }),
            Ok(None) => {}
            Err(e) => return Err(anyhow!("`{}` line {}: {e}", file.display(), i + 1)),
        }
    }
    Ok(out)
}

/// How to reach the partner asked.
pub(crate) struct Reach<'a> {
    pub(crate) url: Option<&'a str>,
    pub(crate) fingerprint: Option<&'a str>,
    pub(crate) secret_env: &'a str,
}

pub(crate) fn run(
    home: &Path,
    partner: &str,
    file: &Path,
    region: Option<&str>,
    reach: &Reach<'_>,
    fmt: Format,
) -> anyhow::Result<()> {
    let partner = crate::commands::party(partner, "partner")?;
    let node: Node<AnyStore> = crate::commands::open(home)?;
    let region = region
        .map(|r| r.parse::<Region>())
        .transpose()
        .map_err(|e| anyhow!("--region: {e}"))?;
    let selectors = read_selectors(file)?;
    if selectors.is_empty() {
        return Err(anyhow!("`{}` holds no selectors", file.display()));
    }
    let secret = std::env::var(reach.secret_env).map_err(|_| {
        anyhow!(
            "set `{}` to the secret {partner} gave us (it is never taken on the command line)",
            reach.secret_env
        )
    })?;
    let remote = match reach.url {
        Some(url) => Remote::new(url, reach.fingerprint, node.party().as_str(), &secret)?,
        None => Remotes::in_home(home)
            .remote(node.party(), &partner, &secret)
            .map_err(|e| explain(e, "give `--url https://HOST:PORT/ --fingerprint SHA256`"))?,
    };
    let bar = if fmt == Format::Human && std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        ProgressBar::new(0)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("matching with {msg}: {bar:30} {pos}/{len} keys ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(partner.to_string());
    let report = block_on(match_selectors(
        &remote,
        &partner,
        &selectors,
        region,
        &mut |done, total| {
            bar.set_length(total);
            bar.set_position(done);
        },
    ))?
    .map_err(|e| explain(e, "give `--url https://HOST:PORT/ --fingerprint SHA256`"))?;
    bar.finish_and_clear();
    match fmt {
        Format::Json => json(&report),
        Format::Human => {
            print_report(&report);
            Ok(())
        }
    }
}

fn print_report(r: &MatchReport) {
    println!(
        "{} holds {} of our {} selectors (epoch {}, {} keys asked, {} evaluated in {} requests, {} left this epoch)",
        r.partner,
        r.matches.len(),
        r.selectors,
        r.epoch,
        r.keys,
        r.evaluated,
        r.requests,
        r.remaining
    );
    if !r.matches.is_empty() {
        let mut t = table(&["line", "kind", "selector", "match", "keys"]);
        for m in &r.matches {
            t.add_row(vec![
                m.line.to_string(),
                m.kind.clone(),
                m.selector.clone(),
                m.strength.clone(),
                m.keys.join(", "),
            ]);
        }
        println!("{t}");
    }
    for n in &r.not_asked {
        println!("  not asked (line {}): {}", n.line, n.reason);
    }
    println!(
        "{}'s key for us this epoch {}…, its set sha256 {}… (its log entry {})",
        r.partner,
        r.public_key.get(..16).unwrap_or(&r.public_key),
        r.epoch_set_sha256.get(..16).unwrap_or(&r.epoch_set_sha256),
        r.log_index
    );
}

/// `liaison match history [--partner P]`.
pub(crate) fn history(home: &Path, partner: Option<&str>, fmt: Format) -> anyhow::Result<()> {
    let node: Node<AnyStore> = crate::commands::open(home)?;
    let parties: Vec<Party> = match partner {
        Some(p) => {
            let p = Party::parse(p).map_err(|e| anyhow!("--partner: {e}"))?;
            if node.store().partner(p.as_str())?.is_none() {
                anyhow::bail!("--partner: `{p}` is not a partner of this node");
            }
            vec![p]
        }
        None => node
            .store()
            .partners()?
            .iter()
            .filter_map(|r| Party::parse(&r.party).ok())
            .collect(),
    };
    let mut events = Vec::new();
    for p in &parties {
        events.extend(node.match_history(p)?);
    }
    events.sort_by_key(|e| e.index);
    match fmt {
        Format::Json => json(&events),
        Format::Human => {
            if events.is_empty() {
                println!("no matching set published and no request evaluated yet");
                return Ok(());
            }
            let mut t = table(&[
                "log entry",
                "partner",
                "epoch",
                "event",
                "selectors",
                "sha-256",
            ]);
            for e in &events {
                let (event, selectors, digest) = match &e.what {
                    MatchEventKind::Published {
                        padded_size,
                        sha256,
                        ..
                    } => ("set published", format!("{padded_size} (padded)"), sha256),
                    MatchEventKind::Evaluated { count, request } => {
                        ("request evaluated", count.to_string(), request)
                    }
                };
                t.add_row(vec![
                    e.index.to_string(),
                    e.partner.clone(),
                    e.epoch.to_string(),
                    event.to_owned(),
                    selectors,
                    digest.chars().take(16).collect::<String>() + "…",
                ]);
            }
            println!("{t}");
            Ok(())
        }
    }
}

pub(crate) fn budgets(home: &Path, fmt: Format) -> anyhow::Result<()> {
    let node: Node<AnyStore> = crate::commands::open(home)?;
    let rows = node.match_budgets(unix_now())?;
    match fmt {
        Format::Json => json(&rows),
        Format::Human => {
            if rows.is_empty() {
                println!("no agreement allows private matching (add a `[matching]` section)");
                return Ok(());
            }
            let mut t = table(&[
                "partner",
                "epoch",
                "used",
                "budget",
                "requests",
                "last",
                "max set",
                "resets in",
            ]);
            for b in &rows {
                t.add_row(vec![
                    b.partner.clone(),
                    b.epoch.to_string(),
                    b.used.to_string(),
                    b.budget.to_string(),
                    b.queries.to_string(),
                    b.last.clone().unwrap_or_else(|| "-".into()),
                    b.max_set_size.to_string(),
                    format!(
                        "{}h{:02}m",
                        b.next_epoch_in / 3600,
                        b.next_epoch_in % 3600 / 60
                    ),
                ]);
            }
            println!("{t}");
            Ok(())
        }
    }
}
