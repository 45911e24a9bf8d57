//! The client against a partner that accepts connections and never answers: every wait is
//! bounded. The "partner" is a 127.0.0.1:0 listener that accepts and holds each connection.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use liaison_client::{ClientError, Remote, Timeouts};

/// A listener that accepts every connection and keeps it open without a byte in reply.
async fn silent() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    addr
}

fn timeouts(connect: u64, read: u64, total: u64) -> Timeouts {
    Timeouts {
        connect: Duration::from_millis(connect),
        read: Duration::from_millis(read),
        total: Duration::from_millis(total),
    }
}

#[tokio::test]
async fn a_tls_handshake_never_answered_times_out_connecting() {
    let addr = silent().await;
    let remote = Remote::new(
        &format!("https://{addr}/"),
        Some(&"ab".repeat(32)),
        "USA",
        "secret",
    )
    .unwrap()
    .with_timeouts(timeouts(300, 60_000, 60_000));
    let t = Instant::now();
    let err = remote.connect().await.err().expect("no connection");
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    assert!(
        matches!(
            err,
            ClientError::Timeout {
                what: "connecting",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("timed out connecting"), "{err}");
}

#[tokio::test]
async fn a_request_never_answered_times_out_reading() {
    let addr = silent().await;
    let remote = Remote::new(&format!("http://{addr}/"), None, "USA", "secret")
        .unwrap()
        .with_timeouts(timeouts(60_000, 300, 60_000));
    let mut session = remote.connect().await.unwrap();
    let t = Instant::now();
    let err = session.api_root().await.expect_err("no answer");
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    assert!(
        t.elapsed() >= Duration::from_millis(250),
        "{:?}",
        t.elapsed()
    );
    assert!(
        matches!(
            err,
            ClientError::Timeout {
                what: "waiting for an answer",
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn a_session_ends_at_its_total_timeout() {
    let addr = silent().await;
    let remote = Remote::new(&format!("http://{addr}/"), None, "USA", "secret")
        .unwrap()
        .with_timeouts(timeouts(60_000, 60_000, 300));
    let mut session = remote.connect().await.unwrap();
    let t = Instant::now();
    let err = session
        .get_bytes("/log/checkpoint")
        .await
        .expect_err("no answer");
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    assert!(
        matches!(
            err,
            ClientError::Timeout {
                what: "in this session",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn the_defaults_are_bounded_and_sane() {
    let t = Timeouts::default();
    assert!(t.connect <= Duration::from_secs(30));
    assert!(t.read <= Duration::from_secs(300));
    assert!(t.read < t.total && t.total <= Duration::from_secs(3600));
}
