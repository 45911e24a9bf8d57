//! The curation engine end to end: one scenario per dependence rule and for its absence, a
//! report relayed through three partners, circular reporting, framing, and the properties
//! (incremental equals from scratch equals a naive pairwise reference; a dependent item never
//! raises a count).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};

use liaison_grading::{
    near_duplicate, Claim, EchoKind, Engine, Evidence, Item, Property, Reason, Signature,
};
use liaison_labels::Party;
use liaison_stix::Timestamp;
use proptest::prelude::*;

const REPORT: &str = "Between March and May the group known as Sandworm compromised the \
    networks of three regional energy distributors in western Ukraine. The intrusions began \
    with spear-phishing messages carrying macro-enabled documents that installed a loader, \
    which fetched a second-stage implant from servers hosted in the Netherlands. Operators \
    moved laterally with stolen domain credentials, mapped the industrial control networks, \
    and staged a wiper on engineering workstations two days before the outages.";

/// REPORT with four words changed, as a relaying service might reword it.
const PARAPHRASED: &str = "Between March and May the group known as Sandworm breached the \
    networks of three regional power distributors in western Ukraine. The intrusions began \
    with spear-phishing emails carrying macro-enabled documents that installed a loader, \
    which fetched a second-stage implant from servers located in the Netherlands. Operators \
    moved laterally with stolen domain credentials, mapped the industrial control networks, \
    and staged a wiper on engineering workstations two days before the outages.";

/// A different report on the same actor.
const OTHER: &str = "Sandworm, the group known as a unit of the GRU, deployed a new variant \
    of its Industroyer malware against a substation operator in the Kyiv region in April. The \
    variant speaks IEC-104 directly and was configured for the victim's own equipment, which \
    suggests weeks of reconnaissance beforehand. Analysts found the accompanying wiper on \
    Linux servers and Solaris hosts as well.";

fn party(p: &str) -> Party {
    Party::parse(p).unwrap()
}

fn at(second: u32) -> Timestamp {
    Timestamp::parse(&format!(
        "2026-01-01T00:{:02}:{:02}Z",
        second / 60 % 60,
        second % 60
    ))
    .unwrap()
}

fn ip(v: &str) -> Claim {
    Claim::Indicator { value: v.into() }
}

/// An item of `originator`, arrived from `source` at second `t`, asserting `claims`.
fn item(id: &str, originator: &str, source: &str, t: u32, claims: &[Claim]) -> Item {
    Item {
        id: id.into(),
        originator: party(originator),
        source: party(source),
        derived_from: Vec::new(),
        signature: None,
        our_marks: None,
        grading: None,
        time: at(t),
        claims: claims.to_vec(),
    }
}

fn with_text(mut i: Item, text: &str) -> Item {
    i.signature = Signature::of_text(text);
    i
}

fn derived(mut i: Item, parents: &[&str]) -> Item {
    i.derived_from = parents.iter().map(|p| p.to_string()).collect();
    i
}

fn engine(items: Vec<Item>) -> Engine {
    let mut e = Engine::new(party("USA"));
    for i in items {
        e.add(i).unwrap();
    }
    e
}

fn member(e: &Engine, claim: &Claim, id: &str) -> liaison_grading::Member {
    let c = e.corroboration(claim).unwrap();
    c.clusters
        .into_iter()
        .flat_map(|c| c.members)
        .find(|m| m.id == id)
        .unwrap()
}

#[test]
fn two_genuinely_independent_sources_count_as_two() {
    let c = ip("198.51.100.7");
    let e = engine(vec![
        with_text(
            item("report--r", "RUS", "RUS", 1, std::slice::from_ref(&c)),
            REPORT,
        ),
        with_text(
            item("report--g", "GBR", "GBR", 2, std::slice::from_ref(&c)),
            OTHER,
        ),
    ]);
    assert_eq!(e.sources(&c), 2);
    let corr = e.corroboration(&c).unwrap();
    assert!(corr
        .clusters
        .iter()
        .all(|cl| cl.members.len() == 1 && cl.members[0].reason == Reason::Independent));
    assert!(e.assess("report--r").unwrap().corroborated);
    // RUS's report was corroborated when GBR's arrived.
    let (by, when) = e.corroborated_by("report--r").unwrap();
    assert_eq!((by.as_str(), when), ("report--g", at(2)));
    assert_eq!(e.echoes().count(), 0);
}

