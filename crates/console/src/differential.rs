//! The console's queues and inbox kept up to date from the change feed, against the same
//! built whole: a differential test. A node lives through a random history (our objects and
//! partners' under random labels, new versions, objects new to everyone, `derived-from`
//! links, other relationships, reports citing objects, tear lines, consents, agreement
//! changes, deletions of what a partner sent); the console's state is followed after some
//! steps (so changes also arrive several at a time). Whenever it is followed, each
//! partner's queue must equal `Node::preview` exactly (every decision, reason, cut, in
//! order) and the inbox rows (with their grading, corroboration and circular flags) must
//! equal the rows built whole from the store.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;

use liaison_labels::{Banner, Label, Party};
use liaison_release::{Followed, Holdings, IngestOptions, LogKeys, Node, Queue};
use liaison_stix::{parse_document, Timestamp, LIAISON_EXTENSION_ID};
use liaison_store::prelude::*;
use liaison_store::{NodeRecord, SqliteStore};
use proptest::prelude::*;
use serde_json::{json, Value};

use crate::pages::inbox::{follow, from_scratch, Inbox, Row};

const PARTNERS: [&str; 3] = ["GBR", "RUS", "FRA"];
/// Who an object comes from: us, or a partner.
const SOURCES: [Option<&str>; 3] = [None, Some("GBR"), Some("RUS")];
const OBJECTS: usize = 5;

/// Labels: (banner, originator). Released to some, withheld, ORCON, public, graded.
const BANNERS: [(&str, &str); 6] = [
    ("UNCLASSIFIED//REL TO USA, GBR, RUS, FRA", "USA"),
    ("SECRET//NOFORN", "USA"),
    ("SECRET//ORCON//REL TO USA, GBR, RUS, FRA", "ISR"),
    ("CONFIDENTIAL//REL TO USA, GBR", "GBR"),
    ("UNCLASSIFIED//REL TO USA, GBR, RUS, FRA//TLP:CLEAR", "USA"),
    ("UNCLASSIFIED//REL TO USA, RUS", "RUS"),
];

fn party(s: &str) -> Party {
    Party::parse(s).unwrap()
}

fn label(b: usize) -> Label {
    let (banner, originator) = BANNERS[b];
    Label {
        banner: banner.parse::<Banner>().unwrap(),
        originator: party(originator),
        grading: (b == 5).then(|| "B2".parse().unwrap()),
        duty_to_warn: false,
    }
}

fn mark(b: usize) -> String {
    label(b).marking_id().to_string()
}

/// Indicator `i` of source `s` (each source owns its own ids).
fn indicator_id(s: usize, i: usize) -> String {
    format!("indicator--00000000-0000-4000-8{s:03}-{:012}", i + 1)
}

#[derive(Debug, Clone)]
enum Step {
    /// A new version of indicator `i` of source `s` under label `b`, asserting pattern `v`.
    Version(usize, usize, usize, usize),
    /// An indicator no one held before, from source `s`, label `b`, pattern `v`.
    Fresh(usize, usize, usize),
    /// Our indicator `a` is derived from ours `b` (relationship `k`).
    Derive(usize, usize, usize),
    /// An `indicates` relationship between our `a` and `b`.
    Relate(usize, usize, usize),
    /// Report `k` from source `s` under label `b` citing that source's indicators in the mask.
    Report(usize, usize, usize, u8),
    /// A tear line of our indicator `i` under label `b`.
    Tearline(usize, usize),
    /// ISR consents to the release of our indicator `i` to a partner.
    Consent(usize, usize),
    /// A partner's agreement gets another ceiling.
    Agreement(usize, usize),
    /// Every version partner `s` sent of its indicator `i` is deleted.
    Delete(usize, usize),
    /// A release officer holds our indicator `i` from a partner.
    Hold(usize, usize),
    /// The hold on our indicator `i` for a partner is lifted.
    Lift(usize, usize),
}

