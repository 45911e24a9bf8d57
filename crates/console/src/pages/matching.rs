//! Private matching: for each partner that may ask, its budget this epoch, and the history of
//! what it was sent and what it asked, as our log records it (`Node::match_history`; the
//! selectors it asked about are never known to us, only how many).

use axum::extract::{Query, State};
use axum::response::Response;
use liaison_release::{MatchBudget, MatchEvent, MatchEventKind};
use liaison_store::prelude::*;
use maud::{html, Markup};
use serde::Deserialize;

use super::{page_of, partner, render};
use crate::auth::Signed;
use crate::error::Refusal;
use crate::state::ConsoleState;

#[derive(Deserialize)]
pub(crate) struct Filters {
    partner: Option<String>,
    page: Option<usize>,
}

/// The first 16 characters of a hex digest (the whole one is in the title).
fn short(hex: &str) -> Markup {
    html! { code title=(hex) { (hex.get(..16).unwrap_or(hex)) "…" } }
}

/// GET /matching.
pub(crate) async fn page<S: Store + Send + 'static>(
    State(state): State<ConsoleState<S>>,
    signed: Signed,
    Query(f): Query<Filters>,
) -> Result<Response, Refusal> {
    let size = state.config().page_size;
    let wanted = f.partner.clone().filter(|p| !p.trim().is_empty());
    let (budgets, history) = state
        .with_node(move |node| {
            let budgets: Vec<MatchBudget> = node
                .match_budgets(liaison_release::unix_now())
                .map_err(Refusal::internal)?;
            let mut history: Vec<MatchEvent> = Vec::new();
            let asked: Vec<_> = match wanted.as_deref() {
                Some(p) => vec![partner(node, p)?],
                None => super::partners(node)?,
            };
            for p in &asked {
                history.extend(node.match_history(p).map_err(Refusal::internal)?);
            }
            // Newest first.
            history.sort_by_key(|e| std::cmp::Reverse(e.index));
            Ok((budgets, history))
        })
        .await?;
    let (pager, rows) = page_of(history.iter(), None, f.page, size);
    let query = super::query(&[("partner", &f.partner)]);
    let body = html! {
        main {
            h1 { "Private matching" }
            p class="muted" {
                "Partners ask whether we hold anything on their selectors without showing them: "
                "we learn how many they asked, never which. Each set we published and each request "
                "we evaluated is an entry of our log (its index links the proof)."
            }
            h2 { "This epoch" }
            @if budgets.is_empty() { p class="muted" { "No partner may ask (no agreement has a [matching] section)." } } @else {
                table {
                    thead { tr { th { "Partner" } th { "Epoch" } th { "Used / budget" } th { "Requests" } th { "Largest request" } th { "Last" } th { "Next epoch in" } } }
                    tbody { @for b in &budgets { tr {
                        td { a href={ "/matching?partner=" (b.partner) } { (b.partner) } }
                        td { (b.epoch) }
                        td { (b.used) " / " (b.budget) }
                        td { (b.queries) }
                        td { (b.max_set_size) }
                        td { (b.last.as_deref().unwrap_or("—")) }
                        td { (b.next_epoch_in / 3600) " h " (b.next_epoch_in % 3600 / 60) " min" }
                    } } }
                }
            }
            h2 {
                "History"
                @if let Some(p) = f.partner.as_deref().filter(|p| !p.trim().is_empty()) { " of " (p) " · " a href="/matching" { "all partners" } }
            }
            @if history.is_empty() { p class="muted" { "Nothing published or asked yet." } } @else {
                table {
                    thead { tr { th { "Log entry" } th { "Partner" } th { "Epoch" } th { "Event" } th { "Selectors" } th { "Digest" } } }
                    tbody { @for e in &rows { tr {
                        td { (e.index) }
                        td { (e.partner) }
                        td { (e.epoch) }
                        @match &e.what {
                            MatchEventKind::Published { padded_size, sha256, normaliser, .. } => {
                                td { "set published (normaliser v" (normaliser) ")" }
                                td { (padded_size) " (padded)" }
                                td { (short(sha256)) }
                            }
                            MatchEventKind::Evaluated { count, request } => {
                                td { span class="tearline" { "request evaluated" } }
                                td { (count) }
                                td { (short(request)) }
                            }
                        }
                    } } }
                }
                (pager.nav("/matching", &query))
            }
        }
    };
    Ok(render("Private matching", &signed, body))
}
