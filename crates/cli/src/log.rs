//! `liaison log` and the log half of `liaison pull`: our log's state and keys, partners'
//! keys, checking a partner's checkpoint against the last one we accepted (from its tiles),
//! cosigning it, and verifying that what a partner sent us is in its log.

use std::path::Path;

use anyhow::{anyhow, bail, Context};
use base64::Engine as _;
use liaison_client::Session;
use liaison_labels::Party;
use liaison_log::{
    check_consistency, prove_consistency, Consistency, Hash, Opening, SignedCheckpoint, TiledTree,
};
use liaison_release::{sha256_hex, Leaf, Node, PARTNER_COSIGNER_KEY, PARTNER_LOG_KEY};
use liaison_store::SqliteStore;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::output::{json, Format};

fn open(home: &Path) -> anyhow::Result<Node<SqliteStore>> {
    Node::open(home).with_context(|| format!("node at `{}`", home.display()))
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
pub(crate) fn key(home: &Path, fmt: Format) -> anyhow::Result<()> {
    let node = open(home)?;
    let k = node.log_keys();
    let (v, c) = (
        k.node.verifier_key().to_string(),
        k.cosigner.cosigner_key().to_string(),
    );
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

/// What checking a partner's log found.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct LogCheck {
    /// The partner's checkpoint size now.
    pub(crate) size: u64,
    /// The size we had accepted before, if any.
    pub(crate) previous: Option<u64>,
    /// Whether we sent our cosignature.
    pub(crate) cosigned: bool,
}

fn b64(h: &Hash) -> String {
    h.to_string()
}

fn hash(s: &str) -> anyhow::Result<Hash> {
    let v = base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|_| anyhow!("bad hash `{s}`"))?;
    Ok(Hash(
        v.try_into().map_err(|_| anyhow!("bad hash length `{s}`"))?,
    ))
}

/// The consistency proof from size `old` to the partner's checkpoint `cp`, computed from the
/// partner's tiles: only the few tiles the proof needs are fetched, and each is checked
/// against `cp`'s root before it is used.
async fn consistency_from_tiles(
    session: &mut Session,
    partner: &Party,
    old: u64,
    cp: &SignedCheckpoint,
) -> anyhow::Result<Vec<Hash>> {
    let size = cp.checkpoint().size();
    let tree = TiledTree::new(size, cp.checkpoint().root())?;
    // Each round fetches what the last one lacked; a proof needs a handful of rounds at most.
    for _ in 0..16 {
        match prove_consistency(old, size, &tree) {
            Ok(proof) => return Ok(proof),
            Err(e) => {
                let need = tree.take_missing();
                if need.is_empty() {
                    bail!("{partner}'s tiles do not agree with its checkpoint of size {size}: {e}; refused");
                }
                for t in need {
                    let data = session.get_bytes(&format!("/log/{}", t.path())).await?;
                    tree.add_tile(t, data)
                        .map_err(|e| anyhow!("{partner}'s tile {}: {e}", t.path()))?;
                }
            }
        }
    }
    bail!("{partner}'s tiles did not give a consistency proof from size {old} to {size}")
}

