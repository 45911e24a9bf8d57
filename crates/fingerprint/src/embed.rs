//! Putting the marks on a delivered copy, and reading them back off a leaked one.
//!
//! A copy for recipient R carries three families of marks:
//! - **ids** ([`crate::remap`]): its own id and every reference to a fingerprinted object are
//!   the keyed remapping for R. Exact: one such id names R.
//! - **order**: lists whose order means nothing ([`ORDERED_FREELY`]) are put in a keyed
//!   canonical order, then each consecutive pair of that order is swapped or not by R's
//!   Tardos bit at the pair's position. Granular-marking selectors pointing into a reordered
//!   list are rewritten to follow their element.
//! - **form**: timestamps other than `created` and `modified` ([`FREE_FORM_TIMESTAMPS`]) are
//!   written with their fraction trimmed (`...:00Z`) or padded to the next group of three
//!   digits (`...:00.000Z`), by R's bit at the timestamp's position. Both name the same
//!   instant at the precision the value states.
//!
//! Nothing a recipient acts on changes: patterns, observable values, names, descriptions,
//! `created`/`modified` (TAXII versions are compared as text), `external_references` (tools
//! take the first as the source's own id) and `object_marking_refs` are never touched, and no
//! element is added to or removed from any list. Normalising a copy (ids mapped back, listed
//! lists sorted, listed timestamps trimmed) gives the same normalisation of the original:
//! [`normalise`], tested on every type liaison serves.
//!
//! Positions are keyed functions of (original object id, property, and for order the pair's
//! first element): the same for every recipient and every version, so a leaked copy shows its
//! positions without knowing whose it is, and a recipient holding two versions sees the same
//! bit twice. Canonical order and positions use the original ids (references are mapped back
//! when reading); a list with an element that cannot be mapped back yields no position.

use liaison_stix::StixId;
use serde_json::{Map, Value};

use crate::key::FastPrf;
use crate::remap::Remapper;
use crate::{Family, FingerprintError, FingerprintKey, Observation, Recipient, TardosCode};

const ORDER_LABEL: &[u8] = b"liaison-fingerprint/v1/order";
const FORM_LABEL: &[u8] = b"liaison-fingerprint/v1/form";

/// Top-level list properties whose order carries no meaning in STIX 2.1 (sets of references,
/// open-vocabulary values, names, kill-chain phases), and that liaison may therefore reorder.
/// Lists of anything else, custom properties and `external_references` are left as they are.
pub const ORDERED_FREELY: &[&str] = &[
    "object_refs",
    "sample_refs",
    "operating_system_refs",
    "aliases",
    "roles",
    "sectors",
    "goals",
    "secondary_motivations",
    "personal_motivations",
    "labels",
    "malware_types",
    "indicator_types",
    "threat_actor_types",
    "tool_types",
    "infrastructure_types",
    "report_types",
    "capabilities",
    "implementation_languages",
    "architecture_execution_envs",
    "authors",
    "kill_chain_phases",
];

/// Top-level timestamps whose fraction may be written trimmed or padded. `created` and
/// `modified` are not among them: they name versions, and TAXII compares them as text.
pub const FREE_FORM_TIMESTAMPS: &[&str] = &[
    "valid_from",
    "valid_until",
    "published",
    "first_seen",
    "last_seen",
    "first_observed",
    "last_observed",
    "start_time",
    "stop_time",
];

/// Whether [`Embedder::mark`] may change the top-level property `key` (at any depth inside
/// a nested object too, where references may sit): the id, references, the freely ordered
/// lists, the free-form timestamps, and granular markings (whose selectors follow reordered
/// elements). Everything else a copy carries is as it was.
pub fn may_mark(key: &str) -> bool {
    key == "id"
        || key == "granular_markings"
        || key.ends_with("_ref")
        || key.ends_with("_refs")
        || ORDERED_FREELY.contains(&key)
        || FREE_FORM_TIMESTAMPS.contains(&key)
}

