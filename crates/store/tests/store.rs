//! The store's contract, run against every backend: SQLite in a file, SQLite in memory, and
//! PostgreSQL when `LIAISON_TEST_PG_URL` is set (each test in a database of its own, dropped
//! afterwards). With `LIAISON_REQUIRE_PG=1` a missing URL fails the tests instead of skipping.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use liaison_stix::{parse_document, StixId, StixObject};
use liaison_store::prelude::*;
use liaison_store::{
    AgreementNoteRecord, AnyStore, AuditRecord, BasisInputs, ConsentRecord, HoldRecord, LogOpening,
    MatchCharge, MatchUsage, NewObject, NodeRecord, OperatorRecord, PartnerRecord, PgStore,
    RefusalKind, SqliteStore, StoreError, ViewRow, ViewState,
};

fn indicator(uuid_tail: u32, modified: &str, value: &str) -> StixObject {
    let text = format!(
        r#"{{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-{uuid_tail:012}","created":"2026-01-01T00:00:00.000Z","modified":"{modified}","pattern":"[ipv4-addr:value = '{value}']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z","labels":["terrorism"]}}"#
    );
    parse_document(&text).unwrap().objects.remove(0)
}

fn batch(objs: &[StixObject]) -> Vec<NewObject<'_>> {
    objs.iter()
        .map(|o| NewObject {
            object: o,
            assigned_label: None,
            upgrades: &[],
        })
        .collect()
}

fn one(o: &StixObject) -> Vec<NewObject<'_>> {
    vec![NewObject {
        object: o,
        assigned_label: None,
        upgrades: &[],
    }]
}

/// The maintenance URL of the test server, if there is one.
fn pg_url() -> Option<String> {
    match std::env::var("LIAISON_TEST_PG_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("LIAISON_REQUIRE_PG").as_deref() != Ok("1"),
                "LIAISON_REQUIRE_PG=1 but LIAISON_TEST_PG_URL is not set: start a server with scripts/pg-test-cluster.sh"
            );
            eprintln!("LIAISON_TEST_PG_URL is not set: the PostgreSQL backend is not tested");
            None
        }
    }
}

/// `url` with its database replaced by `db`.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{db}", &base[..host_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// A database of its own for one test, dropped when the test is done.
struct PgDb {
    admin: String,
    name: String,
    url: String,
}

