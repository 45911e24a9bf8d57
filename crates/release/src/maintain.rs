//! Views maintained, not recomputed (DESIGN.md "Scale"). Each partner's view is kept in the
//! store as rows (the delivered copy, its ids, type, version, `date_added` and the markings
//! it carries) and TAXII pages are read from those rows by (partner, `date_added`). Rows are
//! brought up to date two ways:
//!
//! - **the basis changed** (the partner's agreement, the consents given for it, the officers'
//!   holds on what goes to it, the number of partners, which sets the fingerprint code's length, a marking-definition, or whether the
//!   reciprocity gate is closed): every decision may change, so the view is recomputed whole,
//!   once ([`Node::view`], the path that existed before), and its rows replaced;
//! - **objects changed** (ingest and deletions write a change feed in their own transaction):
//!   only what a change can affect is decided again, with the same code as a full pass
//!   ([`crate::preview::Pass`]): the object; what derives from it, transitively (effective
//!   labels); its tear lines and what it is the tear line of; what refers to it (a cut
//!   removes references to what is withheld, a relationship needs both ends, and marks remap
//!   the ids of what is fingerprinted), transitively through relationships and sightings
//!   (whose own release depends on their ends).
//!
//! New copies go through the same recording step as a full recomputation (one durable
//! transaction with their delivery leaves, then the rows), so decisions, cuts, leaves,
//! fingerprints and ledger values are those a full recomputation gives; the differential
//! test in `tests/maintained.rs` checks it after every step of random histories.
//!
//! Where upkeep runs, and why: a request never serves rows decided under another basis
//! ([`Node::ensure_view`] checks the basis's cheap part, and pending marking-definition
//! changes, and recomputes first: fail closed). Object changes are caught up by
//! [`Node::maintain_views`], which the server runs in the background after its store
//! changes and which `release export` (through [`Node::view`]) does whole; between a change
//! and its catch-up, a page serves what the view held before it (less, never something the
//! new state withholds: a change that withholds an object is caught up like any other, and
//! the window is one upkeep round). Start-up recomputes nothing: the rows and what they are
//! maintained through are in the store. The reciprocity gate's state is only known by
//! reading the ledger (proportional to the holdings), so the request path does not check
//! it; it changes only through deliveries and the partner's own objects, and a gate that
//! closes withholds nothing that was delivered before.

use std::collections::{BTreeSet, HashMap, HashSet};

use liaison_labels::{extension_definition, liaison_identity, Party};
use liaison_policy::World;
use liaison_stix::Timestamp;
use liaison_store::prelude::*;
use liaison_store::{ViewRow, ViewState};
use serde_json::Value;

use crate::error::ReleaseError;
use crate::fingerprint::stix_ids;
use crate::log::sha256_hex;
use crate::node::Node;
use crate::preview::{Pass, Run};
use crate::queue::Holdings;
use crate::view::{parse_copies, release_keys, view_row_owned, Built, ViewEntry};

/// Past this many pending changes, a view is recomputed whole rather than caught up.
pub(crate) const MAX_CHANGES: usize = 200_000;

/// Marking-definitions: a change to one changes the basis.
pub(crate) const MARKING: &str = "marking-definition--";

/// What [`Node::store_run`] does with the stored rows of the objects it was given that the
/// run no longer yields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rows {
    /// Removes them: the objects were decided again (upkeep).
    Replace,
    /// Leaves them: a slice of a view computed whole, whose rows start empty.
    Add,
}

/// How [`Node::store_run`] writes a run's rows.
pub(crate) struct Write<'a> {
    /// The view's state afterwards.
    pub(crate) state: &'a ViewState,
    /// What becomes of the rows of the objects given that the run no longer yields: with
    /// [`Rows::Replace`] they are removed (upkeep), with [`Rows::Add`] not (a slice of a view
    /// computed whole: such a row may be a tear line an earlier slice delivered).
    pub(crate) rows: Rows,
    /// The basis the stored state must have for the rows to be written, when given.
    pub(crate) over: Option<&'a str>,
}

/// What bringing a partner's stored view up to date did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upkeep {
    /// Nothing had changed.
    Current,
    /// Object changes were caught up.
    CaughtUp {
        /// Changes read from the feed.
        changes: usize,
        /// Objects decided again.
        decided: usize,
    },
    /// The basis had changed (or no view was stored): recomputed whole.
    Recomputed,
    /// It must be recomputed whole, and another process is doing it (or began doing it
    /// again meanwhile): left to that one.
    Busy,
}

