//! Authentication under a guessing flood (issue 8): a partner's correct login (Argon2 run
//! every time: the success cache is off) while `rate` wrong guesses per second arrive from
//! another source, with the back-off on and, in the same run, off. Requests go through the
//! real router in process, the source address set as the accept loop sets it; the guesses
//! are sent open loop (each on its own task, whether or not the previous was answered).

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Request, StatusCode};
use base64::Engine as _;
use liaison_labels::Party;
use liaison_release::sample::RUS_AGREEMENT;
use liaison_release::Node;
use liaison_server::{app, AppState, Config};
use serde_json::{json, Value};
use tower::ServiceExt as _;

const SECRET: &str = "rus-secret-0123456789";

fn request(from: IpAddr, pass: &str) -> Request<Body> {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("RUS:{pass}"));
    let mut req = Request::get("/liaison/collections/")
        .header(header::AUTHORIZATION, format!("Basic {token}"))
        .body(Body::empty())
        .unwrap_or_default();
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::new(from, 40000)));
    req
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// One run: logins every `every` for `secs`, guesses at `rate` per second meanwhile.
async fn run_one(backoff: bool, rate: u64, secs: f64, every: Duration) -> Result<Value> {
    let dir = tempfile::tempdir()?;
    let mut node = Node::init(dir.path(), &Party::parse("USA")?)?;
    let rus = Party::parse("RUS")?;
    node.add_partner(&rus, RUS_AGREEMENT)?;
    node.set_secret(&rus, SECRET)?;
    let config = Config {
        auth_backoff: backoff,
        auth_cache_ttl: Duration::ZERO,
        ..Config::default()
    };
    let router = app(AppState::new(Arc::new(Mutex::new(node)), config)?);
    let partner: IpAddr = [127, 0, 0, 1].into();
    let attacker: IpAddr = [127, 0, 0, 2].into();
    let stop = Instant::now() + Duration::from_secs_f64(secs);
    let answered = Arc::new(Mutex::new((0u64, 0u64)));
    let flood = {
        let router = router.clone();
        let answered = Arc::clone(&answered);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
            let mut sent = 0u64;
            while Instant::now() < stop {
                tick.tick().await;
                sent += 1;
                let router = router.clone();
                let answered = Arc::clone(&answered);
                tokio::spawn(async move {
                    let Ok(r) = router
                        .oneshot(request(attacker, "wrong-password-123"))
                        .await;
                    if let Ok(mut a) = answered.lock() {
                        match r.status() {
                            StatusCode::TOO_MANY_REQUESTS => a.1 += 1,
                            _ => a.0 += 1,
                        }
                    }
                });
            }
            sent
        })
    };
    let mut times = Vec::new();
    let mut failed = 0;
    while Instant::now() < stop {
        let t = Instant::now();
        let Ok(r) = router.clone().oneshot(request(partner, SECRET)).await;
        if r.status() == StatusCode::OK {
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        } else {
            failed += 1;
        }
        tokio::time::sleep(every).await;
    }
    let sent = flood.await?;
    let (argon, throttled) = answered.lock().map(|a| *a).unwrap_or_default();
    times.sort_by(|a, b| a.total_cmp(b));
    Ok(json!({
        "backoff": backoff,
        "guesses_per_sec": rate,
        "secs": secs,
        "guesses_sent": sent,
        "guesses_answered_401_in_run": argon,
        "guesses_answered_429_in_run": throttled,
        "logins": times.len(),
        "logins_failed": failed,
        "login_ms_median": percentile(&times, 0.5),
        "login_ms_p99": percentile(&times, 0.99),
        "login_ms_max": times.last().copied().unwrap_or(f64::NAN),
    }))
}

/// Both runs, back-off on then off.
pub(crate) fn run_auth(rate: u64, secs: f64, every_ms: u64) -> Result<Value> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let every = Duration::from_millis(every_ms);
    let on = rt.block_on(run_one(true, rate, secs, every))?;
    let off = rt.block_on(run_one(false, rate, secs, every))?;
    Ok(json!({"bench": "auth", "with_backoff": on, "without_backoff": off}))
}
