//! The curation engine: items arrive one at a time and only what an arrival can affect is
//! recomputed (the claims it and its newly-complete descendants assert, the echo flags of
//! the items it is tied to). Ancestor sets are kept closed over the items held, band buckets
//! find candidate near-duplicates, and everything is a function of the set of items, not of
//! their order: [`Engine::from_items`] and any sequence of [`Engine::add`] agree, and so does
//! any sequence of adds and [`Engine::remove`]s with a build over the items left (a new
//! version is the old one removed and the new one added).

use liaison_labels::{Grading, Party};
use liaison_stix::Timestamp;
use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;

use crate::dependence::{Evidence, Reason};
use crate::error::GradingError;
use crate::item::{Claim, Item};
use crate::similarity::{near_duplicate, Signature};

/// No item (an id known only as a `derived-from` target).
const NONE: u32 = u32::MAX;

/// An item as held: interned parties and nodes, the closed ancestor set, its cached echo.
pub(crate) struct Held {
    pub(crate) node: u32,
    pub(crate) originator: u32,
    pub(crate) source: u32,
    pub(crate) parents: Vec<u32>,
    /// Strict ancestors (nodes), sorted: every id reachable through `derived-from` over the
    /// items held, the unheld ones included.
    pub(crate) ancestors: Vec<u32>,
    pub(crate) signature: Option<Signature>,
    pub(crate) marks: Option<Box<str>>,
    pub(crate) grading: Option<Grading>,
    pub(crate) time: Timestamp,
    pub(crate) claims: Vec<u32>,
    pub(crate) echo: Option<(EchoKind, u32)>,
}

pub(crate) struct ClaimEntry {
    pub(crate) claim: Claim,
    pub(crate) items: Vec<u32>,
    pub(crate) sources: usize,
}

/// What ties two items, before it is spelled out as [`Evidence`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum Link {
    Originator(u32),
    Marks(u32),
    Ancestor(u32),
    Similar(f64),
}

/// Keeps items, their dependence, the independent sources of every claim and the echo flag
/// of every item, up to date as items arrive.
pub struct Engine {
    /// Party 0 is us.
    parties: Vec<Party>,
    party_index: FxHashMap<Party, u32>,
    nodes: FxHashMap<Box<str>, u32>,
    pub(crate) node_ids: Vec<Box<str>>,
    node_item: Vec<u32>,
    pub(crate) items: Vec<Held>,
    /// Ancestor node -> the items that have it among their ancestors.
    holders: FxHashMap<u32, Vec<u32>>,
    /// Band key -> the last entry of `chain` for that band: one hash entry and one chain
    /// link per (item, band), not one allocation per bucket (most buckets hold one item).
    buckets: FxHashMap<u64, u32>,
    /// (item, previous entry of the same bucket or `NONE`).
    chain: Vec<(u32, u32)>,
    claim_index: FxHashMap<Claim, u32>,
    pub(crate) claims: Vec<ClaimEntry>,
    /// Items held: `items` also keeps the slots of removed ones (their bucket chain links
    /// still name them), emptied; an item `i` is held while `node_item` of its node is `i`.
    live: usize,
}

/// Circular reporting: how an item that arrived from a partner is not news.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EchoKind {
    /// Our own reporting came back (our originator, our marks, or tied to an item of ours).
    OwnReporting,
    /// An item we already hold from its true source (an item whose source party is its
    /// originator), relayed to us by another partner.
    AlreadyHeld,
}

impl EchoKind {
    /// The stable code.
    pub fn as_str(self) -> &'static str {
        match self {
            EchoKind::OwnReporting => "own-reporting",
            EchoKind::AlreadyHeld => "already-held",
        }
    }
}

/// A circular-reporting flag with its evidence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Echo {
    /// The flagged item.
    pub item: String,
    /// The partner it arrived from.
    pub from: Party,
    /// What kind of echo.
    pub kind: EchoKind,
    /// The item it echoes (ours, or held from its true source), when it is tied to one;
    /// `None` when the item is ours by its own originator or marks.
    pub echoes: Option<String>,
    /// Whom `echoes` came from.
    pub echoes_from: Option<Party>,
    /// What ties them.
    pub evidence: Evidence,
}