/// One variant position of one object: where a bit went, or was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// The family.
    pub family: Family,
    /// The code position.
    pub position: u64,
    /// The bit put there or read there (`None`: unreadable).
    pub bit: Option<bool>,
}

impl From<Slot> for Observation {
    fn from(s: Slot) -> Observation {
        Observation {
            position: s.position,
            family: s.family,
            bit: s.bit,
        }
    }
}

/// Marks copies for recipients and reads marks off leaked copies, under one node's key.
#[derive(Clone)]
pub struct Embedder {
    remapper: Remapper,
    order: FastPrf,
    form: FastPrf,
    code: TardosCode,
}

impl Embedder {
    /// The embedder of `key`, with the Tardos code `code` (made from the same key).
    pub fn new(key: &FingerprintKey, code: TardosCode) -> Embedder {
        Embedder {
            remapper: Remapper::new(key),
            order: key.derive_fast(ORDER_LABEL),
            form: key.derive_fast(FORM_LABEL),
            code,
        }
    }

    /// The code.
    pub fn code(&self) -> &TardosCode {
        &self.code
    }

    /// The id `recipient` receives for `id` (the id itself when it is never remapped).
    pub fn deliver_id(
        &self,
        recipient: &Recipient,
        id: &StixId,
    ) -> Result<StixId, FingerprintError> {
        if crate::keeps_id(id) {
            Ok(id.clone())
        } else {
            self.remapper.remap(recipient, id)
        }
    }

    /// Marks `object`, the copy of one of our objects going to `recipient`, in place: variant
    /// positions first (computed on the original ids), then the ids. `remaps(id)` says whether
    /// a referenced id is one of our fingerprinted objects (public content and objects we do
    /// not hold keep their ids); the object's own id is remapped unless [`crate::keeps_id`].
    /// Returns the variant slots written.
    pub fn mark(
        &self,
        recipient: &Recipient,
        object: &mut Map<String, Value>,
        remaps: &dyn Fn(&str) -> bool,
    ) -> Result<Vec<Slot>, FingerprintError> {
        let Some(id) = object.get("id").and_then(Value::as_str).map(str::to_owned) else {
            return Ok(Vec::new());
        };
        let word = self.code.codeword(recipient);
        let mut slots = Vec::new();
        for &prop in ORDERED_FREELY {
            let Some(Value::Array(list)) = object.get(prop) else {
                continue;
            };
            let Some(keys) = list_keys(prop, list, &|s: &str| Some(s.to_owned())) else {
                continue;
            };
            let canonical = self.canonical(&id, prop, &keys);
            // new_order[k] = index in `list` of the element placed at k.
            let mut new_order = Vec::with_capacity(list.len());
            for pair in canonical.chunks(2) {
                match pair {
                    [a, b] => {
                        let position = self.order_position(&id, prop, &keys[*a]);
                        let bit = word.bit(position, self.code.bias(position));
                        slots.push(Slot {
                            family: Family::Order,
                            position,
                            bit: Some(bit),
                        });
                        if bit {
                            new_order.extend([*b, *a]);
                        } else {
                            new_order.extend([*a, *b]);
                        }
                    }
                    [a] => new_order.push(*a),
                    _ => {}
                }
            }
            // Moved into their new places, not cloned.
            if let Some(Value::Array(list)) = object.get_mut(prop) {
                let mut old: Vec<Option<Value>> =
                    std::mem::take(list).into_iter().map(Some).collect();
                list.extend(new_order.iter().filter_map(|&i| old.get_mut(i)?.take()));
            }
            rewrite_selectors(object, prop, &new_order);
        }
        for &prop in FREE_FORM_TIMESTAMPS {
            let Some(Value::String(text)) = object.get(prop) else {
                continue;
            };
            let Some((trimmed, padded)) = forms(text) else {
                continue;
            };
            let position = self.form_position(&id, prop);
            let bit = word.bit(position, self.code.bias(position));
            slots.push(Slot {
                family: Family::Form,
                position,
                bit: Some(bit),
            });
            let written = if bit { padded } else { trimmed };
            object.insert(prop.to_owned(), Value::String(written));
        }
        self.remap_refs(recipient, object, remaps, true)?;
        Ok(slots)
    }