fn steps() -> impl Strategy<Value = Vec<(Step, bool)>> {
    let one = prop_oneof![
        4 => (0..3usize, 0..OBJECTS, 0..BANNERS.len(), 0..3usize)
            .prop_map(|(s, i, b, v)| Step::Version(s, i, b, v)),
        4 => (0..3usize, 0..BANNERS.len(), 0..3usize).prop_map(|(s, b, v)| Step::Fresh(s, b, v)),
        1 => (0..OBJECTS, 0..OBJECTS, 0..2usize).prop_map(|(a, b, k)| Step::Derive(a, b, k)),
        1 => (0..OBJECTS, 0..OBJECTS, 0..2usize).prop_map(|(a, b, k)| Step::Relate(a, b, k)),
        2 => (0..3usize, 0..2usize, 0..BANNERS.len(), any::<u8>())
            .prop_map(|(s, k, b, m)| Step::Report(s, k, b, m)),
        1 => (0..OBJECTS, 0..BANNERS.len()).prop_map(|(i, b)| Step::Tearline(i, b)),
        1 => (0..OBJECTS, 0..PARTNERS.len()).prop_map(|(i, p)| Step::Consent(i, p)),
        1 => (0..PARTNERS.len(), 0..3usize).prop_map(|(p, c)| Step::Agreement(p, c)),
        1 => (1..3usize, 0..OBJECTS).prop_map(|(s, i)| Step::Delete(s, i)),
        1 => (0..OBJECTS, 0..PARTNERS.len()).prop_map(|(i, p)| Step::Hold(i, p)),
        1 => (0..OBJECTS, 0..PARTNERS.len()).prop_map(|(i, p)| Step::Lift(i, p)),
    ];
    (
        prop::collection::vec((0..BANNERS.len(), 0..3usize), OBJECTS),
        prop::collection::vec((one, any::<bool>()), 1..16),
    )
        .prop_map(|(labels, rest)| {
            labels
                .into_iter()
                .enumerate()
                .map(|(i, (b, v))| (Step::Version(0, i, b, v), false))
                .chain(rest)
                .collect()
        })
}

fn agreement(ceiling: usize) -> String {
    let ceiling = ["UNCLASSIFIED", "CONFIDENTIAL", "SECRET"][ceiling];
    format!("ceiling = \"{ceiling}\"\n[scope]\nmax_tlp = \"amber\"\n")
}

fn node() -> Node<SqliteStore> {
    let mut store = SqliteStore::in_memory().unwrap();
    store
        .init_node(&NodeRecord {
            party: "USA".into(),
            created: "2026-01-01T00:00:00.000Z".into(),
        })
        .unwrap();
    let keys = LogKeys::generate(&party("USA")).unwrap();
    let mut node = Node::with_store_and_keys(store, keys).unwrap();
    for p in PARTNERS {
        node.add_partner(&party(p), &agreement(2)).unwrap();
    }
    let labels: Vec<Value> = (0..BANNERS.len())
        .map(|b| Value::Object(label(b).to_marking_definition("2026-01-01T00:00:00.000Z")))
        .collect();
    ingest(&mut node, None, labels);
    node
}

