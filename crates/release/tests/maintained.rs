//! Views maintained, not recomputed: a differential test. Two nodes with the same keys live
//! through the same random history (new objects and versions, `derived-from` links, other
//! relationships, reports referring to objects, tear lines, released and withheld labels,
//! consents, officers' holds and their lifting, agreement changes). One keeps each partner's view maintained
//! (`Node::maintain_views_with` after every step, the world kept between steps as the
//! server keeps it: only what a change can affect is decided
//! again); the other recomputes every view whole (`Node::view`, the path a full
//! recomputation takes). After every step both must agree exactly: the rows served (ids,
//! types, versions, JSON bytes), the order things entered each view, the delivery and
//! fingerprint leaves logged (decisions, reasons, hashes, ledger values), the ledger.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use liaison_labels::{Banner, Label, Party};
use liaison_release::{IngestOptions, LogKeys, Node, Upkeep};
use liaison_stix::{parse_document, LIAISON_EXTENSION_ID};
use liaison_store::prelude::*;
use liaison_store::{NodeRecord, SqliteStore};
use proptest::prelude::*;
use serde_json::{json, Value};

const PARTNERS: [&str; 3] = ["GBR", "RUS", "FRA"];
const OBJECTS: usize = 6;

/// Labels: (banner, originator). Released to some, withheld (NOFORN), ORCON (consent
/// needed), public (TLP:CLEAR, not fingerprinted).
const BANNERS: [(&str, &str); 6] = [
    ("UNCLASSIFIED//REL TO USA, GBR, RUS, FRA", "USA"),
    ("SECRET//NOFORN", "USA"),
    ("SECRET//ORCON//REL TO USA, GBR, RUS, FRA", "ISR"),
    ("CONFIDENTIAL//REL TO USA, GBR", "USA"),
    ("UNCLASSIFIED//REL TO USA, GBR, RUS, FRA//TLP:CLEAR", "USA"),
    ("UNCLASSIFIED//REL TO USA, RUS", "ISR"),
];

fn party(s: &str) -> Party {
    Party::parse(s).unwrap()
}

fn label(b: usize) -> Label {
    let (banner, originator) = BANNERS[b];
    Label {
        banner: banner.parse::<Banner>().unwrap(),
        originator: party(originator),
        grading: None,
        duty_to_warn: false,
    }
}

fn mark(b: usize) -> String {
    label(b).marking_id().to_string()
}

fn indicator_id(i: usize) -> String {
    format!("indicator--00000000-0000-4000-8000-{:012}", i + 1)
}

/// One step of a history.
#[derive(Debug, Clone)]
enum Step {
    /// A new version of indicator `i` under label `b`.
    Version(usize, usize),
    /// `a` is derived from `b` (relationship number `k`, so a later step may re-point it).
    Derive(usize, usize, usize),
    /// An `indicates` relationship between `a` and `b` (it needs both ends visible).
    Relate(usize, usize, usize),
    /// Report `k` under label `b` referring to the indicators in the mask.
    Report(usize, usize, u8),
    /// A tear line of indicator `i` under label `b` (valid when the originators agree).
    Tearline(usize, usize),
    /// ISR consents to the release of indicator `i` to a partner.
    Consent(usize, usize),
    /// A partner's agreement gets another ceiling.
    Agreement(usize, usize),
    /// An officer holds indicator `i` from a partner.
    Hold(usize, usize),
    /// The hold on indicator `i` for a partner is lifted.
    Lift(usize, usize),
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    let one = prop_oneof![
        4 => (0..OBJECTS, 0..BANNERS.len()).prop_map(|(i, b)| Step::Version(i, b)),
        2 => (0..OBJECTS, 0..OBJECTS, 0..3usize).prop_map(|(a, b, k)| Step::Derive(a, b, k)),
        1 => (0..OBJECTS, 0..OBJECTS, 0..2usize).prop_map(|(a, b, k)| Step::Relate(a, b, k)),
        2 => (0..2usize, 0..BANNERS.len(), any::<u8>()).prop_map(|(k, b, m)| Step::Report(k, b, m)),
        1 => (0..OBJECTS, 0..BANNERS.len()).prop_map(|(i, b)| Step::Tearline(i, b)),
        1 => (0..OBJECTS, 0..PARTNERS.len()).prop_map(|(i, p)| Step::Consent(i, p)),
        1 => (0..PARTNERS.len(), 0..3usize).prop_map(|(p, c)| Step::Agreement(p, c)),
        2 => (0..OBJECTS, 0..PARTNERS.len()).prop_map(|(i, p)| Step::Hold(i, p)),
        1 => (0..OBJECTS, 0..PARTNERS.len()).prop_map(|(i, p)| Step::Lift(i, p)),
    ];
    // Every indicator held first (under random labels), so that links always matter.
    (
        prop::collection::vec(0..BANNERS.len(), OBJECTS),
        prop::collection::vec(one, 1..14),
    )
        .prop_map(|(labels, rest)| {
            labels
                .into_iter()
                .enumerate()
                .map(|(i, b)| Step::Version(i, b))
                .chain(rest)
                .collect()
        })
}

