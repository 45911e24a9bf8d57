//! A partner's view: what the policy releases to it, cut for it, as TAXII serves it. Each
//! object's `date_added` is when it first entered this partner's view (not when we received
//! it), so a partner pulling with `added_after` also gets what became releasable later, for
//! example after a consent arrived.
//!
//! The view holds the current version of each released object only: an earlier version may
//! carry what a later one withdrew, so earlier versions are not released again.

use std::collections::HashMap;
use std::sync::Arc;

use liaison_labels::Party;
use liaison_policy::Markings;
use liaison_stix::{parse_document, StixObject, Timestamp};
use liaison_store::prelude::*;
use liaison_store::releases::{self, Released};
use liaison_store::StoreError;

use crate::error::ReleaseError;
use crate::fingerprint::COMMITMENT_LOGGED;
use crate::log::{sha256_hex, Leaf};
use crate::maintain::{Rows, Write};
use crate::node::Node;
use crate::preview::{Entry, Pass};
use crate::queue::Holdings;

/// The log leaf of object `o` (JSON text `json`) entering `to`'s view, worth `value` in the
/// ledger: its decision is `decided`, that of the object it is (or that it is the tear line
/// of); labels and definitions that travel along are `release`.
fn delivery_leaf(to: &Party, o: &Head, json: &str, decided: Option<&Entry>, value: f64) -> Leaf {
    Leaf::Delivery {
        recipient: to.to_string(),
        delivered: o.id.clone(),
        version: o
            .version
            .as_ref()
            .map(|v| v.as_str().to_owned())
            .unwrap_or_default(),
        sha256: sha256_hex(json.as_bytes()),
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
        value: (value * 1000.0).round() / 1000.0,
    }
}

/// One object going into a view: its head, its text, and our id for it.
pub(crate) struct Going {
    pub(crate) head: Head,
    pub(crate) text: String,
    pub(crate) original: String,
    /// The marking-definitions the copy refers to.
    pub(crate) marks: Vec<String>,
    /// Whether it travels with the intelligence (a definition, liaison's identity).
    pub(crate) meta: bool,
}

/// What a delivered copy is, read off it once when it is parsed: all that logging,
/// recording and storing it need. The parsed object is not kept (a view can hold millions
/// of copies, and a parsed object is several times its text).
pub(crate) struct Head {
    /// The id it is delivered under.
    pub(crate) id: String,
    pub(crate) object_type: String,
    pub(crate) version: Option<Timestamp>,
    pub(crate) spec_version: String,
}

impl Head {
    fn of(o: &StixObject) -> Head {
        Head {
            id: o.id().to_string(),
            object_type: o.object_type().to_owned(),
            version: o.version().cloned(),
            spec_version: o.spec_version().unwrap_or("2.1").to_owned(),
        }
    }
}

/// Parses the copies of a delivery (the first `meta` of them travel with the others).
pub(crate) fn parse_copies(
    copies: Vec<crate::preview::Delivered>,
    meta: usize,
) -> Result<Vec<Going>, ReleaseError> {
    let mut parsed = Vec::with_capacity(copies.len());
    for (i, copy) in copies.into_iter().enumerate() {
        if let Some(head) = copy.head {
            parsed.push(Going {
                head,
                text: copy.text,
                original: copy.original,
                marks: copy.marks,
                meta: i < meta,
            });
            continue;
        }
        let doc = parse_document(&copy.text)?;
        let heads: Vec<Head> = doc.objects.iter().map(Head::of).collect();
        drop(doc);
        let last = heads.len().saturating_sub(1);
        let mut text = Some(copy.text);
        for (k, head) in heads.into_iter().enumerate() {
            let text = match k == last {
                true => text.take().unwrap_or_default(),
                false => text.clone().unwrap_or_default(),
            };
            parsed.push(Going {
                head,
                text,
                original: copy.original.clone(),
                marks: copy.marks.clone(),
                meta: i < meta,
            });
        }
    }
    Ok(parsed)
}

/// The release key of each of `parsed`: our id and the version's sort key.
pub(crate) fn release_keys(parsed: &[Going]) -> Vec<(String, String)> {
    parsed
        .iter()
        .map(|g| {
            let v = g
                .head
                .version
                .as_ref()
                .map(Timestamp::sort_key)
                .unwrap_or_default();
            (g.original.clone(), v)
        })
        .collect()
}

/// The stored row of `g`, which entered the view at `date_added`.
pub(crate) fn view_row_owned(g: Going, date_added: &Timestamp) -> liaison_store::ViewRow {
    let mut row = view_row_of(&g.head, date_added, g.original);
    row.json = g.text.into();
    row.marks = g.marks;
    row.meta = g.meta;
    row
}