#[test]
fn shared_originator_is_one_source() {
    let c = ip("198.51.100.7");
    let e = engine(vec![
        item("indicator--a", "RUS", "RUS", 1, std::slice::from_ref(&c)),
        // RUS's reporting relayed by GBR under RUS's label: still RUS.
        item("indicator--b", "RUS", "GBR", 2, std::slice::from_ref(&c)),
    ]);
    assert_eq!(e.sources(&c), 1);
    let m = member(&e, &c, "indicator--b");
    assert_eq!(m.reason, Reason::SharedOriginator);
    assert_eq!(m.relayed_from.as_deref(), Some("indicator--a"));
    assert_eq!(m.reason.as_str(), "shared-originator");
    assert!(!e.assess("indicator--a").unwrap().corroborated);
    assert_eq!(e.corroborated_by("indicator--b"), None);
}

#[test]
fn common_ancestor_several_hops_up_even_when_the_middle_arrives_last() {
    let c = Claim::Attribution {
        from: "campaign--x".into(),
        to: "intrusion-set--sandworm".into(),
    };
    let items = vec![
        derived(
            item("report--g", "GBR", "GBR", 5, std::slice::from_ref(&c)),
            &["report--p2"],
        ),
        derived(
            item("report--f", "FRA", "FRA", 6, std::slice::from_ref(&c)),
            &["report--root"],
        ),
        item("report--root", "DEU", "DEU", 1, &[]),
        derived(item("report--p1", "ITA", "ITA", 2, &[]), &["report--root"]),
        // The link between report--g and the root arrives last.
        derived(item("report--p2", "ESP", "ESP", 3, &[]), &["report--p1"]),
    ];
    let mut e = Engine::new(party("USA"));
    let mut counts = Vec::new();
    for i in items {
        e.add(i).unwrap();
        counts.push(e.sources(&c));
    }
    // Two until the chain report--g -> p2 -> p1 -> root is complete, then one.
    assert_eq!(counts, vec![1, 2, 2, 2, 1]);
    let m = member(&e, &c, "report--f");
    assert_eq!(m.reason, Reason::CommonAncestor);
    assert_eq!(
        m.evidence,
        Some(Evidence::Ancestor {
            id: "report--root".into()
        })
    );
}

#[test]
fn near_duplicate_after_a_paraphrase_of_a_few_words() {
    let c = ip("203.0.113.9");
    let a = Signature::of_text(REPORT).unwrap();
    let b = Signature::of_text(PARAPHRASED).unwrap();
    assert!(near_duplicate(&a, &b).is_some());
    let e = engine(vec![
        with_text(
            item("report--r", "RUS", "RUS", 1, std::slice::from_ref(&c)),
            REPORT,
        ),
        with_text(
            item("report--g", "GBR", "GBR", 2, std::slice::from_ref(&c)),
            PARAPHRASED,
        ),
    ]);
    assert_eq!(e.sources(&c), 1);
    let m = member(&e, &c, "report--g");
    assert_eq!(m.reason, Reason::NearDuplicate);
    assert!(matches!(m.evidence, Some(Evidence::Similarity { value }) if value >= 0.5));
    // GBR's copy of RUS's report, RUS's own copy held: circular, with the similarity named.
    let echo = e.echo("report--g").unwrap();
    assert_eq!(echo.kind, EchoKind::AlreadyHeld);
    assert_eq!(echo.echoes.as_deref(), Some("report--r"));
    assert_eq!(echo.echoes_from, Some(party("RUS")));
}

#[test]
fn our_marks_are_our_reporting_echoed_back() {
    let c = ip("192.0.2.1");
    let mut back = item(
        "indicator--re-minted",
        "RUS",
        "RUS",
        2,
        std::slice::from_ref(&c),
    );
    // What the mark reader found on a copy RUS re-serialised with new ids.
    back.our_marks = Some("order and form marks of RUS's copy".into());
    let e = engine(vec![
        item("indicator--ours", "USA", "USA", 1, std::slice::from_ref(&c)),
        back,
    ]);
    assert_eq!(e.sources(&c), 1);
    let m = member(&e, &c, "indicator--re-minted");
    assert_eq!(m.reason, Reason::OurMarks);
    let echo = e.echo("indicator--re-minted").unwrap();
    assert_eq!(echo.kind, EchoKind::OwnReporting);
    assert!(matches!(echo.evidence, Evidence::Marks { .. }));
    assert!(e.echo("indicator--ours").is_none());
}

