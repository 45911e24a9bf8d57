//! The audit list: who changed what, and when, newest first.

use axum::extract::{Query, State};
use axum::response::Response;
use liaison_store::prelude::*;
use maud::html;
use serde::Deserialize;

use super::render;
use crate::auth::Signed;
use crate::error::Refusal;
use crate::state::ConsoleState;

#[derive(Deserialize)]
pub(crate) struct Before {
    before: Option<i64>,
}

/// GET /audit.
pub(crate) async fn page<S: Store + Send + 'static>(
    State(state): State<ConsoleState<S>>,
    signed: Signed,
    Query(q): Query<Before>,
) -> Result<Response, Refusal> {
    let size = state.config().page_size;
    let entries = state
        .with_node(move |node| node.audit(q.before, size).map_err(Refusal::internal))
        .await?;
    let older = entries
        .last()
        .filter(|_| entries.len() == size)
        .map(|e| e.seq);
    let body = html! {
        main {
            h1 { "Audit" }
            p class="muted" { "Every change made by an operator, at the console or the command line, newest first." }
            table {
                thead { tr { th { "#" } th { "When" } th { "Who" } th { "What" } th { "To" } th { "Detail" } } }
                tbody { @for e in &entries { tr {
                    td { (e.seq) } td { (e.at) } td { (e.operator) } td { code { (e.action) } }
                    td class="id" { (e.target) } td { (e.detail) }
                } } }
            }
            div class="pager" {
                @if q.before.is_some() { a href="/audit" { "← newest" } }
                @if let Some(seq) = older { a href={ "/audit?before=" (seq) } { "older →" } }
            }
        }
    };
    Ok(render("Audit", &signed, body))
}
