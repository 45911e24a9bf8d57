//! Private matching, the holder's side (DESIGN.md "Private matching"): a partner asks "do you
//! hold anything on these selectors?" and learns which of its selectors we hold; we learn
//! only how many it asked.
//!
//! - **What can match** is what the policy releases to the asker: the selectors in its view
//!   (`extract.rs`), read from the copies as cut for it. A match never reveals something the
//!   policy withholds from the asker.
//! - **Keys**: one VOPRF key per asker and epoch, derived from the node's matching secret
//!   (`liaison_psi::HolderKey::derive`), so askers cannot pool budgets (see `crates/psi`).
//! - **Epochs** are `[matching] epoch_hours` long (24 by default), counted from 1970 UTC. The
//!   set is evaluated once per epoch (the server keeps it for the epoch): what enters the
//!   view later becomes matchable in the next epoch.
//! - **Accountable**: the set's public key and hash are logged when it is published
//!   ([`Leaf::MatchEpoch`]); each evaluated request is logged with its count
//!   ([`Leaf::MatchQuery`]) in the same transaction that charges the budget, so a request is
//!   never answered uncharged nor charged twice (a replay is refused).

mod extract;

use std::sync::Arc;

use liaison_labels::Party;
use liaison_policy::Matching;
use liaison_psi::{Budget, EpochId, EvaluationRequest, HolderKey, Limits, PsiError};
use liaison_selectors::{normalise, Context, Region, SelectorKind, NORMALISER_VERSION};
use liaison_store::prelude::*;
use liaison_store::{MatchCharge, StoreError};
use serde::Serialize;

use crate::error::ReleaseError;
use crate::log::{hex, sha256_hex, Leaf};
use crate::node::Node;

pub(crate) use extract::selectors_in;

/// Why a matching request was refused. Each says what the asker can do about it.
#[derive(Debug, thiserror::Error)]
pub enum MatchError {
    /// The agreement with the asker has no `[matching]` section.
    #[error(
        "no private matching is agreed with `{0}` (its agreement has no `[matching]` section)"
    )]
    NotAgreed(String),
    /// The request breaks the protocol (epoch, normaliser, size, padding, elements).
    #[error(transparent)]
    Protocol(#[from] PsiError),
    /// The same request was answered before.
    #[error("this matching request was answered before; a replay is not evaluated again")]
    Replayed,
    /// The epoch's budget cannot cover the request.
    #[error("budget exhausted: {requested} selectors asked, {remaining} left this epoch; the next epoch starts in {retry_after} s")]
    Budget {
        /// Selectors the request would evaluate.
        requested: u64,
        /// Selectors left.
        remaining: u64,
        /// Seconds until the budget resets.
        retry_after: u64,
    },
}

/// A selector of ours that could not be normalised, so cannot match: reported, never
/// dropped silently.
#[derive(Debug, Clone, Serialize)]
pub struct Unreadable {
    /// The object it is in (our id).
    pub object: String,
    /// What it was read as (`phone`, `email`, ...).
    pub kind: String,
    /// Why it could not be normalised.
    pub reason: String,
}

/// The set an asker matches against in one epoch, as published to it.
#[derive(Debug, Clone)]
pub struct EpochPublication {
    /// The epoch.
    pub epoch: u64,
    /// The wire form of the epoch set (`liaison_psi::EpochSet::to_bytes`).
    pub bytes: Arc<[u8]>,
    /// The public key the asker verifies proofs against, hex.
    pub public_key: String,
    /// SHA-256 of `bytes`, hex (as logged).
    pub sha256: String,
    /// Distinct selector keys evaluated (not sent: the asker sees only the padded size).
    pub keys: u64,
    /// Elements in each filter.
    pub padded_size: u64,
    /// Our selectors that could not be normalised.
    pub unreadable: Vec<Unreadable>,
    /// The index of its [`Leaf::MatchEpoch`] in our log.
    pub log_index: u64,
    /// The terms it was published under.
    pub terms: Matching,
}