    /// Reads the variant slots of a leaked object whose original is `original` (the leaked id
    /// itself may be remapped or re-minted). `unmap(id)` gives our id behind a referenced id
    /// (remapped for any recipient, or our own), or `None` when it names nothing we know: a
    /// list holding such an element is unreadable. A timestamp in neither form is an erasure.
    pub fn read(
        &self,
        original: &str,
        object: &Map<String, Value>,
        unmap: &dyn Fn(&str) -> Option<String>,
    ) -> Vec<Slot> {
        self.read_out(original, &Readout::of(object), unmap)
    }

    /// [`Embedder::read`] from what the object shows of its marks.
    pub fn read_out(
        &self,
        original: &str,
        readout: &Readout,
        unmap: &dyn Fn(&str) -> Option<String>,
    ) -> Vec<Slot> {
        let mut slots = Vec::new();
        for (i, raw) in &readout.lists {
            let prop = ORDERED_FREELY[*i];
            let Some(keys) = raw
                .as_deref()
                .and_then(|raw| element_keys(prop, raw, unmap))
            else {
                continue;
            };
            let canonical = self.canonical(original, prop, &keys);
            for pair in canonical.chunks(2) {
                if let [a, b] = pair {
                    slots.push(Slot {
                        family: Family::Order,
                        position: self.order_position(original, prop, &keys[*a]),
                        bit: Some(b < a),
                    });
                }
            }
        }
        for (i, text) in &readout.stamps {
            let prop = FREE_FORM_TIMESTAMPS[*i];
            let Some((trimmed, padded)) = forms(text) else {
                continue;
            };
            let bit = if *text == trimmed {
                Some(false)
            } else if *text == padded {
                Some(true)
            } else {
                None
            };
            slots.push(Slot {
                family: Family::Form,
                position: self.form_position(original, prop),
                bit,
            });
        }
        slots
    }

    /// Indices of `keys` in keyed canonical order (ties, which need equal keys, by index).
    fn canonical(&self, id: &str, prop: &str, keys: &[String]) -> Vec<usize> {
        let mut ranked: Vec<(u64, usize)> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let h = self
                    .order
                    .eval64(&[b"rank", id.as_bytes(), prop.as_bytes(), k.as_bytes()]);
                (h, i)
            })
            .collect();
        ranked.sort_unstable();
        ranked.into_iter().map(|(_, i)| i).collect()
    }

    fn order_position(&self, id: &str, prop: &str, first: &str) -> u64 {
        self.order.eval64(&[
            b"position",
            id.as_bytes(),
            prop.as_bytes(),
            first.as_bytes(),
        ])
    }

    fn form_position(&self, id: &str, prop: &str) -> u64 {
        self.form.eval64(&[id.as_bytes(), prop.as_bytes()])
    }

    /// Remaps `id` (at the top level) and every `*_ref` / `*_refs` value, at any depth.
    fn remap_refs(
        &self,
        recipient: &Recipient,
        map: &mut Map<String, Value>,
        remaps: &dyn Fn(&str) -> bool,
        top: bool,
    ) -> Result<(), FingerprintError> {
        for (key, value) in map.iter_mut() {
            let is_id = top && key == "id";
            if is_id || key.ends_with("_ref") {
                if let Value::String(s) = value {
                    self.remap_one(recipient, s, remaps, is_id)?;
                    continue;
                }
            }
            if key.ends_with("_refs") {
                if let Value::Array(items) = value {
                    for item in items.iter_mut() {
                        if let Value::String(s) = item {
                            self.remap_one(recipient, s, remaps, false)?;
                        }
                    }
                    continue;
                }
            }
            self.remap_nested(recipient, value, remaps)?;
        }
        Ok(())
    }

    fn remap_nested(
        &self,
        recipient: &Recipient,
        value: &mut Value,
        remaps: &dyn Fn(&str) -> bool,
    ) -> Result<(), FingerprintError> {
        match value {
            Value::Object(map) => self.remap_refs(recipient, map, remaps, false),
            Value::Array(items) => items
                .iter_mut()
                .try_for_each(|v| self.remap_nested(recipient, v, remaps)),
            _ => Ok(()),
        }
    }

    fn remap_one(
        &self,
        recipient: &Recipient,
        s: &mut String,
        remaps: &dyn Fn(&str) -> bool,
        own: bool,
    ) -> Result<(), FingerprintError> {
        if !own && !remaps(s) {
            return Ok(());
        }
        let Ok(id) = StixId::parse(s) else {
            return Ok(());
        };
        if crate::keeps_id(&id) {
            return Ok(());
        }
        *s = self.remapper.remap(recipient, &id)?.to_string();
        Ok(())
    }
}

