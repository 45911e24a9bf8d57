//! The store's contract, run against the SQLite backend. Every backend must pass these.

use liaison_stix::{parse_document, StixId, StixObject};
use liaison_store::{ConsentRecord, NewObject, NodeRecord, PartnerRecord, SqliteStore, Store, StoreError};

fn indicator(uuid_tail: u32, modified: &str, value: &str) -> StixObject {
    let text = format!(
        r#"{{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-{uuid_tail:012}","created":"2026-01-01T00:00:00.000Z","modified":"{modified}","pattern":"[ipv4-addr:value = '{value}']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z","labels":["terrorism"]}}"#
    );
    parse_document(&text).unwrap().objects.remove(0)
}

fn batch(objs: &[StixObject]) -> Vec<NewObject<'_>> {
    objs.iter().map(|o| NewObject { object: o, assigned_label: None }).collect()
}

fn backends() -> Vec<(&'static str, Box<dyn Store>, tempfile::TempDir)> {
    let dir = tempfile::tempdir().unwrap();
    let file = SqliteStore::open(&dir.path().join("node.db")).unwrap();
    vec![("sqlite-file", Box::new(file), dir), ("sqlite-memory", Box::new(SqliteStore::in_memory().unwrap()), tempfile::tempdir().unwrap())]
}

#[test]
fn versions_are_kept_and_latest_wins() {
    for (name, mut store, _dir) in backends() {
        let v1 = indicator(1, "2026-01-01T00:00:00.000Z", "198.51.100.1");
        let v2 = indicator(1, "2026-02-01T00:00:00.000Z", "198.51.100.2");
        store.ingest(&batch(&[v2.clone()]), "local", &mut |_| {}).unwrap();
        store.ingest(&batch(&[v1.clone()]), "local", &mut |_| {}).unwrap();
        let latest = store.latest(v1.id().as_str()).unwrap().unwrap();
        assert_eq!(latest.object.raw(), v2.raw(), "{name}: an older version arriving later must not win");
        let all = store.versions(v1.id().as_str()).unwrap();
        assert_eq!(all.len(), 2, "{name}");
        assert_eq!(all[0].object.raw(), v1.raw());
        assert!(all[0].date_added > all[1].date_added, "{name}: date_added records arrival, not version");
        assert_eq!(store.counts().unwrap(), (1, 2));
    }
}

#[test]
fn exact_duplicates_are_skipped_conflicts_refuse_the_whole_batch() {
    for (name, mut store, _dir) in backends() {
        let a = indicator(1, "2026-01-01T00:00:00.000Z", "198.51.100.1");
        let r = store.ingest(&batch(&[a.clone()]), "local", &mut |_| {}).unwrap();
        assert_eq!(r.added, 1);
        let r = store.ingest(&batch(&[a.clone()]), "local", &mut |_| {}).unwrap();
        assert_eq!((r.added, r.duplicates), (0, 1), "{name}");

        let fresh = indicator(2, "2026-01-01T00:00:00.000Z", "198.51.100.9");
        let clash = indicator(1, "2026-01-01T00:00:00.000Z", "203.0.113.7");
        let err = store.ingest(&batch(&[fresh.clone(), clash]), "local", &mut |_| {}).unwrap_err();
        assert!(matches!(err, StoreError::Conflict { index: 1, .. }), "{name}: {err}");
        assert!(store.latest(fresh.id().as_str()).unwrap().is_none(), "{name}: half a batch was written");
        assert_eq!(store.counts().unwrap(), (1, 1));
    }
}

#[test]
fn index_rows_carry_what_the_label_engine_needs() {
    for (name, mut store, _dir) in backends() {
        let rel = parse_document(r#"{"type":"relationship","spec_version":"2.1","id":"relationship--00000000-0000-4000-8000-000000000009","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","relationship_type":"derived-from","source_ref":"indicator--00000000-0000-4000-8000-000000000002","target_ref":"indicator--00000000-0000-4000-8000-000000000001","object_marking_refs":["marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"]}"#).unwrap().objects.remove(0);
        let ind = indicator(1, "2026-01-01T00:00:00.000Z", "198.51.100.1");
        let label = StixId::new_named("marking-definition", b"x");
        let items = [NewObject { object: &ind, assigned_label: Some(&label) }, NewObject { object: &rel, assigned_label: None }];
        store.ingest(&items, "GBR", &mut |_| {}).unwrap();
        let mut rows = Vec::new();
        store.scan_index(&mut |r| rows.push(r)).unwrap();
        assert_eq!(rows.len(), 2, "{name}");
        assert_eq!(rows[0].assigned_label.as_deref(), Some(label.as_str()));
        assert_eq!(rows[0].tags, vec!["terrorism".to_owned()]);
        assert_eq!(rows[0].source, "GBR");
        assert_eq!(rows[1].markings, vec!["marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421".to_owned()]);
        assert_eq!(
            rows[1].derivation,
            Some(("indicator--00000000-0000-4000-8000-000000000002".into(), "indicator--00000000-0000-4000-8000-000000000001".into()))
        );
        let mut n = 0;
        store.scan_latest(&mut |s| { n += 1; assert!(!s.object.raw().is_empty()); Ok(()) }).unwrap();
        assert_eq!(n, 2);
    }
}

#[test]
fn node_partners_and_consents() {
    for (name, mut store, _dir) in backends() {
        assert!(store.node().unwrap().is_none());
        let node = NodeRecord { party: "USA".into(), created: "2026-11-22T00:00:00.000Z".into() };
        store.init_node(&node).unwrap();
        store.init_node(&node).unwrap();
        let err = store.init_node(&NodeRecord { party: "GBR".into(), ..node.clone() }).unwrap_err();
        assert!(err.to_string().contains("`USA`"), "{name}: {err}");
        store.put_partner(&PartnerRecord { party: "RUS".into(), agreement: "ceiling = \"SECRET\"".into(), updated: "t1".into() }).unwrap();
        store.put_partner(&PartnerRecord { party: "RUS".into(), agreement: "ceiling = \"CONFIDENTIAL\"".into(), updated: "t2".into() }).unwrap();
        assert_eq!(store.partners().unwrap().len(), 1);
        assert_eq!(store.partner("RUS").unwrap().unwrap().agreement, "ceiling = \"CONFIDENTIAL\"");
        let c = ConsentRecord { id: "c1".into(), object: "report--x".into(), to: "GBR".into(), by: "ISR".into(), created: "t".into() };
        store.add_consent(&c).unwrap();
        assert_eq!(store.consents().unwrap(), vec![c]);
    }
}

#[test]
fn reopening_a_file_keeps_everything_and_date_added_keeps_rising() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.db");
    let a = indicator(1, "2026-01-01T00:00:00.000Z", "198.51.100.1");
    let first = {
        let mut s = SqliteStore::open(&path).unwrap();
        s.ingest(&batch(&[a.clone()]), "local", &mut |_| {}).unwrap();
        s.latest(a.id().as_str()).unwrap().unwrap().date_added
    };
    let mut s = SqliteStore::open(&path).unwrap();
    let b = indicator(2, "2026-01-01T00:00:00.000Z", "198.51.100.2");
    s.ingest(&batch(&[b.clone()]), "local", &mut |_| {}).unwrap();
    assert!(s.latest(b.id().as_str()).unwrap().unwrap().date_added > first);
    assert_eq!(s.counts().unwrap(), (2, 2));
}