impl PgDb {
    fn create(admin: &str) -> PgDb {
        static N: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!(
            "liaison_test_{}_{}_{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let mut c = postgres::Client::connect(admin, postgres::NoTls).unwrap();
        c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        PgDb {
            admin: admin.to_owned(),
            url: with_database(admin, &name),
            name,
        }
    }

    fn open(&self) -> PgStore {
        PgStore::connect(&self.url).unwrap()
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// What keeps a backend's storage alive for the length of a test.
#[allow(dead_code)]
enum Keep {
    Dir(tempfile::TempDir),
    Pg(PgDb),
    Nothing,
}

fn backends() -> Vec<(&'static str, Box<dyn Store>, Keep)> {
    let dir = tempfile::tempdir().unwrap();
    let file = SqliteStore::open(&dir.path().join("node.db")).unwrap();
    let mut all: Vec<(&'static str, Box<dyn Store>, Keep)> = vec![
        ("sqlite-file", Box::new(file), Keep::Dir(dir)),
        (
            "sqlite-memory",
            Box::new(SqliteStore::in_memory().unwrap()),
            Keep::Nothing,
        ),
    ];
    if let Some(admin) = pg_url() {
        let db = PgDb::create(&admin);
        all.push(("postgres", Box::new(db.open()), Keep::Pg(db)));
    }
    all
}

#[test]
fn versions_are_kept_and_latest_wins() {
    for (name, mut store, _keep) in backends() {
        let v1 = indicator(1, "2026-01-01T00:00:00.000Z", "198.51.100.1");
        let v2 = indicator(1, "2026-02-01T00:00:00.000Z", "198.51.100.2");
        store.ingest(&one(&v2), "local", &mut |_| {}).unwrap();
        store.ingest(&one(&v1), "local", &mut |_| {}).unwrap();
        let latest = store.latest(v1.id().as_str()).unwrap().unwrap();
        assert_eq!(
            latest.object.raw(),
            v2.raw(),
            "{name}: an older version arriving later must not win"
        );
        let all = store.versions(v1.id().as_str()).unwrap();
        assert_eq!(all.len(), 2, "{name}");
        assert_eq!(all[0].object.raw(), v1.raw());
        assert!(
            all[0].date_added > all[1].date_added,
            "{name}: date_added records arrival, not version"
        );
        assert_eq!(store.counts().unwrap(), (1, 2), "{name}");
    }
}

#[test]
fn exact_duplicates_are_skipped_conflicts_refuse_the_whole_batch() {
    for (name, mut store, _keep) in backends() {
        let a = indicator(1, "2026-01-01T00:00:00.000Z", "198.51.100.1");
        let r = store.ingest(&one(&a), "local", &mut |_| {}).unwrap();
        assert_eq!(r.added, 1);
        let r = store.ingest(&one(&a), "local", &mut |_| {}).unwrap();
        assert_eq!((r.added, r.duplicates), (0, 1), "{name}");

        let fresh = indicator(2, "2026-01-01T00:00:00.000Z", "198.51.100.9");
        let clash = indicator(1, "2026-01-01T00:00:00.000Z", "203.0.113.7");
        let err = store
            .ingest(&batch(&[fresh.clone(), clash]), "local", &mut |_| {})
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Conflict { index: 1, .. }),
            "{name}: {err}"
        );
        assert!(
            store.latest(fresh.id().as_str()).unwrap().is_none(),
            "{name}: half a batch was written"
        );
        assert_eq!(store.counts().unwrap(), (1, 1), "{name}");
    }
}

#[test]
fn index_rows_carry_what_the_label_engine_needs() {
    for (name, mut store, _keep) in backends() {
        let rel = parse_document(r#"{"type":"relationship","spec_version":"2.1","id":"relationship--00000000-0000-4000-8000-000000000009","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","relationship_type":"derived-from","source_ref":"indicator--00000000-0000-4000-8000-000000000002","target_ref":"indicator--00000000-0000-4000-8000-000000000001","object_marking_refs":["marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"]}"#).unwrap().objects.remove(0);
        let ind = indicator(1, "2026-01-01T00:00:00.000Z", "198.51.100.1");
        let label = StixId::new_named("marking-definition", b"x");
        let items = [
            NewObject {
                object: &ind,
                assigned_label: Some(&label),
                upgrades: &[],
            },
            NewObject {
                object: &rel,
                assigned_label: None,
                upgrades: &[],
            },
        ];
        store.ingest(&items, "GBR", &mut |_| {}).unwrap();
        let mut rows = Vec::new();
        store.scan_index(&mut |r| rows.push(r)).unwrap();
        assert_eq!(rows.len(), 2, "{name}");
        assert_eq!(rows[0].assigned_label.as_deref(), Some(label.as_str()));
        assert_eq!(rows[0].tags, vec!["terrorism".to_owned()]);
        assert_eq!(rows[0].source, "GBR");
        assert_eq!(
            rows[1].markings,
            vec!["marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421".to_owned()]
        );
        assert_eq!(
            rows[1].derivation,
            Some((
                "indicator--00000000-0000-4000-8000-000000000002".into(),
                "indicator--00000000-0000-4000-8000-000000000001".into()
            ))
        );
        let mut n = 0;
        store
            .scan_latest(&mut |s| {
                n += 1;
                assert!(!s.object.raw().is_empty());
                Ok(())
            })
            .unwrap();
        assert_eq!(n, 2);
    }
}

#[test]
fn node_partners_and_consents() {
    for (name, mut store, _keep) in backends() {
        assert!(store.node().unwrap().is_none());
        let node = NodeRecord {
            party: "USA".into(),
            created: "2026-11-22T00:00:00.000Z".into(),
        };
        store.init_node(&node).unwrap();
        store.init_node(&node).unwrap();
        let err = store
            .init_node(&NodeRecord {
                party: "GBR".into(),
                ..node.clone()
            })
            .unwrap_err();
        assert!(err.to_string().contains("`USA`"), "{name}: {err}");
        store
            .put_partner(&PartnerRecord {
                party: "RUS".into(),
                agreement: "ceiling = \"SECRET\"".into(),
                updated: "t1".into(),
            })
            .unwrap();
        store
            .put_partner(&PartnerRecord {
                party: "RUS".into(),
                agreement: "ceiling = \"CONFIDENTIAL\"".into(),
                updated: "t2".into(),
            })
            .unwrap();
        assert_eq!(store.partners().unwrap().len(), 1);
        assert_eq!(
            store.partner("RUS").unwrap().unwrap().agreement,
            "ceiling = \"CONFIDENTIAL\""
        );
        let c = ConsentRecord {
            id: "c1".into(),
            object: "report--x".into(),
            to: "GBR".into(),
            by: "ISR".into(),
            created: "t".into(),
        };
        store.add_consent(&c).unwrap();
        assert_eq!(store.consents(None).unwrap(), vec![c]);
    }
}

/// The indices of `asked` that `partner` received, by reading every one of its releases.
fn received_by_reading_releases(store: &dyn Store, partner: &str, asked: &[&str]) -> Vec<usize> {
    let released: std::collections::HashSet<String> = store
        .releases(partner)
        .unwrap()
        .into_iter()
        .map(|(id, _, _)| id)
        .collect();
    asked
        .iter()
        .enumerate()
        .filter(|(_, id)| released.contains(**id))
        .map(|(i, _)| i)
        .collect()
}

/// `liaison trace` asks which of a leak's objects each partner received in one aggregate: it
/// must say what reading every partner's releases says, for a few ids (seeks) and for many
/// (one range per partner), any version counting.
#[test]
fn received_among_agrees_with_every_release_read() {
    for (name, mut store, _keep) in backends() {
        let ids: Vec<String> = (0..600).map(|i| format!("indicator--{i:04}")).collect();
        let keys = |pick: &dyn Fn(usize) -> bool| -> Vec<(String, String)> {
            ids.iter()
                .enumerate()
                .filter(|(i, _)| pick(*i))
                .map(|(_, id)| (id.clone(), "v1".to_owned()))
                .collect()
        };
        store.release_times("GBR", &keys(&|_| true)).unwrap();
        store.release_times("RUS", &keys(&|i| i % 3 == 0)).unwrap();
        // A second version of one object: still one object received.
        store
            .release_times("RUS", &[(ids[3].clone(), "v2".to_owned())])
            .unwrap();
        let partners = ["GBR", "RUS", "FRA"];
        for asked in [
            vec!["indicator--0003", "indicator--0004", "report--unknown"],
            ids.iter().map(String::as_str).rev().collect::<Vec<_>>(),
        ] {
            let got = store.received_among(&partners, &asked).unwrap();
            for (p, partner) in partners.iter().enumerate() {
                let expected = received_by_reading_releases(&*store, partner, &asked);
                assert_eq!(got[p], expected, "{name}: {partner}, {} asked", asked.len());
            }
        }
        assert_eq!(
            store.received_among(&partners, &[]).unwrap(),
            vec![Vec::<usize>::new(); 3],
            "{name}"
        );
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

    /// `received` is kept in the transaction that records a release: after any history of
    /// releases (partners, objects, versions, in batches, repeated), `received_among` says
    /// exactly what reading every partner's releases says, on every backend.
    #[test]
    fn received_among_follows_any_history_of_releases(
        batches in proptest::collection::vec(
            (0usize..4, proptest::collection::vec((0usize..40, 0usize..3), 0..30)),
            1..12,
        ),
        asked in proptest::collection::vec(0usize..45, 0..60),
    ) {
        const PARTNERS: [&str; 4] = ["GBR", "RUS", "FRA", "FVEY"];
        let id = |i: usize| format!("indicator--{i:04}");
        for (name, mut store, _keep) in backends() {
            for (p, keys) in &batches {
                let mut keys: Vec<(String, String)> =
                    keys.iter().map(|(i, v)| (id(*i), format!("v{v}"))).collect();
                keys.sort();
                keys.dedup();
                store.release_times(PARTNERS[*p], &keys).unwrap();
            }
            let asked: Vec<String> = asked.iter().map(|i| id(*i)).collect();
            let asked: Vec<&str> = asked.iter().map(String::as_str).collect();
            let got = store.received_among(&PARTNERS, &asked).unwrap();
            for (p, partner) in PARTNERS.iter().enumerate() {
                let expected = received_by_reading_releases(&*store, partner, &asked);
                proptest::prop_assert_eq!(&got[p], &expected, "{}: {}", name, partner);
            }
        }
    }
}

/// Records `consents` ((to, object, by, created) as indexes) given among `parties`.
fn add_consents(
    store: &mut dyn Store,
    parties: &[&str],
    consents: &[(usize, usize, usize, usize)],
) {
    for (k, (to, object, by, created)) in consents.iter().enumerate() {
        store
            .add_consent(&ConsentRecord {
                id: format!("consent-{k:03}"),
                object: format!("indicator--{object:04}"),
                to: parties[*to].into(),
                by: parties[*by].into(),
                created: format!("2026-12-01T00:00:0{created}Z"),
            })
            .unwrap();
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(16))]

    /// A partner's consents read through the index are exactly the consents on record for
    /// it, in the same order, on every backend: the view basis a page checks is unchanged.
    #[test]
    fn a_partners_consents_are_those_on_record_for_it(
        consents in proptest::collection::vec((0usize..4, 0usize..12, 0usize..3, 0usize..5), 0..40),
    ) {
        const PARTIES: [&str; 4] = ["GBR", "RUS", "FRA", "FVEY"];
        for (name, mut store, _keep) in backends() {
            add_consents(&mut *store, &PARTIES, &consents);
            let all = store.consents(None).unwrap();
            proptest::prop_assert_eq!(all.len(), consents.len(), "{}", name);
            for party in PARTIES.iter().chain(&["USA"]) {
                let expected: Vec<ConsentRecord> =
                    all.iter().filter(|c| c.to == *party).cloned().collect();
                proptest::prop_assert_eq!(
                    store.consents(Some(party)).unwrap(),
                    expected,
                    "{}: {}",
                    name,
                    party
                );
            }
        }
    }

    /// What a page checks a view's basis against, read at once, is what reading the partner,
    /// the partners, its consents and its holds apart gives, on every backend (PostgreSQL
    /// reads it in one query of its own).
    #[test]
    fn basis_inputs_are_the_partner_its_consents_and_holds(
        partners in proptest::collection::vec(proptest::bool::ANY, 4),
        consents in proptest::collection::vec((0usize..4, 0usize..12, 0usize..3, 0usize..5), 0..30),
        holds in proptest::collection::vec((0usize..4, 0usize..12, 0usize..5), 0..20),
    ) {
        const PARTIES: [&str; 4] = ["GBR", "RUS", "FRA", "FVEY"];
        for (name, mut store, _keep) in backends() {
            for (p, party) in PARTIES.iter().enumerate().filter(|(p, _)| partners[*p]) {
                store
                    .put_partner(&PartnerRecord {
                        party: (*party).into(),
                        agreement: format!("ceiling = \"SECRET\" # {p}"),
                        updated: "t".into(),
                    })
                    .unwrap();
            }
            add_consents(&mut *store, &PARTIES, &consents);
            for (to, object, created) in &holds {
                store
                    .add_hold(&HoldRecord {
                        object: format!("report--{object:04}"),
                        partner: PARTIES[*to].into(),
                        by: "otto".into(),
                        created: format!("2026-12-01T00:00:0{created}Z"),
                        reason: "r".into(),
                    })
                    .unwrap();
            }
            for party in PARTIES.iter().chain(&["USA"]) {
                let mut held: Vec<String> =
                    store.holds(Some(party)).unwrap().into_iter().map(|h| h.object).collect();
                held.sort_unstable();
                let apart = BasisInputs {
                    agreement: store.partner(party).unwrap().map(|p| p.agreement),
                    partners: store.partners().unwrap().len(),
                    consents: store
                        .consents(Some(party))
                        .unwrap()
                        .into_iter()
                        .map(|c| (c.object, c.by))
                        .collect(),
                    held,
                };
                proptest::prop_assert_eq!(
                    store.basis_inputs(party).unwrap(),
                    apart,
                    "{}: {}",
                    name,
                    party
                );
            }
        }
    }

    /// The content-key index keeps, after any sequence of writes (some replacing every key,
    /// the others the keys of the ids they name), what a map of id to keys kept alike would,
    /// and the last change a write recorded (a write may record none); on every backend.
    #[test]
    fn content_keys_are_replaced_per_id_as_written(
        writes in proptest::collection::vec(
            (proptest::bool::ANY, proptest::collection::vec(0usize..8, 0..5),
             proptest::collection::vec((0usize..8, 0usize..5), 0..10), proptest::bool::ANY),
            1..8,
        ),
    ) {
        let id = |i: usize| format!("indicator--{i:04}");
        let key = |k: usize| format!("{k:032x}");
        for (name, mut store, _keep) in backends() {
            proptest::prop_assert_eq!(store.content_keys_through().unwrap(), None, "{}", name);
            let mut model: std::collections::BTreeSet<(String, String)> = Default::default();
            let mut through = None;
            for (n, (replace, ids, pairs, record)) in writes.iter().enumerate() {
                let ids: Vec<String> = ids.iter().map(|i| id(*i)).collect();
                let pairs: Vec<(String, String)> =
                    pairs.iter().map(|(i, k)| (id(*i), key(*k))).collect();
                let at = record.then_some(n as i64);
                store.write_content_keys(at, *replace, &ids, &pairs).unwrap();
                through = at.or(through);
                if *replace {
                    model.clear();
                }
                model.retain(|(_, i)| !ids.contains(i));
                model.extend(pairs.iter().map(|(i, k)| (k.clone(), i.clone())));
                let asked: Vec<String> = (0..6).map(key).collect();
                let got = store.content_key_ids(&asked).unwrap();
                let expected: Vec<(String, String)> =
                    model.iter().filter(|(k, _)| asked.contains(k)).cloned().collect();
                proptest::prop_assert_eq!(got, expected, "{}: write {}", name, n);
                proptest::prop_assert_eq!(store.content_keys_through().unwrap(), through, "{}", name);
            }
        }
    }
}

/// The delivered ids of a whole leaked copy are found in one statement: the same rows as
/// asking for each id alone.
#[test]
fn delivered_ids_of_many_are_those_of_each() {
    for (name, mut store, _keep) in backends() {
        let pairs: Vec<(String, String)> = (0..400)
            .map(|i| (format!("indicator--d{i:04}"), format!("indicator--o{i:04}")))
            .collect();
        store.add_delivered_ids("GBR", &pairs[..300]).unwrap();
        store.add_delivered_ids("RUS", &pairs[300..]).unwrap();
        let asked: Vec<String> = (0..900).map(|i| format!("indicator--d{i:04}")).collect();
        let asked: Vec<&str> = asked.iter().map(String::as_str).collect();
        let mut many = store.delivered_ids(&asked).unwrap();
        many.sort();
        let mut each: Vec<(String, String, String)> = asked
            .iter()
            .flat_map(|id| store.delivered_ids(&[id]).unwrap())
            .collect();
        each.sort();
        assert_eq!(many.len(), 400, "{name}");
        assert_eq!(many, each, "{name}");
    }
}

#[test]
fn release_times_are_recorded_once_and_rise_per_partner() {
    for (name, mut store, _keep) in backends() {
        let k = |id: &str, v: &str| (id.to_owned(), v.to_owned());
        let first = store
            .release_times("GBR", &[k("report--a", "v1"), k("report--b", "v1")])
            .unwrap();
        assert!(first[0] < first[1], "{name}: times rise within a call");
        let again = store
            .release_times(
                "GBR",
                &[
                    k("report--b", "v1"),
                    k("report--a", "v2"),
                    k("report--a", "v1"),
                ],
            )
            .unwrap();
        assert_eq!(again[0], first[1], "{name}: a known release keeps its time");
        assert_eq!(again[2], first[0], "{name}: a known release keeps its time");
        assert!(
            again[1] > first[1],
            "{name}: a new version is new to the view, after the rest"
        );
        let other = store.release_times("RUS", &[k("report--a", "v1")]).unwrap();
        assert!(other[0] > first[0], "{name}: each partner has its own view");
        assert_eq!(store.release_times("GBR", &[]).unwrap(), Vec::new());
        let listed = store.releases("GBR").unwrap();
        assert_eq!(
            listed.len(),
            3,
            "{name}: report--a v1, report--b v1, report--a v2"
        );
        assert_eq!(
            (listed[0].0.as_str(), listed[0].1.as_str()),
            ("report--a", "v1")
        );
        assert_eq!(listed[0].2, first[0].as_str(), "{name}");
        assert_eq!(store.releases("RUS").unwrap().len(), 1, "{name}");
        assert!(store.releases("FRA").unwrap().is_empty());
    }
}

#[test]
fn duplicates_and_conflicts_within_one_batch() {
    for (name, mut store, _keep) in backends() {
        let a = indicator(1, "2026-01-01T00:00:00.000Z", "198.51.100.1");
        let r = store
            .ingest(&batch(&[a.clone(), a.clone()]), "local", &mut |_| {})
            .unwrap();
        assert_eq!((r.added, r.duplicates), (1, 1), "{name}");

        // The same object with its properties in another order is the same object.
        let mut props: Vec<(String, serde_json::Value)> = a.props().clone().into_iter().collect();
        props.reverse();
        let reordered = serde_json::Value::Object(props.into_iter().collect()).to_string();
        assert_ne!(reordered, a.raw());
        let same = parse_document(&reordered).unwrap().objects.remove(0);
        let r = store.ingest(&batch(&[same]), "local", &mut |_| {}).unwrap();
        assert_eq!(
            (r.added, r.duplicates),
            (0, 1),
            "{name}: a re-ordered copy is a duplicate"
        );

        let b = indicator(2, "2026-01-01T00:00:00.000Z", "198.51.100.2");
        let b_other = indicator(2, "2026-01-01T00:00:00.000Z", "203.0.113.2");
        let c = indicator(3, "2026-01-01T00:00:00.000Z", "198.51.100.3");
        let err = store
            .ingest(&batch(&[c.clone(), b, b_other]), "local", &mut |_| {})
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Conflict { index: 2, .. }),
            "{name}: {err}"
        );
        assert!(
            store.latest(c.id().as_str()).unwrap().is_none(),
            "{name}: half a batch was written"
        );
        assert_eq!(store.counts().unwrap(), (1, 1), "{name}");
    }
}

#[test]
fn several_versions_in_one_batch_and_progress() {
    for (name, mut store, _keep) in backends() {
        let mut objs = Vec::new();
        for i in 0..10_000u32 {
            objs.push(indicator(
                i % 5_000,
                &format!("2026-01-{:02}T00:00:00.000Z", 1 + i / 5_000),
                "198.51.100.1",
            ));
        }
        objs.reverse(); // newer versions first: an older one arriving later must not win
        let mut seen = Vec::new();
        let r = store
            .ingest(&batch(&objs), "local", &mut |n| seen.push(n))
            .unwrap();
        assert_eq!((r.added, r.duplicates), (10_000, 0), "{name}");
        assert_eq!(seen.last(), Some(&10_000), "{name}");
        assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{name}: {seen:?}");
        assert_eq!(store.counts().unwrap(), (5_000, 10_000), "{name}");
        let mut last_seq = i64::MIN;
        let mut last_added = None;
        let mut n = 0;
        store
            .scan_latest(&mut |s| {
                assert!(s.seq > last_seq);
                assert!(
                    s.object.raw().contains("2026-01-02T"),
                    "{name}: {}",
                    s.object.raw()
                );
                if let Some(prev) = last_added.replace(s.date_added.clone()) {
                    assert!(s.date_added > prev, "{name}: date_added must follow seq");
                }
                last_seq = s.seq;
                n += 1;
                Ok(())
            })
            .unwrap();
        assert_eq!(n, 5_000, "{name}");
    }
}

