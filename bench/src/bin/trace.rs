//! `liaison trace` on a large leak (issue 10): a node with 30 partners and OBJECTS objects
//! released to all of them, and HELD more that went to nobody (the rest of the holdings); one
//! partner's whole copy (the bundle it was delivered) traced, as delivered and with every id
//! re-minted (so only the code can tell), RUNS times each. Prints one JSON line with the
//! medians, and the first re-minted trace apart (it builds the content-key index), in
//! milliseconds.
//!
//!     trace [OBJECTS] [RUNS] [HELD]      # defaults 10000 7 0

use std::time::Instant;

use anyhow::Result;
use liaison_labels::{Label, Party};
use liaison_release::{IngestOptions, Node};

const AGREEMENT: &str = "ceiling = \"SECRET\"\n[scope]\nmax_tlp = \"amber\"\n";

const PARTNERS: [&str; 30] = [
    "GBR", "RUS", "FRA", "DEU", "ITA", "ESP", "NLD", "BEL", "POL", "SWE", "NOR", "DNK", "FIN",
    "AUT", "CHE", "PRT", "GRC", "TUR", "ISR", "JOR", "EGY", "IND", "JPN", "KOR", "AUS", "NZL",
    "CAN", "MEX", "BRA", "ZAF",
];

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

// The allocator `liaison` itself uses (crates/cli/src/main.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let objects: usize = args.next().map_or(Ok(10_000), |a| a.parse())?;
    let runs: usize = args.next().map_or(Ok(7), |a| a.parse())?;
    let held: usize = args.next().map_or(Ok(0), |a| a.parse())?;
    let home = tempfile::tempdir()?;
    let mut node = Node::init(home.path(), &Party::parse("USA")?)?;
    let partners: Vec<Party> = PARTNERS
        .iter()
        .map(|p| Party::parse(p))
        .collect::<Result<_, _>>()?;
    let names: Vec<String> = partners.iter().map(ToString::to_string).collect();
    for p in &partners {
        node.add_partner(p, AGREEMENT)?;
    }
    let banner = format!("SECRET//REL TO USA, {}", names.join(", "));
    let options = IngestOptions {
        default_label: Some(Label {
            banner: banner.parse()?,
            originator: Party::parse("USA")?,
            grading: None,
            duty_to_warn: false,
        }),
        source: None,
    };
    let texts: Vec<String> = (0..objects)
        .map(|i| {
            format!(
                r#"{{"type":"indicator","spec_version":"2.1","id":"indicator--00000001-0000-4000-8000-{i:012x}","created":"2025-01-01T00:00:00.000Z","modified":"2025-01-01T00:00:00.000Z","name":"Relay {i}","indicator_types":["malicious-activity","attribution"],"kill_chain_phases":[{{"kill_chain_name":"k","phase_name":"a"}},{{"kill_chain_name":"k","phase_name":"b"}}],"pattern":"[ipv4-addr:value = '10.{}.{}.{}']","pattern_type":"stix","valid_from":"2025-01-01T00:00:00Z"}}"#,
                (i >> 16) & 0xff,
                (i >> 8) & 0xff,
                i & 0xff
            )
        })
        .collect();
    let doc =
        liaison_stix::parse_document(&liaison_stix::bundle_json(texts.iter().map(String::as_str)))?;
    node.ingest(&doc, &options, &mut |_| {})?;
    let mut leak = String::new();
    for (n, p) in partners.iter().enumerate() {
        let export = node.export(p)?;
        if n == 7 {
            leak = export.bundle;
        }
    }
    // The rest of the holdings, released to nobody: what a trace that read every object
    // would read too.
    let nobody = IngestOptions {
        default_label: Some(Label {
            banner: "SECRET//NOFORN".parse()?,
            originator: Party::parse("USA")?,
            grading: None,
            duty_to_warn: false,
        }),
        source: None,
    };
    for start in (0..held).step_by(10_000) {
        let texts: Vec<String> = (start..held.min(start + 10_000))
            .map(|i| {
                format!(
                    r#"{{"type":"indicator","spec_version":"2.1","id":"indicator--00000002-0000-4000-8000-{i:012x}","created":"2025-01-01T00:00:00.000Z","modified":"2025-01-01T00:00:00.000Z","name":"Held {i}","pattern":"[domain-name:value = 'h{i}.example']","pattern_type":"stix","valid_from":"2025-01-01T00:00:00Z"}}"#
                )
            })
            .collect();
        let doc = liaison_stix::parse_document(&liaison_stix::bundle_json(
            texts.iter().map(String::as_str),
        ))?;
        node.ingest(&doc, &nobody, &mut |_| {})?;
    }
    // The same copy with every indicator id re-minted.
    let mut value: serde_json::Value = serde_json::from_str(&leak)?;
    if let Some(objects) = value["objects"].as_array_mut() {
        for (i, o) in objects.iter_mut().enumerate() {
            if o["type"] == "indicator" {
                o["id"] = serde_json::json!(format!("indicator--0000beef-0000-4000-8000-{i:012x}"));
            }
        }
    }
    let reminted = value.to_string();
    let mut exact = Vec::new();
    let mut code = Vec::new();
    let mut accused = (Vec::new(), Vec::new());
    let mut first_reminted = None;
    for _ in 0..runs {
        let t = Instant::now();
        let a = node.trace(&leak, 1000, &mut |_, _| {})?;
        exact.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        let b = node.trace(&reminted, 1000, &mut |_, _| {})?;
        code.push(t.elapsed().as_secs_f64() * 1e3);
        first_reminted.get_or_insert(code[0]);
        accused = (
            a.accused.iter().map(|s| s.recipient.clone()).collect(),
            b.accused.iter().map(|s| s.recipient.clone()).collect(),
        );
    }
    println!(
        "{}",
        serde_json::json!({
            "objects": objects,
            "held_beside": held,
            "recipients": partners.len(),
            "leaked_from": names[7],
            "trace_ms_median": median(exact),
            "trace_reminted_ms_median": median(code),
            "trace_reminted_first_ms": first_reminted,
            "accused": accused.0,
            "accused_reminted": accused.1,
        })
    );
    Ok(())
}
