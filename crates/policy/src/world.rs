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
use crate::hold::Hold;

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
    /// Who owns the object: the party whose versions count (DESIGN.md "Who may change
    /// what"), recorded by the store when the object arrived, never read from the object.
    /// `None` is the node's own party.
    pub owner: Option<Party>,
}

impl Item {
    /// The item of an object as received (no label assigned on ingest): its markings, what
    /// it is a tear line of, the derivation it states, the ends it needs visible, its tags;
    /// owned by the node's own party (set [`Item::owner`] for a partner's object).
    pub fn of(o: &liaison_stix::StixObject) -> Item {
        Item {
            id: o.id().as_str().to_owned(),
            markings: o
                .object_marking_refs()
                .iter()
                .map(|m| m.as_str().to_owned())
                .collect(),
            assigned_label: None,
            tearline_of: o.tearline_of().map(|t| t.as_str().to_owned()),
            derivation: o.derivation().map(|(a, b)| (a.to_owned(), b.to_owned())),
            ends: o.ends().map(str::to_owned).collect(),
            tags: o.tags().map(str::to_owned).collect(),
            owner: None,
        }
    }
}

/// The marking-definitions a node holds, read into labels (or the error that made a label
/// unreadable), and the held markings that are not liaison labels (statements, other
/// definition types): those travel with what references them and never restrict it. TLP
/// markings are known without being held.
#[derive(Debug, Clone, Default)]
pub struct Markings {
    labels: HashMap<String, Result<Label, String>>,
    others: std::collections::HashSet<String>,
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

    /// Records a held marking-definition that is not a liaison label.
    pub fn insert_other(&mut self, id: &str) {
        self.others.insert(id.to_owned());
    }

    /// The label behind a marking id, if it is a liaison label.
    pub fn get(&self, id: &str) -> Option<&Result<Label, String>> {
        self.labels.get(id)
    }

    /// Whether `id` is a held marking that is not a liaison label.
    pub fn is_other(&self, id: &str) -> bool {
        self.others.contains(id)
    }

    /// Whether `id` names a marking liaison can deliver (a held marking, or TLP).
    pub fn is_known(&self, id: &str) -> bool {
        self.labels.contains_key(id)
            || self.others.contains(id)
            || Tlp::from_marking_id(id).is_some()
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

/// The UUID of a `type--uuid` id in its canonical (lowercase, hyphenated) text form, with
/// the type. Ids not of that form (or with a UUID written any other way) are `None`, so two
/// different id strings never share a key.
fn parse_id(id: &str) -> Option<(&str, u128)> {
    // `type--` then 36 characters: the type is everything before the first `--`.
    let cut = id.len().checked_sub(38)?;
    let (ty, rest) = (id.get(..cut)?, id.as_bytes().get(cut..)?);
    let [b'-', b'-', u @ ..] = rest else {
        return None;
    };
    if ty.ends_with('-') || ty.as_bytes().windows(2).any(|w| w == b"--") {
        return None;
    }
    // Hex digits in groups of 8-4-4-4-12, lowercase only; no branch per character.
    let mut v: u128 = 0;
    let mut bad = 0u8;
    for (i, c) in u.iter().enumerate() {
        if matches!(i, 8 | 13 | 18 | 23) {
            bad |= u8::from(*c != b'-');
        } else {
            let d = HEX.get(*c as usize).copied().unwrap_or(0xff);
            bad |= d & 0xf0;
            v = (v << 4) | u128::from(d & 0x0f);
        }
    }
    (bad == 0).then_some((ty, v))
}

/// Hex digit values; anything else has high bits set.
const HEX: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

fn hash_uuid(hi: u64, lo: u64, ty: u16) -> u64 {
    let x = lo ^ hi.rotate_left(29) ^ u64::from(ty);
    let m = u128::from(x).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835);
    (m as u64) ^ ((m >> 64) as u64)
}

/// An entry of the UUID-keyed id index: the whole key inline, so that a probe reads one
/// cache line and nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct UuidEntry {
    hi: u64,
    lo: u64,
    ty: u16,
    ix: Ix,
}

const VACANT: UuidEntry = UuidEntry {
    hi: 0,
    lo: 0,
    ty: 0,
    ix: Ix::MAX,
};

