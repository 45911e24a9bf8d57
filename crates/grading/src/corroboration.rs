//! Independent sources of a claim: the items asserting it, grouped into dependence clusters
//! (same effective originator, a common `derived-from` ancestor, near-duplicate text), one
//! cluster one source. The earliest item of a cluster is its source; every other item says
//! why it is not independent and which item it was relayed from.

use std::collections::hash_map::Entry;

use liaison_labels::{Grading, Party};
use liaison_stix::Timestamp;
use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::admiralty::grading_factor;
use crate::dependence::{Evidence, Reason};
use crate::engine::{Echo, Engine};
use crate::item::Claim;
use crate::similarity::near_duplicate;
use crate::unionfind::UnionFind;

/// How far back among the earlier members of a cluster a member looks for the one it was
/// relayed from; past it the member is `indirect` (bounds `assess` on huge clusters).
const LOOK_BACK: usize = 256;

/// Up to this many items a claim's clusters are found by testing every pair (the same
/// relation, without building key maps); most claims have a handful of items.
const PAIRWISE: usize = 24;

/// Marks a party key apart from node keys in the clustering map.
const PARTY_KEY: u64 = 1 << 63;

/// The independent sources of one claim, explained.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Corroboration {
    /// The claim.
    pub claim: Claim,
    /// The number of independent sources (clusters).
    pub sources: usize,
    /// The clusters, earliest source first.
    pub clusters: Vec<Cluster>,
}

/// One independent source of a claim: a cluster of dependent items.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cluster {
    /// The earliest item: the source.
    pub source: String,
    /// Whether the cluster is our own reporting (ours, or carrying our marks).
    pub ours: bool,
    /// Every item of the cluster, earliest first (the source first).
    pub members: Vec<Member>,
}

/// One item asserting a claim, and why it is or is not independent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Member {
    /// The item.
    pub id: String,
    /// Its originator.
    pub originator: Party,
    /// The party it arrived from.
    pub from: Party,
    /// Its grading.
    pub grading: Option<Grading>,
    /// `independent` for the source of the cluster, else why not.
    pub reason: Reason,
    /// The earlier item it was relayed from (`None` for the source).
    pub relayed_from: Option<String>,
    /// What ties it to `relayed_from`.
    pub evidence: Option<Evidence>,
}

/// Everything the node can say about one held item: its grading, the independent sources of
/// each claim it makes, and whether it is an echo.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assessment {
    /// The item.
    pub id: String,
    /// Its originator.
    pub originator: Party,
    /// The party it arrived from.
    pub from: Party,
    /// Its grading.
    pub grading: Option<Grading>,
    /// The grading's value factor (as in the reciprocity ledger).
    pub factor: f64,
    /// Whether an independent source corroborates one of its claims (a cluster other than
    /// its own asserts it).
    pub corroborated: bool,
    /// Its claims.
    pub claims: Vec<Corroboration>,
    /// Its circular-reporting flag.
    pub echo: Option<Echo>,
}

impl Engine {
    /// The clusters of claim `c` over its items (indices into its item list).
    pub(crate) fn clusters_of(&self, c: u32) -> UnionFind {
        if self.claims[c as usize].items.len() <= PAIRWISE {
            self.clusters_pairwise(c)
        } else {
            self.clusters_keyed(c)
        }
    }

    fn clusters_pairwise(&self, c: u32) -> UnionFind {
        let items = &self.claims[c as usize].items;
        let mut uf = UnionFind::new(items.len());
        for (x, &i) in items.iter().enumerate() {
            for (y, &j) in items.iter().enumerate().take(x) {
                if uf.find(x) != uf.find(y) && self.relation(i, j).is_some() {
                    uf.union(x, y);
                }
            }
        }
        uf
    }

