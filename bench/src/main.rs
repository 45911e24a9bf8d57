//! Benchmarks of a liaison node: STIX ingest into the embedded store, effective labels over a
//! large derivation graph, and release decisions. Synthetic data from a fixed-seed xorshift,
//! so runs are comparable. Every figure is a median over several runs; ratios are measured
//! in the same run.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use liaison_labels::{Banner, Label, Party};
use liaison_policy::{Agreement, Item, Judge, Markings, Verdict, World};
use liaison_store::prelude::*;
use liaison_store::{AnyStore, NewObject, PgStore, SqliteStore};
use serde_json::{json, Value};

mod auth;
mod log;
mod taxii;

#[derive(Parser)]
#[command(about = "Benchmarks of a liaison node")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
    /// Output format.
    #[arg(long, value_enum, default_value = "table", global = true)]
    format: Format,
    /// Runs of each timed phase; the median is reported.
    #[arg(long, default_value_t = 3, global = true)]
    runs: usize,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum Format {
    Table,
    Json,
}

#[derive(Subcommand)]
enum Cmd {
    /// A partner's correct login (Argon2 each time) while wrong guesses flood in from another
    /// source: back-off on, then off, in the same run.
    Auth {
        /// Wrong guesses per second.
        #[arg(long, default_value_t = 500)]
        rate: u64,
        /// Seconds per run.
        #[arg(long, default_value_t = 20.0)]
        secs: f64,
        /// Milliseconds between the partner's logins.
        #[arg(long, default_value_t = 50)]
        every_ms: u64,
    },
    /// STIX bundle text -> parse_document -> the store's ingest: SQLite (file-backed, temp
    /// dir), or PostgreSQL with `--database`.
    Ingest {
        #[arg(long, default_value_t = 1_000_000)]
        objects: usize,
        /// Objects per bundle (one parse + one ingest transaction each).
        #[arg(long, default_value_t = 10_000)]
        batch: usize,
        /// Throughput is reported per slice of this many objects.
        #[arg(long, default_value_t = 100_000)]
        slice: usize,
        /// Where the store file goes (a temp dir inside it); default: system temp dir.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Also write the generated objects as TAXII envelopes (JSON lines) to this file,
        /// for the peer measurement.
        #[arg(long)]
        dump: Option<PathBuf>,
        /// A PostgreSQL database to ingest into instead (`postgres://...`; it should be
        /// empty: the run counts what it holds afterwards).
        #[arg(long)]
        database: Option<String>,
    },
    /// World::build over objects + derived-from relationship items, then upserts.
    Labels {
        #[arg(long, default_value_t = 1_000_000)]
        objects: usize,
        #[arg(long, default_value_t = 3_000_000)]
        edges: usize,
        #[arg(long, default_value_t = 1000)]
        upserts: usize,
    },
    /// Judge::decide over every held object vs. a baseline that only touches labels.
    Decisions {
        #[arg(long, default_value_t = 1_000_000)]
        objects: usize,
        #[arg(long, default_value_t = 3_000_000)]
        edges: usize,
        /// Stop deciding after this many seconds per run (held objects are taken in a
        /// random order, so a partial run is a fair sample); the baseline covers the same.
        #[arg(long, default_value_t = 30.0)]
        budget_secs: f64,
    },
    /// Writes a STIX bundle of unmarked objects (for `liaison ingest --label`, TAXII bench).
    Bundle {
        #[arg(long, default_value_t = 100_000)]
        objects: usize,
        /// Leave out the objects before this one (with `--objects N`, the bundle holds
        /// objects `from..N` of the same sequence: more of the same holdings).
        #[arg(long, default_value_t = 1)]
        from: usize,
        #[arg(long)]
        out: PathBuf,
    },
    /// The serialization limit: serde_json writing a bundle's objects as envelopes.
    Serialize {
        #[arg(long)]
        bundle: PathBuf,
        /// Page sizes, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "1000,100")]
        limits: Vec<usize>,
    },
    /// Full paged walks of a partner's outbound collection with liaison-client.
    Walk {
        #[arg(long)]
        url: String,
        #[arg(long)]
        fingerprint: Option<String>,
        #[arg(long, default_value = "GBR")]
        user: String,
        /// The environment variable holding the secret.
        #[arg(long, default_value = "LIAISON_S")]
        secret_env: String,
        #[arg(long, default_value_t = 1000)]
        limit: usize,
        #[arg(long, default_value_t = 6)]
        walks: usize,
    },
    /// The first page of each partner's outbound collection, `rounds` times over (each
    /// partner with its own connection): the latency a partner sees (issue 14).
    FirstPages {
        #[arg(long)]
        url: String,
        #[arg(long)]
        fingerprint: Option<String>,
        /// The partners, comma-separated; every one's secret is in `secret_env`.
        #[arg(long, value_delimiter = ',')]
        partners: Vec<String>,
        #[arg(long, default_value = "LIAISON_S")]
        secret_env: String,
        #[arg(long, default_value_t = 1000)]
        limit: usize,
        #[arg(long, default_value_t = 3)]
        rounds: usize,
    },
    /// The transparency log (issue 4).
    #[command(subcommand)]
    Log(LogBench),
    /// Everything; `--quick` for small sizes (smoke run).
    All {
        #[arg(long)]
        quick: bool,
    },
}