/// `type--uuid` id -> index: open addressing with linear probing, at most half full, keys
/// inline (for 4M ids, every random access into the table is a cache and TLB miss, so a
/// lookup reads one slot, not control bytes, then a bucket, then the id text).
#[derive(Debug, Clone, Default)]
struct UuidIndex {
    slots: Vec<UuidEntry>,
    len: usize,
}

impl UuidIndex {
    fn find(&self, hash: u64, hi: u64, lo: u64, ty: u16) -> Option<Ix> {
        let is = |e: &UuidEntry| e.lo == lo && e.hi == hi && e.ty == ty;
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut i = hash as usize & mask;
        loop {
            let e = self.slots.get(i)?;
            if e.ix == Ix::MAX {
                return None;
            }
            if is(e) {
                return Some(e.ix);
            }
            i = (i + 1) & mask;
        }
    }

    /// Adds an entry known to be absent.
    fn insert(&mut self, hash: u64, e: UuidEntry) {
        if (self.len + 1) * 2 > self.slots.len() {
            self.rehash((self.len + 1) * 2);
        }
        self.place(hash, e);
        self.len += 1;
    }

    fn place(&mut self, hash: u64, e: UuidEntry) {
        let mask = self.slots.len() - 1;
        let mut i = hash as usize & mask;
        while let Some(slot) = self.slots.get_mut(i) {
            if slot.ix == Ix::MAX {
                *slot = e;
                return;
            }
            i = (i + 1) & mask;
        }
    }

    /// Room for `n` more entries without rehashing.
    fn reserve(&mut self, n: usize) {
        let want = (self.len + n) * 2;
        if want > self.slots.len() {
            self.rehash(want);
        }
    }

    fn rehash(&mut self, want: usize) {
        let cap = want.next_power_of_two().max(16);
        let old = std::mem::replace(&mut self.slots, vec![VACANT; cap]);
        for e in old.into_iter().filter(|e| e.ix != Ix::MAX) {
            self.place(hash_uuid(e.hi, e.lo, e.ty), e);
        }
    }
}

/// Adjacency lists, one span of a shared buffer per object (no allocation per object). A
/// batch is laid out once, in object order; a list that grows later moves to the end of the
/// buffer (where it grows in place), and the buffer is compacted when more than half of it
/// is left behind.
#[derive(Debug, Clone, Default)]
pub(crate) struct Adj {
    /// (start, len) in `buf` per object.
    span: Vec<(u32, u32)>,
    buf: Vec<Ix>,
    live: usize,
}

impl Adj {
    /// Lists for `n` objects from (key, value) pairs, each list in the order given.
    fn from_pairs(n: usize, pairs: impl Iterator<Item = (Ix, Ix)> + Clone) -> Adj {
        let mut span = vec![(0u32, 0u32); n];
        let mut live = 0usize;
        for (k, _) in pairs.clone() {
            if let Some(s) = span.get_mut(k as usize) {
                s.1 += 1;
                live += 1;
            }
        }
        let mut at = 0u32;
        for s in span.iter_mut() {
            s.0 = at;
            at += s.1;
            s.1 = 0;
        }
        let mut buf = vec![0 as Ix; live];
        for (k, v) in pairs {
            if let Some(s) = span.get_mut(k as usize) {
                if let Some(slot) = buf.get_mut((s.0 + s.1) as usize) {
                    *slot = v;
                }
                s.1 += 1;
            }
        }
        Adj { span, buf, live }
    }

    fn get(&self, ix: Ix) -> &[Ix] {
        match self.span.get(ix as usize) {
            Some(&(s, l)) => self.buf.get(s as usize..(s + l) as usize).unwrap_or(&[]),
            None => &[],
        }
    }

    fn len_of(&self, ix: Ix) -> usize {
        self.span.get(ix as usize).map_or(0, |s| s.1 as usize)
    }

    fn push_node(&mut self) {
        self.span.push((0, 0));
    }

    fn reserve(&mut self, n: usize) {
        self.span.reserve(n);
    }