fn view_row_of(o: &Head, date_added: &Timestamp, original: String) -> liaison_store::ViewRow {
    liaison_store::ViewRow {
        original,
        delivered: o.id.clone(),
        object_type: o.object_type.clone(),
        version: o
            .version
            .as_ref()
            .map_or_else(|| date_added.to_string(), ToString::to_string),
        spec_version: o.spec_version.clone(),
        date_added: date_added.to_string(),
        added_micros: i64::try_from(date_added.unix_nanos() / 1000).unwrap_or(i64::MAX),
        json: "".into(),
        marks: Vec::new(),
        meta: false,
    }
}

/// How many objects a view computed whole takes at a time by default: about 20 MB of copies
/// in memory at 1 KB each, and one signed checkpoint per slice.
pub const VIEW_SLICE: usize = 20_000;

/// The state a stored view has while it is computed whole: never a request's basis.
pub(crate) const BUILDING: &str = "building";

/// A mark no other build of a view has: the time and this process.
fn build_nonce() -> String {
    format!("{:x}{:x}", unix_nanos(), std::process::id())
}

fn unix_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// A build that wrote no slice for this long is taken to have died (a slice of
/// [`VIEW_SLICE`] objects takes seconds).
const BUILD_STALE_SECS: u128 = 300;

/// The state of a view being built by build `nonce` for `basis`, written now: its
/// heartbeat.
fn building_mark(nonce: &str, basis: &str) -> String {
    mark_at(nonce, unix_nanos() / 1_000_000_000, basis)
}

fn mark_at(nonce: &str, beat_unix_secs: u128, basis: &str) -> String {
    format!("{BUILDING}-{nonce}-{beat_unix_secs}:{basis}")
}

/// Tests only: the stored state of a view that build `nonce` (of another process) is
/// computing, with its last heartbeat at `beat_unix_secs`.
#[doc(hidden)]
pub fn view_building_state(nonce: &str, beat_unix_secs: u64) -> liaison_store::ViewState {
    liaison_store::ViewState {
        basis: mark_at(nonce, beat_unix_secs.into(), "elsewhere"),
        through: 0,
    }
}

/// Whether `basis` is the state of a build that wrote a slice recently.
fn building_is_alive(basis: &str) -> bool {
    let head = basis.split(':').next().unwrap_or_default();
    let Some(rest) = head.strip_prefix(BUILDING) else {
        return false;
    };
    rest.rsplit('-')
        .next()
        .and_then(|s| s.parse::<u128>().ok())
        .is_some_and(|beat| unix_nanos() / 1_000_000_000 <= beat + BUILD_STALE_SECS)
}

/// How far a view computed whole has gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Built {
    /// Objects decided so far.
    pub decided: u64,
    /// Objects held when it began.
    pub total: u64,
}

/// One object in a view.
#[derive(Debug, Clone)]
pub struct ViewEntry {
    /// The object's id, as the partner receives it.
    pub id: String,
    /// Our id of the object (differs from `id` when the copy's id is remapped).
    pub original: String,
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
    /// How many of the entries are intelligence (the labels and definitions they carry
    /// aside).
    pub delivered: usize,
}

impl<S: Store> Node<S> {
    /// Delivers partner `to`'s view: decides, cuts and fingerprints every copy for it
    /// ([`Node::delivery`]), then records when each object first entered the view, logging
    /// and counting what enters now. Everything that leaves the node goes through here: TAXII
    /// pages, `release export`, the demo.
    ///
    /// This is the full recomputation: it also replaces the partner's stored view (the rows
    /// TAXII pages are read from, see `maintain.rs`), marked as maintained through the newest
    /// change it saw.
    pub fn view(&mut self, to: &Party) -> Result<View, ReleaseError> {
        self.compute_view(to, true)
    }

