//! A node on PostgreSQL survives losing its database server: a primary with a synchronous hot
//! standby (scripts/pg-failover-pair.sh) is killed with SIGKILL while the node appends to its
//! log, the standby is promoted, and the node goes on from it. Every append the node was told
//! had succeeded is there, with the same content, and the log does not fork: each checkpoint
//! signed before the failure is a prefix of the log after it.
//!
//! Runs where PostgreSQL is (`LIAISON_TEST_PG_URL` set, as scripts/test.sh does); fails
//! instead of skipping when `LIAISON_REQUIRE_PG=1`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use liaison_labels::Party;
use liaison_log::{verify_consistency, MemoryTree};
use liaison_release::{Leaf, LogKeys, Node};
use liaison_store::prelude::*;
use liaison_store::{NodeRecord, PgStore};

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/pg-failover-pair.sh")
}

/// The pair, stopped and removed when dropped (also when the test fails).
struct Pair {
    dir: String,
    primary: String,
    standby: String,
}

impl Pair {
    fn start() -> Pair {
        let out = Command::new("bash")
            .arg(script())
            .arg("start")
            .output()
            .expect("run pg-failover-pair.sh");
        assert!(
            out.status.success(),
            "pg-failover-pair.sh start failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).expect("utf-8");
        let var = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("export {name}=")))
                .unwrap_or_else(|| panic!("{name} not in the script's output: {text}"))
                .to_owned()
        };
        Pair {
            dir: var("LIAISON_FAILOVER_DIR"),
            primary: var("LIAISON_FAILOVER_PRIMARY_URL"),
            standby: var("LIAISON_FAILOVER_STANDBY_URL"),
        }
    }

    fn run(&self, what: &str) {
        let out = Command::new("bash")
            .arg(script())
            .args([what, &self.dir])
            .output()
            .expect("run pg-failover-pair.sh");
        assert!(
            out.status.success(),
            "pg-failover-pair.sh {what} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(script())
            .args(["stop", &self.dir])
            .output();
    }
}

fn postgres_here() -> bool {
    let required = std::env::var("LIAISON_REQUIRE_PG").is_ok_and(|v| v == "1");
    let present = std::env::var("LIAISON_TEST_PG_URL").is_ok();
    if required || present {
        return true;
    }
    eprintln!("LIAISON_TEST_PG_URL is not set: the failover test does not run");
    false
}

fn consent(n: u64) -> Leaf {
    Leaf::Consent {
        object: format!("indicator--00000000-0000-4000-8000-{n:012}"),
        to: "GBR".into(),
        by: "FRA".into(),
    }
}

const SEED: [u8; 32] = [7; 32];

fn node_on(url: &str, party: &Party) -> Node<PgStore> {
    let mut store = PgStore::connect(url).expect("connect");
    if store.node().expect("read the node").is_none() {
        store
            .init_node(&NodeRecord {
                party: party.to_string(),
                created: "2026-11-30T00:00:00.000Z".into(),
            })
            .expect("init");
    }
    let keys = LogKeys::from_seed(party, SEED).expect("keys");
    Node::with_store_and_keys(store, keys).expect("node")
}

#[test]
fn a_killed_primary_loses_no_acknowledged_entry_and_the_log_does_not_fork() {
    if !postgres_here() {
        return;
    }
    let pair = Pair::start();
    let usa = Party::parse("USA").expect("party");
    let mut node = node_on(&pair.primary, &usa);

    // What the node was told: every appended leaf (index → leaf) and each checkpoint signed.
    let mut acknowledged: Vec<Leaf> = Vec::new();
    let mut checkpoints = Vec::new();
    for n in 0..100 {
        node.log_append(&[consent(n)])
            .expect("append before the failure");
        acknowledged.push(consent(n));
    }
    checkpoints.push(node.checkpoint().expect("checkpoint").checkpoint().clone());

    // The primary dies while the node keeps appending.
    let killed = Arc::new(AtomicBool::new(false));
    let killer = {
        let killed = killed.clone();
        let dir = pair.dir.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(400));
            let out = Command::new("bash")
                .arg(script())
                .args(["kill-primary", &dir])
                .output()
                .expect("kill the primary");
            assert!(out.status.success(), "kill-primary failed");
            killed.store(true, Ordering::SeqCst);
        })
    };
    let mut n = 100;
    let failure = loop {
        match node.log_append(&[consent(n)]) {
            Ok(first) => {
                assert_eq!(first, n, "an append landed at the wrong index");
                acknowledged.push(consent(n));
                if n % 25 == 0 {
                    if let Ok(cp) = node.checkpoint() {
                        checkpoints.push(cp.checkpoint().clone());
                    }
                }
                n += 1;
            }
            Err(e) => break e,
        }
        assert!(n < 1_000_000, "the primary was never killed");
    };
    killer.join().expect("killer thread");
    assert!(
        killed.load(Ordering::SeqCst),
        "failed before the kill: {failure}"
    );
    assert!(
        acknowledged.len() > 100,
        "no append was acknowledged while the primary was being killed"
    );
    drop(node);

    pair.run("promote");
    let mut node = node_on(&pair.standby, &usa);
    let size = node.log_size().expect("size");
    let acked = acknowledged.len() as u64;
    eprintln!("{acked} appends acknowledged, {size} entries on the promoted standby; failure seen: {failure}");
    assert!(
        size >= acked,
        "the standby has {size} entries, but {acked} appends were acknowledged"
    );
    // Each acknowledged entry is there, committing to the leaf that was appended.
    let entries = node.log_entries(0, size).expect("entries");
    for (i, leaf) in acknowledged.iter().enumerate() {
        let opening = node
            .store()
            .log_opening(i as u64)
            .expect("read opening")
            .unwrap_or_else(|| panic!("entry {i}: its opening is lost"));
        assert_eq!(
            opening.leaf,
            leaf.to_json().expect("leaf json"),
            "entry {i} holds another leaf"
        );
    }

    // It goes on from the standby, and every checkpoint signed before is a prefix of it.
    for k in 0..20 {
        node.log_append(&[consent(2_000_000 + k)])
            .expect("append after the failover");
    }
    let now = node.checkpoint().expect("checkpoint").checkpoint().clone();
    assert_eq!(now.size(), size + 20);
    let entries_now = node.log_entries(0, now.size()).expect("entries");
    assert_eq!(
        &entries_now[..entries.len()],
        &entries[..],
        "entries rewritten"
    );
    let mut tree = MemoryTree::new();
    let mut roots = Vec::new();
    for e in &entries_now {
        tree.append(e).expect("append");
        roots.push(liaison_log::root(tree.size(), &tree).expect("root"));
    }
    assert_eq!(
        roots.last().copied(),
        Some(now.root()),
        "the new root is not the entries'"
    );
    for cp in &checkpoints {
        assert_eq!(
            roots[cp.size() as usize - 1],
            cp.root(),
            "fork: the checkpoint of size {} signed before the failure is not the log's",
            cp.size()
        );
        let proof = node
            .consistency_proof(cp.size(), now.size())
            .expect("consistency proof");
        verify_consistency(cp.size(), cp.root(), now.size(), now.root(), &proof)
            .expect("the log after the failover is consistent with the checkpoint before it");
    }
}