/// The count of independent sources of one claim, before and after an arrival.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClaimChange {
    /// The claim.
    pub claim: Claim,
    /// Independent sources before.
    pub before: usize,
    /// Independent sources after.
    pub after: usize,
}

/// An item whose echo flag an arrival changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EchoChange {
    /// The item.
    pub item: String,
    /// Its flag before.
    pub before: Option<EchoKind>,
    /// Its flag after.
    pub after: Option<EchoKind>,
}

/// What one arrival changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Update {
    /// The new item's own echo flag, if it is circular reporting.
    pub echo: Option<Echo>,
    /// The claims it asserts, and any whose count it changed otherwise.
    pub claims: Vec<ClaimChange>,
    /// Other items whose echo flag changed (the true source arrived after a relay of it).
    pub echoes: Vec<EchoChange>,
    /// Every item whose echo flag was evaluated again (the new one among them): what a
    /// reader keeping flags beside the engine reads again, since the item an echo names can
    /// change while its kind does not.
    pub rechecked: Vec<String>,
}

/// Above this many ancestors an item's set is cut (the lowest node numbers kept), so that a
/// hostile chain cannot make memory quadratic; past the cut, results may depend on order.
const MAX_ANCESTORS: usize = 4096;

impl Engine {
    /// An empty engine for the node whose party is `us`.
    pub fn new(us: Party) -> Engine {
        let mut party_index = FxHashMap::default();
        party_index.insert(us.clone(), 0);
        Engine {
            parties: vec![us],
            party_index,
            nodes: FxHashMap::default(),
            node_ids: Vec::new(),
            node_item: Vec::new(),
            items: Vec::new(),
            holders: FxHashMap::default(),
            buckets: FxHashMap::default(),
            chain: Vec::new(),
            claim_index: FxHashMap::default(),
            claims: Vec::new(),
            live: 0,
        }
    }

    /// The engine over `items`, computed from scratch: every claim counted once and every
    /// echo flag set once at the end.
    pub fn from_items(
        us: Party,
        items: impl IntoIterator<Item = Item>,
    ) -> Result<Engine, GradingError> {
        let mut engine = Engine::new(us);
        for item in items {
            engine.insert(item)?;
        }
        for c in 0..engine.claims.len() {
            engine.claims[c].sources = engine.count(c as u32);
        }
        for i in 0..engine.items.len() as u32 {
            engine.items[i as usize].echo = engine.echo_of(i).map(|(k, j, _)| (k, j));
        }
        Ok(engine)
    }

    /// Adds one item and updates what it affects.
    pub fn add(&mut self, item: Item) -> Result<Update, GradingError> {
        let (x, grown) = self.insert(item)?;
        let own: Vec<u32> = self.items[x as usize].claims.clone();
        let mut affected = own.clone();
        for &d in &grown {
            affected.extend_from_slice(&self.items[d as usize].claims);
        }
        affected.sort_unstable();
        affected.dedup();
        let mut claims = Vec::new();
        for c in affected {
            let before = self.claims[c as usize].sources;
            let after = self.count(c);
            self.claims[c as usize].sources = after;
            if before != after || own.contains(&c) {
                claims.push(ClaimChange {
                    claim: self.claims[c as usize].claim.clone(),
                    before,
                    after,
                });
            }
        }
        let mut touched = vec![x];
        // Only an item that is ours, or held from its true source, can be what others echo.
        let new = &self.items[x as usize];
        if self.is_ours(x) || new.source == new.originator {
            self.for_each_related(x, &mut |j, _| touched.push(j));
        }
        for &d in &grown {
            touched.push(d);
            self.for_each_related(d, &mut |j, _| touched.push(j));
        }
        touched.sort_unstable();
        touched.dedup();
        let mut echoes = Vec::new();
        let rechecked = touched.iter().map(|&i| self.id_of(i).to_owned()).collect();
        for i in touched {
            let after = self.echo_of(i).map(|(k, j, _)| (k, j));
            let before = std::mem::replace(&mut self.items[i as usize].echo, after);
            if i != x && before.map(|b| b.0) != after.map(|a| a.0) {
                echoes.push(EchoChange {
                    item: self.id_of(i).to_owned(),
                    before: before.map(|b| b.0),
                    after: after.map(|a| a.0),
                });
            }
        }
        Ok(Update {
            echo: self.echo_at(x),
            claims,
            echoes,
            rechecked,
        })
    }