impl<S: Store> Node<S> {
    /// The part of a partner's basis that is cheap to read (its agreement, the consents
    /// given for it, the holds on what goes to it, the number of partners): what a request
    /// checks.
    pub(crate) fn request_basis(&self, to: &Party) -> Result<String, ReleaseError> {
        // One read of the store (one round trip on PostgreSQL): a page checks this each time.
        let inputs = self.store.basis_inputs(to.as_str())?;
        let mut text = inputs
            .agreement
            .ok_or_else(|| ReleaseError::UnknownPartner(to.to_string()))?;
        text.push('\0');
        text.push_str(&inputs.partners.to_string());
        let mut consents: Vec<String> = inputs
            .consents
            .into_iter()
            .map(|(object, by)| format!("{object}\0{by}"))
            .collect();
        consents.sort_unstable();
        consents.dedup();
        for c in consents {
            text.push('\0');
            text.push_str(&c);
        }
        // The officers' holds for it: a hold or a lift recomputes this view, before its next
        // page (see `hold.rs` for why the basis and not the change feed). Only the objects
        // held count: the officer and the reason are in no row.
        let mut held = inputs.held;
        held.sort_unstable();
        // Nothing held: the basis is the one written before holds existed, so that a node
        // upgraded to this build recomputes no view.
        if !held.is_empty() {
            text.push_str("\0holds");
        }
        for h in held {
            text.push('\0');
            text.push_str(&h);
        }
        Ok(sha256_hex(text.as_bytes()))
    }

    /// Everything that affects every decision for `to`: the request basis and whether the
    /// reciprocity gate is closed (marking-definitions are watched in the change feed).
    pub(crate) fn basis(&self, to: &Party) -> Result<String, ReleaseError> {
        let agreement = self.agreement(to)?;
        let paused = agreement.reciprocity.balance_limit.is_some() && self.ledger(to)?.paused;
        Ok(format!("{}:{}", self.request_basis(to)?, u8::from(paused)))
    }

    /// What a request does before it reads `to`'s rows: recomputes the view whole when none
    /// is stored or its basis changed (fail closed), and with `catch_up` also catches up
    /// object changes (when nothing runs [`Node::maintain_views`] in the background).
    pub fn ensure_view(&mut self, to: &Party, catch_up: bool) -> Result<Upkeep, ReleaseError> {
        if !self.view_is_current(to)? {
            self.compute_view(to, false)?;
            return Ok(Upkeep::Recomputed);
        }
        if catch_up {
            return self.maintain_view(to);
        }
        Ok(Upkeep::Current)
    }

    /// Brings `to`'s stored view up to date: recomputed whole when the basis changed, else
    /// only what the changes since it was last maintained can affect is decided again.
    pub fn maintain_view(&mut self, to: &Party) -> Result<Upkeep, ReleaseError> {
        let head = self.store.change_head()?;
        self.maintain_in(to, head, &mut None, &mut |_, _| {})
    }

    /// [`Node::maintain_view`] for every partner whose view is stored, reading the
    /// holdings' labels once. A view never asked for is left to its first request (which
    /// computes it whole, as before), so that the two never compute the same view at once.
    pub fn maintain_views(&mut self) -> Result<Vec<(Party, Upkeep)>, ReleaseError> {
        self.maintain_views_with(&mut None)
    }

    /// [`Node::maintain_views`] with the policy's world kept in `held` between calls and
    /// followed through the change feed ([`Node::follow_holdings`]: upserted object by
    /// object, built whole only when it cannot be followed exactly), instead of built from
    /// every object's labels on each round.
    pub fn maintain_views_with(
        &mut self,
        held: &mut Option<Holdings>,
    ) -> Result<Vec<(Party, Upkeep)>, ReleaseError> {
        self.maintain_views_for(held, &[], &mut |_, _| {})
    }

    /// [`Node::maintain_views_with`], also for the partners in `wanted` whose view is not
    /// stored yet (their first request is waiting for it), reporting how far a view computed
    /// whole has gone to `progress`: what the server's upkeep thread does, so that no request
    /// computes a view while holding the node.
    pub fn maintain_views_for(
        &mut self,
        held: &mut Option<Holdings>,
        wanted: &[Party],
        progress: &mut dyn FnMut(&Party, Built),
    ) -> Result<Vec<(Party, Upkeep)>, ReleaseError> {
        let head = self.store.change_head()?;
        let mut out = Vec::new();
        for p in self.store.partners()? {
            let party = Party::parse(&p.party).map_err(|e| ReleaseError::Party(e.to_string()))?;
            if !wanted.contains(&party) && self.store.view_state(&p.party)?.is_none() {
                continue;
            }
            let done = self.maintain_in(&party, head, held, progress)?;
            out.push((party, done));
        }
        Ok(out)
    }