/// Opening the same storage again keeps everything, and `date_added` keeps rising.
fn reopen_check(name: &str, open: &dyn Fn() -> Box<dyn Store>) {
    let a = indicator(1, "2026-01-01T00:00:00.000Z", "198.51.100.1");
    let first = {
        let mut s = open();
        s.ingest(&one(&a), "local", &mut |_| {}).unwrap();
        s.latest(a.id().as_str()).unwrap().unwrap().date_added
    };
    let mut s = open();
    let b = indicator(2, "2026-01-01T00:00:00.000Z", "198.51.100.2");
    s.ingest(&one(&b), "local", &mut |_| {}).unwrap();
    assert!(
        s.latest(b.id().as_str()).unwrap().unwrap().date_added > first,
        "{name}"
    );
    assert_eq!(s.counts().unwrap(), (2, 2), "{name}");
}

#[test]
fn reopening_keeps_everything_and_date_added_keeps_rising() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.db");
    reopen_check("sqlite-file", &|| {
        Box::new(SqliteStore::open(&path).unwrap())
    });
    if let Some(admin) = pg_url() {
        let db = PgDb::create(&admin);
        reopen_check("postgres", &|| Box::new(db.open()));
    }
}

#[test]
fn postgres_refuses_a_newer_schema() {
    let Some(admin) = pg_url() else { return };
    let db = PgDb::create(&admin);
    drop(db.open());
    let mut c = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
    c.batch_execute("UPDATE schema_version SET version = 99")
        .unwrap();
    let err = PgStore::connect(&db.url).err().unwrap();
    assert!(
        matches!(
            err,
            StoreError::Schema {
                found: 99,
                known: 8
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("newer liaison"), "{err}");
    // Nothing was changed: the version is still the one found.
    let v: i64 = c
        .query_one("SELECT max(version) FROM schema_version", &[])
        .unwrap()
        .get(0);
    assert_eq!(v, 99);
}

#[test]
fn sqlite_refuses_a_newer_schema_and_leaves_the_file_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.db");
    drop(SqliteStore::open(&path).unwrap());
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute_batch("PRAGMA user_version = 99").unwrap();
    let err = SqliteStore::open(&path).err().unwrap();
    assert!(
        matches!(
            err,
            StoreError::Schema {
                found: 99,
                known: 8
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("newer liaison"), "{err}");
    let v: i64 = c
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(v, 99);
}

#[test]
fn postgres_version_1_database_is_caught_up_by_the_steps() {
    let Some(admin) = pg_url() else { return };
    let db = PgDb::create(&admin);
    drop(db.open());
    let mut c = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
    // As a version-1 database made before match_queries and signed consents.
    c.batch_execute(
        "UPDATE schema_version SET version = 1; DROP TABLE match_queries;
         ALTER TABLE consents DROP COLUMN signed;",
    )
    .unwrap();
    let mut s = db.open();
    let v: i64 = c
        .query_one("SELECT max(version) FROM schema_version", &[])
        .unwrap()
        .get(0);
    assert_eq!(v, 8, "every step ran");
    let index: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_indexes WHERE indexname = 'objects_id_seq'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(index, 1, "step 5's index is there");
    let index: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_indexes WHERE indexname = 'consents_to'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(index, 1, "step 7's index is there");
    assert!(
        s.view_state("GBR").unwrap().is_none(),
        "step 3's tables are there"
    );
    let consent = ConsentRecord {
        id: "c1".into(),
        object: "report--x".into(),
        to: "GBR".into(),
        by: "ISR".into(),
        created: "t1".into(),
    };
    s.add_signed_consent(&consent, "note").unwrap();
    assert_eq!(
        s.signed_consents().unwrap(),
        vec![(consent, Some("note".into()))]
    );
    assert_eq!(
        s.match_usage("GBR", 1).unwrap(),
        MatchUsage {
            used: 0,
            queries: 0,
            last: None
        }
    );
}

/// Fills `s` with some of everything the store keeps: versions (one deleted at the tail),
/// partners, consents, releases, delivered ids, credentials, log entries with openings,
/// checkpoints, cosignatures, partner keys and checkpoints, forks, agreement notes, a match
/// charge, refusals, operators and audit.
fn fill(s: &mut dyn Store) {
    s.init_node(&NodeRecord {
        party: "USA".into(),
        created: "2026-01-01T00:00:00Z".into(),
    })
    .unwrap();
    let objs: Vec<StixObject> = (0..30)
        .map(|i| {
            indicator(
                i % 20,
                &format!("2026-01-{:02}T00:00:00.000Z", 1 + i / 20),
                "198.51.100.1",
            )
        })
        .collect();
    s.ingest(&batch(&objs), "local", &mut |_| {}).unwrap();
    let last = indicator(99, "2026-05-01T00:00:00.000Z", "198.51.100.2");
    s.ingest(&one(&last), "local", &mut |_| {}).unwrap();
    assert_eq!(
        s.delete_versions("local", last.id().as_str(), None)
            .unwrap(),
        1
    );
    s.put_partner(&PartnerRecord {
        party: "GBR".into(),
        agreement: "a".into(),
        updated: "t".into(),
    })
    .unwrap();
    s.add_signed_consent(
        &ConsentRecord {
            id: "consent--1".into(),
            object: objs[0].id().to_string(),
            to: "GBR".into(),
            by: "USA".into(),
            created: "t".into(),
        },
        "signed note",
    )
    .unwrap();
    let keys: Vec<(String, String)> = objs[..5]
        .iter()
        .map(|o| (o.id().to_string(), "v".to_string()))
        .collect();
    s.record_releases("GBR", &keys).unwrap();
    s.add_delivered_ids("GBR", &[("indicator--d1".into(), objs[0].id().to_string())])
        .unwrap();
    s.set_credential("GBR", "$argon2id$x").unwrap();
    let entries = vec![b"leaf one".to_vec(), b"leaf two".to_vec()];
    let openings = vec![
        LogOpening {
            leaf: b"one".to_vec(),
            salt: [1; 32],
            parties: vec!["GBR".into()],
        },
        LogOpening {
            leaf: b"two".to_vec(),
            salt: [2; 32],
            parties: vec![],
        },
    ];
    s.log_append(
        &entries,
        &openings,
        &[(0, [7; 32]), (1, [8; 32]), (2, [9; 32])],
    )
    .unwrap();
    s.put_checkpoint(2, "checkpoint note").unwrap();
    s.add_cosignature(2, "GBR", "cosig line").unwrap();
    s.put_partner_checkpoint("GBR", 5, "their note").unwrap();
    s.add_fork_evidence("GBR", "{}").unwrap();
    s.set_partner_key("GBR", "log", "vkey").unwrap();
    s.put_agreement_note(&AgreementNoteRecord {
        partner: "GBR".into(),
        side: "ours".into(),
        sha256: "ab".into(),
        text: "terms".into(),
        note: "note".into(),
        updated: "t".into(),
    })
    .unwrap();
    s.log_append_match(
        &MatchCharge {
            request: "r1".into(),
            partner: "GBR".into(),
            epoch: 7,
            count: 3,
            budget: 10,
        },
        &[b"match leaf".to_vec()],
        &[],
        &[(3, [10; 32])],
    )
    .unwrap();
    s.add_refusals(&[liaison_store::RefusalRecord {
        seq: 0,
        created: "t".into(),
        sender: "GBR".into(),
        id: "indicator--r".into(),
        version: "v".into(),
        reason: "not_owner".into(),
        body: "{}".into(),
    }])
    .unwrap();
    s.put_operator(&OperatorRecord {
        name: "ann".into(),
        role: "officer".into(),
        phc: "$argon2id$y".into(),
        created: "t".into(),
        updated: "t".into(),
    })
    .unwrap();
    s.add_audit(&AuditRecord {
        seq: 0,
        at: "t".into(),
        operator: "ann".into(),
        action: "login".into(),
        target: String::new(),
        detail: String::new(),
    })
    .unwrap();
    assert!(s
        .add_hold(&HoldRecord {
            object: objs[1].id().to_string(),
            partner: "GBR".into(),
            by: "ann".into(),
            created: "t".into(),
            reason: "review".into(),
        })
        .unwrap());
    let head = s.change_head().unwrap();
    s.write_refs(
        head,
        true,
        &["report--r".to_owned()],
        &[("report--r".to_owned(), "indicator--r".to_owned())],
    )
    .unwrap();
    s.write_content_keys(
        Some(head),
        true,
        &[],
        &[(
            "report--r".to_owned(),
            "0123456789abcdef0123456789abcdef".to_owned(),
        )],
    )
    .unwrap();
}

#[test]
fn copying_to_postgres_and_back_keeps_every_row() {
    let Some(admin) = pg_url() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut source = AnyStore::from(SqliteStore::open(&dir.path().join("a.db")).unwrap());
    fill(&mut source);
    let digests = source.digests().unwrap();
    assert!(
        digests.iter().all(|d| d.rows > 0),
        "every table has rows: {digests:?}"
    );

    let db = PgDb::create(&admin);
    let mut pg = AnyStore::from(db.open());
    // Every PostgreSQL table is copied, or is the backend's own bookkeeping.
    let mut c = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
    for row in c
        .query(
            "SELECT table_name::text FROM information_schema.tables
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
            &[],
        )
        .unwrap()
    {
        let name: String = row.get(0);
        assert!(
            digests.iter().any(|d| d.table == name)
                || [
                    "heads",
                    "schema_version",
                    "view_state",
                    "view_rows",
                    "view_marks"
                ]
                .contains(&name.as_str()),
            "PostgreSQL table `{name}` is not copied by `liaison migrate`"
        );
    }
    let mut seen = 0;
    source.copy_to(&mut pg, &mut |_, done| seen = done).unwrap();
    assert_eq!(seen, digests.iter().map(|d| d.rows).sum::<u64>());
    assert_eq!(pg.digests().unwrap(), digests);
    // A second copy into the same (now full) database is refused, and changes nothing.
    let err = source.copy_to(&mut pg, &mut |_, _| {}).err().unwrap();
    assert!(matches!(err, StoreError::NotEmpty { .. }), "{err}");
    assert_eq!(pg.digests().unwrap(), digests);

    let mut back = AnyStore::from(SqliteStore::open(&dir.path().join("b.db")).unwrap());
    pg.copy_to(&mut back, &mut |_, _| {}).unwrap();
    assert_eq!(back.digests().unwrap(), digests);

    // The copies work as stores, not only as rows: the newest versions, the counts, and
    // ingest continuing after the deleted tail (date_added never handed out twice).
    for (name, s) in [("postgres", &mut pg), ("sqlite", &mut back)] {
        assert_eq!(s.counts().unwrap(), source.counts().unwrap(), "{name}");
        let id = indicator(3, "2026-01-01T00:00:00.000Z", "x")
            .id()
            .to_string();
        assert_eq!(
            s.latest(&id)
                .unwrap()
                .unwrap()
                .object
                .version()
                .unwrap()
                .to_string(),
            source
                .latest(&id)
                .unwrap()
                .unwrap()
                .object
                .version()
                .unwrap()
                .to_string(),
            "{name}"
        );
        let before = source
            .latest(
                &indicator(19, "2026-01-01T00:00:00.000Z", "x")
                    .id()
                    .to_string(),
            )
            .unwrap()
            .unwrap();
        let fresh = indicator(500, "2026-06-01T00:00:00.000Z", "198.51.100.3");
        s.ingest(&one(&fresh), "local", &mut |_| {}).unwrap();
        let added = s.latest(fresh.id().as_str()).unwrap().unwrap();
        assert!(added.date_added > before.date_added, "{name}");
        assert_eq!(s.log_size().unwrap(), 3, "{name}");
        assert_eq!(s.refusals(None, 0, 10).unwrap().len(), 1, "{name}");
        assert_eq!(s.audit(None, 10).unwrap().len(), 1, "{name}");
    }
}

#[test]
fn postgres_concurrent_writers_keep_date_added_strictly_increasing() {
    let Some(admin) = pg_url() else { return };
    let db = PgDb::create(&admin);
    const WRITERS: u32 = 4;
    const BATCHES: u32 = 25;
    const PER_BATCH: u32 = 40;
    // Connect first (schema creation is serialised too), then ingest all at once.
    let stores: Vec<PgStore> = (0..WRITERS).map(|_| db.open()).collect();
    let start = std::sync::Barrier::new(WRITERS as usize);
    std::thread::scope(|scope| {
        for (w, mut store) in (0..WRITERS).zip(stores) {
            let start = &start;
            scope.spawn(move || {
                start.wait();
                for b in 0..BATCHES {
                    let objs: Vec<StixObject> = (0..PER_BATCH)
                        .map(|i| {
                            indicator(
                                (w * BATCHES + b) * PER_BATCH + i,
                                "2026-01-01T00:00:00.000Z",
                                "198.51.100.1",
                            )
                        })
                        .collect();
                    let r = store
                        .ingest(&batch(&objs), &format!("W{w}"), &mut |_| {})
                        .unwrap();
                    assert_eq!(r.added, u64::from(PER_BATCH));
                }
            });
        }
    });
    let store = db.open();
    let total = u64::from(WRITERS * BATCHES * PER_BATCH);
    assert_eq!(store.counts().unwrap(), (total, total), "a batch was lost");
    let mut prev: Option<liaison_stix::Timestamp> = None;
    let mut n = 0u64;
    let mut sources = std::collections::BTreeSet::new();
    store
        .scan_latest(&mut |s| {
            if let Some(p) = &prev {
                assert!(
                    s.date_added > *p,
                    "date_added {} after {} (seq {})",
                    s.date_added,
                    p,
                    s.seq
                );
            }
            prev = Some(s.date_added);
            sources.insert(s.source);
            n += 1;
            Ok(())
        })
        .unwrap();
    assert_eq!(n, total);
    assert_eq!(sources.len(), WRITERS as usize);
}

/// Rough ingest rates: `cargo test -p liaison-store --release --test store -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement, not a check"]
fn ingest_rate() {
    let objs: Vec<StixObject> = (0..100_000u32)
        .map(|i| indicator(i, "2026-01-01T00:00:00.000Z", "198.51.100.1"))
        .collect();
    for (name, mut store, _keep) in backends() {
        let started = Instant::now();
        for chunk in objs.chunks(10_000) {
            store.ingest(&batch(chunk), "local", &mut |_| {}).unwrap();
        }
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "{name}: {} objects in {secs:.2}s: {:.0} objects/s",
            objs.len(),
            objs.len() as f64 / secs
        );
    }
}

/// The version key ingest uses: `sort_key` of `modified`, else `created`.
fn vkey(o: &StixObject) -> String {
    o.version()
        .map(liaison_stix::Timestamp::sort_key)
        .unwrap_or_default()
}

#[test]
fn generation_changes_on_every_write_and_only_then() {
    for (name, mut store, _keep) in backends() {
        let mut seen = vec![store.generation().unwrap()];
        let mut changed = |store: &dyn Store, what: &str| {
            let g = store.generation().unwrap();
            assert!(
                !seen.contains(&g),
                "{name}: generation {g} after {what} repeats one of {seen:?}"
            );
            seen.push(g);
        };
        let a = indicator(1, "2026-01-01T00:00:00.000Z", "198.51.100.1");
        store.ingest(&one(&a), "GBR", &mut |_| {}).unwrap();
        changed(&*store, "ingest");
        let g = store.generation().unwrap();
        // Reads, duplicates, refused batches, release times and empty deletes change nothing.
        store.latest(a.id().as_str()).unwrap();
        store.versions(a.id().as_str()).unwrap();
        store.counts().unwrap();
        store.scan_latest(&mut |_| Ok(())).unwrap();
        store.scan_index(&mut |_| {}).unwrap();
        store.scan_source("GBR", &mut |_| Ok(())).unwrap();
        store.partners().unwrap();
        store.consents(None).unwrap();
        store.credential("GBR").unwrap();
        store.node().unwrap();
        assert_eq!(store.generation().unwrap(), g, "{name}: after reads");
        let r = store.ingest(&one(&a), "GBR", &mut |_| {}).unwrap();
        assert_eq!(r.added, 0);
        assert_eq!(store.generation().unwrap(), g, "{name}: after a duplicate");
        let clash = indicator(1, "2026-01-01T00:00:00.000Z", "203.0.113.7");
        store.ingest(&one(&clash), "GBR", &mut |_| {}).unwrap_err();
        assert_eq!(store.generation().unwrap(), g, "{name}: after a conflict");
        store
            .release_times("GBR", &[("report--a".into(), "v1".into())])
            .unwrap();
        assert_eq!(
            store.generation().unwrap(),
            g,
            "{name}: after release_times"
        );
        assert_eq!(
            store.delete_versions("RUS", a.id().as_str(), None).unwrap(),
            0
        );
        assert_eq!(
            store.generation().unwrap(),
            g,
            "{name}: after deleting nothing"
        );

        store
            .put_partner(&PartnerRecord {
                party: "GBR".into(),
                agreement: String::new(),
                updated: "t".into(),
            })
            .unwrap();
        changed(&*store, "put_partner");
        store
            .add_consent(&ConsentRecord {
                id: "c1".into(),
                object: a.id().to_string(),
                to: "GBR".into(),
                by: "ISR".into(),
                created: "t".into(),
            })
            .unwrap();
        changed(&*store, "add_consent");
        let hold = HoldRecord {
            object: a.id().to_string(),
            partner: "GBR".into(),
            by: "otto".into(),
            created: "t".into(),
            reason: "r".into(),
        };
        assert!(store.add_hold(&hold).unwrap());
        changed(&*store, "add_hold");
        let g = store.generation().unwrap();
        assert!(!store.add_hold(&hold).unwrap());
        store.holds(None).unwrap();
        assert_eq!(store.lift_hold(a.id().as_str(), "RUS").unwrap(), None);
        assert_eq!(
            store.generation().unwrap(),
            g,
            "{name}: after a hold that stood and a lift of none"
        );
        assert_eq!(store.lift_hold(a.id().as_str(), "GBR").unwrap(), Some(hold));
        changed(&*store, "lift_hold");
        store
            .set_credential("GBR", "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA")
            .unwrap();
        changed(&*store, "set_credential");
        assert_eq!(
            store.delete_versions("GBR", a.id().as_str(), None).unwrap(),
            1
        );
        changed(&*store, "delete_versions");
    }
}

/// `b` sees what is written through `a` (another connection) as a generation change.
fn generation_seen_by_another_connection(name: &str, a: &mut dyn Store, b: &dyn Store) {
    let g = b.generation().unwrap();
    let o = indicator(7, "2026-01-01T00:00:00.000Z", "198.51.100.7");
    a.ingest(&one(&o), "local", &mut |_| {}).unwrap();
    let g1 = b.generation().unwrap();
    assert_ne!(g1, g, "{name}: another connection's ingest");
    a.set_credential("GBR", "$argon2id$x").unwrap();
    let g2 = b.generation().unwrap();
    assert!(
        g2 != g1 && g2 != g,
        "{name}: another connection's credential"
    );
    a.delete_versions("local", o.id().as_str(), None).unwrap();
    let g3 = b.generation().unwrap();
    assert!(
        ![g, g1, g2].contains(&g3),
        "{name}: another connection's delete"
    );
    assert_eq!(b.generation().unwrap(), g3, "{name}: a read");
}

#[test]
fn generation_sees_other_connections() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.db");
    let mut a = SqliteStore::open(&path).unwrap();
    let b = SqliteStore::open(&path).unwrap();
    generation_seen_by_another_connection("sqlite-file", &mut a, &b);
    if let Some(admin) = pg_url() {
        let db = PgDb::create(&admin);
        let (mut a, b) = (db.open(), db.open());
        generation_seen_by_another_connection("postgres", &mut a, &b);
    }
}

#[test]
fn credentials_are_set_replaced_and_kept_per_party() {
    for (name, mut store, _keep) in backends() {
        assert_eq!(store.credential("GBR").unwrap(), None, "{name}");
        store.set_credential("GBR", "$argon2id$one").unwrap();
        store.set_credential("RUS", "$argon2id$two").unwrap();
        store.set_credential("GBR", "$argon2id$three").unwrap();
        assert_eq!(
            store.credential("GBR").unwrap().as_deref(),
            Some("$argon2id$three"),
            "{name}: replaced"
        );
        assert_eq!(
            store.credential("RUS").unwrap().as_deref(),
            Some("$argon2id$two"),
            "{name}"
        );
        assert_eq!(store.credential("gbr").unwrap(), None, "{name}");
    }
}

#[test]
fn scan_source_lists_every_version_from_one_source_in_order() {
    for (name, mut store, _keep) in backends() {
        let a1 = indicator(1, "2026-01-01T00:00:00.000Z", "198.51.100.1");
        let a2 = indicator(1, "2026-02-01T00:00:00.000Z", "198.51.100.2");
        let b = indicator(2, "2026-01-01T00:00:00.000Z", "198.51.100.3");
        let c = indicator(3, "2026-01-01T00:00:00.000Z", "198.51.100.4");
        store.ingest(&one(&a2), "GBR", &mut |_| {}).unwrap();
        store.ingest(&one(&b), "local", &mut |_| {}).unwrap();
        store
            .ingest(&batch(&[a1.clone(), c.clone()]), "GBR", &mut |_| {})
            .unwrap();
        let mut got = Vec::new();
        store
            .scan_source("GBR", &mut |s| {
                assert_eq!(s.source, "GBR");
                got.push((s.seq, s.object.raw().to_owned()));
                Ok(())
            })
            .unwrap();
        let raws: Vec<&str> = got.iter().map(|(_, r)| r.as_str()).collect();
        assert_eq!(raws, vec![a2.raw(), a1.raw(), c.raw()], "{name}");
        assert!(got.windows(2).all(|w| w[0].0 < w[1].0), "{name}: seq order");
        let mut n = 0;
        store
            .scan_source("local", &mut |s| {
                assert_eq!(s.object.raw(), b.raw());
                n += 1;
                Ok(())
            })
            .unwrap();
        assert_eq!(n, 1, "{name}");
        store
            .scan_source("RUS", &mut |_| panic!("{name}: nothing came from RUS"))
            .unwrap();
    }
}

/// scan_latest, scan_index, latest() and counts() all show exactly `expected` (raw bodies,
/// in storage order) as the newest versions.
fn latest_agree(name: &str, store: &dyn Store, expected: &[&StixObject], versions: u64) {
    let mut scanned = Vec::new();
    store
        .scan_latest(&mut |s| {
            scanned.push((s.seq, s.object.id().to_string(), s.object.raw().to_owned()));
            Ok(())
        })
        .unwrap();
    let raws: Vec<&str> = scanned.iter().map(|(_, _, r)| r.as_str()).collect();
    let want: Vec<&str> = expected.iter().map(|o| o.raw()).collect();
    assert_eq!(raws, want, "{name}: scan_latest");
    let mut index = Vec::new();
    store
        .scan_index(&mut |r| index.push((r.seq, r.id)))
        .unwrap();
    let from_scan: Vec<(i64, String)> = scanned.iter().map(|(s, i, _)| (*s, i.clone())).collect();
    assert_eq!(index, from_scan, "{name}: scan_index");
    // Taken slice by slice (of 1, 2 and more than all), the scan is the same; bounded above
    // by `upto`, it stops there; `last_seq` is at least every newest version's.
    let last = store.last_seq().unwrap();
    assert!(
        scanned.iter().all(|(s, _, _)| *s <= last),
        "{name}: last_seq"
    );
    for size in [1, 2, 1000] {
        let mut sliced = Vec::new();
        let mut after = 0;
        loop {
            let slice = store.latest_between(after, last, size).unwrap();
            assert!(slice.len() <= size, "{name}: slice of {size}");
            let Some(end) = slice.last() else { break };
            after = end.seq;
            sliced.extend(
                slice
                    .into_iter()
                    .map(|s| (s.seq, s.object.raw().to_owned())),
            );
        }
        let whole: Vec<(i64, String)> = scanned.iter().map(|(s, _, r)| (*s, r.clone())).collect();
        assert_eq!(sliced, whole, "{name}: latest_between by {size}");
    }
    // The index rows of named objects are the scan's rows of them (an unknown id: none).
    let mut named: Vec<&str> = scanned.iter().map(|(_, i, _)| i.as_str()).collect();
    named.push("indicator--00000000-0000-4000-8000-0000000dead0");
    let mut got: Vec<(i64, String)> = store
        .index_rows(&named)
        .unwrap()
        .into_iter()
        .map(|r| (r.seq, r.id))
        .collect();
    got.sort();
    assert_eq!(got, from_scan, "{name}: index_rows");
    if let Some((first, _, _)) = scanned.first() {
        let upto: Vec<i64> = store
            .latest_between(0, *first, 1000)
            .unwrap()
            .iter()
            .map(|s| s.seq)
            .collect();
        assert_eq!(upto, vec![*first], "{name}: latest_between stops at upto");
    }
    for (seq, id, raw) in &scanned {
        let l = store.latest(id).unwrap().unwrap();
        assert_eq!(
            (&l.seq, l.object.raw()),
            (seq, raw.as_str()),
            "{name}: latest({id})"
        );
    }
    assert_eq!(
        store.counts().unwrap(),
        (expected.len() as u64, versions),
        "{name}: counts"
    );
}

#[test]
fn delete_versions_removes_only_the_source_and_restores_latest() {
    for (name, mut store, _keep) in backends() {
        // x: GBR's; our newer version of it is refused (GBR owns x).
        let x_gbr = indicator(1, "2026-01-01T00:00:00.000Z", "198.51.100.1");
        let x_local = indicator(1, "2026-02-01T00:00:00.000Z", "198.51.100.2");
        // y: three versions from GBR; an older one from RUS is refused.
        let y0 = indicator(2, "2026-01-01T00:00:00.000Z", "198.51.100.3");
        let y1 = indicator(2, "2026-01-15T00:00:00.000Z", "198.51.100.4");
        let y2 = indicator(2, "2026-02-01T00:00:00.000Z", "198.51.100.5");
        // z: only from GBR.
        let z = indicator(3, "2026-01-01T00:00:00.000Z", "198.51.100.6");
        store
            .ingest(
                &batch(&[x_gbr.clone(), y1.clone(), y2.clone(), z.clone()]),
                "GBR",
                &mut |_| {},
            )
            .unwrap();
        let r = store.ingest(&one(&y0), "RUS", &mut |_| {}).unwrap();
        assert_eq!(r.refused.len(), 1, "{name}: RUS does not own y");
        let r = store.ingest(&one(&x_local), "local", &mut |_| {}).unwrap();
        assert_eq!(r.refused.len(), 1, "{name}: we do not own x");
        latest_agree(name, &*store, &[&x_gbr, &y2, &z], 4);
        let (x, y) = (x_gbr.id().to_string(), y1.id().to_string());

        // Another source's versions, or unlisted versions, are not touched.
        assert_eq!(
            store.delete_versions("local", &y, None).unwrap(),
            0,
            "{name}"
        );
        assert_eq!(
            store
                .delete_versions("GBR", &y, Some(&[vkey(&y0), "nope".into()]))
                .unwrap(),
            0,
            "{name}: y0 was never stored"
        );
        assert_eq!(
            store
                .delete_versions("GBR", "indicator--none", None)
                .unwrap(),
            0
        );
        latest_agree(name, &*store, &[&x_gbr, &y2, &z], 4);

        // GBR withdraws y's newest version: its older one is the latest again.
        assert_eq!(
            store
                .delete_versions("GBR", &y, Some(&[vkey(&y2)]))
                .unwrap(),
            1
        );
        latest_agree(name, &*store, &[&x_gbr, &y1, &z], 3);

        // GBR withdraws x: it is gone, and then anyone may be the first to send it.
        assert_eq!(store.delete_versions("GBR", &x, None).unwrap(), 1, "{name}");
        latest_agree(name, &*store, &[&y1, &z], 2);
        let r = store.ingest(&one(&x_local), "local", &mut |_| {}).unwrap();
        assert!(r.refused.is_empty(), "{name}");
        assert_eq!(store.versions(&x).unwrap()[0].source, "local", "{name}");
        latest_agree(name, &*store, &[&y1, &z, &x_local], 3);

        // The version deleted comes back as a new arrival and wins again.
        store.ingest(&one(&y2), "GBR", &mut |_| {}).unwrap();
        latest_agree(name, &*store, &[&z, &x_local, &y2], 4);

        // Deleting every version of an id removes it.
        assert_eq!(
            store
                .delete_versions("GBR", &z.id().to_string(), None)
                .unwrap(),
            1
        );
        assert!(store.latest(z.id().as_str()).unwrap().is_none(), "{name}");
        assert!(
            store.versions(z.id().as_str()).unwrap().is_empty(),
            "{name}"
        );
    }
}

/// DESIGN.md "Who may change what": only the owner's versions are taken, refused one by one
/// (the rest of the batch goes in); exact copies are duplicates, whoever sends them.
#[test]
fn only_the_owners_versions_are_taken() {
    for (name, mut store, _keep) in backends() {
        let ours = indicator(1, "2026-01-01T00:00:00.000Z", "198.51.100.1");
        let newer = indicator(1, "2026-03-01T00:00:00.000Z", "198.51.100.9");
        let same_version_other_body = indicator(1, "2026-01-01T00:00:00.000Z", "203.0.113.7");
        let theirs = indicator(2, "2026-01-01T00:00:00.000Z", "198.51.100.2");
        store.ingest(&one(&ours), "local", &mut |_| {}).unwrap();

        let r = store
            .ingest(
                &batch(&[
                    newer.clone(),
                    theirs.clone(),
                    same_version_other_body.clone(),
                    ours.clone(),
                ]),
                "RUS",
                &mut |_| {},
            )
            .unwrap();
        let refused: Vec<(usize, &RefusalKind)> =
            r.refused.iter().map(|f| (f.index, &f.kind)).collect();
        let not_ours = RefusalKind::NotOwner {
            owner: "local".into(),
        };
        assert_eq!(refused, vec![(0, &not_ours), (2, &not_ours)], "{name}");
        assert_eq!((r.added, r.duplicates), (1, 1), "{name}");
        assert_eq!(r.duplicates_at, vec![3], "{name}");
        let latest = store.latest(ours.id().as_str()).unwrap().unwrap();
        assert_eq!(
            latest.object.raw(),
            ours.raw(),
            "{name}: ours stays current"
        );
        assert_eq!(
            store.versions(ours.id().as_str()).unwrap().len(),
            1,
            "{name}"
        );

        // The owner's newer version is taken.
        let r = store.ingest(&one(&newer), "local", &mut |_| {}).unwrap();
        assert!(r.refused.is_empty() && r.added == 1, "{name}");
        // And we cannot take RUS's object over.
        let theirs_newer = indicator(2, "2026-02-01T00:00:00.000Z", "198.51.100.3");
        let r = store
            .ingest(&one(&theirs_newer), "local", &mut |_| {})
            .unwrap();
        assert_eq!(
            r.refused.first().map(|f| &f.kind),
            Some(&RefusalKind::NotOwner {
                owner: "RUS".into()
            }),
            "{name}"
        );
    }
}

/// STIX 2.1 forbids versioning marking-definitions: a second definition under a held id is
/// refused, whoever sends it (its owner too); an exact copy is a duplicate.
#[test]
fn marking_definitions_are_never_versioned() {
    for (name, mut store, _keep) in backends() {
        let def = |created: &str, statement: &str| {
            StixObject::from_props(
                serde_json::json!({
                    "type": "marking-definition", "spec_version": "2.1",
                    "id": "marking-definition--2d1f8c74-8d8e-4d41-9d44-7a2b2c0f0e11",
                    "created": created, "definition_type": "statement",
                    "definition": {"statement": statement}
                })
                .as_object()
                .unwrap()
                .clone(),
            )
            .unwrap()
        };
        let first = def("2026-01-01T00:00:00.000Z", "Copyright A");
        store.ingest(&one(&first), "local", &mut |_| {}).unwrap();
        for (who, other) in [
            ("local", def("2026-02-01T00:00:00.000Z", "Copyright A")),
            ("RUS", def("2026-01-01T00:00:00.000Z", "Copyright B")),
            ("local", def("2026-01-01T00:00:00.000Z", "Copyright B")),
        ] {
            let r = store.ingest(&one(&other), who, &mut |_| {}).unwrap();
            assert_eq!(
                r.refused.first().map(|f| &f.kind),
                Some(&RefusalKind::Redefined),
                "{name}: {who}"
            );
        }
        let r = store.ingest(&one(&first), "RUS", &mut |_| {}).unwrap();
        assert_eq!((r.duplicates, r.refused.len()), (1, 0), "{name}");
        assert_eq!(
            store.versions(first.id().as_str()).unwrap().len(),
            1,
            "{name}"
        );
    }
}

#[test]
fn after_deleting_the_newest_row_seq_and_date_added_still_rise() {
    for (name, mut store, _keep) in backends() {
        let a = indicator(1, "2026-01-01T00:00:00.000Z", "198.51.100.1");
        let b = indicator(2, "2026-01-01T00:00:00.000Z", "198.51.100.2");
        let c = indicator(3, "2026-01-01T00:00:00.000Z", "198.51.100.3");
        store
            .ingest(&batch(&[a.clone(), b.clone()]), "GBR", &mut |_| {})
            .unwrap();
        let gone = store.latest(b.id().as_str()).unwrap().unwrap();
        assert_eq!(
            store.delete_versions("GBR", b.id().as_str(), None).unwrap(),
            1
        );
        store.ingest(&one(&c), "GBR", &mut |_| {}).unwrap();
        let new = store.latest(c.id().as_str()).unwrap().unwrap();
        assert!(
            new.seq > gone.seq,
            "{name}: seq {} handed out again",
            new.seq
        );
        assert!(new.date_added > gone.date_added, "{name}");
        latest_agree(name, &*store, &[&a, &c], 2);
    }
}

#[test]
fn sqlite_after_deleting_the_newest_row_a_new_connection_does_not_reuse_its_seq() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.db");
    let a = indicator(1, "2026-01-01T00:00:00.000Z", "198.51.100.1");
    let b = indicator(2, "2026-01-01T00:00:00.000Z", "198.51.100.2");
    let c = indicator(3, "2026-01-01T00:00:00.000Z", "198.51.100.3");
    let gone = {
        let mut s = SqliteStore::open(&path).unwrap();
        s.ingest(&batch(&[a, b.clone()]), "GBR", &mut |_| {})
            .unwrap();
        let gone = s.latest(b.id().as_str()).unwrap().unwrap();
        s.delete_versions("GBR", b.id().as_str(), None).unwrap();
        gone
    };
    let mut s = SqliteStore::open(&path).unwrap();
    s.ingest(&one(&c), "GBR", &mut |_| {}).unwrap();
    let new = s.latest(c.id().as_str()).unwrap().unwrap();
    assert!(new.seq > gone.seq);
    assert!(new.date_added > gone.date_added);
}

