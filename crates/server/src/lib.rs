//! The TAXII 2.1 server of a liaison node: a thin shell over the release pipeline. Every
//! authenticated partner sees exactly two collections, its outbound view (what the policy
//! releases to it, cut for it) and its inbound collection (what it sent us); anything else,
//! including another partner's collections and withheld objects, is indistinguishable from
//! absent. Every size, page, connection and request time is bounded.
#![deny(missing_docs)]

mod admission;
mod agreement;
mod auth;
mod config;
mod consent;
mod drain;
mod error;
mod handlers;
mod log;
mod matching;
mod metrics;
mod note;
mod paging;
mod serve;
mod state;
mod throttle;
mod tls;

pub use config::Config;
pub use error::ServerError;
pub use handlers::{app, operator_app};
pub use log::{ProofJson, ProofsJson, HEADER_LOG_SIZE};
pub use serve::{run, run_operator, serve_router};
pub use state::AppState;
pub use tls::{fingerprint, self_signed, tls_config};
