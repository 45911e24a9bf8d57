//! The operators' web console of a liaison node: server-rendered HTML over the release
//! pipeline, for analysts (who read) and release officers (who also act), on a listener of
//! its own, never the partners' port. Invariants: every page is rendered from the same
//! functions the CLI and the TAXII server use (the release queue from the same pass as
//! `Node::preview`, kept up to date from the change feed; a partner's view from its stored
//! rows, as TAXII reads them; `Node::explain`, ...), so the console can show nothing the
//! pipeline would not; no page
//! carries script or inline style (CSP `default-src 'self'`); every form carries a CSRF
//! token; every change is written to the audit list; every refusal is generic.
#![deny(missing_docs)]

mod auth;
#[cfg(test)]
mod differential;
mod error;
mod layout;
mod pages;
mod state;
mod svg;

use std::future::Future;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{middleware, Router};
use liaison_store::prelude::*;
use tokio::net::TcpListener;
use tower_http::timeout::TimeoutLayer;

pub use state::{ConsoleConfig, ConsoleState};

/// The console's routes over `state`.
pub fn app<S: Store + Send + 'static>(state: ConsoleState<S>) -> Router {
    let config = state.config().clone();
    Router::new()
        .route("/", get(pages::home))
        .route("/console.css", get(layout::stylesheet))
        .route("/login", get(auth::login_form::<S>).post(auth::login::<S>))
        .route("/logout", post(auth::logout::<S>))
        .route("/inbox", get(pages::inbox::page::<S>))
        .route("/queue", get(pages::queue::index::<S>))
        .route("/queue/{partner}", get(pages::queue::page::<S>))
        .route("/view", get(pages::view::index::<S>))
        .route("/view/{partner}", get(pages::view::page::<S>))
        .route("/object/{id}", get(pages::object::page::<S>))
        .route("/object/{id}/consent", post(pages::object::consent::<S>))
        .route("/object/{id}/hold", post(pages::hold::hold::<S>))
        .route("/object/{id}/lift", post(pages::hold::lift::<S>))
        .route("/log", get(pages::log::page::<S>))
        .route("/ledger", get(pages::ledger::page::<S>))
        .route("/matching", get(pages::matching::page::<S>))
        .route("/records", get(pages::records::page::<S>))
        .route(
            "/trace",
            get(pages::trace::form_page).post(pages::trace::trace::<S>),
        )
        .route("/agreements", get(pages::agreements::page::<S>))
        .route("/audit", get(pages::audit::page::<S>))
        .fallback(pages::not_found)
        .layer(DefaultBodyLimit::max(config.max_body))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            config.request_timeout,
        ))
        .layer(middleware::from_fn(layout::secure_headers))
        .with_state(state)
}

/// Serves the console on `listener` (over TLS when `tls` is given: the same certificate as
/// the partners' port) with the connection bounds of `server`, until `shutdown` completes.
pub async fn run<S: Store + Send + 'static>(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    state: ConsoleState<S>,
    server: &liaison_server::Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    liaison_server::serve_router(listener, tls, app(state), server, shutdown).await
}
