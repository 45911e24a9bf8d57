//! Release queues kept, not recomputed: for a long-running reader (the console), the
//! policy's world and each partner's preview (the decision on every object, exactly
//! [`Node::preview`]) held in memory and brought up to date from the change feed that ingest
//! and deletions write (see `maintain.rs`).
//!
//! - [`Holdings`]: the world, upserted object by object ([`World::upsert`]) from the feed;
//!   built whole again when it cannot be followed exactly that way: a marking-definition
//!   changed, an object is no longer held at all (the world has no removal), the consents
//!   or the officers' holds changed, or too many changes are pending.
//! - [`Queue`]: one partner's decisions in storage order (as a full pass meets them). When its
//!   basis (agreement, consents for it, partner count, reciprocity gate) is unchanged, only
//!   what the maintained views' [`Node::affected`] says a change can affect is decided again,
//!   with the same [`Pass`] a full preview runs; else it is decided whole.
//!
//! Why kept in memory and followed, rather than stored decisions for withheld objects beside
//! the view rows: a queue is every decision with every reason and cut, for every object
//! (most of them withheld for most partners), which only the console reads; storing it would
//! write rows per partner and object on every change and a second copy of what the stored
//! views already decide. Following the feed reuses the views' dependency walk and the full
//! pass's code unchanged, so a queue cannot drift from `release preview`; what it costs is
//! memory in the serving process and one whole pass after a start.
//!
//! The differential test in `crates/console/src/differential.rs` checks that a queue
//! followed through random changes equals a fresh `Node::preview`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use liaison_labels::Party;
use liaison_policy::{Item, World};
use liaison_store::prelude::*;
use liaison_store::Stored;

use crate::error::ReleaseError;
use crate::maintain::{MARKING, MAX_CHANGES};
use crate::node::{owner_of, Node};
use crate::preview::{Entry, Pass};

/// The policy's world of a node, followed through the change feed.
pub struct Holdings {
    world: World,
    /// The newest change the world holds.
    through: i64,
    /// The consents and officers' holds it was built with (a change rebuilds it: both are
    /// inputs of the world, not objects in the change feed).
    inputs: Vec<String>,
}

impl std::fmt::Debug for Holdings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Holdings")
            .field("objects", &self.world.len())
            .field("through", &self.through)
            .finish_non_exhaustive()
    }
}

impl Holdings {
    /// The world as of [`Holdings::through`].
    pub fn world(&self) -> &World {
        &self.world
    }

    /// The newest change the world holds.
    pub fn through(&self) -> i64 {
        self.through
    }
}

/// What bringing holdings or a queue up to date did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Followed {
    /// Nothing had changed.
    Current,
    /// Changes were applied one by one: `changes` read from the feed, `decided` objects
    /// decided again (for a queue; the objects upserted for holdings).
    Incremental {
        /// Changes read from the feed.
        changes: usize,
        /// Objects upserted or decided again.
        decided: usize,
    },
    /// Built or decided whole.
    Whole,
}

/// One partner's release queue: the decision on every object, in storage order.
#[derive(Debug, Clone)]
pub struct Queue {
    to: Party,
    basis: String,
    through: i64,
    /// By the storage order (`seq`) of the version decided.
    entries: BTreeMap<i64, Entry>,
    /// Object id -> the `seq` its entry is kept under.
    seq_of: HashMap<String, i64>,
    /// The keys of `entries` in order, so that a page is found by position without walking
    /// the entries before it (made again after each change).
    order: Vec<i64>,
    /// Release, tear line, withhold.
    counts: [usize; 3],
}