    /// Removes the item `id` (a deletion, or the old version before its new one is added)
    /// and updates what it affected, as a build over the items left would give: the
    /// ancestor sets of the items resting on it, the claims they and it assert, the echo
    /// flags of everything tied to them. The id stays known as a node when held items
    /// derive from it, as an id never held does. `rechecked` names the removed item too.
    pub fn remove(&mut self, id: &str) -> Result<Update, GradingError> {
        let x = self
            .item_index(id)
            .ok_or_else(|| GradingError::NotHeld(id.to_owned()))?;
        let node = self.items[x as usize].node;
        let descendants: Vec<u32> = self
            .holders
            .get(&node)
            .into_iter()
            .flatten()
            .copied()
            .filter(|&d| d != x)
            .collect();
        // Ties only disappear: what is tied to it or to what rests on it now is all that
        // can change.
        let mut touched = Vec::new();
        self.for_each_related(x, &mut |j, _| touched.push(j));
        for &d in &descendants {
            touched.push(d);
            self.for_each_related(d, &mut |j, _| touched.push(j));
        }
        let mut affected: Vec<u32> = self.items[x as usize].claims.clone();
        for &d in &descendants {
            affected.extend_from_slice(&self.items[d as usize].claims);
        }

        let gone = &mut self.items[x as usize];
        let claims = std::mem::take(&mut gone.claims);
        let ancestors = std::mem::take(&mut gone.ancestors);
        gone.parents = Vec::new();
        gone.signature = None;
        gone.marks = None;
        gone.echo = None;
        self.node_item[node as usize] = NONE;
        self.live -= 1;
        for &c in &claims {
            self.claims[c as usize].items.retain(|&i| i != x);
        }
        for &a in &ancestors {
            self.unhold(a, x);
        }
        for &d in &descendants {
            let now = self.closure(d);
            let before = std::mem::replace(&mut self.items[d as usize].ancestors, now);
            let now = &self.items[d as usize].ancestors;
            let lost: Vec<u32> = before
                .into_iter()
                .filter(|a| now.binary_search(a).is_err())
                .collect();
            for a in lost {
                self.unhold(a, d);
            }
        }

        affected.sort_unstable();
        affected.dedup();
        let mut changes = Vec::new();
        for c in affected {
            let before = self.claims[c as usize].sources;
            let after = self.count(c);
            self.claims[c as usize].sources = after;
            if before != after {
                changes.push(ClaimChange {
                    claim: self.claims[c as usize].claim.clone(),
                    before,
                    after,
                });
            }
        }
        touched.retain(|&i| self.is_held(i));
        touched.sort_unstable();
        touched.dedup();
        let mut echoes = Vec::new();
        let mut rechecked = vec![id.to_owned()];
        for i in touched {
            rechecked.push(self.id_of(i).to_owned());
            let after = self.echo_of(i).map(|(k, j, _)| (k, j));
            let before = std::mem::replace(&mut self.items[i as usize].echo, after);
            if before.map(|b| b.0) != after.map(|a| a.0) {
                echoes.push(EchoChange {
                    item: self.id_of(i).to_owned(),
                    before: before.map(|b| b.0),
                    after: after.map(|a| a.0),
                });
            }
        }
        Ok(Update {
            echo: None,
            claims: changes,
            echoes,
            rechecked,
        })
    }

    /// Item `i` no longer rests on node `a`.
    fn unhold(&mut self, a: u32, i: u32) {
        if let Some(list) = self.holders.get_mut(&a) {
            list.retain(|&j| j != i);
            if list.is_empty() {
                self.holders.remove(&a);
            }
        }
    }

    /// The strict ancestors of item `i` over the items held now, walked from its parents:
    /// what [`Engine::insert`] keeps closed as items arrive, made again after a removal.
    fn closure(&self, i: u32) -> Vec<u32> {
        let me = self.items[i as usize].node;
        let mut seen = FxHashSet::default();
        let mut stack = self.items[i as usize].parents.clone();
        while let Some(n) = stack.pop() {
            if n == me || !seen.insert(n) {
                continue;
            }
            let j = self.node_item[n as usize];
            if j != NONE {
                stack.extend_from_slice(&self.items[j as usize].parents);
            }
        }
        let mut out: Vec<u32> = seen.into_iter().collect();
        out.sort_unstable();
        out.truncate(MAX_ANCESTORS);
        out
    }