    /// The same partition through maps from keys (effective originator, ancestor-or-self
    /// nodes, bands) to the items having them: linear in the items, for large claims.
    fn clusters_keyed(&self, c: u32) -> UnionFind {
        let items = &self.claims[c as usize].items;
        let mut uf = UnionFind::new(items.len());
        let mut first: FxHashMap<u64, usize> = FxHashMap::default();
        let mut bands: FxHashMap<u64, Vec<usize>> = FxHashMap::default();
        for (li, &i) in items.iter().enumerate() {
            let h = &self.items[i as usize];
            let keys = std::iter::once(PARTY_KEY | u64::from(self.effective_originator(i)))
                .chain(std::iter::once(u64::from(h.node)))
                .chain(h.ancestors.iter().map(|&a| u64::from(a)));
            for k in keys {
                match first.entry(k) {
                    Entry::Occupied(e) => {
                        uf.union(li, *e.get());
                    }
                    Entry::Vacant(e) => {
                        e.insert(li);
                    }
                }
            }
            let Some(sig) = &h.signature else { continue };
            for band in sig.bands() {
                let list = bands.entry(band).or_default();
                for &lj in list.iter() {
                    if uf.find(li) == uf.find(lj) {
                        continue;
                    }
                    let other = self.items[items[lj] as usize].signature.as_ref();
                    if other.and_then(|o| near_duplicate(sig, o)).is_some() {
                        uf.union(li, lj);
                    }
                }
                list.push(li);
            }
        }
        uf
    }

    /// The number of independent sources of claim `c`, computed.
    pub(crate) fn count(&self, c: u32) -> usize {
        // Most claims have one item: no clustering to do.
        match self.claims[c as usize].items.len() {
            n @ 0..=1 => n,
            _ => self.clusters_of(c).sets(),
        }
    }

    /// The independent sources of `claim`, explained; `None` when no item asserts it.
    pub fn corroboration(&self, claim: &Claim) -> Option<Corroboration> {
        let c = self.claim_of(claim)?;
        Some(self.explain(c))
    }

    fn explain(&self, c: u32) -> Corroboration {
        let items = &self.claims[c as usize].items;
        let mut uf = self.clusters_of(c);
        let mut groups: FxHashMap<usize, Vec<u32>> = FxHashMap::default();
        for (li, &i) in items.iter().enumerate() {
            groups.entry(uf.find(li)).or_default().push(i);
        }
        let mut clusters: Vec<Cluster> = groups
            .into_values()
            .map(|mut members| {
                members.sort_by(|&a, &b| self.order_key(a).cmp(&self.order_key(b)));
                self.explain_cluster(&members)
            })
            .collect();
        clusters.sort_by(|a, b| {
            let key = |c: &Cluster| self.item_index(&c.source).map(|i| self.order_key(i));
            key(a).cmp(&key(b))
        });
        Corroboration {
            claim: self.claims[c as usize].claim.clone(),
            sources: clusters.len(),
            clusters,
        }
    }

    /// `members` earliest first.
    fn explain_cluster(&self, members: &[u32]) -> Cluster {
        let mut out = Vec::with_capacity(members.len());
        let source = members.first().copied();
        for (k, &m) in members.iter().enumerate() {
            let h = &self.items[m as usize];
            let earlier = &members[k.saturating_sub(LOOK_BACK)..k];
            // A parent it names is the best answer to "relayed from"; else the earliest tie.
            let parent = earlier
                .iter()
                .find(|&&e| h.parents.contains(&self.items[e as usize].node));
            let tie = parent
                .into_iter()
                .chain(earlier.iter())
                .find_map(|&e| self.relation(m, e).map(|r| (e, r)));
            let (reason, relayed_from, evidence) = match (k, tie, source) {
                (0, _, _) => (Reason::Independent, None, None),
                (_, Some((e, (reason, link))), _) => (
                    reason,
                    Some(self.id_of(e).to_owned()),
                    Some(self.evidence(link)),
                ),
                (_, None, Some(s)) => (
                    Reason::Indirect,
                    Some(self.id_of(s).to_owned()),
                    Some(Evidence::Through {
                        id: self.id_of(s).to_owned(),
                    }),
                ),
                (_, None, None) => (Reason::Indirect, None, None),
            };
            out.push(Member {
                id: self.id_of(m).to_owned(),
                originator: self.party(h.originator).clone(),
                from: self.party(h.source).clone(),
                grading: h.grading,
                reason,
                relayed_from,
                evidence,
            });
        }
        Cluster {
            source: out.first().map(|m| m.id.clone()).unwrap_or_default(),
            ours: members.iter().any(|&m| self.is_ours(m)),
            members: out,
        }
    }