#[derive(Subcommand)]
enum LogBench {
    /// Durable appends per second (`Node::log_append`, file-backed) at each batch size.
    Append {
        /// Leaves per append, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "1,10,100,1000,10000")]
        batches: Vec<usize>,
        /// Leaves per run (a run also stops after 10 s).
        #[arg(long, default_value_t = 200_000)]
        leaves: usize,
        /// Where the node goes (a temp dir inside it); default: system temp dir.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Inclusion proofs per second from the stored hashes, for random leaves.
    Proofs {
        /// Leaves in the log.
        #[arg(long, default_value_t = 1_000_000)]
        size: usize,
        /// Proofs per run.
        #[arg(long, default_value_t = 100_000)]
        proofs: usize,
    },
    /// Time from a leaf's arrival to a signed checkpoint that includes it, leaves arriving
    /// continuously.
    Latency {
        /// Leaves per second arriving.
        #[arg(long, default_value_t = 10_000)]
        rate: u64,
        /// For how long.
        #[arg(long, default_value_t = 20.0)]
        secs: f64,
    },
}

// ---------------------------------------------------------------------------------------
// Shared data

struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    fn next(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    fn uuid(&mut self) -> String {
        let a = self.next();
        let b = self.next();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            (a >> 32) as u32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | ((b >> 48) & 0x3fff),
            b & 0xffff_ffff_ffff
        )
    }
}

/// ~50 labels of the kind a CT liaison desk sees: four levels, REL TO lists and groups,
/// ORCON from several originators, NOFORN, compartments, TLP.
fn label_pool() -> Result<Vec<(String, Label)>> {
    let levels = ["UNCLASSIFIED", "CONFIDENTIAL", "SECRET", "TOP SECRET"];
    let tails: [(&str, &str); 13] = [
        ("REL TO FVEY", "USA"),
        ("REL TO USA, GBR", "USA"),
        ("REL TO NATO", "USA"),
        ("REL TO USA, GBR, DEU, FRA", "USA"),
        ("ORCON//REL TO FVEY", "GBR"),
        ("ORCON//REL TO USA, GBR", "GBR"),
        ("ORCON//REL TO USA, AUS", "AUS"),
        ("SI//REL TO FVEY", "USA"),
        ("SI/TK//REL TO USA, GBR", "USA"),
        ("HCS//NOFORN", "USA"),
        ("NOFORN", "USA"),
        ("REL TO FVEY//TLP:AMBER", "CAN"),
        ("REL TO USA, DEU//TLP:GREEN", "DEU"),
    ];
    let mut out = Vec::new();
    for lv in levels {
        for (tail, org) in tails {
            let text = format!("{lv}//{tail}");
            let banner: Banner = text.parse().map_err(|e| anyhow!("banner `{text}`: {e}"))?;
            let label = Label {
                banner,
                originator: Party::parse(org).map_err(|e| anyhow!("{e}"))?,
                grading: None,
                duty_to_warn: false,
            };
            out.push((label.marking_id().to_string(), label));
        }
    }
    Ok(out)
}

/// Label choice skewed to the common ones (lower pool indices and lower levels).
fn pick_label(rng: &mut Rng, n: usize) -> usize {
    let a = rng.below(n);
    let b = rng.below(n);
    a.min(b)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        return f64::NAN;
    }
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        return f64::NAN;
    }
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i.min(v.len() - 1)]
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

// ---------------------------------------------------------------------------------------
// Ingest

fn ts(i: usize) -> String {
    // A plausible STIX timestamp that increases with i.
    let s = i as u64;
    let day = 1 + (s / 86_400) % 28;
    let rem = s % 86_400;
    format!(
        "2025-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        1 + (s / (86_400 * 28)) % 12,
        day,
        rem / 3600,
        (rem / 60) % 60,
        rem % 60,
        s % 1000
    )
}

struct ObjGen {
    rng: Rng,
    ids: Vec<String>,
    markings: Vec<String>,
    identity: String,
}