/// One partner's matching budget in the current epoch (`liaison match budgets`).
#[derive(Debug, Clone, Serialize)]
pub struct MatchBudget {
    /// The partner.
    pub partner: String,
    /// The current epoch for it.
    pub epoch: u64,
    /// Selectors it may have evaluated per epoch.
    pub budget: u64,
    /// Selectors evaluated this epoch.
    pub used: u64,
    /// Requests answered this epoch.
    pub queries: u64,
    /// When the last was answered.
    pub last: Option<String>,
    /// The largest request.
    pub max_set_size: u64,
    /// The epoch's length in hours.
    pub epoch_hours: u64,
    /// Seconds until the next epoch (budget reset, new key).
    pub next_epoch_in: u64,
}

/// One private-matching event with a partner, as its log leaf records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MatchEvent {
    /// The log entry's index (its inclusion can be proved against any later checkpoint).
    pub index: u64,
    /// The partner that asked.
    pub partner: String,
    /// The epoch.
    pub epoch: u64,
    /// What happened.
    #[serde(flatten)]
    pub what: MatchEventKind,
}

/// What a [`MatchEvent`] was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum MatchEventKind {
    /// The epoch's set was published to the partner.
    Published {
        /// The padded size of the set it was sent (the real size is not said).
        padded_size: u64,
        /// SHA-256 of the set as sent, hex.
        sha256: String,
        /// The epoch's public key for this partner, hex.
        public_key: String,
        /// The normaliser's version.
        normaliser: u32,
    },
    /// A request of the partner's was evaluated and charged.
    Evaluated {
        /// Selectors evaluated (padding included): what the budget was charged.
        count: u64,
        /// SHA-256 of the blinded request, hex (never the selectors: we never see them).
        request: String,
    },
}

/// An asker's selector keys and epoch key, ready to evaluate (no node needed).
pub struct PendingSet {
    asker: Party,
    epoch: u64,
    terms: Matching,
    keys: Vec<Vec<u8>>,
    unreadable: Vec<Unreadable>,
    key: HolderKey,
}

impl std::fmt::Debug for PendingSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingSet")
            .field("asker", &self.asker)
            .field("epoch", &self.epoch)
            .field("keys", &self.keys.len())
            .finish_non_exhaustive()
    }
}

/// An evaluated epoch set, not yet logged.
#[derive(Debug)]
pub struct BuiltSet {
    pending: PendingSet,
    set: liaison_psi::EpochSet,
}

impl PendingSet {
    /// The epoch's key this set is for.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Evaluates every key and builds the padded filters: pure computation, on any thread.
    pub fn build(self) -> Result<BuiltSet, ReleaseError> {
        let set = self
            .key
            .precompute(
                self.keys.iter().map(Vec::as_slice),
                NORMALISER_VERSION,
                &mut rand_core::OsRng,
            )
            .map_err(MatchError::from)?;
        Ok(BuiltSet { pending: self, set })
    }
}

/// A matching request checked against the node and ready to evaluate (no node needed).
pub struct PreparedMatch {
    asker: Party,
    epoch: u64,
    request_sha256: String,
    parsed: EvaluationRequest,
    used: u64,
    terms: Matching,
    retry_after: u64,
    key: HolderKey,
}

impl std::fmt::Debug for PreparedMatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedMatch")
            .field("asker", &self.asker)
            .field("epoch", &self.epoch)
            .field("count", &self.parsed.blinded.len())
            .finish_non_exhaustive()
    }
}

/// An evaluated request, not yet charged: its response goes out only after
/// [`Node::commit_match`].
#[derive(Debug)]
pub struct EvaluatedMatch {
    prepared: PreparedMatch,
    response: Vec<u8>,
}

impl PreparedMatch {
    /// The protocol's checks (epoch, normaliser, size, padding, elements, the budget as it
    /// stood) and the evaluation with its proof: pure computation, on any thread.
    pub fn evaluate(self) -> Result<EvaluatedMatch, ReleaseError> {
        let mut budget = Budget {
            per_epoch: self.terms.budget_per_epoch,
            used: self.used,
        };
        let limits = Limits {
            max_request: usize::try_from(self.terms.max_set_size).unwrap_or(usize::MAX),
            normaliser_version: NORMALISER_VERSION,
        };
        let response = self
            .key
            .evaluate(&self.parsed, &mut budget, &limits, &mut rand_core::OsRng)
            .map_err(|e| match e {
                PsiError::BudgetExhausted {
                    requested,
                    remaining,
                } => MatchError::Budget {
                    requested,
                    remaining,
                    retry_after: self.retry_after,
                },
                other => MatchError::Protocol(other),
            })?;
        Ok(EvaluatedMatch {
            response: response.to_bytes(),
            prepared: self,
        })
    }
}

