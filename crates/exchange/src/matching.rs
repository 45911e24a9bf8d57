//! Private matching, the asker's side: "does `partner` hold anything on these selectors?"
//! without showing it the selectors (DESIGN.md "Private matching"; the holder's side is
//! `liaison_release::matching`, the protocol `liaison_psi`).
//!
//! 1. read the partner's terms and this epoch's state (`GET /liaison/match/`);
//! 2. fetch its epoch set and check it is the one it announced (hash, key);
//! 3. normalise our selectors (a selector that cannot be normalised is reported, never
//!    dropped) and check the budget covers them before anything is sent;
//! 4. blind them in requests of at most the agreed size, padded to a power of two; verify
//!    each response's proof against the epoch's key; unblind and look up in the filters.
//!
//! The partner learns how many selectors were evaluated (padding included), nothing else.

use std::collections::BTreeMap;

use liaison_client::Remote;
use liaison_labels::Party;
use liaison_psi::{bucket, EpochSet, EvaluationResponse, Query};
use liaison_selectors::{
    normalise, Context, KeyStrength, Region, SelectorKind, NORMALISER_VERSION,
};
use serde::{Deserialize, Serialize};

use crate::error::ExchangeError;

/// One selector to ask about, as read from the asker's list.
#[derive(Debug, Clone)]
pub struct Selector {
    /// What it is.
    pub kind: SelectorKind,
    /// As written.
    pub raw: String,
    /// Where it was read (a line number), for reporting.
    pub line: usize,
}

/// A selector of ours that the partner holds.
#[derive(Debug, Clone, Serialize)]
pub struct Match {
    /// The selector as written.
    pub selector: String,
    /// Its kind (`phone`, `email`, `person`, ...).
    pub kind: String,
    /// Where it was read.
    pub line: usize,
    /// `exact` when its canonical key matched, else `weak` (a variant key: a lead to check,
    /// not an identification).
    pub strength: String,
    /// The keys that matched (canonical forms, ours).
    pub keys: Vec<String>,
}

/// A selector that could not be normalised, so was not asked.
#[derive(Debug, Clone, Serialize)]
pub struct NotAsked {
    /// The selector as written.
    pub selector: String,
    /// Where it was read.
    pub line: usize,
    /// Why.
    pub reason: String,
}

/// What a matching run found.
#[derive(Debug, Clone, Serialize)]
pub struct MatchReport {
    /// The partner asked.
    pub partner: String,
    /// The epoch matched in.
    pub epoch: u64,
    /// Selectors given.
    pub selectors: usize,
    /// Keys asked (a name gives up to four).
    pub keys: usize,
    /// Elements evaluated by the partner (padding included): what it saw, and was charged.
    pub evaluated: u64,
    /// Requests sent.
    pub requests: usize,
    /// Budget left this epoch afterwards.
    pub remaining: u64,
    /// The partner's key for us this epoch, hex.
    pub public_key: String,
    /// SHA-256 of the epoch set, hex; the partner logged it (its log entry `log_index`).
    pub epoch_set_sha256: String,
    /// Where the partner logged the epoch set.
    pub log_index: u64,
    /// Our selectors it holds.
    pub matches: Vec<Match>,
    /// Our selectors that were not asked.
    pub not_asked: Vec<NotAsked>,
}

#[derive(Debug, Deserialize)]
struct Info {
    epoch: u64,
    normaliser_version: u32,
    public_key: String,
    epoch_set_sha256: String,
    log_index: u64,
    remaining: u64,
    max_set_size: u64,
}

fn protocol(partner: &Party, detail: impl std::fmt::Display) -> ExchangeError {
    ExchangeError::Matching {
        partner: partner.clone(),
        detail: detail.to_string(),
    }
}