#[test]
fn the_log_appends_whole_batches_in_order_and_refuses_a_stale_append() {
    for (name, mut store, _keep) in backends() {
        assert_eq!(store.log_size().unwrap(), 0, "{name}");
        let e = |b: u8| vec![b; 3];
        let h = |b: u8| [b; 32];
        let n = store
            .log_append(&[e(1), e(2)], &[], &[(0, h(1)), (1, h(2)), (2, h(12))])
            .unwrap();
        assert_eq!(n, 2, "{name}");
        let n = store.log_append(&[e(3)], &[], &[(3, h(3))]).unwrap();
        assert_eq!(n, 3, "{name}");
        assert_eq!(store.log_size().unwrap(), 3, "{name}");
        assert_eq!(
            store.log_hashes(&[2, 0, 3]).unwrap(),
            vec![h(12), h(1), h(3)],
            "{name}"
        );
        assert!(store.log_hashes(&[4]).is_err(), "{name}: a missing hash");
        assert_eq!(
            store.log_entries(1, 10).unwrap(),
            vec![e(2), e(3)],
            "{name}"
        );
        // Hashes computed against an older size: refused, nothing written.
        let err = store.log_append(&[e(9)], &[], &[(2, h(9))]).unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::LogMoved {
                    expected: 2,
                    found: 4
                }
            ),
            "{name}: {err}"
        );
        assert_eq!(store.log_size().unwrap(), 3, "{name}");
        // An empty append changes nothing.
        assert_eq!(store.log_append(&[], &[], &[]).unwrap(), 3, "{name}");
        // Log writes are not content changes: views stay cached.
        let g = store.generation().unwrap();
        store
            .log_append(&[e(4)], &[], &[(4, h(4)), (5, h(34)), (6, h(14))])
            .unwrap();
        store.put_checkpoint(4, "note 4").unwrap();
        assert_eq!(store.generation().unwrap(), g, "{name}");
    }
}