impl Queue {
    /// The decisions, in the order [`Node::preview`] gives them.
    pub fn entries(
        &self,
    ) -> impl DoubleEndedIterator<Item = &Entry> + ExactSizeIterator + Clone + '_ {
        self.entries.values()
    }

    /// The decisions at positions `range` (clamped).
    pub fn page(&self, range: std::ops::Range<usize>) -> Vec<&Entry> {
        let end = range.end.min(self.order.len());
        self.order
            .get(range.start.min(end)..end)
            .unwrap_or_default()
            .iter()
            .filter_map(|seq| self.entries.get(seq))
            .collect()
    }

    fn reorder(&mut self) {
        self.order.clear();
        self.order.extend(self.entries.keys().copied());
    }

    /// How many decisions.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How many objects are released, go at their tear line, are withheld.
    pub fn counts(&self) -> [usize; 3] {
        self.counts
    }

    /// The partner.
    pub fn partner(&self) -> &Party {
        &self.to
    }

    fn count(&mut self, e: &Entry, add: bool) {
        let k = match e.decision.as_str() {
            "release" => 0,
            "tearline" => 1,
            _ => 2,
        };
        if add {
            self.counts[k] += 1;
        } else {
            self.counts[k] = self.counts[k].saturating_sub(1);
        }
    }

    fn insert(&mut self, seq: i64, entry: Entry) {
        self.count(&entry, true);
        self.seq_of.insert(entry.object.clone(), seq);
        if let Some(old) = self.entries.insert(seq, entry) {
            self.count(&old, false);
        }
    }

    fn remove(&mut self, id: &str) {
        if let Some(seq) = self.seq_of.remove(id) {
            if let Some(old) = self.entries.remove(&seq) {
                self.count(&old, false);
            }
        }
    }
}

impl<S: Store> Node<S> {
    /// Brings `held` up to the newest change (building it the first time, or whole when the
    /// feed cannot be followed exactly: see the module's notes).
    pub fn follow_holdings(
        &mut self,
        held: &mut Option<Holdings>,
    ) -> Result<Followed, ReleaseError> {
        let head = self.store.change_head()?;
        let inputs = self.input_key()?;
        if let Some(h) = held.as_mut() {
            if h.inputs == inputs {
                if h.through >= head {
                    return Ok(Followed::Current);
                }
                if let Some(n) = self.upsert_changes(h, head)? {
                    return Ok(Followed::Incremental {
                        changes: n.0,
                        decided: n.1,
                    });
                }
            }
        }
        // Built after `head` was read: it holds at least what the changes through it describe
        // (applying a change twice is harmless).
        let world = self.world()?;
        *held = Some(Holdings {
            world,
            through: head,
            inputs,
        });
        Ok(Followed::Whole)
    }

    /// Every consent and every hold, in a fixed order: what the world was built with beside
    /// the objects.
    fn input_key(&self) -> Result<Vec<String>, ReleaseError> {
        let consents = self
            .store
            .consents(None)?
            .into_iter()
            .map(|c| format!("consent\0{}\0{}\0{}", c.object, c.to, c.by));
        let holds = self.store.holds(None)?.into_iter().map(|h| {
            format!(
                "hold\0{}\0{}\0{}\0{}\0{}",
                h.object, h.partner, h.by, h.created, h.reason
            )
        });
        let mut all: Vec<String> = consents.chain(holds).collect();
        all.sort_unstable();
        Ok(all)
    }

    /// Upserts the latest version of every object changed after `h.through` (through
    /// `head`). `None` when that cannot give the world a full build gives (the world is
    /// then left half-updated: the caller builds it whole).
    fn upsert_changes(
        &self,
        h: &mut Holdings,
        head: i64,
    ) -> Result<Option<(usize, usize)>, ReleaseError> {
        if self.store.changed_since(h.through, MARKING)? {
            return Ok(None);
        }
        let changes: Vec<(i64, String)> = self
            .store
            .changes_since(h.through, MAX_CHANGES + 1)?
            .into_iter()
            .filter(|(seq, _)| *seq <= head)
            .collect();
        if changes.len() > MAX_CHANGES {
            return Ok(None);
        }
        let ids: BTreeSet<&str> = changes.iter().map(|(_, id)| id.as_str()).collect();
        let mut latest = Vec::with_capacity(ids.len());
        for id in &ids {
            match self.store.latest(id)? {
                Some(s) => latest.push(s),
                // No longer held at all: the world cannot forget an object.
                None => return Ok(None),
            }
        }
        // In storage order, as a build meets them.
        latest.sort_by_key(|s| s.seq);
        for s in &latest {
            let Some(owner) = owner_of(&s.source) else {
                // A build leaves it out; the world cannot.
                return Ok(None);
            };
            let mut item = Item::of(&s.object);
            item.assigned_label = s.assigned_label.as_ref().map(ToString::to_string);
            item.owner = owner;
            h.world.upsert(&item);
        }
        h.through = head;
        Ok(Some((changes.len(), latest.len())))
    }

