//! The cost of fingerprinting on the maintained path (issues 10 and 14), fingerprinted
//! against unmarked in one run: two nodes with the same holdings, one delivering marked
//! copies, the other unmarked (`Node::bench_deliver_unmarked`, a benchmark-only switch: the
//! same code with the order and form variants not applied; ids are still remapped and
//! remembered on both). For each node, alternately:
//! - cold: the partner's view computed whole and stored (the TAXII objects endpoint's first
//!   request);
//! - warm: the endpoint's store path over the whole view, page after page of 1,000 (what
//!   `outbound_window` runs: `ensure_view`, then `view_page` of limit + 1 rows, and the
//!   envelope's objects written out), no HTTP; WALKS walks;
//! - after a change: MORE new objects ingested, then the first page (`ensure_view` catching
//!   up the change, which marks the new copies as they enter the stored view, then the page);
//!   ROUNDS rounds, the upkeep and the page timed apart.
//!
//! Prints one JSON line with both nodes' medians.
//!
//!     marked_pages [OBJECTS] [WALKS] [ROUNDS] [MORE]      # defaults 50000 5 5 1000

use std::time::Instant;

use anyhow::Result;
use liaison_labels::{Label, Party};
use liaison_release::{IngestOptions, Node};
use liaison_store::SqliteStore;

const AGREEMENT: &str = "ceiling = \"SECRET\"\n[scope]\nmax_tlp = \"amber\"\n";
const LIMIT: usize = 1000;

/// Indicator `i`: lists and a free-form timestamp, about 700 bytes (as `delivery.rs`).
fn indicator(i: usize) -> String {
    format!(
        r#"{{"type":"indicator","spec_version":"2.1","id":"indicator--{}","created":"2025-01-01T00:00:00.000Z","modified":"2025-01-01T00:00:00.000Z","name":"Facilitator infrastructure {i}","description":"Address used by a facilitation network to coordinate travel; observed in liaison reporting.","indicator_types":["malicious-activity","attribution"],"kill_chain_phases":[{{"kill_chain_name":"mitre-attack","phase_name":"command-and-control"}},{{"kill_chain_name":"mitre-attack","phase_name":"exfiltration"}}],"pattern":"[ipv4-addr:value = '10.{}.{}.{}']","pattern_type":"stix","valid_from":"2025-01-01T00:00:00Z","labels":["terrorism","travel"],"external_references":[{{"source_name":"liaison","external_id":"LX-{i:08}"}}]}}"#,
        uuid(1, i),
        (i >> 16) & 0xff,
        (i >> 8) & 0xff,
        i & 0xff
    )
}

/// A version 4 UUID for item `i` of kind `tag`, spread as random ones are: real STIX ids are
/// random, and sequential ones would favour whichever node keeps the original ids (its index
/// inserts all land at one end of the B-tree, while remapped ids land anywhere).
fn uuid(tag: u64, i: usize) -> String {
    let mix = |mut z: u64| {
        z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let a = mix((tag << 48) ^ i as u64);
    let b = mix(a);
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        (b >> 52) & 0xfff,
        b & 0xffff_ffff_ffff
    )
}

/// Report `r` over indicators `10r .. 10r + 10`.
fn report(r: usize) -> String {
    let refs: Vec<String> = (r * 10..r * 10 + 10)
        .map(|i| format!("\"indicator--{}\"", uuid(1, i)))
        .collect();
    format!(
        r#"{{"type":"report","spec_version":"2.1","id":"report--{}","created":"2025-01-01T00:00:00.000Z","modified":"2025-01-01T00:00:00.000Z","name":"Facilitation network, part {r}","report_types":["threat-actor","indicator"],"published":"2025-01-02T00:00:00Z","object_refs":[{}]}}"#,
        uuid(2, r),
        refs.join(",")
    )
}

fn ingest(node: &mut Node<SqliteStore>, texts: &[String]) -> Result<()> {
    let options = IngestOptions {
        default_label: Some(Label {
            banner: "SECRET//REL TO USA, GBR".parse()?,
            originator: Party::parse("USA")?,
            grading: None,
            duty_to_warn: false,
        }),
        source: None,
    };
    for chunk in texts.chunks(10_000) {
        let doc = liaison_stix::parse_document(&liaison_stix::bundle_json(
            chunk.iter().map(String::as_str),
        ))?;
        node.ingest(&doc, &options, &mut |_| {})?;
    }
    Ok(())
}

/// Indicators `from..to` and the reports over them.
fn objects(from: usize, to: usize) -> Vec<String> {
    let mut texts: Vec<String> = (from..to).map(indicator).collect();
    texts.extend((from / 10..to / 10).map(report));
    texts
}