#[test]
fn log_hashes_are_read_in_any_order_and_number_in_one_call() {
    for (name, mut store, _keep) in backends() {
        // As many hashes as a log of 1000 entries has, about (their values are what matters).
        let h = |i: u64| {
            let mut b = [0u8; 32];
            b[..8].copy_from_slice(&i.to_be_bytes());
            b
        };
        let entries: Vec<Vec<u8>> = (0..1000u64).map(|i| i.to_be_bytes().to_vec()).collect();
        let hashes: Vec<(u64, [u8; 32])> = (0..2000u64).map(|i| (i, h(i))).collect();
        store.log_append(&entries, &[], &hashes).unwrap();
        let read = |w: &[u64]| store.log_hashes(w);
        let want = |w: &[u64]| w.iter().map(|&i| h(i)).collect::<Vec<_>>();
        assert_eq!(read(&[]).unwrap(), want(&[]), "{name}");
        // Scattered, with duplicates, out of order, more than 256: answered in the order asked.
        let w: Vec<u64> = (0..2000u64)
            .rev()
            .step_by(7)
            .chain([5, 5, 0, 1999])
            .chain((0..300).map(|i| (i * 37) % 2000))
            .collect();
        assert_eq!(read(&w).unwrap(), want(&w), "{name}");
        // Close together (as a proof's lower levels or a tile), and spread, of every count.
        for n in [1u64, 2, 3, 5, 17, 255, 256, 257, 600] {
            let close: Vec<u64> = (0..n).map(|i| 700 + (i * 5) % (2 * n)).collect();
            assert_eq!(read(&close).unwrap(), want(&close), "{name}: {n} close");
            let spread: Vec<u64> = (0..n).map(|i| (i * 1013) % 2000).collect();
            assert_eq!(read(&spread).unwrap(), want(&spread), "{name}: {n} spread");
        }
        // One missing index fails the whole read, wherever it is.
        assert!(read(&[1, 2000, 2]).is_err(), "{name}");
        assert!(read(&(1990..=2000).collect::<Vec<_>>()).is_err(), "{name}");
        let mut w: Vec<u64> = (0..299).map(|i| i * 3).collect();
        w.push(2000);
        assert!(read(&w).is_err(), "{name}: missing in the 2nd chunk");
    }
}