    /// The number of items held.
    pub fn len(&self) -> usize {
        self.live
    }

    /// Whether no item is held.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Whether an item with this id is held.
    pub fn holds(&self, id: &str) -> bool {
        self.item_index(id).is_some()
    }

    /// The number of independent sources asserting `claim` (0 when nobody does).
    pub fn sources(&self, claim: &Claim) -> usize {
        self.claim_index
            .get(claim)
            .map_or(0, |&c| self.claims[c as usize].sources)
    }

    /// Every claim some held item asserts, with its number of independent sources, in no
    /// particular order.
    pub fn claims(&self) -> impl Iterator<Item = (&Claim, usize)> {
        self.claims
            .iter()
            .filter(|c| !c.items.is_empty())
            .map(|c| (&c.claim, c.sources))
    }

    /// The echo flag of a held item, with its evidence.
    pub fn echo(&self, id: &str) -> Option<Echo> {
        self.echo_at(self.item_index(id)?)
    }

    /// Every echo flag, in the order the items were added.
    pub fn echoes(&self) -> impl Iterator<Item = Echo> + '_ {
        (0..self.items.len() as u32)
            .filter(|&i| self.items[i as usize].echo.is_some())
            .filter_map(|i| self.echo_at(i))
    }

    /// Whether slot `i` is a held item (not one removed).
    fn is_held(&self, i: u32) -> bool {
        self.node_item[self.items[i as usize].node as usize] == i
    }

    pub(crate) fn item_index(&self, id: &str) -> Option<u32> {
        let n = *self.nodes.get(id)?;
        let i = self.node_item[n as usize];
        (i != NONE).then_some(i)
    }

    pub(crate) fn claim_of(&self, claim: &Claim) -> Option<u32> {
        self.claim_index.get(claim).copied()
    }

    pub(crate) fn id_of(&self, i: u32) -> &str {
        &self.node_ids[self.items[i as usize].node as usize]
    }

    pub(crate) fn party(&self, p: u32) -> &Party {
        &self.parties[p as usize]
    }

    /// The originator that counts for independence: us for an item with our marks.
    pub(crate) fn effective_originator(&self, i: u32) -> u32 {
        let h = &self.items[i as usize];
        if h.marks.is_some() {
            0
        } else {
            h.originator
        }
    }

    pub(crate) fn is_ours(&self, i: u32) -> bool {
        self.effective_originator(i) == 0
    }

    /// Earliest first: by time, then id.
    pub(crate) fn order_key(&self, i: u32) -> (&Timestamp, &str) {
        (&self.items[i as usize].time, self.id_of(i))
    }

    pub(crate) fn evidence(&self, link: Link) -> Evidence {
        match link {
            Link::Originator(p) => Evidence::Originator {
                party: self.party(p).clone(),
            },
            Link::Marks(i) => Evidence::Marks {
                found: self.items[i as usize]
                    .marks
                    .as_deref()
                    .unwrap_or_default()
                    .to_owned(),
            },
            Link::Ancestor(n) => Evidence::Ancestor {
                id: self.node_ids[n as usize].to_string(),
            },
            Link::Similar(value) => Evidence::Similarity { value },
        }
    }

    pub(crate) fn party_number(&self, p: &Party) -> Option<u32> {
        self.party_index.get(p).copied()
    }

    fn intern_party(&mut self, p: Party) -> u32 {
        if let Some(&i) = self.party_index.get(&p) {
            return i;
        }
        let i = self.parties.len() as u32;
        self.parties.push(p.clone());
        self.party_index.insert(p, i);
        i
    }

    fn node(&mut self, id: &str) -> u32 {
        if let Some(&n) = self.nodes.get(id) {
            return n;
        }
        let n = self.node_ids.len() as u32;
        self.node_ids.push(id.into());
        self.node_item.push(NONE);
        self.nodes.insert(id.into(), n);
        n
    }

    /// Indexes `item`; returns its index and the held descendants whose ancestor sets grew.
    fn insert(&mut self, item: Item) -> Result<(u32, Vec<u32>), GradingError> {
        if self.holds(&item.id) {
            return Err(GradingError::Duplicate(item.id));
        }
        if self.items.len() >= (NONE - 1) as usize || self.node_ids.len() >= (NONE - 1) as usize {
            return Err(GradingError::Full);
        }
        let node = self.node(&item.id);
        let originator = self.intern_party(item.originator);
        let source = self.intern_party(item.source);
        let mut parents: Vec<u32> = item.derived_from.iter().map(|p| self.node(p)).collect();
        parents.sort_unstable();
        parents.dedup();
        parents.retain(|&p| p != node);
        let mut ancestors = parents.clone();
        for &p in &parents {
            let j = self.node_item[p as usize];
            if j != NONE {
                ancestors.extend_from_slice(&self.items[j as usize].ancestors);
            }
        }
        ancestors.sort_unstable();
        ancestors.dedup();
        ancestors.retain(|&a| a != node);
        ancestors.truncate(MAX_ANCESTORS);
        let x = self.items.len() as u32;
        let mut claims = Vec::with_capacity(item.claims.len());
        for claim in item.claims {
            let c = match self.claim_index.get(&claim) {
                Some(&c) => c,
                None => {
                    let c = self.claims.len() as u32;
                    self.claim_index.insert(claim.clone(), c);
                    self.claims.push(ClaimEntry {
                        claim,
                        items: Vec::new(),
                        sources: 0,
                    });
                    c
                }
            };
            if !claims.contains(&c) {
                claims.push(c);
                self.claims[c as usize].items.push(x);
            }
        }
        if let Some(sig) = &item.signature {
            for band in sig.bands() {
                let link = self.chain.len() as u32;
                let previous = self.buckets.insert(band, link).unwrap_or(NONE);
                self.chain.push((x, previous));
            }
        }
        for &a in &ancestors {
            self.holders.entry(a).or_default().push(x);
        }
        self.node_item[node as usize] = x;
        self.live += 1;
        let descendants = self.holders.get(&node).cloned().unwrap_or_default();
        self.items.push(Held {
            node,
            originator,
            source,
            parents,
            ancestors,
            signature: item.signature,
            marks: item.our_marks.map(String::into_boxed_str),
            grading: item.grading,
            time: item.time,
            claims,
            echo: None,
        });
        // Descendants that arrived before this item rest on its ancestors too now.
        let mut grown = Vec::new();
        for d in descendants {
            if d == x {
                continue;
            }
            let (inherited, held) = {
                let (mine, theirs) = (&self.items[x as usize], &self.items[d as usize]);
                let new: Vec<u32> = mine
                    .ancestors
                    .iter()
                    .copied()
                    .filter(|a| *a != theirs.node && theirs.ancestors.binary_search(a).is_err())
                    .collect();
                (new, theirs.ancestors.len())
            };
            if inherited.is_empty() || held >= MAX_ANCESTORS {
                continue;
            }
            for &a in &inherited {
                self.holders.entry(a).or_default().push(d);
            }
            let theirs = &mut self.items[d as usize].ancestors;
            theirs.extend(inherited);
            theirs.sort_unstable();
            theirs.truncate(MAX_ANCESTORS);
            grown.push(d);
        }
        Ok((x, grown))
    }

    /// Calls `f` with every item tied to `i` by lineage (a common ancestor, or one resting
    /// on the other) or near-duplicate text, possibly more than once. Originators are not
    /// followed: they tie sources, not reports.
    pub(crate) fn for_each_related(&self, i: u32, f: &mut dyn FnMut(u32, Link)) {
        let h = &self.items[i as usize];
        for &a in &h.ancestors {
            let j = self.node_item[a as usize];
            if j != NONE && j != i {
                f(j, Link::Ancestor(a));
            }
            for &j in self.holders.get(&a).into_iter().flatten() {
                if j != i {
                    f(j, Link::Ancestor(a));
                }
            }
        }
        for &j in self.holders.get(&h.node).into_iter().flatten() {
            if j != i {
                f(j, Link::Ancestor(h.node));
            }
        }
        if let Some(sig) = &h.signature {
            for band in sig.bands() {
                let mut link = self.buckets.get(&band).copied().unwrap_or(NONE);
                while let Some(&(j, previous)) = self.chain.get(link as usize) {
                    link = previous;
                    if j == i || !self.is_held(j) {
                        continue;
                    }
                    let other = self.items[j as usize].signature.as_ref();
                    if let Some(s) = other.and_then(|o| near_duplicate(sig, o)) {
                        f(j, Link::Similar(s));
                    }
                }
            }
        }
    }

    /// The first tie between two items, in the order of [`Reason`]: marks, originator,
    /// ancestor, text.
    pub(crate) fn relation(&self, i: u32, j: u32) -> Option<(Reason, Link)> {
        let (a, b) = (&self.items[i as usize], &self.items[j as usize]);
        let (ea, eb) = (self.effective_originator(i), self.effective_originator(j));
        if ea == eb {
            if a.marks.is_some() {
                return Some((Reason::OurMarks, Link::Marks(i)));
            }
            if b.marks.is_some() {
                return Some((Reason::OurMarks, Link::Marks(j)));
            }
            return Some((Reason::SharedOriginator, Link::Originator(ea)));
        }
        if a.ancestors.binary_search(&b.node).is_ok() {
            return Some((Reason::CommonAncestor, Link::Ancestor(b.node)));
        }
        if b.ancestors.binary_search(&a.node).is_ok() {
            return Some((Reason::CommonAncestor, Link::Ancestor(a.node)));
        }
        if let Some(n) = first_common(&a.ancestors, &b.ancestors) {
            return Some((Reason::CommonAncestor, Link::Ancestor(n)));
        }
        let s = near_duplicate(a.signature.as_ref()?, b.signature.as_ref()?)?;
        Some((Reason::NearDuplicate, Link::Similar(s)))
    }

    /// The echo flag of item `i`: the kind, the item it echoes (`NONE` when it is ours by
    /// itself) and the tie. Only an earlier item (by time, then id) can be echoed, and among
    /// several the earliest is named, so the flag is a function of the items held, not of
    /// the order they arrived in.
    fn echo_of(&self, i: u32) -> Option<(EchoKind, u32, Link)> {
        let h = &self.items[i as usize];
        if h.source == 0 {
            return None;
        }
        if h.originator == 0 {
            return Some((EchoKind::OwnReporting, NONE, Link::Originator(0)));
        }
        if h.marks.is_some() {
            return Some((EchoKind::OwnReporting, NONE, Link::Marks(i)));
        }
        let mut ours: Option<(u32, Link)> = None;
        let mut direct: Option<(u32, Link)> = None;
        let consider = |slot: &mut Option<(u32, Link)>, j: u32, link: Link| {
            if slot.is_none_or(|(k, _)| self.order_key(j) < self.order_key(k)) {
                *slot = Some((j, link));
            }
        };
        let mine = self.order_key(i);
        self.for_each_related(i, &mut |j, link| {
            let other = &self.items[j as usize];
            // Only an earlier item can be what this one echoes: a later one rests on it.
            if self.order_key(j) > mine {
                return;
            }
            if self.is_ours(j) {
                consider(&mut ours, j, link);
            } else if other.source == other.originator && other.source != h.source {
                consider(&mut direct, j, link);
            }
        });
        if let Some((j, link)) = ours {
            return Some((EchoKind::OwnReporting, j, link));
        }
        direct.map(|(j, link)| (EchoKind::AlreadyHeld, j, link))
    }

    fn echo_at(&self, i: u32) -> Option<Echo> {
        let (kind, j, link) = self.echo_of(i)?;
        let echoes = (j != NONE).then_some(j);
        Some(Echo {
            item: self.id_of(i).to_owned(),
            from: self.party(self.items[i as usize].source).clone(),
            kind,
            echoes: echoes.map(|j| self.id_of(j).to_owned()),
            echoes_from: echoes.map(|j| self.party(self.items[j as usize].source).clone()),
            evidence: self.evidence(link),
        })
    }
}

/// The smallest element of two sorted lists, if they share one.
fn first_common(a: &[u32], b: &[u32]) -> Option<u32> {
    let (mut i, mut j) = (0, 0);
    while let (Some(x), Some(y)) = (a.get(i), b.get(j)) {
        match x.cmp(y) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => return Some(*x),
        }
    }
    None
}