    fn push(&mut self, ix: Ix, v: Ix) {
        let Some(&(s, l)) = self.span.get(ix as usize) else {
            return;
        };
        let end = self.buf.len();
        if (s + l) as usize == end {
            self.buf.push(v);
        } else {
            self.buf.extend_from_within(s as usize..(s + l) as usize);
            self.buf.push(v);
            if let Some(sp) = self.span.get_mut(ix as usize) {
                sp.0 = end as u32;
            }
        }
        if let Some(sp) = self.span.get_mut(ix as usize) {
            sp.1 += 1;
        }
        self.live += 1;
        if self.buf.len() - self.live > self.live.max(self.span.len()).max(1024) {
            self.compact();
        }
    }

    /// Removes the first `v` from the list of `ix`, keeping the order of the rest.
    fn remove(&mut self, ix: Ix, v: Ix) {
        let Some(&(s, l)) = self.span.get(ix as usize) else {
            return;
        };
        let Some(list) = self.buf.get_mut(s as usize..(s + l) as usize) else {
            return;
        };
        if let Some(pos) = list.iter().position(|x| *x == v) {
            list.copy_within(pos + 1.., pos);
            if let Some(sp) = self.span.get_mut(ix as usize) {
                sp.1 -= 1;
            }
            self.live -= 1;
        }
    }

    fn compact(&mut self) {
        let mut buf = Vec::with_capacity(self.live + self.live / 2 + 16);
        for sp in self.span.iter_mut() {
            let (s, l) = *sp;
            let start = buf.len() as u32;
            buf.extend_from_slice(self.buf.get(s as usize..(s + l) as usize).unwrap_or(&[]));
            *sp = (start, l);
        }
        self.buf = buf;
    }
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

/// What an object's effective label joins (see [`World::inputs`]), from the fields alone.
fn inputs_of<'a>(nodes: &'a [Node], parents: &'a Adj, ix: Ix) -> impl Iterator<Item = Ix> + 'a {
    let inherited = nodes
        .get(ix as usize)
        .and_then(|n| n.tearline_of)
        .map(|o| parents.get(o))
        .unwrap_or(&[]);
    parents.get(ix).iter().chain(inherited).copied()
}

/// What a marking id means to the label engine.
#[derive(Debug, Clone)]
enum MarkInfo {
    Tlp(Tlp),
    /// A held marking that is not a liaison label: it restricts nothing.
    Other,
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
    /// The originators named (usually one, so no allocation: others only if they differ).
    originator: Option<u32>,
    others: Vec<u32>,
    meta: OwnMeta,
}

impl OwnAcc {
    fn name(&mut self, originator: u32) {
        match self.originator {
            None => self.originator = Some(originator),
            Some(o) if o == originator => {}
            Some(_) => {
                if !self.others.contains(&originator) {
                    self.others.push(originator);
                }
            }
        }
    }

