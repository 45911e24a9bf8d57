//! Curated intelligence on a node (DESIGN.md "Curated intelligence"): objects held from
//! several partners become the grading engine's items, and `assess`, `echoes`, `framing`,
//! `partner_record` and `grade` answer from them. The scenario is the demo's: RUS reports on
//! the Kavkaz National Front and calls it `terrorist`; GBR relays RUS's report in its own
//! words and calls the group `activist`, as we do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use liaison_grading::{EchoKind, Period, Reason};
use liaison_labels::{Banner, Label, Party};
use liaison_release::sample::{
    self, gbr_relay_bundle, rus_bundle, rus_knf_bundle, usa_knf_bundle, GBR_RELAY, INDICATOR,
    RUS_KNF_REPORT,
};
use liaison_release::{IngestOptions, Node};
use liaison_store::SqliteStore;
use serde_json::json;

fn party(s: &str) -> Party {
    Party::parse(s).unwrap()
}

fn from(p: &str) -> IngestOptions {
    IngestOptions {
        default_label: None,
        source: Some(party(p)),
    }
}

fn usa() -> (tempfile::TempDir, Node<SqliteStore>) {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Node::init(dir.path(), &party("USA")).unwrap();
    node.add_partner(&party("GBR"), sample::GBR_AGREEMENT)
        .unwrap();
    node.add_partner(&party("RUS"), sample::RUS_AGREEMENT)
        .unwrap();
    sample::ingest_exchange(&mut node).unwrap();
    node.ingest(&rus_bundle().unwrap(), &from("RUS"), &mut |_| {})
        .unwrap();
    node.ingest(&rus_knf_bundle().unwrap(), &from("RUS"), &mut |_| {})
        .unwrap();
    node.ingest(
        &usa_knf_bundle().unwrap(),
        &IngestOptions::default(),
        &mut |_| {},
    )
    .unwrap();
    (dir, node)
}

#[test]
fn a_report_relayed_through_gbr_counts_once_and_is_flagged_as_circular() {
    let (_dir, mut node) = usa();
    let before = node.assess(RUS_KNF_REPORT).unwrap().assessment;
    let indicator_sources = |a: &liaison_grading::Assessment| {
        a.claims
            .iter()
            .find(|c| c.claim.to_string().starts_with("indicator:"))
            .map(|c| c.sources)
            .unwrap()
    };
    assert_eq!(indicator_sources(&before), 1);

    node.ingest(&gbr_relay_bundle().unwrap(), &from("GBR"), &mut |_| {})
        .unwrap();
    let report = node.assess(GBR_RELAY).unwrap();
    let a = &report.assessment;
    // GBR's relay adds no independent source: it is a near-duplicate of RUS's report, and
    // GBR's own indicator shares GBR as originator with it.
    assert_eq!(indicator_sources(a), 1, "{a:#?}");
    assert!(!a.corroborated);
    let members: Vec<_> = a
        .claims
        .iter()
        .flat_map(|c| c.clusters.iter().flat_map(|k| k.members.iter()))
        .collect();
    let relay = members.iter().find(|m| m.id == GBR_RELAY).unwrap();
    assert_eq!(relay.reason, Reason::NearDuplicate);
    assert_eq!(relay.relayed_from.as_deref(), Some(RUS_KNF_REPORT));
    // Circular: an item we already hold from its true source, with the evidence.
    let echo = a.echo.as_ref().expect("flagged as circular");
    assert_eq!(echo.kind, EchoKind::AlreadyHeld);
    assert_eq!(echo.echoes.as_deref(), Some(RUS_KNF_REPORT));
    assert_eq!(echo.echoes_from, Some(party("RUS")));
    assert!(node.echoes().unwrap().iter().any(|e| e.item == GBR_RELAY));
    // GBR's record: one more item, not corroborated.
    assert!(report.track_record.is_some());
}

#[test]
fn framing_sets_rus_terrorist_against_gbr_and_ours() {
    let (_dir, mut node) = usa();
    node.ingest(&gbr_relay_bundle().unwrap(), &from("GBR"), &mut |_| {})
        .unwrap();
    let f = node.framing(&party("RUS")).unwrap();
    let d = f
        .divergences
        .iter()
        .find(|d| d.value == "terrorist")
        .expect("RUS alone calls the group terrorist");
    assert_eq!(
        d.summary(&party("RUS")),
        "RUS calls 1 entity `terrorist` (threat_actor_types) that no independent source does"
    );
    let e = &d.entities[0];
    assert_eq!(e.entity, "threat-actor:kavkaz national front");
    assert_eq!(e.others.get("activist"), Some(&vec![party("GBR")]));
    assert_eq!(e.ours, vec!["activist".to_owned()]);
    // GBR's characterisation is shared by an independent source (us): no divergence.
    assert!(node
        .framing(&party("GBR"))
        .unwrap()
        .divergences
        .iter()
        .all(|d| d.value != "activist"));
}