#[test]
fn one_report_relayed_through_three_partners_is_one_source() {
    let c = Claim::Characterisation {
        entity: "sandworm".into(),
        property: Property::ThreatActorTypes,
        value: "terrorist".into(),
    };
    let e = engine(vec![
        with_text(
            item("report--rus", "RUS", "RUS", 1, std::slice::from_ref(&c)),
            REPORT,
        ),
        derived(
            with_text(
                item("report--gbr", "GBR", "GBR", 2, std::slice::from_ref(&c)),
                PARAPHRASED,
            ),
            &["report--rus"],
        ),
        derived(
            item("report--fra", "FRA", "FRA", 3, std::slice::from_ref(&c)),
            &["report--gbr"],
        ),
        with_text(
            item("report--deu", "DEU", "DEU", 4, std::slice::from_ref(&c)),
            PARAPHRASED,
        ),
    ]);
    assert_eq!(e.sources(&c), 1);
    let corr = e.corroboration(&c).unwrap();
    let cluster = &corr.clusters[0];
    assert_eq!(cluster.source, "report--rus");
    let relays: Vec<(&str, &str, Reason)> = cluster
        .members
        .iter()
        .skip(1)
        .map(|m| (m.id.as_str(), m.relayed_from.as_deref().unwrap(), m.reason))
        .collect();
    assert_eq!(
        relays,
        vec![
            ("report--gbr", "report--rus", Reason::CommonAncestor),
            ("report--fra", "report--gbr", Reason::CommonAncestor),
            ("report--deu", "report--rus", Reason::NearDuplicate),
        ]
    );
    for relay in ["report--gbr", "report--fra", "report--deu"] {
        let echo = e.echo(relay).unwrap();
        assert_eq!(echo.kind, EchoKind::AlreadyHeld, "{relay}");
        assert_eq!(echo.echoes.as_deref(), Some("report--rus"));
    }
}

#[test]
fn the_true_source_arriving_after_its_relay_flags_the_relay() {
    let c = ip("198.51.100.7");
    let mut e = Engine::new(party("USA"));
    let first = e
        .add(with_text(
            item("report--gbr", "GBR", "GBR", 2, std::slice::from_ref(&c)),
            PARAPHRASED,
        ))
        .unwrap();
    assert!(first.echo.is_none());
    let second = e
        .add(with_text(
            item("report--rus", "RUS", "RUS", 1, std::slice::from_ref(&c)),
            REPORT,
        ))
        .unwrap();
    assert!(second.echo.is_none());
    assert_eq!(second.echoes.len(), 1);
    assert_eq!(second.echoes[0].item, "report--gbr");
    assert_eq!(second.echoes[0].after, Some(EchoKind::AlreadyHeld));
    assert_eq!(second.claims[0].before, 1);
    assert_eq!(second.claims[0].after, 1);
    // The earliest is the source, whatever the arrival order.
    assert_eq!(
        e.corroboration(&c).unwrap().clusters[0].source,
        "report--rus"
    );
}

#[test]
fn rus_report_relayed_back_through_gbr_counts_once_and_is_circular() {
    // Our report, leaked to RUS, re-issued by RUS, and relayed to us by GBR.
    let c = ip("203.0.113.50");
    let e = engine(vec![
        with_text(
            item("report--ours", "USA", "USA", 1, std::slice::from_ref(&c)),
            REPORT,
        ),
        derived(
            with_text(
                item("report--gbr", "RUS", "GBR", 3, std::slice::from_ref(&c)),
                PARAPHRASED,
            ),
            &["report--rus"],
        ),
    ]);
    assert_eq!(e.sources(&c), 1);
    let echo = e.echo("report--gbr").unwrap();
    assert_eq!(echo.kind, EchoKind::OwnReporting);
    assert_eq!(echo.echoes.as_deref(), Some("report--ours"));
}

