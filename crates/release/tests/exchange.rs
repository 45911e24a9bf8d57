//! What partners do to a node: secrets, receiving objects one by one, views, deletions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use liaison_labels::Party;
use liaison_release::{IngestOptions, Node};
use liaison_stix::{parse_document, Timestamp};
use liaison_store::prelude::*;
use liaison_store::SqliteStore;

fn party(s: &str) -> Party {
    Party::parse(s).unwrap()
}

const AGREEMENT: &str = "ceiling = \"SECRET\"\n[scope]\nmax_tlp = \"amber\"\n";

fn node() -> (tempfile::TempDir, Node<SqliteStore>) {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Node::init(dir.path(), &party("USA")).unwrap();
    node.add_partner(&party("GBR"), AGREEMENT).unwrap();
    node.add_partner(&party("RUS"), AGREEMENT).unwrap();
    (dir, node)
}

fn indicator(n: u32, modified: &str) -> String {
    format!(
        r#"{{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-{n:012}","created":"2026-01-01T00:00:00.000Z","modified":"{modified}","pattern":"[ipv4-addr:value = '198.51.100.{n}']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}}"#
    )
}

#[test]
fn secrets_are_checked_and_never_stored_in_clear() {
    let (dir, mut node) = node();
    assert!(
        !node.check_secret(&party("GBR"), "anything at all").unwrap(),
        "no secret set yet"
    );
    node.set_secret(&party("GBR"), "correct horse battery")
        .unwrap();
    assert!(node
        .check_secret(&party("GBR"), "correct horse battery")
        .unwrap());
    assert!(!node
        .check_secret(&party("GBR"), "correct horse battery ")
        .unwrap());
    assert!(
        !node
            .check_secret(&party("RUS"), "correct horse battery")
            .unwrap(),
        "secrets are per partner"
    );
    assert!(node.set_secret(&party("GBR"), "short").is_err());
    assert!(
        node.set_secret(&party("FRA"), "correct horse battery")
            .is_err(),
        "not a partner"
    );
    let raw = std::fs::read(dir.path().join("node.db")).unwrap();
    let needle = b"correct horse battery";
    assert!(
        !raw.windows(needle.len()).any(|w| w == needle),
        "the secret is in the database file"
    );
}

#[test]
fn received_objects_are_taken_one_by_one() {
    let (_dir, mut node) = node();
    let good = indicator(1, "2026-01-01T00:00:00.000Z");
    let bad_json = "{\"type\": ".to_owned();
    let bad_stix = indicator(2, "yesterday");
    let texts = [
        good.as_str(),
        bad_json.as_str(),
        bad_stix.as_str(),
        good.as_str(),
    ];
    let gen0 = node.generation().unwrap();
    let receipt = node.receive(&party("GBR"), &texts).unwrap();
    assert_eq!(
        receipt.successes.len(),
        2,
        "the good one, and its exact duplicate"
    );
    assert_eq!(receipt.failures.len(), 2);
    assert!(receipt.failures[0].message.contains("not valid JSON"));
    assert_eq!(
        receipt.failures[1].id.as_deref(),
        Some("indicator--00000000-0000-4000-8000-000000000002")
    );
    assert!(receipt.failures[1].message.contains("`modified`"));
    assert_ne!(node.generation().unwrap(), gen0);

    // A different object under a held id and version is refused alone.
    let clash = indicator(1, "2026-01-01T00:00:00.000Z").replace("198.51.100.1", "203.0.113.9");
    let fresh = indicator(3, "2026-01-01T00:00:00.000Z");
    let receipt = node
        .receive(&party("GBR"), &[clash.as_str(), fresh.as_str()])
        .unwrap();
    assert_eq!(receipt.failures.len(), 1);
    assert_eq!(receipt.successes.len(), 1);

    let inbound = node.inbound_view(&party("GBR")).unwrap();
    let ids: Vec<&str> = inbound.entries.iter().map(|e| e.id.as_str()).collect();
    assert!(ids.contains(&"indicator--00000000-0000-4000-8000-000000000001"));
    assert!(ids.contains(&"indicator--00000000-0000-4000-8000-000000000003"));
    assert!(node
        .inbound_view(&party("RUS"))
        .unwrap()
        .entries
        .iter()
        .all(|e| !e.id.starts_with("indicator")));
}

