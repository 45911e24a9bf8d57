//! What a node holds, as the policy sees it: every object's own label, the `derived-from`
//! graph, tear lines and consents, and the effective label of every object (its own label
//! joined with the effective labels of everything it is derived from). Labels are interned,
//! so that a join is a table lookup once seen. Invariant: `effective` is always up to date
//! with `nodes` and the graph; anything that cannot be evaluated is a [`Fault`].

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use liaison_labels::{Label, Party, Restriction, Tetragraphs, Tlp};
use std::hash::Hasher;

use hashbrown::HashTable;
use rustc_hash::FxHashMap;

use crate::consent::Consent;

/// Index of an object in a [`World`].
pub type Ix = u32;

/// Index of an interned [`Restriction`].
pub type LabelId = u32;

/// Why an object's label cannot be evaluated. Every fault withholds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// A label is malformed, unknown or missing.
    InvalidLabel(Arc<str>),
    /// The object is on, or derived from, a cycle of `derived-from` relationships.
    Cycle,
}

type Eff = Result<LabelId, Fault>;

/// A derivation edge: (derived, source).
type DerivEdge = (Ix, Ix);

/// What the policy needs to know of one object (the newest version), without its body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Item {
    /// `id`.
    pub id: String,
    /// `object_marking_refs`.
    pub markings: Vec<String>,
    /// The label assigned on ingest when the object carried none.
    pub assigned_label: Option<String>,
    /// For an owner's sanitized version, the object it sanitizes.
    pub tearline_of: Option<String>,
    /// For a `derived-from` relationship: (derived, source).
    pub derivation: Option<(String, String)>,
    /// The ends a relationship or sighting needs visible.
    pub ends: Vec<String>,
    /// The object's `labels`, used as topics.
    pub tags: Vec<String>,
}

/// The marking-definitions a node holds, read into labels (or the error that made a label
/// unreadable). TLP markings are known without being held.
#[derive(Debug, Clone, Default)]
pub struct Markings {
    labels: HashMap<String, Result<Label, String>>,
}

impl Markings {
    /// No markings.
    pub fn new() -> Markings {
        Markings::default()
    }

    /// Records the label a marking-definition carries, or why it could not be read.
    pub fn insert(&mut self, id: &str, label: Result<Label, String>) {
        self.labels.insert(id.to_owned(), label);
    }

    /// The label behind a marking id, if it is a liaison label.
    pub fn get(&self, id: &str) -> Option<&Result<Label, String>> {
        self.labels.get(id)
    }

    /// Whether `id` names a marking liaison can deliver (a held liaison label, or TLP).
    pub fn is_known(&self, id: &str) -> bool {
        self.labels.contains_key(id) || Tlp::from_marking_id(id).is_some()
    }
}

/// The node's default label for an object that carries none: unclassified, owner only.
pub(crate) fn owner_only(us: Party) -> Label {
    Label {
        banner: liaison_labels::Banner::new(liaison_labels::Classification::Unclassified),
        originator: us,
        grading: None,
        duty_to_warn: false,
    }
}

fn hash_id(id: &str) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    h.write(id.as_bytes());
    h.finish()
}

fn id_at<'a>(ids: &'a str, ends: &[usize], ix: Ix) -> &'a str {
    let i = ix as usize;
    let start = if i == 0 {
        0
    } else {
        ends.get(i - 1).copied().unwrap_or(0)
    };
    let end = ends.get(i).copied().unwrap_or(start);
    ids.get(start..end).unwrap_or("")
}

/// What a marking id means to the label engine.
#[derive(Debug, Clone)]
enum MarkInfo {
    Tlp(Tlp),
    Label {
        id: LabelId,
        originator: u32,
        orcon: bool,
        duty_to_warn: bool,
    },
    Unreadable(Arc<str>),
    NotHeld,
}

/// An object's own label, gathered from its markings.
#[derive(Default)]
struct OwnAcc {
    own: Option<LabelId>,
    tlp: Option<Tlp>,
    originators: BTreeSet<u32>,
    meta: OwnMeta,
}

impl OwnAcc {
    fn take(
        &mut self,
        labels: &mut LabelTable,
        info: MarkInfo,
        m: &str,
        what: &str,
    ) -> Result<(), String> {
        match info {
            MarkInfo::Tlp(t) => self.tlp = self.tlp.max(Some(t)),
            MarkInfo::Label {
                id,
                originator,
                orcon,
                duty_to_warn,
            } => {
                self.own = Some(match self.own {
                    None => id,
                    Some(j) => labels.join(j, id),
                });
                self.originators.insert(originator);
                self.meta.originator = Some(originator);
                self.meta.orcon |= orcon;
                self.meta.duty_to_warn |= duty_to_warn;
            }
            MarkInfo::Unreadable(e) => return Err(format!("{what} `{m}`: {e}")),
            MarkInfo::NotHeld => {
                return Err(format!(
                    "{what} `{m}` is not held, so it cannot be evaluated"
                ))
            }
        }
        Ok(())
    }
}

