//! The server under attack, over real TLS on 127.0.0.1:0: idle and slow connections, floods
//! of wrong passwords, oversize bodies. Attackers connect from other loopback addresses
//! (127.0.0.2 and up, all routed to `lo` on Linux), the partner from 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use base64::Engine;
use http_body_util::BodyExt;
use liaison_labels::Party;
use liaison_release::sample::{GBR_AGREEMENT, RUS_AGREEMENT};
use liaison_release::Node;
use liaison_server::{AppState, Config};
use liaison_store::SqliteStore;
use rustls::pki_types::pem::PemObject;
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tower::ServiceExt;

pub(crate) const RUS_SECRET: &str = "rus-secret-0123456789";
pub(crate) const GBR_SECRET: &str = "gbr-secret-0123456789";

/// A USA node serving over TLS on 127.0.0.1:0 until dropped.
pub(crate) struct Served {
    _dir: tempfile::TempDir,
    pub(crate) addr: SocketAddr,
    connector: tokio_rustls::TlsConnector,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The demo's USA node with secrets for RUS and GBR, and a server state over it.
pub(crate) fn node_state(config: Config) -> (tempfile::TempDir, AppState<SqliteStore>) {
    let dir = tempfile::tempdir().unwrap();
    let p = |s: &str| Party::parse(s).unwrap();
    let mut node = Node::init(&dir.path().join("usa"), &p("USA")).unwrap();
    node.add_partner(&p("GBR"), GBR_AGREEMENT).unwrap();
    node.add_partner(&p("RUS"), RUS_AGREEMENT).unwrap();
    liaison_release::sample::ingest_exchange(&mut node).unwrap();
    node.set_secret(&p("RUS"), RUS_SECRET).unwrap();
    node.set_secret(&p("GBR"), GBR_SECRET).unwrap();
    let state = AppState::new(Arc::new(Mutex::new(node)), config).unwrap();
    (dir, state)
}

pub(crate) async fn serve(config: Config) -> Served {
    let (dir, state) = node_state(config);
    let (cert, key, _) = liaison_server::self_signed(&dir.path().join("tls"), &[]).unwrap();
    let cert_pem = std::fs::read(&cert).unwrap();
    let tls = liaison_server::tls_config(&cert_pem, &std::fs::read(&key).unwrap()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(liaison_server::run(listener, Some(tls), state, async {
        let _ = stopped.await;
    }));
    Served {
        _dir: dir,
        addr,
        connector: tls_connector(&cert_pem),
        stop: Some(stop),
    }
}

/// A TLS client that trusts only the certificate `cert_pem`.
pub(crate) fn tls_connector(cert_pem: &[u8]) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from_pem_slice(cert_pem).unwrap())
        .unwrap();
    let client = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(client))
}

/// A TCP connection to `to` from the loopback address `from`.
pub(crate) async fn connect_from(from: IpAddr, to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(from, 0))?;
    socket.connect(to).await
}

pub(crate) fn loopback(n: u8) -> IpAddr {
    IpAddr::from([127, 0, 0, n])
}

pub(crate) fn basic(user: &str, pass: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

/// One request over `io` with `Connection: close`; the whole answer as text.
async fn exchange<T: AsyncRead + AsyncWrite + Unpin>(mut io: T, head: &str, body: &[u8]) -> String {
    io.write_all(head.as_bytes()).await.unwrap();
    let _ = io.write_all(body).await;
    let mut out = Vec::new();
    let _ = io.read_to_end(&mut out).await;
    String::from_utf8_lossy(&out).into_owned()
}

impl Served {
    /// [`Served::get`], with a failed connection or handshake as an error rather than a panic.
    pub(crate) async fn try_get(
        &self,
        from: IpAddr,
        path: &str,
        authorization: Option<&str>,
    ) -> std::io::Result<String> {
        let tcp = connect_from(from, self.addr).await?;
        let name =
            rustls::pki_types::ServerName::try_from("localhost").map_err(std::io::Error::other)?;
        let mut tls = self.connector.connect(name, tcp).await?;
        let auth = authorization
            .map(|a| format!("Authorization: {a}\r\n"))
            .unwrap_or_default();
        let head = format!(
            "GET {path} HTTP/1.1\r\nHost: localhost\r\n{auth}Accept: application/taxii+json;version=2.1\r\nConnection: close\r\n\r\n"
        );
        tls.write_all(head.as_bytes()).await?;
        let mut out = Vec::new();
        tls.read_to_end(&mut out).await?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    /// `GET path` over TLS from `from`, with `authorization` if given.
    pub(crate) async fn get(
        &self,
        from: IpAddr,
        path: &str,
        authorization: Option<&str>,
    ) -> String {
        let tcp = connect_from(from, self.addr).await.unwrap();
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let tls = self.connector.connect(name, tcp).await.unwrap();
        let auth = authorization
            .map(|a| format!("Authorization: {a}\r\n"))
            .unwrap_or_default();
        let head = format!(
            "GET {path} HTTP/1.1\r\nHost: localhost\r\n{auth}Accept: application/taxii+json;version=2.1\r\nConnection: close\r\n\r\n"
        );
        exchange(tls, &head, b"").await
    }
}

/// Waits until the peer closes `stream` (EOF or reset), or `deadline`; true if it closed.
async fn closed_by(mut stream: TcpStream, deadline: tokio::time::Instant) -> bool {
    let mut buf = [0u8; 256];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            // A TLS alert or anything else the server writes before closing.
            Ok(Ok(_)) => continue,
        }
    }
}