/// The normal form of a copy, for comparing a marked copy with its original: `unmap` applied
/// to the id and every reference, listed lists sorted, listed timestamps trimmed, and
/// granular-marking selectors into sorted lists rewritten.
pub fn normalise(object: &Map<String, Value>, unmap: &dyn Fn(&str) -> String) -> Value {
    let mut out = object.clone();
    rewrite_ids(&mut out, &|s| Some(unmap(s)));
    for &prop in ORDERED_FREELY {
        let Some(Value::Array(list)) = out.get(prop) else {
            continue;
        };
        let Some(keys) = list_keys(prop, list, &|s: &str| Some(s.to_owned())) else {
            continue;
        };
        let mut order: Vec<usize> = (0..keys.len()).collect();
        order.sort_by(|&a, &b| keys[a].cmp(&keys[b]));
        let sorted: Vec<Value> = order.iter().map(|&i| list[i].clone()).collect();
        out.insert(prop.to_owned(), Value::Array(sorted));
        rewrite_selectors(&mut out, prop, &order);
    }
    for &prop in FREE_FORM_TIMESTAMPS {
        if let Some(Value::String(text)) = out.get(prop) {
            if let Some((trimmed, _)) = forms(text) {
                out.insert(prop.to_owned(), Value::String(trimmed));
            }
        }
    }
    if let Some(Value::Array(gms)) = out.get_mut("granular_markings") {
        for gm in gms.iter_mut() {
            if let Some(Value::Array(sels)) = gm.get_mut("selectors") {
                sels.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
            }
        }
    }
    Value::Object(out)
}

/// Rewrites the top-level `id` and every `*_ref` / `*_refs` value, at any depth, to what
/// `map_id` gives (left as it is on `None`). Returns whether anything changed. This is how a
/// partner's references to the ids it received are mapped back to ours on the way in.
pub fn rewrite_ids(
    object: &mut Map<String, Value>,
    map_id: &dyn Fn(&str) -> Option<String>,
) -> bool {
    rewrite_in(object, map_id, true)
}

fn rewrite_in(
    map: &mut Map<String, Value>,
    map_id: &dyn Fn(&str) -> Option<String>,
    top: bool,
) -> bool {
    let mut changed = false;
    let mut one = |s: &mut String| {
        if let Some(new) = map_id(s) {
            if new != *s {
                *s = new;
                changed = true;
            }
        }
    };
    let mut nested = Vec::new();
    for (key, value) in map.iter_mut() {
        let single = (top && key == "id") || key.ends_with("_ref");
        match value {
            Value::String(s) if single => one(s),
            Value::Array(items) if key.ends_with("_refs") => {
                for item in items.iter_mut() {
                    if let Value::String(s) = item {
                        one(s);
                    }
                }
            }
            Value::Object(_) | Value::Array(_) => nested.push(value),
            _ => {}
        }
    }
    for value in nested {
        changed |= rewrite_nested(value, map_id);
    }
    changed
}