/// Facts of an object's own label that are not joined: they belong to the object itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct OwnMeta {
    /// Index into [`World::parties`].
    pub(crate) originator: Option<u32>,
    pub(crate) orcon: bool,
    pub(crate) duty_to_warn: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub(crate) held: bool,
    pub(crate) type_ix: u16,
    pub(crate) own: Eff,
    pub(crate) meta: OwnMeta,
    pub(crate) tags: Box<[Box<str>]>,
    /// The ends a relationship or sighting needs visible (at most two; see `World::ends`).
    ends: [Ix; 2],
    n_ends: u8,
    /// The original this object is a valid tear line of.
    pub(crate) tearline_of: Option<Ix>,
    /// The original this object claims to be a tear line of, valid or not. Validity depends
    /// on the original's originator, so it is re-checked whenever the original changes.
    pub(crate) claim: Option<Ix>,
    /// The edge this object (a `derived-from` relationship) adds: (derived, source).
    pub(crate) edge: Option<(Ix, Ix)>,
}

#[derive(Debug, Default)]
pub(crate) struct LabelTable {
    pub(crate) list: Vec<Restriction>,
    map: HashMap<Restriction, LabelId>,
    joins: FxHashMap<(LabelId, LabelId), LabelId>,
}

impl LabelTable {
    fn intern(&mut self, r: Restriction) -> LabelId {
        if let Some(id) = self.map.get(&r) {
            return *id;
        }
        let id = self.list.len() as LabelId;
        self.list.push(r.clone());
        self.map.insert(r, id);
        id
    }

    fn join(&mut self, a: LabelId, b: LabelId) -> LabelId {
        if a == b {
            return a;
        }
        let key = (a.min(b), a.max(b));
        if let Some(j) = self.joins.get(&key) {
            return *j;
        }
        let joined = match (self.list.get(a as usize), self.list.get(b as usize)) {
            (Some(x), Some(y)) => x.join(y),
            _ => return a.max(b),
        };
        let j = self.intern(joined);
        self.joins.insert(key, j);
        j
    }

    /// Joins two effective labels. Faults absorb labels; of two faults the worse is kept
    /// (a cycle over an invalid label, then the first detail in text order), so that the join
    /// stays commutative and the result does not depend on the order objects arrived in.
    fn join_eff(&mut self, a: &Eff, b: &Eff) -> Eff {
        match (a, b) {
            (Ok(x), Ok(y)) => Ok(self.join(*x, *y)),
            (Err(e), Ok(_)) | (Ok(_), Err(e)) => Err(e.clone()),
            (Err(x), Err(y)) => Err(worse(x, y).clone()),
        }
    }
}

fn worse<'a>(a: &'a Fault, b: &'a Fault) -> &'a Fault {
    match (a, b) {
        (Fault::Cycle, _) => a,
        (_, Fault::Cycle) => b,
        (Fault::InvalidLabel(x), Fault::InvalidLabel(y)) => {
            if x <= y {
                a
            } else {
                b
            }
        }
    }
}

/// Everything a node holds, as the policy sees it, with effective labels kept current.
#[derive(Debug)]
pub struct World {
    pub(crate) us: Party,
    pub(crate) nodes: Vec<Node>,
    /// Every id, end to end; `id_end[ix]` is where the id of `ix` ends. One allocation for
    /// all ids instead of one each.
    ids: String,
    id_end: Vec<usize>,
    /// Id -> index, hashing the id and comparing against `ids`.
    index: HashTable<Ix>,
    more_ends: FxHashMap<Ix, Box<[Ix]>>,
    parties: Vec<Party>,
    party_index: FxHashMap<Party, u32>,
    mark_memo: FxHashMap<Box<str>, MarkInfo>,
    tlp_memo: FxHashMap<(LabelId, Tlp), LabelId>,
    pub(crate) parents: Vec<Vec<Ix>>,
    pub(crate) children: Vec<Vec<Ix>>,
    pub(crate) effective: Vec<Eff>,
    pub(crate) tearlines: FxHashMap<Ix, Vec<Ix>>,
    /// Original -> the objects claiming to be its tear line (valid or not).
    claimants: FxHashMap<Ix, Vec<Ix>>,
    pub(crate) labels: LabelTable,
    pub(crate) types: Vec<Box<str>>,
    type_index: FxHashMap<Box<str>, u16>,
    pub(crate) markings: Markings,
    /// Object -> (to, by) of every consent on it.
    pub(crate) consents: FxHashMap<Ix, Vec<(Party, Party)>>,
    default_label: LabelId,
    has_cycles: bool,
    /// A topological position per object (sources before what derives from them): a new edge
    /// from an earlier to a later position cannot close a cycle, so most upserts need no
    /// search. New objects take the next position.
    topo: Vec<u32>,
}