    /// What the queue's decisions rest on beside the objects: the maintained views' basis
    /// and, while the reciprocity gate is closed (when what was delivered before may still
    /// go), how many deliveries were recorded.
    fn queue_basis(&self, to: &Party) -> Result<String, ReleaseError> {
        let basis = self.basis(to)?;
        if basis.ends_with(":1") {
            let delivered = self.store.releases(to.as_str())?.len();
            return Ok(format!("{basis}:{delivered}"));
        }
        Ok(basis)
    }

    /// Whether `queue` is partner `to`'s decisions as of `held`: nothing to follow.
    pub fn queue_is_current(
        &self,
        to: &Party,
        held: &Holdings,
        queue: &Queue,
    ) -> Result<bool, ReleaseError> {
        Ok(&queue.to == to
            && queue.through >= held.through
            && queue.basis == self.queue_basis(to)?)
    }

    /// Brings `queue` (partner `to`'s decisions) up to `held` (already brought up to date
    /// with [`Node::follow_holdings`]): decided whole the first time or when the basis
    /// changed, else only what the changes since can affect.
    pub fn follow_queue(
        &mut self,
        to: &Party,
        held: &Holdings,
        queue: &mut Option<Queue>,
    ) -> Result<Followed, ReleaseError> {
        let basis = self.queue_basis(to)?;
        let Some(q) = queue.as_mut().filter(|q| &q.to == to && q.basis == basis) else {
            *queue = Some(self.whole_queue(to, held, basis)?);
            return Ok(Followed::Whole);
        };
        if q.through >= held.through {
            return Ok(Followed::Current);
        }
        let changes: Vec<(i64, String)> = self
            .store
            .changes_since(q.through, MAX_CHANGES + 1)?
            .into_iter()
            .filter(|(seq, _)| *seq <= held.through)
            .collect();
        if changes.len() > MAX_CHANGES {
            *queue = Some(self.whole_queue(to, held, basis)?);
            return Ok(Followed::Whole);
        }
        self.refresh_refs(held.through)?;
        let changed: BTreeSet<String> = changes.iter().map(|(_, id)| id.clone()).collect();
        let affected = self.affected(&held.world, &changed)?;
        let mut stored = Vec::with_capacity(affected.len());
        for id in &affected {
            q.remove(id);
            if let Some(s) = self.store.latest(id)? {
                stored.push(s);
            }
        }
        // Storage order, as a full pass meets them.
        stored.sort_by_key(|s| s.seq);
        let decided = stored.len();
        for (seq, entry) in self.decide(to, held, &stored)? {
            q.insert(seq, entry);
        }
        q.through = held.through;
        q.reorder();
        Ok(Followed::Incremental {
            changes: changes.len(),
            decided,
        })
    }

    /// Every decision for `to`, from a pass over the holdings.
    fn whole_queue(
        &self,
        to: &Party,
        held: &Holdings,
        basis: String,
    ) -> Result<Queue, ReleaseError> {
        let agreement = self.agreement(to)?;
        let mut pass = Pass::new(self, to, &held.world, &agreement, false)?;
        let mut seqs = Vec::new();
        self.store.scan_latest(&mut |s| {
            let before = pass.entries.len();
            pass.take(self, &s);
            if pass.entries.len() > before {
                seqs.push(s.seq);
            }
            Ok(())
        })?;
        let entries = pass.finish()?.entries;
        let mut q = Queue {
            to: to.clone(),
            basis,
            through: held.through,
            entries: BTreeMap::new(),
            seq_of: HashMap::with_capacity(entries.len()),
            order: Vec::new(),
            counts: [0; 3],
        };
        for (seq, e) in seqs.into_iter().zip(entries) {
            q.insert(seq, e);
        }
        q.reorder();
        Ok(q)
    }

    /// The decisions on `stored` (in storage order) for `to`, each with its `seq`.
    fn decide(
        &self,
        to: &Party,
        held: &Holdings,
        stored: &[Stored],
    ) -> Result<Vec<(i64, Entry)>, ReleaseError> {
        let agreement = self.agreement(to)?;
        let mut pass = Pass::new(self, to, &held.world, &agreement, false)?;
        let mut seqs = Vec::new();
        for s in stored {
            let before = pass.entries.len();
            pass.take(self, s);
            if pass.entries.len() > before {
                seqs.push(s.seq);
            }
        }
        let entries = pass.finish()?.entries;
        Ok(seqs.into_iter().zip(entries).collect())
    }
}
