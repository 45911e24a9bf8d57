//! The server under attack, over real TLS on 127.0.0.1:0: idle and slow connections, floods
//! of wrong passwords, oversize bodies. Attackers connect from other loopback addresses
//! (127.0.0.2 and up, all routed to `lo` on Linux), the partner from 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use liaison_labels::Party;
use liaison_release::sample::{GBR_AGREEMENT, RUS_AGREEMENT};
use liaison_release::Node;
use liaison_server::{AppState, Config};
use liaison_store::SqliteStore;
use rustls::pki_types::pem::PemObject;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

pub(crate) const RUS_SECRET: &str = "rus-secret-0123456789";

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

pub(crate) async fn serve(config: Config) -> Served {
    let dir = tempfile::tempdir().unwrap();
    let p = |s: &str| Party::parse(s).unwrap();
    let mut node = Node::init(&dir.path().join("usa"), &p("USA")).unwrap();
    node.add_partner(&p("GBR"), GBR_AGREEMENT).unwrap();
    node.add_partner(&p("RUS"), RUS_AGREEMENT).unwrap();
    liaison_release::sample::ingest_exchange(&mut node).unwrap();
    node.set_secret(&p("RUS"), RUS_SECRET).unwrap();
    let state: AppState<SqliteStore> = AppState::new(Arc::new(Mutex::new(node)), config).unwrap();
    let (cert, key, _) = liaison_server::self_signed(&dir.path().join("tls"), &[]).unwrap();
    let cert_pem = std::fs::read(&cert).unwrap();
    let tls = liaison_server::tls_config(&cert_pem, &std::fs::read(&key).unwrap()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(liaison_server::run(listener, Some(tls), state, async {
        let _ = stopped.await;
    }));
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from_pem_slice(&cert_pem).unwrap())
        .unwrap();
    let client = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    Served {
        _dir: dir,
        addr,
        connector: tokio_rustls::TlsConnector::from(Arc::new(client)),
        stop: Some(stop),
    }
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