#[test]
fn received_objects_without_a_label_go_no_further() {
    let (_dir, mut node) = node();
    let ind = indicator(1, "2026-01-01T00:00:00.000Z");
    node.receive(&party("GBR"), &[ind.as_str()]).unwrap();
    let id = "indicator--00000000-0000-4000-8000-000000000001";
    let to_rus = node.preview(&party("RUS")).unwrap();
    let e = to_rus.iter().find(|e| e.object == id).unwrap();
    assert_eq!(e.decision.as_str(), "withhold");
    assert_eq!(
        e.reasons[0].code.as_str(),
        "not_releasable_to",
        "owner only: GBR's"
    );
    // GBR has it already: it is not sent back.
    assert!(node
        .preview(&party("GBR"))
        .unwrap()
        .iter()
        .all(|e| e.object != id));
}

#[test]
fn a_partner_deletes_only_what_it_sent() {
    let (_dir, mut node) = node();
    let v1 = indicator(1, "2026-01-01T00:00:00.000Z");
    let v2 = indicator(1, "2026-02-01T00:00:00.000Z");
    node.receive(&party("GBR"), &[v1.as_str(), v2.as_str()])
        .unwrap();
    let ours = parse_document(&indicator(2, "2026-01-01T00:00:00.000Z")).unwrap();
    node.ingest(&ours, &IngestOptions::default(), &mut |_| {})
        .unwrap();
    let id1 = "indicator--00000000-0000-4000-8000-000000000001";
    let first = Timestamp::parse("2026-01-01T00:00:00.000Z").unwrap();
    assert_eq!(
        node.delete_received(&party("GBR"), id1, Some(&[first]))
            .unwrap(),
        1
    );
    assert_eq!(
        node.inbound_view(&party("GBR"))
            .unwrap()
            .entries
            .iter()
            .filter(|e| e.id == id1)
            .count(),
        1
    );
    assert_eq!(
        node.delete_received(&party("RUS"), id1, None).unwrap(),
        0,
        "RUS sent nothing"
    );
    assert_eq!(
        node.delete_received(
            &party("GBR"),
            "indicator--00000000-0000-4000-8000-000000000002",
            None
        )
        .unwrap(),
        0,
        "our own object is not GBR's to delete"
    );
    assert_eq!(node.delete_received(&party("GBR"), id1, None).unwrap(), 1);
}

#[test]
fn views_record_when_objects_first_reach_a_partner() {
    let (_dir, mut node) = node();
    let doc = parse_document(&format!(
        r#"{{"type":"bundle","id":"bundle--00000000-0000-4000-8000-000000000000","objects":[{}]}}"#,
        indicator(1, "2026-01-01T00:00:00.000Z")
    ))
    .unwrap();
    let label = "SECRET//REL TO USA, GBR".parse().unwrap();
    let options = IngestOptions {
        default_label: Some(liaison_labels::Label {
            banner: label,
            originator: party("USA"),
            grading: None,
            duty_to_warn: false,
        }),
        source: None,
    };
    node.ingest(&doc, &options, &mut |_| {}).unwrap();
    let first = node.view(&party("GBR")).unwrap();
    let delivered = first
        .entries
        .iter()
        .find(|e| e.original == "indicator--00000000-0000-4000-8000-000000000001")
        .unwrap();
    assert_ne!(
        delivered.id, delivered.original,
        "GBR receives its own id for it"
    );
    let again = node.view(&party("GBR")).unwrap();
    let t = |v: &liaison_release::View| {
        v.entries
            .iter()
            .find(|e| e.id.starts_with("indicator--"))
            .map(|e| e.date_added.clone())
            .unwrap()
    };
    assert_eq!(
        t(&first),
        t(&again),
        "date_added is when it first entered the view"
    );
    assert!(first
        .entries
        .windows(2)
        .all(|w| w[0].date_added < w[1].date_added));
    assert!(
        node.view(&party("RUS")).unwrap().entries.is_empty(),
        "not releasable to RUS"
    );
}

