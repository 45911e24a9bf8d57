//! Verifying a partner's log from our side: its checkpoint is consistent with what we saw
//! before, every object we received from it is a delivery to us proved included in its log
//! (opening → commitment → leaf hash → inclusion proof, RFC 6962 §2.1.1 → root of a
//! checkpoint signed by its key), and the terms for us that we countersigned are in its log
//! signed by both sides.

use std::collections::HashSet;

use base64::Engine as _;
use liaison_labels::Party;
use liaison_log::{Hash, Opening, SignedCheckpoint, VerifierKey};
use liaison_release::{sha256_hex, Leaf, Node, PARTNER_LOG_KEY};
use liaison_store::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::ExchangeError;
use crate::partner_log::check_partner_log;
use crate::remotes::Remotes;

/// What verifying a partner's log found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// The partner.
    pub partner: String,
    /// The size of the partner's checkpoint the proofs were checked against.
    pub checkpoint_size: u64,
    /// Whether its checkpoint is consistent with the last one we accepted.
    pub consistent: bool,
    /// Why it is not, when it is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inconsistency: Option<String>,
    /// Forks of its log on record.
    pub forks: usize,
    /// Objects (every version) we received from it.
    pub received: usize,
    /// Of those, how many are proved included in its log.
    pub included: usize,
    /// Those that are not (`id (version)`).
    pub missing: Vec<String>,
    /// Openings served that did not verify (leaf, salt, commitment, proof or root).
    pub bad_proofs: Vec<String>,
    /// The partner's terms for us that we countersigned (SHA-256 of the text), if any.
    pub terms_sha256: Option<String>,
    /// Whether the partner's log holds those terms signed by both sides.
    pub terms_in_log: Option<bool>,
    /// Whether the partner logged the commitment its fingerprints on our copies are made
    /// under before its first delivery to us (`None` when it delivered nothing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint_committed: Option<bool>,
    /// Whether everything above holds.
    pub ok: bool,
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

/// `e` and its sources, as "e: source: source".
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut next = e.source();
    while let Some(s) = next {
        text.push_str(": ");
        text.push_str(&s.to_string());
        next = s.source();
    }
    text
}

/// The partners whose logs can be verified (their log key is registered) and those whose
/// cannot, each in partner order.
pub fn verifiable_partners<S: Store>(
    node: &Node<S>,
) -> Result<(Vec<Party>, Vec<Party>), ExchangeError> {
    let mut with_key = Vec::new();
    let mut without_key = Vec::new();
    for agreement in node.partners()? {
        if node
            .partner_key(&agreement.party, PARTNER_LOG_KEY)?
            .is_some()
        {
            with_key.push(agreement.party);
        } else {
            without_key.push(agreement.party);
        }
    }
    Ok((with_key, without_key))
}

