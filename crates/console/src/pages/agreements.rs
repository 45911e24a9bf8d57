//! Agreements: for each partner, the terms we apply to it and those it applies to us, who
//! signed each (`Node::agreement_status`, as `liaison agreement show`), and its private
//! matching budget this epoch (`Node::match_budgets`, as `liaison match budgets`).

use axum::extract::State;
use axum::response::Response;
use liaison_release::{MatchBudget, SignedTerms};
use liaison_store::prelude::*;
use maud::{html, Markup};

use super::{partners, render};
use crate::auth::Signed;
use crate::error::Refusal;
use crate::state::ConsoleState;

fn terms(t: &Option<SignedTerms>) -> Markup {
    html! {
        @match t {
            Some(t) => {
                "signed by " (if t.signed_by.is_empty() { "nobody".to_owned() } else { t.signed_by.join(", ") })
                @if t.countersigned { " (countersigned)" }
                br; span class="muted" { "sha256 " code { (t.sha256.get(..16).unwrap_or(&t.sha256)) } "…, " (t.updated) }
            }
            None => span class="muted" { "none on record" },
        }
    }
}

/// GET /agreements.
pub(crate) async fn page<S: Store + Send + 'static>(
    State(state): State<ConsoleState<S>>,
    signed: Signed,
) -> Result<Response, Refusal> {
    let (rows, budgets) = state
        .with_node(|node| {
            let mut rows = Vec::new();
            for p in partners(node)? {
                let text = node.agreement_text(&p).map_err(Refusal::internal)?;
                let status = node.agreement_status(&p).map_err(Refusal::internal)?;
                rows.push((status, text));
            }
            let budgets: Vec<MatchBudget> = node
                .match_budgets(liaison_release::unix_now())
                .map_err(Refusal::internal)?;
            Ok((rows, budgets))
        })
        .await?;
    let body = html! {
        main {
            h1 { "Agreements" }
            table {
                thead { tr { th { "Partner" } th { "Our terms for it" } th { "Its terms for us" } } }
                tbody { @for (s, _) in &rows { tr {
                    td { (s.partner) } td { (terms(&s.ours)) } td { (terms(&s.theirs)) }
                } } }
            }
            @for (s, text) in &rows {
                details { summary { "Our terms for " (s.partner) } pre { (text) } }
            }
            h2 { "Private matching this epoch" }
            @if budgets.is_empty() { p class="muted" { "No partner may ask." } } @else {
                table {
                    thead { tr { th { "Partner" } th { "Epoch" } th { "Used / budget" } th { "Requests" } th { "Last" } th { "Next epoch in" } } }
                    tbody { @for b in &budgets { tr {
                        td { (b.partner) } td { (b.epoch) } td { (b.used) " / " (b.budget) }
                        td { (b.queries) } td { (b.last.as_deref().unwrap_or("—")) }
                        td { (b.next_epoch_in) " s" }
                    } } }
                }
            }
        }
    };
    Ok(render("Agreements", &signed, body))
}
