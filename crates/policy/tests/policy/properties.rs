//! Properties of the policy over random worlds: a partner's copy never holds what the policy
//! withholds (checked against an independent evaluation of labels and of the derivation
//! graph), incremental upserts agree with a batch build, and decisions are deterministic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};

use liaison_labels::{
    Banner, Classification, Control, Label, Party, Restriction, Tetragraphs, Tlp,
};
use liaison_policy::{
    cut_for, Agreement, Consent, Fault, Hold, Item, Judge, Markings, ReasonCode, Scope, Verdict,
    World,
};
use liaison_stix::{parse_document, StixObject, LIAISON_EXTENSION_ID};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

const T: &str = "2026-01-01T00:00:00.000Z";
const US: &str = "USA";

/// The label pool; `None` in an object's label means "no marking" (owner only).
const POOL: [(&str, &str); 10] = [
    ("UNCLASSIFIED//REL TO GBR, RUS", "USA"),
    ("SECRET//REL TO FVEY", "USA"),
    ("SECRET//ORCON//REL TO USA, GBR, RUS", "ISR"),
    ("CONFIDENTIAL//NOFORN", "USA"),
    ("TOP SECRET//REL TO GBR", "USA"),
    ("SECRET//SI//REL TO FVEY, RUS", "USA"),
    ("UNCLASSIFIED//REL TO FVEY, RUS, ISR//TLP:RED", "USA"),
    ("CONFIDENTIAL//REL TO GBR, RUS, ISR//TLP:GREEN", "GBR"),
    ("SECRET//ORCON//REL TO FVEY, RUS", "GBR"),
    ("UNCLASSIFIED//REL TO FVEY, RUS, ISR", "USA"),
];
const TYPES: [&str; 5] = ["indicator", "malware", "report", "tool", "identity"];
const PARTNERS: [&str; 4] = ["GBR", "RUS", "ISR", "AUS"];
const CONSENTERS: [&str; 3] = ["ISR", "GBR", "USA"];

fn party(s: &str) -> Party {
    Party::parse(s).unwrap()
}

fn pool_label(i: usize) -> Label {
    let (b, o) = POOL[i % POOL.len()];
    Label {
        banner: b.parse::<Banner>().unwrap(),
        originator: party(o),
        grading: None,
        duty_to_warn: false,
    }
}

fn pool_marking(i: usize) -> String {
    pool_label(i).marking_id().as_str().to_owned()
}

fn markings() -> Markings {
    let mut m = Markings::new();
    for i in 0..POOL.len() {
        m.insert(&pool_marking(i), Ok(pool_label(i)));
    }
    m
}

fn obj_id(ty: &str, n: usize) -> String {
    format!("{ty}--00000000-0000-4000-8000-{n:012}")
}

#[derive(Debug, Clone)]
struct Obj {
    ty: usize,
    label: Option<usize>,
    desc_mark: Option<usize>,
    refs: Vec<usize>,
    tearline_of: Option<usize>,
    tags: Vec<&'static str>,
}

/// A `derived-from` edge: objects[derived] is derived from objects[source], or from an
/// object that is not held when `source` is `None`.
#[derive(Debug, Clone)]
struct Edge {
    derived: usize,
    source: Option<usize>,
    label: Option<usize>,
}

#[derive(Debug, Clone)]
struct Spec {
    objs: Vec<Obj>,
    edges: Vec<Edge>,
    consents: Vec<(usize, usize, usize)>,
    agreements: Vec<Agreement>,
}

impl Spec {
    fn id(&self, i: usize) -> String {
        obj_id(TYPES[self.objs[i].ty], i)
    }

    fn missing_id(k: usize) -> String {
        obj_id("report", 10_000 + k)
    }

    fn rel_id(k: usize) -> String {
        obj_id("relationship", 1_000 + k)
    }