fn rewrite_nested(value: &mut Value, map_id: &dyn Fn(&str) -> Option<String>) -> bool {
    match value {
        Value::Object(inner) => rewrite_in(inner, map_id, false),
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |c, v| rewrite_nested(v, map_id) | c),
        _ => false,
    }
}

/// The key each element of list `prop` is ranked by, as written: the string itself, or
/// `kill_chain_name` and `phase_name` for a kill-chain phase; `None` for another shape.
fn raw_element_key(prop: &str, v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Object(m) if prop == "kill_chain_phases" => {
            let chain = m.get("kill_chain_name")?.as_str()?;
            let phase = m.get("phase_name")?.as_str()?;
            Some(format!("{chain}\u{0}{phase}"))
        }
        _ => None,
    }
}

/// [`element_keys`] of a parsed list.
fn list_keys(
    prop: &str,
    list: &[Value],
    unmap: &dyn Fn(&str) -> Option<String>,
) -> Option<Vec<String>> {
    let raw: Vec<String> = list
        .iter()
        .map(|v| raw_element_key(prop, v))
        .collect::<Option<_>>()?;
    element_keys(prop, &raw, unmap)
}

/// The keys the elements of list `prop` are ranked by, from their keys as written
/// ([`raw_element_key`]), references mapped back with `unmap`. `None` when the list cannot be
/// reordered or read: fewer than two elements, an element `unmap` does not know, or two equal
/// elements (whose swap would show nothing).
fn element_keys(
    prop: &str,
    raw: &[String],
    unmap: &dyn Fn(&str) -> Option<String>,
) -> Option<Vec<String>> {
    if raw.len() < 2 {
        return None;
    }
    let keys: Vec<String> = if prop.ends_with("_refs") {
        raw.iter().map(|s| unmap(s)).collect::<Option<_>>()?
    } else {
        raw.to_vec()
    };
    let mut seen: Vec<&String> = keys.iter().collect();
    seen.sort();
    seen.dedup();
    (seen.len() == keys.len()).then_some(keys)
}

/// What a leaked object shows of its marks, and nothing else of it: each freely ordered list
/// ([`ORDERED_FREELY`]) as its elements' keys as written (`None` when an element has another
/// shape), and each free-form timestamp ([`FREE_FORM_TIMESTAMPS`]) as written. `liaison trace`
/// builds one per object while parsing, so a large leak is never held as maps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Readout {
    /// (index in [`ORDERED_FREELY`], keys), by index.
    lists: Vec<(usize, Option<Vec<String>>)>,
    /// (index in [`FREE_FORM_TIMESTAMPS`], text), by index.
    stamps: Vec<(usize, String)>,
}

impl Readout {
    /// The readout of a parsed object.
    pub fn of(object: &Map<String, Value>) -> Readout {
        let mut readout = Readout::default();
        for (key, value) in object {
            readout.take(key, value);
        }
        readout
    }

    /// Whether property `key` is one a readout reads.
    pub fn reads(key: &str) -> bool {
        ORDERED_FREELY.contains(&key) || FREE_FORM_TIMESTAMPS.contains(&key)
    }