#[test]
fn regression_post_is_no_oracle_for_withheld_objects() {
    // A partner that sends an object under the id and version of one we hold but withhold
    // from it must get the answer it would get for an id we never saw.
    let (_dir, mut node) = node();
    let ours = parse_document(&indicator(7, "2026-01-01T00:00:00.000Z")).unwrap();
    node.ingest(&ours, &IngestOptions::default(), &mut |_| {})
        .unwrap(); // owner only
    let probe = indicator(7, "2026-01-01T00:00:00.000Z").replace("198.51.100.7", "203.0.113.1");
    let unseen = indicator(8, "2026-01-01T00:00:00.000Z");
    let receipt = node
        .receive(&party("RUS"), &[probe.as_str(), unseen.as_str()])
        .unwrap();
    assert!(receipt.failures.is_empty(), "{:?}", receipt.failures);
    assert_eq!(receipt.successes.len(), 2);
    let held = liaison_store::ObjectStore::latest(
        node.store(),
        "indicator--00000000-0000-4000-8000-000000000007",
    )
    .unwrap()
    .unwrap();
    assert!(
        held.object.raw().contains("198.51.100.7"),
        "our object was replaced"
    );
    assert_eq!(held.source, "local");
}

#[test]
fn the_ledger_counts_both_ways_and_pauses_a_one_way_street() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Node::init(dir.path(), &party("USA")).unwrap();
    let terms = "ceiling = \"SECRET\"\n[scope]\nmax_tlp = \"amber\"\n[reciprocity]\nbalance_limit = 2.5\nsmall_gestures = [\"indicator\"]\n[reciprocity.values]\nreport = 2.0\n";
    node.add_partner(&party("RUS"), terms).unwrap();
    let shared: liaison_labels::Banner = "UNCLASSIFIED//REL TO USA, RUS".parse().unwrap();
    let options = IngestOptions {
        default_label: Some(liaison_labels::Label {
            banner: shared,
            originator: party("USA"),
            grading: None,
            duty_to_warn: false,
        }),
        source: None,
    };
    let report = |n: u32| {
        format!(
            r#"{{"type":"report","spec_version":"2.1","id":"report--00000000-0000-4000-8000-{n:012}","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"r{n}","published":"2026-01-01T00:00:00Z","object_refs":["indicator--00000000-0000-4000-8000-000000000001"]}}"#
        )
    };
    let doc = |objs: &[String]| {
        parse_document(&format!(
            r#"{{"type":"bundle","id":"bundle--00000000-0000-4000-8000-000000000000","objects":[{}]}}"#,
            objs.join(",")
        ))
        .unwrap()
    };
    // Two reports (2.0 each) go to RUS: balance 4.0, past the limit of 2.5.
    node.ingest(
        &doc(&[
            report(1),
            report(2),
            indicator(1, "2026-01-01T00:00:00.000Z"),
        ]),
        &options,
        &mut |_| {},
    )
    .unwrap();
    let first = node.view(&party("RUS")).unwrap();
    assert_eq!(
        first
            .entries
            .iter()
            .filter(|e| e.object_type == "report")
            .count(),
        2
    );
    let account = node.ledger(&party("RUS")).unwrap();
    assert_eq!(
        (account.given, account.received),
        (5.0, 0.0),
        "two reports and an indicator"
    );
    assert!(account.paused);
    // Each delivery is in the log, once, with its decision and its value in the ledger.
    let size = node.log_size().unwrap();
    let (logged, commitments): (Vec<liaison_release::Leaf>, Vec<liaison_release::Leaf>) = node
        .deliveries(&party("RUS"), None, size)
        .unwrap()
        .into_iter()
        .map(|(_, o)| liaison_release::Leaf::from_json(&o.leaf).unwrap())
        .partition(|l| matches!(l, liaison_release::Leaf::Delivery { .. }));
    assert_eq!(commitments.len(), 1, "the fingerprint commitment, once");
    let released = liaison_store::DeliveryStore::releases(node.store(), "RUS").unwrap();
    assert_eq!(
        logged.len(),
        released.len(),
        "one delivery leaf per release"
    );
    let mut value = 0.0;
    for leaf in &logged {
        let liaison_release::Leaf::Delivery {
            value: v,
            decision,
            delivered,
            ..
        } = leaf
        else {
            panic!("not a delivery: {leaf:?}")
        };
        assert_eq!(decision, "release", "{delivered}");
        if delivered.starts_with("report--") {
            assert_eq!(*v, 2.0, "the agreement's value for a report");
        }
        value += v;
    }
    assert_eq!(
        value, account.given,
        "the log's values add up to the ledger"
    );

    // A third report now waits; a small gesture still goes; what went before stays.
    node.ingest(
        &doc(&[report(3), indicator(2, "2026-01-01T00:00:00.000Z")]),
        &options,
        &mut |_| {},
    )
    .unwrap();
    let preview = node.preview(&party("RUS")).unwrap();
    let third = preview
        .iter()
        .find(|e| e.object.ends_with("000000000003"))
        .unwrap();
    assert_eq!(
        third
            .reasons
            .iter()
            .map(|r| r.code.as_str())
            .collect::<Vec<_>>(),
        ["reciprocity"]
    );
    assert!(preview
        .iter()
        .filter(|e| e.object.starts_with("indicator"))
        .all(|e| e.decision.as_str() == "release"));
    assert!(preview
        .iter()
        .filter(|e| e.object.ends_with("000000000001") && e.object.starts_with("report"))
        .all(|e| e.decision.as_str() == "release"));

    // RUS gives back: the balance falls under the limit and the exchange reopens.
    let theirs: Vec<String> = (10..13)
        .map(|n| indicator(n, "2026-01-01T00:00:00.000Z"))
        .collect();
    let texts: Vec<&str> = theirs.iter().map(String::as_str).collect();
    node.receive(&party("RUS"), &texts).unwrap();
    let account = node.ledger(&party("RUS")).unwrap();
    assert_eq!(account.received, 3.0);
    assert!(!account.paused, "{account:?}");
    let preview = node.preview(&party("RUS")).unwrap();
    let third = preview
        .iter()
        .find(|e| e.object.ends_with("000000000003"))
        .unwrap();
    assert_eq!(third.decision.as_str(), "release");
    assert!(!account.history.is_empty());
}

