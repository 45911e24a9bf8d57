//! The reciprocity ledger (DESIGN.md, "Reciprocity ledger"): what each side gave the other,
//! valued by the agreement's table, and the balance over time. What we gave a partner is
//! what entered its view; what it gave us is what we hold from it. When the balance passes
//! the agreed limit, releases to that partner pause (rule 5), except duty-to-warn and the
//! agreed small gestures.
//!
//! Value of one object: the agreement's value for its type, times a factor for its Admiralty
//! grading (`liaison_grading::grading_factor`, shared with the curation engine: A 1.5, B 1.25,
//! C 1, D 0.75, E 0.5; credibility 1 1.25, 2 1.1, 3 1, 4 0.8, 5 0.5; F and 6 mean "cannot be
//! judged" and count as 1, never as worst), times the agreement's echo factor when the other
//! side already had it (we gave it what it had given us, or it gave us what we had given it).

use std::collections::{BTreeMap, HashMap, HashSet};

use liaison_grading::grading_factor;
use liaison_labels::{Grading, Party};
use liaison_policy::{Agreement, Judge, Markings, Reciprocity, World};
use liaison_store::prelude::*;
use liaison_store::IndexRow;
use serde::Serialize;

use crate::error::ReleaseError;
use crate::node::Node;

/// One partner's account.
#[derive(Debug, Clone, Serialize)]
pub struct Ledger {
    /// The partner.
    pub partner: String,
    /// Value of what we gave it.
    pub given: f64,
    /// Value of what it gave us.
    pub received: f64,
    /// `given - received`: positive when we have given more.
    pub balance: f64,
    /// The agreed limit, if any.
    pub limit: Option<f64>,
    /// Whether releases are paused (the balance is past the limit).
    pub paused: bool,
    /// Objects given.
    pub deliveries: u64,
    /// Objects received.
    pub receipts: u64,
    /// The balance at the end of each day with activity (UTC), oldest first.
    pub history: Vec<(String, f64)>,
}

/// The value of one object given or received under `terms`: none for marking and extension
/// definitions (they travel with what they mark), else its type's value times its grading
/// factor, times the echo factor when the other side already had it.
fn value(terms: &Reciprocity, f: &Facts, echo: bool) -> f64 {
    if matches!(
        f.object_type.as_str(),
        "marking-definition" | "extension-definition"
    ) {
        return 0.0;
    }
    let echo = if echo { terms.echo_factor } else { 1.0 };
    terms.value_of(&f.object_type) * grading_factor(f.grading) * echo
}

fn counts(f: &Facts) -> bool {
    !matches!(
        f.object_type.as_str(),
        "marking-definition" | "extension-definition"
    )
}

struct Facts {
    object_type: String,
    grading: Option<Grading>,
    source: String,
}

impl Facts {
    /// The facts of an object from its index row, under `markings`; with its id.
    fn of(row: IndexRow, markings: &Markings) -> (String, Facts) {
        let grading = row
            .markings
            .iter()
            .chain(row.assigned_label.iter())
            .find_map(|m| markings.get(m).and_then(|l| l.as_ref().ok()))
            .and_then(|l| l.grading);
        let object_type = row
            .id
            .split_once("--")
            .map(|(t, _)| t)
            .unwrap_or("")
            .to_owned();
        let facts = Facts {
            object_type,
            grading,
            source: row.source,
        };
        (row.id, facts)
    }
}

impl<S: Store> Node<S> {
    fn facts(&self) -> Result<HashMap<String, Facts>, ReleaseError> {
        let markings = self.markings()?;
        let mut out = HashMap::new();
        self.store.scan_index(&mut |row| {
            let (id, f) = Facts::of(row, &markings);
            out.insert(id, f);
        })?;
        Ok(out)
    }