    /// Whether a request may serve `to`'s stored rows as they are: a view is stored and
    /// was not decided under another basis (its cheap part; pending marking-definition
    /// changes count as another basis). Fail closed: anything else is not current.
    pub fn view_is_current(&self, to: &Party) -> Result<bool, ReleaseError> {
        let Some(state) = self.store.view_state(to.as_str())? else {
            return Ok(false);
        };
        Ok(
            state.basis.split(':').next() == Some(self.request_basis(to)?.as_str())
                && !self.store.changed_since(state.through, MARKING)?,
        )
    }

    /// One partner's upkeep through change `head`, with the world followed at most once per
    /// call (after `head` was read, so it holds at least what the changes describe).
    fn maintain_in(
        &mut self,
        to: &Party,
        head: i64,
        held: &mut Option<Holdings>,
        progress: &mut dyn FnMut(&Party, Built),
    ) -> Result<Upkeep, ReleaseError> {
        let mut whole = |node: &mut Self, held: &mut Option<Holdings>| match node.build_view(
            to,
            held,
            false,
            &mut |b| progress(to, b),
        ) {
            Ok(_) => Ok(Upkeep::Recomputed),
            Err(ReleaseError::ViewBusy(_)) => Ok(Upkeep::Busy),
            Err(e) => Err(e),
        };
        let stored = self.store.view_state(to.as_str())?;
        // Nothing changed and the cheap part of the basis holds: current, without reading
        // the ledger (the gate can only have moved with deliveries, and a gate that closed
        // withholds nothing delivered before).
        if let Some(s) = &stored {
            if s.through >= head
                && s.basis.split(':').next() == Some(self.request_basis(to)?.as_str())
            {
                return Ok(Upkeep::Current);
            }
        }
        let basis = self.basis(to)?;
        let Some(state) = stored.filter(|s| s.basis == basis) else {
            return whole(self, held);
        };
        if state.through >= head {
            return Ok(Upkeep::Current);
        }
        if self.store.changed_since(state.through, MARKING)? {
            return whole(self, held);
        }
        let changes: Vec<(i64, String)> = self
            .store
            .changes_since(state.through, MAX_CHANGES + 1)?
            .into_iter()
            .filter(|(seq, _)| *seq <= head)
            .collect();
        if changes.len() > MAX_CHANGES {
            return whole(self, held);
        }
        let through = changes.last().map_or(state.through, |(seq, _)| *seq);
        self.refresh_refs(head)?;
        // Brought up to `head` (and built again if the consents or holds it was built with
        // changed): current after the round's first partner, so the rest read it as it is.
        self.follow_holdings(held)?;
        let Some(world) = held.as_ref().map(Holdings::world) else {
            return Err(ReleaseError::Log("no world to decide in".into()));
        };
        let changed: BTreeSet<String> = changes.iter().map(|(_, id)| id.clone()).collect();
        let affected = self.affected(world, &changed)?;
        let decided = self.redecide(to, world, &affected, ViewState { basis, through })?;
        Ok(Upkeep::CaughtUp {
            changes: changes.len(),
            decided,
        })
    }

    /// Every object whose decision or copy for any partner a change to `changed` can alter.
    pub(crate) fn affected(
        &self,
        world: &World,
        changed: &BTreeSet<String>,
    ) -> Result<BTreeSet<String>, ReleaseError> {
        // Objects whose own release may change (their effective label, or the ends they
        // need): what refers to them and what derives from them follow.
        let mut spread: Vec<String> = changed.iter().cloned().collect();
        // What earlier versions (still held) derived or tore from: a new version may have
        // dropped the link.
        for id in changed {
            for v in self.store.versions(id)? {
                if let Some((derived, _)) = v.object.derivation() {
                    spread.push(derived.to_owned());
                }
                if let Some(t) = v.object.tearline_of() {
                    spread.push(t.to_string());
                }
            }
        }
        let mut seen: HashSet<String> = HashSet::new();
        let mut out: BTreeSet<String> = BTreeSet::new();
        loop {
            let level: Vec<String> = spread
                .drain(..)
                .filter(|x| seen.insert(x.clone()))
                .collect();
            if level.is_empty() {
                break;
            }
            for x in &level {
                out.insert(x.clone());
                let Some(ix) = world.lookup(x) else {
                    continue;
                };
                let id = |i: &u32| world.id(*i).to_owned();
                spread.extend(world.derived_from_it(ix).iter().map(id));
                spread.extend(world.tearlines(ix).iter().map(id));
                spread.extend(world.tearline_claimants(ix).iter().map(id));
                if let Some((derived, _)) = world.stated_derivation(ix) {
                    spread.push(world.id(derived).to_owned());
                }
                // Its original's decision names it (tear line) or not.
                if let Some(original) = world.claimed_original(ix) {
                    out.insert(world.id(original).to_owned());
                }
            }
            for r in self.store.referrers(&level)? {
                if r.starts_with("relationship--") || r.starts_with("sighting--") {
                    spread.push(r);
                } else {
                    out.insert(r);
                }
            }
        }
        Ok(out)
    }