/// USA and RUS, each with the other as partner and the other's log key registered.
fn two_nodes() -> (
    tempfile::TempDir,
    Node<SqliteStore>,
    tempfile::TempDir,
    Node<SqliteStore>,
) {
    let (ud, mut usa) = node();
    let rd = tempfile::tempdir().unwrap();
    let mut rus = Node::init(rd.path(), &party("RUS")).unwrap();
    rus.add_partner(&party("USA"), AGREEMENT).unwrap();
    let ukey = usa.log_keys().node.verifier_key().to_string();
    let rkey = rus.log_keys().node.verifier_key().to_string();
    rus.set_partner_key(&party("USA"), liaison_release::PARTNER_LOG_KEY, &ukey)
        .unwrap();
    usa.set_partner_key(&party("RUS"), liaison_release::PARTNER_LOG_KEY, &rkey)
        .unwrap();
    (ud, usa, rd, rus)
}

fn agreement_leaves(node: &Node<SqliteStore>, partner: &str) -> Vec<(String, Vec<String>)> {
    let size = node.log_size().unwrap();
    (0..size)
        .filter_map(|i| node.opening_for(i, &party(partner)).unwrap())
        .filter_map(|o| match liaison_release::Leaf::from_json(&o.leaf) {
            Some(liaison_release::Leaf::Agreement {
                terms, signed_by, ..
            }) => Some((terms, signed_by)),
            _ => None,
        })
        .collect()
}