/// Seconds since 1970, UTC.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl<S: Store> Node<S> {
    /// The region phone numbers without a country code are read in on this node.
    pub fn set_region(&mut self, region: Option<Region>) {
        self.region = region;
    }

    /// The matching terms agreed with `asker`, or [`MatchError::NotAgreed`].
    pub fn matching_terms(&self, asker: &Party) -> Result<Matching, ReleaseError> {
        self.agreement(asker)?
            .matching
            .ok_or_else(|| MatchError::NotAgreed(asker.to_string()).into())
    }

    /// Evaluates the selectors in `asker`'s view under its key for the epoch of `now` (seconds
    /// since 1970), publishes them as an epoch set and logs its key and hash. Delivers the
    /// view first, as a TAXII request would (what can match is what the view holds). The
    /// steps are apart ([`Node::collect_match_set`], [`PendingSet::build`],
    /// [`Node::log_match_set`]) so that a server evaluates the set without holding the node.
    pub fn publish_match_set(
        &mut self,
        asker: &Party,
        now: u64,
    ) -> Result<EpochPublication, ReleaseError> {
        let built = self.collect_match_set(asker, now)?.build()?;
        self.log_match_set(built)
    }

    /// The normalised selector keys of `asker`'s view and its key for the epoch of `now`.
    pub fn collect_match_set(
        &mut self,
        asker: &Party,
        now: u64,
    ) -> Result<PendingSet, ReleaseError> {
        let terms = self.matching_terms(asker)?;
        let epoch = terms.epoch_at(now);
        let view = self.view(asker)?;
        let context = Context {
            default_region: self.region.clone(),
        };
        let mut keys: Vec<Vec<u8>> = Vec::new();
        let mut unreadable = Vec::new();
        for entry in &view.entries {
            let Ok(object) = serde_json::from_str::<serde_json::Value>(&entry.json) else {
                continue;
            };
            for candidate in selectors_in(&object) {
                match normalise(candidate.kind, &candidate.raw, &context) {
                    Ok(found) => keys.extend(found.iter().map(|k| k.to_bytes())),
                    Err(e) => unreadable.push(Unreadable {
                        object: entry.original.clone(),
                        kind: candidate.kind.tag().to_owned(),
                        reason: e.to_string(),
                    }),
                }
            }
        }
        keys.sort_unstable();
        keys.dedup();
        if !unreadable.is_empty() {
            tracing::warn!(
                partner = %asker,
                count = unreadable.len(),
                "selectors in the view could not be normalised and cannot match"
            );
        }
        let key = HolderKey::derive(&self.log_keys.matching, EpochId(epoch), asker.as_str())
            .map_err(MatchError::from)?;
        Ok(PendingSet {
            asker: asker.clone(),
            epoch,
            terms,
            keys,
            unreadable,
            key,
        })
    }

    /// Logs a built epoch set's key and hash; then it may be served.
    pub fn log_match_set(&mut self, built: BuiltSet) -> Result<EpochPublication, ReleaseError> {
        let BuiltSet { pending: p, set } = built;
        let bytes: Arc<[u8]> = set.to_bytes().into();
        let public_key = hex(&set.public_key.0);
        let sha256 = sha256_hex(&bytes);
        let log_index = self.log_append(&[Leaf::MatchEpoch {
            asker: p.asker.to_string(),
            epoch: p.epoch,
            public_key: public_key.clone(),
            sha256: sha256.clone(),
            padded_size: set.padded_size,
            normaliser: NORMALISER_VERSION,
        }])?;
        tracing::info!(partner = %p.asker, epoch = p.epoch, keys = p.keys.len(), padded = set.padded_size, "matching set published");
        Ok(EpochPublication {
            epoch: p.epoch,
            bytes,
            public_key,
            sha256,
            keys: p.keys.len() as u64,
            padded_size: set.padded_size,
            unreadable: p.unreadable,
            log_index,
            terms: p.terms,
        })
    }

    /// Evaluates `asker`'s blinded request (its wire form) under its key for the epoch of
    /// `now`, charges its budget and logs the request, all or nothing; returns the response's
    /// wire form and the number of selectors evaluated. Refused before any evaluation when
    /// the request is malformed, for another epoch or normaliser, oversized, unpadded or over
    /// the budget. The three steps are apart ([`Node::prepare_match`],
    /// [`PreparedMatch::evaluate`], [`Node::commit_match`]) so that a server evaluates
    /// without holding the node.
    pub fn evaluate_match(
        &mut self,
        asker: &Party,
        request: &[u8],
        now: u64,
    ) -> Result<(Vec<u8>, u64), ReleaseError> {
        let evaluated = self.prepare_match(asker, request, now)?.evaluate()?;
        self.commit_match(evaluated)
    }

    /// The checks that need the node: the agreement's terms, the budget so far, the key.
    pub fn prepare_match(
        &self,
        asker: &Party,
        request: &[u8],
        now: u64,
    ) -> Result<PreparedMatch, ReleaseError> {
        let terms = self.matching_terms(asker)?;
        let epoch = terms.epoch_at(now);
        let parsed = EvaluationRequest::from_bytes(request).map_err(MatchError::from)?;
        let usage = self.store.match_usage(asker.as_str(), epoch)?;
        let key = HolderKey::derive(&self.log_keys.matching, EpochId(epoch), asker.as_str())
            .map_err(MatchError::from)?;
        Ok(PreparedMatch {
            asker: asker.clone(),
            epoch,
            request_sha256: sha256_hex(request),
            parsed,
            used: usage.used,
            terms,
            retry_after: terms.seconds_to_next_epoch(now),
            key,
        })
    }

    /// Charges and logs an evaluated request in one transaction (refused, with nothing
    /// written, for a replay or when the budget was spent meanwhile); then the response may
    /// go.
    pub fn commit_match(&mut self, done: EvaluatedMatch) -> Result<(Vec<u8>, u64), ReleaseError> {
        let EvaluatedMatch {
            prepared: p,
            response,
        } = done;
        let count = p.parsed.blinded.len() as u64;
        let charge = MatchCharge {
            partner: p.asker.to_string(),
            epoch: p.epoch,
            request: p.request_sha256.clone(),
            count,
            budget: p.terms.budget_per_epoch,
        };
        let leaf = Leaf::MatchQuery {
            asker: p.asker.to_string(),
            epoch: p.epoch,
            count,
            request: p.request_sha256.clone(),
        };
        let retry_after = p.retry_after;
        self.append_with(&[leaf], |store, entries, openings, hashes| {
            store.log_append_match(&charge, entries, openings, hashes)
        })
        .map_err(|e| match e {
            ReleaseError::Store(StoreError::MatchReplayed) => MatchError::Replayed.into(),
            ReleaseError::Store(StoreError::MatchBudget {
                requested,
                remaining,
            }) => MatchError::Budget {
                requested,
                remaining,
                retry_after,
            }
            .into(),
            other => other,
        })?;
        tracing::info!(partner = %p.asker, epoch = p.epoch, count, "matching request evaluated");
        Ok((response, count))
    }

    /// Every partner with matching terms, and what it has spent this epoch.
    pub fn match_budgets(&self, now: u64) -> Result<Vec<MatchBudget>, ReleaseError> {
        let mut out = Vec::new();
        for record in self.store.partners()? {
            let party =
                Party::parse(&record.party).map_err(|e| ReleaseError::Party(e.to_string()))?;
            if let Some(terms) = self.agreement(&party)?.matching {
                out.push(self.budget_under(&party, terms, now)?);
            }
        }
        Ok(out)
    }

    /// `asker`'s matching budget this epoch, or [`MatchError::NotAgreed`].
    pub fn match_budget(&self, asker: &Party, now: u64) -> Result<MatchBudget, ReleaseError> {
        let terms = self.matching_terms(asker)?;
        self.budget_under(asker, terms, now)
    }

    /// Every private-matching event with `partner` on record in our log, oldest first: the
    /// sets published to it and the requests of its we evaluated, each with its log index.
    /// Read from the log's openings, so it shows exactly what a third party could check.
    pub fn match_history(&self, partner: &Party) -> Result<Vec<MatchEvent>, ReleaseError> {
        // A partner's openings are mostly its deliveries: only the matching leaves are parsed
        // (canonical JSON, so the kind is written exactly so).
        const MATCH_KIND: &[u8] = b"\"kind\":\"match_";
        let mut out = Vec::new();
        for (index, o) in self.store.log_openings_for(partner.as_str())? {
            if !o.leaf.windows(MATCH_KIND.len()).any(|w| w == MATCH_KIND) {
                continue;
            }
            let event = match Leaf::from_json(&o.leaf) {
                Some(Leaf::MatchEpoch {
                    asker,
                    epoch,
                    public_key,
                    sha256,
                    padded_size,
                    normaliser,
                }) => MatchEvent {
                    index,
                    partner: asker,
                    epoch,
                    what: MatchEventKind::Published {
                        padded_size,
                        sha256,
                        public_key,
                        normaliser,
                    },
                },
                Some(Leaf::MatchQuery {
                    asker,
                    epoch,
                    count,
                    request,
                }) => MatchEvent {
                    index,
                    partner: asker,
                    epoch,
                    what: MatchEventKind::Evaluated { count, request },
                },
                _ => continue,
            };
            if event.partner == partner.as_str() {
                out.push(event);
            }
        }
        out.sort_by_key(|e| e.index);
        Ok(out)
    }

    fn budget_under(
        &self,
        party: &Party,
        terms: Matching,
        now: u64,
    ) -> Result<MatchBudget, ReleaseError> {
        let epoch = terms.epoch_at(now);
        let usage = self.store.match_usage(party.as_str(), epoch)?;
        Ok(MatchBudget {
            partner: party.to_string(),
            epoch,
            budget: terms.budget_per_epoch,
            used: usage.used,
            queries: usage.queries,
            last: usage.last,
            max_set_size: terms.max_set_size,
            epoch_hours: terms.epoch_hours,
            next_epoch_in: terms.seconds_to_next_epoch(now),
        })
    }
}

