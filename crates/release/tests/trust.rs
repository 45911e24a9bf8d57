//! The trust boundary (DESIGN.md "Who may change what"), tried as a hostile partner would:
//! RUS sends STIX through the real receive path (what TAXII POST and `liaison pull` call)
//! and must not change what anyone else owns. One regression test per attack that worked
//! before, the leak classes of the most used sharing platforms, and a property test with a
//! model hostile partner.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};

use liaison_labels::{Banner, Label, Party};
use liaison_release::sample::{self, ASSESSMENT, DERIVED, INDICATOR, ISR_REPORT, NOFORN_NOTE};
use liaison_release::{IngestOptions, Node, Refusal};
use liaison_stix::{parse_document, LIAISON_EXTENSION_ID};
use liaison_store::SqliteStore;
use proptest::prelude::*;
use serde_json::{json, Value};

fn party(s: &str) -> Party {
    Party::parse(s).unwrap()
}

fn label(banner: &str, originator: &str) -> Label {
    Label {
        banner: banner.parse::<Banner>().unwrap(),
        originator: party(originator),
        grading: None,
        duty_to_warn: false,
    }
}

const T1: &str = "2026-11-25T08:00:00.000Z";

/// The sample exchange (ISR's ORCON report and tear line, our assessment derived from it),
/// with GBR and RUS as partners.
fn usa() -> (tempfile::TempDir, Node<SqliteStore>) {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Node::init(dir.path(), &party("USA")).unwrap();
    node.add_partner(&party("GBR"), sample::GBR_AGREEMENT)
        .unwrap();
    node.add_partner(&party("RUS"), sample::RUS_AGREEMENT)
        .unwrap();
    sample::ingest_exchange(&mut node).unwrap();
    (dir, node)
}

/// Every decision for `to`, as JSON values by object id.
fn decisions(node: &Node<SqliteStore>, to: &str) -> BTreeMap<String, Value> {
    node.preview(&party(to))
        .unwrap()
        .into_iter()
        .map(|e| (e.object.clone(), serde_json::to_value(&e).unwrap()))
        .collect()
}

fn decision(node: &Node<SqliteStore>, object: &str, to: &str) -> String {
    decisions(node, to)
        .get(object)
        .and_then(|d| d.get("decision"))
        .and_then(Value::as_str)
        .unwrap_or("(no decision)")
        .to_owned()
}

fn marking(l: &Label, created: &str) -> Value {
    Value::Object(l.to_marking_definition(created))
}

/// The object `o` with `changes` applied.
fn with(mut o: Value, changes: Value) -> Value {
    if let (Value::Object(o), Value::Object(c)) = (&mut o, changes) {
        o.extend(c);
    }
    o
}

fn held(node: &Node<SqliteStore>, id: &str) -> Value {
    let s = node.store();
    let o = liaison_store::ObjectStore::latest(s, id).unwrap().unwrap();
    serde_json::from_str(o.object.raw()).unwrap()
}

fn send(node: &mut Node<SqliteStore>, from: &str, objects: &[Value]) -> liaison_release::Receipt {
    let texts: Vec<String> = objects.iter().map(Value::to_string).collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    node.receive(&party(from), &refs).unwrap()
}

/// Attack 1: a newer version of one of our marking-definitions that loosens our label.
#[test]
fn regression_partner_loosens_our_label_with_a_newer_marking_definition() {
    let (_d, mut node) = usa();
    let l = sample::labels().unwrap();
    let before = decision(&node, NOFORN_NOTE, "GBR");
    assert_eq!(before, "withhold");
    let ts = l.usa_ts_noforn.marking_id().to_string();
    let mut loose = marking(&label("UNCLASSIFIED//REL TO USA, GBR, RUS", "USA"), T1);
    loose["id"] = json!(ts);
    send(&mut node, "RUS", &[loose.clone()]);
    assert_eq!(decision(&node, NOFORN_NOTE, "GBR"), "withhold");
    assert_eq!(
        held(&node, &ts)["name"],
        json!("TOP SECRET//SI//NOFORN"),
        "our label stays as we made it"
    );
    // Under a label of RUS's own, the same id is a second definition: refused too.
    let mut redefined = marking(&label("UNCLASSIFIED//REL TO USA, GBR, RUS", "RUS"), T1);
    redefined["id"] = json!(ts);
    send(&mut node, "RUS", &[redefined]);
    assert_eq!(decision(&node, NOFORN_NOTE, "GBR"), "withhold");
    let kept = node.refusals(Some("RUS"), 0, 100).unwrap();
    assert_eq!(kept.len(), 2, "both attempts are kept: {kept:?}");
    assert!(kept.iter().all(|r| r.id == ts));
}