    fn object_json(&self, i: usize) -> Value {
        let o = &self.objs[i];
        let ty = TYPES[o.ty];
        let mut m = Map::new();
        m.insert("type".into(), ty.into());
        m.insert("spec_version".into(), "2.1".into());
        m.insert("id".into(), self.id(i).into());
        m.insert("created".into(), T.into());
        m.insert("modified".into(), T.into());
        m.insert("name".into(), format!("{ty} {i}").into());
        match ty {
            "indicator" => {
                m.insert(
                    "pattern".into(),
                    "[ipv4-addr:value = '198.51.100.1']".into(),
                );
                m.insert("pattern_type".into(), "stix".into());
                m.insert("valid_from".into(), T.into());
            }
            "malware" => {
                m.insert("is_family".into(), true.into());
            }
            "report" => {
                m.insert("published".into(), T.into());
                let mut refs: Vec<Value> = o
                    .refs
                    .iter()
                    .map(|r| Value::from(self.id(*r % self.objs.len())))
                    .collect();
                refs.push(Self::missing_id(i).into());
                m.insert("object_refs".into(), refs.into());
            }
            _ => {}
        }
        if !o.tags.is_empty() {
            m.insert("labels".into(), o.tags.clone().into());
        }
        if let Some(l) = o.label {
            m.insert("object_marking_refs".into(), json!([pool_marking(l)]));
        }
        m.insert("description".into(), "sources and methods".into());
        if let Some(d) = o.desc_mark {
            m.insert(
                "granular_markings".into(),
                json!([{"marking_ref": pool_marking(d), "selectors": ["description"]}]),
            );
        }
        if let Some(t) = o.tearline_of {
            m.insert(
                "extensions".into(),
                json!({LIAISON_EXTENSION_ID: {"extension_type": "property-extension", "tearline_of": self.id(t % self.objs.len())}}),
            );
        }
        Value::Object(m)
    }

    fn edge_json(&self, k: usize) -> Value {
        let e = &self.edges[k];
        let source = match e.source {
            Some(s) => self.id(s % self.objs.len()),
            None => Self::missing_id(1_000 + k),
        };
        let mut v = json!({"type": "relationship", "spec_version": "2.1", "id": Self::rel_id(k), "created": T,
            "modified": T, "relationship_type": "derived-from",
            "source_ref": self.id(e.derived % self.objs.len()), "target_ref": source});
        if let Some(l) = e.label {
            v["object_marking_refs"] = json!([pool_marking(l)]);
        }
        v
    }

    fn stix(&self) -> Vec<StixObject> {
        let values = (0..self.objs.len())
            .map(|i| self.object_json(i))
            .chain((0..self.edges.len()).map(|k| self.edge_json(k)));
        values
            .map(|v| {
                let doc = parse_document(&v.to_string()).unwrap();
                doc.objects.into_iter().next().unwrap()
            })
            .collect()
    }

    fn world(&self, objects: &[StixObject]) -> World {
        let mut w = World::build(party(US), markings(), objects.iter().map(Item::of));
        self.add_consents(&mut w);
        w
    }

    fn add_consents(&self, w: &mut World) {
        for (o, to, by) in &self.consents {
            w.add_consent(&Consent {
                object: self.id(*o % self.objs.len()),
                to: party(PARTNERS[*to % PARTNERS.len()]),
                by: party(CONSENTERS[*by % CONSENTERS.len()]),
            });
        }
    }

    /// The originator of object `i`'s own label, as the design says: its label's, or ours.
    fn originator(&self, i: usize) -> String {
        self.objs[i]
            .label
            .map_or(US.to_owned(), |l| POOL[l].1.to_owned())
    }

    /// Parents by my own reading of the design: `derived-from` edges, and a tear line whose
    /// originator is not its original's is derived from the original. `None`: not held.
    fn parents(&self) -> BTreeMap<usize, Vec<Option<usize>>> {
        let n = self.objs.len();
        let mut p: BTreeMap<usize, Vec<Option<usize>>> = BTreeMap::new();
        for e in &self.edges {
            p.entry(e.derived % n)
                .or_default()
                .push(e.source.map(|s| s % n));
        }
        for (i, o) in self.objs.iter().enumerate() {
            if let Some(t) = o.tearline_of.map(|t| t % n) {
                if t != i && self.originator(i) != self.originator(t) {
                    p.entry(i).or_default().push(Some(t));
                }
            }
        }
        p
    }
}

