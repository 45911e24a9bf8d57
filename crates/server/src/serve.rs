//! The accept loop: every connection accepted at once and admitted or closed by the bounds
//! of `admission.rs` (per source, handshakes apart from established connections), TLS
//! handshakes and request heads bounded in time, HTTP/1.1, and a graceful shutdown that stops
//! accepting and lets requests in flight finish.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use liaison_store::prelude::*;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tower::ServiceExt as _;

use crate::admission::{Admission, OpenSlot};
use crate::config::Config;
use crate::handlers::{app, operator_app};
use crate::state::AppState;

/// How long shutdown waits for requests in flight before dropping them.
const DRAIN: Duration = Duration::from_secs(10);

/// Serves `state` on `listener` (over TLS when `tls` is given) until `shutdown` completes,
/// then drains the connections in flight.
pub async fn run<S: Store + Send + 'static>(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    state: AppState<S>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let config = state.config().clone();
    serve_router(listener, tls, app(state), &config, shutdown).await
}

/// Serves the operators' router (`/metrics`, `/health`) over plain HTTP on `listener`, with
/// the same connection bounds, until `shutdown` completes. Bind it to loopback or the
/// operators' network, never the partners'.
pub async fn run_operator<S: Store + Send + 'static>(
    listener: TcpListener,
    state: AppState<S>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let config = state.config().clone();
    serve_router(listener, None, operator_app(state), &config, shutdown).await
}

/// What every connection task shares.
#[derive(Clone)]
struct Shared {
    router: Router,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    http: hyper::server::conn::http1::Builder,
    admission: Arc<Admission>,
    established: Arc<Semaphore>,
    handshake_timeout: Duration,
}

/// Serves `router` on `listener` (over TLS when `tls` is given) with the connection bounds of
/// `config` until `shutdown` completes, then drains. The operators' console serves through it too.
pub async fn serve_router(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    router: Router,
    config: &Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(config.request_head_timeout)
        .keep_alive(true);
    let shared = Shared {
        router,
        acceptor: tls.map(tokio_rustls::TlsAcceptor::from),
        http,
        admission: Admission::new(config),
        established: Arc::new(Semaphore::new(config.max_connections.max(1))),
        handshake_timeout: config.handshake_timeout,
    };
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Running out of file descriptors and the like: wait a moment, go on.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Some(slot) = shared.admission.open(peer.ip()) else {
            tracing::debug!(%peer, "closed: the source holds its share of connections");
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(connection(
            shared.clone(),
            stream,
            peer,
            slot,
            graceful.watcher(),
        ));
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("shutdown: connections still open after the drain period were dropped");
    }
    Ok(())
}

/// One connection, from its handshake to its end; `_slot` counts it against its source.
async fn connection(
    shared: Shared,
    stream: TcpStream,
    peer: SocketAddr,
    _slot: OpenSlot,
    watcher: Watcher,
) {
    // The handlers learn the source address (for the login back-off) from this extension.
    let service = TowerToHyperService::new(shared.router.clone().map_request(
        move |mut req: axum::http::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            req
        },
    ));
    match &shared.acceptor {
        Some(acceptor) => {
            let Some(mut handshake) = shared.admission.handshake(peer.ip()) else {
                tracing::debug!(%peer, "closed: the source holds its share of handshakes");
                return;
            };
            let tls = tokio::select! {
                done = tokio::time::timeout(shared.handshake_timeout, acceptor.accept(stream)) => {
                    match done {
                        Ok(Ok(s)) => s,
                        Ok(Err(e)) => {
                            tracing::debug!(%peer, error = %e, "tls handshake failed");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!(%peer, "tls handshake timed out");
                            return;
                        }
                    }
                }
                _ = &mut handshake.evicted => {
                    tracing::debug!(%peer, "tls handshake dropped for a newer one");
                    return;
                }
            };
            drop(handshake);
            let Some(_permit) = permit(&shared, peer).await else {
                return;
            };
            let conn = shared.http.serve_connection(TokioIo::new(tls), service);
            if let Err(e) = watcher.watch(conn).await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        }
        None => {
            let Some(_permit) = permit(&shared, peer).await else {
                return;
            };
            let conn = shared.http.serve_connection(TokioIo::new(stream), service);
            if let Err(e) = watcher.watch(conn).await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        }
    }
}

/// A slot among the established connections, waiting at most `handshake_timeout` for one.
async fn permit(shared: &Shared, peer: SocketAddr) -> Option<tokio::sync::OwnedSemaphorePermit> {
    let wait = Arc::clone(&shared.established).acquire_owned();
    match tokio::time::timeout(shared.handshake_timeout, wait).await {
        Ok(Ok(p)) => Some(p),
        _ => {
            tracing::debug!(%peer, "closed: no connection slot came free in time");
            None
        }
    }
}
