//! Step 3 of a delivery (decide, cut, **fingerprint**, log, ledger): every copy of our
//! intelligence that leaves the node carries its recipient's marks (crates/fingerprint), and
//! ids coming back from a partner are mapped back to ours.
//!
//! What is not marked, and why (README "Fingerprinting"):
//! - public content: an object whose effective label is TLP:CLEAR (ATT&CK and other
//!   reference feeds) goes out as it came, ids and bytes, to every recipient alike: there is
//!   no leak of it to trace, and partners match it by its published ids;
//! - cyber-observables, marking-definitions, extension-definitions and liaison's identity
//!   keep their ids ([`liaison_fingerprint::keeps_id`]);
//! - what a partner gave us is never sent back to it, so it is never marked for it.
//!
//! The code's design is fixed per node: coalitions of up to [`COLLUDERS`] recipients, and a
//! probability [`EPSILON1`] of accusing any innocent. Before the first fingerprinted delivery
//! to a partner, a [`Leaf::Fingerprint`] with the key's commitment and that design is logged
//! for it.

use std::collections::HashMap;

use liaison_fingerprint::{may_mark, rewrite_ids, CodeParams, Embedder, Recipient, TardosCode};
use liaison_labels::{Party, Tlp};
use liaison_policy::World;
use liaison_stix::{with_properties, StixId};
use liaison_store::prelude::*;
use serde_json::{Map, Value};

use crate::error::ReleaseError;
use crate::log::{hex, Leaf};
use crate::node::Node;

/// The construction the log names.
pub const CONSTRUCTION: &str = "liaison-fingerprint/v1";
/// The coalition size the code is designed to trace (c).
pub const COLLUDERS: usize = 4;
/// The tolerated probability of accusing any innocent, over all recipients (ε₁).
pub const EPSILON1: f64 = 1e-6;
/// The partner-key slot remembering that a partner's fingerprint commitment is logged.
pub(crate) const COMMITMENT_LOGGED: &str = "fingerprint-commitment";

/// Whether copies of the object at `id` are fingerprinted: we hold it and it is not public.
pub(crate) fn is_marked(world: &World, id: &str) -> bool {
    world.lookup(id).is_some_and(|ix| {
        world
            .effective(ix)
            .map_or(true, |eff| eff.tlp != Some(Tlp::Clear))
    })
}

/// Every `type--uuid` in `text`, in order, repeats kept.
pub(crate) fn stix_ids(text: &str) -> Vec<String> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = text[from..].find("--") {
        let dash = from + at;
        from = dash + 2;
        let start = (0..dash)
            .rev()
            .take_while(|&i| b[i].is_ascii_lowercase() || b[i].is_ascii_digit() || b[i] == b'-')
            .last()
            .unwrap_or(dash);
        let end = dash + 2 + 36;
        if start == dash || end > b.len() {
            continue;
        }
        // `end` may fall inside a multi-byte character of hostile text: no id there.
        let Some(candidate) = text.get(start..end) else {
            continue;
        };
        if StixId::parse(candidate).is_ok() {
            out.push(candidate.to_owned());
            from = end;
        }
    }
    out
}

/// `object` (a partner's JSON) with every id it received from us mapped back to ours, by
/// `ours` (its id -> our id). Returns whether anything was mapped.
pub(crate) fn map_back(object: &mut Value, ours: &HashMap<String, String>) -> bool {
    let Value::Object(map) = object else {
        return false;
    };
    rewrite_ids(map, &|s| ours.get(s).cloned())
}

/// `text` (whose properties are `props`), the copy of one of our objects going to
/// `recipient`, with its marks; and the id the copy carries. Only the marked properties'
/// values are written anew; every other byte stays as it was (escapes such as `\u2019`
/// included).
pub(crate) fn mark_text(
    embedder: &Embedder,
    recipient: &Recipient,
    world: &World,
    props: &Map<String, Value>,
    text: &str,
) -> Result<(String, Option<String>), ReleaseError> {
    // Only what marking may touch is copied and marked: the id, references, the listed lists
    // and timestamps, granular markings, and nested objects (which may hold references).
    let mut marked: Map<String, Value> = props
        .iter()
        .filter(|(k, v)| may_mark(k) || v.is_object())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    embedder
        .mark(recipient, &mut marked, &|id| is_marked(world, id))
        .map_err(|e| ReleaseError::Log(e.to_string()))?;
    let id = marked.get("id").and_then(Value::as_str).map(str::to_owned);
    let changes: Vec<(&str, &Value)> = marked
        .iter()
        .filter(|(k, v)| props.get(k.as_str()) != Some(v))
        .map(|(k, v)| (k.as_str(), v))
        .collect();
    if changes.is_empty() {
        return Ok((text.to_owned(), id));
    }
    if let Some(kept) = with_properties(text, &changes) {
        return Ok((kept, id));
    }
    // The text could not be edited in place (a key named twice): written anew.
    let mut whole = props.clone();
    for (k, v) in changes {
        whole.insert(k.to_owned(), v.clone());
    }
    Ok((Value::Object(whole).to_string(), id))
}

