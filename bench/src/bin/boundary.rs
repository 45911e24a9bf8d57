//! The trust boundary's cost (issue 8): objects through `Node::ingest` (our analysts) and
//! `Node::receive` (a partner's TAXII POST or our pull from it), new and then again (exact
//! duplicates), on a fresh node per run. A binary of its own that uses only APIs older than
//! the boundary, so `bench/trust.sh` can build this same file against the previous main and
//! compare both in one session.
//!
//!     boundary [OBJECTS] [PAGE]      # defaults 50000 1000; prints one JSON line

use std::time::{Duration, Instant};

use anyhow::Result;
use liaison_labels::Party;
use liaison_release::{IngestOptions, Node};

const AGREEMENT: &str = "ceiling = \"SECRET\"\n[scope]\nmax_tlp = \"amber\"\n";

/// Indicator `i` of stream `stream`, about 600 bytes, unmarked; ids differ per stream.
fn indicator(stream: u32, i: usize) -> String {
    let t = format!(
        "2025-{:02}-{:02}T{:02}:{:02}:{:02}.000Z",
        1 + (i / 100_000) % 12,
        1 + (i / 3600) % 28,
        (i / 60) % 24,
        i % 60,
        (i * 7) % 60
    );
    format!(
        r#"{{"type":"indicator","spec_version":"2.1","id":"indicator--{stream:08x}-0000-4000-8000-{i:012x}","created":"{t}","modified":"{t}","name":"Facilitator infrastructure {i}","description":"Address used by a facilitation network to coordinate travel; observed in liaison reporting.","indicator_types":["malicious-activity"],"pattern":"[ipv4-addr:value = '10.{}.{}.{}']","pattern_type":"stix","valid_from":"{t}","labels":["terrorism"],"external_references":[{{"source_name":"liaison","external_id":"LX-{i:08}"}}]}}"#,
        (i >> 16) & 0xff,
        (i >> 8) & 0xff,
        i & 0xff
    )
}

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64().max(1e-9)
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let objects: usize = args.next().map_or(Ok(50_000), |a| a.parse())?;
    let page: usize = args.next().map_or(Ok(1000), |a| a.parse())?.max(1);

    let home = tempfile::tempdir()?;
    let mut node = Node::init(home.path(), &Party::parse("USA")?)?;
    let rus = Party::parse("RUS")?;
    node.add_partner(&rus, AGREEMENT)?;

    // Ours: bundles of 10,000 through Node::ingest (parse included).
    let mut ingest = Duration::ZERO;
    for start in (0..objects).step_by(10_000) {
        let texts: Vec<String> = (start..objects.min(start + 10_000))
            .map(|i| indicator(1, i))
            .collect();
        let bundle = liaison_stix::bundle_json(texts.iter().map(String::as_str));
        let t = Instant::now();
        let doc = liaison_stix::parse_document(&bundle)?;
        node.ingest(&doc, &IngestOptions::default(), &mut |_| {})?;
        ingest += t.elapsed();
    }

    // The partner's: other objects in pages of `page` through Node::receive, twice.
    let pages: Vec<Vec<String>> = (0..objects)
        .step_by(page)
        .map(|start| {
            (start..objects.min(start + page))
                .map(|i| indicator(2, i))
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
    println!(
        "{{\"objects\":{objects},\"page\":{page},\"ingest_per_s\":{:.0},\"receive_new_per_s\":{:.0},\"receive_again_per_s\":{:.0}}}",
        rate(objects, ingest),
        rate(objects, times[0]),
        rate(objects, times[1])
    );
    Ok(())
}