/// 300 connections that never start a TLS handshake, from 51 other sources, do not keep
/// RUS out: its authenticated request succeeds at once (well within the handshake bound),
/// although there are far more idle connections than connection slots; and every idle
/// connection is closed by the server within the handshake bound (plus slack).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_do_not_keep_a_partner_out_and_are_closed_after_the_bound() {
    let bound = Duration::from_secs(2);
    let served = serve(Config {
        handshake_timeout: bound,
        request_head_timeout: bound,
        max_connections: 8,
        max_handshakes: 16,
        max_handshakes_per_ip: 4,
        max_connections_per_ip: 6,
        ..Config::default()
    })
    .await;
    let started = tokio::time::Instant::now();
    let mut idle = Vec::new();
    // One greedy source, and many small ones.
    for _ in 0..100 {
        idle.push(connect_from(loopback(2), served.addr).await.unwrap());
    }
    for n in 3..=52 {
        for _ in 0..4 {
            idle.push(connect_from(loopback(n), served.addr).await.unwrap());
        }
    }
    assert_eq!(idle.len(), 300);

    // The accept loop admits connections in arrival order: once a request from a source that
    // connected after every idle one has been answered, each idle connection has been
    // admitted or refused, and none arriving later can push the measured one out of the
    // handshake queue (on a loaded machine the loop lagged behind the burst, and the
    // measured connection, then the oldest unfinished handshake, was dropped once).
    for _ in 0..20 {
        let warm = served
            .try_get(loopback(53), "/taxii2/", Some(&basic("RUS", RUS_SECRET)))
            .await;
        if warm.is_ok_and(|r| r.starts_with("HTTP/1.1 200")) {
            break;
        }
    }

    let t = Instant::now();
    let reply = served
        .get(loopback(1), "/taxii2/", Some(&basic("RUS", RUS_SECRET)))
        .await;
    let took = t.elapsed();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(
        took < bound,
        "RUS waited {took:?} behind idle connections (bound {bound:?})"
    );

    let deadline = started + bound + Duration::from_secs(3);
    let mut waits = tokio::task::JoinSet::new();
    for stream in idle {
        waits.spawn(closed_by(stream, deadline));
    }
    let mut open = 0;
    while let Some(closed) = waits.join_next().await {
        if !closed.unwrap() {
            open += 1;
        }
    }
    assert_eq!(open, 0, "idle connections still open after the bound");
}

/// A client that finishes its TLS handshake and never sends a request head is closed after
/// `request_head_timeout`, and so is a kept-alive connection that goes quiet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_without_a_request_head_is_closed_after_the_bound() {
    let bound = Duration::from_millis(800);
    let served = serve(Config {
        request_head_timeout: bound,
        ..Config::default()
    })
    .await;
    let tcp = connect_from(loopback(1), served.addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = served.connector.connect(name, tcp).await.unwrap();
    // Half a request head, then nothing.
    tls.write_all(b"GET /health HTTP/1.1\r\nHost: loc")
        .await
        .unwrap();
    let t = Instant::now();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(bound * 5, tls.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "still open after {:?}", t.elapsed());
    assert!(
        t.elapsed() >= bound / 2,
        "closed too early: {:?}",
        t.elapsed()
    );
}

// ---------------------------------------------------------------------------------------
// Wrong passwords.

struct Answer {
    status: StatusCode,
    retry_after: Option<u64>,
    body: String,
}

/// `GET /liaison/collections/` as `user:pass`, arriving from `from` (as the accept loop
/// tells the router).
async fn login(app: &Router, from: IpAddr, user: &str, pass: &str) -> Answer {
    let mut req = Request::get("/liaison/collections/")
        .header(header::AUTHORIZATION, basic(user, pass))
        .body(Body::empty())
        .unwrap();
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::new(from, 40000)));
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let retry_after = res
        .headers()
        .get(header::RETRY_AFTER)
        .map(|v| v.to_str().unwrap().parse().unwrap());
    let body = res.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        retry_after,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