    /// [`Node::view`]; with `entries` false, the view is only stored (what a TAXII request
    /// and the upkeep need: pages are read from the store), and the returned `View` has no
    /// entries nor decisions.
    pub(crate) fn compute_view(&mut self, to: &Party, entries: bool) -> Result<View, ReleaseError> {
        let waited_since = std::time::Instant::now();
        // How many copies went: known when this process built the view.
        let (decisions, delivered) = loop {
            match self.build_view(to, &mut None, entries, &mut |_: Built| {}) {
                Ok((decisions, delivered)) => break (decisions, Some(delivered)),
                // Another process is computing it (or began to after this did): its view is
                // this one's, once it is done. Its decisions are a preview's (the same pass
                // without the copies); a build that stops writing is taken over when stale.
                Err(ReleaseError::ViewBusy(_)) => {
                    if self.view_is_current(to)? {
                        let decisions = match entries {
                            true => self.preview(to)?,
                            false => Vec::new(),
                        };
                        break (decisions, None);
                    }
                    if waited_since.elapsed().as_secs() > 2 * BUILD_STALE_SECS as u64 {
                        return Err(ReleaseError::ViewBusy(to.to_string()));
                    }
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                Err(e) => return Err(e),
            }
        };
        let mut view = View {
            partner: to.clone(),
            entries: Vec::new(),
            decisions,
            delivered: delivered.unwrap_or_default(),
        };
        if entries || delivered.is_none() {
            // Read back as stored: by `date_added`, then the id delivered.
            view.entries = self.view_page(to, 0, usize::MAX)?;
            // A pass delivers no definition as intelligence: every other row is a copy.
            view.delivered = view
                .entries
                .iter()
                .filter(|e| !crate::preview::is_meta(&e.object_type))
                .count();
            if !entries {
                view.entries = Vec::new();
            }
        }
        Ok(view)
    }

    /// Computes `to`'s view whole and stores it, in slices of [`Node::set_view_slice`]
    /// objects in storage order: each slice is decided, cut and marked, its deliveries
    /// recorded and logged in one durable transaction, and its rows written, before the next
    /// is read. Memory is bounded by the slice, not the holdings, and the store is free
    /// between slices (a server computes views on its upkeep node, so requests for other
    /// partners never wait for one: see `maintain.rs`).
    ///
    /// What comes out is what one pass over the holdings gives (the differential test in
    /// `tests/maintained.rs` runs slices of one object against it): one judge for the whole
    /// build, so the reciprocity gate is read once; one record of what was sent, so a tear
    /// line goes once; the definitions a slice's copies refer to recorded with that slice. Only
    /// the order of delivery leaves within the log differs: a definition is logged with the
    /// first slice that needs it.
    ///
    /// Until the last slice is written, the view's state says it is being built, so no
    /// request serves a part of it (a partner paging by `added_after` would miss what a later
    /// slice adds with an earlier `date_added`) and an interrupted build is started again.
    /// Objects stored after the build began are left to the upkeep, like any change after
    /// the `through` it records. With `keep`, every decision is returned (else none); and
    /// how many copies went.
    pub(crate) fn build_view(
        &mut self,
        to: &Party,
        held: &mut Option<Holdings>,
        keep: bool,
        progress: &mut dyn FnMut(Built),
    ) -> Result<(Vec<Entry>, usize), ReleaseError> {
        // One build of a view at a time, across processes: one that wrote a slice lately is
        // left alone (two that begin at once: the later mark wins, the other stops at its
        // next slice).
        let state = self.store.view_state(to.as_str())?;
        if state.is_some_and(|s| building_is_alive(&s.basis)) {
            return Err(ReleaseError::ViewBusy(to.to_string()));
        }
        // Read before deciding: a change that lands meanwhile is caught up again later.
        let through = self.store.change_head()?;
        let basis = self.basis(to)?;
        // No object stored after this is taken: the world, followed next, holds at least
        // every object up to it as it is now (a newer version has a greater `seq`, and its
        // change comes after `through`).
        let upto = self.store.last_seq()?;
        let total = self.store.counts()?.0;
        self.follow_holdings(held)?;
        let Some(world) = held.as_ref().map(Holdings::world) else {
            return Err(ReleaseError::Log("no world to decide in".into()));
        };
        let agreement = self.agreement(to)?;
        // This build's own mark: another build of the view begun since (another process,
        // the same basis or not) replaces it, and this one stops at its next slice.
        let nonce = build_nonce();
        let mut building = liaison_store::ViewState {
            basis: building_mark(&nonce, &basis),
            through,
        };
        self.store
            .write_view(to.as_str(), &building, true, &[], &[], None)?;
        let mut pass = Pass::new(self, to, world, &agreement, self.mark_copies)?;
        let (mut after, mut decided, mut delivered) = (0, 0u64, 0);
        let mut decisions = Vec::new();
        loop {
            let slice = self.store.latest_between(after, upto, self.view_slice)?;
            let Some(last) = slice.last() else { break };
            after = last.seq;
            for s in &slice {
                pass.take(self, s);
            }
            decided += slice.len() as u64;
            let ids: Vec<String> = slice.iter().map(|s| s.object.id().to_string()).collect();
            drop(slice);
            let run = pass.drain()?;
            delivered += run.copies.len();
            if keep {
                decisions.extend(run.entries.iter().cloned());
            }
            // Each slice written under a fresh heartbeat, over the one before it.
            let before = std::mem::replace(&mut building.basis, building_mark(&nonce, &basis));
            let write = Write {
                state: &building,
                rows: Rows::Add,
                over: Some(&before),
            };
            if !self.store_run(to, run, &ids, write, world)? {
                return Err(ReleaseError::ViewBusy(to.to_string()));
            }
            progress(Built { decided, total });
        }
        drop(pass);
        let done = liaison_store::ViewState { basis, through };
        let mark = Some(building.basis.as_str());
        if !self
            .store
            .write_view(to.as_str(), &done, false, &[], &[], mark)?
        {
            return Err(ReleaseError::ViewBusy(to.to_string()));
        }
        Ok((decisions, delivered))
    }

    /// When each of `parsed` (with its release key in `keys`) entered `to`'s view. What
    /// enters it now is recorded and logged (a delivery leaf each, with its decision and
    /// ledger value) in one durable transaction, then a checkpoint is signed: a crash leaves
    /// either both or neither, never a delivery without its leaf.
    pub(crate) fn record_deliveries(
        &mut self,
        to: &Party,
        parsed: &[Going],
        keys: &[(String, String)],
        decisions: &[Entry],
        markings: &Markings,
    ) -> Result<Vec<Timestamp>, ReleaseError> {
        let mut attempts = 0;
        loop {
            let mut known = Released::default();
            for (k, first) in keys.iter().zip(self.store.released_at(to.as_str(), keys)?) {
                if let Some(first) = first {
                    known.insert(k.clone(), releases::parse_time(&first)?);
                }
            }
            let new_keys = releases::new_keys(keys, &known);
            if new_keys.is_empty() {
                return Ok(only_times(releases::aligned(
                    keys,
                    &known,
                    new_keys,
                    Vec::new(),
                )?));
            }
            // Where each new key first stands in `parsed`.
            let mut first_at: HashMap<&(String, String), usize> = HashMap::new();
            for (i, k) in keys.iter().enumerate() {
                first_at.entry(k).or_insert(i);
            }
            let new_at: Vec<usize> = new_keys
                .iter()
                .filter_map(|k| first_at.get(k).copied())
                .collect();
            let ids: Vec<&str> = new_keys.iter().map(|(id, _)| id.as_str()).collect();
            let values = self.delivery_values(to, &ids, markings)?;
            // The decision behind each delivered id: the object's own, or its original's for
            // a tear line (one pass: a view can hold millions of objects).
            let mut decided: HashMap<&str, &Entry> = HashMap::with_capacity(decisions.len());
            for d in decisions {
                if let Some(t) = d.tearline.as_deref() {
                    decided.entry(t).or_insert(d);
                }
                decided.entry(d.object.as_str()).or_insert(d);
            }
            let mut leaves = Vec::with_capacity(new_at.len() + 1);
            // The commitment its copies are marked under, before the first of them.
            let commit = self
                .store
                .partner_key(to.as_str(), COMMITMENT_LOGGED)?
                .is_none();
            if commit {
                leaves.push(self.fingerprint_leaf(to));
            }
            for (&i, v) in new_at.iter().zip(values) {
                let g = parsed.get(i).ok_or_else(|| {
                    ReleaseError::Log(format!("no object at position {i} of the view"))
                })?;
                let d = decided.get(g.original.as_str()).copied();
                leaves.push(delivery_leaf(to, &g.head, &g.text, d, v));
            }
            let written = self.append_with(&leaves, |store, entries, openings, hashes| {
                store.log_append_releases(to.as_str(), &new_keys, entries, openings, hashes)
            });
            match written {
                Ok((_, times)) => {
                    if commit {
                        // Logged with the deliveries; remembered after (a crash between logs
                        // the commitment once more, which is harmless).
                        let commitment = self.fingerprint_commitment();
                        self.store
                            .set_partner_key(to.as_str(), COMMITMENT_LOGGED, &commitment)?;
                    }
                    return Ok(only_times(releases::aligned(
                        keys, &known, new_keys, times,
                    )?));
                }
                // Another process released some of these meanwhile: read again.
                Err(ReleaseError::Store(StoreError::ReleasesMoved { .. })) if attempts < 8 => {
                    attempts += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// The times of [`releases::aligned`], without whether each is new.
fn only_times(aligned: Vec<(Timestamp, bool)>) -> Vec<Timestamp> {
    aligned.into_iter().map(|(t, _)| t).collect()
}
