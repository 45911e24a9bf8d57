//! Tracing a leaked copy back to its recipient (`liaison trace`): DESIGN.md "Fingerprinting
//! and leak tracing".
//!
//! The leak may be a bundle, a TAXII envelope, one object, a list of objects, a fragment or
//! plain text copied out of one. What is read from it:
//! - every STIX id anywhere in the text: an id that is the remapping of one of our objects
//!   for recipient R, as delivered to R, is exact evidence against R (122 keyed bits: no
//!   innocent produces it by chance);
//! - every JSON object in it: matched to one of ours by its id (remapped or ours), else by its
//!   content (type with name, or type with pattern, when that names exactly one of ours), and
//!   the order and form variants read off it, each at its position.
//!
//! Who is accused: every recipient an exact id names, and every recipient the code accuses
//! (its combined score over its own threshold, with the order and form families agreeing:
//! [`liaison_fingerprint::accuse`]). Otherwise: cannot tell. Text that was retyped or
//! paraphrased carries no marks: it can only give "cannot tell", never an accusation.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use liaison_fingerprint::{
    accuse, AccuseOptions, Delivered, Family, Observation, Positions, Recipient,
};
use liaison_labels::Party;
use liaison_store::Store;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::ReleaseError;
use crate::fingerprint::stix_ids;
use crate::node::Node;

/// What a trace found.
#[derive(Debug, Clone, Serialize)]
pub struct Trace {
    /// `accused` or `cannot tell`.
    pub verdict: String,
    /// The recipients accused, strongest evidence first.
    pub accused: Vec<Suspect>,
    /// Every recipient's evidence, accused or not.
    pub recipients: Vec<Suspect>,
    /// JSON objects read from the input.
    pub objects_read: usize,
    /// Of those, matched to one of our objects.
    pub objects_matched: usize,
    /// STIX ids found anywhere in the input.
    pub ids_seen: usize,
    /// Readable code positions, per family.
    pub readable: BTreeMap<String, usize>,
    /// Positions seen but unreadable (erased, or shown with both variants).
    pub erased: usize,
    /// Innocent codewords drawn for each p-value.
    pub monte_carlo_trials: u32,
    /// Why nobody is accused, when nobody is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why_not: Option<String>,
}

/// One recipient's evidence.
#[derive(Debug, Clone, Serialize)]
pub struct Suspect {
    /// The recipient.
    pub recipient: String,
    /// Whether it is accused.
    pub accused: bool,
    /// The families pointing at it: `ids` (an exact remapped id), and `order` and `form` when
    /// the code accuses it (both families scoring it positive).
    pub families: Vec<String>,
    /// Its ids found in the leak (the remapped ids delivered to it only).
    pub exact_ids: Vec<String>,
    /// Its code score over the positions it received.
    pub score: f64,
    /// Its threshold (infinite when too few positions allow none).
    pub threshold: f64,
    /// Estimated probability that an innocent scores as high (only when the code accuses it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p_value: Option<f64>,
    /// Positions it was scored on.
    pub positions: usize,
    /// Its score per family: (family, score, positions).
    pub family_scores: Vec<(String, f64, usize)>,
}

/// The JSON objects in `text` and every STIX id written anywhere in it.
pub fn read_leak(text: &str) -> (Vec<Map<String, Value>>, Vec<String>) {
    let mut objects = Vec::new();
    match serde_json::from_str::<Value>(text) {
        Ok(v) => collect_objects(v, &mut objects),
        Err(_) => {
            // A fragment or text around JSON: every object that parses from a `{`.
            let bytes = text.as_bytes();
            let mut i = 0;
            while i < bytes.len() {
                if bytes[i] == b'{' {
                    let mut it =
                        serde_json::Deserializer::from_str(&text[i..]).into_iter::<Value>();
                    if let Some(Ok(v)) = it.next() {
                        let used = it.byte_offset();
                        collect_objects(v, &mut objects);
                        i += used.max(1);
                        continue;
                    }
                }
                i += 1;
            }
        }
    }
    (objects, stix_ids(text))
}

/// STIX objects in `v`: bundles and envelopes opened, lists walked.
fn collect_objects(v: Value, out: &mut Vec<Map<String, Value>>) {
    match v {
        Value::Array(items) => items.into_iter().for_each(|i| collect_objects(i, out)),
        Value::Object(mut m) => {
            if let Some(Value::Array(items)) = m.remove("objects") {
                items.into_iter().for_each(|i| collect_objects(i, out));
            } else if m.contains_key("type") && m.contains_key("id") {
                out.push(m);
            }
        }
        _ => {}
    }
}