#[test]
fn agreements_are_signed_by_both_sides_and_logged_by_both() {
    let (_ud, mut usa, _rd, mut rus) = two_nodes();
    let offered = usa.offered_agreement(&party("RUS")).unwrap().unwrap();
    assert_eq!(offered.text, AGREEMENT);
    let status = usa.agreement_status(&party("RUS")).unwrap();
    let ours = status.ours.unwrap();
    assert_eq!(
        (ours.signed_by.clone(), ours.countersigned),
        (vec!["USA".to_owned()], false)
    );

    let both = rus
        .countersign_agreement(&party("USA"), &offered.text, &offered.note)
        .unwrap();
    assert!(usa
        .accept_agreement_countersignature(&party("RUS"), &both)
        .unwrap());
    assert!(
        !usa.accept_agreement_countersignature(&party("RUS"), &both)
            .unwrap(),
        "the same countersignature is taken once"
    );
    assert_eq!(
        rus.countersign_agreement(&party("USA"), &offered.text, &offered.note)
            .unwrap(),
        both,
        "countersigning the same terms again changes nothing"
    );
    let ours = usa.agreement_status(&party("RUS")).unwrap().ours.unwrap();
    assert!(ours.countersigned, "{ours:?}");
    assert_eq!(ours.signed_by, ["USA", "RUS"]);
    let theirs = rus.agreement_status(&party("USA")).unwrap().theirs.unwrap();
    assert!(theirs.countersigned);
    assert_eq!(theirs.sha256, offered.sha256);

    // What `log verify` looks for in the USA's log: the terms, signed by both keys.
    let sha = &offered.sha256;
    assert!(rus
        .is_countersigned_terms(&party("USA"), &both, sha)
        .unwrap());
    assert!(!rus
        .is_countersigned_terms(&party("USA"), &offered.note, sha)
        .unwrap());
    assert!(!rus
        .is_countersigned_terms(&party("USA"), &both, &"0".repeat(64))
        .unwrap());
    assert!(!rus
        .is_countersigned_terms(&party("USA"), &both.replace("to RUS", "to GBR"), sha)
        .unwrap());

    // Both logs hold the note signed by both, once.
    let two = |v: &[(String, Vec<String>)], terms: &str| {
        v.iter().filter(|(t, s)| t == terms && s.len() == 2).count()
    };
    assert_eq!(two(&agreement_leaves(&usa, "RUS"), "ours"), 1);
    assert_eq!(two(&agreement_leaves(&rus, "USA"), "theirs"), 1);
}

#[test]
fn altered_or_foreign_agreement_notes_are_refused() {
    let (_ud, mut usa, _rd, mut rus) = two_nodes();
    let offered = usa.offered_agreement(&party("RUS")).unwrap().unwrap();
    let refused = |r: Result<String, liaison_release::ReleaseError>| match r {
        Err(liaison_release::ReleaseError::Agreement(m)) => m,
        other => panic!("not refused: {other:?}"),
    };
    // Other terms than the ones signed.
    let m = refused(rus.countersign_agreement(
        &party("USA"),
        &offered.text.replace("SECRET", "TOP SECRET"),
        &offered.note,
    ));
    assert!(m.contains("hashes to"), "{m}");
    // The note altered after signing.
    let m = refused(rus.countersign_agreement(
        &party("USA"),
        &offered.text,
        &offered.note.replace("to RUS", "to GBR"),
    ));
    assert!(m.contains("altered"), "{m}");
    // Terms signed by someone else's key.
    let gd = tempfile::tempdir().unwrap();
    let mut gbr = Node::init(gd.path(), &party("GBR")).unwrap();
    gbr.add_partner(&party("RUS"), AGREEMENT).unwrap();
    let forged = gbr.offered_agreement(&party("RUS")).unwrap().unwrap();
    let m = refused(rus.countersign_agreement(&party("USA"), &forged.text, &forged.note));
    assert!(m.contains("not signed by USA's registered key"), "{m}");

    // A countersignature on terms the USA has since replaced is refused: fetch again.
    let both = rus
        .countersign_agreement(&party("USA"), &offered.text, &offered.note)
        .unwrap();
    usa.add_partner(&party("RUS"), &AGREEMENT.replace("SECRET", "CONFIDENTIAL"))
        .unwrap();
    let m = match usa.accept_agreement_countersignature(&party("RUS"), &both) {
        Err(liaison_release::ReleaseError::Agreement(m)) => m,
        other => panic!("not refused: {other:?}"),
    };
    assert!(m.contains("not our current terms"), "{m}");
    // Our own note sent back without RUS's signature is no countersignature.
    let current = usa.offered_agreement(&party("RUS")).unwrap().unwrap();
    assert!(matches!(
        usa.accept_agreement_countersignature(&party("RUS"), &current.note),
        Err(liaison_release::ReleaseError::Agreement(m)) if m.contains("not countersigned by RUS")
    ));
    assert!(
        !usa.agreement_status(&party("RUS"))
            .unwrap()
            .ours
            .unwrap()
            .countersigned
    );
}