/// Asks `partner` (at `remote`) which of `selectors` it holds. `progress` is told the keys
/// evaluated so far and the total.
pub async fn match_selectors(
    remote: &Remote,
    partner: &Party,
    selectors: &[Selector],
    region: Option<Region>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<MatchReport, ExchangeError> {
    let send = |source| ExchangeError::Send {
        what: "a matching request",
        partner: partner.clone(),
        source,
    };
    let mut session = remote.connect().await.map_err(send)?;
    let info: Info =
        serde_json::from_slice(&session.get_bytes("/liaison/match/").await.map_err(send)?)
            .map_err(|e| protocol(partner, format!("its matching state does not read: {e}")))?;
    if info.normaliser_version != NORMALISER_VERSION {
        return Err(protocol(
            partner,
            format!(
                "it normalises selectors with version {}, we with {NORMALISER_VERSION}: matches would be silently missed, so nothing was asked",
                info.normaliser_version
            ),
        ));
    }
    let bytes = session
        .get_bytes("/liaison/match/epoch-set")
        .await
        .map_err(send)?;
    let set = EpochSet::from_bytes(&bytes).map_err(|e| protocol(partner, e))?;
    let digest = liaison_release::sha256_hex(&bytes);
    if digest != info.epoch_set_sha256
        || liaison_release::hex(&set.public_key.0) != info.public_key
        || set.epoch.0 != info.epoch
    {
        return Err(protocol(
            partner,
            "the epoch set it sent is not the one it announced (hash, key or epoch differ)",
        ));
    }

    // Normalise; each distinct key remembers which selectors gave it.
    let context = Context {
        default_region: region,
    };
    let mut by_key: BTreeMap<Vec<u8>, Vec<(usize, KeyStrength, String)>> = BTreeMap::new();
    let mut not_asked = Vec::new();
    for (i, s) in selectors.iter().enumerate() {
        match normalise(s.kind, &s.raw, &context) {
            Ok(keys) => {
                for k in keys {
                    by_key.entry(k.to_bytes()).or_default().push((
                        i,
                        k.strength(),
                        k.canonical().to_owned(),
                    ));
                }
            }
            Err(e) => not_asked.push(NotAsked {
                selector: s.raw.clone(),
                line: s.line,
                reason: e.to_string(),
            }),
        }
    }
    let keys: Vec<Vec<u8>> = by_key.keys().cloned().collect();
    let chunk = usize::try_from(info.max_set_size.max(1)).unwrap_or(usize::MAX);
    let cost: u64 = keys.chunks(chunk).map(|c| bucket(c.len()) as u64).sum();
    if cost > info.remaining {
        return Err(protocol(
            partner,
            format!(
                "{} keys need {cost} evaluations once padded, but {} are left of this epoch's budget; nothing was asked",
                keys.len(),
                info.remaining
            ),
        ));
    }

    let mut rng = rand_core::OsRng;
    let mut hits = Vec::new();
    let mut evaluated = 0u64;
    let mut requests = 0;
    progress(0, keys.len() as u64);
    for (n, part) in keys.chunks(chunk).enumerate() {
        let (query, request) = Query::new(&set, part, NORMALISER_VERSION, &mut rng)
            .map_err(|e| protocol(partner, e))?;
        let answer = session
            .post_for_bytes("/liaison/match/evaluate", request.to_bytes())
            .await
            .map_err(send)?;
        let response = EvaluationResponse::from_bytes(&answer).map_err(|e| protocol(partner, e))?;
        let found = query
            .finish(&response, &set)
            .map_err(|e| protocol(partner, e))?;
        hits.extend(found.into_iter().map(|i| n * chunk + i));
        evaluated += request.blinded.len() as u64;
        requests += 1;
        progress(((n + 1) * chunk).min(keys.len()) as u64, keys.len() as u64);
    }

    // Back from keys to our selectors.
    let mut per_selector: BTreeMap<usize, (bool, Vec<String>)> = BTreeMap::new();
    for i in hits {
        let Some(key) = keys.get(i) else { continue };
        for (s, strength, canonical) in by_key.get(key).into_iter().flatten() {
            let entry = per_selector.entry(*s).or_default();
            entry.0 |= *strength == KeyStrength::Exact;
            entry.1.push(canonical.clone());
        }
    }
    let matches = per_selector
        .into_iter()
        .filter_map(|(i, (exact, keys))| {
            let s = selectors.get(i)?;
            Some(Match {
                selector: s.raw.clone(),
                kind: s.kind.tag().to_owned(),
                line: s.line,
                strength: if exact { "exact" } else { "weak" }.to_owned(),
                keys,
            })
        })
        .collect();
    Ok(MatchReport {
        partner: partner.to_string(),
        epoch: info.epoch,
        selectors: selectors.len(),
        keys: keys.len(),
        evaluated,
        requests,
        remaining: info.remaining.saturating_sub(evaluated),
        public_key: info.public_key,
        epoch_set_sha256: info.epoch_set_sha256,
        log_index: info.log_index,
        matches,
        not_asked,
    })
}
