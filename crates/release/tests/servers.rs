//! Several servers of one node on one PostgreSQL database: each with its own connection and
//! its own in-memory log cache, as separate `liaison serve` processes have. They append to the
//! log, ingest and deliver partners' views at the same time. Afterwards: no appended entry is
//! lost or doubled, every checkpoint any of them signed is a prefix of the one log (no fork),
//! every object entered each view once (one delivery leaf per object and version), and every
//! server answers a partner with the same view.
//!
//! Appends are serialised in the database: a transaction-level advisory lock held while the
//! entries, their stored hashes and what commits with them are written, and a check under it
//! that the log has not grown since the appender computed its hashes (else it recomputes).
//! See crates/store/src/postgres.rs.
//!
//! Runs where PostgreSQL is (`LIAISON_TEST_PG_URL`); fails instead of skipping when
//! `LIAISON_REQUIRE_PG=1`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};

use liaison_labels::{Label, Party};
use liaison_log::verify_consistency;
use liaison_release::{IngestOptions, Leaf, LogKeys, Node, View};
use liaison_stix::parse_document;
use liaison_store::prelude::*;
use liaison_store::{NodeRecord, PgStore};

const SEED: [u8; 32] = [9; 32];
const SERVERS: usize = 3;
const ROUNDS: u64 = 60;
const AGREEMENT: &str = "ceiling = \"SECRET\"\n[scope]\nmax_tlp = \"amber\"\n";

fn party(s: &str) -> Party {
    Party::parse(s).unwrap()
}

fn pg_url() -> Option<String> {
    match std::env::var("LIAISON_TEST_PG_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("LIAISON_REQUIRE_PG").as_deref() != Ok("1"),
                "LIAISON_REQUIRE_PG=1 but LIAISON_TEST_PG_URL is not set"
            );
            eprintln!("LIAISON_TEST_PG_URL is not set: the several-servers test does not run");
            None
        }
    }
}

/// A database of its own, dropped afterwards.
struct Db {
    admin: String,
    name: String,
    url: String,
}