    /// Reads property `key` with `value` (one it [`Readout::reads`]; any other is ignored).
    /// A property read again replaces what was read of it, as the last of two equal keys
    /// wins in a parsed object.
    pub fn take(&mut self, key: &str, value: &Value) {
        if let Some(i) = ORDERED_FREELY.iter().position(|p| *p == key) {
            self.lists.retain(|(j, _)| *j != i);
            if let Value::Array(list) = value {
                let keys = list
                    .iter()
                    .map(|v| raw_element_key(key, v))
                    .collect::<Option<Vec<_>>>();
                let at = self.lists.partition_point(|(j, _)| *j < i);
                self.lists.insert(at, (i, keys));
            }
        } else if let Some(i) = FREE_FORM_TIMESTAMPS.iter().position(|p| *p == key) {
            self.stamps.retain(|(j, _)| *j != i);
            if let Value::String(text) = value {
                let at = self.stamps.partition_point(|(j, _)| *j < i);
                self.stamps.insert(at, (i, text.clone()));
            }
        }
    }
}

/// After list `prop` was reordered so that its element k is the old element `new_order[k]`,
/// rewrites every granular-marking selector `prop.[i]...` to the element's new index.
fn rewrite_selectors(object: &mut Map<String, Value>, prop: &str, new_order: &[usize]) {
    let Some(Value::Array(gms)) = object.get_mut("granular_markings") else {
        return;
    };
    let mut new_index = vec![0usize; new_order.len()];
    for (k, &old) in new_order.iter().enumerate() {
        if let Some(slot) = new_index.get_mut(old) {
            *slot = k;
        }
    }
    let prefix = format!("{prop}.[");
    for gm in gms.iter_mut() {
        let Some(Value::Array(selectors)) = gm.get_mut("selectors") else {
            continue;
        };
        for sel in selectors.iter_mut() {
            let Value::String(s) = sel else { continue };
            let Some(rest) = s.strip_prefix(&prefix) else {
                continue;
            };
            let Some(close) = rest.find(']') else {
                continue;
            };
            let Ok(old) = rest[..close].parse::<usize>() else {
                continue;
            };
            let Some(&new) = new_index.get(old) else {
                continue;
            };
            *s = format!("{prefix}{new}]{}", &rest[close + 1..]);
        }
    }
}