/// Whether a label passes the label rules for the agreement's partner: not NOFORN, the
/// partner in `rel_to`, at or below the ceiling, every compartment cleared.
fn passes(r: &Restriction, a: &Agreement) -> bool {
    !r.controls.contains(&Control::Noforn)
        && r.rel_to.contains(&a.party)
        && r.classification <= a.ceiling
        && r.compartments.iter().all(|c| a.compartments.contains(c))
}

fn own_passes(spec: &Spec, i: Option<usize>, a: &Agreement) -> bool {
    let Some(i) = i else { return false };
    let label = match spec.objs[i].label {
        Some(l) => pool_label(l),
        None => return false, // owner only: never to a partner
    };
    passes(&Restriction::of(&label, Tetragraphs::current()), a)
}

/// Every reference value anywhere in the copy (not `id`, not markings).
fn refs(v: &Value, top: bool, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                if top && k == "id" {
                    continue;
                }
                match c {
                    Value::String(s) if k.ends_with("_ref") => out.push(s.clone()),
                    Value::Array(a) if k.ends_with("_refs") => {
                        for x in a {
                            match x {
                                Value::String(s) => out.push(s.clone()),
                                other => refs(other, false, out),
                            }
                        }
                    }
                    other => refs(other, false, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, false, out)),
        _ => {}
    }
    out.retain(|r| {
        !r.starts_with("marking-definition--") && !r.starts_with("extension-definition--")
    });
}

fn agreement_strategy() -> impl Strategy<Value = Agreement> {
    (
        0..PARTNERS.len(),
        0..Classification::ALL.len(),
        any::<bool>(),
        0..Tlp::ALL.len(),
        prop::option::of(prop::collection::btree_set(0..TYPES.len(), 1..TYPES.len())),
        any::<bool>(),
    )
        .prop_map(|(p, c, si, tlp, types, topics)| Agreement {
            party: party(PARTNERS[p]),
            ceiling: Classification::ALL[c],
            compartments: if si {
                BTreeSet::from(["SI".to_owned()])
            } else {
                BTreeSet::new()
            },
            scope: Scope {
                types: types.map(|t| {
                    let mut s: BTreeSet<String> =
                        t.into_iter().map(|i| TYPES[i].to_owned()).collect();
                    s.insert("relationship".into());
                    s
                }),
                max_tlp: Tlp::ALL[tlp],
                topics: topics.then(|| BTreeSet::from(["terrorism".to_owned()])),
            },
            reciprocity: liaison_policy::Reciprocity::default(),
            matching: None,
        })
}

fn label_strategy() -> impl Strategy<Value = Option<usize>> {
    prop_oneof![1 => Just(None), 6 => (0..POOL.len()).prop_map(Some)]
}

fn spec_strategy() -> impl Strategy<Value = Spec> {
    (5usize..30, any::<bool>()).prop_flat_map(|(n, cyclic)| {
        let obj = (
            0..TYPES.len(),
            label_strategy(),
            prop::option::weighted(0.4, 0..POOL.len()),
            prop::collection::vec(0..n, 1..4),
            prop::option::weighted(0.15, 0..n),
            prop::sample::subsequence(vec!["terrorism", "crime"], 0..=2),
        )
            .prop_map(|(ty, label, desc_mark, refs, tearline_of, tags)| Obj {
                ty,
                label,
                desc_mark,
                refs,
                tearline_of,
                tags,
            });
        let edge = (0..n, prop::option::weighted(0.95, 0..n), label_strategy()).prop_map(
            move |(a, b, label)| {
                // Acyclic unless this world allows cycles: derived from something added earlier.
                let source = match b {
                    Some(b) if !cyclic && b >= a => (a > 0).then(|| b % a),
                    other => other,
                };
                Edge {
                    derived: a,
                    source,
                    label,
                }
            },
        );
        (
            prop::collection::vec(obj, n),
            prop::collection::vec(edge, 0..n),
            prop::collection::vec((0..n, 0..PARTNERS.len(), 0..CONSENTERS.len()), 0..6),
            prop::collection::vec(agreement_strategy(), 1..4),
        )
            .prop_map(|(objs, edges, consents, agreements)| Spec {
                objs,
                edges,
                consents,
                agreements,
            })
    })
}