/// What a selector file line names: `kind,value` (`phone,+44 20 7946 0000`), or a bare value
/// whose kind is guessed (an `@` is an e-mail, only digits and separators a phone number,
/// else a person's name). `None` for a blank line or a `#` comment; an error for a lowercase
/// `word,` prefix that names no kind (`passport,...`), which would otherwise be read as a
/// name.
pub fn read_selector_line(line: &str) -> Result<Option<(SelectorKind, String)>, String> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    if let Some((tag, value)) = line.split_once(',') {
        let tag = tag.trim();
        if let Some(kind) = SelectorKind::from_tag(tag) {
            return Ok(Some((kind, value.trim().trim_matches('"').to_owned())));
        }
        // A lowercase word before the comma is meant as a kind (names are written
        // capitalised: `Tsarnaev, Dzhokhar` is a name).
        let meant_as_kind = !tag.is_empty()
            && tag
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '-' || c == '_');
        if meant_as_kind {
            return Err(format!(
                "`{tag}` is not a selector kind (kinds: phone, email, document, wallet, person, organisation)"
            ));
        }
    }
    let digits_only = line.chars().all(|c| c.is_numeric() || " +-().".contains(c));
    let kind = if line.contains('@') {
        SelectorKind::Email
    } else if digits_only && line.chars().any(char::is_numeric) {
        SelectorKind::Phone
    } else {
        SelectorKind::PersonName
    };
    Ok(Some((kind, line.to_owned())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selector_lines_are_read_by_kind_or_guessed_and_unknown_kinds_refused() {
        let read = |l: &str| read_selector_line(l);
        assert_eq!(read("  # comment"), Ok(None));
        assert_eq!(read(""), Ok(None));
        assert_eq!(
            read("phone, +44 20 7946 0000"),
            Ok(Some((SelectorKind::Phone, "+44 20 7946 0000".into())))
        );
        assert_eq!(
            read("organisation,\"Kavkaz National Front\""),
            Ok(Some((
                SelectorKind::OrganisationName,
                "Kavkaz National Front".into()
            )))
        );
        assert_eq!(
            read("a@b.org"),
            Ok(Some((SelectorKind::Email, "a@b.org".into())))
        );
        assert_eq!(
            read("8 (928) 555-01-23").map(|s| s.map(|s| s.0)),
            Ok(Some(SelectorKind::Phone))
        );
        // A name with a comma is a name.
        assert_eq!(
            read("Tsarnaev, Dzhokhar"),
            Ok(Some((
                SelectorKind::PersonName,
                "Tsarnaev, Dzhokhar".into()
            )))
        );
        let err = read("passport,RUS:P:721234567").unwrap_err();
        assert!(err.contains("`passport`"), "{err}");
    }
}
