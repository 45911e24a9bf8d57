//! The transparency log: durable appends per second at several batch sizes (the node's own
//! `Node::log_append`: salted commitments, openings, stored hashes, one synced transaction,
//! then a signed checkpoint), inclusion proofs per second computed from the stored hashes as
//! the server does, and the time from a leaf's arrival to a signed checkpoint that includes
//! it when leaves arrive continuously (group commit: each append takes what has arrived).

use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::Result;
use liaison_labels::Party;
use liaison_log::verify_inclusion;
use liaison_release::{sha256_hex, Leaf, Node};
use liaison_store::SqliteStore;
use serde_json::{json, Value};

use crate::{median, Rng};

/// A delivery leaf of realistic size: about 250 bytes of canonical JSON, as the node logs
/// when an object enters a partner's view.
pub(crate) fn leaf(n: u64) -> Leaf {
    Leaf::Delivery {
        recipient: "RUS".into(),
        delivered: format!(
            "indicator--{:08x}-0000-4000-8000-{n:012x}",
            n.wrapping_mul(2654435761) as u32
        ),
        version: "2026-01-01T00:00:00.000Z".into(),
        sha256: sha256_hex(&n.to_be_bytes()),
        decision: "release".into(),
        reasons: vec!["released".into(), "scope".into()],
        value: 1.0,
    }
}

fn node(dir: &std::path::Path) -> Result<Node<SqliteStore>> {
    Ok(Node::init(dir, &Party::parse("USA")?)?)
}

/// Durable appends per second at each batch size: `leaves` leaves per run (fewer for small
/// batches: `min_secs` of appending is enough), median over `runs` fresh logs.
pub(crate) fn run_append(
    batches: &[usize],
    leaves: usize,
    runs: usize,
    dir: Option<&std::path::Path>,
) -> Result<Value> {
    let mut rows = Vec::new();
    for &batch in batches {
        let mut rates = Vec::new();
        let mut appended = 0;
        for _ in 0..runs {
            let tmp = match dir {
                Some(d) => tempfile::tempdir_in(d)?,
                None => tempfile::tempdir()?,
            };
            let mut node = node(tmp.path())?;
            let start = node.log_size()?;
            let t = Instant::now();
            let mut n = 0u64;
            while (n as usize) < leaves && (t.elapsed() < Duration::from_secs(10) || n == 0) {
                let ls: Vec<Leaf> = (0..batch as u64).map(|k| leaf(n + k)).collect();
                node.log_append(&ls)?;
                n += batch as u64;
            }
            let secs = t.elapsed().as_secs_f64();
            assert_eq!(node.log_size()?, start + n);
            rates.push(n as f64 / secs);
            appended = n;
        }
        rows.push(json!({
            "batch": batch,
            "leaves_per_run": appended,
            "appends_per_s": median(&mut rates),
            "runs": rates,
        }));
    }
    Ok(json!({"benchmark": "log-append", "rows": rows}))
}