impl World {
    /// Builds the world of a node run by `us` from its markings and items (objects' newest
    /// versions, in any order), and computes every effective label.
    /// Items may be given owned or borrowed.
    pub fn build<I: std::borrow::Borrow<Item>>(
        us: Party,
        markings: Markings,
        items: impl IntoIterator<Item = I>,
    ) -> World {
        let mut labels = LabelTable::default();
        let default = owner_only(us.clone());
        let default_label = labels.intern(Restriction::of(&default, Tetragraphs::current()));
        let mut w = World {
            us,
            nodes: Vec::new(),
            ids: String::new(),
            id_end: Vec::new(),
            index: HashTable::new(),
            more_ends: FxHashMap::default(),
            parties: Vec::new(),
            party_index: FxHashMap::default(),
            mark_memo: FxHashMap::default(),
            tlp_memo: FxHashMap::default(),
            parents: Vec::new(),
            children: Vec::new(),
            effective: Vec::new(),
            tearlines: FxHashMap::default(),
            claimants: FxHashMap::default(),
            labels,
            types: Vec::new(),
            type_index: FxHashMap::default(),
            markings,
            consents: FxHashMap::default(),
            default_label,
            has_cycles: false,
            topo: Vec::new(),
        };
        let items: Vec<I> = items.into_iter().collect();
        w.reserve(items.len());
        let placed: Vec<Ix> = items.iter().map(|item| w.put_node(item.borrow())).collect();
        for (item, ix) in items.iter().zip(placed) {
            w.link(ix, item.borrow());
        }
        w.recompute_all();
        w
    }

    /// The party that runs this node.
    pub fn us(&self) -> &Party {
        &self.us
    }

    /// How many objects (including referenced objects that are not held).
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether nothing is known.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The index of an object, if it is known (held or referenced).
    pub fn lookup(&self, id: &str) -> Option<Ix> {
        let (ids, ends) = (&self.ids, &self.id_end);
        self.index
            .find(hash_id(id), |ix| id_at(ids, ends, *ix) == id)
            .copied()
    }

    /// An object's id.
    pub fn id(&self, ix: Ix) -> &str {
        id_at(&self.ids, &self.id_end, ix)
    }

    /// Whether the object is held (rather than only referenced).
    pub fn is_held(&self, ix: Ix) -> bool {
        self.nodes.get(ix as usize).is_some_and(|n| n.held)
    }

    /// The object's STIX type.
    pub fn object_type(&self, ix: Ix) -> &str {
        self.nodes
            .get(ix as usize)
            .and_then(|n| self.types.get(n.type_ix as usize))
            .map(|t| &**t)
            .unwrap_or("")
    }

