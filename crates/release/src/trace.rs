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
    accuse, AccuseOptions, Delivered, Family, Observation, Positions, Readout, Recipient, Slot,
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

/// A leaked object as a trace reads it: its id and type, what its content key is made of, and
/// what it shows of its marks ([`Readout`]). The rest of the object is skipped unparsed: in a
/// bundle of indicators it is most of the text, and holding a large leak as maps cost a third
/// of a trace's time.
#[derive(Debug, Clone, Default, PartialEq)]
struct Leaked {
    id: Option<Value>,
    ty: Option<Value>,
    /// `name`, `pattern` and `value`, when present.
    content: [Option<Value>; 3],
    readout: Readout,
}

/// The properties [`Leaked::content`] keeps, in the order a content key looks for them.
const CONTENT: [&str; 3] = ["name", "pattern", "value"];

impl Leaked {
    /// Its id, when it is a string.
    fn id(&self) -> Option<&str> {
        self.id.as_ref().and_then(Value::as_str)
    }

    /// Reads property `key` (one [`Leaked::reads`]).
    fn take(&mut self, key: &str, value: Value) {
        match key {
            "id" => self.id = Some(value),
            "type" => self.ty = Some(value),
            _ => match CONTENT.iter().position(|c| *c == key) {
                Some(i) => self.content[i] = Some(value),
                None => self.readout.take(key, &value),
            },
        }
    }

    /// Whether a trace reads property `key` at all.
    fn reads(key: &str) -> bool {
        matches!(key, "id" | "type") || CONTENT.contains(&key) || Readout::reads(key)
    }

    /// The content key it is matched on when its id is not ours: type and name, else type
    /// and pattern, else type and value.
    fn content_key(&self) -> Option<String> {
        let ty = self.ty.as_ref()?.as_str()?;
        let what = self.content.iter().flatten().next()?.as_str()?;
        Some(format!("{ty}\u{0}{what}"))
    }
}

/// [`read_leak`] on `threads` threads: the objects as [`leaked_objects`] reads them, while
/// the ids are found in the text on another thread.
#[cfg(test)]
fn read_leak_on(text: &str, threads: usize) -> (Vec<Leaked>, Vec<String>) {
    std::thread::scope(|scope| {
        let ids = scope.spawn(|| stix_ids(text));
        let objects = leaked_objects(text, threads);
        let ids = ids.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
        (objects, ids)
    })
}

/// The objects in `text` and every STIX id written anywhere in it.
#[cfg(test)]
fn read_leak(text: &str) -> (Vec<Leaked>, Vec<String>) {
    read_leak_on(text, threads())
}