#[test]
fn framing_of_a_nationalist_group() {
    let tat = |entity: &str, value: &str| Claim::Characterisation {
        entity: entity.into(),
        property: Property::ThreatActorTypes,
        value: value.into(),
    };
    let e = engine(vec![
        item(
            "threat-actor--r1",
            "RUS",
            "RUS",
            1,
            &[tat("g1", "terrorist")],
        ),
        item(
            "threat-actor--r2",
            "RUS",
            "RUS",
            2,
            &[tat("g2", "terrorist")],
        ),
        item(
            "threat-actor--r3",
            "RUS",
            "RUS",
            3,
            &[tat("g3", "terrorist")],
        ),
        // RUS's characterisation relayed by GBR is not another source.
        item(
            "threat-actor--rg",
            "RUS",
            "GBR",
            4,
            &[tat("g2", "terrorist")],
        ),
        item(
            "threat-actor--g1",
            "GBR",
            "GBR",
            5,
            &[tat("g1", "nationalist")],
        ),
        item(
            "threat-actor--g3",
            "GBR",
            "GBR",
            6,
            &[tat("g3", "terrorist")],
        ),
        item(
            "threat-actor--u1",
            "USA",
            "USA",
            7,
            &[tat("g1", "activist")],
        ),
    ]);
    let f = e.framing(&party("RUS"));
    assert_eq!(f.divergences.len(), 1);
    let d = &f.divergences[0];
    assert_eq!(
        d.summary(&f.partner),
        "RUS calls 2 entities `terrorist` (threat_actor_types) that no independent source does"
    );
    let entities: Vec<&str> = d.entities.iter().map(|x| x.entity.as_str()).collect();
    assert_eq!(entities, vec!["g1", "g2"]);
    assert_eq!(
        d.entities[0].others.get("nationalist"),
        Some(&vec![party("GBR")])
    );
    assert_eq!(d.entities[0].ours, vec!["activist".to_string()]);
    assert_eq!(d.entities[1].items.len(), 2);
    assert!(e.framing(&party("GBR")).divergences[0]
        .entities
        .iter()
        .all(|x| x.entity == "g1"));
}

#[test]
fn a_held_id_is_not_added_twice() {
    let mut e = engine(vec![item("indicator--a", "RUS", "RUS", 1, &[])]);
    assert!(e.add(item("indicator--a", "GBR", "GBR", 2, &[])).is_err());
    assert_eq!(e.len(), 1);
}

// ---- Properties ---------------------------------------------------------------------------

const PARTIES: [&str; 5] = ["USA", "RUS", "GBR", "FRA", "DEU"];
const TEXTS: [&str; 3] = [REPORT, OTHER, PARAPHRASED];

/// One generated item: indices into the tables above.
#[derive(Debug, Clone)]
struct Spec {
    originator: usize,
    source: usize,
    parents: Vec<usize>,
    text: Option<(usize, usize)>,
    marks: bool,
    time: u32,
    claims: Vec<usize>,
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        0..PARTIES.len(),
        0..PARTIES.len(),
        prop::collection::vec(0..30usize, 0..3),
        prop::option::weighted(0.5, (0..TEXTS.len(), 0..4usize)),
        prop::bool::weighted(0.1),
        0..40u32,
        prop::collection::vec(0..5usize, 0..3),
    )
        .prop_map(
            |(originator, source, parents, text, marks, time, claims)| Spec {
                originator,
                source,
                parents,
                text,
                marks,
                time,
                claims,
            },
        )
}

/// A text variant: `n` words of the base text replaced.
fn text(base: usize, n: usize) -> String {
    let mut words: Vec<String> = TEXTS[base].split(' ').map(str::to_owned).collect();
    for k in 0..n {
        let at = (k * 17 + 5) % words.len();
        words[at] = format!("changed{k}");
    }
    words.join(" ")
}

fn build(specs: &[Spec]) -> Vec<Item> {
    specs
        .iter()
        .enumerate()
        .map(|(k, s)| Item {
            id: format!("x--{k}"),
            originator: party(PARTIES[s.originator]),
            source: party(PARTIES[s.source]),
            // Ids past the end name items never held.
            derived_from: s.parents.iter().map(|p| format!("x--{p}")).collect(),
            signature: s.text.and_then(|(b, n)| Signature::of_text(&text(b, n))),
            our_marks: s.marks.then(|| "marks".to_owned()),
            grading: None,
            time: at(s.time),
            claims: s
                .claims
                .iter()
                .map(|c| ip(&format!("10.0.0.{c}")))
                .collect(),
        })
        .collect()
}

type Flags = BTreeMap<String, (EchoKind, Option<String>)>;