    /// Decides `affected` again for `to` and writes what changed in its stored view, with
    /// `state`. Returns how many objects were decided.
    fn redecide(
        &mut self,
        to: &Party,
        world: &World,
        affected: &BTreeSet<String>,
        state: ViewState,
    ) -> Result<usize, ReleaseError> {
        let agreement = self.agreement(to)?;
        let mut stored = Vec::with_capacity(affected.len());
        for id in affected {
            if let Some(s) = self.store.latest(id)? {
                stored.push(s);
            }
        }
        // Storage order, as a full pass meets them.
        stored.sort_by_key(|s| s.seq);
        let run = {
            let mut pass = Pass::new(self, to, world, &agreement, self.mark_copies)?;
            for s in &stored {
                pass.take(self, s);
            }
            pass.finish()?
        };
        let decided = stored.len();
        drop(stored);
        let affected_ids: Vec<String> = affected.iter().cloned().collect();
        // Written only over the basis it was decided under: a view another process began
        // computing whole since is left to it.
        let expect = state.basis.clone();
        let write = Write {
            state: &state,
            rows: Rows::Replace,
            over: Some(&expect),
        };
        self.store_run(to, run, &affected_ids, write, world)?;
        Ok(decided)
    }

    /// Records what a pass over the objects `ids` yielded for `to` (their delivery leaves,
    /// with the definitions that travel with them, in one durable transaction) and writes its
    /// rows into `to`'s stored view as `write` says; returns whether they were written. The
    /// deliveries are recorded either way: a process that wrote the rows instead decided the
    /// same, and finds them recorded. `world` is the one the run was decided in.
    pub(crate) fn store_run(
        &mut self,
        to: &Party,
        run: Run,
        ids: &[String],
        write: Write<'_>,
        world: &World,
    ) -> Result<bool, ReleaseError> {
        let Write {
            state,
            rows: rows_of_ids,
            over: expect,
        } = write;
        let Run {
            entries,
            copies,
            labels,
        } = run;
        // The markings the view carries afterwards: those of the rows left alone, and those
        // of the new copies.
        let before_marks = self.store.view_marks(to.as_str(), &[])?;
        let mut marks: BTreeSet<String> = match rows_of_ids {
            Rows::Replace => self
                .store
                .view_marks(to.as_str(), ids)?
                .into_iter()
                .collect(),
            Rows::Add => before_marks.iter().cloned().collect(),
        };
        marks.extend(copies.iter().flat_map(|c| c.marks.iter().cloned()));
        let meta_ids: Vec<String> = before_marks
            .iter()
            .cloned()
            .chain(meta_object_ids())
            .collect();
        let earlier: HashMap<String, String> = self
            .store
            .view_rows(to.as_str(), &meta_ids)?
            .into_iter()
            .filter(|r| r.meta)
            .map(|r| (r.original, r.json.to_string()))
            .collect();
        let meta = self.meta_copies(&marks, &labels, &earlier)?;
        let n_meta = meta.len();
        let mut all = meta;
        all.extend(copies);
        let going = parse_copies(all, n_meta)?;
        let keys = release_keys(&going);
        let times = self.record_deliveries(to, &going, &keys, &entries, world.markings())?;
        drop(entries);
        let remapped: Vec<(String, String)> = going
            .iter()
            .filter(|g| g.head.id != g.original)
            .map(|g| (g.head.id.clone(), g.original.clone()))
            .collect();
        if !remapped.is_empty() {
            self.store.add_delivered_ids(to.as_str(), &remapped)?;
        }
        let mut rows: Vec<ViewRow> = Vec::new();
        let mut kept: HashSet<String> = HashSet::new();
        for (g, t) in going.into_iter().zip(&times) {
            kept.insert(g.original.clone());
            // A definition already delivered as it is stays as it is.
            if g.meta && earlier.get(&g.original) == Some(&g.text) {
                continue;
            }
            rows.push(view_row_owned(g, t));
        }
        let pruned: &[String] = match rows_of_ids {
            Rows::Replace => ids,
            Rows::Add => &[],
        };
        let remove: Vec<String> = pruned
            .iter()
            .chain(earlier.keys())
            .filter(|id| !kept.contains(id.as_str()))
            .cloned()
            .collect();
        Ok(self
            .store
            .write_view(to.as_str(), state, false, &remove, &rows, expect)?)
    }