/// Inclusion proofs per second from the stored hashes, against the latest checkpoint, for
/// random leaves of a log of `size` leaves: the proof alone, and the whole work of
/// `GET /log/proof/<i>` but HTTP (checkpoint, opening, proof, JSON).
pub(crate) fn run_proofs(size: usize, proofs: usize, runs: usize) -> Result<Value> {
    let tmp = tempfile::tempdir()?;
    let mut node = node(tmp.path())?;
    let t = Instant::now();
    let mut n = node.log_size()?;
    while n < size as u64 {
        let k = 10_000.min(size as u64 - n);
        let ls: Vec<Leaf> = (0..k).map(|j| leaf(n + j)).collect();
        node.log_append(&ls)?;
        n += k;
    }
    let build = t.elapsed().as_secs_f64();
    let cp = node.checkpoint()?;
    let (sz, root) = (cp.checkpoint().size(), cp.checkpoint().root());
    let rus = Party::parse("RUS")?;
    let mut rng = Rng::new(7);
    let idx: Vec<u64> = (0..proofs).map(|_| 2 + rng.next() % (sz - 2)).collect();
    let (mut bare, mut served) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let t = Instant::now();
        for &i in &idx {
            let p = node.inclusion_proof_at(i, sz)?;
            std::hint::black_box(&p);
        }
        bare.push(idx.len() as f64 / t.elapsed().as_secs_f64());
        let t = Instant::now();
        for &i in &idx {
            let cp = node.checkpoint()?;
            let size = cp.checkpoint().size();
            let o = node
                .opening_for(i, &rus)?
                .ok_or_else(|| anyhow::anyhow!("no opening {i}"))?;
            let p = node.inclusion_proof_at(i, size)?;
            let body = serde_json::to_vec(&json!({
                "checkpoint": String::from_utf8_lossy(cp.as_bytes()),
                "proofs": [{
                    "index": i,
                    "leaf": String::from_utf8_lossy(&o.leaf),
                    "salt": o.salt_hex(),
                    "leaf_hash": p.leaf_hash.to_string(),
                    "path": p.path.iter().map(ToString::to_string).collect::<Vec<_>>(),
                }],
            }))?;
            std::hint::black_box(body);
        }
        served.push(idx.len() as f64 / t.elapsed().as_secs_f64());
    }
    // The proofs verify (a sample).
    for &i in idx.iter().take(100) {
        let p = node.inclusion_proof_at(i, sz)?;
        let o = node
            .opening_for(i, &rus)?
            .ok_or_else(|| anyhow::anyhow!("no opening"))?;
        o.verify(i, Some(p.leaf_hash), sz, root, &p.path)?;
        verify_inclusion(p.leaf_hash, i, sz, root, &p.path)?;
    }
    Ok(json!({
        "benchmark": "log-proofs",
        "log_size": sz,
        "build_secs": build,
        "proofs": proofs,
        "proofs_per_s": median(&mut bare),
        "proof_requests_per_s_without_http": median(&mut served),
        "runs_proofs_per_s": bare,
        "runs_requests_per_s": served,
    }))
}

/// Leaves arrive continuously at `rate` per second for `secs` seconds (a producer thread);
/// the appender takes whatever has arrived, appends it durably and signs a checkpoint. For
/// each leaf: the time from its arrival to the signed checkpoint that includes it.
pub(crate) fn run_latency(rate: u64, secs: f64) -> Result<Value> {
    let tmp = tempfile::tempdir()?;
    let mut node = node(tmp.path())?;
    let (tx, rx) = mpsc::channel::<(Instant, Leaf)>();
    let total = (rate as f64 * secs) as u64;
    let producer = std::thread::spawn(move || {
        let start = Instant::now();
        for n in 0..total {
            let due = start + Duration::from_secs_f64(n as f64 / rate as f64);
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            if tx.send((Instant::now(), leaf(n))).is_err() {
                break;
            }
        }
    });
    let mut lat = Vec::with_capacity(total as usize);
    let mut appends = 0u64;
    let t = Instant::now();
    while (lat.len() as u64) < total {
        let Ok(first) = rx.recv() else { break };
        let mut arrived = vec![first];
        arrived.extend(rx.try_iter());
        let leaves: Vec<Leaf> = arrived.iter().map(|(_, l)| l.clone()).collect();
        node.log_append(&leaves)?;
        let cp = node.checkpoint()?;
        let done = Instant::now();
        std::hint::black_box(&cp);
        appends += 1;
        lat.extend(
            arrived
                .iter()
                .map(|(at, _)| (done - *at).as_secs_f64() * 1e3),
        );
    }
    let elapsed = t.elapsed().as_secs_f64();
    let _ = producer.join();
    lat.sort_by(f64::total_cmp);
    let q = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
    Ok(json!({
        "benchmark": "log-latency",
        "rate_per_s": rate,
        "leaves": lat.len(),
        "appends": appends,
        "mean_batch": lat.len() as f64 / appends.max(1) as f64,
        "achieved_per_s": lat.len() as f64 / elapsed,
        "p50_ms": q(0.50),
        "p99_ms": q(0.99),
        "max_ms": lat.last().copied().unwrap_or(0.0),
    }))
}
