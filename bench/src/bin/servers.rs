//! Log appends/s of one node's servers on one PostgreSQL database (issue 14): 1 server, then
//! SERVERS servers (each its own connection and log cache, as separate `liaison serve`
//! processes), each appending one leaf per transaction as fast as it can for SECS seconds;
//! RUNS runs each. Appends are serialised in the database (advisory lock, then a check that
//! the log did not grow under the appender), so more servers add availability, not append
//! throughput: this measures what the serialisation costs. Prints one JSON line.
//!
//!     servers URL [SERVERS] [SECS] [RUNS]     # defaults 3 5 3; URL: a maintenance database

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use liaison_labels::Party;
use liaison_release::{Leaf, LogKeys, Node};
use liaison_store::prelude::*;
use liaison_store::{NodeRecord, PgStore};

const SEED: [u8; 32] = [3; 32];

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn server(url: &str) -> Result<Node<PgStore>> {
    let store = PgStore::connect(url)?;
    Ok(Node::with_store_and_keys(
        store,
        LogKeys::from_seed(&Party::parse("USA")?, SEED)?,
    )?)
}

/// Appends/s of `servers` servers together over `secs` seconds, on a fresh database.
fn run(admin: &str, db: &str, servers: usize, secs: u64) -> Result<f64> {
    let mut c = postgres::Client::connect(admin, postgres::NoTls)?;
    c.batch_execute(&format!("DROP DATABASE IF EXISTS {db}"))?;
    c.batch_execute(&format!("CREATE DATABASE {db}"))?;
    let url = format!("{}/{db}", admin.rsplit_once('/').context("URL")?.0);
    PgStore::connect(&url)?.init_node(&NodeRecord {
        party: "USA".into(),
        created: "2026-11-30T00:00:00.000Z".into(),
    })?;
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let handles: Vec<_> = (0..servers)
        .map(|s| {
            let (url, stop, count) = (url.clone(), stop.clone(), count.clone());
            std::thread::spawn(move || -> Result<()> {
                let mut node = server(&url)?;
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    node.log_append(&[Leaf::Consent {
                        object: format!(
                            "indicator--00000000-0000-4000-8000-{:012}",
                            s as u64 * 1_000_000_000 + n
                        ),
                        to: "GBR".into(),
                        by: "FRA".into(),
                    }])?;
                    count.fetch_add(1, Ordering::Relaxed);
                    n += 1;
                }
                Ok(())
            })
        })
        .collect();
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs(secs));
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.join()
            .map_err(|_| anyhow::anyhow!("a server panicked"))??;
    }
    let rate = count.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64();
    // The log is whole: as many entries as acknowledged appends.
    let size = server(&url)?.log_size()?;
    anyhow::ensure!(
        size == count.load(Ordering::Relaxed),
        "{size} entries for {} acknowledged appends",
        count.load(Ordering::Relaxed)
    );
    c.batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))?;
    Ok(rate)
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let admin = args
        .next()
        .context("usage: servers URL [SERVERS] [SECS] [RUNS]")?;
    let servers: usize = args.next().map_or(Ok(3), |a| a.parse())?;
    let secs: u64 = args.next().map_or(Ok(5), |a| a.parse())?;
    let runs: usize = args.next().map_or(Ok(3), |a| a.parse())?;
    let db = format!("liaison_bench_servers_{}", std::process::id());
    let (mut one, mut many) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        one.push(run(&admin, &db, 1, secs)?);
        many.push(run(&admin, &db, servers, secs)?);
    }
    let (one, many) = (median(one), median(many));
    println!(
        "{}",
        serde_json::json!({
            "servers": servers,
            "secs": secs,
            "runs": runs,
            "appends_per_s_one_server": one.round(),
            "appends_per_s_all_servers": many.round(),
            "ratio": (many / one * 100.0).round() / 100.0,
        })
    );
    Ok(())
}