impl ObjGen {
    fn new(markings: Vec<String>) -> ObjGen {
        let mut rng = Rng::new(0x5eed_1a15);
        let identity = format!("identity--{}", rng.uuid());
        ObjGen {
            rng,
            ids: Vec::new(),
            markings,
            identity,
        }
    }

    fn older(&mut self) -> Option<&str> {
        let n = self.ids.len();
        if n == 0 {
            return None;
        }
        // mostly recent material, sometimes old
        let back = if self.rng.below(5) == 0 {
            self.rng.below(n)
        } else {
            self.rng.below(n.min(10_000))
        };
        Some(&self.ids[n - 1 - back])
    }

    /// One realistic object (600-1000 bytes) as JSON text.
    fn object(&mut self, i: usize) -> String {
        let t = ts(i);
        // `,"object_marking_refs":[..]` or nothing (unmarked objects, for `bundle`)
        let m = if self.markings.is_empty() {
            String::new()
        } else {
            let id = &self.markings[pick_label(&mut self.rng, self.markings.len())];
            format!(r#","object_marking_refs":["{id}"]"#)
        };
        let kind = self.rng.below(20);
        let mut s = String::with_capacity(1024);
        if kind < 5 && self.ids.len() > 2 {
            // relationship derived-from (newer derived from older)
            let id = format!("relationship--{}", self.rng.uuid());
            let src = self.older().unwrap_or_default().to_owned();
            let tgt = self.older().unwrap_or_default().to_owned();
            let _ = write!(
                s,
                r#"{{"type":"relationship","spec_version":"2.1","id":"{id}","created":"{t}","modified":"{t}","created_by_ref":"{}","relationship_type":"derived-from","source_ref":"{src}","target_ref":"{tgt}","description":"Analytic product derived from liaison reporting; see the source object for the original wording and handling caveats.","confidence":70{m}}}"#,
                self.identity
            );
            self.ids.push(id);
        } else if kind < 8 && self.ids.len() > 10 {
            let id = format!("report--{}", self.rng.uuid());
            let k = 3 + self.rng.below(6);
            let refs: Vec<String> = (0..k)
                .map(|_| format!("\"{}\"", self.older().unwrap_or_default()))
                .collect();
            let _ = write!(
                s,
                r#"{{"type":"report","spec_version":"2.1","id":"{id}","created":"{t}","modified":"{t}","created_by_ref":"{}","name":"CT summary {i}","description":"Summary of facilitation network activity and travel patterns reported by partners this period.","report_types":["threat-report"],"published":"{t}","object_refs":[{}],"labels":["terrorism","facilitation"]{m}}}"#,
                self.identity,
                refs.join(",")
            );
            self.ids.push(id);
        } else {
            let id = format!("indicator--{}", self.rng.uuid());
            let a = self.rng.next();
            let _ = write!(
                s,
                r#"{{"type":"indicator","spec_version":"2.1","id":"{id}","created":"{t}","modified":"{t}","created_by_ref":"{}","name":"Facilitator infrastructure {i}","description":"Address used by a facilitation network to coordinate travel; observed in liaison reporting.","indicator_types":["malicious-activity","attribution"],"pattern":"[ipv4-addr:value = '{}.{}.{}.{}'] OR [domain-name:value = 'h{:x}.example.net']","pattern_type":"stix","valid_from":"{t}","labels":["terrorism"],"kill_chain_phases":[{{"kill_chain_name":"lockheed-martin-cyber-kill-chain","phase_name":"command-and-control"}}],"external_references":[{{"source_name":"liaison","external_id":"LX-{i:08}"}}]{m}}}"#,
                self.identity,
                a & 0xff,
                (a >> 8) & 0xff,
                (a >> 16) & 0xff,
                (a >> 24) & 0xff,
                a >> 32
            );
            self.ids.push(id);
        }
        s
    }
}

fn run_ingest(
    objects: usize,
    batch: usize,
    slice: usize,
    dir: Option<PathBuf>,
    dump: Option<PathBuf>,
    database: Option<&str>,
) -> Result<Value> {
    let pool = label_pool()?;
    let mut gen = ObjGen::new(pool.iter().map(|(id, _)| id.clone()).collect());
    let tmp = match &dir {
        Some(d) => tempfile::tempdir_in(d)?,
        None => tempfile::tempdir()?,
    };
    let path = tmp.path().join("bench.db");
    let mut store: AnyStore = match database {
        Some(url) => PgStore::connect(url)
            .context("connect to PostgreSQL")?
            .into(),
        None => SqliteStore::open(&path).context("open store")?.into(),
    };
    // As `liaison ingest` does.
    store.prepare_bulk_load().context("bulk load")?;
    let backend = store.backend();
    let mut dump_out = match &dump {
        Some(p) => Some(std::io::BufWriter::new(std::fs::File::create(p)?)),
        None => None,
    };

    // marking definitions first, as a node would hold them
    let mdefs: Vec<String> = pool
        .iter()
        .map(|(_, l)| {
            Value::Object(l.to_marking_definition("2025-01-01T00:00:00.000Z")).to_string()
        })
        .collect();
    let doc =
        liaison_stix::parse_document(&liaison_stix::bundle_json(mdefs.iter().map(String::as_str)))?;
    let batch_objs: Vec<NewObject<'_>> = doc
        .objects
        .iter()
        .map(|o| NewObject {
            object: o,
            assigned_label: None,
            upgrades: &[],
        })
        .collect();
    store.ingest(&batch_objs, "local", &mut |_| {})?;

    let mut slices = Vec::new();
    let (mut s_parse, mut s_store, mut s_n, mut s_bytes) =
        (Duration::ZERO, Duration::ZERO, 0usize, 0usize);
    let (mut t_parse, mut t_store, mut t_bytes) = (Duration::ZERO, Duration::ZERO, 0usize);
    let mut done = 0usize;
    let mut i = 0usize;
    while done < objects {
        let n = batch.min(objects - done).min(slice - s_n);
        let texts: Vec<String> = (0..n)
            .map(|_| {
                i += 1;
                gen.object(i)
            })
            .collect();
        let bundle = liaison_stix::bundle_json(texts.iter().map(String::as_str));
        if let Some(w) = dump_out.as_mut() {
            use std::io::Write;
            writeln!(w, "{{\"objects\":[{}]}}", texts.join(","))?;
        }
        drop(texts);
        let t0 = Instant::now();
        let doc = liaison_stix::parse_document(&bundle).map_err(|e| anyhow!("parse: {e}"))?;
        let t1 = Instant::now();
        let items: Vec<NewObject<'_>> = doc
            .objects
            .iter()
            .map(|o| NewObject {
                object: o,
                assigned_label: None,
                upgrades: &[],
            })
            .collect();
        let rep = store.ingest(&items, "local", &mut |_| {})?;
        let t2 = Instant::now();
        if rep.added as usize != n {
            return Err(anyhow!("added {} of {n}", rep.added));
        }
        s_parse += t1 - t0;
        s_store += t2 - t1;
        s_bytes += bundle.len();
        s_n += n;
        done += n;
        if s_n == slice || done == objects {
            let total = s_parse + s_store;
            let row = json!({
                "upto": done,
                "objects": s_n,
                "mean_object_bytes": s_bytes / s_n.max(1),
                "parse_s": secs(s_parse),
                "store_s": secs(s_store),
                "objects_per_s": s_n as f64 / secs(total),
                "parse_objects_per_s": s_n as f64 / secs(s_parse),
                "store_objects_per_s": s_n as f64 / secs(s_store),
            });
            eprintln!(
                "  ingest {done:>9}: {:>8.0} obj/s end to end (parse {:>8.0}/s, store {:>8.0}/s)",
                row["objects_per_s"].as_f64().unwrap_or(0.0),
                row["parse_objects_per_s"].as_f64().unwrap_or(0.0),
                row["store_objects_per_s"].as_f64().unwrap_or(0.0)
            );
            slices.push(row);
            t_parse += s_parse;
            t_store += s_store;
            t_bytes += s_bytes;
            (s_parse, s_store, s_n, s_bytes) = (Duration::ZERO, Duration::ZERO, 0, 0);
        }
    }
    let (heads, versions) = store.counts()?;
    drop(store);
    // The SQLite file's size (a PostgreSQL database's is not measured here).
    let db_bytes: u64 = ["bench.db", "bench.db-wal"]
        .iter()
        .filter_map(|f| std::fs::metadata(tmp.path().join(f)).ok())
        .map(|m| m.len())
        .sum();
    let mut rates: Vec<f64> = slices
        .iter()
        .filter_map(|s| s["objects_per_s"].as_f64())
        .collect();
    let first = rates.first().copied().unwrap_or(f64::NAN);
    let last = rates.last().copied().unwrap_or(f64::NAN);
    let med = median(&mut rates);
    Ok(json!({
        "bench": "ingest",
        "backend": backend,
        "objects": objects,
        "batch": batch,
        "mean_object_bytes": t_bytes / objects.max(1),
        "held_after": heads,
        "versions_after": versions,
        "db_bytes": db_bytes,
        "total_s": secs(t_parse + t_store),
        "overall_objects_per_s": objects as f64 / secs(t_parse + t_store),
        "parse_share": secs(t_parse) / secs(t_parse + t_store),
        "median_slice_objects_per_s": med,
        "first_slice_objects_per_s": first,
        "last_slice_objects_per_s": last,
        "last_over_first": last / first,
        "slices": slices,
    }))
}

// ---------------------------------------------------------------------------------------
// Labels

struct Graph {
    markings: Markings,
    pool_ids: Vec<String>,
    object_ids: Vec<String>,
}

fn markings_of(pool: &[(String, Label)]) -> Markings {
    let mut m = Markings::new();
    for (id, l) in pool {
        m.insert(id, Ok(l.clone()));
    }
    m
}

/// `objects` objects with pool labels, and `edges` derived-from relationship items between
/// them (newer derived from older, so a DAG), interleaved in arrival order.
fn gen_items(objects: usize, edges: usize, seed: u64) -> Result<(Graph, Vec<Item>)> {
    let pool = label_pool()?;
    let pool_ids: Vec<String> = pool.iter().map(|(id, _)| id.clone()).collect();
    let mut rng = Rng::new(seed);
    let object_ids: Vec<String> = (0..objects)
        .map(|i| {
            let ty = if i % 5 == 0 { "report" } else { "indicator" };
            format!("{ty}--{}", rng.uuid())
        })
        .collect();
    let mut items = Vec::with_capacity(objects + edges);
    // edges attached to a child, in child order, so relationships arrive after their ends
    let mut per_child: Vec<u32> = vec![0; objects];
    for _ in 0..edges {
        if objects < 2 {
            break;
        }
        let c = 1 + rng.below(objects - 1);
        per_child[c] += 1;
    }
    for (i, oid) in object_ids.iter().enumerate() {
        let l = pick_label(&mut rng, pool_ids.len());
        let mut markings = vec![pool_ids[l].clone()];
        if rng.below(10) == 0 {
            markings.push("marking-definition--f88d31f6-486f-44da-b317-01333bde0b82".to_owned());
            // TLP:AMBER
        }
        items.push(Item {
            id: oid.clone(),
            markings,
            tags: vec!["terrorism".to_owned()],
            ..Item::default()
        });
        for _ in 0..per_child[i] {
            // parent: mostly recent, sometimes anywhere older
            let back = if rng.below(5) == 0 {
                rng.below(i)
            } else {
                rng.below(i.min(10_000))
            };
            let p = i - 1 - back;
            let rl = pick_label(&mut rng, pool_ids.len());
            items.push(Item {
                id: format!("relationship--{}", rng.uuid()),
                markings: vec![pool_ids[rl].clone()],
                derivation: Some((oid.clone(), object_ids[p].clone())),
                ends: vec![oid.clone(), object_ids[p].clone()],
                ..Item::default()
            });
        }
    }
    Ok((
        Graph {
            markings: markings_of(&pool),
            pool_ids,
            object_ids,
        },
        items,
    ))
}

fn us() -> Result<Party> {
    Party::parse("USA").map_err(|e| anyhow!("{e}"))
}

fn build_world(objects: usize, edges: usize, runs: usize) -> Result<(World, Graph, Value)> {
    let mut times = Vec::new();
    let mut recompute = Vec::new();
    let mut last = None;
    let mut n_items = 0;
    for r in 0..runs.max(1) {
        let (g, items) = gen_items(objects, edges, 42)?;
        n_items = items.len();
        eprintln!(
            "  labels: World::build over {n_items} items (run {}/{runs})",
            r + 1
        );
        // The input stays the caller's: building and freeing the Items is not timed.
        let t0 = Instant::now();
        let w = World::build(us()?, g.markings.clone(), &items);
        let dt = secs(t0.elapsed());
        drop(items);
        times.push(dt);
        eprintln!("    build {dt:.3} s");
        last = Some((w, g));
    }
    let (mut w, g) = last.ok_or_else(|| anyhow!("no run"))?;
    for _ in 0..runs.max(1) {
        let t0 = Instant::now();
        w.recompute_all();
        recompute.push(secs(t0.elapsed()));
    }
    let mut distinct = std::collections::HashSet::new();
    let mut faults = 0usize;
    for ix in w.held() {
        match w.effective_id(ix) {
            Ok(l) => {
                distinct.insert(l);
            }
            Err(_) => faults += 1,
        }
    }
    let info = json!({
        "items": n_items,
        "build_s_runs": times.clone(),
        "build_s_median": median(&mut times),
        "recompute_all_s_median": median(&mut recompute),
        "distinct_effective_labels": distinct.len(),
        "faults": faults,
    });
    Ok((w, g, info))
}

fn run_labels(objects: usize, edges: usize, upserts: usize, runs: usize) -> Result<Value> {
    let (mut w, g, info) = build_world(objects, edges, runs)?;
    let mut rng = Rng::new(7);
    let n = g.object_ids.len();
    let near = |rng: &mut Rng| n - 1 - rng.below(n.min(10_000));
    // (a) a new object derived from 3 existing ones: the object item, then its 3 relationships
    let mut obj_t = Vec::with_capacity(upserts);
    let mut with_rels_t = Vec::with_capacity(upserts);
    for _ in 0..upserts {
        let id = format!("indicator--{}", rng.uuid());
        let label = g.pool_ids[pick_label(&mut rng, g.pool_ids.len())].clone();
        let item = Item {
            id: id.clone(),
            markings: vec![label.clone()],
            tags: vec!["terrorism".into()],
            ..Item::default()
        };
        let rels: Vec<Item> = (0..3)
            .map(|_| {
                let p = g.object_ids[near(&mut rng)].clone();
                Item {
                    id: format!("relationship--{}", rng.uuid()),
                    markings: vec![label.clone()],
                    derivation: Some((id.clone(), p.clone())),
                    ends: vec![id.clone(), p],
                    ..Item::default()
                }
            })
            .collect();
        let t0 = Instant::now();
        w.upsert(&item);
        let t1 = Instant::now();
        for r in &rels {
            w.upsert(r);
        }
        let t2 = Instant::now();
        obj_t.push(secs(t1 - t0) * 1e3);
        with_rels_t.push(secs(t2 - t0) * 1e3);
    }
    // (b) a new derived-from relationship between existing objects (newer from older)
    let mut rel_t = Vec::with_capacity(upserts);
    let mut touched = 0usize;
    for _ in 0..upserts {
        let c = 1 + rng.below(n - 1);
        let back = if rng.below(5) == 0 {
            rng.below(c)
        } else {
            rng.below(c.min(10_000))
        };
        let p = c - 1 - back;
        let item = Item {
            id: format!("relationship--{}", rng.uuid()),
            markings: vec![g.pool_ids[0].clone()],
            derivation: Some((g.object_ids[c].clone(), g.object_ids[p].clone())),
            ends: vec![g.object_ids[c].clone(), g.object_ids[p].clone()],
            ..Item::default()
        };
        let before = w.effective_id(w.lookup(&g.object_ids[c]).unwrap_or(0)).ok();
        let t0 = Instant::now();
        w.upsert(&item);
        rel_t.push(secs(t0.elapsed()) * 1e3);
        if w.effective_id(w.lookup(&g.object_ids[c]).unwrap_or(0)).ok() != before {
            touched += 1;
        }
    }
    let stat = |v: &mut Vec<f64>| json!({"median_ms": median(v), "p99_ms": percentile(v, 0.99), "max_ms": percentile(v, 1.0)});
    Ok(json!({
        "bench": "labels",
        "objects": objects,
        "edges": edges,
        "build": info,
        "upsert_new_object": stat(&mut obj_t),
        "upsert_new_object_with_3_derivations": stat(&mut with_rels_t),
        "upsert_new_edge_existing": stat(&mut rel_t),
        "new_edge_changed_child_label": touched,
        "upserts": upserts,
    }))
}

// ---------------------------------------------------------------------------------------
// Decisions

const AGREEMENT: &str = r#"
party = "GBR"
ceiling = "SECRET"
compartments = ["SI"]
[scope]
max_tlp = "amber"
"#;

/// Times deciding every object of `order` against merely touching each one's effective label,
/// median over `runs`; returns (baseline s, decide s, (release, tearline, withhold)).
fn time_decisions(
    w: &World,
    agreement: &Agreement,
    order: &[u32],
    runs: usize,
    what: &str,
) -> (f64, f64, (usize, usize, usize)) {
    let mut base_t = Vec::new();
    let mut dec_t = Vec::new();
    let mut counts = (0usize, 0usize, 0usize);
    let mut sink = 0u64;
    for r in 0..runs.max(1) {
        // baseline: iterate the same objects, touching each one's effective label
        let t0 = Instant::now();
        let mut s = 0u64;
        for &ix in order {
            s = s.wrapping_add(w.effective_id(ix).map(u64::from).unwrap_or(u64::MAX));
        }
        base_t.push(secs(t0.elapsed()));
        sink ^= std::hint::black_box(s);
        // decisions, with a fresh judge (cold per-object caches)
        let t0 = Instant::now();
        let mut judge = Judge::new(w, agreement);
        let mut c = (0usize, 0usize, 0usize);
        for &ix in order {
            let d = judge.decide(ix);
            match d.verdict {
                Verdict::Release => c.0 += 1,
                Verdict::Tearline => c.1 += 1,
                Verdict::Withhold => c.2 += 1,
            }
            std::hint::black_box(&d);
        }
        let dt = secs(t0.elapsed());
        dec_t.push(dt);
        counts = c;
        eprintln!(
            "  decisions ({what}) run {}/{runs}: {:.0}/s",
            r + 1,
            order.len() as f64 / dt
        );
    }
    std::hint::black_box(sink);
    (median(&mut base_t), median(&mut dec_t), counts)
}

fn run_decisions(objects: usize, edges: usize, runs: usize, budget: f64) -> Result<Value> {
    let (w, _g, info) = build_world(objects, edges, 1)?;
    let gbr = Party::parse("GBR").map_err(|e| anyhow!("{e}"))?;
    let agreement = Agreement::from_toml(&gbr, AGREEMENT).map_err(|e| anyhow!("{e}"))?;
    // Store order: how the pipeline and the TAXII server walk the holdings.
    let held: Vec<u32> = w.held().collect();
    let (b, d, counts) = time_decisions(&w, &agreement, &held, runs, "store order");
    // Random order: every lookup a cache miss, the worst case. Under a time budget, a
    // random sample is still fair.
    let mut shuffled = held.clone();
    let mut rng = Rng::new(99);
    for i in (1..shuffled.len()).rev() {
        let j = rng.below(i + 1);
        shuffled.swap(i, j);
    }
    let per = d / held.len().max(1) as f64;
    if per * shuffled.len() as f64 > budget * 2.0 {
        let keep = ((budget / per.max(1e-9)) as usize).clamp(1, shuffled.len());
        eprintln!(
            "  decisions (random order): time budget {budget} s, timing a random sample of {keep}"
        );
        shuffled.truncate(keep);
    }
    let (rb, rd, _) = time_decisions(&w, &agreement, &shuffled, runs, "random order");
    let n = held.len() as f64;
    let rn = shuffled.len() as f64;
    Ok(json!({
        "bench": "decisions",
        "objects": objects,
        "edges": edges,
        "held": held.len(),
        "decided_per_run": held.len(),
        "world_build_s": info["build_s_median"],
        "distinct_effective_labels": info["distinct_effective_labels"],
        "baseline_s": b,
        "baseline_per_s": n / b,
        "decide_s": d,
        "decisions_per_s": n / d,
        "ns_per_decision": d / n * 1e9,
        "ns_per_baseline": b / n * 1e9,
        "decide_over_baseline": d / b,
        "random_order": {
            "decided": shuffled.len(),
            "decisions_per_s": rn / rd,
            "ns_per_decision": rd / rn * 1e9,
            "ns_per_baseline": rb / rn * 1e9,
            "decide_over_baseline": rd / rb,
        },
        "release": counts.0,
        "tearline": counts.1,
        "withhold": counts.2,
    }))
}

// ---------------------------------------------------------------------------------------
// Output

fn f(v: &Value) -> String {
    match v.as_f64() {
        Some(x) if x.abs() >= 1000.0 => format!("{x:.0}"),
        Some(x) if x.abs() >= 1.0 => format!("{x:.3}"),
        Some(x) => format!("{x:.4}"),
        None => v.to_string(),
    }
}

fn print_table(results: &[Value]) {
    for r in results {
        match r["bench"].as_str() {
            Some("ingest") => {
                println!(
                    "== ingest: {} objects, bundles of {}, ~{} B/object ==",
                    r["objects"], r["batch"], r["mean_object_bytes"]
                );
                println!(
                    "{:>10} {:>12} {:>12} {:>12}",
                    "up to", "obj/s e2e", "parse obj/s", "store obj/s"
                );
                for s in r["slices"].as_array().into_iter().flatten() {
                    println!(
                        "{:>10} {:>12} {:>12} {:>12}",
                        s["upto"],
                        f(&s["objects_per_s"]),
                        f(&s["parse_objects_per_s"]),
                        f(&s["store_objects_per_s"])
                    );
                }
                println!(
                    "overall {} obj/s; median slice {} obj/s; last/first slice {}; parse share {}; db {} MB",
                    f(&r["overall_objects_per_s"]),
                    f(&r["median_slice_objects_per_s"]),
                    f(&r["last_over_first"]),
                    f(&r["parse_share"]),
                    r["db_bytes"].as_u64().unwrap_or(0) / 1_000_000
                );
            }
            Some("labels") => {
                let b = &r["build"];
                println!(
                    "== labels: {} objects, {} derived-from edges ({} items) ==",
                    r["objects"], r["edges"], b["items"]
                );
                println!(
                    "World::build median {} s (runs {}), recompute_all median {} s",
                    f(&b["build_s_median"]),
                    b["build_s_runs"],
                    f(&b["recompute_all_s_median"])
                );
                println!(
                    "distinct effective labels {}, faults {}",
                    b["distinct_effective_labels"], b["faults"]
                );
                for k in [
                    "upsert_new_object",
                    "upsert_new_object_with_3_derivations",
                    "upsert_new_edge_existing",
                ] {
                    println!(
                        "{k:<40} median {} ms  p99 {} ms  max {} ms",
                        f(&r[k]["median_ms"]),
                        f(&r[k]["p99_ms"]),
                        f(&r[k]["max_ms"])
                    );
                }
            }
            Some("decisions") => {
                println!(
                    "== decisions: {} of {} held objects (world of {} objects, {} edges) ==",
                    r["decided_per_run"], r["held"], r["objects"], r["edges"]
                );
                println!(
                    "store order:  decide {} /s ({} ns each); baseline {} /s ({} ns each); decide/baseline {}x",
                    f(&r["decisions_per_s"]),
                    f(&r["ns_per_decision"]),
                    f(&r["baseline_per_s"]),
                    f(&r["ns_per_baseline"]),
                    f(&r["decide_over_baseline"])
                );
                let ro = &r["random_order"];
                println!(
                    "random order: decide {} /s ({} ns each) over {} objects; baseline {} ns each; decide/baseline {}x",
                    f(&ro["decisions_per_s"]),
                    f(&ro["ns_per_decision"]),
                    ro["decided"],
                    f(&ro["ns_per_baseline"]),
                    f(&ro["decide_over_baseline"])
                );
                println!(
                    "release {} tearline {} withhold {}",
                    r["release"], r["tearline"], r["withhold"]
                );
            }
            _ => println!("{r}"),
        }
    }
}

// The allocator `liaison` itself uses (crates/cli/src/main.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<()> {
    let cli = Cli::parse();
    let runs = cli.runs;
    let mut results = Vec::new();
    match cli.cmd {
        Cmd::Auth {
            rate,
            secs,
            every_ms,
        } => results.push(auth::run_auth(rate, secs, every_ms)?),
        Cmd::Ingest {
            objects,
            batch,
            slice,
            dir,
            dump,
            database,
        } => results.push(run_ingest(
            objects,
            batch,
            slice,
            dir,
            dump,
            database.as_deref(),
        )?),
        Cmd::Labels {
            objects,
            edges,
            upserts,
        } => results.push(run_labels(objects, edges, upserts, runs)?),
        Cmd::Decisions {
            objects,
            edges,
            budget_secs,
        } => results.push(run_decisions(objects, edges, runs, budget_secs)?),
        Cmd::Bundle { objects, from, out } => {
            results.push(taxii::write_bundle(objects, from, &out)?)
        }
        Cmd::Serialize { bundle, limits } => {
            results.push(taxii::run_serialize(&bundle, &limits, runs)?)
        }
        Cmd::Walk {
            url,
            fingerprint,
            user,
            secret_env,
            limit,
            walks,
        } => {
            let secret = std::env::var(&secret_env).with_context(|| format!("${secret_env}"))?;
            results.push(taxii::run_walk(
                &url,
                fingerprint.as_deref(),
                &user,
                &secret,
                limit,
                walks,
            )?)
        }
        Cmd::FirstPages {
            url,
            fingerprint,
            partners,
            secret_env,
            limit,
            rounds,
        } => {
            let secret = std::env::var(&secret_env).with_context(|| format!("${secret_env}"))?;
            results.push(taxii::run_first_pages(
                &url,
                fingerprint.as_deref(),
                &partners,
                &secret,
                limit,
                rounds,
            )?)
        }
        Cmd::Log(LogBench::Append {
            batches,
            leaves,
            dir,
        }) => results.push(log::run_append(&batches, leaves, runs, dir.as_deref())?),
        Cmd::Log(LogBench::Proofs { size, proofs }) => {
            results.push(log::run_proofs(size, proofs, runs)?)
        }
        Cmd::Log(LogBench::Latency { rate, secs }) => results.push(log::run_latency(rate, secs)?),
        Cmd::All { quick } => {
            let (o, e, s) = if quick {
                (20_000, 60_000, 5_000)
            } else {
                (1_000_000, 3_000_000, 100_000)
            };
            results.push(run_ingest(o, 10_000.min(s), s, None, None, None)?);
            results.push(run_labels(o, e, if quick { 100 } else { 1000 }, runs)?);
            results.push(run_decisions(o, e, runs, if quick { 5.0 } else { 30.0 })?);
        }
    }
    match cli.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&Value::Array(results))?),
        Format::Table => print_table(&results),
    }
    Ok(())
}