/// Attack 2: a newer version of one of our objects, to replace ours for everyone else.
#[test]
fn regression_partner_replaces_our_object_with_a_newer_version() {
    let (_d, mut node) = usa();
    let ours = held(&node, INDICATOR);
    let forged = with(
        ours.clone(),
        json!({"modified": T1, "pattern": "[email-addr:value = 'innocent@example.com']"}),
    );
    let receipt = send(&mut node, "RUS", &[forged]);
    // RUS may see the indicator, so it is told: the id named, with the owner.
    let failure = receipt
        .failures
        .first()
        .expect("a failure for the forged version");
    assert_eq!(failure.id.as_deref(), Some(INDICATOR));
    assert!(
        failure.message.contains("only its owner's versions"),
        "{}",
        failure.message
    );
    assert_eq!(
        held(&node, INDICATOR),
        ours,
        "ours stays the current version"
    );
    let export = node.export(&party("GBR")).unwrap().bundle;
    assert!(export.contains("courier@example.net") && !export.contains("innocent@"));
}

/// Attack 3: a newer version of our `derived-from` that drops the ally's ORCON source.
#[test]
fn regression_partner_rewrites_our_derived_from_relationship() {
    let (_d, mut node) = usa();
    let before_gbr = decisions(&node, "GBR");
    let rel = held(&node, DERIVED);
    let forged = with(
        rel,
        json!({"modified": T1, "relationship_type": "related-to"}),
    );
    let receipt = send(&mut node, "RUS", &[forged]);
    // RUS may not see the relationship (its end is withheld from RUS): no oracle.
    assert!(receipt.failures.is_empty(), "{:?}", receipt.failures);
    assert_eq!(
        held(&node, DERIVED)["relationship_type"],
        json!("derived-from")
    );
    assert_eq!(decisions(&node, "GBR"), before_gbr);
    let why = decisions(&node, "GBR")[ASSESSMENT].to_string();
    assert!(why.contains("third_party_rule"), "{why}");
}

/// Attack 4: a `derived-from` saying that OUR object rests on the partner's NOFORN object,
/// to censor what we share with others.
#[test]
fn regression_partner_derives_our_object_from_its_noforn_object() {
    let (_d, mut node) = usa();
    assert_eq!(decision(&node, INDICATOR, "GBR"), "release");
    let noforn = label("SECRET//NOFORN", "RUS");
    let theirs = "indicator--6f1e0a1c-2b3d-4e5f-8a9b-0c1d2e3f4a5b";
    let sent = [
        marking(&noforn, T1),
        json!({"type": "indicator", "spec_version": "2.1", "id": theirs, "created": T1, "modified": T1,
               "pattern": "[ipv4-addr:value = '203.0.113.1']", "pattern_type": "stix", "valid_from": T1,
               "object_marking_refs": [noforn.marking_id().to_string()]}),
        json!({"type": "relationship", "spec_version": "2.1", "id": "relationship--0d9c8b7a-6f5e-4d3c-8b2a-19f8e7d6c5b4",
               "created": T1, "modified": T1, "relationship_type": "derived-from",
               "source_ref": INDICATOR, "target_ref": theirs}),
    ];
    send(&mut node, "RUS", &sent);
    assert_eq!(decision(&node, INDICATOR, "GBR"), "release");
    assert_eq!(decision(&node, INDICATOR, "RUS"), "release");
    // Kept and shown, not counted.
    let e = node.explain(INDICATOR, &party("GBR")).unwrap();
    let shown = serde_json::to_string(&e).unwrap();
    assert!(
        shown.contains("not counted: not asserted by the owner"),
        "{shown}"
    );
    // A partner may derive its own objects from ours: they then carry our restrictions.
    let own_derived = [json!({"type": "relationship", "spec_version": "2.1",
        "id": "relationship--1e2d3c4b-5a69-4788-9a0b-c1d2e3f4a5b6", "created": T1, "modified": T1,
        "relationship_type": "derived-from", "source_ref": theirs, "target_ref": ASSESSMENT})];
    send(&mut node, "RUS", &own_derived);
    let e = node.explain(theirs, &party("GBR")).unwrap();
    assert!(
        e.chain.iter().any(|l| l.object == ASSESSMENT),
        "{:?}",
        e.chain
    );
}

