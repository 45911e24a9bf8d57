//! TAXII serving benchmarks (issue 3): a bundle of unmarked objects for `liaison ingest
//! --label`, the serialization limit (serde_json writing the same objects as envelopes), and a
//! client that walks a partner's collection with `liaison-client`, timing every walk.

use std::io::Write as _;
use std::path::Path;
use std::time::Instant;

use anyhow::{anyhow, Context, Result};
use serde_json::{json, Value};

use crate::{median, secs, ObjGen};

/// Writes a STIX bundle of `objects` unmarked objects (60 % indicators, 15 % reports, 25 %
/// derived-from relationships, the same generator as `ingest`), preceded by the identity
/// they are `created_by_ref`. Unmarked, so `liaison ingest --label` labels them all.
pub(crate) fn write_bundle(objects: usize, from: usize, out: &Path) -> Result<Value> {
    let mut gen = ObjGen::new(Vec::new());
    let mut w = std::io::BufWriter::new(
        std::fs::File::create(out).with_context(|| format!("create {}", out.display()))?,
    );
    write!(
        w,
        r#"{{"type":"bundle","id":"bundle--6a1f1c33-4d0c-4b7e-9a55-1c1a0b0e7c01","objects":[{{"type":"identity","spec_version":"2.1","id":"{}","created":"2025-01-01T00:00:00.000Z","modified":"2025-01-01T00:00:00.000Z","name":"USA liaison desk","identity_class":"organization"}}"#,
        gen.identity
    )?;
    let mut bytes = 0usize;
    for i in from.max(1)..objects {
        let o = gen.object(i);
        bytes += o.len();
        w.write_all(b",\n")?;
        w.write_all(o.as_bytes())?;
    }
    w.write_all(b"]}\n")?;
    w.flush()?;
    Ok(json!({
        "bench": "bundle",
        "objects": objects,
        "mean_object_bytes": bytes / objects.saturating_sub(1).max(1),
        "path": out.display().to_string(),
    }))
}

fn read_objects(bundle: &Path) -> Result<Vec<Value>> {
    let text = std::fs::read_to_string(bundle).with_context(|| bundle.display().to_string())?;
    let mut v: Value = serde_json::from_str(&text)?;
    match v.get_mut("objects").map(Value::take) {
        Some(Value::Array(a)) => Ok(a),
        _ => Err(anyhow!("{}: not a bundle", bundle.display())),
    }
}