/// Verifies `partner`'s log: reaches it where the last pull left it (in `remotes`), checks
/// its checkpoint (without cosigning), and checks its proofs of what it delivered to us and
/// of the terms we countersigned. A failed check is in the report, not an error; an error
/// is a partner that cannot be reached or answers something malformed.
pub async fn verify_log<S: Store>(
    node: &mut Node<S>,
    remotes: &Remotes,
    partner: &Party,
    secret: &str,
) -> Result<VerifyReport, ExchangeError> {
    // Without its key there is nothing to check its checkpoints and proofs against.
    if node.partner_key(partner, PARTNER_LOG_KEY)?.is_none() {
        return Err(ExchangeError::NoLogKey(partner.clone()));
    }
    let remote = remotes.remote(node.party(), partner, secret)?;
    let mut session = remote.connect().await?;
    let inconsistency = match check_partner_log(node, &mut session, partner, false).await {
        Ok(_) => None,
        Err(e) => Some(chain(&e)),
    };
    let fetch = |body: Vec<u8>, what: &str| -> Result<ProofsJson, ExchangeError> {
        serde_json::from_slice(&body).map_err(|e| ExchangeError::Protocol {
            partner: partner.clone(),
            what: what.into(),
            detail: e.to_string(),
        })
    };
    let deliveries = fetch(
        session.get_log_list("/log/deliveries").await?,
        "/log/deliveries",
    )?;
    let agreements = fetch(
        session.get_log_list("/log/agreements").await?,
        "/log/agreements",
    )?;
    let key = node.partner_log_key(partner)?;
    let mut bad_proofs = Vec::new();
    let (size, delivered) = proven_leaves(&deliveries, &key, partner, &mut bad_proofs)?;
    let (_, agreed) = proven_leaves(&agreements, &key, partner, &mut bad_proofs)?;
    let agreed: Vec<Leaf> = agreed.into_iter().map(|(_, l)| l).collect();
    let me = node.party().as_str().to_owned();
    // (delivered id, sha256) of every delivery to us proved in the partner's log.
    let mut proven = HashSet::new();
    let mut first_delivery: Option<u64> = None;
    let mut commitment: Option<u64> = None;
    for (index, leaf) in delivered {
        match leaf {
            Leaf::Delivery {
                recipient,
                delivered,
                sha256,
                ..
            } if recipient == me => {
                first_delivery = Some(first_delivery.map_or(index, |f| f.min(index)));
                proven.insert((delivered, sha256));
            }
            Leaf::Fingerprint { recipient, .. } if recipient == me => {
                commitment = Some(commitment.map_or(index, |c| c.min(index)));
            }
            _ => {}
        }
    }
    let fingerprint_committed = first_delivery.map(|d| commitment.is_some_and(|c| c < d));
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
        consistent: inconsistency.is_none(),
        inconsistency,
        forks: node.forks(partner)?.len(),
        received: received.len(),
        bad_proofs,
        terms_sha256: terms.map(|t| t.sha256),
        terms_in_log,
        fingerprint_committed,
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
        && report.terms_in_log != Some(false)
        && report.fingerprint_committed != Some(false);
    Ok(report)
}

fn hash(partner: &Party, s: &str) -> Result<Hash, ExchangeError> {
    let bad = |detail: &str| ExchangeError::Protocol {
        partner: partner.clone(),
        what: "log proof".into(),
        detail: format!("`{s}` {detail}"),
    };
    let v = base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|_| bad("is not base64"))?;
    Ok(Hash(v.try_into().map_err(|_| bad("is not 32 bytes"))?))
}

/// The leaves of `proofs` whose openings verify: opening → commitment → leaf hash →
/// inclusion proof → the root of the checkpoint served with them, signed by `key`. Those
/// that do not verify are described in `bad`. Returns the checkpoint's size and the leaves
/// with their indexes.
fn proven_leaves(
    proofs: &ProofsJson,
    key: &VerifierKey,
    partner: &Party,
    bad: &mut Vec<String>,
) -> Result<(u64, Vec<(u64, Leaf)>), ExchangeError> {
    let cp = SignedCheckpoint::verify(proofs.checkpoint.as_bytes(), key).map_err(|source| {
        ExchangeError::Checkpoint {
            partner: partner.clone(),
            source,
        }
    })?;
    let c = cp.checkpoint();
    let mut out = Vec::new();
    for p in &proofs.proofs {
        let lh = hash(partner, &p.leaf_hash)?;
        let path: Vec<Hash> = p
            .path
            .iter()
            .map(|h| hash(partner, h))
            .collect::<Result<_, _>>()?;
        let Some(opening) = Opening::from_hex(p.leaf.as_bytes().to_vec(), &p.salt) else {
            bad.push(format!("leaf {}: the salt is not 64 hex digits", p.index));
            continue;
        };
        if let Err(e) = opening.verify(p.index, Some(lh), c.size(), c.root(), &path) {
            bad.push(format!("leaf {}: {e}", p.index));
            continue;
        }
        if let Some(leaf) = Leaf::from_json(&opening.leaf) {
            out.push((p.index, leaf));
        }
    }
    Ok((c.size(), out))
}