/// Attack 5: a label naming US as originator and a "tear line" of our withheld assessment
/// under it, to have us deliver the partner's words as our own.
#[test]
fn regression_partner_tearline_under_our_name() {
    let (_d, mut node) = usa();
    assert_eq!(decision(&node, ASSESSMENT, "RUS"), "withhold");
    let ours_in_name = label("UNCLASSIFIED//REL TO USA, GBR, RUS", "USA");
    let fake = "report--5b4a3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d";
    let sent = [
        marking(&ours_in_name, T1),
        json!({"type": "report", "spec_version": "2.1", "id": fake, "created": T1, "modified": T1,
               "name": "Assessment (sanitized)", "description": "Nationalists in the Caucasus are terrorists.",
               "report_types": ["threat-report"], "published": T1, "labels": ["terrorism"], "object_refs": [INDICATOR],
               "object_marking_refs": [ours_in_name.marking_id().to_string()],
               "extensions": {LIAISON_EXTENSION_ID: {"extension_type": "property-extension", "tearline_of": ASSESSMENT}}}),
    ];
    let receipt = send(&mut node, "RUS", &sent);
    assert!(
        receipt
            .failures
            .iter()
            .any(|f| f.message.contains("made only by USA")),
        "{:?}",
        receipt.failures
    );
    let kept = node.refusals(Some("RUS"), 0, 10).unwrap();
    assert!(kept
        .iter()
        .any(|r| r.id == ours_in_name.marking_id().to_string()));
    for to in ["RUS", "GBR"] {
        let d = &decisions(&node, to)[ASSESSMENT];
        assert_ne!(d["tearline"], json!(fake), "{to}: {d}");
        assert_ne!(decision(&node, fake, to), "release", "{to}");
    }
    // Under RUS's own label the claim is no tear line either: RUS does not own the original.
    let rus = label("UNCLASSIFIED//REL TO USA, GBR, RUS", "RUS");
    let mut claim = sent[1].clone();
    claim["id"] = json!("report--6c5b4a3d-2e1f-4b0a-9d8c-7f6e5d4c3b2a");
    claim["object_marking_refs"] = json!([rus.marking_id().to_string()]);
    send(&mut node, "RUS", &[marking(&rus, T1), claim]);
    let e = node.explain(ASSESSMENT, &party("GBR")).unwrap();
    assert!(e.tearlines.is_empty(), "{:?}", e.tearlines);
}

/// A granular marking whose selector parses but matches no field must not leave the field
/// it was meant to protect unmarked: the object is withheld (`invalid_label`).
#[test]
fn regression_granular_selector_matching_no_field_withholds() {
    let (_d, mut node) = usa();
    let l = sample::labels().unwrap();
    let shared = l.usa_shared.marking_id().to_string();
    let noforn = l.usa_noforn_field.marking_id().to_string();
    let doc = json!({"type": "bundle", "id": "bundle--0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "objects": [
        {"type": "note", "spec_version": "2.1", "id": "note--1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
         "created": T1, "modified": T1, "content": "Source: agent CARDAMOM", "object_refs": [INDICATOR],
         "object_marking_refs": [shared],
         "granular_markings": [{"marking_ref": noforn, "selectors": ["contents"]}]},
        {"type": "note", "spec_version": "2.1", "id": "note--2a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
         "created": T1, "modified": T1, "content": "Source: agent NUTMEG", "object_refs": [INDICATOR],
         "object_marking_refs": [shared],
         "granular_markings": [{"marking_ref": noforn, "selectors": ["object_refs.[7]"]}]}
    ]});
    node.ingest(
        &parse_document(&doc.to_string()).unwrap(),
        &IngestOptions::default(),
        &mut |_| {},
    )
    .unwrap();
    for id in [
        "note--1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
        "note--2a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
    ] {
        let d = &decisions(&node, "GBR")[id];
        assert_eq!(d["decision"], json!("withhold"), "{d}");
        assert_eq!(d["reasons"][0]["code"], json!("invalid_label"), "{d}");
    }
    let export = node.export(&party("GBR")).unwrap().bundle;
    assert!(!export.contains("CARDAMOM") && !export.contains("NUTMEG"));
}

/// A held statement marking (MITRE ATT&CK puts one on nearly every object) never blocks a
/// release and travels with the object; a marking that is not held at all fails closed.
#[test]
fn statement_markings_travel_and_unheld_markings_fail_closed() {
    let (_d, mut node) = usa();
    let l = sample::labels().unwrap();
    let statement = "marking-definition--fa42a846-8d90-4e51-bc29-71d5b4802168";
    let missing = "marking-definition--00000000-1111-4222-8333-444444444444";
    let obj = |n: u32, marks: Vec<String>| {
        json!({"type": "attack-pattern", "spec_version": "2.1",
        "id": format!("attack-pattern--00000000-0000-4000-8000-{n:012}"), "created": T1, "modified": T1,
        "name": format!("Technique {n}"), "object_marking_refs": marks})
    };
    let doc = json!({"type": "bundle", "id": "bundle--1a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "objects": [
        {"type": "marking-definition", "spec_version": "2.1", "id": statement, "created": "2017-06-01T00:00:00.000Z",
         "definition_type": "statement", "definition": {"statement": "Copyright 2015-2024, The MITRE Corporation."}},
        obj(1, vec![statement.into(), l.usa_shared.marking_id().to_string()]),
        obj(2, vec![missing.into(), l.usa_shared.marking_id().to_string()]),
    ]});
    node.ingest(
        &parse_document(&doc.to_string()).unwrap(),
        &IngestOptions::default(),
        &mut |_| {},
    )
    .unwrap();
    let gbr = decisions(&node, "GBR");
    assert_eq!(
        gbr["attack-pattern--00000000-0000-4000-8000-000000000001"]["decision"],
        json!("release")
    );
    let two = &gbr["attack-pattern--00000000-0000-4000-8000-000000000002"];
    assert_eq!(two["decision"], json!("withhold"), "{two}");
    assert_eq!(two["reasons"][0]["code"], json!("invalid_label"), "{two}");
    let export = node.export(&party("GBR")).unwrap().bundle;
    assert!(
        export.contains("The MITRE Corporation"),
        "the statement travels with the object"
    );
}