    fn take(
        &mut self,
        labels: &mut LabelTable,
        info: MarkInfo,
        m: &str,
        what: &str,
    ) -> Result<(), String> {
        match info {
            MarkInfo::Tlp(t) => self.tlp = self.tlp.max(Some(t)),
            MarkInfo::Other => {}
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
                self.name(originator);
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
    pub(crate) tags: Arc<[Box<str>]>,
    /// The ends a relationship or sighting needs visible (at most two; see `World::ends`).
    ends: [Ix; 2],
    n_ends: u8,
    /// The original this object is a valid tear line of.
    pub(crate) tearline_of: Option<Ix>,
    /// The original this object claims to be a tear line of, valid or not. Validity depends
    /// on the original's originator, so it is re-checked whenever the original changes.
    pub(crate) claim: Option<Ix>,
    /// The edge this object (a `derived-from` relationship) adds: (derived, source). Only
    /// when the relationship's owner owns the derived object; see [`World::derivations`].
    pub(crate) edge: Option<(Ix, Ix)>,
    /// The derivation this object (a `derived-from` relationship) states, counted or not.
    derives: Option<(Ix, Ix)>,
    /// Index into [`World::parties`] of the owner, for a held object.
    owner: Option<u32>,
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
    /// `type--uuid` id -> index, keyed by the parsed UUID and type (most ids).
    uuid_index: UuidIndex,
    /// Any other id -> index, hashing the id and comparing against `ids`.
    index: HashTable<Ix>,
    more_ends: FxHashMap<Ix, Box<[Ix]>>,
    parties: Vec<Party>,
    party_index: FxHashMap<Party, u32>,
    mark_memo: FxHashMap<Box<str>, MarkInfo>,
    tlp_memo: FxHashMap<(LabelId, Tlp), LabelId>,
    pub(crate) parents: Adj,
    pub(crate) children: Adj,
    /// While a batch is built: the derivation edges, laid out as lists at the end.
    pending: Option<Vec<DerivEdge>>,
    /// While a batch is built: distinct tag lists, shared between objects.
    tag_sets: Option<HashTable<Arc<[Box<str>]>>>,
    /// The empty tag list, shared.
    no_tags: Arc<[Box<str>]>,
    pub(crate) effective: Vec<Eff>,
    pub(crate) tearlines: FxHashMap<Ix, Vec<Ix>>,
    /// Original -> the objects claiming to be its tear line (valid or not).
    claimants: FxHashMap<Ix, Vec<Ix>>,
    /// Derived object -> the `derived-from` relationships that state a derivation of it
    /// (counted or not), with the source each names.
    deriv_claims: FxHashMap<Ix, Vec<(Ix, Ix)>>,
    pub(crate) labels: LabelTable,
    pub(crate) types: Vec<Box<str>>,
    type_index: FxHashMap<Box<str>, u16>,
    pub(crate) markings: Markings,
    /// Object -> (to, by) of every consent on it.
    pub(crate) consents: FxHashMap<Ix, Vec<(Party, Party)>>,
    /// Object -> every officer's hold standing on it (one per partner at most).
    pub(crate) holds: FxHashMap<Ix, Vec<Hold>>,
    /// The partners something is held from (a judge for any other never looks for holds).
    held_from: Vec<Party>,
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
            uuid_index: UuidIndex::default(),
            index: HashTable::new(),
            more_ends: FxHashMap::default(),
            parties: Vec::new(),
            party_index: FxHashMap::default(),
            mark_memo: FxHashMap::default(),
            tlp_memo: FxHashMap::default(),
            parents: Adj::default(),
            children: Adj::default(),
            pending: None,
            tag_sets: Some(HashTable::new()),
            no_tags: Arc::new([]),
            effective: Vec::new(),
            tearlines: FxHashMap::default(),
            claimants: FxHashMap::default(),
            deriv_claims: FxHashMap::default(),
            labels,
            types: Vec::new(),
            type_index: FxHashMap::default(),
            markings,
            consents: FxHashMap::default(),
            holds: FxHashMap::default(),
            held_from: Vec::new(),
            default_label,
            has_cycles: false,
            topo: Vec::new(),
        };
        let items: Vec<I> = items.into_iter().collect();
        let id_bytes: usize = items.iter().map(|i| i.borrow().id.len()).sum();
        w.reserve(items.len(), id_bytes);
        let placed: Vec<Ix> = items.iter().map(|item| w.put_node(item.borrow())).collect();
        w.pending = Some(Vec::with_capacity(items.len()));
        for (item, ix) in items.iter().zip(placed) {
            w.link(ix, item.borrow());
        }
        let edges = w.pending.take().unwrap_or_default();
        let n = w.nodes.len();
        w.parents = Adj::from_pairs(n, edges.iter().copied());
        w.children = Adj::from_pairs(n, edges.iter().map(|&(c, p)| (p, c)));
        drop(edges);
        w.tag_sets = None;
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
        if let Some((ty, uuid)) = parse_id(id) {
            let t = self.type_ix(ty)?;
            if t != u16::MAX {
                let (hi, lo) = ((uuid >> 64) as u64, uuid as u64);
                return self.uuid_index.find(hash_uuid(hi, lo, t), hi, lo, t);
            }
        }
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
        self.parents.get(ix)
    }

    /// What is directly derived from an object (through counted `derived-from` edges).
    pub fn derived_from_it(&self, ix: Ix) -> &[Ix] {
        self.children.get(ix)
    }

    /// The original an object claims to be a tear line of (valid or not).
    pub fn claimed_original(&self, ix: Ix) -> Option<Ix> {
        self.nodes.get(ix as usize).and_then(|n| n.claim)
    }

