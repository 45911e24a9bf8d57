//! Console page times (issue 13): p50 and p99 of the inbox and of a partner's release queue
//! under concurrent operators, on a node of `--objects` objects, half our own (labelled
//! SECRET//REL TO USA, RUS) and half received from RUS. The router is driven in process
//! (`tower::ServiceExt::oneshot`: real requests and answers, no socket), so the times are the
//! server's. The first request of each page is timed apart: it computes what later ones
//! keep (the inbox's rows and flags, the partner's queue). Then the store changes, and the
//! first page after each change is timed: `--fresh F` new indicators from RUS and F of ours
//! (ids no one held), then a new version of one indicator RUS had sent. With `--view 1`,
//! "view as RUS" is timed too (its first request computes RUS's stored view whole).
//!
//!   cargo run --release -p liaison-bench --bin console -- [--objects N] [--operators K]
//!       [--requests R] [--fresh F] [--view 0|1]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use liaison_console::{app, ConsoleConfig, ConsoleState};
use liaison_labels::{Label, Party};
use liaison_release::{IngestOptions, Node, Role};
use liaison_stix::parse_document;
use serde_json::json;
use tower::ServiceExt as _;

const AGREEMENT: &str = r#"party = "RUS"
ceiling = "SECRET"
[scope]
types = ["indicator", "report"]
max_tlp = "amber"
"#;

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn indicator(i: usize, from: &str) -> serde_json::Value {
    let t = format!(
        "2026-{:02}-{:02}T{:02}:{:02}:{:02}.000Z",
        1 + (i / 2_678_400) % 12,
        1 + (i / 86_400) % 28,
        (i / 3600) % 24,
        (i / 60) % 60,
        i % 60
    );
    json!({"type": "indicator", "spec_version": "2.1",
           "id": format!("indicator--{:08x}-{:04x}-4000-8000-{:012x}", i, from.len(), i),
           "created": t, "modified": t, "name": format!("{from} selector {i}"),
           "pattern": format!("[ipv4-addr:value = '10.{}.{}.{}']", (i >> 16) & 255, (i >> 8) & 255, i & 255),
           "pattern_type": "stix", "valid_from": t, "labels": ["terrorism"]})
}

fn ingest(
    node: &mut Node<liaison_store::SqliteStore>,
    from: Option<&str>,
    n: usize,
    label: Option<Label>,
) {
    ingest_range(node, from, 0, n, label);
}

fn ingest_range(
    node: &mut Node<liaison_store::SqliteStore>,
    from: Option<&str>,
    start: usize,
    stop: usize,
    label: Option<Label>,
) {
    let batch = 10_000;
    let mut i = start;
    while i < stop {
        let end = (i + batch).min(stop);
        let objects: Vec<_> = (i..end)
            .map(|k| indicator(k, from.unwrap_or("us")))
            .collect();
        ingest_objects(node, from, objects, label.clone());
        i = end;
    }
}

fn ingest_objects(
    node: &mut Node<liaison_store::SqliteStore>,
    from: Option<&str>,
    objects: Vec<serde_json::Value>,
    label: Option<Label>,
) {
    let text = json!({"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000001",
                          "objects": objects})
    .to_string();
    let doc = parse_document(&text).unwrap();
    node.ingest(
        &doc,
        &IngestOptions {
            default_label: label,
            source: from.map(|p| Party::parse(p).unwrap()),
        },
        &mut |_| {},
    )
    .unwrap();
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let k = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[k.min(sorted.len() - 1)]
}

async fn get(app: &axum::Router, path: &str, cookie: &str) -> (StatusCode, usize) {
    let req = Request::get(path)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, bytes.len())
}

async fn login(app: &axum::Router) -> String {
    let req = Request::get("/login").body(Body::empty()).unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let cookie = res.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let body = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    let body = String::from_utf8(body.to_vec()).unwrap();
    let at = body.find("name=\"csrf\" value=\"").unwrap() + 19;
    let csrf = body[at..].split('"').next().unwrap();
    let req = Request::post("/login")
        .header(header::COOKIE, &cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!(
            "name=bench&password=bench-password-1&csrf={csrf}"
        )))
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    res.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