/// DFS ancestors over my own edges; `None` in the result is an ancestor that is not held.
fn ancestors(parents: &BTreeMap<usize, Vec<Option<usize>>>, i: usize) -> Vec<Option<usize>> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    let mut stack: Vec<Option<usize>> = parents.get(&i).cloned().unwrap_or_default();
    while let Some(p) = stack.pop() {
        match p {
            None => out.push(None),
            Some(p) => {
                if seen.insert(p) {
                    out.push(Some(p));
                    stack.extend(parents.get(&p).cloned().unwrap_or_default());
                }
            }
        }
    }
    out
}

fn check_safety(spec: &Spec) -> Result<(), TestCaseError> {
    let objects = spec.stix();
    let w = spec.world(&objects);
    let parents = spec.parents();
    let n = spec.objs.len();
    for a in &spec.agreements {
        let mut judge = Judge::new(&w, a);
        for (k, o) in objects.iter().enumerate() {
            let ix = w.lookup(o.id().as_str()).unwrap();
            let d = judge.decide(ix);
            // Determinism: a fresh judge agrees with the reused one.
            prop_assert_eq!(&Judge::new(&w, a).decide(ix), &d);
            if d.verdict != Verdict::Release {
                prop_assert!(!d.reasons.is_empty());
                continue;
            }
            prop_assert!(d.reasons.is_empty());
            let Ok(delivered) = cut_for(&mut judge, ix, o) else {
                continue;
            };
            let copy = Value::Object(delivered.object.clone().into_owned());
            prop_assert!(
                StixObject::from_props(delivered.object.clone().into_owned()).is_ok(),
                "{}",
                copy
            );
            // No reference to anything the partner does not get.
            let mut found = Vec::new();
            refs(&copy, true, &mut found);
            for r in found {
                let target = w.lookup(&r).map(|t| Judge::new(&w, a).decide(t).verdict);
                prop_assert_eq!(
                    target,
                    Some(Verdict::Release),
                    "{} -> {} for {}",
                    o.id(),
                    r,
                    a.party
                );
            }
            // No field under a marking the partner may not see.
            if let Some(gm) = copy.get("granular_markings").and_then(Value::as_array) {
                for g in gm {
                    let m = g["marking_ref"].as_str().unwrap();
                    let i = (0..POOL.len()).find(|i| pool_marking(*i) == m).unwrap();
                    prop_assert!(passes(
                        &Restriction::of(&pool_label(i), Tetragraphs::current()),
                        a
                    ));
                }
            }
            if k < n {
                if let Some(dm) = spec.objs[k].desc_mark {
                    if !passes(&Restriction::of(&pool_label(dm), Tetragraphs::current()), a) {
                        prop_assert!(copy.get("description").is_none(), "{}", copy);
                    }
                }
            }
            // Monotone through derivation: every ancestor's own label passes, none is on a
            // cycle, and each is held.
            let me = if k < n {
                Some(k)
            } else {
                spec.edges.get(k - n).map(|e| e.derived % n)
            };
            let Some(me) = me else { continue };
            let mut chain = ancestors(&parents, me);
            if k >= n {
                // A derived-from relationship is not itself derived: only its ends matter.
                chain.clear();
            }
            for anc in chain {
                prop_assert!(
                    own_passes(spec, anc, a),
                    "{} released to {} though ancestor {:?} fails",
                    o.id(),
                    a.party,
                    anc
                );
                if let Some(x) = anc {
                    prop_assert!(
                        !ancestors(&parents, x).contains(&Some(x)),
                        "ancestor {} is on a cycle",
                        x
                    );
                }
            }
            // The third-party rule: every ORCON ancestor of another originator has consent.
            if k < n {
                for anc in std::iter::once(Some(k))
                    .chain(ancestors(&parents, k))
                    .flatten()
                {
                    let Some(l) = spec.objs[anc].label else {
                        continue;
                    };
                    let (banner, org) = POOL[l];
                    if banner.contains("ORCON") && org != US && org != a.party.as_str() {
                        // A consent covers its object and what derives from it: one on
                        // the source or above it, or on a derivative of the source on the
                        // way down to the released object.
                        let below = std::iter::once(k)
                            .chain(ancestors(&parents, k).into_iter().flatten())
                            .filter(|c| ancestors(&parents, *c).contains(&Some(anc)));
                        let covered = std::iter::once(anc)
                            .chain(ancestors(&parents, anc).into_iter().flatten())
                            .chain(below)
                            .any(|c| {
                                spec.consents.iter().any(|(co, to, by)| {
                                    co % n == c
                                        && PARTNERS[*to % PARTNERS.len()] == a.party.as_str()
                                        && CONSENTERS[*by % CONSENTERS.len()] == org
                                })
                            });
                        prop_assert!(
                            covered,
                            "{} released to {} without {}'s consent for {}",
                            o.id(),
                            a.party,
                            org,
                            anc
                        );
                    }
                }
            }
        }
    }
    Ok(())
}