/// Fetches the partner's checkpoint, verifies it with its registered log key, checks it is
/// consistent with the last one we accepted (the proof computed from its tiles), keeps it,
/// and (when `cosign`) cosigns it and sends the cosignature back. A fork is kept as
/// evidence and fails loudly.
pub(crate) async fn check_partner_log(
    node: &mut Node<SqliteStore>,
    session: &mut Session,
    partner: &Party,
    cosign: bool,
) -> anyhow::Result<LogCheck> {
    let key = node.partner_log_key(partner)?;
    let note = session.get_bytes("/log/checkpoint").await?;
    let cp = SignedCheckpoint::verify(&note, &key)
        .map_err(|e| anyhow!("{partner}'s checkpoint does not verify with its log key: {e}"))?;
    let size = cp.checkpoint().size();
    let previous = node.partner_checkpoint(partner)?;
    if let Some(prev) = &previous {
        let old = prev.checkpoint().size();
        let proof = if old > 0 && old < size {
            Some(consistency_from_tiles(session, partner, old, &cp).await?)
        } else {
            None
        };
        if let Consistency::Inconsistent(ev) = check_consistency(prev, &cp, proof.as_deref())? {
            let evidence = json!({
                "partner": partner.as_str(),
                "previous": String::from_utf8_lossy(ev.previous().as_bytes()),
                "current": String::from_utf8_lossy(ev.current().as_bytes()),
                "proof": ev.proof().map(|p| p.iter().map(b64).collect::<Vec<_>>()),
                "failure": ev.failure().to_string(),
                "conclusive": ev.is_conclusive(),
            });
            node.record_fork(partner, &evidence)?;
            bail!(
                "{partner}'s log FORKED: its checkpoint of size {size} is not consistent with the checkpoint of size {old} we accepted ({}); refused, not cosigned, evidence kept (`liaison log verify --partner {partner}`)",
                ev.failure()
            );
        }
    }
    node.accept_partner_checkpoint(partner, &cp)?;
    let mut check = LogCheck {
        size,
        previous: previous.map(|p| p.checkpoint().size()),
        cosigned: false,
    };
    if cosign {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let line = node.log_keys().cosigner.cosign(&cp, now)?.to_line();
        session
            .post_bytes(&format!("/log/cosignature?size={size}"), line.into_bytes())
            .await
            .with_context(|| format!("sending our cosignature to {partner}"))?;
        check.cosigned = true;
    }
    Ok(check)
}

#[derive(Debug, Deserialize)]
struct ProofJson {
    index: u64,
    leaf: String,
    salt: String,
    leaf_hash: String,
    path: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct ProofsJson {
    checkpoint: String,
    proofs: Vec<ProofJson>,
}

/// The report of `liaison log verify`.
#[derive(Debug, Default, Serialize)]
pub(crate) struct VerifyReport {
    pub(crate) partner: String,
    pub(crate) checkpoint_size: u64,
    pub(crate) consistent: bool,
    pub(crate) forks: usize,
    pub(crate) received: usize,
    pub(crate) included: usize,
    pub(crate) missing: Vec<String>,
    /// Openings served that did not verify (leaf, salt, commitment, proof or root).
    pub(crate) bad_proofs: Vec<String>,
    /// The partner's terms for us that we countersigned (SHA-256 of the text), if any.
    pub(crate) terms_sha256: Option<String>,
    /// Whether the partner's log holds those terms signed by both sides.
    pub(crate) terms_in_log: Option<bool>,
    pub(crate) ok: bool,
}

/// `liaison log verify --partner P`.
pub(crate) fn verify(
    home: &Path,
    partner: Option<&str>,
    secret_env: &str,
    fmt: Format,
) -> anyhow::Result<()> {
    let mut node = open(home)?;
    let partners: Vec<Party> = match partner {
        Some(p) => vec![crate::commands::party(p, "partner")?],
        None => node
            .partners()?
            .into_iter()
            .map(|a| a.party)
            .filter(|p| {
                node.partner_key(p, PARTNER_LOG_KEY)
                    .ok()
                    .flatten()
                    .is_some()
            })
            .collect(),
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
                println!("  {}", if r.ok { "OK" } else { "FAILED" });
            }
        }
    }
    if !all_ok {
        bail!("log verification failed");
    }
    Ok(())
}