fn main() {
    let objects = arg("--objects", 100_000);
    let operators = arg("--operators", 16);
    let requests = arg("--requests", 25);
    let fresh = arg("--fresh", 100);
    let with_view = arg("--view", 0) == 1;
    let dir = tempfile::tempdir().unwrap();
    let t = Instant::now();
    let mut node = Node::init(dir.path(), &Party::parse("USA").unwrap()).unwrap();
    node.add_partner(&Party::parse("RUS").unwrap(), AGREEMENT)
        .unwrap();
    let label = Label {
        banner: "SECRET//REL TO USA, RUS".parse().unwrap(),
        originator: Party::parse("USA").unwrap(),
        grading: None,
        duty_to_warn: false,
    };
    ingest(&mut node, None, objects / 2, Some(label.clone()));
    ingest(&mut node, Some("RUS"), objects - objects / 2, None);
    node.add_operator("bench", Role::Analyst, "bench-password-1", "bench")
        .unwrap();
    let setup = t.elapsed().as_secs_f64();
    let node = Arc::new(Mutex::new(node));
    let shared = Arc::clone(&node);
    let state = ConsoleState::new(node, ConsoleConfig::default()).unwrap();
    let router = app(state);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let mut cookies = Vec::new();
        for _ in 0..operators {
            cookies.push(login(&router).await);
        }
        let pages_of_interest: Vec<&str> = if with_view {
            vec!["/inbox", "/queue/RUS", "/view/RUS"]
        } else {
            vec!["/inbox", "/queue/RUS"]
        };
        let mut cold = Vec::new();
        for path in &pages_of_interest {
            let t = Instant::now();
            let (status, bytes) = get(&router, path, &cookies[0]).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            cold.push((*path, t.elapsed().as_secs_f64() * 1000.0, bytes));
        }
        let cookie0 = cookies[0].clone();
        let pages = objects / 2 / 50;
        let t = Instant::now();
        let mut tasks = Vec::new();
        for (k, cookie) in cookies.into_iter().enumerate() {
            let router = router.clone();
            tasks.push(tokio::spawn(async move {
                let mut inbox = Vec::new();
                let mut queue = Vec::new();
                let mut max_bytes = 0;
                for r in 0..requests {
                    let page = (k * 7919 + r * 104_729) % pages.max(1);
                    for (path, into) in [
                        (format!("/inbox?page={page}"), &mut inbox),
                        (format!("/queue/RUS?page={page}"), &mut queue),
                    ] {
                        let t = Instant::now();
                        let (status, bytes) = get(&router, &path, &cookie).await;
                        assert_eq!(status, StatusCode::OK, "{path}");
                        into.push(t.elapsed().as_secs_f64() * 1000.0);
                        max_bytes = max_bytes.max(bytes);
                    }
                }
                (inbox, queue, max_bytes)
            }));
        }
        let mut inbox = Vec::new();
        let mut queue = Vec::new();
        let mut max_bytes = 0;
        for task in tasks {
            let (i, q, b) = task.await.unwrap();
            inbox.extend(i);
            queue.extend(q);
            max_bytes = max_bytes.max(b);
        }
        let wall = t.elapsed().as_secs_f64();
        // The store changes; the first page of each after it. The first change also builds
        // the store's reference index (kept in the store, then followed: a node that has
        // served before has it), so the same kind of change is made twice.
        let mut after = Vec::new();
        let mut ingest_ms = Vec::new();
        for round in 0..3usize {
            let t = Instant::now();
            let change = {
                let mut node = shared.lock().unwrap();
                if round < 2 {
                    let from = objects + round * fresh;
                    ingest_range(&mut node, Some("RUS"), from, from + fresh, None);
                    ingest_range(&mut node, None, from, from + fresh, Some(label.clone()));
                    format!("{fresh} new from RUS + {fresh} new of ours")
                } else {
                    let mut v = indicator(7, "RUS");
                    v["modified"] = json!("2027-01-01T00:00:00.000Z");
                    ingest_objects(&mut node, Some("RUS"), vec![v], None);
                    "a new version of one RUS indicator".to_owned()
                }
            };
            ingest_ms.push(t.elapsed().as_secs_f64() * 1000.0);
            for path in &pages_of_interest {
                let t = Instant::now();
                let (status, _) = get(&router, path, &cookie0).await;
                assert_eq!(status, StatusCode::OK, "{path}");
                after.push(json!({"round": round + 1, "change": change, "page": path,
                    "ms": t.elapsed().as_secs_f64() * 1000.0}));
            }
        }
        inbox.sort_by(f64::total_cmp);
        queue.sort_by(f64::total_cmp);
        let out = json!({
            "bench": "console",
            "objects": objects,
            "operators": operators,
            "requests_per_page_per_operator": requests,
            "setup_s": setup,
            "change_ingest_ms": ingest_ms,
            "first_after_change": after,
            "cold_ms": cold.iter().map(|(p, ms, b)| json!({"page": p, "ms": ms, "bytes": b})).collect::<Vec<_>>(),
            "inbox_ms": {"p50": percentile(&inbox, 0.5), "p99": percentile(&inbox, 0.99), "n": inbox.len()},
            "queue_ms": {"p50": percentile(&queue, 0.5), "p99": percentile(&queue, 0.99), "n": queue.len()},
            "pages_per_s": (inbox.len() + queue.len()) as f64 / wall,
            "largest_page_bytes": max_bytes,
        });
        println!("{out}");
    });
}