    /// Indices of every held object, in the order they were added.
    pub fn held(&self) -> impl Iterator<Item = Ix> + '_ {
        self.nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.held)
            .map(|(i, _)| i as Ix)
    }

    /// The effective label of an object.
    pub fn effective(&self, ix: Ix) -> Result<&Restriction, Fault> {
        match self.effective.get(ix as usize) {
            Some(Ok(l)) => self
                .labels
                .list
                .get(*l as usize)
                .ok_or_else(|| Fault::InvalidLabel("label table is inconsistent".into())),
            Some(Err(f)) => Err(f.clone()),
            None => Err(Fault::InvalidLabel("unknown object".into())),
        }
    }

    /// The effective label's interned id (equal ids are equal labels).
    pub fn effective_id(&self, ix: Ix) -> Result<LabelId, Fault> {
        self.effective
            .get(ix as usize)
            .cloned()
            .unwrap_or_else(|| Err(Fault::InvalidLabel("unknown object".into())))
    }

    /// The object's own label (before joining what it is derived from).
    pub fn own(&self, ix: Ix) -> Result<&Restriction, Fault> {
        match self.nodes.get(ix as usize).map(|n| &n.own) {
            Some(Ok(l)) => self
                .labels
                .list
                .get(*l as usize)
                .ok_or_else(|| Fault::InvalidLabel("label table is inconsistent".into())),
            Some(Err(f)) => Err(f.clone()),
            None => Err(Fault::InvalidLabel("unknown object".into())),
        }
    }

    /// The originator of the object's own label.
    pub fn originator(&self, ix: Ix) -> Option<&Party> {
        self.nodes
            .get(ix as usize)
            .and_then(|n| n.meta.originator)
            .and_then(|i| self.parties.get(i as usize))
    }

    /// Whether the object's own label marks a warning of imminent threat to life.
    pub fn duty_to_warn(&self, ix: Ix) -> bool {
        self.nodes
            .get(ix as usize)
            .is_some_and(|n| n.meta.duty_to_warn)
    }

    /// What the object is directly derived from.
    pub fn parents(&self, ix: Ix) -> &[Ix] {
        self.parents
            .get(ix as usize)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The valid tear lines of an object.
    pub fn tearlines(&self, ix: Ix) -> &[Ix] {
        self.tearlines.get(&ix).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Every object the given one is derived from, transitively, nearest first, each once.
    /// A valid tear line counts as derived from what its original is derived from.
    pub fn ancestors(&self, ix: Ix) -> Vec<Ix> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        let mut queue: VecDeque<Ix> = self.inputs(ix).collect();
        while let Some(p) = queue.pop_front() {
            if p == ix || !seen.insert(p) {
                continue;
            }
            out.push(p);
            queue.extend(self.inputs(p));
        }
        out
    }

    /// What an object's effective label joins: its `derived-from` sources and, for a valid
    /// tear line, its original's sources. The owner may relax only its own contribution: a
    /// tear line of an assessment built on an ally's ORCON report still carries the ally's
    /// restrictions.
    pub(crate) fn inputs(&self, ix: Ix) -> impl Iterator<Item = Ix> + '_ {
        let inherited = self
            .nodes
            .get(ix as usize)
            .and_then(|n| n.tearline_of)
            .map(|o| self.parents(o))
            .unwrap_or(&[]);
        self.parents(ix).iter().chain(inherited).copied()
    }

    /// Whose effective label depends on this object's: what is derived from it, and the tear
    /// lines of what is derived from it.
    fn dependents(&self, ix: Ix) -> Vec<Ix> {
        let mut out = Vec::new();
        for c in self
            .children
            .get(ix as usize)
            .map(Vec::as_slice)
            .unwrap_or(&[])
        {
            out.push(*c);
            out.extend_from_slice(self.tearlines(*c));
        }
        out
    }

    /// The markings this node holds.
    pub fn markings(&self) -> &Markings {
        &self.markings
    }

    /// Records a consent. A consent for an object that is not known is kept for when it
    /// arrives.
    pub fn add_consent(&mut self, consent: &Consent) {
        let ix = self.intern_id(&consent.object);
        let entry = self.consents.entry(ix).or_default();
        let pair = (consent.to.clone(), consent.by.clone());
        if !entry.contains(&pair) {
            entry.push(pair);
        }
    }

    /// Whether `by` consented to release `ix` (and what is derived from it) to `to`.
    pub(crate) fn consented(&self, ix: Ix, by: &Party, to: &Party) -> bool {
        self.consents
            .get(&ix)
            .is_some_and(|v| v.iter().any(|(t, b)| t == to && b == by))
    }

    /// Adds (or replaces with a newer version) one object and brings effective labels up to
    /// date: only the object and what is derived from it are recomputed.
    pub fn upsert(&mut self, item: &Item) -> Ix {
        let ix = self.put_node(item);
        let old_edge = self.nodes.get(ix as usize).and_then(|n| n.edge);
        if let Some((child, parent)) = old_edge {
            self.remove_edge(child, parent);
            if let Some(n) = self.nodes.get_mut(ix as usize) {
                n.edge = None;
            }
        }
        self.unlink_tearline(ix);
        if let Some(old) = self.nodes.get_mut(ix as usize).and_then(|n| n.claim.take()) {
            if let Some(cs) = self.claimants.get_mut(&old) {
                cs.retain(|t| *t != ix);
            }
        }
        let (new_edge, tear_edge) = self.link(ix, item);
        let mut added: Vec<(Ix, Ix)> = new_edge.into_iter().chain(tear_edge).collect();
        let mut start = vec![ix];
        // Whether a tear line of this object is valid depends on this object's originator,
        // which may have changed (or become known): check its claimants again.
        let claimants: Vec<Ix> = self.claimants.get(&ix).cloned().unwrap_or_default();
        for t in claimants {
            if t == ix {
                continue;
            }
            self.unlink_tearline(t);
            added.extend(self.link_tearline(t));
            start.push(t);
        }
        let tearlines_involved = self
            .nodes
            .get(ix as usize)
            .is_some_and(|n| n.tearline_of.is_some())
            || !self.tearlines(ix).is_empty()
            || added
                .iter()
                .chain(old_edge.iter())
                .any(|(child, _)| !self.tearlines(*child).is_empty());
        let in_order = added.iter().all(|(child, parent)| {
            self.topo.get(*parent as usize) < self.topo.get(*child as usize)
        });
        // An edge against the topological order may close a cycle (or just needs a new
        // order): recompute everything, which finds cycles and orders afresh.
        if self.has_cycles || tearlines_involved || !in_order {
            self.recompute_all();
            return ix;
        }
        start.extend(old_edge.map(|(child, _)| child));
        start.extend(new_edge.map(|(child, _)| child));
        self.propagate(start);
        ix
    }

    fn remove_edge(&mut self, child: Ix, parent: Ix) {
        if let Some(ps) = self.parents.get_mut(child as usize) {
            if let Some(pos) = ps.iter().position(|p| *p == parent) {
                ps.remove(pos);
            }
        }
        if let Some(cs) = self.children.get_mut(parent as usize) {
            if let Some(pos) = cs.iter().position(|c| *c == child) {
                cs.remove(pos);
            }
        }
    }

    fn add_edge(&mut self, child: Ix, parent: Ix) {
        if let Some(ps) = self.parents.get_mut(child as usize) {
            ps.push(parent);
        }
        if let Some(cs) = self.children.get_mut(parent as usize) {
            cs.push(child);
        }
    }

    /// The index of a referenced object, adding it (not held, its label unknown) if new.
    fn intern_id(&mut self, id: &str) -> Ix {
        if let Some(ix) = self.lookup(id) {
            return ix;
        }
        let unknown = Err(Fault::InvalidLabel(
            format!("`{id}` is not held, so its label is unknown").into(),
        ));
        self.new_node(id, unknown)
    }

    fn reserve(&mut self, n: usize) {
        let (ids, ends) = (&self.ids, &self.id_end);
        self.index.reserve(n, |i| hash_id(id_at(ids, ends, *i)));
        self.nodes.reserve(n);
        self.id_end.reserve(n);
        self.ids.reserve(n * 48);
        self.effective.reserve(n);
        self.parents.reserve(n);
        self.children.reserve(n);
        self.topo.reserve(n);
    }

    fn new_node(&mut self, id: &str, own: Eff) -> Ix {
        let ix = self.nodes.len() as Ix;
        let ty = id.split_once("--").map(|(t, _)| t).unwrap_or("");
        let type_ix = self.intern_type(ty);
        self.ids.push_str(id);
        self.id_end.push(self.ids.len());
        let (ids, ends) = (&self.ids, &self.id_end);
        self.index
            .insert_unique(hash_id(id), ix, |i| hash_id(id_at(ids, ends, *i)));
        self.effective.push(own.clone());
        self.nodes.push(Node {
            held: false,
            type_ix,
            own,
            meta: OwnMeta::default(),
            tags: Box::new([]),
            ends: [0; 2],
            n_ends: 0,
            tearline_of: None,
            claim: None,
            edge: None,
        });
        self.parents.push(Vec::new());
        self.children.push(Vec::new());
        self.topo.push(ix);
        ix
    }

    /// The ends a relationship or sighting needs visible.
    pub(crate) fn ends(&self, ix: Ix) -> &[Ix] {
        match self.nodes.get(ix as usize) {
            Some(n) if n.n_ends as usize <= n.ends.len() => &n.ends[..n.n_ends as usize],
            Some(_) => self.more_ends.get(&ix).map_or(&[], |e| &e[..]),
            None => &[],
        }
    }

    fn intern_type(&mut self, ty: &str) -> u16 {
        if let Some(t) = self.type_index.get(ty) {
            return *t;
        }
        let t = self.types.len().min(u16::MAX as usize) as u16;
        self.types.push(ty.into());
        self.type_index.insert(ty.into(), t);
        t
    }

    /// Sets an object's own facts (not its links).
    fn put_node(&mut self, item: &Item) -> Ix {
        let (own, meta) = self.own_label(item);
        let ix = match self.lookup(&item.id) {
            Some(ix) => ix,
            None => self.new_node(&item.id, own.clone()),
        };
        let ends: Vec<Ix> = item.ends.iter().map(|e| self.intern_id(e)).collect();
        let tags: Box<[Box<str>]> = item.tags.iter().map(|t| t.as_str().into()).collect();
        if ends.len() > 2 {
            self.more_ends.insert(ix, ends.clone().into());
        } else {
            self.more_ends.remove(&ix);
        }
        if let Some(n) = self.nodes.get_mut(ix as usize) {
            n.held = true;
            n.own = own;
            n.meta = meta;
            n.tags = tags;
            n.n_ends = ends.len().min(u8::MAX as usize) as u8;
            n.ends = [0; 2];
            for (slot, e) in n.ends.iter_mut().zip(&ends) {
                *slot = *e;
            }
        }
        ix
    }

    /// Adds the object's derivation edge and tear-line claim; returns the derivation edge and
    /// the edge an invalid tear line adds.
    fn link(&mut self, ix: Ix, item: &Item) -> (Option<DerivEdge>, Option<DerivEdge>) {
        let mut edge = None;
        if let Some((derived, source)) = &item.derivation {
            // A derived-from relationship's ends are its derivation: reuse what put_node found.
            let (child, parent) = match (item.ends.as_slice(), self.ends(ix)) {
                ([d, s], [c, p]) if d == derived && s == source => (*c, *p),
                _ => (self.intern_id(derived), self.intern_id(source)),
            };
            self.add_edge(child, parent);
            edge = Some((child, parent));
        }
        if let Some(n) = self.nodes.get_mut(ix as usize) {
            n.edge = edge;
        }
        let mut tear = None;
        if let Some(orig) = &item.tearline_of {
            let o = self.intern_id(orig);
            if let Some(n) = self.nodes.get_mut(ix as usize) {
                n.claim = Some(o);
            }
            self.claimants.entry(o).or_default().push(ix);
            tear = self.link_tearline(ix);
        }
        (edge, tear)
    }

    /// Links a tear-line claim as what it is now: a valid tear line, or (when its originator
    /// is not the original's) an object derived from the original. Returns the edge added.
    fn link_tearline(&mut self, ix: Ix) -> Option<(Ix, Ix)> {
        let o = self.nodes.get(ix as usize)?.claim?;
        if o == ix {
            return None;
        }
        let t_org = self.originator(ix);
        let valid = t_org.is_some() && t_org == self.originator(o);
        if valid {
            self.tearlines.entry(o).or_default().push(ix);
            if let Some(n) = self.nodes.get_mut(ix as usize) {
                n.tearline_of = Some(o);
            }
            None
        } else {
            // A tear line that its original's owner did not make is no downgrade: it is
            // treated as derived from the original, so it cannot launder anything.
            self.add_edge(ix, o);
            Some((ix, o))
        }
    }

    /// Undoes [`World::link_tearline`] (the claim itself is kept).
    fn unlink_tearline(&mut self, ix: Ix) {
        let Some(n) = self.nodes.get_mut(ix as usize) else {
            return;
        };
        let Some(o) = n.claim else {
            return;
        };
        if n.tearline_of.take().is_some() {
            if let Some(ts) = self.tearlines.get_mut(&o) {
                ts.retain(|t| *t != ix);
            }
        } else if o != ix {
            self.remove_edge(ix, o);
        }
    }

    fn party_ix(&mut self, p: &Party) -> u32 {
        if let Some(i) = self.party_index.get(p) {
            return *i;
        }
        let i = self.parties.len() as u32;
        self.parties.push(p.clone());
        self.party_index.insert(p.clone(), i);
        i
    }

    /// What one marking id means here, read once and remembered: most objects share a few
    /// labels, so an object's own label costs a hash lookup, not a parse and a join.
    fn mark(&mut self, m: &str) -> MarkInfo {
        if let Some(info) = self.mark_memo.get(m) {
            return info.clone();
        }
        let info = if let Some(t) = Tlp::from_marking_id(m) {
            MarkInfo::Tlp(t)
        } else {
            match self.markings.get(m).cloned() {
                Some(Ok(l)) => {
                    let id = self
                        .labels
                        .intern(Restriction::of(&l, Tetragraphs::current()));
                    MarkInfo::Label {
                        id,
                        originator: self.party_ix(&l.originator),
                        orcon: l.banner.controls.contains(&liaison_labels::Control::Orcon),
                        duty_to_warn: l.duty_to_warn,
                    }
                }
                Some(Err(e)) => MarkInfo::Unreadable(e.into()),
                None => MarkInfo::NotHeld,
            }
        };
        self.mark_memo.insert(m.into(), info.clone());
        info
    }

    fn own_label(&mut self, item: &Item) -> (Eff, OwnMeta) {
        if item.id.starts_with("marking-definition--")
            || item.id.starts_with("extension-definition--")
        {
            // Markings and extension definitions are published metadata, not intelligence.
            return (Ok(self.default_label), OwnAcc::default().meta);
        }
        let fault = |msg: String| Err(Fault::InvalidLabel(msg.into()));
        let mut acc = OwnAcc::default();
        for m in &item.markings {
            let info = self.mark(m);
            if let Err(e) = acc.take(&mut self.labels, info, m, "marking") {
                return (fault(e), acc.meta);
            }
        }
        if acc.own.is_none() {
            if let Some(a) = &item.assigned_label {
                let info = self.mark(a);
                if matches!(info, MarkInfo::Tlp(_)) {
                    return (
                        fault(format!("assigned label `{a}` is not a liaison label")),
                        acc.meta,
                    );
                }
                if let Err(e) = acc.take(&mut self.labels, info, a, "assigned label") {
                    return (fault(e), acc.meta);
                }
            } else {
                let us = self.us.clone();
                let me = self.party_ix(&us);
                acc.own = Some(self.default_label);
                acc.originators.insert(me);
                acc.meta.originator = Some(me);
            }
        }
        let OwnAcc {
            own,
            tlp,
            originators,
            meta,
        } = acc;
        if originators.len() > 1 {
            let mut names: Vec<&str> = originators
                .iter()
                .filter_map(|i| self.parties.get(*i as usize))
                .map(Party::as_str)
                .collect();
            names.sort_unstable();
            return (
                fault(format!(
                    "labels name several originators: {}",
                    names.join(", ")
                )),
                meta,
            );
        }
        let Some(mut own) = own else {
            return (fault("no label".to_owned()), meta);
        };
        if let Some(t) = tlp {
            own = match self.tlp_memo.get(&(own, t)) {
                Some(l) => *l,
                None => {
                    let mut r = match self.labels.list.get(own as usize) {
                        Some(r) => r.clone(),
                        None => return (fault("label table is inconsistent".to_owned()), meta),
                    };
                    r.tlp = r.tlp.max(Some(t));
                    let l = self.labels.intern(r);
                    self.tlp_memo.insert((own, t), l);
                    l
                }
            };
        }
        (Ok(own), meta)
    }

    fn compute_one(&mut self, ix: Ix) -> Eff {
        let mut eff = self
            .nodes
            .get(ix as usize)
            .map(|n| n.own.clone())
            .unwrap_or(Err(Fault::Cycle));
        let inputs: Vec<Ix> = self.inputs(ix).collect();
        for p in inputs {
            let pe = self
                .effective
                .get(p as usize)
                .cloned()
                .unwrap_or(Err(Fault::Cycle));
            eff = self.labels.join_eff(&eff, &pe);
        }
        eff
    }

    /// Recomputes from `start` down through what is derived from it (the graph is acyclic
    /// here: callers check).
    fn propagate(&mut self, start: Vec<Ix>) {
        let mut queue: VecDeque<Ix> = start.into();
        let mut first = true;
        let mut forced: BTreeSet<Ix> = queue.iter().copied().collect();
        while let Some(n) = queue.pop_front() {
            let new = self.compute_one(n);
            let changed = self.effective.get(n as usize) != Some(&new);
            if changed || forced.remove(&n) || first {
                if let Some(slot) = self.effective.get_mut(n as usize) {
                    *slot = new;
                }
                if changed {
                    queue.extend(self.dependents(n));
                }
            }
            first = false;
        }
    }

    /// Computes every effective label from scratch, in topological order (Kahn); whatever
    /// is left unordered is on or below a cycle.
    pub fn recompute_all(&mut self) {
        let n = self.nodes.len();
        let mut indeg: Vec<u32> = (0..n as Ix)
            .map(|i| self.inputs(i).count() as u32)
            .collect();
        let mut eff: Vec<Eff> = self.nodes.iter().map(|n| n.own.clone()).collect();
        let mut done = vec![false; n];
        let mut queue: VecDeque<Ix> = (0..n as Ix)
            .filter(|i| indeg.get(*i as usize) == Some(&0))
            .collect();
        let mut order: Vec<Ix> = queue.iter().copied().collect();
        let empty: Vec<Ix> = Vec::new();
        while let Some(i) = queue.pop_front() {
            if let Some(d) = done.get_mut(i as usize) {
                *d = true;
            }
            let here = eff.get(i as usize).cloned().unwrap_or(Err(Fault::Cycle));
            // The dependents of `i`: what is derived from it, and their tear lines (which
            // inherit what their original rests on). Field borrows, so no list is built.
            let children = self.children.get(i as usize).unwrap_or(&empty);
            let any_tearlines = !self.tearlines.is_empty();
            for c in children {
                let tls = if any_tearlines {
                    self.tearlines.get(c).unwrap_or(&empty)
                } else {
                    &empty
                };
                for d in std::iter::once(c).chain(tls) {
                    let di = *d as usize;
                    if let Some(slot) = eff.get_mut(di) {
                        let cur = std::mem::replace(slot, Err(Fault::Cycle));
                        *slot = self.labels.join_eff(&cur, &here);
                    }
                    if let Some(k) = indeg.get_mut(di) {
                        *k = k.saturating_sub(1);
                        if *k == 0 {
                            queue.push_back(*d);
                            order.push(*d);
                        }
                    }
                }
            }
        }
        self.has_cycles = false;
        // Positions: the objects' own order when every input comes before what uses it (the
        // usual case: sources arrive first), else the order found above, cycles last.
        let ordered = (0..n as Ix).all(|i| self.inputs(i).all(|p| p < i));
        if ordered {
            self.topo = (0..n as u32).collect();
        } else {
            order.extend((0..n as Ix).filter(|i| !done.get(*i as usize).copied().unwrap_or(true)));
            self.topo = vec![0; n];
            for (pos, i) in order.iter().enumerate() {
                if let Some(t) = self.topo.get_mut(*i as usize) {
                    *t = pos as u32;
                }
            }
        }
        for (i, d) in done.iter().enumerate() {
            if !d {
                self.has_cycles = true;
                if let Some(slot) = eff.get_mut(i) {
                    *slot = Err(Fault::Cycle);
                }
            }
        }
        self.effective = eff;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use liaison_labels::Banner;

    fn p(s: &str) -> Party {
        Party::parse(s).unwrap()
    }

    fn markings() -> (Markings, String, String) {
        let mut m = Markings::new();
        let mut add = |banner: &str, org: &str| {
            let l = Label {
                banner: banner.parse::<Banner>().unwrap(),
                originator: p(org),
                grading: None,
                duty_to_warn: false,
            };
            let id = l.marking_id().as_str().to_owned();
            m.insert(&id, Ok(l));
            id
        };
        let secret = add("SECRET//NOFORN", "USA");
        let open = add("UNCLASSIFIED//REL TO GBR", "USA");
        (m, secret, open)
    }

    fn item(id: &str, marking: &str) -> Item {
        Item {
            id: id.into(),
            markings: vec![marking.into()],
            ..Item::default()
        }
    }

    fn derived(id: &str, marking: &str, child: &str, parent: &str) -> Item {
        Item {
            derivation: Some((child.into(), parent.into())),
            ..item(id, marking)
        }
    }

    fn effective(w: &World, id: &str) -> Result<Restriction, Fault> {
        w.effective(w.lookup(id).unwrap()).cloned()
    }

    /// Regression: a tear line that arrived before its original was judged invalid (the
    /// original's originator was unknown) and stayed derived from the original for good.
    #[test]
    fn regression_tearline_before_its_original_becomes_valid() {
        let (m, secret, open) = markings();
        let tear = Item {
            tearline_of: Some("report--2".into()),
            ..item("report--1", &open)
        };
        let orig = item("report--2", &secret);
        let batch = World::build(p("USA"), m.clone(), [tear.clone(), orig.clone()]);
        let mut inc = World::build(p("USA"), m, Vec::<Item>::new());
        inc.upsert(&tear);
        inc.upsert(&orig);
        for w in [&batch, &inc] {
            assert_eq!(
                w.tearlines(w.lookup("report--2").unwrap()),
                [w.lookup("report--1").unwrap()]
            );
            assert!(effective(w, "report--1").unwrap().releasable_to(&p("GBR")));
        }
    }

    /// Regression: an object first seen as a reference started with a `Cycle` fault, so what
    /// was derived from it said `derivation_cycle` instead of `invalid_label`.
    #[test]
    fn regression_derived_from_an_unheld_object_is_invalid_not_a_cycle() {
        let (m, _, open) = markings();
        let mut w = World::build(p("USA"), m, [item("indicator--1", &open)]);
        w.upsert(&derived(
            "relationship--1",
            &open,
            "indicator--1",
            "report--9",
        ));
        assert!(matches!(
            effective(&w, "report--9"),
            Err(Fault::InvalidLabel(_))
        ));
        assert!(matches!(
            effective(&w, "indicator--1"),
            Err(Fault::InvalidLabel(_))
        ));
    }

    /// Regression: a new version of a relationship that moved its `source_ref` left the old
    /// derived object with the old source's restrictions.
    #[test]
    fn regression_upsert_moving_a_derivation_recomputes_both_children() {
        let (m, secret, open) = markings();
        let items = [
            item("indicator--1", &open),
            item("indicator--2", &open),
            item("report--3", &secret),
        ];
        let mut w = World::build(p("USA"), m, items);
        w.upsert(&derived(
            "relationship--1",
            &open,
            "indicator--1",
            "report--3",
        ));
        assert!(!effective(&w, "indicator--1")
            .unwrap()
            .releasable_to(&p("GBR")));
        w.upsert(&derived(
            "relationship--1",
            &open,
            "indicator--2",
            "report--3",
        ));
        assert!(effective(&w, "indicator--1")
            .unwrap()
            .releasable_to(&p("GBR")));
        assert!(!effective(&w, "indicator--2")
            .unwrap()
            .releasable_to(&p("GBR")));
    }

    /// Faults join commutatively, so arrival order does not pick the reason.
    #[test]
    fn fault_join_is_commutative() {
        let mut t = LabelTable::default();
        let a: Eff = Err(Fault::InvalidLabel("a".into()));
        let b: Eff = Err(Fault::InvalidLabel("b".into()));
        let c: Eff = Err(Fault::Cycle);
        for (x, y) in [(&a, &b), (&a, &c), (&b, &c)] {
            assert_eq!(t.join_eff(x, y), t.join_eff(y, x));
        }
        assert_eq!(t.join_eff(&a, &c), Err(Fault::Cycle));
    }
}