    /// The first corroboration of a held item, for its partner's track record: the earliest
    /// item of another cluster asserting one of its claims, and when the corroboration came
    /// (the later of the two items' times). `None` when nothing independent corroborates it.
    pub fn corroborated_by(&self, id: &str) -> Option<(String, Timestamp)> {
        let i = self.item_index(id)?;
        let mut best: Option<u32> = None;
        for &c in &self.items[i as usize].claims {
            let items = &self.claims[c as usize].items;
            let Some(me) = items.iter().position(|&x| x == i) else {
                continue;
            };
            let mut uf = self.clusters_of(c);
            let mine = uf.find(me);
            for (li, &j) in items.iter().enumerate() {
                if uf.find(li) != mine && best.is_none_or(|b| self.order_key(j) < self.order_key(b))
                {
                    best = Some(j);
                }
            }
        }
        let j = best?;
        let at = (&self.items[i as usize].time).max(&self.items[j as usize].time);
        Some((self.id_of(j).to_owned(), at.clone()))
    }

    /// The assessment of a held item; `None` when it is not held.
    pub fn assess(&self, id: &str) -> Option<Assessment> {
        let i = self.item_index(id)?;
        let h = &self.items[i as usize];
        let claims: Vec<Corroboration> = h.claims.iter().map(|&c| self.explain(c)).collect();
        let corroborated = claims.iter().any(|c| {
            c.clusters
                .iter()
                .any(|cl| !cl.members.iter().any(|m| m.id == id))
        });
        Some(Assessment {
            id: id.to_owned(),
            originator: self.party(h.originator).clone(),
            from: self.party(h.source).clone(),
            grading: h.grading,
            factor: grading_factor(h.grading),
            corroborated,
            claims,
            echo: self.echo(id),
        })
    }
}

#[cfg(test)]
mod tests {
    use liaison_labels::Party;
    use liaison_stix::Timestamp;
    use proptest::prelude::*;

    use crate::{Claim, Engine, Item, Signature};

    const PARTIES: [&str; 12] = [
        "USA", "RUS", "GBR", "FRA", "DEU", "ITA", "ESP", "NLD", "BEL", "POL", "SWE", "NOR",
    ];

    fn text(base: usize, changed: usize) -> String {
        let mut words: Vec<String> = (0..40).map(|k| format!("w{}x{k}", base)).collect();
        for k in 0..changed {
            words[(k * 11 + 3) % 40] = format!("changed{k}");
        }
        words.join(" ")
    }

    proptest! {
        /// The keyed clustering of large claims gives the partition of the pairwise test.
        #[test]
        fn keyed_equals_pairwise(
            specs in prop::collection::vec(
                (0..12usize, prop::collection::vec(0..80usize, 0..3),
                 prop::option::of((0..6usize, 0..8usize)), prop::bool::weighted(0.05)),
                1..80,
            ),
        ) {
            let items = specs.iter().enumerate().map(|(k, (p, parents, t, marks))| Item {
                id: format!("x--{k}"),
                originator: Party::parse(PARTIES[*p]).unwrap(),
                source: Party::parse(PARTIES[*p]).unwrap(),
                derived_from: parents.iter().map(|p| format!("x--{p}")).collect(),
                signature: t.and_then(|(b, n)| Signature::of_text(&text(b, n))),
                our_marks: marks.then(|| "marks".into()),
                grading: None,
                time: Timestamp::parse("2026-01-01T00:00:00Z").unwrap(),
                claims: vec![Claim::Indicator { value: "v".into() }],
            });
            let e = Engine::from_items(Party::parse("USA").unwrap(), items).unwrap();
            let partition = |mut uf: crate::unionfind::UnionFind, n: usize| {
                let mut p: Vec<Vec<usize>> = Vec::new();
                let mut by_root = std::collections::BTreeMap::new();
                for x in 0..n {
                    by_root.entry(uf.find(x)).or_insert_with(Vec::new).push(x);
                }
                p.extend(by_root.into_values());
                p.sort();
                p
            };
            let n = specs.len();
            prop_assert_eq!(partition(e.clusters_keyed(0), n), partition(e.clusters_pairwise(0), n));
        }
    }
}