impl<S: Store> Node<S> {
    /// The embedder of this node's key, with the code designed for `recipients` recipients.
    pub(crate) fn embedder(&self, recipients: usize) -> Result<Embedder, ReleaseError> {
        let params = CodeParams::new(recipients.max(COLLUDERS), COLLUDERS, EPSILON1)
            .map_err(|e| ReleaseError::Log(e.to_string()))?;
        let key = &self.log_keys.fingerprint;
        Ok(Embedder::new(key, TardosCode::new(key, params)))
    }

    /// The id under which partner `to` receives our object `id`: its own remapped id, or `id`
    /// itself when copies of it are not fingerprinted (public content, observables, markings).
    pub fn delivered_id(&self, to: &Party, id: &str) -> Result<String, ReleaseError> {
        self.delivered_id_in(&self.world()?, to, id)
    }

    /// [`Node::delivered_id`] in a world already computed.
    pub(crate) fn delivered_id_in(
        &self,
        world: &World,
        to: &Party,
        id: &str,
    ) -> Result<String, ReleaseError> {
        let parsed = StixId::parse(id).map_err(ReleaseError::Party)?;
        if !is_marked(world, id) {
            return Ok(id.to_owned());
        }
        self.embedder(1)?
            .deliver_id(&Recipient::new(to.as_str()), &parsed)
            .map(|d| d.to_string())
            .map_err(|e| ReleaseError::Log(e.to_string()))
    }

    /// The ids among `texts` that we delivered to `partner`, each to our id behind it.
    pub(crate) fn delivered_to(
        &self,
        partner: &Party,
        texts: &[&str],
    ) -> Result<HashMap<String, String>, ReleaseError> {
        let mut ids: Vec<String> = texts.iter().flat_map(|t| stix_ids(t)).collect();
        ids.sort_unstable();
        ids.dedup();
        let asked: Vec<&str> = ids.iter().map(String::as_str).collect();
        Ok(self
            .store
            .delivered_ids(&asked)?
            .into_iter()
            .filter(|(_, p, _)| p == partner.as_str())
            .map(|(delivered, _, original)| (delivered, original))
            .collect())
    }

    /// The commitment to the fingerprint key, hex: what the log holds for each partner.
    pub(crate) fn fingerprint_commitment(&self) -> String {
        hex(&self.log_keys.fingerprint.commitment())
    }

    /// The leaf committing to the key and design `to`'s copies are marked under.
    pub(crate) fn fingerprint_leaf(&self, to: &Party) -> Leaf {
        Leaf::Fingerprint {
            recipient: to.to_string(),
            commitment: self.fingerprint_commitment(),
            construction: CONSTRUCTION.to_owned(),
            colluders: COLLUDERS as u64,
            epsilon1: format!("{EPSILON1:e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_found_in_any_text_and_hostile_text_is_no_panic() {
        let text = "see indicator--11111111-1111-4111-8111-111111111111, and \
                    (x-mitre-tactic--22222222-2222-4222-8222-222222222222) but not foo--bar";
        assert_eq!(
            stix_ids(text),
            vec![
                "indicator--11111111-1111-4111-8111-111111111111".to_owned(),
                "x-mitre-tactic--22222222-2222-4222-8222-222222222222".to_owned()
            ]
        );
        // Found by the `receive` fuzz target: a multi-byte character where an id would end.
        for text in [
            "report--5b4a3c2d-1e00f-4a\u{fffd}\u{fffd}\u{fffd}\u{fffd}\u{fffd}\u{fffd}\u{fffd}",
            "a--\u{00e9}\u{00e9}\u{00e9}\u{00e9}\u{00e9}\u{00e9}\u{00e9}\u{00e9}\u{00e9}\u{00e9}\u{00e9}\u{00e9}\u{00e9}\u{00e9}\u{00e9}\u{00e9}\u{00e9}\u{00e9}",
            "--",
            "\u{1f600}--",
        ] {
            assert!(stix_ids(text).is_empty(), "{text}");
        }
    }
}
