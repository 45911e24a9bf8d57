//! The trust boundary's cost (issue 8): objects through `Node::ingest` (our analysts) and
//! `Node::receive` (a partner's TAXII POST or our pull from it), new and then again (exact
//! duplicates). Uses only APIs that predate the boundary, so `bench/trust.sh` can build the
//! same benchmark against the previous main and compare in one run.

use std::time::{Duration, Instant};

use anyhow::Result;
use liaison_labels::Party;
use liaison_release::{IngestOptions, Node};
use serde_json::{json, Value};

use crate::{median, secs, ObjGen};

const AGREEMENT: &str = "ceiling = \"SECRET\"\n[scope]\nmax_tlp = \"amber\"\n";

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / secs(d).max(1e-9)
}

/// One run on a fresh node: (ingest, receive new, receive again) in objects/s.
fn one_run(objects: usize, page: usize) -> Result<[f64; 3]> {
    let home = tempfile::tempdir()?;
    let mut node = Node::init(home.path(), &Party::parse("USA")?)?;
    let rus = Party::parse("RUS")?;
    node.add_partner(&rus, AGREEMENT)?;

    // Ours: bundles of 10,000 through Node::ingest.
    let mut gen = ObjGen::new(Vec::new());
    let mut i = 0usize;
    let mut ingest_time = Duration::ZERO;
    let mut done = 0;
    while done < objects {
        let n = 10_000.min(objects - done);
        let texts: Vec<String> = (0..n)
            .map(|_| {
                i += 1;
                gen.object(i)
            })
            .collect();
        let bundle = liaison_stix::bundle_json(texts.iter().map(String::as_str));
        let t = Instant::now();
        let doc = liaison_stix::parse_document(&bundle)?;
        node.ingest(&doc, &IngestOptions::default(), &mut |_| {})?;
        ingest_time += t.elapsed();
        done += n;
    }

    // The partner's: other objects, pages of `page` through Node::receive, twice.
    let mut theirs = ObjGen::new(Vec::new());
    theirs.reseed(0x7e5_0b1e);
    let pages: Vec<Vec<String>> = (0..objects.div_ceil(page))
        .map(|p| {
            (0..page.min(objects - p * page))
                .map(|_| {
                    i += 1;
                    theirs.object(i)
                })
                .collect()
        })
        .collect();
    let mut times = [Duration::ZERO; 2];
    for time in &mut times {
        for p in &pages {
            let refs: Vec<&str> = p.iter().map(String::as_str).collect();
            let t = Instant::now();
            let r = node.receive(&rus, &refs)?;
            *time += t.elapsed();
            anyhow::ensure!(r.failures.is_empty(), "refused: {:?}", r.failures.first());
        }
    }
    Ok([
        rate(objects, ingest_time),
        rate(objects, times[0]),
        rate(objects, times[1]),
    ])
}

/// Median objects/s over `runs` fresh nodes.
pub(crate) fn run_boundary(objects: usize, page: usize, runs: usize) -> Result<Value> {
    let mut cols: [Vec<f64>; 3] = Default::default();
    for r in 0..runs.max(1) {
        let got = one_run(objects, page)?;
        eprintln!(
            "  boundary run {}: ingest {:.0}/s, receive new {:.0}/s, receive again {:.0}/s",
            r + 1,
            got[0],
            got[1],
            got[2]
        );
        for (c, v) in cols.iter_mut().zip(got) {
            c.push(v);
        }
    }
    let [a, b, c] = &mut cols;
    Ok(json!({
        "bench": "boundary", "objects": objects, "page": page, "runs": runs,
        "ingest_per_s": median(a), "receive_new_per_s": median(b), "receive_again_per_s": median(c),
    }))
}