impl Db {
    fn new(admin: &str) -> Db {
        let name = format!("liaison_servers_{}", std::process::id());
        let mut c = postgres::Client::connect(admin, postgres::NoTls).unwrap();
        c.batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
            .unwrap();
        c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        let base = admin.rsplit_once('/').unwrap().0;
        Db {
            admin: admin.to_owned(),
            url: format!("{base}/{name}"),
            name,
        }
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// One server: its own connection and its own log cache.
fn server(url: &str) -> Node<PgStore> {
    let store = PgStore::connect(url).unwrap();
    Node::with_store_and_keys(store, LogKeys::from_seed(&party("USA"), SEED).unwrap()).unwrap()
}

fn indicators(server: usize, round: u64) -> String {
    let objects: Vec<String> = (0..5)
        .map(|k| {
            let n = (server as u64 * 1_000_000) + round * 10 + k;
            format!(
                r#"{{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-{n:012}","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","pattern":"[ipv4-addr:value = '198.51.100.{}']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}}"#,
                k + 1
            )
        })
        .collect();
    format!(
        r#"{{"type":"bundle","id":"bundle--00000000-0000-4000-8000-000000000000","objects":[{}]}}"#,
        objects.join(",")
    )
}

fn consent(server: usize, round: u64) -> Leaf {
    Leaf::Consent {
        object: format!(
            "indicator--00000000-0000-4000-8000-{:012}",
            server as u64 * 1_000_000 + round
        ),
        to: "GBR".into(),
        by: "FRA".into(),
    }
}

/// A view as a partner sees it: (id, date_added, bytes) in order.
fn seen(v: &View) -> Vec<(String, String, String)> {
    v.entries
        .iter()
        .map(|e| (e.id.clone(), e.date_added.to_string(), e.json.to_string()))
        .collect()
}

#[test]
fn three_servers_on_one_database_keep_one_log_and_one_view_per_partner() {
    let Some(admin) = pg_url() else {
        return;
    };
    let db = Db::new(&admin);
    {
        let mut store = PgStore::connect(&db.url).unwrap();
        store
            .init_node(&NodeRecord {
                party: "USA".into(),
                created: "2026-11-30T00:00:00.000Z".into(),
            })
            .unwrap();
        let mut node =
            Node::with_store_and_keys(store, LogKeys::from_seed(&party("USA"), SEED).unwrap())
                .unwrap();
        node.add_partner(&party("GBR"), AGREEMENT).unwrap();
        node.add_partner(&party("RUS"), AGREEMENT).unwrap();
    }
    let label = Label {
        banner: "SECRET//REL TO USA, GBR".parse().unwrap(),
        originator: party("USA"),
        grading: None,
        duty_to_warn: false,
    };

    let handles: Vec<_> = (0..SERVERS)
        .map(|s| {
            let url = db.url.clone();
            let label = label.clone();
            std::thread::spawn(move || {
                let mut node = server(&url);
                let options = IngestOptions {
                    default_label: Some(label),
                    source: None,
                };
                let mut checkpoints = Vec::new();
                for round in 0..ROUNDS {
                    node.log_append(&[consent(s, round)]).unwrap();
                    if round % 4 == s as u64 % 4 {
                        let doc = parse_document(&indicators(s, round)).unwrap();
                        node.ingest(&doc, &options, &mut |_| {}).unwrap();
                    }
                    if round % 3 == 0 {
                        node.view(&party("GBR")).unwrap();
                        node.view(&party("RUS")).unwrap();
                    }
                    checkpoints.push(node.checkpoint().unwrap().checkpoint().clone());
                }
                checkpoints
            })
        })
        .collect();
    let checkpoints: Vec<_> = handles
        .into_iter()
        .flat_map(|h| h.join().expect("a server failed"))
        .collect();

    let mut views = Vec::new();
    for _ in 0..SERVERS {
        let mut node = server(&db.url);
        views.push((
            seen(&node.view(&party("GBR")).unwrap()),
            seen(&node.view(&party("RUS")).unwrap()),
        ));
    }
    let mut node = server(&db.url);
    let size = node.log_size().unwrap();

    // Every appended leaf once; every (recipient, object, version) delivered once.
    let mut consents = BTreeMap::new();
    let mut deliveries = BTreeMap::new();
    for i in 0..size {
        let opening = node.store().log_opening(i).unwrap().unwrap();
        match Leaf::from_json(&opening.leaf).unwrap() {
            leaf @ Leaf::Consent { .. } => *consents.entry(format!("{leaf:?}")).or_insert(0) += 1,
            Leaf::Delivery {
                recipient,
                delivered,
                version,
                ..
            } => {
                *deliveries
                    .entry((recipient, delivered, version))
                    .or_insert(0) += 1
            }
            _ => {}
        }
    }
    let appended: BTreeSet<String> = (0..SERVERS)
        .flat_map(|s| (0..ROUNDS).map(move |r| format!("{:?}", consent(s, r))))
        .collect();
    assert_eq!(
        consents.keys().cloned().collect::<BTreeSet<_>>(),
        appended,
        "appended entries lost or invented"
    );
    assert!(
        consents.values().all(|&n| n == 1),
        "an entry appended twice"
    );
    assert!(
        deliveries.values().all(|&n| n == 1),
        "an object entered a view twice: {:?}",
        deliveries
            .iter()
            .filter(|(_, &n)| n > 1)
            .collect::<Vec<_>>()
    );
    let gbr_objects = views[0]
        .0
        .iter()
        .filter(|(id, _, _)| id.starts_with("indicator--"))
        .count();
    assert_eq!(
        gbr_objects,
        (0..SERVERS)
            .map(|s| (0..ROUNDS).filter(|r| r % 4 == s as u64 % 4).count() * 5)
            .sum::<usize>(),
        "GBR's view lacks indicators released to it"
    );
    assert!(
        views[0]
            .1
            .iter()
            .all(|(id, _, _)| !id.starts_with("indicator--")),
        "RUS received what is released only to the USA and GBR"
    );

    // One view per partner, whichever server answers.
    for v in &views[1..] {
        assert_eq!(v, &views[0], "two servers answer a partner differently");
    }

    // No fork: every checkpoint signed is a prefix of the log.
    let now = node.checkpoint().unwrap().checkpoint().clone();
    assert_eq!(now.size(), size);
    for cp in &checkpoints {
        let proof = node.consistency_proof(cp.size(), now.size()).unwrap();
        verify_consistency(cp.size(), cp.root(), now.size(), now.root(), &proof)
            .unwrap_or_else(|e| panic!("checkpoint of size {} forks from the log: {e}", cp.size()));
    }
}