/// One page as the objects endpoint reads it: the basis checked (and changes caught up),
/// `LIMIT + 1` rows after `after`; the envelope's objects written out. Returns the rows
/// read, the bytes written and where the next page starts.
fn page(node: &mut Node<SqliteStore>, to: &Party, after: i64) -> Result<(usize, usize, i64)> {
    node.ensure_view(to, true)?;
    let rows = node.view_page(to, after, LIMIT + 1)?;
    let mut body = String::from("{\"more\":true,\"objects\":[");
    for (n, e) in rows.iter().take(LIMIT).enumerate() {
        if n > 0 {
            body.push(',');
        }
        body.push_str(&e.json);
    }
    body.push_str("]}");
    let next = rows
        .get(LIMIT.min(rows.len()).saturating_sub(1))
        .map_or(i64::MAX, |e| {
            i64::try_from(e.date_added.unix_nanos() / 1000).unwrap_or(i64::MAX)
        });
    Ok((rows.len().min(LIMIT), body.len(), next))
}

/// The whole view, page after page: (objects, bytes).
fn walk(node: &mut Node<SqliteStore>, to: &Party) -> Result<(usize, usize)> {
    let (mut objects, mut bytes, mut after) = (0, 0, 0);
    loop {
        let (n, b, next) = page(node, to, after)?;
        objects += n;
        bytes += b;
        if n < LIMIT {
            return Ok((objects, bytes));
        }
        after = next;
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[derive(Default)]
struct Figures {
    cold_s: f64,
    objects: usize,
    bytes: usize,
    walk_per_s: Vec<f64>,
    upkeep_ms: Vec<f64>,
    first_page_ms: Vec<f64>,
}

// The allocator `liaison` itself uses (crates/cli/src/main.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let mut arg =
        |default: usize| -> Result<usize> { Ok(args.next().map_or(Ok(default), |a| a.parse())?) };
    let total = arg(50_000)?;
    let walks = arg(5)?;
    let rounds = arg(5)?;
    let more = arg(1000)?;
    let gbr = Party::parse("GBR")?;
    let homes = [tempfile::tempdir()?, tempfile::tempdir()?];
    let mut nodes = Vec::new();
    // Indicators and a tenth as many reports: `total` objects.
    let indicators = total * 10 / 11;
    let first = objects(0, indicators);
    for (n, home) in homes.iter().enumerate() {
        let mut node = Node::init(home.path(), &Party::parse("USA")?)?;
        node.add_partner(&gbr, AGREEMENT)?;
        if n == 1 {
            node.bench_deliver_unmarked();
        }
        ingest(&mut node, &first)?;
        nodes.push(node);
    }
    let mut figures = [Figures::default(), Figures::default()];
    for (node, f) in nodes.iter_mut().zip(&mut figures) {
        let t = Instant::now();
        node.ensure_view(&gbr, true)?;
        f.cold_s = t.elapsed().as_secs_f64();
    }
    for w in 0..walks {
        for k in [w % 2, 1 - w % 2] {
            let t = Instant::now();
            let (objects, bytes) = walk(&mut nodes[k], &gbr)?;
            let f = &mut figures[k];
            f.walk_per_s
                .push(objects as f64 / t.elapsed().as_secs_f64());
            (f.objects, f.bytes) = (objects, bytes);
        }
    }
    let mut next = indicators;
    for r in 0..rounds {
        let added = objects(next, next + more);
        next += more;
        for k in [r % 2, 1 - r % 2] {
            ingest(&mut nodes[k], &added)?;
            let t = Instant::now();
            nodes[k].ensure_view(&gbr, true)?;
            let upkeep = t.elapsed();
            page(&mut nodes[k], &gbr, 0)?;
            let f = &mut figures[k];
            f.upkeep_ms.push(upkeep.as_secs_f64() * 1e3);
            f.first_page_ms.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    let json = |f: &Figures| {
        serde_json::json!({
            "cold_view_s": f.cold_s,
            "objects": f.objects,
            "bytes": f.bytes,
            "warm_walk_per_s_median": median(f.walk_per_s.clone()),
            "warm_walk_per_s": f.walk_per_s,
            "upkeep_ms_median": median(f.upkeep_ms.clone()),
            "upkeep_ms": f.upkeep_ms,
            "first_page_after_change_ms_median": median(f.first_page_ms.clone()),
        })
    };
    let (m, u) = (&figures[0], &figures[1]);
    println!(
        "{}",
        serde_json::json!({
            "objects": total,
            "more_per_round": more,
            "fingerprinted": json(m),
            "unmarked": json(u),
            "ratio_fingerprinted_over_unmarked": {
                "cold_view_time": m.cold_s / u.cold_s,
                "warm_walk_time": median(u.walk_per_s.clone()) / median(m.walk_per_s.clone()),
                "upkeep_time": median(m.upkeep_ms.clone()) / median(u.upkeep_ms.clone()),
                "first_page_after_change_time": median(m.first_page_ms.clone()) / median(u.first_page_ms.clone()),
                "bytes": m.bytes as f64 / u.bytes as f64,
            },
        })
    );
    Ok(())
}
