//! Framing: where one partner's characterisation of entities diverges from every independent
//! other source's and from ours ("RUS calls 14 groups `terrorist` that no independent source
//! does"). A value is the partner's alone when every cluster asserting it holds an item the
//! partner originated: relays of its reporting are not other sources.

use std::collections::BTreeMap;

use liaison_labels::Party;
use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::engine::Engine;
use crate::item::{Claim, Property};

/// A partner's framing: the values it alone gives, grouped by property and value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Framing {
    /// The partner (as originator).
    pub partner: Party,
    /// Its divergences, the value given to the most entities first.
    pub divergences: Vec<Divergence>,
}

/// One value of one property that the partner gives to entities no independent source
/// gives it to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Divergence {
    /// The property.
    pub property: Property,
    /// The value.
    pub value: String,
    /// The entities, by canonical key.
    pub entities: Vec<FramedEntity>,
}

/// One entity the partner characterises alone, set against what others and we say.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FramedEntity {
    /// The entity's canonical key.
    pub entity: String,
    /// The partner's items asserting the value (its relays included).
    pub items: Vec<String>,
    /// The values independent other sources give the same property, with their originators.
    pub others: BTreeMap<String, Vec<Party>>,
    /// The values we give the same property.
    pub ours: Vec<String>,
}

impl Divergence {
    /// One line: "RUS calls 14 entities `terrorist` (threat_actor_types) that no independent
    /// source does".
    pub fn summary(&self, partner: &Party) -> String {
        let n = self.entities.len();
        format!(
            "{partner} calls {n} {} `{}` ({}) that no independent source does",
            if n == 1 { "entity" } else { "entities" },
            self.value,
            self.property
        )
    }
}

/// Per cluster of one claim: its effective originators.
struct ClusterView {
    originators: Vec<u32>,
    items: Vec<u32>,
}

impl Engine {
    fn cluster_views(&self, c: u32) -> Vec<ClusterView> {
        let items = &self.claims[c as usize].items;
        let mut uf = self.clusters_of(c);
        let mut groups: FxHashMap<usize, ClusterView> = FxHashMap::default();
        for (li, &i) in items.iter().enumerate() {
            let g = groups.entry(uf.find(li)).or_insert_with(|| ClusterView {
                originators: Vec::new(),
                items: Vec::new(),
            });
            g.originators.push(self.effective_originator(i));
            g.items.push(i);
        }
        groups.into_values().collect()
    }

    /// The partner's framing against every independent other source and ours.
    pub fn framing(&self, partner: &Party) -> Framing {
        let Some(p) = self.party_number(partner) else {
            return Framing {
                partner: partner.clone(),
                divergences: Vec::new(),
            };
        };
        // (entity, property) -> its characterisation claims.
        let mut by_entity: FxHashMap<(&str, Property), Vec<(u32, &str)>> = FxHashMap::default();
        for (c, entry) in self.claims.iter().enumerate() {
            if let Claim::Characterisation {
                entity,
                property,
                value,
            } = &entry.claim
            {
                by_entity
                    .entry((entity.as_str(), *property))
                    .or_default()
                    .push((c as u32, value.as_str()));
            }
        }
        let mut found: BTreeMap<(Property, String), Vec<FramedEntity>> = BTreeMap::new();
        for ((entity, property), values) in &by_entity {
            let views: Vec<(&str, Vec<ClusterView>)> = values
                .iter()
                .map(|&(c, v)| (v, self.cluster_views(c)))
                .collect();
            for (value, clusters) in &views {
                let alone =
                    !clusters.is_empty() && clusters.iter().all(|cl| cl.originators.contains(&p));
                if !alone {
                    continue;
                }
                let mut others: BTreeMap<String, Vec<Party>> = BTreeMap::new();
                let mut ours = Vec::new();
                for (other, clusters) in &views {
                    for cl in clusters.iter().filter(|cl| !cl.originators.contains(&p)) {
                        if cl.originators.contains(&0) {
                            if !ours.contains(&other.to_string()) {
                                ours.push(other.to_string());
                            }
                            continue;
                        }
                        let first = cl.items.iter().min_by_key(|&&i| self.order_key(i));
                        if let Some(&i) = first {
                            let party = self.party(self.effective_originator(i)).clone();
                            let list = others.entry(other.to_string()).or_default();
                            if !list.contains(&party) {
                                list.push(party);
                            }
                        }
                    }
                }
                ours.sort();
                let mut items: Vec<String> = clusters
                    .iter()
                    .flat_map(|cl| cl.items.iter().map(|&i| self.id_of(i).to_owned()))
                    .collect();
                items.sort();
                found
                    .entry((*property, value.to_string()))
                    .or_default()
                    .push(FramedEntity {
                        entity: entity.to_string(),
                        items,
                        others,
                        ours,
                    });
            }
        }
        let mut divergences: Vec<Divergence> = found
            .into_iter()
            .map(|((property, value), mut entities)| {
                entities.sort_by(|a, b| a.entity.cmp(&b.entity));
                Divergence {
                    property,
                    value,
                    entities,
                }
            })
            .collect();
        divergences.sort_by(|a, b| {
            b.entities
                .len()
                .cmp(&a.entities.len())
                .then_with(|| (a.property, &a.value).cmp(&(b.property, &b.value)))
        });
        Framing {
            partner: partner.clone(),
            divergences,
        }
    }
}
