//! The cost of fingerprinting on delivery (issue 10): a partner's view computed whole (what
//! the TAXII objects endpoint does on its first request after a change: decide, cut,
//! fingerprint, log), then again with nothing new (warm: the copies are what is served from
//! then on). Uses only APIs older than fingerprinting, so `bench/fingerprint.sh` builds this
//! same file against the commit before it (unmarked delivery) and compares both in one session.
//!
//!     delivery [OBJECTS]      # default 50000 (a tenth of them reports); prints one JSON line

use std::time::Instant;

use anyhow::Result;
use liaison_labels::{Label, Party};
use liaison_release::{IngestOptions, Node};

const AGREEMENT: &str = "ceiling = \"SECRET\"\n[scope]\nmax_tlp = \"amber\"\n";

/// Indicator `i`: lists and a free-form timestamp, about 700 bytes.
fn indicator(i: usize) -> String {
    format!(
        r#"{{"type":"indicator","spec_version":"2.1","id":"indicator--00000001-0000-4000-8000-{i:012x}","created":"2025-01-01T00:00:00.000Z","modified":"2025-01-01T00:00:00.000Z","name":"Facilitator infrastructure {i}","description":"Address used by a facilitation network to coordinate travel; observed in liaison reporting.","indicator_types":["malicious-activity","attribution"],"kill_chain_phases":[{{"kill_chain_name":"mitre-attack","phase_name":"command-and-control"}},{{"kill_chain_name":"mitre-attack","phase_name":"exfiltration"}}],"pattern":"[ipv4-addr:value = '10.{}.{}.{}']","pattern_type":"stix","valid_from":"2025-01-01T00:00:00Z","labels":["terrorism","travel"],"external_references":[{{"source_name":"liaison","external_id":"LX-{i:08}"}}]}}"#,
        (i >> 16) & 0xff,
        (i >> 8) & 0xff,
        i & 0xff
    )
}

/// Report `r` over indicators `10r .. 10r + 10`.
fn report(r: usize) -> String {
    let refs: Vec<String> = (r * 10..r * 10 + 10)
        .map(|i| format!("\"indicator--00000001-0000-4000-8000-{i:012x}\""))
        .collect();
    format!(
        r#"{{"type":"report","spec_version":"2.1","id":"report--00000002-0000-4000-8000-{r:012x}","created":"2025-01-01T00:00:00.000Z","modified":"2025-01-01T00:00:00.000Z","name":"Facilitation network, part {r}","report_types":["threat-actor","indicator"],"published":"2025-01-02T00:00:00Z","object_refs":[{}]}}"#,
        refs.join(",")
    )
}

fn main() -> Result<()> {
    let objects: usize = std::env::args().nth(1).map_or(Ok(50_000), |a| a.parse())?;
    let home = tempfile::tempdir()?;
    let mut node = Node::init(home.path(), &Party::parse("USA")?)?;
    let gbr = Party::parse("GBR")?;
    node.add_partner(&gbr, AGREEMENT)?;
    let reports = objects / 11;
    let indicators = objects - reports;
    let label = Label {
        banner: "SECRET//REL TO USA, GBR".parse()?,
        originator: Party::parse("USA")?,
        grading: None,
        duty_to_warn: false,
    };
    let options = IngestOptions {
        default_label: Some(label),
        source: None,
    };
    for start in (0..indicators).step_by(10_000) {
        let texts: Vec<String> = (start..indicators.min(start + 10_000))
            .map(indicator)
            .collect();
        let doc = liaison_stix::parse_document(&liaison_stix::bundle_json(
            texts.iter().map(String::as_str),
        ))?;
        node.ingest(&doc, &options, &mut |_| {})?;
    }
    let texts: Vec<String> = (0..reports).map(report).collect();
    let doc =
        liaison_stix::parse_document(&liaison_stix::bundle_json(texts.iter().map(String::as_str)))?;
    node.ingest(&doc, &options, &mut |_| {})?;

    let t = Instant::now();
    let view = node.view(&gbr)?;
    let cold = t.elapsed();
    let t = Instant::now();
    let again = node.view(&gbr)?;
    let warm = t.elapsed();
    assert_eq!(view.entries.len(), again.entries.len());
    let bytes: usize = view.entries.iter().map(|e| e.json.len()).sum();
    println!(
        "{}",
        serde_json::json!({
            "objects": view.entries.len(),
            "cold_view_per_s": view.entries.len() as f64 / cold.as_secs_f64(),
            "warm_view_per_s": view.entries.len() as f64 / warm.as_secs_f64(),
            "bytes": bytes,
        })
    );
    Ok(())
}