fn ingest(node: &mut Node<SqliteStore>, from: Option<&str>, objects: Vec<Value>) {
    let doc = json!({"type": "bundle", "id": "bundle--5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "objects": objects});
    // A partner's change the store refuses (an object it does not own) is refused whole,
    // before anything is written: nothing to follow.
    let _ = node.ingest(
        &parse_document(&doc.to_string()).unwrap(),
        &IngestOptions {
            default_label: None,
            source: from.map(party),
        },
        &mut |_| {},
    );
}

fn indicator(id: &str, t: &str, b: usize, v: usize) -> Value {
    json!({"type": "indicator", "spec_version": "2.1", "id": id,
        "created": "2026-01-01T00:00:00.000Z", "modified": t, "name": format!("selector {v}"),
        "pattern": format!("[ipv4-addr:value = '198.51.100.{v}']"), "pattern_type": "stix",
        "valid_from": "2026-01-01T00:00:00Z", "labels": ["terrorism"],
        "object_marking_refs": [mark(b)]})
}

fn apply(node: &mut Node<SqliteStore>, step: &Step, n: usize) {
    let t = format!("2026-06-01T00:{:02}:{:02}.000Z", n / 60, n % 60);
    let rel = |kind: &str, k: usize, a: usize, b: usize| {
        let prefix = if kind == "derived-from" { 8 } else { 9 };
        json!({"type": "relationship", "spec_version": "2.1",
            "id": format!("relationship--00000000-0000-4000-{prefix}000-{:012}", k + 1),
            "created": "2026-01-01T00:00:00.000Z", "modified": t, "relationship_type": kind,
            "source_ref": indicator_id(0, a), "target_ref": indicator_id(0, b),
            "object_marking_refs": [mark(0)]})
    };
    match *step {
        Step::Version(s, i, b, v) => {
            ingest(
                node,
                SOURCES[s],
                vec![indicator(&indicator_id(s, i), &t, b, v)],
            );
        }
        Step::Fresh(s, b, v) => {
            ingest(
                node,
                SOURCES[s],
                vec![indicator(&indicator_id(s, 100 + n), &t, b, v)],
            );
        }
        Step::Derive(a, b, k) => ingest(node, None, vec![rel("derived-from", k, a, b)]),
        Step::Relate(a, b, k) => ingest(node, None, vec![rel("indicates", k, a, b)]),
        Step::Report(s, k, b, mask) => {
            let refs: Vec<String> = (0..OBJECTS)
                .filter(|i| mask & (1 << i) != 0)
                .map(|i| indicator_id(s, i))
                .collect();
            if refs.is_empty() {
                return;
            }
            let report = json!({"type": "report", "spec_version": "2.1",
                "id": format!("report--00000000-0000-4000-8{s:03}-{:012}", k + 1),
                "created": "2026-01-01T00:00:00.000Z", "modified": t, "name": "assessment",
                "published": "2026-01-01T00:00:00Z", "report_types": ["threat-report"],
                "object_refs": refs, "object_marking_refs": [mark(b)]});
            ingest(node, SOURCES[s], vec![report]);
        }
        Step::Tearline(i, b) => {
            let tearline = json!({"type": "indicator", "spec_version": "2.1",
                "id": format!("indicator--00000000-0000-4000-a000-{:012}", i + 1),
                "created": "2026-01-01T00:00:00.000Z", "modified": t,
                "pattern": "[ipv4-addr:value = '203.0.113.1']", "pattern_type": "stix",
                "valid_from": "2026-01-01T00:00:00Z", "object_marking_refs": [mark(b)],
                "extensions": {LIAISON_EXTENSION_ID: {"extension_type": "property-extension",
                    "tearline_of": indicator_id(0, i)}}});
            ingest(node, None, vec![tearline]);
        }
        Step::Consent(i, p) => {
            let _ = node.add_consent(&indicator_id(0, i), &party(PARTNERS[p]), &party("ISR"));
        }
        Step::Agreement(p, c) => {
            node.add_partner(&party(PARTNERS[p]), &agreement(c))
                .unwrap();
        }
        Step::Delete(s, i) => {
            let from = party(SOURCES[s].unwrap());
            node.delete_received(&from, &indicator_id(s, i), None::<&[Timestamp]>)
                .unwrap();
        }
        // A second hold, or a lift of nothing, is refused and changes nothing.
        Step::Hold(i, p) => {
            let _ = node.hold(
                &indicator_id(0, i),
                &party(PARTNERS[p]),
                "otto",
                "pending a source check",
                "otto",
            );
        }
        Step::Lift(i, p) => {
            let _ = node.lift_hold(&indicator_id(0, i), &party(PARTNERS[p]), "otto");
        }
    }
}

/// What the console keeps.
#[derive(Default)]
struct Kept {
    held: Option<Holdings>,
    queues: HashMap<String, Option<Queue>>,
    inbox: Option<Inbox>,
}

impl Kept {
    /// Follows everything, and checks it against the same built whole.
    fn check(&mut self, node: &mut Node<SqliteStore>, history: &[(Step, bool)]) {
        node.follow_holdings(&mut self.held).unwrap();
        let held = self.held.as_ref().unwrap();
        for p in PARTNERS {
            let queue = self.queues.entry(p.to_owned()).or_default();
            node.follow_queue(&party(p), held, queue).unwrap();
            let kept: Vec<Value> = queue
                .as_ref()
                .unwrap()
                .entries()
                .map(|e| serde_json::to_value(e).unwrap())
                .collect();
            let whole: Vec<Value> = node
                .preview(&party(p))
                .unwrap()
                .iter()
                .map(|e| serde_json::to_value(e).unwrap())
                .collect();
            assert_eq!(kept, whole, "{p}'s queue after {history:?}");
            let counts = queue.as_ref().unwrap().counts();
            assert_eq!(counts.iter().sum::<usize>(), whole.len());
        }
        let partners: Vec<Party> = PARTNERS.iter().map(|p| party(p)).collect();
        follow(node, held, &partners, &mut self.inbox).unwrap();
        let kept: Vec<Row> = self
            .inbox
            .as_ref()
            .unwrap()
            .rows()
            .iter()
            .cloned()
            .collect();
        let whole: Vec<Row> = from_scratch(node).unwrap().iter().cloned().collect();
        assert_eq!(kept, whole, "the inbox after {history:?}");
    }
}

fn run_history(history: &[(Step, bool)]) {
    let mut node = node();
    let mut kept = Kept::default();
    kept.check(&mut node, &[]);
    for (n, (step, look)) in history.iter().enumerate() {
        apply(&mut node, step, n);
        if *look || n + 1 == history.len() {
            kept.check(&mut node, &history[..=n]);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Whenever it is followed, what the console keeps is what a build from scratch gives.
    #[test]
    fn kept_queues_and_inbox_are_built_whole_ones(history in steps()) {
        run_history(&history);
    }
}

/// Each kind of change once, followed after each.
#[test]
fn each_kind_of_change_is_followed() {
    let all = [
        Step::Version(0, 0, 0, 0),
        Step::Version(1, 0, 0, 0),
        Step::Fresh(2, 5, 0),
        Step::Fresh(1, 0, 1),
        Step::Report(1, 0, 0, 0b1),
        Step::Version(0, 1, 1, 1),
        Step::Derive(1, 0, 0),
        Step::Relate(0, 1, 0),
        Step::Tearline(1, 0),
        Step::Consent(0, 0),
        Step::Agreement(0, 1),
        Step::Fresh(0, 0, 1),
        Step::Delete(1, 0),
        Step::Fresh(2, 0, 2),
        Step::Hold(1, 0),
        Step::Version(0, 1, 0, 2),
        Step::Lift(1, 0),
    ];
    let history: Vec<(Step, bool)> = all.into_iter().map(|s| (s, true)).collect();
    run_history(&history);
}

/// New objects nothing cites are followed without building anything whole: the world is
/// upserted, only the new object is decided, the inbox's flags come from `Engine::add`.
#[test]
fn new_objects_are_followed_incrementally() {
    let mut node = node();
    for i in 0..OBJECTS {
        apply(&mut node, &Step::Version(0, i, 0, i % 3), i);
    }
    let mut kept = Kept::default();
    kept.check(&mut node, &[]);
    let engine_before = kept.inbox.as_ref().unwrap().engine_len();
    apply(&mut node, &Step::Fresh(1, 3, 0), 10);
    let gbr = party("GBR");
    assert!(matches!(
        node.follow_holdings(&mut kept.held).unwrap(),
        Followed::Incremental { decided: 1, .. }
    ));
    let held = kept.held.as_ref().unwrap();
    let queue = kept.queues.get_mut("GBR").unwrap();
    assert_eq!(
        node.follow_queue(&gbr, held, queue).unwrap(),
        Followed::Incremental {
            changes: 1,
            decided: 1
        }
    );
    assert_eq!(
        node.follow_queue(&gbr, held, queue).unwrap(),
        Followed::Current
    );
    let partners: Vec<Party> = PARTNERS.iter().map(|p| party(p)).collect();
    let marker = kept.inbox.as_ref().unwrap().rows();
    follow(&mut node, held, &partners, &mut kept.inbox).unwrap();
    let inbox = kept.inbox.as_ref().unwrap();
    // The engine grew by one item rather than being built again (a build would hold the
    // same count: what tells them apart is that the rows were not rebuilt from nothing).
    assert_eq!(inbox.engine_len(), engine_before + 1);
    assert_eq!(marker.iter().count() + 1, inbox.rows().iter().count());
    kept.check(&mut node, &[]);
    // GBR's new indicator (its own reporting) asserts what our indicator 0 asserts.
    let rows = kept.inbox.as_ref().unwrap().rows();
    assert!(rows.iter().any(|r| r.is_corroborated()));
}

/// A new version of a partner's indicator, and its deletion, are followed in the curation
/// engine (the old item out, the new one in) without building it whole, and the inbox
/// stays what a build gives: the corroboration the old version gave is gone, the new one's
/// is there.
#[test]
fn versions_and_deletions_are_followed_without_a_build() {
    let mut node = node();
    for i in 0..OBJECTS {
        apply(&mut node, &Step::Version(0, i, 0, i % 3), i);
    }
    // GBR's indicator 0 (GBR's own reporting) asserts what our indicator 0 asserts.
    apply(&mut node, &Step::Version(1, 0, 3, 0), 10);
    let mut kept = Kept::default();
    kept.check(&mut node, &[]);
    let builds = kept.inbox.as_ref().unwrap().builds();
    let corroborated = |kept: &Kept| {
        let rows = kept.inbox.as_ref().unwrap().rows();
        rows.iter().filter(|r| r.is_corroborated()).count()
    };
    assert_eq!(corroborated(&kept), 1);
    // Each version GBR sent is a row, flagged as its id is now.
    let steps = [
        // A new version asserting what our indicator 1 asserts: still corroborated.
        (Step::Version(1, 0, 3, 1), 2),
        // One asserting what nothing else does: no longer.
        (Step::Version(1, 0, 3, 7), 0),
        (Step::Version(1, 0, 3, 2), 4),
        (Step::Delete(1, 0), 0),
    ];
    for (n, (step, expected)) in steps.iter().enumerate() {
        apply(&mut node, step, 20 + n);
        kept.check(&mut node, &[]);
        assert_eq!(
            kept.inbox.as_ref().unwrap().builds(),
            builds,
            "{step:?} built the engine"
        );
        assert_eq!(corroborated(&kept), *expected, "after {step:?}");
    }
}