#[test]
fn analysts_grade_with_opinions_kept_as_ours_and_disagreement_enters_the_record() {
    let (_dir, mut node) = usa();
    node.ingest(&gbr_relay_bundle().unwrap(), &from("GBR"), &mut |_| {})
        .unwrap();
    assert_eq!(
        node.assess(GBR_RELAY).unwrap().assessment.grading,
        Some("B2".parse().unwrap())
    );
    let label = Label {
        banner: "UNCLASSIFIED//NOFORN".parse::<Banner>().unwrap(),
        originator: party("USA"),
        grading: None,
        duty_to_warn: false,
    };
    let opinion = node
        .grade(
            GBR_RELAY,
            "D4".parse().unwrap(),
            "disagree",
            Some("relay of RUS"),
            &label,
        )
        .unwrap();
    // The analyst's grading wins over the label's.
    assert_eq!(
        node.assess(GBR_RELAY).unwrap().assessment.grading,
        Some("D4".parse().unwrap())
    );
    let record = node.partner_record(&party("GBR"), Period::Year).unwrap();
    assert_eq!(record.total.contradicted.count, 1);
    assert_eq!(record.total.reliability.get("D"), Some(&1));
    // The opinion is ours and stays home (NOFORN): never in a partner's view.
    for p in ["GBR", "RUS"] {
        let view = node.view(&party(p)).unwrap();
        assert!(view.entries.iter().all(|e| e.original != opinion), "{p}");
    }
    // A bad grading or opinion is refused by name.
    let err = node
        .grade(GBR_RELAY, "B2".parse().unwrap(), "maybe", None, &label)
        .unwrap_err()
        .to_string();
    assert!(err.contains("`maybe`"), "{err}");
    assert!(node
        .grade(
            "report--00000000-0000-4000-8000-000000000000",
            "B2".parse().unwrap(),
            "agree",
            None,
            &label
        )
        .is_err());
}

#[test]
fn a_partner_item_built_on_our_fingerprinted_copy_and_reserialised_is_our_reporting_echoed_back() {
    let (_dir, mut node) = usa();
    // GBR receives our indicator under the id fingerprinted for it...
    node.view(&party("GBR")).unwrap();
    let as_gbr = node.delivered_id(&party("GBR"), INDICATOR).unwrap();
    assert_ne!(as_gbr, INDICATOR);
    // ...and sends back a report of its own citing it.
    let gbr = Label {
        banner: "UNCLASSIFIED//REL TO USA, GBR".parse::<Banner>().unwrap(),
        originator: party("GBR"),
        grading: None,
        duty_to_warn: false,
    };
    let marking = serde_json::Value::Object(gbr.to_marking_definition("2026-11-21T00:00:00.000Z"));
    let report = json!({
        "type": "report", "spec_version": "2.1",
        "id": "report--4e2a6c81-3b5d-4f70-9e1c-8a2d4f6b0c93",
        "created": "2026-11-21T00:00:00.000Z", "modified": "2026-11-21T00:00:00.000Z",
        "name": "Courier activity", "published": "2026-11-21T00:00:00.000Z",
        "object_refs": [as_gbr], "object_marking_refs": [gbr.marking_id().to_string()],
    });
    // As a partner's tools would re-serialise it: pretty printed, keys in another order.
    let mut reordered = serde_json::Map::new();
    if let serde_json::Value::Object(m) = &report {
        for (k, v) in m.iter().rev() {
            reordered.insert(k.clone(), v.clone());
        }
    }
    let texts = [
        marking.to_string(),
        serde_json::to_string_pretty(&serde_json::Value::Object(reordered)).unwrap(),
    ];
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    // A long-running reader (the console) holds the engine from before and follows.
    let mut held = None;
    node.follow_holdings(&mut held).unwrap();
    let mut kept = node.curation().unwrap();
    let receipt = node.receive(&party("GBR"), &refs).unwrap();
    assert!(receipt.failures.is_empty(), "{:?}", receipt.failures);
    let report = "report--4e2a6c81-3b5d-4f70-9e1c-8a2d4f6b0c93";
    node.follow_holdings(&mut held).unwrap();
    let ids = [marking_id(&marking), report.to_owned()]
        .into_iter()
        .collect();
    let followed = node
        .curation_add(&mut kept, held.as_ref().unwrap(), &ids)
        .unwrap();
    // The marking-definition is built whole; the report alone is followed, marks found.
    assert!(followed.is_none());
    let ids = [report.to_owned()].into_iter().collect();
    let mut kept = node.curation().unwrap();
    kept.engine.remove(report).unwrap();
    let changed = node
        .curation_add(&mut kept, held.as_ref().unwrap(), &ids)
        .unwrap()
        .expect("followed");
    assert!(changed.iter().any(|c| c == report));
    let a = node.assess(report).unwrap().assessment;
    assert_eq!(kept.engine.echo(report), a.echo);
    let echo = a.echo.expect("our reporting echoed back");
    assert_eq!(echo.kind, EchoKind::OwnReporting);
    let evidence = serde_json::to_string(&echo.evidence).unwrap();
    assert!(
        evidence.contains(INDICATOR) && evidence.contains("fingerprinted"),
        "{evidence}"
    );
}

fn marking_id(definition: &serde_json::Value) -> String {
    definition["id"].as_str().unwrap().to_owned()
}