/// The content key an object is matched on when its id is not ours: type and name, else type
/// and pattern.
fn content_key(o: &Map<String, Value>) -> Option<String> {
    let ty = o.get("type")?.as_str()?;
    let what = o
        .get("name")
        .or_else(|| o.get("pattern"))
        .or_else(|| o.get("value"))?
        .as_str()?;
    Some(format!("{ty}\u{0}{what}"))
}

impl<S: Store> Node<S> {
    /// Traces `text` (a leaked bundle, object, fragment or plain text) to the recipients it
    /// came from, with `monte_carlo_trials` innocent codewords drawn for each p-value.
    /// `progress(done, total)` is told how many objects were read.
    pub fn trace(
        &self,
        text: &str,
        monte_carlo_trials: u32,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<Trace, ReleaseError> {
        let options = AccuseOptions { monte_carlo_trials };
        let (objects, ids) = read_leak(text);
        let partners: Vec<Party> = self
            .store
            .partners()?
            .into_iter()
            .filter_map(|p| Party::parse(&p.party).ok())
            .collect();
        // What each recipient received (our ids).
        let mut received: HashMap<String, HashSet<String>> = HashMap::new();
        for p in &partners {
            let got: HashSet<String> = self
                .store
                .releases(p.as_str())?
                .into_iter()
                .map(|(id, _, _)| id)
                .collect();
            received.insert(p.to_string(), got);
        }
        // The ids in the leak that we delivered, and to whom (remembered at delivery).
        let mut distinct: Vec<&str> = ids.iter().map(String::as_str).collect();
        distinct.sort_unstable();
        distinct.dedup();
        let mut delivered: HashMap<String, (String, String)> = HashMap::new();
        for (as_delivered, partner, original) in self.store.delivered_ids(&distinct)? {
            delivered.insert(as_delivered, (partner, original));
        }
        // Objects whose id is no id we delivered: ours as they are (public content, which
        // goes out unmarked), or re-minted copies of ours, matched by content. The holdings
        // are read only when the leak has such objects.
        let mut held: HashSet<String> = HashSet::new();
        let mut unknown = false;
        for o in &objects {
            let Some(id) = o.get("id").and_then(Value::as_str) else {
                continue;
            };
            if delivered.contains_key(id) || held.contains(id) {
                continue;
            }
            if self.store.latest(id)?.is_some() {
                held.insert(id.to_owned());
            } else {
                unknown = true;
            }
        }
        let mut by_content: HashMap<String, Option<String>> = HashMap::new();
        if unknown {
            self.store.scan_latest(&mut |stored| {
                let o = &stored.object;
                held.insert(o.id().to_string());
                if let Some(k) = content_key(o.props()) {
                    by_content
                        .entry(k)
                        .and_modify(|v| *v = None)
                        .or_insert_with(|| Some(o.id().to_string()));
                }
                Ok(())
            })?;
        }
        let unmap = |s: &str| -> Option<String> {
            if let Some((_, original)) = delivered.get(s) {
                return Some(original.clone());
            }
            held.contains(s).then(|| s.to_owned())
        };

        let mut exact: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for id in &ids {
            if let Some((partner, _)) = delivered.get(id) {
                exact.entry(partner.clone()).or_default().insert(id.clone());
            }
        }
        let embedder = self.embedder(partners.len())?;
        let mut observations: Vec<Observation> = Vec::new();
        // Positions by the original they were read from.
        let mut positions_of: HashMap<String, Vec<u64>> = HashMap::new();
        let mut matched = 0usize;
        let total = objects.len() as u64;
        for (n, o) in objects.iter().enumerate() {
            let id = o.get("id").and_then(Value::as_str).unwrap_or_default();
            // An object under one of our own ids went out unmarked (public content,
            // observables): it carries no marks to read.
            let (original, marked) = match delivered.get(id) {
                Some((_, original)) => (Some(original.clone()), true),
                None if held.contains(id) => (Some(id.to_owned()), false),
                None => (
                    content_key(o).and_then(|k| by_content.get(&k).cloned().flatten()),
                    true,
                ),
            };
            if let Some(original) = original {
                matched += 1;
                if marked {
                    let slots = embedder.read(&original, o, &unmap);
                    let at = positions_of.entry(original).or_default();
                    for s in slots {
                        at.push(s.position);
                        observations.push(s.into());
                    }
                }
            }
            if n % 256 == 0 || n as u64 + 1 == total {
                progress(n as u64 + 1, total);
            }
        }
        let recipients: Vec<Delivered> = partners
            .iter()
            .map(|p| {
                let got = received.get(p.as_str());
                let has = |original: &str| got.is_some_and(|g| g.contains(original));
                // Recipients that received every object the leak shows share one threshold.
                let received = if positions_of.keys().all(|o| has(o)) {
                    Positions::All
                } else {
                    Positions::Only(
                        positions_of
                            .iter()
                            .filter(|(original, _)| has(original))
                            .flat_map(|(_, ps)| ps.iter().copied())
                            .collect(),
                    )
                };
                Delivered {
                    recipient: Recipient::new(p.as_str()),
                    received,
                }
            })
            .collect();
        let accusation = accuse(embedder.code(), &observations, &recipients, &options);

        let mut suspects: Vec<Suspect> = accusation
            .scores
            .iter()
            .map(|s| {
                let name = s.recipient.to_string();
                let exact_ids: Vec<String> = exact
                    .get(&name)
                    .map(|e| e.iter().cloned().collect())
                    .unwrap_or_default();
                let by_code = accusation
                    .accused
                    .iter()
                    .find(|a| a.recipient == s.recipient);
                let mut families = Vec::new();
                if !exact_ids.is_empty() {
                    families.push("ids".to_owned());
                }
                // The code's families count only when the code accuses (which needs them to
                // agree); a positive score short of the threshold is no evidence.
                if by_code.is_some() {
                    for f in &s.families {
                        if f.positions > 0 && f.score > 0.0 {
                            families.push(f.family.as_str().to_owned());
                        }
                    }
                }
                Suspect {
                    recipient: name,
                    accused: !exact_ids.is_empty() || by_code.is_some(),
                    families,
                    exact_ids,
                    score: s.score,
                    threshold: s.threshold,
                    p_value: by_code.and_then(|a| a.p_value),
                    positions: s.positions,
                    family_scores: s
                        .families
                        .iter()
                        .map(|f| (f.family.as_str().to_owned(), f.score, f.positions))
                        .collect(),
                }
            })
            .collect();
        suspects.sort_by(|a, b| {
            b.exact_ids
                .len()
                .cmp(&a.exact_ids.len())
                .then(b.accused.cmp(&a.accused))
                .then((b.score - b.threshold).total_cmp(&(a.score - a.threshold)))
        });
        let accused: Vec<Suspect> = suspects.iter().filter(|s| s.accused).cloned().collect();
        let readable: BTreeMap<String, usize> = accusation
            .readable_families
            .iter()
            .map(|(f, n)| (f.as_str().to_owned(), *n))
            .collect();
        let why_not = accused.is_empty().then(|| {
            let families = Family::ALL
                .iter()
                .filter(|f| readable.get(f.as_str()).is_some_and(|n| *n > 0))
                .count();
            if objects.is_empty() && ids.is_empty() {
                "the input holds no STIX object and no STIX id: retyped or paraphrased text carries no marks".to_owned()
            } else if matched == 0 && exact.is_empty() {
                "nothing in the input matches an object we delivered".to_owned()
            } else if families < 2 {
                "no id delivered to one recipient, and fewer than two mark families readable"
                    .to_owned()
            } else {
                "no id delivered to one recipient, and no recipient scores above its threshold with both families agreeing".to_owned()
            }
        });
        Ok(Trace {
            verdict: if accused.is_empty() {
                "cannot tell".to_owned()
            } else {
                "accused".to_owned()
            },
            accused,
            recipients: suspects,
            objects_read: objects.len(),
            objects_matched: matched,
            ids_seen: ids.len(),
            readable,
            erased: accusation.erased,
            monte_carlo_trials: accusation.monte_carlo_trials,
            why_not,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_are_found_in_bundles_envelopes_lists_and_fragments() {
        let one = r#"{"type":"indicator","id":"indicator--11111111-1111-4111-8111-111111111111"}"#;
        for text in [
            format!(r#"{{"type":"bundle","id":"bundle--x","objects":[{one}]}}"#),
            format!(r#"{{"more":false,"objects":[{one}]}}"#),
            format!("[{one}]"),
            one.to_owned(),
            format!("Leaked on a forum:\n{one}\n-- posted anonymously"),
        ] {
            let (objects, ids) = read_leak(&text);
            assert_eq!(objects.len(), 1, "{text}");
            assert_eq!(ids.len(), 1, "{text}");
        }
        let (objects, ids) = read_leak("Courier network: see the report");
        assert!(objects.is_empty() && ids.is_empty());
    }
}