#[test]
fn terms_in_force_without_a_signed_note_are_signed_when_offered() {
    // As after a crash between storing an agreement and signing it.
    let dir = tempfile::tempdir().unwrap();
    {
        let mut usa = Node::init(dir.path(), &party("USA")).unwrap();
        usa.add_partner(&party("RUS"), AGREEMENT).unwrap();
    }
    let changed = AGREEMENT.replace("SECRET", "CONFIDENTIAL");
    {
        let mut store = SqliteStore::open(&dir.path().join("node.db")).unwrap();
        liaison_store::PartnerStore::put_partner(
            &mut store,
            &liaison_store::PartnerRecord {
                party: "RUS".into(),
                agreement: changed.clone(),
                updated: "2026-11-23T00:00:00Z".into(),
            },
        )
        .unwrap();
    }
    let mut usa = Node::open(dir.path()).unwrap();
    let stale = usa.agreement_status(&party("RUS")).unwrap().ours.unwrap();
    assert_ne!(
        stale.sha256,
        liaison_release::sha256_hex(changed.as_bytes())
    );
    let size = usa.log_size().unwrap();
    let offered = usa.offered_agreement(&party("RUS")).unwrap().unwrap();
    assert_eq!(offered.text, changed);
    assert_eq!(
        offered.sha256,
        liaison_release::sha256_hex(changed.as_bytes())
    );
    assert_eq!(
        usa.log_size().unwrap(),
        size + 1,
        "the new terms are logged"
    );
    // Asking again signs nothing new.
    usa.offered_agreement(&party("RUS")).unwrap();
    assert_eq!(usa.log_size().unwrap(), size + 1);
}

// STIX 2.0 in, bytes kept out.

/// A STIX 2.0 bundle as ATT&CK publishes it: pretty-printed, escapes in its text, a
/// copyright statement marking on every object.
const STIX20_BUNDLE: &str = r#"{
    "type": "bundle",
    "id": "bundle--3b6a1a6c-0ad7-4f8a-8a3f-3c5e0d1a2b4c",
    "spec_version": "2.0",
    "objects": [
        {
            "type": "marking-definition",
            "id": "marking-definition--fa42a846-8d90-4e51-bc29-71d5b4802168",
            "created": "2017-06-01T00:00:00.000Z",
            "definition_type": "statement",
            "definition": {"statement": "Copyright 2015-2024, The MITRE Corporation."}
        },
        {
            "type": "malware",
            "id": "malware--2a6f4c7b-e690-4cc7-ab6b-1f821fb6b80b",
            "created": "2017-05-31T21:32:40.301Z",
            "modified": "2024-04-11T00:00:00.000Z",
            "name": "LOWBALL",
            "description": "[LOWBALL](https://attack.mitre.org/software/S0042) is malware that\u2019s used \u00e9 \/ \"quoted\".",
            "labels": ["malware"],
            "object_marking_refs": ["marking-definition--fa42a846-8d90-4e51-bc29-71d5b4802168"],
            "x_mitre_version": "1.1"
        }
    ]
}"#;

fn rel_to_gbr() -> IngestOptions {
    IngestOptions {
        default_label: Some(liaison_labels::Label {
            banner: "UNCLASSIFIED//REL TO USA, GBR//TLP:CLEAR".parse().unwrap(),
            originator: party("USA"),
            grading: None,
            duty_to_warn: false,
        }),
        source: None,
    }
}

/// The text of object `id` in `text` (a bundle's text), as it stands there.
fn object_text<'a>(text: &'a str, name: &str) -> &'a str {
    let at = text.find(name).unwrap();
    let start = text[..at].rfind("        {").unwrap() + 8;
    let end = at + text[at..].find("\n        }").unwrap() + 10;
    &text[start..end]
}