#[test]
fn log_openings_are_kept_with_their_entries_and_given_by_party() {
    for (name, mut store, _keep) in backends() {
        let o = |leaf: &str, salt: u8, parties: &[&str]| LogOpening {
            leaf: leaf.as_bytes().to_vec(),
            salt: [salt; 32],
            parties: parties.iter().map(|p| (*p).to_owned()).collect(),
        };
        let openings = [
            o("a", 1, &["RUS"]),
            o("b", 2, &["GBR", "RUS"]),
            o("c", 3, &["GBR"]),
        ];
        store
            .log_append(
                &[vec![1; 32], vec![2; 32], vec![3; 32]],
                &openings,
                &[(0, [1; 32]), (1, [2; 32]), (2, [12; 32]), (3, [3; 32])],
            )
            .unwrap();
        assert_eq!(
            store.log_opening(1).unwrap(),
            Some(openings[1].clone()),
            "{name}"
        );
        assert_eq!(store.log_opening(3).unwrap(), None, "{name}");
        let rus = store.log_openings_for("RUS").unwrap();
        assert_eq!(
            rus.iter()
                .map(|(i, o)| (*i, o.leaf.clone()))
                .collect::<Vec<_>>(),
            vec![(0, b"a".to_vec()), (1, b"b".to_vec())],
            "{name}"
        );
        assert_eq!(rus[1].1.salt, [2; 32], "{name}");
        assert!(store.log_openings_for("ISR").unwrap().is_empty(), "{name}");
        // Openings not aligned with the entries: refused, nothing written.
        assert!(store
            .log_append(&[vec![4; 32]], &openings[..2], &[(4, [4; 32])])
            .is_err());
        assert_eq!(store.log_size().unwrap(), 3, "{name}");
        // A size is signed once: a second note for it does not replace the first.
        store.put_checkpoint(3, "first").unwrap();
        store.put_checkpoint(3, "second").unwrap();
        assert_eq!(
            store.checkpoint_at(3).unwrap().as_deref(),
            Some("first"),
            "{name}"
        );
    }
}

#[test]
fn checkpoints_cosignatures_partner_checkpoints_forks_and_keys() {
    for (name, mut store, _keep) in backends() {
        assert_eq!(store.latest_checkpoint().unwrap(), None, "{name}");
        store.put_checkpoint(3, "three").unwrap();
        store.put_checkpoint(7, "seven").unwrap();
        store.put_checkpoint(5, "five").unwrap();
        assert_eq!(
            store.latest_checkpoint().unwrap(),
            Some((7, "seven".into())),
            "{name}"
        );
        assert_eq!(store.checkpoint_at(5).unwrap().as_deref(), Some("five"));
        assert_eq!(store.checkpoint_at(6).unwrap(), None, "{name}");
        store.add_cosignature(5, "liaison.RUS", "a").unwrap();
        store.add_cosignature(7, "liaison.RUS", "b").unwrap();
        store.add_cosignature(7, "liaison.RUS", "c").unwrap();
        store.add_cosignature(5, "liaison.GBR", "d").unwrap();
        assert_eq!(
            store.cosignatures(7).unwrap(),
            vec![("liaison.RUS".into(), "c".into())],
            "{name}: a newer line replaces"
        );
        assert_eq!(
            store.latest_cosignatures().unwrap(),
            vec![
                ("liaison.GBR".into(), 5, "d".into()),
                ("liaison.RUS".into(), 7, "c".into())
            ],
            "{name}"
        );
        assert_eq!(store.partner_checkpoint("RUS").unwrap(), None, "{name}");
        store.put_partner_checkpoint("RUS", 4, "r4").unwrap();
        store.put_partner_checkpoint("RUS", 9, "r9").unwrap();
        assert_eq!(
            store.partner_checkpoint("RUS").unwrap(),
            Some((9, "r9".into())),
            "{name}"
        );
        store.add_fork_evidence("RUS", "{\"a\":1}").unwrap();
        store.add_fork_evidence("RUS", "{\"a\":2}").unwrap();
        let forks = store.fork_evidence("RUS").unwrap();
        assert_eq!(forks.len(), 2, "{name}");
        assert_eq!(forks[1].evidence, "{\"a\":2}", "{name}");
        assert!(store.fork_evidence("GBR").unwrap().is_empty(), "{name}");
        store.set_partner_key("RUS", "log", "k1").unwrap();
        store.set_partner_key("RUS", "log", "k2").unwrap();
        store.set_partner_key("RUS", "cosigner", "c1").unwrap();
        assert_eq!(
            store.partner_key("RUS", "log").unwrap().as_deref(),
            Some("k2")
        );
        assert_eq!(
            store.partner_key("RUS", "cosigner").unwrap().as_deref(),
            Some("c1")
        );
        assert_eq!(store.partner_key("GBR", "log").unwrap(), None, "{name}");
    }
}

#[test]
fn record_releases_says_which_keys_are_new() {
    for (name, mut store, _keep) in backends() {
        let k = |i: &str| (format!("indicator--{i}"), "v".to_owned());
        let first = store.record_releases("RUS", &[k("a"), k("b")]).unwrap();
        assert!(first.iter().all(|(_, new)| *new), "{name}");
        let again = store.record_releases("RUS", &[k("b"), k("c")]).unwrap();
        assert_eq!(again[0], (first[1].0.clone(), false), "{name}");
        assert!(again[1].1 && again[1].0 > first[1].0, "{name}");
    }
}

#[test]
fn releases_and_their_log_entries_commit_together_or_not_at_all() {
    for (name, mut store, _keep) in backends() {
        let k = |i: &str| (format!("indicator--{i}"), "v".to_owned());
        let h = |b: u8| [b; 32];
        let before = store.release_times("RUS", &[k("old")]).unwrap();
        let times = store
            .log_append_releases(
                "RUS",
                &[k("a"), k("b")],
                &[vec![1], vec![2]],
                &[],
                &[(0, h(1)), (1, h(2)), (2, h(12))],
            )
            .unwrap();
        assert_eq!(times.len(), 2, "{name}");
        assert!(
            before[0] < times[0] && times[0] < times[1],
            "{name}: times rise"
        );
        assert_eq!(store.log_size().unwrap(), 2, "{name}");
        let released: Vec<String> = store
            .releases("RUS")
            .unwrap()
            .into_iter()
            .map(|r| r.0)
            .collect();
        assert_eq!(
            released,
            ["indicator--old", "indicator--a", "indicator--b"],
            "{name}"
        );

        // A key released meanwhile: neither the release nor the entry is written.
        let err = store
            .log_append_releases("RUS", &[k("c"), k("a")], &[vec![3]], &[], &[(3, h(3))])
            .unwrap_err();
        assert!(
            matches!(err, StoreError::ReleasesMoved { ref id, .. } if id == "indicator--a"),
            "{name}: {err}"
        );
        assert_eq!(store.log_size().unwrap(), 2, "{name}");
        assert_eq!(store.releases("RUS").unwrap().len(), 3, "{name}");

        // A stale log append: the releases are not recorded either.
        let err = store
            .log_append_releases("RUS", &[k("c")], &[vec![3]], &[], &[(2, h(3))])
            .unwrap_err();
        assert!(matches!(err, StoreError::LogMoved { .. }), "{name}: {err}");
        assert_eq!(store.releases("RUS").unwrap().len(), 3, "{name}");

        // Another partner's releases are its own.
        let gbr = store
            .log_append_releases(
                "GBR",
                &[k("a")],
                &[vec![3]],
                &[],
                &[(3, h(3)), (4, h(23)), (5, h(123))],
            )
            .unwrap();
        assert_eq!(gbr.len(), 1, "{name}");
        assert_eq!(store.log_size().unwrap(), 3, "{name}");
    }
}

#[test]
fn matching_charges_commit_with_their_log_entry_and_refuse_replays_and_overspending() {
    for (name, mut store, _keep) in backends() {
        let h = |b: u8| [b; 32];
        let charge = |request: &str, partner: &str, epoch: u64, count: u64| MatchCharge {
            partner: partner.to_owned(),
            epoch,
            request: request.to_owned(),
            count,
            budget: 100,
        };
        store
            .log_append_match(&charge("r1", "RUS", 7, 64), &[vec![1]], &[], &[(0, h(1))])
            .unwrap();
        let usage = store.match_usage("RUS", 7).unwrap();
        assert_eq!((usage.used, usage.queries), (64, 1), "{name}");
        assert!(usage.last.is_some(), "{name}");

        // The same request again: refused, nothing charged, nothing logged.
        let err = store
            .log_append_match(
                &charge("r1", "RUS", 7, 8),
                &[vec![2]],
                &[],
                &[(1, h(2)), (2, h(12))],
            )
            .unwrap_err();
        assert!(matches!(err, StoreError::MatchReplayed), "{name}: {err}");
        // Over what is left: refused the same way.
        let err = store
            .log_append_match(
                &charge("r2", "RUS", 7, 64),
                &[vec![2]],
                &[],
                &[(1, h(2)), (2, h(12))],
            )
            .unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::MatchBudget {
                    requested: 64,
                    remaining: 36
                }
            ),
            "{name}: {err}"
        );
        assert_eq!(store.log_size().unwrap(), 1, "{name}");
        assert_eq!(store.match_usage("RUS", 7).unwrap().used, 64, "{name}");

        // A stale log append charges nothing either.
        let err = store
            .log_append_match(&charge("r3", "RUS", 7, 32), &[vec![2]], &[], &[(0, h(2))])
            .unwrap_err();
        assert!(matches!(err, StoreError::LogMoved { .. }), "{name}: {err}");
        assert_eq!(store.match_usage("RUS", 7).unwrap().used, 64, "{name}");

        // Budgets are per partner and per epoch.
        store
            .log_append_match(
                &charge("r4", "GBR", 7, 100),
                &[vec![2]],
                &[],
                &[(1, h(2)), (2, h(12))],
            )
            .unwrap();
        store
            .log_append_match(&charge("r5", "RUS", 8, 100), &[vec![3]], &[], &[(3, h(3))])
            .unwrap();
        assert_eq!(store.match_usage("RUS", 7).unwrap().used, 64, "{name}");
        assert_eq!(store.match_usage("RUS", 8).unwrap().used, 100, "{name}");
        assert_eq!(store.match_usage("GBR", 7).unwrap().used, 100, "{name}");
        assert_eq!(
            store.match_usage("ISR", 7).unwrap(),
            MatchUsage::default(),
            "{name}"
        );
    }
}

