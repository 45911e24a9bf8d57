//! The reciprocity ledger: each partner's account and its balance over time, drawn.

use axum::extract::State;
use axum::response::Response;
use liaison_store::prelude::*;
use maud::html;

use super::render;
use crate::auth::Signed;
use crate::error::Refusal;
use crate::state::ConsoleState;
use crate::svg::balance_chart;

/// GET /ledger.
pub(crate) async fn page<S: Store + Send + 'static>(
    State(state): State<ConsoleState<S>>,
    signed: Signed,
) -> Result<Response, Refusal> {
    let ledgers = state
        .with_node(|node| node.ledgers().map_err(Refusal::internal))
        .await?;
    let body = html! {
        main {
            h1 { "Reciprocity ledger" }
            table {
                thead { tr { th { "Partner" } th { "Given" } th { "Received" } th { "Balance" } th { "Limit" } th { "Releases" } } }
                tbody { @for l in &ledgers { tr {
                    td { (l.partner) }
                    td { (format!("{:.2}", l.given)) " (" (l.deliveries) " objects)" }
                    td { (format!("{:.2}", l.received)) " (" (l.receipts) " objects)" }
                    td { (format!("{:.2}", l.balance)) }
                    td { @match l.limit { Some(x) => (format!("{x:.2}")), None => "none" } }
                    td { @if l.paused { span class="withhold" { "paused" } } @else { span class="release" { "flowing" } } }
                } } }
            }
            @for l in &ledgers {
                h2 { (l.partner) ": balance over time" }
                @if l.history.is_empty() { p class="muted" { "No exchange yet." } } @else {
                    (balance_chart(&l.history, l.limit))
                }
            }
        }
    };
    Ok(render("Ledger", &signed, body))
}