fn observed(e: &Engine) -> (BTreeMap<String, usize>, Flags) {
    let counts = e.claims().map(|(c, n)| (c.to_string(), n)).collect();
    let flags = e.echoes().map(|x| (x.item, (x.kind, x.echoes))).collect();
    (counts, flags)
}

/// The rules applied pairwise, from scratch, with no index: the reference.
fn naive(items: &[Item]) -> (BTreeMap<String, usize>, Flags) {
    let us = party("USA");
    let by_id: BTreeMap<&str, &Item> = items.iter().map(|i| (i.id.as_str(), i)).collect();
    let ancestors_or_self = |i: &Item| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<String> = i.derived_from.clone();
        while let Some(a) = stack.pop() {
            if seen.insert(a.clone()) {
                if let Some(p) = by_id.get(a.as_str()) {
                    stack.extend(p.derived_from.iter().cloned());
                }
            }
        }
        seen.insert(i.id.clone());
        seen
    };
    let anc: Vec<BTreeSet<String>> = items.iter().map(ancestors_or_self).collect();
    let eff = |i: &Item| {
        if i.our_marks.is_some() {
            us.clone()
        } else {
            i.originator.clone()
        }
    };
    let lineage = |a: usize, b: usize| {
        !anc[a].is_disjoint(&anc[b])
            || matches!((&items[a].signature, &items[b].signature),
                (Some(x), Some(y)) if near_duplicate(x, y).is_some())
    };
    let depends = |a: usize, b: usize| eff(&items[a]) == eff(&items[b]) || lineage(a, b);
    let mut claims: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    for (k, i) in items.iter().enumerate() {
        for c in &i.claims {
            claims.entry(c.to_string()).or_default().insert(k);
        }
    }
    let counts = claims
        .into_iter()
        .map(|(c, members)| {
            let members: Vec<usize> = members.into_iter().collect();
            let mut root: Vec<usize> = (0..members.len()).collect();
            fn find(root: &mut Vec<usize>, x: usize) -> usize {
                if root[x] != x {
                    let r = find(root, root[x]);
                    root[x] = r;
                }
                root[x]
            }
            for x in 0..members.len() {
                for y in 0..x {
                    if depends(members[x], members[y]) {
                        let (rx, ry) = (find(&mut root, x), find(&mut root, y));
                        root[rx] = ry;
                    }
                }
            }
            let n = (0..members.len())
                .filter(|&x| find(&mut root, x) == x)
                .count();
            (c, n)
        })
        .collect();
    let mut flags = Flags::new();
    for (k, i) in items.iter().enumerate() {
        if i.source == us {
            continue;
        }
        if i.originator == us || i.our_marks.is_some() {
            flags.insert(i.id.clone(), (EchoKind::OwnReporting, None));
            continue;
        }
        let earliest = |pick: &dyn Fn(&Item) -> bool| {
            (0..items.len())
                .filter(|&j| j != k && lineage(k, j) && pick(&items[j]))
                .filter(|&j| (&items[j].time, &items[j].id) < (&i.time, &i.id))
                .min_by_key(|&j| (items[j].time.clone(), items[j].id.clone()))
        };
        if let Some(j) = earliest(&|j| eff(j) == us) {
            flags.insert(
                i.id.clone(),
                (EchoKind::OwnReporting, Some(items[j].id.clone())),
            );
        } else if let Some(j) =
            earliest(&|j| eff(j) != us && j.source == j.originator && j.source != i.source)
        {
            flags.insert(
                i.id.clone(),
                (EchoKind::AlreadyHeld, Some(items[j].id.clone())),
            );
        }
    }
    (counts, flags)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Items added one at a time in any order give what the from-scratch computation and
    /// the naive pairwise reference give. Up to 60 items over 5 claims: claims past the
    /// engine's pairwise limit (24 items) are clustered through its key maps instead.
    #[test]
    fn incremental_equals_from_scratch(
        specs in prop::collection::vec(spec(), 1..60),
        order in Just(()).prop_perturb(|_, mut rng| rng.random::<u64>()),
    ) {
        let items = build(&specs);
        let mut shuffled = items.clone();
        // A seeded Fisher-Yates shuffle.
        let mut state = order | 1;
        for k in (1..shuffled.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            shuffled.swap(k, (state % (k as u64 + 1)) as usize);
        }
        let incremental = engine(shuffled);
        let scratch = Engine::from_items(party("USA"), items.clone()).unwrap();
        let reference = naive(&items);
        prop_assert_eq!(&observed(&incremental), &reference);
        prop_assert_eq!(&observed(&scratch), &reference);
    }

    /// Removals and new versions (a removal, then the new item under the same id) mixed
    /// with additions leave what a build over the items left gives, after every step.
    #[test]
    fn removals_and_new_versions_equal_a_build_of_what_is_left(
        specs in prop::collection::vec(spec(), 1..40),
        steps in prop::collection::vec((0..3usize, any::<prop::sample::Index>(), spec()), 1..12),
    ) {
        let items = build(&specs);
        let mut e = engine(items.clone());
        let mut held = items;
        for (k, (what, pick, replacement)) in steps.into_iter().enumerate() {
            if held.is_empty() {
                break;
            }
            let at = pick.index(held.len());
            let id = held[at].id.clone();
            let before = observed(&e);
            let update = e.remove(&id).unwrap();
            prop_assert!(update.rechecked.contains(&id));
            prop_assert!(!e.holds(&id));
            // What a reader keeping flags beside the engine is told covers every change.
            let after = observed(&e);
            for (claim, n) in &after.0 {
                if before.0.get(claim) != Some(n) {
                    prop_assert!(update.claims.iter().any(|c| c.claim.to_string() == *claim
                        && c.after == *n), "{} changed unreported", claim);
                }
            }
            let items: BTreeSet<&String> = before.1.keys().chain(after.1.keys()).collect();
            for item in items {
                if before.1.get(item) != after.1.get(item) {
                    prop_assert!(update.rechecked.contains(item), "{}'s flag changed unreported", item);
                }
            }
            let old = held.remove(at);
            match what {
                // A deletion.
                0 => {}
                // A new version: other text, claims, parents and time under the same id.
                1 => {
                    let mut new = build(&[replacement]).remove(0);
                    new.id = old.id.clone();
                    e.add(new.clone()).unwrap();
                    held.push(new);
                }
                // Deleted, then something new arrives that may rest on it.
                _ => {
                    let mut new = build(&[replacement]).remove(0);
                    new.id = format!("y--{k}");
                    new.derived_from.push(old.id.clone());
                    e.add(new.clone()).unwrap();
                    held.push(new);
                }
            }
            prop_assert_eq!(e.len(), held.len());
            prop_assert_eq!(&observed(&e), &naive(&held), "after step {}", k);
            let scratch = Engine::from_items(party("USA"), held.clone()).unwrap();
            prop_assert_eq!(&observed(&e), &observed(&scratch));
        }
        prop_assert!(matches!(e.remove("x--never"), Err(liaison_grading::GradingError::NotHeld(_))));
    }

    /// Adding an item that depends on a held one (same originator, derived from it, a
    /// near-duplicate of it, or carrying our marks when it is ours), asserting only what the
    /// held one asserts, never raises any count of independent sources.
    #[test]
    fn a_dependent_item_never_raises_a_count(
        specs in prop::collection::vec(spec(), 1..25),
        pick in any::<prop::sample::Index>(),
        rule in 0..4usize,
        extra in spec(),
    ) {
        let items = build(&specs);
        let mut e = Engine::from_items(party("USA"), items.clone()).unwrap();
        let before: BTreeMap<String, usize> = observed(&e).0;
        let held = &items[pick.index(items.len())];
        let mut new = build(&[extra]).remove(0);
        new.id = "x--new".into();
        new.claims = held.claims.clone();
        match rule {
            0 => {
                new.originator = held.originator.clone();
                new.our_marks = held.our_marks.clone();
            }
            1 => new.derived_from.push(held.id.clone()),
            2 => {
                if held.signature.is_none() {
                    new.derived_from.push(held.id.clone());
                }
                new.signature = held.signature.clone();
            }
            _ => {
                // Our marks make it ours: dependent on the held item when that is ours.
                if held.our_marks.is_none() && held.originator != party("USA") {
                    new.derived_from.push(held.id.clone());
                }
                new.our_marks = Some("marks".into());
            }
        }
        let update = e.add(new).unwrap();
        for change in &update.claims {
            prop_assert!(change.after <= change.before, "{:?}", change);
        }
        for (claim, n) in observed(&e).0 {
            prop_assert!(n <= before.get(&claim).copied().unwrap_or(0), "{} rose", claim);
        }
    }
}