/// The two written forms of an RFC 3339 UTC timestamp `YYYY-MM-DDTHH:MM:SS[.fff…]Z`: the
/// fraction with trailing zeros trimmed, and that fraction padded with zeros to the next group
/// of three digits (three more when it already ends a group). `None` for any other shape.
fn forms(text: &str) -> Option<(String, String)> {
    let body = text.strip_suffix('Z')?;
    let (seconds, fraction) = match body.split_once('.') {
        Some((s, f)) => (s, f),
        None => (body, ""),
    };
    let b = seconds.as_bytes();
    let shape = b.len() == 19
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            _ => c.is_ascii_digit(),
        });
    if !shape || !fraction.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if body.contains('.') && fraction.is_empty() {
        return None;
    }
    let kept = fraction.trim_end_matches('0');
    let trimmed = if kept.is_empty() {
        format!("{seconds}Z")
    } else {
        format!("{seconds}.{kept}Z")
    };
    let width = (kept.len() / 3 + 1) * 3;
    let padded = format!("{seconds}.{kept:0<width$}Z");
    Some((trimmed, padded))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CodeParams;
    use proptest::prelude::*;
    use serde_json::json;

    fn embedder() -> Embedder {
        let key = FingerprintKey::from_bytes([9; 32]);
        let params = CodeParams::new(30, 4, 1e-6).unwrap_or_else(|e| unreachable!("{e}"));
        Embedder::new(&key, TardosCode::new(&key, params))
    }

    fn report() -> Map<String, Value> {
        let v = json!({
            "type": "report", "spec_version": "2.1",
            "id": "report--7e1b5c38-9d2f-4a6e-b3c0-8f4a2d6e1c77",
            "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
            "name": "Courier network", "published": "2026-01-02T00:00:00Z",
            "report_types": ["threat-actor", "campaign", "indicator"],
            "created_by_ref": "identity--0b8f5d3e-3c8e-4c59-9d6a-2a1f3e4b5c6d",
            "object_refs": [
                "indicator--11111111-1111-4111-8111-111111111111",
                "threat-actor--22222222-2222-4222-8222-222222222222",
                "identity--33333333-3333-4333-8333-333333333333",
                "ipv4-addr--44444444-4444-5444-8444-444444444444",
                "attack-pattern--55555555-5555-4555-8555-555555555555"
            ],
            "object_marking_refs": ["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"],
            "granular_markings": [{
                "marking_ref": "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
                "selectors": ["object_refs.[1]", "name"]
            }]
        });
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    /// Public (kept) content in the tests: the attack pattern.
    fn remaps(id: &str) -> bool {
        !id.starts_with("attack-pattern--")
    }

    #[test]
    fn forms_name_the_same_instant() {
        assert_eq!(
            forms("2026-01-02T00:00:00Z"),
            Some((
                "2026-01-02T00:00:00Z".into(),
                "2026-01-02T00:00:00.000Z".into()
            ))
        );
        assert_eq!(
            forms("2026-01-02T00:00:00.500Z"),
            Some((
                "2026-01-02T00:00:00.5Z".into(),
                "2026-01-02T00:00:00.500Z".into()
            ))
        );
        assert_eq!(
            forms("2026-01-02T00:00:00.123Z"),
            Some((
                "2026-01-02T00:00:00.123Z".into(),
                "2026-01-02T00:00:00.123000Z".into()
            ))
        );
        assert_eq!(forms("2026-01-02T00:00:00.Z"), None);
        assert_eq!(forms("2026-01-02 00:00:00Z"), None);
        assert_eq!(forms("yesterday"), None);
    }

    #[test]
    fn a_marked_copy_normalises_to_its_original() {
        let e = embedder();
        let original = report();
        let rus = Recipient::new("RUS");
        let mut copy = original.clone();
        let slots = e.mark(&rus, &mut copy, &remaps).unwrap_or_default();
        assert!(slots.iter().any(|s| s.family == Family::Order));
        assert!(slots.iter().any(|s| s.family == Family::Form));
        // Ids: own and references remapped, except observables, markings and public content.
        assert_ne!(copy["id"], original["id"]);
        assert_ne!(copy["created_by_ref"], original["created_by_ref"]);
        let refs = copy["object_refs"].as_array().cloned().unwrap_or_default();
        assert!(refs.contains(&json!("ipv4-addr--44444444-4444-5444-8444-444444444444")));
        assert!(refs.contains(&json!(
            "attack-pattern--55555555-5555-4555-8555-555555555555"
        )));
        assert_eq!(copy["object_marking_refs"], original["object_marking_refs"]);
        // The granular marking still points at the threat actor.
        let sel = copy["granular_markings"][0]["selectors"][0]
            .as_str()
            .unwrap_or("");
        let ix: usize = sel
            .trim_start_matches("object_refs.[")
            .trim_end_matches(']')
            .parse()
            .unwrap_or(99);
        let ta = e
            .deliver_id(
                &rus,
                &StixId::parse("threat-actor--22222222-2222-4222-8222-222222222222")
                    .unwrap_or_else(|e| unreachable!("{e}")),
            )
            .unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(refs[ix], json!(ta.as_str()));
        // Mapped back and normalised, the copy is the original.
        let back = |s: &str| -> String {
            for o in original_ids() {
                let id = StixId::parse(o).unwrap_or_else(|e| unreachable!("{e}"));
                if e.deliver_id(&rus, &id)
                    .map(|d| d.as_str() == s)
                    .unwrap_or(false)
                {
                    return o.to_owned();
                }
            }
            s.to_owned()
        };
        assert_eq!(
            normalise(&copy, &back),
            normalise(&original, &|s| s.to_owned())
        );
    }

    fn original_ids() -> Vec<&'static str> {
        vec![
            "report--7e1b5c38-9d2f-4a6e-b3c0-8f4a2d6e1c77",
            "identity--0b8f5d3e-3c8e-4c59-9d6a-2a1f3e4b5c6d",
            "indicator--11111111-1111-4111-8111-111111111111",
            "threat-actor--22222222-2222-4222-8222-222222222222",
            "identity--33333333-3333-4333-8333-333333333333",
        ]
    }

    #[test]
    fn what_was_written_is_what_is_read() {
        let e = embedder();
        for name in ["RUS", "GBR", "ISR", "FRA"] {
            let r = Recipient::new(name);
            let mut copy = report();
            let written = e.mark(&r, &mut copy, &remaps).unwrap_or_default();
            let back = |s: &str| -> Option<String> {
                for o in original_ids() {
                    let id = StixId::parse(o).ok()?;
                    if e.deliver_id(&r, &id).ok()?.as_str() == s {
                        return Some(o.to_owned());
                    }
                }
                Some(s.to_owned())
            };
            let mut read = e.read("report--7e1b5c38-9d2f-4a6e-b3c0-8f4a2d6e1c77", &copy, &back);
            let mut written = written;
            read.sort_by_key(|s| s.position);
            written.sort_by_key(|s| s.position);
            assert_eq!(read, written, "{name}");
        }
    }

    #[test]
    fn positions_do_not_depend_on_the_recipient() {
        let e = embedder();
        let mut a = report();
        let mut b = report();
        let pa = e
            .mark(&Recipient::new("RUS"), &mut a, &remaps)
            .unwrap_or_default();
        let pb = e
            .mark(&Recipient::new("GBR"), &mut b, &remaps)
            .unwrap_or_default();
        let pos = |v: &[Slot]| {
            let mut p: Vec<u64> = v.iter().map(|s| s.position).collect();
            p.sort_unstable();
            p
        };
        assert_eq!(pos(&pa), pos(&pb));
    }

    #[test]
    fn unknown_elements_make_a_list_unreadable_not_wrong() {
        let e = embedder();
        let mut copy = report();
        e.mark(&Recipient::new("RUS"), &mut copy, &remaps)
            .unwrap_or_default();
        // Re-minted references: nothing maps back, so no order slot is read from object_refs.
        let read = e.read(
            "report--7e1b5c38-9d2f-4a6e-b3c0-8f4a2d6e1c77",
            &copy,
            &|_| None,
        );
        assert_eq!(read.iter().filter(|s| s.family == Family::Order).count(), 1);
        // report_types
    }

    proptest! {
        /// Any list of distinct strings: the marked order is a permutation of the original,
        /// it reads back the bits written, and normalising it gives the sorted original.
        #[test]
        fn order_marks_round_trip(
            items in proptest::collection::btree_set("[a-z]{1,8}", 2..12),
            who in "[A-Z]{3}",
        ) {
            let e = embedder();
            let items: Vec<String> = items.into_iter().collect();
            let mut obj = Map::new();
            obj.insert("id".into(), json!("malware--7e1b5c38-9d2f-4a6e-b3c0-8f4a2d6e1c77"));
            obj.insert("aliases".into(), json!(items.clone()));
            let mut copy = obj.clone();
            let r = Recipient::new(who);
            let mut written = e.mark(&r, &mut copy, &|_| false).unwrap_or_default();
            let mut got: Vec<String> = copy["aliases"].as_array().cloned().unwrap_or_default()
                .into_iter().filter_map(|v| v.as_str().map(str::to_owned)).collect();
            let mut read = e.read("malware--7e1b5c38-9d2f-4a6e-b3c0-8f4a2d6e1c77", &copy, &|s| Some(s.to_owned()));
            read.sort_by_key(|s| s.position);
            written.sort_by_key(|s| s.position);
            prop_assert_eq!(read, written.clone());
            prop_assert_eq!(written.len(), items.len() / 2);
            got.sort();
            prop_assert_eq!(got, items);
        }
    }
}