/// Leak class (OpenCTI #4490): several markings on one object are all applied (AND, never OR).
#[test]
fn leak_several_markings_are_all_applied() {
    let (_d, mut node) = usa();
    let to_gbr = label("UNCLASSIFIED//REL TO USA, GBR", "USA");
    let to_rus = label("UNCLASSIFIED//REL TO USA, RUS", "USA");
    let id = "indicator--7a6b5c4d-3e2f-4a1b-8c0d-9e8f7a6b5c4d";
    let doc = json!({"type": "bundle", "id": "bundle--2a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "objects": [
        marking(&to_gbr, T1), marking(&to_rus, T1),
        {"type": "indicator", "spec_version": "2.1", "id": id, "created": T1, "modified": T1, "labels": ["terrorism"],
         "pattern": "[ipv4-addr:value = '192.0.2.1']", "pattern_type": "stix", "valid_from": T1,
         "object_marking_refs": [to_gbr.marking_id().to_string(), to_rus.marking_id().to_string()]}]});
    node.ingest(
        &parse_document(&doc.to_string()).unwrap(),
        &IngestOptions::default(),
        &mut |_| {},
    )
    .unwrap();
    for to in ["GBR", "RUS"] {
        assert_eq!(decision(&node, id, to), "withhold", "{to}");
    }
}

/// Leak class (MISP #4200): an empty release list means nobody, never everybody.
#[test]
fn leak_an_empty_release_list_means_nobody() {
    let (_d, mut node) = usa();
    let mut empty = marking(&label("UNCLASSIFIED//REL TO USA, GBR", "USA"), T1);
    empty["id"] = json!("marking-definition--3c2b1a09-8f7e-4d6c-9b5a-4f3e2d1c0b9a");
    empty["extensions"][LIAISON_EXTENSION_ID]["rel_to"] = json!([]);
    let id = "indicator--8a6b5c4d-3e2f-4a1b-8c0d-9e8f7a6b5c4d";
    let doc = json!({"type": "bundle", "id": "bundle--3a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "objects": [
        empty,
        {"type": "indicator", "spec_version": "2.1", "id": id, "created": T1, "modified": T1, "labels": ["terrorism"],
         "pattern": "[ipv4-addr:value = '192.0.2.2']", "pattern_type": "stix", "valid_from": T1,
         "object_marking_refs": ["marking-definition--3c2b1a09-8f7e-4d6c-9b5a-4f3e2d1c0b9a"]}]});
    // Refused at ingest, or taken and releasable to nobody: never released.
    let _ = parse_document(&doc.to_string())
        .map(|d| node.ingest(&d, &IngestOptions::default(), &mut |_| {}));
    for to in ["GBR", "RUS"] {
        assert_ne!(decision(&node, id, to), "release", "{to}");
    }
}

/// Leak class (OpenCTI #16814, #6745): an export or a TAXII page never names a withheld id,
/// not in refs, not in anything pulled along with a released object.
#[test]
fn leak_an_export_never_names_a_withheld_id() {
    let (_d, mut node) = usa();
    let withheld: Vec<String> = decisions(&node, "RUS")
        .into_iter()
        .filter(|(_, d)| d["decision"] != json!("release"))
        .map(|(id, _)| id)
        .collect();
    assert!(withheld.iter().any(|w| w == ASSESSMENT) && withheld.iter().any(|w| w == ISR_REPORT));
    let export = node.export(&party("RUS")).unwrap().bundle;
    let view = node.view(&party("RUS")).unwrap();
    for id in &withheld {
        assert!(!export.contains(id.as_str()), "export names {id}");
        assert!(
            view.entries.iter().all(|e| !e.json.contains(id.as_str())),
            "view names {id}"
        );
    }
}