type View = BTreeMap<String, Result<Restriction, Fault>>;

fn view(w: &World, ids: &[String]) -> View {
    ids.iter()
        .map(|id| {
            (
                id.clone(),
                w.lookup(id)
                    .map_or(Err(Fault::Cycle), |ix| w.effective(ix).cloned()),
            )
        })
        .collect()
}

fn decisions(
    w: &World,
    spec: &Spec,
    ids: &[String],
) -> BTreeMap<(String, String), (Verdict, Vec<ReasonCode>)> {
    let mut out = BTreeMap::new();
    for a in &spec.agreements {
        let mut j = Judge::new(w, a);
        for id in ids {
            if let Some(ix) = w.lookup(id) {
                let d = j.decide(ix);
                out.insert(
                    (a.party.to_string(), id.clone()),
                    (d.verdict, d.reasons.iter().map(|r| r.code).collect()),
                );
            }
        }
    }
    out
}

/// Builds from a prefix, then upserts the rest in the given order, some of them first in an
/// older version (another label, another tear-line claim) that the final one replaces.
fn incremental(spec: &Spec, prefix: usize, order: &[usize], stale: &[usize]) -> World {
    let objects = spec.stix();
    let prefix = prefix.min(objects.len());
    let mut w = World::build(
        party(US),
        markings(),
        objects.iter().take(prefix).map(Item::of),
    );
    spec.add_consents(&mut w);
    let rest: Vec<usize> = {
        let mut r: Vec<usize> = (prefix..objects.len()).collect();
        // Apply the permutation to what is left.
        let mut keyed: Vec<(usize, usize)> = r
            .iter()
            .enumerate()
            .map(|(i, x)| (order.get(i).copied().unwrap_or(i), *x))
            .collect();
        keyed.sort();
        r = keyed.into_iter().map(|(_, x)| x).collect();
        r
    };
    for &x in stale {
        let x = x % objects.len();
        let mut old = Item::of(&objects[x]);
        old.markings = vec![pool_marking(x)];
        old.tearline_of = Some(spec.id(x * 7 % spec.objs.len()));
        if old.derivation.is_some() {
            old.derivation = Some((
                spec.id(x % spec.objs.len()),
                spec.id((x + 1) % spec.objs.len()),
            ));
        }
        w.upsert(&old);
    }
    for x in rest.iter().chain(
        stale
            .iter()
            .map(|s| s % objects.len())
            .collect::<BTreeSet<_>>()
            .iter()
            .filter(|s| **s < prefix),
    ) {
        w.upsert(&Item::of(&objects[*x]));
    }
    w
}