/// Wrong passwords from one source: after the free failures it is answered 429 with
/// `Retry-After` and TAXII's error body, without running Argon2 (a further burst of guesses
/// is all 429, fast), even with the right secret; RUS from its own address still logs in.
#[tokio::test]
async fn wrong_passwords_back_off_per_source_and_another_source_still_logs_in() {
    let (_dir, state) = node_state(Config {
        auth_free_failures: 3,
        auth_backoff_base: Duration::from_secs(30),
        ..Config::default()
    });
    let app = liaison_server::app(state);
    let attacker = loopback(2);
    for _ in 0..4 {
        let a = login(&app, attacker, "RUS", "wrong-password-123").await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.body);
    }
    let a = login(&app, attacker, "RUS", "wrong-password-123").await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{}", a.body);
    assert_eq!(a.retry_after, Some(30));
    let body: Value = serde_json::from_str(&a.body).unwrap();
    assert_eq!(body["http_status"], json!("429"));
    assert_eq!(body["title"], json!("Too Many Requests"));
    // Blocked whatever it tries, the right secret and other parties included.
    let a = login(&app, attacker, "RUS", RUS_SECRET).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    let a = login(&app, attacker, "GBR", "wrong-password-123").await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    // A burst of 200 more guesses is answered without Argon2: far under its cost.
    let t = Instant::now();
    for _ in 0..200 {
        let a = login(&app, attacker, "RUS", "wrong-password-456").await;
        assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    }
    let burst = t.elapsed();
    // RUS from its own address is not slowed at all.
    let a = login(&app, loopback(1), "RUS", RUS_SECRET).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    // One Argon2 run, for scale: 200 of them would take far longer than the burst.
    let t = Instant::now();
    let a = login(&app, loopback(3), "GBR", "wrong-password-123").await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    let one = t.elapsed();
    assert!(burst < one * 20, "burst {burst:?}, one Argon2 run {one:?}");
}

/// Guesses at RUS spread over many sources (one each: no source is blocked) slow down
/// attempts for RUS from addresses it never logged in from, capped, never from its own.
#[tokio::test]
async fn guesses_at_one_party_from_many_sources_only_slow_it_and_never_from_its_own_address() {
    let (_dir, state) = node_state(Config {
        auth_party_free_failures: 10,
        auth_party_backoff_max: Duration::from_secs(4),
        // No cache: every login below runs Argon2 and meets the back-off.
        auth_cache_ttl: Duration::ZERO,
        ..Config::default()
    });
    let app = liaison_server::app(state);
    let home = loopback(1);
    assert_eq!(
        login(&app, home, "RUS", RUS_SECRET).await.status,
        StatusCode::OK
    );
    for n in 10..=30 {
        let a = login(&app, loopback(n), "RUS", "wrong-password-123").await;
        assert!(
            matches!(
                a.status,
                StatusCode::UNAUTHORIZED | StatusCode::TOO_MANY_REQUESTS
            ),
            "{}",
            a.body
        );
    }
    let elsewhere = login(&app, loopback(99), "RUS", RUS_SECRET).await;
    assert_eq!(elsewhere.status, StatusCode::TOO_MANY_REQUESTS);
    let wait = elsewhere.retry_after.unwrap();
    assert!((1..=4).contains(&wait), "only slowed: {wait} s");
    // From its own address RUS is not slowed.
    let a = login(&app, home, "RUS", RUS_SECRET).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    // Another party is not slowed.
    let a = login(&app, loopback(99), "GBR", GBR_SECRET).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
}

/// A login as a party that does not exist costs what a wrong secret for a real partner
/// costs (both run Argon2), so timing does not tell which partners exist.
#[tokio::test]
async fn an_unknown_party_costs_the_same_time_as_a_known_one() {
    let (_dir, state) = node_state(Config {
        auth_backoff: false,
        ..Config::default()
    });
    let app = liaison_server::app(state);
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for _ in 0..9 {
        for (user, times) in [("RUS", &mut known), ("FRA", &mut unknown)] {
            let t = Instant::now();
            let a = login(&app, loopback(2), user, "wrong-password-123").await;
            times.push(t.elapsed());
            assert_eq!(a.status, StatusCode::UNAUTHORIZED);
        }
    }
    known.sort();
    unknown.sort();
    let (k, u) = (known[4].as_secs_f64(), unknown[4].as_secs_f64());
    assert!(
        u > k * 0.5 && u < k * 2.0,
        "median known {k:.4} s, unknown {u:.4} s"
    );
}

// ---------------------------------------------------------------------------------------
// Errors of ours.

async fn ask(app: &Router, method: &str, uri: &str) -> (StatusCode, String, String) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, basic("RUS", RUS_SECRET))
        .body(Body::empty())
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let ct = res
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, ct, String::from_utf8(body.to_vec()).unwrap())
}