/// Leak class (MISP #4444): importing never resets a label.
#[test]
fn leak_importing_never_resets_a_label() {
    let (_d, mut node) = usa();
    let before = held(&node, NOFORN_NOTE);
    let mut again = before.clone();
    again.as_object_mut().unwrap().remove("object_marking_refs");
    let doc = json!({"type": "bundle", "id": "bundle--4a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "objects": [before.clone()]});
    let options = IngestOptions {
        default_label: Some(label("UNCLASSIFIED//REL TO USA, GBR, RUS", "USA")),
        source: None,
    };
    let s = node
        .ingest(
            &parse_document(&doc.to_string()).unwrap(),
            &options,
            &mut |_| {},
        )
        .unwrap();
    assert_eq!((s.added, s.duplicates), (0, 1));
    assert_eq!(held(&node, NOFORN_NOTE), before);
    for to in ["GBR", "RUS"] {
        assert_eq!(decision(&node, NOFORN_NOTE, to), "withhold", "{to}");
    }
    // Re-sent by a partner it is not: refused, label kept.
    send(&mut node, "RUS", &[with(again, json!({"modified": T1}))]);
    assert_eq!(held(&node, NOFORN_NOTE), before);
}

/// Our own copy echoed back by the partner we delivered it to is not an error.
#[test]
fn our_delivered_copy_coming_back_is_no_error() {
    let (_d, mut node) = usa();
    let view = node.view(&party("RUS")).unwrap();
    let texts: Vec<&str> = view.entries.iter().map(|e| &*e.json).collect();
    assert!(!texts.is_empty());
    let receipt = node.receive(&party("RUS"), &texts).unwrap();
    assert!(receipt.failures.is_empty(), "{:?}", receipt.failures);
    assert_eq!(receipt.successes.len(), texts.len());
}

// ---- The model hostile partner ----------------------------------------------------------

const OURS: usize = 8;
const BANNERS: [&str; 6] = [
    "UNCLASSIFIED//REL TO USA, GBR, RUS, FRA",
    "CONFIDENTIAL//REL TO USA, GBR, FRA",
    "SECRET//REL TO USA, GBR",
    "SECRET//NOFORN",
    "SECRET//ORCON//REL TO USA, GBR, RUS, FRA",
    "UNCLASSIFIED//REL TO USA, RUS",
];

fn our_id(i: usize) -> String {
    format!("indicator--00000000-0000-4000-8000-{:012}", i + 1)
}

fn rus_id(i: usize) -> String {
    format!("indicator--00000000-0000-4000-9000-{:012}", i + 1)
}

/// Our holdings: `OURS` indicators, each under one of the banners (originator USA or ISR),
/// derivations among them (from a later to an earlier one: no cycles) and consents.
#[derive(Debug, Clone)]
struct Holdings {
    labels: Vec<(usize, bool)>,
    derived: Vec<(usize, usize)>,
    consents: Vec<(usize, usize)>,
    ceilings: [usize; 3],
}

fn holdings() -> impl Strategy<Value = Holdings> {
    (
        prop::collection::vec((0..BANNERS.len(), any::<bool>()), OURS),
        prop::collection::vec((1..OURS, 0..OURS), 0..6),
        prop::collection::vec((0..OURS, 0..3usize), 0..4),
        [0..3usize, 0..3usize, 0..3usize],
    )
        .prop_map(|(labels, derived, consents, ceilings)| Holdings {
            labels,
            derived: derived.into_iter().map(|(a, b)| (a, b % a)).collect(),
            consents,
            ceilings,
        })
}

/// One thing a hostile partner sends.
#[derive(Debug, Clone)]
enum Move {
    /// A newer version of one of our objects, under a label it picks.
    NewVersion(usize, usize),
    /// A marking-definition under the id of one of our labels, loosened.
    Remark(usize),
    /// A `derived-from` between any two ids (ours or its own).
    Derive(bool, usize, bool, usize),
    /// An object of its own under a label naming `originator`, claiming to be the tear line
    /// of one of ours.
    Tearline(usize, usize, usize),
    /// An object of its own under one of our labels, with a granular marking whose selector
    /// matches nothing.
    BadSelector(usize),
}

fn moves() -> impl Strategy<Value = Vec<Move>> {
    let one = prop_oneof![
        (0..OURS, 0..BANNERS.len()).prop_map(|(a, b)| Move::NewVersion(a, b)),
        (0..BANNERS.len()).prop_map(Move::Remark),
        (any::<bool>(), 0..OURS, any::<bool>(), 0..OURS)
            .prop_map(|(a, b, c, d)| Move::Derive(a, b, c, d)),
        (0..OURS, 0..BANNERS.len(), 0..3usize).prop_map(|(a, b, c)| Move::Tearline(a, b, c)),
        (0..BANNERS.len()).prop_map(Move::BadSelector),
    ];
    prop::collection::vec(one, 1..8)
}

fn indicator(id: &str, modified: &str, marks: &[String]) -> Value {
    json!({"type": "indicator", "spec_version": "2.1", "id": id, "created": "2026-01-01T00:00:00.000Z",
           "modified": modified, "pattern": "[ipv4-addr:value = '198.51.100.7']", "pattern_type": "stix",
           "valid_from": "2026-01-01T00:00:00Z", "labels": ["terrorism"], "object_marking_refs": marks})
}

fn hostile_node(h: &Holdings) -> (tempfile::TempDir, Node<SqliteStore>) {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Node::init(dir.path(), &party("USA")).unwrap();
    let ceiling = ["UNCLASSIFIED", "CONFIDENTIAL", "SECRET"];
    for (i, p) in ["GBR", "RUS", "FRA"].iter().enumerate() {
        let agreement = format!(
            "ceiling = \"{}\"\n[scope]\nmax_tlp = \"amber\"\n",
            ceiling[h.ceilings[i]]
        );
        node.add_partner(&party(p), &agreement).unwrap();
    }
    let mut objects = Vec::new();
    let mut marks = BTreeSet::new();
    for (i, (b, isr)) in h.labels.iter().enumerate() {
        let l = label(BANNERS[*b], if *isr { "ISR" } else { "USA" });
        if marks.insert(l.marking_id().to_string()) {
            objects.push(marking(&l, "2026-01-01T00:00:00.000Z"));
        }
        objects.push(indicator(
            &our_id(i),
            "2026-01-01T00:00:00.000Z",
            &[l.marking_id().to_string()],
        ));
    }
    let shared = label(BANNERS[0], "USA");
    if marks.insert(shared.marking_id().to_string()) {
        objects.push(marking(&shared, "2026-01-01T00:00:00.000Z"));
    }
    for (k, (a, b)) in h.derived.iter().enumerate() {
        objects.push(json!({"type": "relationship", "spec_version": "2.1",
            "id": format!("relationship--00000000-0000-4000-8000-{:012}", k + 1),
            "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
            "relationship_type": "derived-from", "source_ref": our_id(*a), "target_ref": our_id(*b),
            "object_marking_refs": [shared.marking_id().to_string()]}));
    }
    let doc = json!({"type": "bundle", "id": "bundle--5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "objects": objects});
    node.ingest(
        &parse_document(&doc.to_string()).unwrap(),
        &IngestOptions::default(),
        &mut |_| {},
    )
    .unwrap();
    for (o, to) in &h.consents {
        node.add_consent(
            &our_id(*o),
            &party(["GBR", "RUS", "FRA"][*to]),
            &party("ISR"),
        )
        .unwrap();
    }
    (dir, node)
}

fn play(m: &Move, step: usize) -> Vec<Value> {
    let t = format!("2026-06-01T00:00:{:02}.000Z", step % 60);
    let rid = |i: usize| rus_id(i + 100 * step);
    match m {
        Move::NewVersion(o, b) => {
            let l = label(BANNERS[*b], "RUS");
            vec![
                marking(&l, &t),
                indicator(&our_id(*o), &t, &[l.marking_id().to_string()]),
            ]
        }
        Move::Remark(b) => {
            let target = label(BANNERS[*b], "USA");
            let mut loose = marking(&label(BANNERS[0], "RUS"), &t);
            loose["id"] = json!(target.marking_id().to_string());
            let mut ours_named = marking(&label(BANNERS[0], "USA"), &t);
            ours_named["id"] = json!(label(BANNERS[*b], "ISR").marking_id().to_string());
            vec![loose, ours_named]
        }
        Move::Derive(a_ours, a, b_ours, b) => {
            let noforn = label("SECRET//NOFORN", "RUS");
            let end = |ours: bool, i: usize| if ours { our_id(i) } else { rid(i) };
            vec![
                marking(&noforn, &t),
                indicator(&rid(*a), &t, &[noforn.marking_id().to_string()]),
                indicator(&rid(*b), &t, &[noforn.marking_id().to_string()]),
                json!({"type": "relationship", "spec_version": "2.1", "id": format!("relationship--00000000-0000-4000-9000-{:012}", step + 1),
                    "created": t, "modified": t, "relationship_type": "derived-from",
                    "source_ref": end(*a_ours, *a), "target_ref": end(*b_ours, *b)}),
            ]
        }
        Move::Tearline(o, b, who) => {
            let l = label(BANNERS[*b], ["USA", "ISR", "RUS"][*who]);
            let mut t_obj = indicator(&rid(50), &t, &[l.marking_id().to_string()]);
            t_obj["extensions"] = json!({LIAISON_EXTENSION_ID: {"extension_type": "property-extension", "tearline_of": our_id(*o)}});
            vec![marking(&l, &t), t_obj]
        }
        Move::BadSelector(b) => {
            let l = label(BANNERS[*b], "USA");
            let mut o = indicator(&rid(60), &t, &[l.marking_id().to_string()]);
            o["granular_markings"] =
                json!([{"marking_ref": l.marking_id().to_string(), "selectors": ["nothing_here"]}]);
            vec![o]
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Whatever RUS sends, no decision about an object RUS does not own changes for any
    /// other partner, and nothing of ours released to RUS before is withheld afterwards.
    #[test]
    fn a_hostile_partner_changes_nothing_it_does_not_own(h in holdings(), moves in moves()) {
        let (_d, mut node) = hostile_node(&h);
        let before: BTreeMap<&str, BTreeMap<String, Value>> =
            ["GBR", "FRA", "RUS"].into_iter().map(|p| (p, decisions(&node, p))).collect();
        for (step, m) in moves.iter().enumerate() {
            let texts: Vec<String> = play(m, step).iter().map(Value::to_string).collect();
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            node.receive(&party("RUS"), &refs).unwrap();
        }
        for p in ["GBR", "FRA"] {
            let after = decisions(&node, p);
            for (id, d) in &before[p] {
                prop_assert_eq!(Some(d), after.get(id), "{} about {} after {:?}", p, id, moves);
            }
        }
        let after = decisions(&node, "RUS");
        for (id, d) in &before["RUS"] {
            if d["decision"] == json!("release") {
                prop_assert_eq!(&after[id]["decision"], &json!("release"), "{} withheld from RUS after {:?}", id, moves);
            }
        }
    }
}

/// A partner is never told which other partner an object came from (our sourcing): the
/// refusal of its version of GBR's object says only that another party owns it.
#[test]
fn a_refusal_never_names_who_else_gave_us_the_object() {
    let (_d, mut node) = usa();
    let gbr_own = "indicator--9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";
    let shared = label("UNCLASSIFIED//REL TO USA, GBR, RUS", "GBR");
    let original = json!({"type": "indicator", "spec_version": "2.1", "id": gbr_own, "created": T1, "modified": T1,
        "pattern": "[ipv4-addr:value = '192.0.2.9']", "pattern_type": "stix", "valid_from": T1, "labels": ["terrorism"],
        "object_marking_refs": [shared.marking_id().to_string()]});
    send(&mut node, "GBR", &[marking(&shared, T1), original.clone()]);
    assert_eq!(decision(&node, gbr_own, "RUS"), "release");
    let forged = with(original, json!({"modified": "2026-11-26T00:00:00.000Z"}));
    let receipt = send(&mut node, "RUS", &[forged]);
    let failure = receipt
        .failures
        .first()
        .expect("RUS may see it, so it is told");
    assert!(
        failure.message.contains("another party"),
        "{}",
        failure.message
    );
    assert!(!failure.message.contains("GBR"), "{}", failure.message);
    // The operator sees who owns it.
    let kept = node.refusals(Some("RUS"), 0, 10).unwrap();
    assert!(
        kept.iter()
            .any(|r| r.id == gbr_own && r.reason.contains("GBR")),
        "{kept:?}"
    );
}

/// Several objects of one batch that conflict with what their owner sent before (same id and
/// version, other content) are each refused, and the rest of the batch is stored.
#[test]
fn conflicting_objects_of_a_batch_are_refused_together_and_the_rest_stored() {
    let (_d, mut node) = usa();
    let shared = label("UNCLASSIFIED//REL TO USA, RUS", "RUS");
    let ind = |n: u32, value: &str| {
        json!({"type": "indicator", "spec_version": "2.1",
        "id": format!("indicator--00000000-0000-4000-a000-{n:012}"), "created": T1, "modified": T1,
        "pattern": format!("[ipv4-addr:value = '{value}']"), "pattern_type": "stix", "valid_from": T1,
        "labels": ["terrorism"], "object_marking_refs": [shared.marking_id().to_string()]})
    };
    let first: Vec<Value> = std::iter::once(marking(&shared, T1))
        .chain((1..=3).map(|n| ind(n, "192.0.2.1")))
        .collect();
    assert!(send(&mut node, "RUS", &first).failures.is_empty());
    let second = [
        ind(1, "192.0.2.2"),
        ind(4, "192.0.2.4"),
        ind(2, "192.0.2.2"),
        ind(5, "192.0.2.5"),
        ind(3, "192.0.2.2"),
    ];
    let receipt = send(&mut node, "RUS", &second);
    let mut failed: Vec<&str> = receipt
        .failures
        .iter()
        .filter_map(|f| f.id.as_deref())
        .collect();
    failed.sort_unstable();
    assert_eq!(
        failed,
        vec![
            "indicator--00000000-0000-4000-a000-000000000001",
            "indicator--00000000-0000-4000-a000-000000000002",
            "indicator--00000000-0000-4000-a000-000000000003",
        ]
    );
    for n in [4, 5] {
        let id = format!("indicator--00000000-0000-4000-a000-{n:012}");
        assert!(
            liaison_store::ObjectStore::latest(node.store(), &id)
                .unwrap()
                .is_some(),
            "{id}"
        );
    }
    assert_eq!(
        held(&node, "indicator--00000000-0000-4000-a000-000000000001")["pattern"],
        json!("[ipv4-addr:value = '192.0.2.1']")
    );
}

/// A label in our name is refused alike whether or not we hold its id (no oracle for which
/// labels we hold); our own label sent back exactly as held is a duplicate.
#[test]
fn a_label_in_our_name_is_refused_alike_held_or_not() {
    let (_d, mut node) = usa();
    let l = sample::labels().unwrap();
    let held_id = l.usa_ts_noforn.marking_id().to_string();
    let mut changed = marking(&l.usa_ts_noforn, T1);
    changed["name"] = json!("TOP SECRET//SI//NOFORN");
    let unknown = marking(&label("CONFIDENTIAL//REL TO USA, RUS", "USA"), T1);
    for sent in [changed, unknown] {
        let receipt = send(&mut node, "RUS", std::slice::from_ref(&sent));
        let f = receipt.failures.first().expect("refused");
        assert!(f.message.contains("made only by USA"), "{}", f.message);
    }
    assert_eq!(held(&node, &held_id)["created"], json!(sample::T0));
    let same = held(&node, &held_id);
    assert!(send(&mut node, "RUS", &[same]).failures.is_empty());
}

#[test]
fn refusals_name_the_reason_codes() {
    // The refusal reasons are typed values with stable codes for tools.
    let r = serde_json::to_value(Refusal::NotOwner {
        owner: "local".into(),
    })
    .unwrap();
    assert_eq!(r["code"], json!("not_owner"));
    let r = serde_json::to_value(Refusal::ClaimsOurLabel {
        originator: "USA".into(),
    })
    .unwrap();
    assert_eq!(r["code"], json!("claims_our_label"));
}

/// Written in batches of any size (`ingest_checked`, as `liaison ingest` writes a file), a
/// hostile document is refused, labelled and counted exactly as when ingested whole: the
/// boundary is the same for every batch, and a label the document defines after the objects
/// that carry it still counts for them.
#[test]
fn batched_ingest_refuses_labels_and_counts_as_whole_ingest() {
    let rus_label = label("UNCLASSIFIED//REL TO USA, RUS", "RUS");
    let ours = label("UNCLASSIFIED//REL TO USA, RUS", "USA");
    let indicator = |n: u32, marks: Vec<String>| {
        json!({"type": "indicator", "spec_version": "2.1",
        "id": format!("indicator--00000000-0000-4000-8000-{n:012}"), "created": T1, "modified": T1,
        "labels": ["terrorism"], "pattern": format!("[ipv4-addr:value = '192.0.2.{n}']"),
        "pattern_type": "stix", "valid_from": T1, "object_marking_refs": marks})
    };
    let (_d, node) = usa();
    let theirs_now = with(
        held(&node, INDICATOR),
        json!({"modified": "2026-12-01T00:00:00.000Z"}),
    );
    drop(node);
    let text =
        json!({"type": "bundle", "id": "bundle--9a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "objects": [
            indicator(1, vec![rus_label.marking_id().to_string()]),
            indicator(2, vec![]),
            theirs_now,
            marking(&ours, T1),
            indicator(3, vec![]),
            indicator(1, vec![rus_label.marking_id().to_string()]),
            marking(&rus_label, T1),
        ]})
        .to_string();
    let options = IngestOptions {
        default_label: Some(label("SECRET//REL TO USA", "RUS")),
        source: Some(party("RUS")),
    };
    let (_w, mut whole) = usa();
    let expected = whole
        .ingest_upgraded(
            &liaison_stix::parse_document_upgrading(&text).unwrap(),
            &options,
            &mut |_| {},
        )
        .unwrap();
    let reasons: Vec<&str> = expected
        .refused
        .iter()
        .map(|r| match r.reason {
            Refusal::NotOwner { .. } => "not owner",
            Refusal::ClaimsOurLabel { .. } => "our label",
            Refusal::MarkingRedefined => "redefined",
        })
        .collect();
    assert_eq!(reasons, ["not owner", "our label"], "{expected:?}");
    assert_eq!(
        (expected.added, expected.duplicates),
        (4, 1),
        "{expected:?}"
    );
    assert_eq!(
        (expected.labelled, expected.owner_only),
        (2, 0),
        "{expected:?}"
    );
    for batch in [1, 2, 3, 1000] {
        let (_b, mut batched) = usa();
        let checked = liaison_release::check_document(text.as_bytes(), &mut |_| {}).unwrap();
        let got = batched
            .ingest_checked(
                text.as_bytes(),
                &checked,
                &options,
                Some(batch),
                &mut |_| {},
            )
            .unwrap();
        assert_eq!(got, expected, "batch {batch}");
        let refusals = |n: &Node<SqliteStore>| {
            n.refusals(None, 0, 100)
                .unwrap()
                .into_iter()
                .map(|r| (r.id, r.reason))
                .collect::<Vec<_>>()
        };
        assert_eq!(refusals(&batched), refusals(&whole), "batch {batch}");
        // The same decisions, but for the ids each node mints for its deliveries.
        let decided = |n: &Node<SqliteStore>, to: &str| {
            let mut d = decisions(n, to);
            for v in d.values_mut() {
                if let Some(o) = v.as_object_mut() {
                    o.remove("delivered_as");
                }
            }
            d
        };
        for to in ["RUS", "GBR"] {
            assert_eq!(decided(&batched, to), decided(&whole, to), "batch {batch}");
        }
    }
}