fn all_ids(spec: &Spec) -> Vec<String> {
    let n = spec.objs.len();
    let mut ids: Vec<String> = (0..n).map(|i| spec.id(i)).collect();
    ids.extend((0..spec.edges.len()).map(Spec::rel_id));
    ids.extend((0..n).map(Spec::missing_id));
    ids.extend((0..spec.edges.len()).map(|k| Spec::missing_id(1_000 + k)));
    ids
}

/// What goes to each partner: the ids released, and the tear lines that go instead.
fn going(w: &World, spec: &Spec, objects: &[StixObject]) -> BTreeMap<String, BTreeSet<String>> {
    let mut out = BTreeMap::new();
    for a in &spec.agreements {
        let mut j = Judge::new(w, a);
        let set: &mut BTreeSet<String> = out.entry(a.party.to_string()).or_default();
        for o in objects {
            let Some(ix) = w.lookup(o.id().as_str()) else {
                continue;
            };
            let d = j.decide(ix);
            match d.verdict {
                Verdict::Release => {
                    // Only a copy the cuts leave whole goes.
                    if cut_for(&mut j, ix, o).is_ok() {
                        set.insert(o.id().to_string());
                    }
                }
                Verdict::Tearline => {
                    set.extend(d.tearline.map(|t| format!("{} (tear line)", w.id(t))));
                }
                Verdict::Withhold => {}
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// An officer's hold is only ever one more withhold: with any holds placed, every partner
    /// receives a subset of what it receives without them, a held object never goes to the
    /// partner it is held from, and deciding stays deterministic.
    #[test]
    fn a_hold_never_makes_any_partner_receive_more(
        spec in spec_strategy(),
        holds in prop::collection::vec((0usize..60, 0..PARTNERS.len()), 1..5),
    ) {
        let objects = spec.stix();
        let without = spec.world(&objects);
        let mut with = spec.world(&objects);
        let n = objects.len();
        let mut held: BTreeSet<(String, String)> = BTreeSet::new();
        for (o, p) in &holds {
            let id = objects[o % n].id().to_string();
            with.add_hold(&Hold {
                object: id.clone(),
                to: party(PARTNERS[*p]),
                by: "otto".into(),
                at: T.into(),
                reason: "review".into(),
            });
            held.insert((PARTNERS[*p].to_owned(), id));
        }
        let before = going(&without, &spec, &objects);
        let after = going(&with, &spec, &objects);
        for (p, got) in &after {
            let had = before.get(p).cloned().unwrap_or_default();
            prop_assert!(got.is_subset(&had), "{} receives more with holds: {:?}", p, got.difference(&had).collect::<Vec<_>>());
        }
        for a in &spec.agreements {
            let mut j = Judge::new(&with, a);
            for (p, id) in &held {
                if a.party.as_str() != p {
                    continue;
                }
                let ix = with.lookup(id).unwrap();
                let d = j.decide(ix);
                prop_assert_eq!(d.verdict, Verdict::Withhold, "{} held from {}: {:?}", id, p, d.reasons);
                prop_assert!(d.reasons.iter().any(|r| r.code == ReasonCode::HeldByOfficer));
                prop_assert_eq!(&Judge::new(&with, a).decide(ix), &d);
            }
        }
    }

    #[test]
    fn partner_copy_never_holds_what_the_policy_withholds(spec in spec_strategy()) {
        check_safety(&spec)?;
    }

    #[test]
    fn incremental_upserts_equal_a_batch_build(
        spec in spec_strategy(),
        prefix in 0usize..60,
        order in prop::collection::vec(0usize..1000, 60),
        stale in prop::collection::vec(0usize..60, 0..4),
    ) {
        let objects = spec.stix();
        let batch = spec.world(&objects);
        let inc = incremental(&spec, prefix, &order, &stale);
        let ids = all_ids(&spec);
        prop_assert_eq!(view(&batch, &ids), view(&inc, &ids));
        prop_assert_eq!(decisions(&batch, &spec, &ids), decisions(&inc, &spec, &ids));
    }
}