#[test]
fn agreement_notes_are_kept_per_partner_and_side_and_replaced() {
    for (name, mut store, _keep) in backends() {
        let n = |side: &str, sha: &str| AgreementNoteRecord {
            partner: "RUS".into(),
            side: side.into(),
            sha256: sha.into(),
            text: format!("text {sha}"),
            note: format!("note {sha}"),
            updated: "2026-11-23T00:00:00Z".into(),
        };
        assert_eq!(store.agreement_note("RUS", "ours").unwrap(), None, "{name}");
        store.put_agreement_note(&n("ours", "a")).unwrap();
        store.put_agreement_note(&n("theirs", "b")).unwrap();
        assert_eq!(
            store.agreement_note("RUS", "ours").unwrap(),
            Some(n("ours", "a")),
            "{name}"
        );
        store.put_agreement_note(&n("ours", "c")).unwrap();
        assert_eq!(
            store.agreement_note("RUS", "ours").unwrap(),
            Some(n("ours", "c")),
            "{name}"
        );
        assert_eq!(
            store.agreement_note("RUS", "theirs").unwrap(),
            Some(n("theirs", "b")),
            "{name}"
        );
        assert_eq!(store.agreement_note("GBR", "ours").unwrap(), None, "{name}");
    }
}

#[test]
fn sqlite_log_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.db");
    {
        let mut s = SqliteStore::open(&path).unwrap();
        s.log_append(&[b"x".to_vec()], &[], &[(0, [7; 32])])
            .unwrap();
        s.put_checkpoint(1, "one").unwrap();
    }
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(s.log_size().unwrap(), 1);
    assert_eq!(s.log_hashes(&[0]).unwrap(), vec![[7; 32]]);
    assert_eq!(s.latest_checkpoint().unwrap(), Some((1, "one".into())));
}

#[test]
fn consents_keep_their_signed_note_in_both_backends() {
    for (name, mut store, _keep) in backends() {
        let c = |id: &str| ConsentRecord {
            id: id.into(),
            object: "report--x".into(),
            to: "GBR".into(),
            by: "ISR".into(),
            created: format!("t-{id}"),
        };
        let before = store.generation().unwrap();
        store.add_consent(&c("c1")).unwrap();
        store
            .add_signed_consent(
                &c("c2"),
                "liaison consent v1\n...\n\n\u{2014} liaison.ISR x\n",
            )
            .unwrap();
        assert_ne!(store.generation().unwrap(), before, "{name}");
        let all = store.signed_consents().unwrap();
        assert_eq!(
            all,
            vec![
                (c("c1"), None),
                (
                    c("c2"),
                    Some("liaison consent v1\n...\n\n\u{2014} liaison.ISR x\n".into())
                )
            ],
            "{name}"
        );
        assert_eq!(
            store.consents(None).unwrap(),
            vec![c("c1"), c("c2")],
            "{name}"
        );
    }
}

#[test]
fn an_sqlite_file_from_before_signed_consents_gains_the_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.db");
    let old = ConsentRecord {
        id: "c0".into(),
        object: "report--x".into(),
        to: "GBR".into(),
        by: "ISR".into(),
        created: "t0".into(),
    };
    {
        let mut s = SqliteStore::open(&path).unwrap();
        s.add_consent(&old).unwrap();
    }
    {
        // As the file was before: schema 2, no `signed` column.
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch("ALTER TABLE consents DROP COLUMN signed; PRAGMA user_version = 2;")
            .unwrap();
    }
    let mut s = SqliteStore::open(&path).unwrap();
    let mut new = old.clone();
    new.id = "c1".into();
    new.created = "t1".into();
    s.add_signed_consent(&new, "note").unwrap();
    assert_eq!(
        s.signed_consents().unwrap(),
        vec![(old, None), (new, Some("note".into()))]
    );
    drop(s);
    // And reopening again changes nothing.
    assert_eq!(
        SqliteStore::open(&path)
            .unwrap()
            .signed_consents()
            .unwrap()
            .len(),
        2
    );
}

/// What the STIX 2.0 upgrade added is kept beside the object, on every backend, and read back
/// with every way of reading a stored version; an object that came as 2.1 has none.
#[test]
fn upgrades_are_kept_beside_the_object() {
    let text = r#"{"type":"tool","id":"tool--00000000-0000-4000-8000-000000000077","created":"2017-05-31T21:32:40.000Z","modified":"2017-05-31T21:32:40.000Z","name":"Don\u2019t","labels":["remote-access"]}"#;
    let read = liaison_stix::parse_document_upgrading(text).unwrap();
    let tool = &read.document.objects[0];
    let added = &read.upgrades[0];
    assert_eq!(added.len(), 2);
    let plain = indicator(78, "2026-01-01T00:00:00.000Z", "198.51.100.78");
    for (name, mut store, _keep) in backends() {
        let items = [
            NewObject {
                object: tool,
                assigned_label: None,
                upgrades: added,
            },
            NewObject {
                object: &plain,
                assigned_label: None,
                upgrades: &[],
            },
        ];
        store.ingest(&items, "local", &mut |_| {}).unwrap();
        let latest = store.latest(tool.id().as_str()).unwrap().unwrap();
        assert_eq!(&latest.upgrades, added, "{name}");
        assert_eq!(latest.object.raw(), tool.raw(), "{name}");
        assert_eq!(
            liaison_stix::text_before_upgrade(latest.object.raw(), &latest.upgrades).as_deref(),
            Some(text),
            "{name}"
        );
        assert_eq!(
            &store.versions(tool.id().as_str()).unwrap()[0].upgrades,
            added,
            "{name}"
        );
        let mut seen = Vec::new();
        store
            .scan_latest(&mut |s| {
                seen.push((s.object.id().to_string(), s.upgrades.len()));
                Ok(())
            })
            .unwrap();
        assert_eq!(
            seen,
            [(tool.id().to_string(), 2), (plain.id().to_string(), 0)],
            "{name}"
        );
    }
}

#[test]
fn operators_and_the_audit_list() {
    for (name, mut store, _keep) in backends() {
        let generation = store.generation().unwrap();
        let mut alice = OperatorRecord {
            name: "alice".into(),
            role: "analyst".into(),
            phc: "$argon2id$v=19$one".into(),
            created: "2026-11-30T10:00:00.000Z".into(),
            updated: "2026-11-30T10:00:00.000Z".into(),
        };
        store.put_operator(&alice).unwrap();
        store
            .put_operator(&OperatorRecord {
                name: "bob".into(),
                role: "officer".into(),
                ..alice.clone()
            })
            .unwrap();
        assert_eq!(
            store.operator("alice").unwrap().as_ref(),
            Some(&alice),
            "{name}"
        );
        assert_eq!(store.operator("carol").unwrap(), None, "{name}");
        // Adding again replaces the role and the password, keeps the creation time.
        alice.role = "officer".into();
        alice.phc = "$argon2id$v=19$two".into();
        alice.updated = "2026-11-30T11:00:00.000Z".into();
        store
            .put_operator(&OperatorRecord {
                created: "ignored".into(),
                ..alice.clone()
            })
            .unwrap();
        assert_eq!(
            store.operator("alice").unwrap().as_ref(),
            Some(&alice),
            "{name}"
        );
        let names: Vec<String> = store
            .operators()
            .unwrap()
            .into_iter()
            .map(|o| o.name)
            .collect();
        assert_eq!(names, ["alice", "bob"], "{name}");

        let mut seqs = Vec::new();
        for i in 0..5 {
            seqs.push(
                store
                    .add_audit(&AuditRecord {
                        seq: 0,
                        at: format!("2026-11-30T12:00:0{i}.000Z"),
                        operator: "bob".into(),
                        action: "consent".into(),
                        target: format!("report--{i}"),
                        detail: "to RUS".into(),
                    })
                    .unwrap(),
            );
        }
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{name}: seq rises");
        let newest = store.audit(None, 2).unwrap();
        let targets: Vec<&str> = newest.iter().map(|a| a.target.as_str()).collect();
        assert_eq!(targets, ["report--4", "report--3"], "{name}: newest first");
        assert_eq!(newest[0].seq, seqs[4]);
        let older = store.audit(Some(newest[1].seq), 10).unwrap();
        let targets: Vec<&str> = older.iter().map(|a| a.target.as_str()).collect();
        assert_eq!(
            targets,
            ["report--2", "report--1", "report--0"],
            "{name}: paged"
        );
        assert_eq!(older[2].operator, "bob");
        assert_eq!(older[2].detail, "to RUS");
        assert_eq!(
            store.generation().unwrap(),
            generation,
            "{name}: operators and audit do not change what partners see"
        );
    }
}

fn view_row(original: &str, added: i64, marks: &[&str]) -> ViewRow {
    ViewRow {
        original: original.to_owned(),
        delivered: format!("{original}-as-delivered"),
        object_type: "indicator".to_owned(),
        version: "2026-01-01T00:00:00.000Z".to_owned(),
        spec_version: "2.1".to_owned(),
        date_added: format!("t{added}"),
        added_micros: added,
        json: format!("{{\"id\":\"{original}\"}}").into(),
        marks: marks.iter().map(|m| m.to_string()).collect(),
        meta: marks.is_empty(),
    }
}

#[test]
fn ingest_and_deletion_write_the_change_feed_in_order() {
    for (name, mut store, _keep) in backends() {
        assert_eq!(store.change_head().unwrap(), 0, "{name}");
        let a = indicator(1, "2026-01-01T00:00:00.000Z", "198.51.100.1");
        let b = indicator(2, "2026-01-01T00:00:00.000Z", "198.51.100.2");
        store
            .ingest(&batch(&[a.clone(), b.clone()]), "local", &mut |_| {})
            .unwrap();
        // A duplicate adds nothing, so it changes nothing.
        store.ingest(&one(&a), "local", &mut |_| {}).unwrap();
        let changes = store.changes_since(0, 100).unwrap();
        let ids: Vec<&str> = changes.iter().map(|(_, id)| id.as_str()).collect();
        assert_eq!(ids, vec![a.id().as_str(), b.id().as_str()], "{name}");
        assert!(changes[0].0 < changes[1].0, "{name}: numbered in order");
        assert_eq!(store.change_head().unwrap(), changes[1].0, "{name}");
        assert_eq!(store.changes_since(changes[0].0, 100).unwrap().len(), 1);
        assert_eq!(store.changes_since(0, 1).unwrap().len(), 1, "{name}: limit");
        // A derived-from relationship, deleted: its id and the object it derived change.
        let rel = parse_document(
            r#"{"type":"relationship","spec_version":"2.1","id":"relationship--00000000-0000-4000-8000-000000000009","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","relationship_type":"derived-from","source_ref":"indicator--00000000-0000-4000-8000-000000000001","target_ref":"indicator--00000000-0000-4000-8000-000000000002"}"#,
        )
        .unwrap()
        .objects
        .remove(0);
        store.ingest(&one(&rel), "local", &mut |_| {}).unwrap();
        let head = store.change_head().unwrap();
        assert_eq!(
            store
                .delete_versions("local", rel.id().as_str(), None)
                .unwrap(),
            1
        );
        let after: Vec<String> = store
            .changes_since(head, 100)
            .unwrap()
            .into_iter()
            .map(|(_, id)| id)
            .collect();
        assert!(after.contains(&rel.id().to_string()), "{name}: {after:?}");
        assert!(after.contains(&a.id().to_string()), "{name}: {after:?}");
    }
}

