//! `liaison log`: our log's state and keys, partners' keys, and the report of verifying a
//! partner's log (the checks themselves are in `liaison-exchange`).

use std::path::Path;

use anyhow::{anyhow, bail};
use liaison_exchange::{Remotes, VerifyReport};
use liaison_labels::Party;
use liaison_release::{sha256_hex, Leaf, Node, PARTNER_COSIGNER_KEY, PARTNER_LOG_KEY};
use liaison_store::prelude::*;
use liaison_store::AnyStore;
use serde_json::json;

use crate::output::{json, Format};

fn open(home: &Path) -> anyhow::Result<Node<AnyStore>> {
    crate::commands::open(home)
}

/// `liaison log show`.
pub(crate) fn show(home: &Path, fmt: Format) -> anyhow::Result<()> {
    let mut node = open(home)?;
    let s = node.log_status()?;
    match fmt {
        Format::Json => json(&s),
        Format::Human => {
            println!("log {}: {} entries, root {}", s.origin, s.size, s.root);
            println!("\ncheckpoint:\n{}", s.checkpoint);
            if s.cosignatures.is_empty() {
                println!("no cosignatures yet");
            }
            for c in &s.cosignatures {
                println!("cosigned by {} at size {}", c.cosigner, c.size);
            }
            Ok(())
        }
    }
}

/// `liaison log key`.
pub(crate) fn key(home: &Path, verifier_only: bool, fmt: Format) -> anyhow::Result<()> {
    let node = open(home)?;
    let k = node.log_keys();
    let (v, c) = (
        k.node.verifier_key().to_string(),
        k.cosigner.cosigner_key().to_string(),
    );
    if verifier_only && fmt == Format::Human {
        println!("{v}");
        return Ok(());
    }
    match fmt {
        Format::Json => json(&json!({"verifier_key": v, "cosigner_key": c})),
        Format::Human => {
            let p = node.party();
            println!("log verifier key (partners run `liaison partner logkey {p} <key>`):\n  {v}");
            println!("cosigner key (partners run `liaison partner cosigner {p} <key>`):\n  {c}");
            Ok(())
        }
    }
}

/// `liaison partner logkey|cosigner P VKEY`.
pub(crate) fn partner_key(
    home: &Path,
    party: &str,
    kind: &str,
    key: &str,
    fmt: Format,
) -> anyhow::Result<()> {
    let party = crate::commands::party(party, "partner")?;
    let mut node = open(home)?;
    node.set_partner_key(&party, kind, key)?;
    match fmt {
        Format::Json => json(&json!({"partner": party.as_str(), "kind": kind, "key": key.trim()})),
        Format::Human => {
            let what = if kind == PARTNER_LOG_KEY {
                "log key"
            } else {
                "cosigner key"
            };
            println!("{party}'s {what} set");
            Ok(())
        }
    }
}