fn agreement(ceiling: usize) -> String {
    let ceiling = ["UNCLASSIFIED", "CONFIDENTIAL", "SECRET"][ceiling];
    format!("ceiling = \"{ceiling}\"\n[scope]\nmax_tlp = \"amber\"\n")
}

fn node(keys: &LogKeys) -> Node<SqliteStore> {
    let mut store = SqliteStore::in_memory().unwrap();
    store
        .init_node(&NodeRecord {
            party: "USA".into(),
            created: "2026-01-01T00:00:00.000Z".into(),
        })
        .unwrap();
    let mut node = Node::with_store_and_keys(store, keys.clone()).unwrap();
    for p in PARTNERS {
        node.add_partner(&party(p), &agreement(2)).unwrap();
    }
    // Every label is held from the start (a new marking-definition recomputes views whole;
    // the test is about what is maintained).
    let objects: Vec<Value> = (0..BANNERS.len())
        .map(|b| Value::Object(label(b).to_marking_definition("2026-01-01T00:00:00.000Z")))
        .collect();
    ingest(&mut node, objects);
    node
}

fn ingest(node: &mut Node<SqliteStore>, objects: Vec<Value>) {
    let doc = json!({"type": "bundle", "id": "bundle--5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "objects": objects});
    node.ingest(
        &parse_document(&doc.to_string()).unwrap(),
        &IngestOptions::default(),
        &mut |_| {},
    )
    .unwrap();
}

/// The objects step `n` ingests (none for consents and agreements).
fn objects(step: &Step, n: usize) -> Vec<Value> {
    let t = format!("2026-06-01T00:{:02}:{:02}.000Z", n / 60, n % 60);
    let rel = |kind: &str, k: usize, a: usize, b: usize| {
        let prefix = if kind == "derived-from" { 8 } else { 9 };
        json!({"type": "relationship", "spec_version": "2.1",
            "id": format!("relationship--00000000-0000-4000-{prefix}000-{:012}", k + 1),
            "created": "2026-01-01T00:00:00.000Z", "modified": t, "relationship_type": kind,
            "source_ref": indicator_id(a), "target_ref": indicator_id(b),
            "object_marking_refs": [mark(0)]})
    };
    match *step {
        Step::Version(i, b) => vec![json!({"type": "indicator", "spec_version": "2.1",
            "id": indicator_id(i), "created": "2026-01-01T00:00:00.000Z", "modified": t,
            "pattern": format!("[ipv4-addr:value = '198.51.100.{i}']"), "pattern_type": "stix",
            "valid_from": "2026-01-01T00:00:00Z", "labels": ["terrorism"],
            "object_marking_refs": [mark(b)]})],
        Step::Derive(a, b, k) => vec![rel("derived-from", k, a, b)],
        Step::Relate(a, b, k) => vec![rel("indicates", k, a, b)],
        Step::Report(k, b, mask) => {
            let refs: Vec<String> = (0..OBJECTS)
                .filter(|i| mask & (1 << i) != 0)
                .map(indicator_id)
                .collect();
            if refs.is_empty() {
                return Vec::new();
            }
            vec![json!({"type": "report", "spec_version": "2.1",
                "id": format!("report--00000000-0000-4000-8000-{:012}", k + 1),
                "created": "2026-01-01T00:00:00.000Z", "modified": t, "name": "assessment",
                "published": "2026-01-01T00:00:00Z", "report_types": ["threat-report"],
                "object_refs": refs, "object_marking_refs": [mark(b)]})]
        }
        Step::Tearline(i, b) => vec![json!({"type": "indicator", "spec_version": "2.1",
            "id": format!("indicator--00000000-0000-4000-a000-{:012}", i + 1),
            "created": "2026-01-01T00:00:00.000Z", "modified": t,
            "pattern": "[ipv4-addr:value = '203.0.113.1']", "pattern_type": "stix",
            "valid_from": "2026-01-01T00:00:00Z", "object_marking_refs": [mark(b)],
            "extensions": {LIAISON_EXTENSION_ID: {"extension_type": "property-extension",
                "tearline_of": indicator_id(i)}}})],
        Step::Consent(..) | Step::Agreement(..) | Step::Hold(..) | Step::Lift(..) => Vec::new(),
    }
}

fn apply(node: &mut Node<SqliteStore>, step: &Step, n: usize) {
    match *step {
        Step::Consent(i, p) => {
            // Refused (the same way on both nodes) while the object is not held.
            let _ = node.add_consent(&indicator_id(i), &party(PARTNERS[p]), &party("ISR"));
        }
        Step::Agreement(p, c) => {
            node.add_partner(&party(PARTNERS[p]), &agreement(c))
                .unwrap();
        }
        Step::Hold(i, p) => {
            // Refused (the same way on both nodes) while the object is not held, or is
            // held from that partner already.
            let _ = node.hold(
                &indicator_id(i),
                &party(PARTNERS[p]),
                "otto",
                "under review",
                "otto",
            );
        }
        Step::Lift(i, p) => {
            let _ = node.lift_hold(&indicator_id(i), &party(PARTNERS[p]), "otto");
        }
        _ => {
            let objects = objects(step, n);
            if !objects.is_empty() {
                ingest(node, objects);
            }
        }
    }
}

/// The delivery and fingerprint leaves logged for `p`, in log order.
fn leaves(node: &Node<SqliteStore>, p: &str) -> Vec<Value> {
    node.store()
        .log_openings_for(p)
        .unwrap()
        .into_iter()
        .map(|(_, o)| serde_json::from_slice::<Value>(&o.leaf).unwrap())
        .filter(|l| l["kind"] == json!("delivery") || l["kind"] == json!("fingerprint"))
        .collect()
}

/// What entered `p`'s view, in the order it entered.
fn releases(node: &Node<SqliteStore>, p: &str) -> Vec<(String, String)> {
    node.store()
        .releases(p)
        .unwrap()
        .into_iter()
        .map(|(id, v, _)| (id, v))
        .collect()
}

/// A view entry as compared: everything but the time (the two nodes' clocks differ).
type Row = (String, String, String, String, String, String);

fn row(e: liaison_release::ViewEntry) -> Row {
    let v = e.version.to_string();
    let json = e.json.to_string();
    (e.id, e.original, e.object_type, v, e.spec_version, json)
}

/// `v` as it is, or sorted (by its debug form) when the order does not count.
fn order<T: std::fmt::Debug>(mut v: Vec<T>, in_order: bool) -> Vec<T> {
    if !in_order {
        v.sort_by_cached_key(|x| format!("{x:?}"));
    }
    v
}

/// Checks the maintained node against the recomputing one for every partner.
///
/// With `in_order`, also the order things entered each view and were logged in; without it
/// (views computed in slices, where the full recomputation records a definition with the
/// first slice that needs it and the upkeep before what it catches up), as sets.
fn agree(
    maintained: &Node<SqliteStore>,
    full: &mut Node<SqliteStore>,
    history: &[Step],
    in_order: bool,
) {
    for p in PARTNERS {
        let to = party(p);
        let expected: Vec<Row> = full
            .view(&to)
            .unwrap()
            .entries
            .into_iter()
            .map(row)
            .collect();
        let stored = maintained.view_page(&to, 0, usize::MAX).unwrap();
        // Each row's date_added is the time its (id, version) entered the view.
        let times: BTreeMap<String, String> = maintained
            .store()
            .releases(p)
            .unwrap()
            .into_iter()
            .map(|(id, v, first)| (format!("{id} {v}"), first))
            .collect();
        for e in &stored {
            // The row says what its JSON is (the row's head is not read off the text).
            let doc = liaison_stix::parse_document(&e.json).unwrap();
            let o = &doc.objects[0];
            assert_eq!(
                (
                    o.id().as_str(),
                    o.object_type(),
                    o.spec_version().unwrap_or("2.1")
                ),
                (
                    e.id.as_str(),
                    e.object_type.as_str(),
                    e.spec_version.as_str()
                ),
                "{p}: the row of {}",
                e.original
            );
            if let Some(v) = o.version() {
                assert_eq!(v, &e.version, "{p}: the version of {}", e.original);
            }
            let key = o
                .version()
                .map(liaison_stix::Timestamp::sort_key)
                .unwrap_or_default();
            assert_eq!(
                times.get(&format!("{} {key}", e.original)),
                Some(&e.date_added.to_string()),
                "{p}: date_added of {} after {history:?}",
                e.original
            );
        }
        let got: Vec<Row> = stored.into_iter().map(row).collect();
        assert_eq!(
            order(got, in_order),
            order(expected, in_order),
            "{p}: rows after {history:?}"
        );
        assert_eq!(
            order(releases(maintained, p), in_order),
            order(releases(full, p), in_order),
            "{p}: what entered the view, in order, after {history:?}"
        );
        assert_eq!(
            order(leaves(maintained, p), in_order),
            order(leaves(full, p), in_order),
            "{p}: leaves after {history:?}"
        );
        let (a, b) = (maintained.ledger(&to).unwrap(), full.ledger(&to).unwrap());
        assert_eq!(
            (a.given, a.deliveries),
            (b.given, b.deliveries),
            "{p}: ledger after {history:?}"
        );
    }
}

/// What a view holds and logged, in no order: the rows (without their times) and the
/// delivery and fingerprint leaves, sorted; and the ledger.
type Unordered = (Vec<Row>, Vec<String>, (String, u64));

fn unordered(node: &mut Node<SqliteStore>, p: &str) -> Unordered {
    let to = party(p);
    let mut rows: Vec<Row> = node
        .view_page(&to, 0, usize::MAX)
        .unwrap()
        .into_iter()
        .map(row)
        .collect();
    rows.sort();
    let mut logged: Vec<String> = leaves(node, p).iter().map(Value::to_string).collect();
    logged.sort();
    let ledger = node.ledger(&to).unwrap();
    (
        rows,
        logged,
        (format!("{:.3}", ledger.given), ledger.deliveries),
    )
}

/// `slice`: how many objects a view computed whole takes at a time, on both nodes. A third
/// node computes every view in one slice: the same rows, leaves and ledger, in whatever
/// order.
fn run_history(history: &[Step], slice: usize) {
    let keys = LogKeys::generate(&party("USA")).unwrap();
    let mut maintained = node(&keys);
    let mut full = node(&keys);
    let mut whole = node(&keys);
    maintained.set_view_slice(slice);
    full.set_view_slice(slice);
    for p in PARTNERS {
        maintained.view(&party(p)).unwrap();
    }
    let in_order = slice == usize::MAX;
    agree(&maintained, &mut full, &[], in_order);
    // The world kept between rounds, as the server's upkeep keeps it.
    let mut held = None;
    for (n, step) in history.iter().enumerate() {
        apply(&mut maintained, step, n);
        apply(&mut full, step, n);
        apply(&mut whole, step, n);
        maintained.maintain_views_with(&mut held).unwrap();
        agree(&maintained, &mut full, &history[..=n], in_order);
        for p in PARTNERS {
            whole.view(&party(p)).unwrap();
            assert_eq!(
                unordered(&mut full, p),
                unordered(&mut whole, p),
                "{p}: slices of {slice} against one slice, after {:?}",
                &history[..=n]
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    /// After every step of any history, the maintained views are the recomputed ones, and a
    /// view computed in slices is the one a single pass computes.
    #[test]
    fn a_maintained_view_is_a_full_recomputation(
        history in steps(),
        slice in prop_oneof![Just(usize::MAX), 1usize..5],
    ) {
        run_history(&history, slice);
    }
}

/// The dependencies one at a time: a report whose indicator becomes withheld loses the
/// reference (a cut), a relationship whose end becomes visible flows, what derives from an
/// object takes its new label, the original of a new tear line goes at the tear line.
#[test]
fn each_kind_of_dependency_is_caught_up() {
    let history = [
        Step::Version(0, 0),
        Step::Version(1, 0),
        Step::Report(0, 0, 0b11),
        Step::Version(1, 1),
        Step::Relate(0, 2, 0),
        Step::Version(2, 0),
        Step::Derive(3, 0, 0),
        Step::Version(3, 0),
        Step::Version(0, 3),
        Step::Version(4, 1),
        Step::Tearline(4, 0),
        Step::Consent(5, 0),
        Step::Version(5, 2),
        Step::Consent(5, 1),
        Step::Agreement(0, 0),
        // A hold on a delivered object and on what derives from it, then lifted.
        Step::Hold(0, 1),
        Step::Hold(0, 0),
        Step::Version(0, 0),
        Step::Lift(0, 1),
        Step::Hold(5, 0),
        Step::Lift(0, 0),
        Step::Lift(5, 0),
    ];
    for slice in [1, 2, usize::MAX] {
        run_history(&history, slice);
    }
}

/// Only what a change can affect is decided again, and nothing when nothing changed.
#[test]
fn upkeep_decides_only_what_a_change_affects() {
    let keys = LogKeys::generate(&party("USA")).unwrap();
    let mut node = node(&keys);
    for i in 0..OBJECTS {
        apply(&mut node, &Step::Version(i, 0), i);
    }
    let gbr = party("GBR");
    assert_eq!(node.maintain_view(&gbr).unwrap(), Upkeep::Recomputed);
    assert_eq!(node.maintain_view(&gbr).unwrap(), Upkeep::Current);
    apply(&mut node, &Step::Version(2, 1), 10);
    assert_eq!(
        node.maintain_view(&gbr).unwrap(),
        Upkeep::CaughtUp {
            changes: 1,
            decided: 1
        }
    );
    // A consent changes the basis: recomputed whole, once.
    apply(&mut node, &Step::Consent(1, 0), 11);
    assert_eq!(node.maintain_view(&gbr).unwrap(), Upkeep::Recomputed);
    assert_eq!(node.maintain_view(&gbr).unwrap(), Upkeep::Current);
    // A hold and its lifting change the basis: recomputed whole, once each, and a request
    // after either never reads rows decided without it.
    apply(&mut node, &Step::Hold(0, 0), 13);
    assert_eq!(node.ensure_view(&gbr, false).unwrap(), Upkeep::Recomputed);
    assert_eq!(node.maintain_view(&gbr).unwrap(), Upkeep::Current);
    let held = indicator_id(0);
    assert!(node
        .view_page(&gbr, 0, usize::MAX)
        .unwrap()
        .iter()
        .all(|e| e.original != held));
    apply(&mut node, &Step::Lift(0, 0), 14);
    assert_eq!(node.maintain_view(&gbr).unwrap(), Upkeep::Recomputed);
    assert!(node
        .view_page(&gbr, 0, usize::MAX)
        .unwrap()
        .iter()
        .any(|e| e.original == held));
    // A request after an agreement change never reads the old rows.
    apply(&mut node, &Step::Agreement(0, 0), 12);
    assert_eq!(node.ensure_view(&gbr, false).unwrap(), Upkeep::Recomputed);
    assert_eq!(node.ensure_view(&gbr, false).unwrap(), Upkeep::Current);
}

/// A hold through the node: `release preview` and `explain` give `held_by_officer` with the
/// officer and the reason, for that partner only; what derives from the held object is held
/// too; the audit list has the hold and the lift; refusals name the field.
#[test]
fn a_hold_is_explained_audited_and_lifted() {
    let keys = LogKeys::generate(&party("USA")).unwrap();
    let mut node = node(&keys);
    for i in 0..3 {
        apply(&mut node, &Step::Version(i, 0), i);
    }
    apply(&mut node, &Step::Derive(1, 0, 0), 3);
    let (rus, gbr) = (party("RUS"), party("GBR"));
    let held = indicator_id(0);
    let decision = |node: &Node<SqliteStore>, to: &Party, id: &str| {
        node.preview(to)
            .unwrap()
            .into_iter()
            .find(|e| e.object == id)
            .unwrap()
    };
    assert_eq!(decision(&node, &rus, &held).decision.as_str(), "release");
    node.hold(&held, &rus, "otto", "  source check pending ", "otto")
        .unwrap();
    let e = decision(&node, &rus, &held);
    assert_eq!(e.decision.as_str(), "withhold");
    let codes: Vec<&str> = e.reasons.iter().map(|r| r.code.as_str()).collect();
    assert_eq!(codes, ["held_by_officer"]);
    let detail = &e.reasons[0].detail;
    assert!(
        detail.contains("otto")
            && detail.contains("source check pending")
            && detail.contains("RUS"),
        "{detail}"
    );
    let derived = decision(&node, &rus, &indicator_id(1));
    assert_eq!(derived.decision.as_str(), "withhold");
    assert!(
        derived.reasons[0].detail.contains(&held),
        "{:?}",
        derived.reasons
    );
    assert_eq!(
        decision(&node, &rus, &indicator_id(2)).decision.as_str(),
        "release"
    );
    assert_eq!(decision(&node, &gbr, &held).decision.as_str(), "release");
    let x = node.explain(&held, &rus).unwrap();
    assert_eq!(x.decision.reasons[0].code.as_str(), "held_by_officer");
    // Refusals, each naming its field.
    let err = |r: Result<liaison_store::HoldRecord, liaison_release::ReleaseError>| {
        r.unwrap_err().to_string()
    };
    assert!(err(node.hold(&held, &rus, "otto", "again", "otto")).contains("already held"));
    assert!(err(node.hold(&indicator_id(2), &rus, "otto", "  ", "otto")).contains("field `reason`"));
    assert!(
        err(node.hold(&indicator_id(2), &rus, "otto", "a\nb", "otto")).contains("field `reason`")
    );
    assert!(err(node.hold(&indicator_id(2), &rus, "Otto!", "r", "otto")).contains("field `by`"));
    assert!(err(node.hold("not-an-id", &rus, "otto", "r", "otto")).contains("field `object`"));
    assert!(
        err(node.hold(&indicator_id(2), &party("ISR"), "otto", "r", "otto"))
            .contains("not a partner")
    );
    assert!(err(node.lift_hold(&indicator_id(2), &rus, "otto")).contains("no hold"));
    assert_eq!(node.holds(Some(&rus)).unwrap().len(), 1);
    assert!(node.holds(Some(&gbr)).unwrap().is_empty());
    node.lift_hold(&held, &rus, "cli").unwrap();
    assert_eq!(decision(&node, &rus, &held).decision.as_str(), "release");
    assert_eq!(
        decision(&node, &rus, &indicator_id(1)).decision.as_str(),
        "release"
    );
    let audit = node.audit(None, 10).unwrap();
    let actions: Vec<(&str, &str, &str)> = audit
        .iter()
        .map(|a| (a.operator.as_str(), a.action.as_str(), a.target.as_str()))
        .collect();
    assert_eq!(
        actions,
        [
            ("cli", "hold_lift", held.as_str()),
            ("otto", "hold", held.as_str())
        ]
    );
}