#[test]
fn stix20_is_upgraded_on_ingest_and_explain_says_what_was_added() {
    let (_dir, mut node) = node();
    let read = liaison_stix::parse_document_upgrading(STIX20_BUNDLE).unwrap();
    let summary = node
        .ingest_upgraded(&read, &rel_to_gbr(), &mut |_| {})
        .unwrap();
    assert_eq!(
        (summary.objects, summary.added, summary.upgraded),
        (2, 2, 2)
    );

    let id = "malware--2a6f4c7b-e690-4cc7-ab6b-1f821fb6b80b";
    let x = node.explain(id, &party("GBR")).unwrap();
    assert_eq!(x.decision.decision.as_str(), "release");
    let added: Vec<String> = x
        .upgraded_from_stix20
        .iter()
        .map(|u| u.to_string())
        .collect();
    assert_eq!(
        added,
        [
            "added `spec_version: \"2.1\"` (every STIX 2.1 object carries it)",
            "added `is_family: true` (STIX 2.1 requires it, and STIX 2.0 malware describes families)",
            "added `malware_types: [\"malware\"]` (STIX 2.0 kept this vocabulary in `labels` (kept too), STIX 2.1 in this property)",
        ]
    );
    let json = serde_json::to_value(&x).unwrap();
    assert_eq!(json["upgraded_from_stix20"][1]["property"], "is_family");
    assert_eq!(json["upgraded_from_stix20"][1]["rule"], "malware-is-family");

    // The original 2.0 text is kept: the stored text is it plus the additions.
    let original = object_text(STIX20_BUNDLE, "\"malware--2a6f4c7b");
    let stored = node.store().latest(id).unwrap().unwrap();
    assert_eq!(
        liaison_stix::text_before_upgrade(stored.object.raw(), &stored.upgrades).as_deref(),
        Some(original)
    );
    // An object that came as 2.1 says nothing of an upgrade.
    node.ingest(
        &parse_document(&indicator(5, "2026-01-01T00:00:00.000Z")).unwrap(),
        &rel_to_gbr(),
        &mut |_| {},
    )
    .unwrap();
    let x = node
        .explain(
            "indicator--00000000-0000-4000-8000-000000000005",
            &party("GBR"),
        )
        .unwrap();
    assert!(x.upgraded_from_stix20.is_empty());
    assert!(serde_json::to_value(&x)
        .unwrap()
        .get("upgraded_from_stix20")
        .is_none());
}

#[test]
fn stix20_objects_a_partner_sends_are_upgraded_on_receipt() {
    let (_dir, mut node) = node();
    let tool = r#"{"type":"tool","id":"tool--6a2e9e1c-0c0a-4d73-9b0c-54b1e2e1c1a1","created":"2017-05-31T21:32:40.000Z","modified":"2017-05-31T21:32:40.000Z","name":"Net\u2019","labels":["remote-access"]}"#;
    let no_published = r#"{"type":"report","id":"report--6a2e9e1c-0c0a-4d73-9b0c-54b1e2e1c1a2","created":"2017-05-31T21:32:40.000Z","modified":"2017-05-31T21:32:40.000Z","name":"r","labels":["threat-report"],"object_refs":["tool--6a2e9e1c-0c0a-4d73-9b0c-54b1e2e1c1a1"]}"#;
    let receipt = node.receive(&party("GBR"), &[tool, no_published]).unwrap();
    assert_eq!(receipt.successes.len(), 1, "{:?}", receipt.failures);
    assert_eq!(receipt.failures.len(), 1);
    assert!(
        receipt.failures[0]
            .message
            .contains("upgraded to 2.1 first"),
        "{}",
        receipt.failures[0].message
    );
    let stored = node
        .store()
        .latest("tool--6a2e9e1c-0c0a-4d73-9b0c-54b1e2e1c1a1")
        .unwrap()
        .unwrap();
    assert_eq!(stored.object.spec_version(), Some("2.1"));
    let props: Vec<&str> = stored
        .upgrades
        .iter()
        .map(|u| u.property.as_str())
        .collect();
    assert_eq!(props, ["spec_version", "tool_types"]);
    assert_eq!(
        liaison_stix::text_before_upgrade(stored.object.raw(), &stored.upgrades).as_deref(),
        Some(tool)
    );
}