    /// The derivation a `derived-from` relationship states, counted or not: (derived, source).
    pub fn stated_derivation(&self, ix: Ix) -> Option<(Ix, Ix)> {
        self.nodes.get(ix as usize).and_then(|n| n.derives)
    }

    /// Every object claiming to be a tear line of this one (valid or not).
    pub fn tearline_claimants(&self, ix: Ix) -> &[Ix] {
        self.claimants.get(&ix).map(Vec::as_slice).unwrap_or(&[])
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
        inputs_of(&self.nodes, &self.parents, ix)
    }

    /// Whose effective label depends on this object's: what is derived from it, and the tear
    /// lines of what is derived from it.
    fn dependents(&self, ix: Ix) -> Vec<Ix> {
        let mut out = Vec::new();
        for c in self.children.get(ix) {
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

    /// Records an officer's hold (see [`Hold`]). A hold on an object that is not known is kept
    /// for when it arrives; a second hold on the same object for the same partner replaces
    /// the first.
    pub fn add_hold(&mut self, hold: &Hold) {
        let ix = self.intern_id(&hold.object);
        let entry = self.holds.entry(ix).or_default();
        entry.retain(|h| h.to != hold.to);
        entry.push(hold.clone());
        if !self.held_from.contains(&hold.to) {
            self.held_from.push(hold.to.clone());
        }
    }

    /// The hold standing on `ix` itself for `to`, if any.
    pub fn hold_on(&self, ix: Ix, to: &Party) -> Option<&Hold> {
        self.holds.get(&ix)?.iter().find(|h| &h.to == to)
    }

    /// Whether anything at all is held from `to`.
    pub(crate) fn holds_anything_from(&self, to: &Party) -> bool {
        self.held_from.contains(to)
    }

    /// Adds (or replaces with a newer version) one object and brings effective labels up to
    /// date: only the object and what is derived from it are recomputed.
    pub fn upsert(&mut self, item: &Item) -> Ix {
        let owner_before = self
            .lookup(&item.id)
            .and_then(|ix| self.nodes.get(ix as usize))
            .and_then(|n| n.owner);
        let ix = self.put_node(item);
        let old_edge = self.nodes.get(ix as usize).and_then(|n| n.edge);
        if let Some((child, parent)) = old_edge {
            self.remove_edge(child, parent);
            if let Some(n) = self.nodes.get_mut(ix as usize) {
                n.edge = None;
            }
        }
        if let Some((child, _)) = self
            .nodes
            .get_mut(ix as usize)
            .and_then(|n| n.derives.take())
        {
            if let Some(cs) = self.deriv_claims.get_mut(&child) {
                cs.retain(|(r, _)| *r != ix);
            }
        }
        // Whether the derivations stated of this object count depends on its owner, which
        // has just become known (or, outside a store's rules, changed): settle them again.
        let owner_now = self.nodes.get(ix as usize).and_then(|n| n.owner);
        let resettled = owner_now != owner_before && self.resettle_derivations(ix);
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
        if self.has_cycles || tearlines_involved || !in_order || resettled {
            self.recompute_all();
            return ix;
        }
        start.extend(old_edge.map(|(child, _)| child));
        start.extend(new_edge.map(|(child, _)| child));
        self.propagate(start);
        ix
    }

    /// Counts or stops counting each derivation stated of `derived` as its owner allows.
    /// Returns whether an edge changed.
    fn resettle_derivations(&mut self, derived: Ix) -> bool {
        let claims = self.deriv_claims.get(&derived).cloned().unwrap_or_default();
        let mut changed = false;
        for (rel, parent) in claims {
            if rel == derived {
                continue;
            }
            let counted = self
                .nodes
                .get(rel as usize)
                .is_some_and(|n| n.edge.is_some());
            let valid = self.asserted_by_owner(rel, derived);
            if counted == valid {
                continue;
            }
            changed = true;
            if valid {
                self.add_edge(derived, parent);
            } else {
                self.remove_edge(derived, parent);
            }
            if let Some(n) = self.nodes.get_mut(rel as usize) {
                n.edge = valid.then_some((derived, parent));
            }
        }
        changed
    }

    /// Every `derived-from` relationship held that states what `derived` is derived from:
    /// (relationship, source, counted). A relationship counts only when its owner owns
    /// `derived`; the others are kept and shown, never joined.
    pub fn derivations(&self, derived: Ix) -> Vec<(Ix, Ix, bool)> {
        self.deriv_claims
            .get(&derived)
            .map(|cs| {
                cs.iter()
                    .map(|(rel, parent)| {
                        let counted = self
                            .nodes
                            .get(*rel as usize)
                            .is_some_and(|n| n.edge.is_some());
                        (*rel, *parent, counted)
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The owner of a held object.
    pub fn owner(&self, ix: Ix) -> Option<&Party> {
        self.nodes
            .get(ix as usize)
            .and_then(|n| n.owner)
            .and_then(|i| self.parties.get(i as usize))
    }

    fn remove_edge(&mut self, child: Ix, parent: Ix) {
        self.parents.remove(child, parent);
        self.children.remove(parent, child);
    }

    fn add_edge(&mut self, child: Ix, parent: Ix) {
        if let Some(p) = self.pending.as_mut() {
            p.push((child, parent));
            return;
        }
        self.parents.push(child, parent);
        self.children.push(parent, child);
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

    fn reserve(&mut self, n: usize, id_bytes: usize) {
        self.uuid_index.reserve(n);
        self.nodes.reserve(n);
        self.id_end.reserve(n);
        self.ids.reserve(id_bytes + id_bytes / 8);
        self.effective.reserve(n);
        self.parents.reserve(n);
        self.children.reserve(n);
        self.topo.reserve(n);
    }

    fn new_node(&mut self, id: &str, own: Eff) -> Ix {
        let ix = self.nodes.len() as Ix;
        let parsed = parse_id(id);
        let ty = match parsed {
            Some((t, _)) => t,
            None => id.split_once("--").map(|(t, _)| t).unwrap_or(""),
        };
        let type_ix = self.intern_type(ty);
        self.ids.push_str(id);
        self.id_end.push(self.ids.len());
        match parsed {
            Some((_, uuid)) if type_ix != u16::MAX => {
                let e = UuidEntry {
                    hi: (uuid >> 64) as u64,
                    lo: uuid as u64,
                    ty: type_ix,
                    ix,
                };
                self.uuid_index.insert(hash_uuid(e.hi, e.lo, e.ty), e);
            }
            _ => {
                let (ids, ends) = (&self.ids, &self.id_end);
                self.index
                    .insert_unique(hash_id(id), ix, |i| hash_id(id_at(ids, ends, *i)));
            }
        }
        self.effective.push(own.clone());
        self.nodes.push(Node {
            held: false,
            type_ix,
            own,
            meta: OwnMeta::default(),
            tags: self.no_tags.clone(),
            ends: [0; 2],
            n_ends: 0,
            tearline_of: None,
            claim: None,
            edge: None,
            derives: None,
            owner: None,
        });
        self.parents.push_node();
        self.children.push_node();
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

    /// The index of a known type (the first few are found without hashing).
    fn type_ix(&self, ty: &str) -> Option<u16> {
        match self.types.iter().take(8).position(|t| **t == *ty) {
            Some(t) => Some(t as u16),
            None => self.type_index.get(ty).copied(),
        }
    }

    fn intern_type(&mut self, ty: &str) -> u16 {
        if let Some(t) = self.type_ix(ty) {
            return t;
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
        let mut two = [0 as Ix; 2];
        if item.ends.len() > 2 {
            let ends: Box<[Ix]> = item.ends.iter().map(|e| self.intern_id(e)).collect();
            self.more_ends.insert(ix, ends);
        } else {
            for (slot, e) in two.iter_mut().zip(&item.ends) {
                *slot = self.intern_id(e);
            }
            if !self.more_ends.is_empty() {
                self.more_ends.remove(&ix);
            }
        }
        let tags = self.tag_set(&item.tags);
        let owner = match &item.owner {
            Some(p) => self.party_ix(p),
            None => {
                let us = self.us.clone();
                self.party_ix(&us)
            }
        };
        if let Some(n) = self.nodes.get_mut(ix as usize) {
            n.held = true;
            n.owner = Some(owner);
            n.own = own;
            n.meta = meta;
            n.tags = tags;
            n.n_ends = item.ends.len().min(u8::MAX as usize) as u8;
            n.ends = two;
        }
        ix
    }

    /// The shared copy of a tag list.
    fn tag_set(&mut self, tags: &[String]) -> Arc<[Box<str>]> {
        if tags.is_empty() {
            return self.no_tags.clone();
        }
        let Some(sets) = self.tag_sets.as_mut() else {
            return tags.iter().map(|t| t.as_str().into()).collect();
        };
        let hash = {
            let mut h = rustc_hash::FxHasher::default();
            for t in tags {
                h.write(t.as_bytes());
                h.write_u8(0xff);
            }
            h.finish()
        };
        let same = |s: &Arc<[Box<str>]>| {
            s.len() == tags.len() && s.iter().zip(tags).all(|(a, b)| **a == **b)
        };
        if let Some(s) = sets.find(hash, same) {
            return s.clone();
        }
        let s: Arc<[Box<str>]> = tags.iter().map(|t| t.as_str().into()).collect();
        let rehash = |s: &Arc<[Box<str>]>| {
            let mut h = rustc_hash::FxHasher::default();
            for t in s.iter() {
                h.write(t.as_bytes());
                h.write_u8(0xff);
            }
            h.finish()
        };
        sets.insert_unique(hash, s.clone(), rehash);
        s
    }

    /// Adds the object's derivation edge and tear-line claim; returns the derivation edge and
    /// the edge an invalid tear line adds.
    fn link(&mut self, ix: Ix, item: &Item) -> (Option<DerivEdge>, Option<DerivEdge>) {
        let mut edge = None;
        let mut derives = None;
        if let Some((derived, source)) = &item.derivation {
            // A derived-from relationship's ends are its derivation: reuse what put_node found.
            let (child, parent) = match (item.ends.as_slice(), self.ends(ix)) {
                ([d, s], [c, p]) if d == derived && s == source => (*c, *p),
                _ => (self.intern_id(derived), self.intern_id(source)),
            };
            derives = Some((child, parent));
            self.deriv_claims
                .entry(child)
                .or_default()
                .push((ix, parent));
            if self.asserted_by_owner(ix, child) {
                self.add_edge(child, parent);
                edge = Some((child, parent));
            }
        }
        if let Some(n) = self.nodes.get_mut(ix as usize) {
            n.edge = edge;
            n.derives = derives;
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

    /// Whether relationship `rel` may say what `derived` rests on: only the owner of
    /// `derived` may (a partner can derive its objects from ours, never ours from anything).
    fn asserted_by_owner(&self, rel: Ix, derived: Ix) -> bool {
        self.same_owner(rel, derived)
    }

    /// Whether both objects are held and have one owner.
    fn same_owner(&self, a: Ix, b: Ix) -> bool {
        let owner = |ix: Ix| self.nodes.get(ix as usize).and_then(|n| n.owner);
        owner(a).is_some() && owner(a) == owner(b)
    }

    /// Links a tear-line claim as what it is now: a valid tear line, or (when the original's
    /// owner did not make it, or its originator is not the original's) an object derived
    /// from the original. Returns the edge added.
    fn link_tearline(&mut self, ix: Ix) -> Option<(Ix, Ix)> {
        let o = self.nodes.get(ix as usize)?.claim?;
        if o == ix {
            return None;
        }
        let t_org = self.originator(ix);
        let valid = t_org.is_some() && t_org == self.originator(o) && self.same_owner(ix, o);
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
                None if self.markings.is_other(m) => MarkInfo::Other,
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
                if matches!(info, MarkInfo::Tlp(_) | MarkInfo::Other) {
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
                acc.name(me);
                acc.meta.originator = Some(me);
            }
        }
        let OwnAcc {
            own,
            tlp,
            originator,
            others,
            meta,
        } = acc;
        if !others.is_empty() {
            let mut names: Vec<&str> = originator
                .iter()
                .chain(&others)
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

    /// When every input comes before what uses it (the usual case: sources arrive first),
    /// computes every effective label in one pass in the objects' own order, each from
    /// inputs already final, and takes that order as the topological positions. Returns
    /// false, leaving the labels as they were, as soon as an input comes later.
    fn recompute_in_order(&mut self) -> bool {
        let n = self.nodes.len();
        let (nodes, parents, labels) = (&self.nodes, &self.parents, &mut self.labels);
        let mut eff: Vec<Eff> = Vec::with_capacity(n);
        for (i, node) in nodes.iter().enumerate() {
            let mut e = node.own.clone();
            for p in inputs_of(nodes, parents, i as Ix) {
                match eff.get(p as usize) {
                    Some(pe) => {
                        if e != *pe {
                            e = labels.join_eff(&e, pe);
                        }
                    }
                    None => return false,
                }
            }
            eff.push(e);
        }
        self.effective = eff;
        self.has_cycles = false;
        let identity =
            self.topo.len() == n && self.topo.iter().enumerate().all(|(i, t)| *t as usize == i);
        if !identity {
            self.topo = (0..n as u32).collect();
        }
        true
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
        if self.recompute_in_order() {
            return;
        }
        let n = self.nodes.len();
        let mut indeg: Vec<u32> = (0..n as Ix)
            .map(|i| {
                let inherited = self
                    .nodes
                    .get(i as usize)
                    .and_then(|n| n.tearline_of)
                    .map_or(0, |o| self.parents.len_of(o));
                (self.parents.len_of(i) + inherited) as u32
            })
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
            let children = self.children.get(i);
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
        // Positions: the order found above, cycles last (the objects' own order is taken by
        // `recompute_in_order` when it is one).
        order.extend((0..n as Ix).filter(|i| !done.get(*i as usize).copied().unwrap_or(true)));
        self.topo = vec![0; n];
        for (pos, i) in order.iter().enumerate() {
            if let Some(t) = self.topo.get_mut(*i as usize) {
                *t = pos as u32;
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

    /// Ids keyed by their UUID and ids that are not (other spellings, other forms) stay
    /// distinct and are all found.
    #[test]
    fn uuid_and_other_ids_are_found() {
        let u = "5e1d2a6c-1b3f-4c2d-9e8f-0a1b2c3d4e5f";
        assert!(parse_id(&format!("indicator--{u}")).is_some());
        for bad in [
            format!("indicator--{}", u.to_uppercase()),
            format!("indicator---{u}"),
            format!("x--y--{u}"),
            format!("indicator--{}", u.replace('-', "")),
            "report--2".to_owned(),
        ] {
            assert!(parse_id(&bad).is_none(), "{bad}");
        }
        let (m, _, open) = markings();
        let ids = [
            format!("indicator--{u}"),
            format!("report--{u}"),
            format!("indicator--{}", u.to_uppercase()),
            format!("--{u}"),
            "report--2".to_owned(),
        ];
        let items: Vec<Item> = ids.iter().map(|i| item(i, &open)).collect();
        let w = World::build(p("USA"), m, &items);
        assert_eq!(w.len(), ids.len());
        for (n, id) in ids.iter().enumerate() {
            assert_eq!(w.lookup(id), Some(n as Ix));
            assert_eq!(w.id(n as Ix), id);
        }
        assert_eq!(w.lookup(&format!("sighting--{u}")), None);
    }

    /// Adjacency lists keep their order through moves, removals and compaction.
    #[test]
    fn adjacency_lists_survive_moves_and_compaction() {
        let mut a = Adj::from_pairs(3, [(0, 7), (2, 8), (0, 9)].into_iter());
        let mut model: Vec<Vec<Ix>> = vec![vec![7, 9], vec![], vec![8]];
        for step in 0..5000u32 {
            let ix = step % 3;
            if step % 4 == 3 {
                let v = model[ix as usize].first().copied().unwrap_or(0);
                a.remove(ix, v);
                if let Some(pos) = model[ix as usize].iter().position(|x| *x == v) {
                    model[ix as usize].remove(pos);
                }
            } else {
                a.push(ix, step);
                model[ix as usize].push(step);
            }
            for (i, l) in model.iter().enumerate() {
                assert_eq!(a.get(i as Ix), l.as_slice());
            }
        }
        assert!(a.buf.len() <= 3 * a.live.max(a.span.len()).max(1024));
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