/// The limit: the same objects, already in memory as `serde_json::Value`s, serialized into
/// TAXII envelopes (`more`, `next`, `objects`) of `limit` objects each, every page into a fresh
/// buffer as a server would. Median over `runs` full passes.
pub(crate) fn run_serialize(bundle: &Path, limits: &[usize], runs: usize) -> Result<Value> {
    let objects = read_objects(bundle)?;
    let n = objects.len();
    let mut rows = Vec::new();
    for &limit in limits {
        let mut rates = Vec::new();
        let mut total_bytes = 0usize;
        for _ in 0..runs.max(1) {
            let t0 = Instant::now();
            let mut bytes = 0usize;
            for (k, chunk) in objects.chunks(limit.max(1)).enumerate() {
                let more = (k + 1) * limit < n;
                let env = if more {
                    json!({"more": true, "next": format!("{:016x}", k + 1), "objects": chunk})
                } else {
                    json!({"more": false, "objects": chunk})
                };
                let buf = serde_json::to_vec(&env)?;
                bytes += buf.len();
                std::hint::black_box(buf);
            }
            rates.push(n as f64 / secs(t0.elapsed()));
            total_bytes = bytes;
        }
        let med = median(&mut rates);
        eprintln!("  serialize limit {limit}: {med:.0} objects/s (median of {runs})");
        // The same pages from each object's JSON text written once beforehand (what a server
        // that keeps objects as text does): envelope framing and copying only.
        let texts: Vec<String> = objects.iter().map(Value::to_string).collect();
        let mut raw_rates = Vec::new();
        for _ in 0..runs.max(1) {
            let t0 = Instant::now();
            for (k, chunk) in texts.chunks(limit.max(1)).enumerate() {
                let more = (k + 1) * limit < n;
                let mut buf =
                    Vec::with_capacity(chunk.iter().map(|t| t.len() + 1).sum::<usize>() + 64);
                if more {
                    buf.extend_from_slice(
                        format!(r#"{{"more":true,"next":"{:016x}","objects":["#, k + 1).as_bytes(),
                    );
                } else {
                    buf.extend_from_slice(br#"{"more":false,"objects":["#);
                }
                for (j, t) in chunk.iter().enumerate() {
                    if j > 0 {
                        buf.push(b',');
                    }
                    buf.extend_from_slice(t.as_bytes());
                }
                buf.extend_from_slice(b"]}");
                std::hint::black_box(buf);
            }
            raw_rates.push(n as f64 / secs(t0.elapsed()));
        }
        let raw_med = median(&mut raw_rates);
        eprintln!("  concatenate pre-serialized limit {limit}: {raw_med:.0} objects/s");
        rows.push(json!({
            "limit": limit,
            "objects": n,
            "bytes": total_bytes,
            "runs_objects_per_s": rates,
            "median_objects_per_s": med,
            "raw_runs_objects_per_s": raw_rates,
            "raw_median_objects_per_s": raw_med,
        }));
    }
    Ok(json!({"bench": "serialize", "objects": n, "rows": rows}))
}

/// Full paged walks of the partner's outbound collection with `liaison-client`, one new
/// connection per walk (discovery, collections, then pages following `next`). The first walk
/// after the server starts is cold (the view is computed on the first request).
/// The first page of each partner's outbound collection, `rounds` times over: the time from
/// asking to having the page (a connection and the API root per partner, set up before).
pub(crate) fn run_first_pages(
    url: &str,
    fingerprint: Option<&str>,
    partners: &[String],
    secret: &str,
    limit: usize,
    rounds: usize,
) -> Result<Value> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut times = Vec::new();
    let mut objects = 0usize;
    let mut timeouts = 0u32;
    rt.block_on(async {
        // Each partner's session opens just before its first page (a session has a total
        // deadline, and the first pages of ten partners' views computed whole one after the
        // other can take longer than it).
        let mut sessions = Vec::new();
        for _ in 0..rounds.max(1) {
            for (i, p) in partners.iter().enumerate() {
                if sessions.len() <= i {
                    let remote = liaison_client::Remote::new(url, fingerprint, p, secret)?;
                    let mut s = remote.connect().await?;
                    let root = s.api_root().await?;
                    let coll = s.outbound_collection(&root).await?;
                    sessions.push((s, root, coll));
                }
                let Some((s, root, coll)) = sessions.get_mut(i) else {
                    anyhow::bail!("no session for {p}");
                };
                let t = Instant::now();
                // A view computed whole on first use: the server answers 503 with
                // `Retry-After` until it is ready (the client asks again by itself); an older
                // server computed it under the request and could outlast its timeout (408).
                // The time counted is until the page arrives, retries included.
                let page = loop {
                    match s.page(root, coll, None, None, limit).await {
                        Err(e) if e.to_string().contains("answered 408") && timeouts < 1000 => {
                            timeouts += 1;
                        }
                        other => break other?,
                    }
                };
                times.push(secs(t.elapsed()) * 1e3);
                objects += page.objects.len();
            }
        }
        Ok::<(), anyhow::Error>(())
    })?;
    let n = times.len();
    let p50 = crate::percentile(&mut times.clone(), 0.5);
    let p99 = crate::percentile(&mut times.clone(), 0.99);
    let max = times.iter().copied().fold(0.0, f64::max);
    eprintln!("  first pages: {n} of {limit}: p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms, {timeouts} requests timed out (408) and retried");
    Ok(json!({
        "bench": "first_pages",
        "partners": partners.len(),
        "rounds": rounds,
        "limit": limit,
        "pages": n,
        "objects": objects,
        "page_ms": times,
        "page_ms_p50": p50,
        "page_ms_p99": p99,
        "page_ms_max": max,
        "timeouts_retried": timeouts,
    }))
}

pub(crate) fn run_walk(
    url: &str,
    fingerprint: Option<&str>,
    user: &str,
    secret: &str,
    limit: usize,
    walks: usize,
) -> Result<Value> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let remote = liaison_client::Remote::new(url, fingerprint, user, secret)?;
    let mut rows = Vec::new();
    for w in 0..walks.max(1) {
        let row = rt.block_on(async {
            let t0 = Instant::now();
            let mut s = remote.connect().await?;
            let root = s.api_root().await?;
            let coll = s.outbound_collection(&root).await?;
            let t_setup = t0.elapsed();
            let mut next: Option<String> = None;
            let (mut n, mut bytes, mut pages) = (0usize, 0usize, 0usize);
            let mut first_page = None;
            let mut page_times = Vec::new();
            loop {
                let tp = Instant::now();
                let p = s.page(&root, &coll, None, next.as_deref(), limit).await?;
                page_times.push(secs(tp.elapsed()) * 1e3);
                if first_page.is_none() {
                    first_page = Some(t0.elapsed());
                }
                pages += 1;
                n += p.objects.len();
                bytes += p.objects.iter().map(String::len).sum::<usize>();
                if !p.more {
                    break;
                }
                next = p.next;
                if next.is_none() {
                    return Err(anyhow!("more without next"));
                }
            }
            let total = t0.elapsed();
            let p50 = crate::percentile(&mut page_times.clone(), 0.5);
            let p99 = crate::percentile(&mut page_times, 0.99);
            Ok::<Value, anyhow::Error>(json!({
                "walk": w + 1,
                "objects": n,
                "pages": pages,
                "object_bytes": bytes,
                "setup_s": secs(t_setup),
                "first_page_s": first_page.map(secs),
                "total_s": secs(total),
                "objects_per_s": n as f64 / secs(total),
                "page_ms_p50": p50,
                "page_ms_p99": p99,
            }))
        })?;
        eprintln!(
            "  walk {} limit {limit}: {} objects in {:.3} s = {:.0}/s (first page {:.3} s)",
            w + 1,
            row["objects"],
            row["total_s"].as_f64().unwrap_or(0.0),
            row["objects_per_s"].as_f64().unwrap_or(0.0),
            row["first_page_s"].as_f64().unwrap_or(0.0)
        );
        rows.push(row);
    }
    let mut warm: Vec<f64> = rows
        .iter()
        .skip(1)
        .filter_map(|r| r["objects_per_s"].as_f64())
        .collect();
    Ok(json!({
        "bench": "walk",
        "url": url,
        "limit": limit,
        "cold_objects_per_s": rows[0]["objects_per_s"],
        "cold_first_page_s": rows[0]["first_page_s"],
        "warm_median_objects_per_s": median(&mut warm),
        "walks": rows,
    }))
}
