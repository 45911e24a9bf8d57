//! `explain`: a decision and the chain of labels that produced it.

use liaison_labels::{Banner, Party, Restriction};
use liaison_policy::{Fault, World};
use liaison_store::prelude::*;
use serde::Serialize;

use crate::error::ReleaseError;
use crate::node::Node;
use crate::preview::Entry;

/// One object in the derivation chain.
#[derive(Debug, Clone, Serialize)]
pub struct Lineage {
    /// How many `derived-from` steps above the object (0 is the object itself).
    pub depth: usize,
    /// The object.
    pub object: String,
    /// Its own label.
    pub label: String,
    /// Its originator, when its label could be read.
    pub originator: Option<String>,
    /// Whether it is held (a derivation may name an object that is not).
    pub held: bool,
}

/// A `derived-from` relationship held that states what the object is derived from.
#[derive(Debug, Clone, Serialize)]
pub struct Derivation {
    /// The relationship.
    pub relationship: String,
    /// What it says the object is derived from.
    pub source: String,
    /// Who owns the relationship.
    pub owner: Option<String>,
    /// Whether it counts toward the effective label.
    pub counted: bool,
    /// Why it does not count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Why an object gets the decision it gets.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    /// The decision, as `release preview` shows it.
    pub decision: Entry,
    /// Who owns the object: the party whose versions count.
    pub owner: Option<String>,
    /// The `derived-from` relationships stating what the object rests on, counted or not:
    /// only those its owner asserted count.
    pub derivations: Vec<Derivation>,
    /// The object's effective label: its own joined with everything above it.
    pub effective: String,
    /// The object, then everything it is derived from.
    pub chain: Vec<Lineage>,
    /// Valid tear lines of the object.
    pub tearlines: Vec<String>,
    /// What liaison added to the object when it read it as STIX 2.0 and upgraded it to 2.1
    /// (empty when it came as 2.1): each property with its value and the rule that added it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub upgraded_from_stix20: Vec<liaison_stix::Upgrade>,
    /// The id the partner receives the object under, or would if it were released, when
    /// fingerprinting remaps it (absent for public content, observables and markings).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprinted_as: Option<String>,
}

/// A label as a banner line, with what the banner cannot show (who must consent).
pub fn describe(r: Result<&Restriction, Fault>) -> String {
    match r {
        Err(Fault::InvalidLabel(d)) => format!("(cannot be evaluated: {d})"),
        Err(Fault::Cycle) => "(derivation cycle)".to_owned(),
        Ok(r) => {
            let banner = Banner {
                classification: r.classification,
                compartments: r.compartments.clone(),
                controls: r.controls.clone(),
                rel_to: if r.rel_to.is_empty() {
                    None
                } else {
                    Some(r.rel_to.clone())
                },
                tlp: r.tlp,
                pap: r.pap,
            };
            let mut s = banner.to_string();
            if r.rel_to.is_empty() {
                s.push_str(" (releasable to nobody)");
            }
            if !r.consent_from.is_empty() {
                let who: Vec<&str> = r.consent_from.iter().map(Party::as_str).collect();
                s.push_str(&format!(" [ORCON: consent of {}]", who.join(", ")));
            }
            s
        }
    }
}

fn chain(world: &World, ix: u32) -> Vec<Lineage> {
    let mut out = Vec::new();
    let mut level = vec![ix];
    let mut seen = std::collections::BTreeSet::new();
    let mut depth = 0;
    while !level.is_empty() && depth < 64 {
        let mut next = Vec::new();
        for n in level {
            if !seen.insert(n) {
                continue;
            }
            out.push(Lineage {
                depth,
                object: world.id(n).to_owned(),
                label: describe(world.own(n)),
                originator: world.originator(n).map(ToString::to_string),
                held: world.is_held(n),
            });
            next.extend(world.parents(n).iter().copied());
        }
        level = next;
        depth += 1;
    }
    out
}

impl<S: Store> Node<S> {
    /// Explains the decision on `object` for partner `to`.
    pub fn explain(&self, object: &str, to: &Party) -> Result<Explanation, ReleaseError> {
        let entries = self.preview(to)?;
        let Some(decision) = entries.into_iter().find(|e| e.object == object) else {
            // Held but not decided for `to`: it is `to`'s own, which is never sent back.
            return Err(match self.store.latest(object)? {
                Some(s) if s.source == to.as_str() => ReleaseError::Party(format!(
                    "`{object}` came from {to}: what a partner sends is not released back to it"
                )),
                _ => ReleaseError::UnknownObject(object.to_owned()),
            });
        };
        let world = self.world()?;
        let ix = world
            .lookup(object)
            .ok_or_else(|| ReleaseError::UnknownObject(object.to_owned()))?;
        let upgraded_from_stix20 = self
            .store
            .latest(object)?
            .map(|s| s.upgrades)
            .unwrap_or_default();
        Ok(Explanation {
            decision,
            owner: world.owner(ix).map(ToString::to_string),
            derivations: world
                .derivations(ix)
                .into_iter()
                .map(|(rel, source, counted)| Derivation {
                    relationship: world.id(rel).to_owned(),
                    source: world.id(source).to_owned(),
                    owner: world.owner(rel).map(ToString::to_string),
                    counted,
                    note: (!counted).then(|| "not counted: not asserted by the owner".to_owned()),
                })
                .collect(),
            effective: describe(world.effective(ix)),
            chain: chain(&world, ix),
            tearlines: world
                .tearlines(ix)
                .iter()
                .map(|t| world.id(*t).to_owned())
                .collect(),
            upgraded_from_stix20,
            fingerprinted_as: Some(self.delivered_id_in(&world, to, object)?)
                .filter(|d| d != object),
        })
    }
}