#[test]
fn a_stored_view_is_written_paged_and_replaced() {
    for (name, mut store, _keep) in backends() {
        assert_eq!(store.view_state("GBR").unwrap(), None, "{name}");
        let state = ViewState {
            basis: "b1".into(),
            through: 7,
        };
        let rows = vec![
            view_row("indicator--a", 10, &["marking-definition--x"]),
            view_row(
                "indicator--b",
                20,
                &["marking-definition--x", "marking-definition--y"],
            ),
            view_row("marking-definition--x", 5, &[]),
        ];
        assert!(store
            .write_view("GBR", &state, true, &[], &rows, None)
            .unwrap());
        store
            .write_view("USA", &state, true, &[], &rows[..1], None)
            .unwrap();
        assert_eq!(store.view_state("GBR").unwrap(), Some(state.clone()));
        // Pages by date_added, strictly after the position, limited; per partner.
        let page = store.view_page("GBR", 0, 2).unwrap();
        let got: Vec<&str> = page.iter().map(|r| r.original.as_str()).collect();
        assert_eq!(got, vec!["marking-definition--x", "indicator--a"], "{name}");
        let page = store.view_page("GBR", 10, 10).unwrap();
        assert_eq!(page.len(), 1, "{name}");
        assert_eq!(page[0].json, rows[1].json, "{name}");
        assert_eq!(store.view_page("USA", 0, 10).unwrap().len(), 1, "{name}");
        assert_eq!(
            store.view_marks("GBR", &[]).unwrap(),
            vec!["marking-definition--x", "marking-definition--y"],
            "{name}"
        );
        assert_eq!(
            store.view_marks("GBR", &["indicator--b".into()]).unwrap(),
            vec!["marking-definition--x"],
            "{name}: y is carried by b only"
        );
        assert!(
            store
                .view_marks("GBR", &["indicator--a".into(), "indicator--b".into()])
                .unwrap()
                .is_empty(),
            "{name}"
        );
        let found = store
            .view_row_delivered("GBR", "indicator--b-as-delivered")
            .unwrap()
            .unwrap();
        assert_eq!(found.original, "indicator--b", "{name}");
        let read = store
            .view_rows("GBR", &["indicator--b".into(), "indicator--zz".into()])
            .unwrap();
        assert_eq!(read.len(), 1, "{name}");
        assert_eq!(read[0].marks, rows[1].marks, "{name}");
        // Maintenance: b removed, a replaced; y is no longer referred to.
        let mut a2 = view_row("indicator--a", 30, &["marking-definition--x"]);
        a2.json = "{\"id\":\"indicator--a\",\"v\":2}".into();
        let state2 = ViewState {
            basis: "b1".into(),
            through: 9,
        };
        store
            .write_view(
                "GBR",
                &state2,
                false,
                &["indicator--b".into()],
                &[a2.clone()],
                None,
            )
            .unwrap();
        let all = store.view_page("GBR", 0, 100).unwrap();
        let got: Vec<(&str, i64)> = all
            .iter()
            .map(|r| (r.original.as_str(), r.added_micros))
            .collect();
        assert_eq!(
            got,
            vec![("marking-definition--x", 5), ("indicator--a", 30)],
            "{name}"
        );
        assert_eq!(
            store.view_marks("GBR", &[]).unwrap(),
            vec!["marking-definition--x"]
        );
        assert_eq!(store.view_state("GBR").unwrap().unwrap().through, 9);
        // Replacing drops every row first.
        // A write that expects another basis than the stored one writes nothing.
        let other = ViewState {
            basis: "other".into(),
            through: 99,
        };
        assert!(
            !store
                .write_view("GBR", &other, true, &[], &[], Some("not-the-basis"))
                .unwrap(),
            "{name}"
        );
        assert_eq!(
            store.view_state("GBR").unwrap(),
            Some(state2.clone()),
            "{name}"
        );
        assert!(!store.view_page("GBR", 0, 10).unwrap().is_empty(), "{name}");
        assert!(
            !store
                .write_view("DEU", &other, false, &[], &[], Some(&state2.basis))
                .unwrap(),
            "no view stored: {name}"
        );
        assert_eq!(store.view_state("DEU").unwrap(), None, "{name}");
        store
            .write_view("GBR", &state, true, &[], &[], Some(&state2.basis))
            .unwrap();
        assert!(store.view_page("GBR", 0, 10).unwrap().is_empty(), "{name}");
        assert!(store.view_marks("GBR", &[]).unwrap().is_empty(), "{name}");
        assert_eq!(store.view_page("USA", 0, 10).unwrap().len(), 1, "{name}");
    }
}

#[test]
fn the_reference_index_answers_who_refers_to_what() {
    for (name, mut store, _keep) in backends() {
        assert_eq!(store.refs_through().unwrap(), None, "{name}");
        let pairs = vec![
            ("report--1".to_owned(), "indicator--a".to_owned()),
            ("report--1".to_owned(), "indicator--b".to_owned()),
            ("report--2".to_owned(), "indicator--b".to_owned()),
        ];
        store.write_refs(3, true, &[], &pairs).unwrap();
        assert_eq!(store.refs_through().unwrap(), Some(3), "{name}");
        assert_eq!(
            store.referrers(&["indicator--b".into()]).unwrap(),
            vec!["report--1", "report--2"],
            "{name}"
        );
        // report--1 now refers only to c.
        store
            .write_refs(
                5,
                false,
                &["report--1".into()],
                &[("report--1".into(), "indicator--c".into())],
            )
            .unwrap();
        assert_eq!(store.refs_through().unwrap(), Some(5), "{name}");
        assert_eq!(
            store.referrers(&["indicator--b".into()]).unwrap(),
            vec!["report--2"],
            "{name}"
        );
        assert_eq!(
            store
                .referrers(&["indicator--a".into(), "indicator--c".into()])
                .unwrap(),
            vec!["report--1"],
            "{name}"
        );
    }
}

#[test]
fn holds_are_placed_once_listed_per_partner_and_lifted() {
    for (name, mut store, _keep) in backends() {
        let h = |object: &str, partner: &str, created: &str| HoldRecord {
            object: object.into(),
            partner: partner.into(),
            by: "otto".into(),
            created: created.into(),
            reason: format!("review of {object}"),
        };
        assert!(store.holds(None).unwrap().is_empty(), "{name}");
        assert!(
            store.add_hold(&h("report--b", "RUS", "t2")).unwrap(),
            "{name}"
        );
        assert!(
            store.add_hold(&h("report--a", "RUS", "t3")).unwrap(),
            "{name}"
        );
        assert!(
            store.add_hold(&h("report--a", "GBR", "t1")).unwrap(),
            "{name}"
        );
        // A second hold on the same object for the same partner leaves the first standing.
        let mut again = h("report--a", "RUS", "t9");
        again.reason = "another".into();
        assert!(!store.add_hold(&again).unwrap(), "{name}");
        assert_eq!(
            store.holds(None).unwrap(),
            vec![
                h("report--a", "GBR", "t1"),
                h("report--b", "RUS", "t2"),
                h("report--a", "RUS", "t3"),
            ],
            "{name}"
        );
        assert_eq!(
            store.holds(Some("RUS")).unwrap(),
            vec![h("report--b", "RUS", "t2"), h("report--a", "RUS", "t3")],
            "{name}"
        );
        assert!(store.holds(Some("ISR")).unwrap().is_empty(), "{name}");
        assert_eq!(
            store.lift_hold("report--a", "RUS").unwrap(),
            Some(h("report--a", "RUS", "t3")),
            "{name}"
        );
        assert_eq!(store.lift_hold("report--a", "RUS").unwrap(), None, "{name}");
        assert_eq!(
            store.holds(None).unwrap(),
            vec![h("report--a", "GBR", "t1"), h("report--b", "RUS", "t2")],
            "{name}"
        );
    }
}

#[test]
fn an_sqlite_file_at_schema_4_gains_the_holds_table() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.db");
    drop(SqliteStore::open(&path).unwrap());
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch("DROP TABLE holds; PRAGMA user_version = 4;")
            .unwrap();
    }
    let mut s = SqliteStore::open(&path).unwrap();
    let hold = HoldRecord {
        object: "report--x".into(),
        partner: "RUS".into(),
        by: "otto".into(),
        created: "t".into(),
        reason: "r".into(),
    };
    assert!(s.add_hold(&hold).unwrap());
    assert_eq!(s.holds(None).unwrap(), vec![hold]);
    let v: i64 = s_version(&path);
    assert_eq!(v, 8);
}

/// Releases recorded before schema 6 are in `received` after it: a trace on an upgraded node
/// scores recipients on what they received before the upgrade too.
#[test]
fn a_store_at_schema_5_fills_received_from_its_releases() {
    let keys = |ids: &[&str]| -> Vec<(String, String)> {
        ids.iter()
            .map(|i| (i.to_string(), "v1".to_owned()))
            .collect()
    };
    let check = |s: &mut dyn Store, name: &str| {
        let got = s
            .received_among(
                &["GBR", "RUS"],
                &["indicator--a", "indicator--b", "indicator--c"],
            )
            .unwrap();
        assert_eq!(got, vec![vec![0, 1], vec![1]], "{name}");
    };
    let fill = |s: &mut dyn Store| {
        s.release_times("GBR", &keys(&["indicator--a", "indicator--b"]))
            .unwrap();
        s.release_times("RUS", &keys(&["indicator--b"])).unwrap();
        s.release_times("RUS", &[("indicator--b".into(), "v2".into())])
            .unwrap();
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.db");
    fill(&mut SqliteStore::open(&path).unwrap());
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch("DROP TABLE received; PRAGMA user_version = 5;")
        .unwrap();
    check(&mut SqliteStore::open(&path).unwrap(), "sqlite");
    assert_eq!(s_version(&path), 8);
    let Some(admin) = pg_url() else { return };
    let db = PgDb::create(&admin);
    fill(&mut db.open());
    let mut c = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
    c.batch_execute("UPDATE schema_version SET version = 5; DROP TABLE received;")
        .unwrap();
    check(&mut db.open(), "postgres");
}

fn s_version(path: &std::path::Path) -> i64 {
    rusqlite::Connection::open(path)
        .unwrap()
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap()
}

#[test]
fn a_postgres_database_at_schema_3_gains_the_holds_table() {
    let Some(admin) = pg_url() else { return };
    let db = PgDb::create(&admin);
    drop(db.open());
    let mut c = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
    c.batch_execute("UPDATE schema_version SET version = 3; DROP TABLE holds;")
        .unwrap();
    let mut s = db.open();
    let v: i64 = c
        .query_one("SELECT max(version) FROM schema_version", &[])
        .unwrap()
        .get(0);
    assert_eq!(v, 8, "steps 4 to 8 ran");
    let hold = HoldRecord {
        object: "report--x".into(),
        partner: "RUS".into(),
        by: "otto".into(),
        created: "t".into(),
        reason: "r".into(),
    };
    assert!(s.add_hold(&hold).unwrap());
    assert_eq!(s.lift_hold("report--x", "RUS").unwrap(), Some(hold));
}

/// A bulk load waits for another writer past the 5 s a request waits: another connection
/// holding the write lock for 6 s makes an ordinary write fail with "database is locked",
/// and a connection set up for a bulk load write once the lock is let go.
#[test]
fn a_bulk_load_waits_for_another_writer_longer_than_a_request() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.db");
    drop(SqliteStore::open(&path).unwrap());
    let hold = |object: &str| HoldRecord {
        object: object.into(),
        partner: "RUS".into(),
        by: "otto".into(),
        created: "t".into(),
        reason: "r".into(),
    };
    // Another writer (a server's upkeep) holding the lock for 6 s, from `locked` on.
    let writer_for_6s = |path: std::path::PathBuf| {
        let (locked, is_locked) = std::sync::mpsc::channel();
        let handle = std::thread::spawn(move || {
            let c = rusqlite::Connection::open(path).unwrap();
            c.execute_batch("BEGIN IMMEDIATE").unwrap();
            locked.send(()).unwrap();
            std::thread::sleep(std::time::Duration::from_secs(6));
            c.execute_batch("COMMIT").unwrap();
        });
        is_locked.recv().unwrap();
        handle
    };
    let mut request = SqliteStore::open(&path).unwrap();
    let writer = writer_for_6s(path.clone());
    let refused = request.add_hold(&hold("report--a"));
    writer.join().unwrap();
    assert!(
        matches!(&refused, Err(e) if e.to_string().contains("locked")),
        "{refused:?}"
    );
    let mut bulk = SqliteStore::open(&path).unwrap();
    bulk.prepare_bulk_load().unwrap();
    let writer = writer_for_6s(path.clone());
    assert!(bulk.add_hold(&hold("report--b")).unwrap());
    writer.join().unwrap();
    assert_eq!(bulk.holds(None).unwrap(), vec![hold("report--b")]);
}