    /// The ids the changes after `after` and up to `head` are about, each once, sorted: what
    /// an index derived from the holdings (references, content keys) reads again.
    pub(crate) fn changed_ids(&self, after: i64, head: i64) -> Result<Vec<String>, ReleaseError> {
        let mut ids: Vec<String> = self
            .store
            .changes_since(after, usize::MAX)?
            .into_iter()
            .filter(|(seq, _)| *seq <= head)
            .map(|(_, id)| id)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        Ok(ids)
    }

    /// Brings the reference index (who refers to what) up to change `head`: built once from
    /// every object, then from the change feed.
    pub(crate) fn refresh_refs(&mut self, head: i64) -> Result<(), ReleaseError> {
        match self.store.refs_through()? {
            None => {
                let mut pairs = Vec::new();
                self.store.scan_latest(&mut |s| {
                    push_refs(&mut pairs, s.object.id().as_str(), s.object.raw());
                    Ok(())
                })?;
                self.store.write_refs(head, true, &[], &pairs)?;
            }
            Some(t) if t >= head => {}
            Some(t) => {
                let ids = self.changed_ids(t, head)?;
                let mut pairs = Vec::new();
                for id in &ids {
                    if let Some(s) = self.store.latest(id)? {
                        push_refs(&mut pairs, id, s.object.raw());
                    }
                }
                self.store.write_refs(head, false, &ids, &pairs)?;
            }
        }
        Ok(())
    }

    /// Up to `limit` entries of `to`'s stored view added after `after_micros`, in
    /// `date_added` order: one read of the store's index, whatever the holdings.
    pub fn view_page(
        &self,
        to: &Party,
        after_micros: i64,
        limit: usize,
    ) -> Result<Vec<ViewEntry>, ReleaseError> {
        self.store
            .view_page(to.as_str(), after_micros, limit)?
            .into_iter()
            .map(entry_of)
            .collect()
    }

    /// The entry of `to`'s stored view that it received under `delivered`, if any.
    pub fn view_entry(
        &self,
        to: &Party,
        delivered: &str,
    ) -> Result<Option<ViewEntry>, ReleaseError> {
        self.store
            .view_row_delivered(to.as_str(), delivered)?
            .map(entry_of)
            .transpose()
    }

    /// The newest change recorded by the store (views are maintained through it).
    pub fn change_head(&self) -> Result<i64, ReleaseError> {
        Ok(self.store.change_head()?)
    }
}

/// Liaison's identity and extension-definition: what travels with liaison labels.
fn meta_object_ids() -> Vec<String> {
    [liaison_identity(), extension_definition()]
        .iter()
        .filter_map(|o| o.get("id").and_then(Value::as_str).map(str::to_owned))
        .collect()
}

/// Adds (`id`, every other id its text names) to `pairs`: over-inclusive (an id written in a
/// description counts too), so a dependency is never missed.
fn push_refs(pairs: &mut Vec<(String, String)>, id: &str, text: &str) {
    let mut refs = stix_ids(text);
    refs.sort_unstable();
    refs.dedup();
    pairs.extend(
        refs.into_iter()
            .filter(|r| r != id)
            .map(|r| (id.to_owned(), r)),
    );
}

/// A stored row as a view entry.
fn entry_of(row: ViewRow) -> Result<ViewEntry, ReleaseError> {
    let parse = |s: &str| {
        Timestamp::parse(s).map_err(|e| ReleaseError::Log(format!("stored view row: {e}")))
    };
    Ok(ViewEntry {
        id: row.delivered,
        original: row.original,
        object_type: row.object_type,
        version: parse(&row.version)?,
        spec_version: row.spec_version,
        date_added: parse(&row.date_added)?,
        json: row.json,
    })
}
