//! A partner's view: what the policy releases to it, cut for it, as TAXII serves it. Each
//! object's `date_added` is when it first entered this partner's view (not when we received
//! it), so a partner pulling with `added_after` also gets what became releasable later, for
//! example after a consent arrived.
//!
//! The view holds the current version of each released object only: an earlier version may
//! carry what a later one withdrew, so earlier versions are not released again.

use std::sync::Arc;

use liaison_labels::Party;
use liaison_stix::{parse_document, Timestamp};
use liaison_store::Store;

use crate::error::ReleaseError;
use crate::log::{sha256_hex, Leaf};
use crate::node::Node;
use crate::preview::Entry;

/// The log leaf of `e` entering `to`'s view: its decision is that of the object it is (or
/// that it is the tear line of); labels and definitions that travel along are `release`.
fn delivery_leaf(to: &Party, e: &ViewEntry, decisions: &[Entry]) -> Leaf {
    let decided = decisions
        .iter()
        .find(|d| d.object == e.id || d.tearline.as_deref() == Some(e.id.as_str()));
    Leaf::Delivery {
        recipient: to.to_string(),
        delivered: e.id.clone(),
        version: e.version.as_str().to_owned(),
        sha256: sha256_hex(e.json.as_bytes()),
        decision: decided
            .map_or("release", |d| d.decision.as_str())
            .to_owned(),
        reasons: decided
            .map(|d| {
                d.reasons
                    .iter()
                    .map(|r| r.code.as_str().to_owned())
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// One object in a view.
#[derive(Debug, Clone)]
pub struct ViewEntry {
    /// The object's id.
    pub id: String,
    /// Its type.
    pub object_type: String,
    /// Its version: `modified`, else `created`, else the time it entered the view.
    pub version: Timestamp,
    /// Its `spec_version`.
    pub spec_version: String,
    /// When it entered the view.
    pub date_added: Timestamp,
    /// The object as delivered, JSON text.
    pub json: Arc<str>,
}

/// Everything one partner sees, in `date_added` order.
#[derive(Debug, Clone)]
pub struct View {
    /// The partner.
    pub partner: Party,
    /// The entries, by `date_added` (strictly increasing).
    pub entries: Vec<ViewEntry>,
    /// Every decision behind the view.
    pub decisions: Vec<Entry>,
}

impl<S: Store> Node<S> {
    /// Computes partner `to`'s view and records when each object first entered it.
    pub fn view(&mut self, to: &Party) -> Result<View, ReleaseError> {
        let (decisions, texts, _) = self.delivery(to)?;
        let mut parsed = Vec::with_capacity(texts.len());
        for text in texts {
            let doc = parse_document(&text)?;
            for o in doc.objects {
                parsed.push((o, text.clone()));
            }
        }
        let keys: Vec<(String, String)> = parsed
            .iter()
            .map(|(o, _)| {
                let v = o.version().map(Timestamp::sort_key).unwrap_or_default();
                (o.id().to_string(), v)
            })
            .collect();
        let times = self.store.record_releases(to.as_str(), &keys)?;
        let mut leaves = Vec::new();
        let mut entries: Vec<ViewEntry> = Vec::with_capacity(parsed.len());
        for ((o, text), (date_added, new)) in parsed.into_iter().zip(times) {
            let e = ViewEntry {
                id: o.id().to_string(),
                object_type: o.object_type().to_owned(),
                version: o.version().cloned().unwrap_or_else(|| date_added.clone()),
                spec_version: o.spec_version().unwrap_or("2.1").to_owned(),
                date_added,
                json: text.into(),
            };
            if new {
                leaves.push(delivery_leaf(to, &e, &decisions));
            }
            entries.push(e);
        }
        // Every object that entered the view just now, in one durable append and checkpoint.
        self.log_append(&leaves)?;
        entries.sort_by(|a, b| {
            a.date_added
                .cmp(&b.date_added)
                .then_with(|| a.id.cmp(&b.id))
        });
        Ok(View {
            partner: to.clone(),
            entries,
            decisions,
        })
    }
}