/// Threads a trace spreads its work over (parsing the leak, reading marks): every core.
fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// The STIX objects in `text`: a bundle or envelope's objects (its `objects` list) read in
/// contiguous shares, one per thread, in their order; any other text read whole, or as the
/// objects that parse from each `{` in it. What counts as an object: a JSON object with `type`
/// and `id` and no `objects` list (one with such a list is a container: its items are read
/// instead), found in lists and containers at any depth.
fn leaked_objects(text: &str, threads: usize) -> Vec<Leaked> {
    if threads > 1 {
        if let Some(items) = bundle_items(text) {
            let parsed = in_shares(&items, threads, |share| {
                let mut objects = Vec::new();
                for item in share {
                    read_into(item.get(), &mut objects).ok()?;
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
    if read_into(text, &mut objects).is_err() {
        // A fragment or text around JSON: every value that parses from a `{`.
        objects.clear();
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'{' {
                let mut it = serde_json::Deserializer::from_str(&text[i..])
                    .into_iter::<&serde_json::value::RawValue>();
                if let Some(Ok(raw)) = it.next() {
                    let used = it.byte_offset();
                    let mut found = Vec::new();
                    if read_into(raw.get(), &mut found).is_ok() {
                        objects.append(&mut found);
                    }
                    i += used.max(1);
                    continue;
                }
            }
            i += 1;
        }
    }
    objects
}

/// The objects in the one JSON document `text`, appended to `out`.
fn read_into(text: &str, out: &mut Vec<Leaked>) -> serde_json::Result<()> {
    use serde::de::DeserializeSeed as _;
    let mut de = serde_json::Deserializer::from_str(text);
    Collect(out).deserialize(&mut de)?;
    de.end()
}

/// Reads one JSON value, appending the objects in it to the list (see [`leaked_objects`]).
struct Collect<'a>(&'a mut Vec<Leaked>);

/// Reads the value of an `objects` property: a list's items as [`Collect`] reads them; says
/// whether it was a list.
struct Items<'a>(&'a mut Vec<Leaked>);

impl<'de> serde::de::DeserializeSeed<'de> for Collect<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for Items<'_> {
    type Value = bool;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

/// Scalars hold no object: accepted and dropped.
macro_rules! nothing_in_scalars {
    ($out:ty, $none:expr) => {
        fn visit_bool<E>(self, _: bool) -> Result<$out, E> {
            Ok($none)
        }
        fn visit_i64<E>(self, _: i64) -> Result<$out, E> {
            Ok($none)
        }
        fn visit_u64<E>(self, _: u64) -> Result<$out, E> {
            Ok($none)
        }
        fn visit_f64<E>(self, _: f64) -> Result<$out, E> {
            Ok($none)
        }
        fn visit_str<E>(self, _: &str) -> Result<$out, E> {
            Ok($none)
        }
        fn visit_unit<E>(self) -> Result<$out, E> {
            Ok($none)
        }
    };
}

impl<'de> serde::de::Visitor<'de> for Collect<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JSON")
    }

    nothing_in_scalars!((), ());

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Collect(&mut *self.0))?.is_some() {}
        Ok(())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut object = Leaked::default();
        let mut container = false;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == "objects" {
                container |= map.next_value_seed(Items(&mut *self.0))?;
            } else if Leaked::reads(&key) {
                object.take(&key, map.next_value()?);
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        if !container && object.id.is_some() && object.ty.is_some() {
            self.0.push(object);
        }
        Ok(())
    }
}