/// Regression: an object released uncut was written anew on delivery when it was relabelled
/// (its `object_marking_refs` extended), and `\u2019` came out as `’`.
#[test]
fn released_uncut_objects_go_out_with_the_bytes_they_came_with() {
    let (_dir, mut node) = node();
    let read = liaison_stix::parse_document_upgrading(STIX20_BUNDLE).unwrap();
    node.ingest_upgraded(&read, &rel_to_gbr(), &mut |_| {})
        .unwrap();
    // A 2.1 object carrying its own liaison label goes out exactly as received.
    let label = liaison_labels::Label {
        banner: "UNCLASSIFIED//REL TO USA, GBR".parse().unwrap(),
        originator: party("USA"),
        grading: None,
        duty_to_warn: false,
    };
    let marking =
        serde_json::Value::Object(label.to_marking_definition("2026-01-01T00:00:00.000Z"));
    let own = format!(
        "{{ \"type\": \"indicator\", \"spec_version\": \"2.1\",\n  \"id\": \"indicator--00000000-0000-4000-8000-000000000009\", \"created\": \"2026-01-01T00:00:00.000Z\", \"modified\": \"2026-01-01T00:00:00.000Z\", \"name\": \"O\\u2019Brien \\u00e9\\/\\t\", \"pattern\": \"[ipv4-addr:value = '198.51.100.9']\", \"pattern_type\": \"stix\", \"valid_from\": \"2026-01-01T00:00:00Z\", \"object_marking_refs\": [ \"{}\" ] }}",
        label.marking_id()
    );
    let doc = parse_document(&format!(
        r#"{{"type":"bundle","id":"bundle--00000000-0000-4000-8000-000000000000","objects":[{marking},{own}]}}"#
    ))
    .unwrap();
    node.ingest(&doc, &IngestOptions::default(), &mut |_| {})
        .unwrap();

    let view = node.view(&party("GBR")).unwrap();
    let delivered = |id: &str| {
        view.entries
            .iter()
            .find(|e| e.original == id)
            .map(|e| e.json.to_string())
            .unwrap()
    };
    // Fingerprinted for GBR: only the marked properties' values differ from what was
    // received (its id, and its free-form timestamp's written form), every other byte kept.
    let indicator = delivered("indicator--00000000-0000-4000-8000-000000000009");
    assert_ne!(indicator, own, "a copy for a partner carries its marks");
    assert_eq!(only_marks_differ(&own, &indicator), indicator);
    assert!(indicator.contains(r#""O\u2019Brien \u00e9\/\t""#));

    // Relabelled on the way out (the node's label added to its marking references), and
    // nothing else but the marks: every other byte as received, the upgrade's additions at
    // the end.
    let malware = delivered("malware--2a6f4c7b-e690-4cc7-ab6b-1f821fb6b80b");
    let label_id = rel_to_gbr().default_label.unwrap().marking_id();
    let original = object_text(STIX20_BUNDLE, "\"malware--2a6f4c7b");
    let expected = original
        .replace(
            "[\"marking-definition--fa42a846-8d90-4e51-bc29-71d5b4802168\"]",
            &format!(
                "[\"marking-definition--fa42a846-8d90-4e51-bc29-71d5b4802168\",\"{label_id}\"]"
            ),
        )
        .trim_end_matches('}')
        .to_owned()
        + r#","spec_version":"2.1","is_family":true,"malware_types":["malware"]}"#;
    assert_eq!(only_marks_differ(&expected, &malware), malware);
    assert!(malware.contains(r#"that\u2019s used \u00e9 \/ \"quoted\"."#));
    // The export is the same delivery: the same bytes.
    let export = node.export(&party("GBR")).unwrap();
    assert!(export.bundle.contains(&malware));
    assert!(export.bundle.contains(&indicator));
}

/// `expected` with the values of the properties fingerprinting may mark (id, references,
/// freely ordered lists, free-form timestamps) taken from `marked`; panics if any other
/// property differs.
fn only_marks_differ(expected: &str, marked: &str) -> String {
    let a: serde_json::Map<String, serde_json::Value> = serde_json::from_str(expected).unwrap();
    let b: serde_json::Map<String, serde_json::Value> = serde_json::from_str(marked).unwrap();
    assert_eq!(
        a.keys().collect::<std::collections::BTreeSet<_>>(),
        b.keys().collect::<std::collections::BTreeSet<_>>()
    );
    let markable = |k: &str| {
        k == "id"
            || k.ends_with("_ref")
            || k.ends_with("_refs")
            || liaison_fingerprint::ORDERED_FREELY.contains(&k)
            || liaison_fingerprint::FREE_FORM_TIMESTAMPS.contains(&k)
    };
    let changes: Vec<(&str, &serde_json::Value)> = b
        .iter()
        .filter(|(k, v)| a.get(k.as_str()) != Some(v))
        .map(|(k, v)| {
            assert!(markable(k), "`{k}` changed on the way out");
            (k.as_str(), v)
        })
        .collect();
    liaison_stix::with_properties(expected, &changes).unwrap()
}