pub(crate) fn verify_one(
    node: &mut Node<SqliteStore>,
    home: &Path,
    partner: &Party,
    secret: &str,
) -> anyhow::Result<VerifyReport> {
    let remote = crate::remote::remote_for(node, home, partner, secret)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (consistent, proofs) = rt.block_on(async {
        let mut session = remote.connect().await?;
        let consistent = match check_partner_log(node, &mut session, partner, false).await {
            Ok(_) => true,
            Err(e) => {
                eprintln!("error: {e:#}");
                false
            }
        };
        let fetch = |body: Vec<u8>, what: &str| -> anyhow::Result<ProofsJson> {
            serde_json::from_slice(&body).map_err(|e| anyhow!("{partner}'s {what}: {e}"))
        };
        let deliveries = fetch(
            session.get_log_list("/log/deliveries").await?,
            "/log/deliveries",
        )?;
        let agreements = fetch(
            session.get_log_list("/log/agreements").await?,
            "/log/agreements",
        )?;
        anyhow::Ok((consistent, (deliveries, agreements)))
    })?;
    let (deliveries, agreements) = proofs;
    let key = node.partner_log_key(partner)?;
    let mut bad_proofs = Vec::new();
    let (size, delivered) = proven_leaves(&deliveries, &key, partner, &mut bad_proofs)?;
    let (_, agreed) = proven_leaves(&agreements, &key, partner, &mut bad_proofs)?;
    let me = node.party().as_str().to_owned();
    // (delivered id, sha256) of every delivery to us proved in the partner's log.
    let mut proven = std::collections::HashSet::new();
    for leaf in delivered {
        if let Leaf::Delivery {
            recipient,
            delivered,
            sha256,
            ..
        } = leaf
        {
            if recipient == me {
                proven.insert((delivered, sha256));
            }
        }
    }
    let received = node.inbound_view(partner)?.entries;
    // The partner's terms for us that we countersigned must be in its log, signed by both.
    let terms = node.agreement_status(partner)?.theirs;
    let mut terms_in_log = None;
    if let Some(t) = &terms {
        let mut found = false;
        for leaf in &agreed {
            if let Leaf::Agreement {
                partner: p, note, ..
            } = leaf
            {
                // The note itself is checked: both signatures, its parties and hash.
                if *p == me && node.is_countersigned_terms(partner, note, &t.sha256)? {
                    found = true;
                }
            }
        }
        terms_in_log = Some(found);
    }
    let mut report = VerifyReport {
        partner: partner.to_string(),
        checkpoint_size: size,
        consistent,
        forks: node.forks(partner)?.len(),
        received: received.len(),
        bad_proofs,
        terms_sha256: terms.map(|t| t.sha256),
        terms_in_log,
        ..VerifyReport::default()
    };
    for e in &received {
        if proven.contains(&(e.id.clone(), sha256_hex(e.json.as_bytes()))) {
            report.included += 1;
        } else {
            report
                .missing
                .push(format!("{} ({})", e.id, e.version.as_str()));
        }
    }
    report.ok = report.consistent
        && report.forks == 0
        && report.missing.is_empty()
        && report.bad_proofs.is_empty()
        && report.terms_in_log != Some(false);
    Ok(report)
}

/// The leaves of `proofs` whose openings verify: opening → commitment → leaf hash →
/// inclusion proof → the root of the checkpoint served with them, signed by `key`. Those
/// that do not verify are described in `bad`. Returns the checkpoint's size and the leaves.
fn proven_leaves(
    proofs: &ProofsJson,
    key: &liaison_log::VerifierKey,
    partner: &Party,
    bad: &mut Vec<String>,
) -> anyhow::Result<(u64, Vec<Leaf>)> {
    let cp = SignedCheckpoint::verify(proofs.checkpoint.as_bytes(), key)
        .map_err(|e| anyhow!("{partner}'s checkpoint does not verify: {e}"))?;
    let c = cp.checkpoint();
    let mut out = Vec::new();
    for p in &proofs.proofs {
        let lh = hash(&p.leaf_hash)?;
        let path: Vec<Hash> = p.path.iter().map(|h| hash(h)).collect::<Result<_, _>>()?;
        let Some(opening) = Opening::from_hex(p.leaf.as_bytes().to_vec(), &p.salt) else {
            bad.push(format!("leaf {}: the salt is not 64 hex digits", p.index));
            continue;
        };
        if let Err(e) = opening.verify(p.index, Some(lh), c.size(), c.root(), &path) {
            bad.push(format!("leaf {}: {e}", p.index));
            continue;
        }
        if let Some(leaf) = Leaf::from_json(&opening.leaf) {
            out.push(leaf);
        }
    }
    Ok((c.size(), out))
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