impl<'de> serde::de::Visitor<'de> for Items<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JSON")
    }

    nothing_in_scalars!(bool, false);

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<bool, A::Error> {
        Collect(self.0).visit_seq(seq)?;
        Ok(true)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        // An `objects` that is not a list (observed-data's, say) holds nothing read here.
        while map
            .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
            .is_some()
        {}
        Ok(false)
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

/// [`Leaked::content_key`] of one of our stored objects.
fn stored_content_key(o: &Map<String, Value>) -> Option<String> {
    let ty = o.get("type")?.as_str()?;
    let what = CONTENT.iter().find_map(|c| o.get(*c))?.as_str()?;
    Some(format!("{ty}\u{0}{what}"))
}

/// Content keys written in one transaction when the index is built from every object: about
/// a quarter of a second of SQLite's write lock (two in the unit tests, so that their builds
/// are written in several).
const CONTENT_KEYS_AT_ONCE: usize = if cfg!(test) { 2 } else { 50_000 };

/// A content key as the store keeps it: the first 16 bytes of its SHA-256, in hex. Hashed,
/// because the key may hold characters a database column cannot (NUL separates its parts),
/// and a fixed width keeps the index small; two keys that share 128 bits are not expected.
fn hashed_content_key(key: &str) -> String {
    let mut hex = crate::log::sha256_hex(key.as_bytes());
    hex.truncate(32);
    hex
}

impl<S: Store> Node<S> {
    /// Brings the content-key index (`content_keys`: each held object's hashed content key,
    /// from its latest version) up to the store's newest change: built once from every
    /// object, then from the change feed, as the reference index is (`refresh_refs`).
    pub(crate) fn refresh_content_keys(&mut self) -> Result<(), ReleaseError> {
        let head = self.store.change_head()?;
        match self.store.content_keys_through()? {
            Some(t) if t >= head => {}
            None => {
                let mut pairs = Vec::new();
                self.store.scan_latest(&mut |stored| {
                    let o = &stored.object;
                    if let Some(k) = stored_content_key(o.props()) {
                        pairs.push((o.id().to_string(), hashed_content_key(&k)));
                    }
                    Ok(())
                })?;
                // Written in transactions of `CONTENT_KEYS_AT_ONCE`, so that a first trace on
                // a node of millions does not hold SQLite's write lock longer than a
                // partner's request waits for it; recorded as built with the last.
                let mut chunks = pairs.chunks(CONTENT_KEYS_AT_ONCE).peekable();
                let mut first = true;
                while let Some(chunk) = chunks.next() {
                    let last = chunks.peek().is_none();
                    self.store.write_content_keys(
                        last.then_some(head),
                        std::mem::take(&mut first),
                        &[],
                        chunk,
                    )?;
                }
                if first {
                    self.store.write_content_keys(Some(head), true, &[], &[])?;
                }
            }
            Some(t) => {
                let ids = self.changed_ids(t, head)?;
                let mut pairs = Vec::new();
                for id in &ids {
                    if let Some(stored) = self.store.latest(id)? {
                        if let Some(k) = stored_content_key(stored.object.props()) {
                            pairs.push((id.clone(), hashed_content_key(&k)));
                        }
                    }
                }
                self.store
                    .write_content_keys(Some(head), false, &ids, &pairs)?;
            }
        }
        Ok(())
    }
}

/// What the store says of the ids written in a leak.
struct Lookup {
    /// Every STIX id in the text, in order, repeats kept.
    ids: Vec<String>,
    /// Of those, the ones we delivered: as delivered -> (partner, our id).
    delivered: FxHashMap<String, (String, String)>,
    /// Of the others, the ones we hold under that id (ours as they are: public content goes
    /// out unmarked, and a list may refer to one of our objects that is not in the leak).
    held: FxHashSet<String>,
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
    /// The ids written anywhere in `text`, which of them we delivered and to whom, which of
    /// the others we hold, and which of `partners` received the originals of those delivered
    /// (in a copy as delivered, the objects its marks are read from). Reads the text, not its
    /// JSON: runs while the JSON is parsed.
    fn look_up_ids(&self, text: &str, partners: &[&str]) -> Result<Lookup, ReleaseError> {
        let ids = stix_ids(text);
        let mut distinct: Vec<&str> = ids.iter().map(String::as_str).collect();
        distinct.sort_unstable();
        distinct.dedup();
        let mut delivered: FxHashMap<String, (String, String)> = FxHashMap::default();
        for (as_delivered, partner, original) in self.store.delivered_ids(&distinct)? {
            delivered.insert(as_delivered, (partner, original));
        }
        // Liaison's own identity and extension-definition go out alike from every node under
        // fixed ids, and are not held.
        let undelivered: Vec<&str> = distinct
            .iter()
            .copied()
            .filter(|id| {
                !delivered.contains_key(*id)
                    && *id != LIAISON_IDENTITY_ID
                    && *id != LIAISON_EXTENSION_ID
            })
            .collect();
        let held: FxHashSet<String> = if undelivered.is_empty() {
            FxHashSet::default()
        } else {
            self.store
                .index_rows(&undelivered)?
                .into_iter()
                .map(|r| r.id)
                .collect()
        };
        let mut originals: Vec<String> = delivered.values().map(|(_, o)| o.clone()).collect();
        originals.sort_unstable();
        originals.dedup();
        let asked: Vec<&str> = originals.iter().map(String::as_str).collect();
        let received = self.store.received_among(partners, &asked)?;
        Ok(Lookup {
            ids,
            delivered,
            held,
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
        &mut self,
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
            held,
            received: received_delivered,
        } = looked_up?;
        // Leaked objects under ids that are neither: re-minted copies of ours, matched by
        // content through the content-key index (brought up to date first), not by reading
        // the holdings. A key two of our objects share matches neither.
        let keys: Vec<String> = in_shares(&objects, threads(), |share| {
            share
                .iter()
                .filter(|o| {
                    o.id().is_some_and(|id| {
                        !delivered.contains_key(id)
                            && !held.contains(id)
                            && id != LIAISON_IDENTITY_ID
                            && id != LIAISON_EXTENSION_ID
                    })
                })
                .filter_map(|o| o.content_key().as_deref().map(hashed_content_key))
                .collect::<Vec<_>>()
        })
        .into_iter()
        .flatten()
        .collect();
        let mut by_content: FxHashMap<String, Option<String>> = FxHashMap::default();
        if !keys.is_empty() {
            self.refresh_content_keys()?;
            for (key, id) in self.store.content_key_ids(&keys)? {
                by_content
                    .entry(key)
                    .and_modify(|v| *v = None)
                    .or_insert(Some(id));
            }
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
        let numbered: Vec<(usize, &Leaked)> = objects.iter().enumerate().collect();
        let found: Vec<(usize, String, bool)> = in_shares(&numbered, threads(), |share| {
            share
                .iter()
                .filter_map(|&(n, o)| {
                    let id = o.id().unwrap_or_default();
                    // An object under one of our own ids went out unmarked (public content,
                    // observables): it carries no marks to read.
                    let (original, marked) = match delivered.get(id) {
                        Some((_, original)) => (Some(original.clone()), true),
                        None if held.contains(id) => (Some(id.to_owned()), false),
                        None => (
                            o.content_key().and_then(|k| {
                                by_content.get(&hashed_content_key(&k)).cloned().flatten()
                            }),
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
                            Some(o) if *marked => embedder.read_out(original, &o.readout, &unmap),
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

    /// The reference reading: the whole document parsed into a `Value`, then walked as
    /// [`leaked_objects`] documents (containers opened, lists walked), each object read from
    /// its parsed map.
    fn read_parsed(v: Value, out: &mut Vec<Leaked>) {
        match v {
            Value::Array(items) => items.into_iter().for_each(|i| read_parsed(i, out)),
            Value::Object(mut m) => {
                if let Some(Value::Array(items)) = m.remove("objects") {
                    items.into_iter().for_each(|i| read_parsed(i, out));
                } else if m.contains_key("type") && m.contains_key("id") {
                    let mut o = Leaked::default();
                    for (k, v) in m {
                        if Leaked::reads(&k) {
                            o.take(&k, v);
                        }
                    }
                    out.push(o);
                }
            }
            _ => {}
        }
    }

    /// A trace keeps only what it reads of each object, as a full parse has it, at any
    /// depth of bundles and envelopes; the readout is what the embedder reads off the map.
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
                    assert_eq!(o.id(), full["id"].as_str());
                    assert_eq!(o.content_key(), stored_content_key(&full));
                    assert_eq!(o.readout, Readout::of(&full));
                    assert_ne!(o.readout, Readout::default());
                }
            }
        }
    }

    /// JSON documents of the shapes a leak takes: containers with `objects`, lists, objects
    /// with the properties a trace reads (of every type, some of the wrong one) and others.
    fn documents() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let key = prop::sample::select(vec![
            "objects",
            "id",
            "type",
            "name",
            "pattern",
            "value",
            "labels",
            "object_refs",
            "kill_chain_phases",
            "valid_from",
            "published",
            "description",
            "x_custom",
        ]);
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i32>().prop_map(Value::from),
            prop::sample::select(vec![
                "indicator--1",
                "report",
                "2025-01-01T00:00:00Z",
                "2025-01-01T00:00:00.000Z",
                "a",
            ])
            .prop_map(|s| Value::String(s.to_owned())),
        ];
        leaf.prop_recursive(4, 64, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::vec((key.clone(), inner), 0..7).prop_map(|kvs| {
                    Value::Object(kvs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
                }),
            ]
        })
    }

    /// Every (hashed content key, id) of the holdings, read by scanning them: what the
    /// content-key index must hold.
    fn content_keys_by_scan(node: &Node<liaison_store::SqliteStore>) -> BTreeSet<(String, String)> {
        let mut out = BTreeSet::new();
        node.store
            .scan_latest(&mut |stored| {
                let o = &stored.object;
                if let Some(k) = stored_content_key(o.props()) {
                    out.insert((hashed_content_key(&k), o.id().to_string()));
                }
                Ok(())
            })
            .unwrap();
        out
    }

    /// A first build that stopped midway (keys written, none recorded as built) is not taken
    /// for an index: the next refresh builds it again from every object.
    #[test]
    fn a_build_stopped_midway_is_built_again_whole() {
        let dir = tempfile::tempdir().unwrap();
        let mut node = Node::init(dir.path(), &Party::parse("USA").unwrap()).unwrap();
        let objects: Vec<Value> = (0..5)
            .map(|i| {
                serde_json::json!({
                    "type": "indicator", "spec_version": "2.1",
                    "id": format!("indicator--00000000-0000-4000-8000-{i:012}"),
                    "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
                    "name": format!("Courier relay {i}"), "pattern_type": "stix",
                    "pattern": "[ipv4-addr:value = '198.51.100.1']",
                    "valid_from": "2026-01-01T00:00:00Z",
                })
            })
            .collect();
        let doc = serde_json::json!({"type": "bundle", "id": "bundle--5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "objects": objects});
        node.ingest(
            &liaison_stix::parse_document(&doc.to_string()).unwrap(),
            &crate::IngestOptions::default(),
            &mut |_| {},
        )
        .unwrap();
        // What a stopped build leaves: a first chunk, with a key that is no object's.
        let stray = (
            "indicator--stray".to_owned(),
            hashed_content_key("indicator\u{0}gone"),
        );
        node.store
            .write_content_keys(None, true, &[], std::slice::from_ref(&stray))
            .unwrap();
        assert_eq!(node.store.content_keys_through().unwrap(), None);
        node.refresh_content_keys().unwrap();
        let expected = content_keys_by_scan(&node);
        assert_eq!(expected.len(), 5);
        let mut asked: Vec<String> = expected.iter().map(|(k, _)| k.clone()).collect();
        asked.push(stray.1);
        let got: BTreeSet<(String, String)> = node
            .store
            .content_key_ids(&asked)
            .unwrap()
            .into_iter()
            .collect();
        assert_eq!(got, expected);
        assert!(node.store.content_keys_through().unwrap().is_some());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

        /// The content-key index, brought up to date at any point of any history of new
        /// objects, new versions that change their content, objects without a content key,
        /// and deletions, holds exactly what scanning the holdings gives.
        #[test]
        fn the_content_key_index_follows_any_history(
            steps in proptest::collection::vec((0usize..4, 0usize..6, 0usize..3, proptest::bool::ANY), 1..14),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let mut node = Node::init(dir.path(), &Party::parse("USA").unwrap()).unwrap();
            for (n, (kind, i, variant, refresh)) in steps.iter().enumerate() {
                let id = format!("indicator--00000000-0000-4000-8000-{i:012}");
                match kind {
                    // A new version (a new object the first time), named by `variant`, or
                    // with no name (its pattern is its key then), or with neither.
                    0..=2 => {
                        let mut o = serde_json::json!({
                            "type": "indicator", "spec_version": "2.1", "id": id,
                            "created": "2026-01-01T00:00:00.000Z",
                            "modified": format!("2026-01-01T00:00:{n:02}.000Z"),
                            "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z",
                            "pattern": format!("[ipv4-addr:value = '198.51.100.{variant}']"),
                        });
                        if *kind == 0 {
                            o["name"] = format!("Courier relay {variant}").into();
                        }
                        if *kind == 2 {
                            o["name"] = serde_json::json!(["not", "a", "string"]);
                        }
                        let doc = serde_json::json!({"type": "bundle", "id": "bundle--5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "objects": [o]});
                        node.ingest(
                            &liaison_stix::parse_document(&doc.to_string()).unwrap(),
                            &crate::IngestOptions::default(),
                            &mut |_| {},
                        )
                        .unwrap();
                    }
                    _ => {
                        node.store.delete_versions(&id, "local", None).unwrap();
                    }
                }
                if *refresh || n + 1 == steps.len() {
                    node.refresh_content_keys().unwrap();
                    let expected = content_keys_by_scan(&node);
                    // Every key that any version ever had, asked of the index.
                    let mut asked: BTreeSet<String> = expected.iter().map(|(k, _)| k.clone()).collect();
                    for variant in 0..3 {
                        for key in [
                            format!("indicator\u{0}Courier relay {variant}"),
                            format!("indicator\u{0}[ipv4-addr:value = '198.51.100.{variant}']"),
                        ] {
                            asked.insert(hashed_content_key(&key));
                        }
                    }
                    let asked: Vec<String> = asked.into_iter().collect();
                    let got: BTreeSet<(String, String)> =
                        node.store.content_key_ids(&asked).unwrap().into_iter().collect();
                    proptest::prop_assert_eq!(got, expected, "after step {}", n);
                }
            }
        }
    }

    proptest::proptest! {
        /// The streaming reader finds the objects, in order, with what a trace reads of
        /// them, that parsing the whole document and walking it finds; on one thread and on
        /// several.
        #[test]
        fn streaming_reads_what_the_parsed_document_shows(doc in documents()) {
            let text = doc.to_string();
            let mut expected = Vec::new();
            read_parsed(doc, &mut expected);
            for threads in [1, 2, 3] {
                proptest::prop_assert_eq!(&leaked_objects(&text, threads), &expected);
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