/// A store that fails (a table gone under the server) gives the partner a TAXII 500 that
/// says "internal error" and nothing of ours: no SQL, no table, no path. Errors raised
/// outside the handlers (a path that does not parse, a method not served) are TAXII error
/// messages too, without the framework's text.
#[tokio::test]
async fn a_failure_of_ours_reaches_the_partner_as_a_generic_taxii_error() {
    let (dir, state) = node_state(Config::default());
    let app = liaison_server::app(state);
    let (status, _, _) = ask(&app, "GET", "/liaison/agreement").await;
    assert_eq!(status, StatusCode::OK);
    let db = rusqlite::Connection::open(dir.path().join("usa").join("node.db")).unwrap();
    db.execute_batch("DROP TABLE agreement_notes").unwrap();
    let (status, ct, body) = ask(&app, "GET", "/liaison/agreement").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert_eq!(ct, "application/taxii+json;version=2.1");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["http_status"], json!("500"));
    assert_eq!(v["description"], json!("internal error"));
    let home = dir.path().to_str().unwrap();
    for leak in [
        "agreement_notes",
        "no such table",
        "SQL",
        "sqlite",
        home,
        "node.db",
    ] {
        assert!(!body.contains(leak), "`{leak}` in {body}");
    }

    for (method, uri, want) in [
        ("GET", "/log/proof/not-a-number", StatusCode::BAD_REQUEST),
        ("GET", "/log/proof/-1", StatusCode::BAD_REQUEST),
        ("PUT", "/taxii2/", StatusCode::METHOD_NOT_ALLOWED),
        (
            "PUT",
            "/liaison/collections/inbound/objects/",
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        ("PATCH", "/log/checkpoint", StatusCode::METHOD_NOT_ALLOWED),
        ("GET", "/no/such/path", StatusCode::NOT_FOUND),
    ] {
        let (status, ct, body) = ask(&app, method, uri).await;
        assert_eq!(status, want, "{uri}: {body}");
        assert_eq!(ct, "application/taxii+json;version=2.1", "{uri}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["http_status"], json!(want.as_str()), "{uri}");
        assert!(!body.contains("u64") && !body.contains("parse"), "{body}");
    }
}

// ---------------------------------------------------------------------------------------
// Oversize bodies over TLS.

/// A real TLS client POSTs a 4 MiB body (the limit is 1 KiB), writing all of it before it
/// reads, as taxii2-client does: it reads the 413 and its TAXII body rather than a broken
/// connection, whether the length is declared (refused unread) or the body is chunked
/// (refused once past the limit); the server reads out the rest meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversize_post_over_https_gets_its_413() {
    let served = serve(Config {
        max_content_length: 1024,
        ..Config::default()
    })
    .await;
    let big = vec![b'x'; 4 * 1024 * 1024];
    for chunked in [false, true] {
        let tcp = connect_from(loopback(1), served.addr).await.unwrap();
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let tls = served.connector.connect(name, tcp).await.unwrap();
        let (mut rd, mut wr) = tokio::io::split(tls);
        let framing = if chunked {
            "Transfer-Encoding: chunked\r\n".to_owned()
        } else {
            format!("Content-Length: {}\r\n", big.len())
        };
        let head = format!(
            "POST /liaison/collections/inbound/objects/ HTTP/1.1\r\nHost: localhost\r\nAuthorization: {}\r\nAccept: application/taxii+json;version=2.1\r\nContent-Type: application/taxii+json;version=2.1\r\n{framing}Connection: close\r\n\r\n",
            basic("RUS", RUS_SECRET)
        );
        let body = big.clone();
        let writer = tokio::spawn(async move {
            wr.write_all(head.as_bytes()).await?;
            if chunked {
                for piece in body.chunks(64 * 1024) {
                    wr.write_all(format!("{:x}\r\n", piece.len()).as_bytes())
                        .await?;
                    wr.write_all(piece).await?;
                    wr.write_all(b"\r\n").await?;
                }
                wr.write_all(b"0\r\n\r\n").await?;
            } else {
                wr.write_all(&body).await?;
            }
            wr.flush().await?;
            std::io::Result::Ok(wr)
        });
        // As a simple client does: the whole body first, then the answer.
        let wr = tokio::time::timeout(Duration::from_secs(20), writer)
            .await
            .expect("the body was written")
            .unwrap()
            .unwrap_or_else(|e| panic!("chunked {chunked}: writing the body failed: {e}"));
        let mut answer = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(20), rd.read_to_end(&mut answer))
            .await
            .expect("an answer");
        let answer = String::from_utf8_lossy(&answer).into_owned();
        assert!(
            answer.starts_with("HTTP/1.1 413"),
            "chunked {chunked}: {read:?} {answer}"
        );
        assert!(answer.contains("\"http_status\":\"413\""), "{answer}");
        drop(wr);
    }
}
