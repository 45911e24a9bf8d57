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

use std::collections::{BTreeMap, BTreeSet};

use liaison_fingerprint::{
    accuse, AccuseOptions, Delivered, Family, Observation, Positions, Recipient, Slot,
    FREE_FORM_TIMESTAMPS, ORDERED_FREELY,
};
use liaison_labels::{Party, LIAISON_IDENTITY_ID};
use liaison_stix::LIAISON_EXTENSION_ID;
use liaison_store::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};
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
    read_leak_on(text, threads())
}

/// Threads a trace spreads its work over (parsing the leak, reading marks): every core.
fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// [`read_leak`] on `threads` threads: the objects as [`leaked_objects`] reads them, while
/// the ids are found in the text on another thread.
fn read_leak_on(text: &str, threads: usize) -> (Vec<Map<String, Value>>, Vec<String>) {
    std::thread::scope(|scope| {
        let ids = scope.spawn(|| stix_ids(text));
        let objects = leaked_objects(text, threads);
        let ids = ids.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
        (objects, ids)
    })
}

/// The JSON objects in `text` (see [`collect_objects`]), read as [`Lean`] values: a bundle or
/// envelope's objects in contiguous shares, one per thread, in their order; any other text
/// whole, or as the objects that parse from each `{` in it.
fn leaked_objects(text: &str, threads: usize) -> Vec<Map<String, Value>> {
    if threads > 1 {
        if let Some(items) = bundle_items(text) {
            let parsed = in_shares(&items, threads, |share| {
                let mut objects = Vec::new();
                for item in share {
                    let Lean(v) = serde_json::from_str(item.get()).ok()?;
                    collect_objects(v, &mut objects);
                }
                Some(objects)
            });
            // Any share that did not parse as a whole document would: read it that way.
            if let Some(parsed) = parsed.into_iter().collect::<Option<Vec<_>>>() {
                return parsed.into_iter().flatten().collect();
            }
        }
    }
    let mut objects = Vec::new();
    match serde_json::from_str::<Lean>(text) {
        Ok(Lean(v)) => collect_objects(v, &mut objects),
        Err(_) => {
            // A fragment or text around JSON: every object that parses from a `{`.
            let bytes = text.as_bytes();
            let mut i = 0;
            while i < bytes.len() {
                if bytes[i] == b'{' {
                    let mut it = serde_json::Deserializer::from_str(&text[i..]).into_iter::<Lean>();
                    if let Some(Ok(Lean(v))) = it.next() {
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
    objects
}

/// The properties of a leaked object a trace reads: its id and type, what its content key is
/// made of, and where marks sit. The rest of an object is skipped unparsed: in a bundle of
/// indicators it is most of the text, and building it as maps was a third of a trace's time.
fn read_by_trace(key: &str) -> bool {
    matches!(key, "id" | "type" | "name" | "pattern" | "value")
        || ORDERED_FREELY.contains(&key)
        || FREE_FORM_TIMESTAMPS.contains(&key)
}

/// A JSON value as a trace needs it: every object in it keeps only the properties
/// [`read_by_trace`] names, and `objects` (a bundle's or an envelope's list, read the same
/// way); arrays and scalars are kept whole. Read as [`collect_objects`] reads a [`Value`],
/// it finds the same objects.
struct Lean(Value);

impl<'de> serde::Deserialize<'de> for Lean {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Lean, D::Error> {
        d.deserialize_any(LeanVisitor)
    }
}

struct LeanVisitor;

impl<'de> serde::de::Visitor<'de> for LeanVisitor {
    type Value = Lean;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JSON")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Lean, A::Error> {
        let mut kept = Map::new();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == "objects" {
                let Lean(v) = map.next_value()?;
                kept.insert(key.into_owned(), v);
            } else if read_by_trace(&key) {
                kept.insert(key.into_owned(), map.next_value()?);
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(Lean(Value::Object(kept)))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Lean, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(Lean(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Lean(Value::Array(items)))
    }

    fn visit_bool<E>(self, b: bool) -> Result<Lean, E> {
        Ok(Lean(Value::Bool(b)))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Lean, E> {
        Ok(Lean(n.into()))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Lean, E> {
        Ok(Lean(n.into()))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Lean, E> {
        Ok(Lean(
            serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number),
        ))
    }

    fn visit_str<E>(self, s: &str) -> Result<Lean, E> {
        Ok(Lean(Value::String(s.to_owned())))
    }

    fn visit_string<E>(self, s: String) -> Result<Lean, E> {
        Ok(Lean(Value::String(s)))
    }

    fn visit_unit<E>(self) -> Result<Lean, E> {
        Ok(Lean(Value::Null))
    }
}

/// The items of a document that is one JSON object with an `objects` list (a bundle, a TAXII
/// envelope), unparsed; `None` for anything else (read whole then).
fn bundle_items(text: &str) -> Option<Vec<&serde_json::value::RawValue>> {
    #[derive(serde::Deserialize)]
    struct Outer<'a> {
        #[serde(borrow)]
        objects: Vec<&'a serde_json::value::RawValue>,
    }
    let outer: Outer<'_> = serde_json::from_str(text).ok()?;
    Some(outer.objects)
}

/// `f` over `items` cut into `threads` contiguous shares, each on its own thread; results in
/// the items' order.
fn in_shares<'a, T: Sync, R: Send>(
    items: &'a [T],
    threads: usize,
    f: impl Fn(&'a [T]) -> R + Sync,
) -> Vec<R> {
    let per = items.len().div_ceil(threads.max(1)).max(1);
    if items.len() <= per {
        return vec![f(items)];
    }
    std::thread::scope(|scope| {
        let f = &f;
        let handles: Vec<_> = items
            .chunks(per)
            .map(|share| scope.spawn(move || f(share)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
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

/// What the store says of the ids written in a leak.
struct Lookup {
    /// Every STIX id in the text, in order, repeats kept.
    ids: Vec<String>,
    /// Of those, the ones we delivered: as delivered -> (partner, our id).
    delivered: FxHashMap<String, (String, String)>,
    /// The others, each once.
    undelivered: Vec<String>,
    /// Who received the originals of the delivered ones.
    received: ReceivedAmong,
}

/// Which of `originals` (sorted, each once) each partner received.
struct ReceivedAmong {
    originals: Vec<String>,
    /// Per partner, in the order asked: indices into `originals`, ascending.
    received: Vec<Vec<usize>>,
}

impl ReceivedAmong {
    /// The same answer for `some` (sorted, each once): per partner, the indices into `some`
    /// of those it received; `None` when one of `some` is not among the originals.
    fn among(&self, some: &[&str]) -> Option<Vec<Vec<usize>>> {
        // Both lists are sorted: one walk places each of `some` among the originals.
        let mut place = vec![usize::MAX; self.originals.len()];
        let mut j = 0;
        for (i, s) in some.iter().enumerate() {
            while self.originals.get(j).is_some_and(|o| o.as_str() < *s) {
                j += 1;
            }
            *place.get_mut(j).filter(|_| self.originals[j] == *s)? = i;
        }
        // Places grow with the originals' indices, so each list stays ascending.
        Some(
            self.received
                .iter()
                .map(|got| {
                    got.iter()
                        .filter_map(|&d| place.get(d).copied().filter(|&i| i != usize::MAX))
                        .collect()
                })
                .collect(),
        )
    }
}

impl<S: Store> Node<S> {
    /// The ids written anywhere in `text`, which of them we delivered and to whom, and which
    /// of `partners` received the originals of those (in a copy as delivered, the objects its
    /// marks are read from). Reads the text, not its JSON: runs while the JSON is parsed.
    fn look_up_ids(&self, text: &str, partners: &[&str]) -> Result<Lookup, ReleaseError> {
        let ids = stix_ids(text);
        let mut distinct: Vec<&str> = ids.iter().map(String::as_str).collect();
        distinct.sort_unstable();
        distinct.dedup();
        let mut delivered: FxHashMap<String, (String, String)> = FxHashMap::default();
        for (as_delivered, partner, original) in self.store.delivered_ids(&distinct)? {
            delivered.insert(as_delivered, (partner, original));
        }
        let undelivered: Vec<String> = distinct
            .iter()
            .filter(|id| !delivered.contains_key(**id))
            .map(|id| (*id).to_owned())
            .collect();
        let mut originals: Vec<String> = delivered.values().map(|(_, o)| o.clone()).collect();
        originals.sort_unstable();
        originals.dedup();
        let asked: Vec<&str> = originals.iter().map(String::as_str).collect();
        let received = self.store.received_among(partners, &asked)?;
        Ok(Lookup {
            ids,
            delivered,
            undelivered,
            received: ReceivedAmong {
                originals,
                received,
            },
        })
    }

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
        let partners: Vec<Party> = self
            .store
            .partners()?
            .into_iter()
            .filter_map(|p| Party::parse(&p.party).ok())
            .collect();
        let names: Vec<&str> = partners.iter().map(Party::as_str).collect();
        // The leak's objects are parsed on other threads while the store is asked about the
        // ids written in it.
        let (objects, looked_up) = std::thread::scope(|scope| {
            let parsing = scope.spawn(|| leaked_objects(text, threads()));
            let looked_up = self.look_up_ids(text, &names);
            let objects = parsing
                .join()
                .unwrap_or_else(|e| std::panic::resume_unwind(e));
            (objects, looked_up)
        });
        let Lookup {
            ids,
            delivered,
            undelivered,
            received: received_delivered,
        } = looked_up?;
        // Objects whose id is no id we delivered: ours as they are (public content, which
        // goes out unmarked), or re-minted copies of ours, matched by content. The holdings
        // are read only when the leak has such objects.
        let mut held: FxHashSet<String> = FxHashSet::default();
        let mut unknown = false;
        // The objects under ids we did not deliver (found on every core: in a copy as
        // delivered, none).
        let others: Vec<&str> = in_shares(&objects, threads(), |share| {
            share
                .iter()
                .filter_map(|o| o.get("id").and_then(Value::as_str))
                // Liaison's own identity and extension-definition go out alike from every
                // node under fixed ids, and are not held: no reason to read the holdings.
                .filter(|id| {
                    !delivered.contains_key(*id)
                        && *id != LIAISON_IDENTITY_ID
                        && *id != LIAISON_EXTENSION_ID
                })
                .collect::<Vec<_>>()
        })
        .into_iter()
        .flatten()
        .collect();
        for id in others {
            if held.contains(id) {
                continue;
            }
            // One unknown id means the holdings are scanned, which finds the held ones too:
            // no more lookups.
            if self.store.latest(id)?.is_some() {
                held.insert(id.to_owned());
            } else {
                unknown = true;
                break;
            }
        }
        if !unknown {
            // Without the scan, `held` must still answer for every id the leak names (a list
            // element may refer to one of our unmarked objects that is not in the leak): the
            // ids written anywhere in it that we did not deliver are looked up one by one.
            for id in undelivered {
                if !held.contains(&id) && self.store.latest(&id)?.is_some() {
                    held.insert(id);
                }
            }
        }
        let mut by_content: FxHashMap<String, Option<String>> = FxHashMap::default();
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

        // Every id we delivered that the leak shows, by the partner it went to.
        let mut exact: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for (id, (partner, _)) in &delivered {
            exact.entry(partner).or_default().insert(id);
        }
        let embedder = self.embedder(partners.len())?;
        // Which of our objects each leaked object is, and whether its copy carries marks.
        let numbered: Vec<(usize, &Map<String, Value>)> = objects.iter().enumerate().collect();
        let found: Vec<(usize, String, bool)> = in_shares(&numbered, threads(), |share| {
            share
                .iter()
                .filter_map(|&(n, o)| {
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
                    original.map(|original| (n, original, marked))
                })
                .collect::<Vec<_>>()
        })
        .into_iter()
        .flatten()
        .collect();
        let matched = found.len();
        // The objects whose marks are read, each once, sorted: what each recipient received
        // of them is asked of the store (one aggregate over their releases) while the marks
        // are read on the other threads.
        let mut originals: Vec<&str> = found
            .iter()
            .filter(|(_, _, marked)| *marked)
            .map(|(_, original, _)| original.as_str())
            .collect();
        originals.sort_unstable();
        originals.dedup();
        // Who received each of them: from the lookup when each is the original of an id we
        // delivered (a copy as delivered), else asked now (a re-minted copy).
        let from_lookup = received_delivered.among(&originals);
        let (slots, received) = std::thread::scope(|scope| {
            // The slots come back in the objects' order.
            let reading = scope.spawn(|| {
                in_shares(&found, threads(), |share| {
                    share
                        .iter()
                        .map(|(n, original, marked)| match objects.get(*n) {
                            Some(o) if *marked => embedder.read(original, o, &unmap),
                            _ => Vec::new(),
                        })
                        .collect::<Vec<_>>()
                })
            });
            let received = match from_lookup {
                Some(received) => Ok(received),
                None => self.store.received_among(&names, &originals),
            };
            let slots = reading
                .join()
                .unwrap_or_else(|e| std::panic::resume_unwind(e));
            (slots, received)
        });
        let received = received?;
        let slots: Vec<Vec<Slot>> = slots.into_iter().flatten().collect();
        let mut observations: Vec<Observation> = Vec::new();
        // Positions by the original they were read from: needed only when some recipient
        // received a part of what the leak shows.
        let partly = received.iter().any(|got| got.len() != originals.len());
        let mut positions_of: FxHashMap<&str, Vec<u64>> = FxHashMap::default();
        let total = objects.len() as u64;
        for ((n, original, marked), slots) in found.iter().zip(slots) {
            if *marked {
                if partly {
                    positions_of
                        .entry(original.as_str())
                        .or_default()
                        .extend(slots.iter().map(|s| s.position));
                }
                observations.extend(slots.into_iter().map(Observation::from));
            }
            if n % 256 == 0 {
                progress(*n as u64 + 1, total);
            }
        }
        if total > 0 {
            progress(total, total);
        }
        let recipients: Vec<Delivered> = partners
            .iter()
            .zip(&received)
            .map(|(p, got)| {
                // Recipients that received every object the leak shows share one threshold.
                let received = if got.len() == originals.len() {
                    Positions::All
                } else {
                    Positions::Only(
                        got.iter()
                            .filter_map(|&i| originals.get(i))
                            .filter_map(|original| positions_of.get(original))
                            .flat_map(|ps| ps.iter().copied())
                            .collect(),
                    )
                };
                Delivered {
                    recipient: Recipient::new(p.as_str()),
                    received,
                }
            })
            .collect();
        let objects_read = objects.len();
        // The parsed leak (many small allocations) is freed beside the accusation.
        let accusation = std::thread::scope(|scope| {
            scope.spawn(move || drop(objects));
            accuse(embedder.code(), &observations, &recipients, &options)
        });

        let mut suspects: Vec<Suspect> = accusation
            .scores
            .iter()
            .map(|s| {
                let name = s.recipient.to_string();
                let exact_ids: Vec<String> = exact
                    .get(name.as_str())
                    .map(|e| e.iter().map(|id| (*id).to_owned()).collect())
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
            if objects_read == 0 && ids.is_empty() {
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
            objects_read,
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

    /// A trace parses only the properties it reads: each kept as a full parse has it, every
    /// other one skipped, at any depth of bundles and envelopes.
    #[test]
    fn the_lean_read_keeps_exactly_what_a_trace_reads() {
        let object = r#"{"type":"indicator","spec_version":"2.1","id":"indicator--11111111-1111-4111-8111-111111111111","created":"2025-01-01T00:00:00.000Z","name":"Relay \"7\"","description":"long text","indicator_types":["malicious-activity","attribution"],"kill_chain_phases":[{"kill_chain_name":"k","phase_name":"a"},{"kill_chain_name":"k","phase_name":"b"}],"pattern":"[ipv4-addr:value = '10.0.0.1']","valid_from":"2025-01-01T00:00:00Z","external_references":[{"source_name":"x","objects":[1]}],"extensions":{"x":{"labels":["deep"]}},"x_custom":{"objects":[{"type":"note","id":"note--1"}]}}"#;
        let full: Map<String, Value> = serde_json::from_str(object).unwrap();
        for text in [
            object.to_owned(),
            format!(r#"{{"type":"bundle","id":"bundle--x","objects":[{object},{object}]}}"#),
            format!(r#"{{"objects":[{{"objects":[{object}]}}]}}"#),
        ] {
            for threads in [1, 2] {
                let objects = leaked_objects(&text, threads);
                assert!(!objects.is_empty(), "{text}");
                for o in &objects {
                    let expected: Map<String, Value> = full
                        .iter()
                        .filter(|(k, _)| read_by_trace(k))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    assert_eq!(o, &expected, "{text}");
                }
            }
        }
    }

    proptest::proptest! {
        /// Who received which of some originals, answered from the lookup's answer for all of
        /// them, is what asking for those alone gives; one not among them gives no answer.
        #[test]
        fn received_among_some_is_the_answer_restricted(
            all in proptest::collection::btree_set(0u16..500, 0..60),
            got in proptest::collection::vec(proptest::collection::btree_set(0usize..60, 0..60), 0..4),
            pick in proptest::collection::vec(proptest::bool::ANY, 60),
            stranger in proptest::option::of(500u16..600),
        ) {
            let originals: Vec<String> = all.iter().map(|i| format!("indicator--{i:05}")).collect();
            let received: Vec<Vec<usize>> = got
                .iter()
                .map(|g| g.iter().copied().filter(|&i| i < originals.len()).collect())
                .collect();
            let mut some: Vec<String> = originals
                .iter()
                .zip(&pick)
                .filter(|(_, p)| **p)
                .map(|(o, _)| o.clone())
                .collect();
            if let Some(s) = stranger {
                some.push(format!("indicator--{s:05}"));
                some.sort();
            }
            let some: Vec<&str> = some.iter().map(String::as_str).collect();
            let r = ReceivedAmong { originals: originals.clone(), received: received.clone() };
            let answer = r.among(&some);
            if stranger.is_some() {
                proptest::prop_assert!(answer.is_none());
            } else {
                let expected: Vec<Vec<usize>> = received
                    .iter()
                    .map(|g| {
                        some.iter()
                            .enumerate()
                            .filter(|(_, s)| g.iter().any(|&d| originals[d] == **s))
                            .map(|(i, _)| i)
                            .collect()
                    })
                    .collect();
                proptest::prop_assert_eq!(answer, Some(expected));
            }
        }
    }

    /// A bundle's objects are parsed on several threads: the same objects, in the same order,
    /// and the same ids as on one, whatever the document's shape (nested bundles and lists,
    /// an `objects` that is not a list, a key named twice, text around JSON).
    #[test]
    fn reading_on_threads_reads_what_one_thread_reads() {
        let one = |i: usize| {
            format!(
                r#"{{"type":"indicator","id":"indicator--11111111-1111-4111-8111-{i:012}","object_refs":["report--22222222-2222-4222-8222-222222222222"]}}"#
            )
        };
        let many: Vec<String> = (0..9).map(one).collect();
        let list = many.join(",");
        // Nested just past what a whole document may nest, but not a share of it.
        let deep = |depth: usize| {
            format!(
                r#"{{"objects":[{},{}{}{}]}}"#,
                one(60),
                r#"{"type":"note","id":"note--33333333-3333-4333-8333-333333333333","x":"#,
                "[".repeat(depth) + &"]".repeat(depth),
                "}"
            )
        };
        for text in [
            deep(125),
            deep(126),
            deep(127),
            deep(130),
            format!(r#"{{"type":"bundle","id":"bundle--x","objects":[{list}]}}"#),
            format!(
                r#"{{"objects":[[{list}],{{"objects":[{}]}},3,"x"],"more":true}}"#,
                one(20)
            ),
            format!(r#"{{"objects":[{list}],"objects":[{}]}}"#, one(30)),
            format!(r#"{{"type":"x","id":"x--1","objects":{}}}"#, one(40)),
            format!(r#"{{"objects":[{list}]}} trailing {}"#, one(50)),
            format!(r#"{{"objects":[{list}]"#),
            format!("[{list}]"),
        ] {
            let serial = read_leak_on(&text, 1);
            for threads in [2, 3, 16] {
                assert_eq!(read_leak_on(&text, threads), serial, "{threads}: {text}");
            }
        }
    }
}