    /// What delivering each of `ids` to `partner` now is worth in the ledger (what its
    /// delivery leaf records), aligned with `ids`; 0 for an id not held. `markings` are the
    /// node's (the policy world's): only the objects named are read, not the holdings.
    pub(crate) fn delivery_values(
        &self,
        partner: &Party,
        ids: &[&str],
        markings: &Markings,
    ) -> Result<Vec<f64>, ReleaseError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let agreement = self.agreement(partner)?;
        let facts: HashMap<String, Facts> = self
            .store
            .index_rows(ids)?
            .into_iter()
            .map(|row| Facts::of(row, markings))
            .collect();
        Ok(ids
            .iter()
            .map(|id| {
                facts.get(*id).map_or(0.0, |f| {
                    value(&agreement.reciprocity, f, f.source == partner.as_str())
                })
            })
            .collect())
    }

    /// The account with one partner.
    pub fn ledger(&self, partner: &Party) -> Result<Ledger, ReleaseError> {
        let agreement = self.agreement(partner)?;
        let facts = self.facts()?;
        self.account(&agreement, &facts)
    }

    /// Every partner's account.
    pub fn ledgers(&self) -> Result<Vec<Ledger>, ReleaseError> {
        let facts = self.facts()?;
        self.partners()?
            .iter()
            .map(|a| self.account(a, &facts))
            .collect()
    }

    fn account(
        &self,
        agreement: &Agreement,
        facts: &HashMap<String, Facts>,
    ) -> Result<Ledger, ReleaseError> {
        let p = agreement.party.as_str();
        let terms = &agreement.reciprocity;
        let releases = self.store.releases(p)?;
        let delivered: HashSet<&str> = releases.iter().map(|(id, _, _)| id.as_str()).collect();
        // (time, signed value): + for what we gave, - for what we received.
        let mut events: Vec<(String, f64)> = Vec::new();
        let mut given = 0.0;
        let mut deliveries = 0;
        for (id, _, first) in &releases {
            let Some(f) = facts.get(id).filter(|f| counts(f)) else {
                continue;
            };
            let v = value(terms, f, f.source == p);
            given += v;
            deliveries += 1;
            events.push((first.clone(), v));
        }
        let mut received = 0.0;
        let mut receipts = 0;
        // When each id first arrived from the partner.
        let mut dates: HashMap<String, String> = HashMap::new();
        self.store.scan_source(p, &mut |s| {
            dates
                .entry(s.object.id().to_string())
                .or_insert_with(|| s.date_added.to_string());
            Ok(())
        })?;
        for (id, f) in facts.iter().filter(|(_, f)| f.source == p && counts(f)) {
            let v = value(terms, f, delivered.contains(id.as_str()));
            received += v;
            receipts += 1;
            let when = dates.get(id).cloned().unwrap_or_default();
            events.push((when, -v));
        }
        events.sort_by(|a, b| a.0.cmp(&b.0));
        let mut by_day: BTreeMap<String, f64> = BTreeMap::new();
        let mut running = 0.0;
        for (t, v) in &events {
            running += v;
            by_day.insert(t.get(..10).unwrap_or(t).to_owned(), running);
        }
        let balance = given - received;
        let paused = terms.balance_limit.is_some_and(|l| balance > l);
        Ok(Ledger {
            partner: p.to_owned(),
            given,
            received,
            balance,
            limit: terms.balance_limit,
            paused,
            deliveries,
            receipts,
            history: by_day.into_iter().collect(),
        })
    }

    /// A judge for `agreement`'s partner with the reciprocity gate applied: closed when the
    /// ledger is past the agreed limit, keeping what was delivered before.
    pub(crate) fn judge<'w>(
        &self,
        world: &'w World,
        agreement: &'w Agreement,
    ) -> Result<Judge<'w>, ReleaseError> {
        let mut judge = Judge::new(world, agreement);
        if agreement.reciprocity.balance_limit.is_some() {
            let facts = self.facts()?;
            let account = self.account(agreement, &facts)?;
            if account.paused {
                let delivered: Vec<_> = self
                    .store
                    .releases(agreement.party.as_str())?
                    .iter()
                    .filter_map(|(id, _, _)| world.lookup(id))
                    .collect();
                judge.pause(
                    format!(
                        "the exchange with {} is paused: we have given {:.1} more than we received, past the agreed {:.1}",
                        agreement.party,
                        account.balance,
                        account.limit.unwrap_or_default()
                    ),
                    delivered,
                );
            }
        }
        Ok(judge)
    }
}