/// `liaison log verify --partner P`.
pub(crate) fn verify(
    home: &Path,
    partner: Option<&str>,
    secret_env: &str,
    fmt: Format,
) -> anyhow::Result<()> {
    let mut node = open(home)?;
    // What cannot be checked is said before anything is fetched (or a secret asked for).
    let (with_key, without_key) = liaison_exchange::verifiable_partners(&node)?;
    let names = |ps: &[Party]| ps.iter().map(Party::as_str).collect::<Vec<_>>().join(", ");
    let partners: Vec<Party> = match partner {
        Some(p) => {
            let p = crate::commands::party(p, "partner")?;
            node.agreement(&p)?;
            if !with_key.contains(&p) {
                bail!(
                    "{p}'s log cannot be checked: no log key is registered for {p} (`liaison partner logkey {p} VKEY`, with the key `liaison log key` prints on {p}'s node)"
                );
            }
            vec![p]
        }
        None if with_key.is_empty() && without_key.is_empty() => {
            bail!("nothing verified: this node has no partners")
        }
        None if with_key.is_empty() => bail!(
            "nothing verified: no partner's log key is registered, so no log could be checked (not checked: {}); register each with `liaison partner logkey P VKEY`",
            names(&without_key)
        ),
        None => with_key,
    };
    let secret = std::env::var(secret_env).map_err(|_| {
        anyhow!("set `{secret_env}` to the secret the partner gave us (it is never taken on the command line)")
    })?;
    let mut reports = Vec::new();
    for p in &partners {
        reports.push(verify_one(&mut node, home, p, &secret)?);
    }
    let all_ok = reports.iter().all(|r| r.ok);
    match fmt {
        Format::Json => json(&reports)?,
        Format::Human => {
            for r in &reports {
                println!(
                    "{}: checkpoint of size {} {}; {} of {} objects received are in its log{}",
                    r.partner,
                    r.checkpoint_size,
                    if r.consistent {
                        "consistent with what we saw before"
                    } else {
                        "NOT consistent"
                    },
                    r.included,
                    r.received,
                    if r.forks > 0 {
                        format!("; {} fork(s) on record", r.forks)
                    } else {
                        String::new()
                    }
                );
                for m in &r.missing {
                    println!("  not in {}'s log: {m}", r.partner);
                }
                for b in &r.bad_proofs {
                    println!("  does not verify: {b}");
                }
                match (&r.terms_sha256, r.terms_in_log) {
                    (Some(sha), Some(true)) => println!(
                        "  its terms for us (sha256 {}…), signed by both sides, are in its log",
                        sha.get(..16).unwrap_or(sha)
                    ),
                    (Some(sha), _) => println!(
                        "  its terms for us (sha256 {}…), which we countersigned, are NOT in its log signed by both",
                        sha.get(..16).unwrap_or(sha)
                    ),
                    _ => println!("  no terms of its countersigned by us yet"),
                }
                match r.fingerprint_committed {
                    Some(true) => println!(
                        "  the commitment its fingerprints on our copies are made under was logged before its first delivery to us"
                    ),
                    Some(false) => println!(
                        "  its fingerprint commitment is NOT in its log before its first delivery to us"
                    ),
                    None => {}
                }
                println!("  {}", if r.ok { "OK" } else { "FAILED" });
            }
        }
    }
    if partner.is_none() && !without_key.is_empty() {
        eprintln!(
            "not checked (no log key registered): {}",
            names(&without_key)
        );
    }
    if !all_ok {
        bail!("log verification failed");
    }
    Ok(())
}

/// Verifies `partner`'s log, reached where the last pull left it.
pub(crate) fn verify_one<S: Store>(
    node: &mut Node<S>,
    home: &Path,
    partner: &Party,
    secret: &str,
) -> anyhow::Result<VerifyReport> {
    let remotes = Remotes::in_home(home);
    let report = crate::remote::block_on(liaison_exchange::verify_log(
        node, &remotes, partner, secret,
    ))?
    .map_err(|e| crate::remote::explain(e, "pull from it first"))?;
    if let Some(why) = &report.inconsistency {
        eprintln!("error: {why}");
    }
    Ok(report)
}

/// A delivery leaf of realistic size (about 250 bytes of JSON) for the `n`th sample.
pub(crate) fn sample_leaf(n: u64) -> Leaf {
    Leaf::Delivery {
        recipient: "RUS".into(),
        delivered: format!("indicator--00000000-0000-4000-8000-{n:012x}"),
        version: "2026-01-01T00:00:00.000Z".into(),
        sha256: sha256_hex(&n.to_be_bytes()),
        decision: "release".into(),
        reasons: vec!["released".into(), "scope".into()],
        value: 1.0,
    }
}

/// `liaison log stress` (hidden): appends `batch` sample leaves at a time, and after each
/// append (durable) and its signed checkpoint prints `ack SIZE ROOT` and flushes, so that a
/// crash test knows exactly what was acknowledged.
pub(crate) fn stress(home: &Path, batch: usize, batches: Option<u64>) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut node = open(home)?;
    let mut out = std::io::stdout().lock();
    let mut done = 0u64;
    while batches.is_none_or(|b| done < b) {
        let size = node.log_size()?;
        let leaves: Vec<Leaf> = (0..batch as u64).map(|k| sample_leaf(size + k)).collect();
        node.log_append(&leaves)?;
        let cp = node.checkpoint()?;
        writeln!(
            out,
            "ack {} {}",
            cp.checkpoint().size(),
            cp.checkpoint().root()
        )?;
        out.flush()?;
        done += 1;
    }
    Ok(())
}

/// The kinds of partner keys, for the CLI.
pub(crate) const COSIGNER: &str = PARTNER_COSIGNER_KEY;
/// The kind of a partner's log verifier key.
pub(crate) const LOGKEY: &str = PARTNER_LOG_KEY;
