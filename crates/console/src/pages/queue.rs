//! The release queue of one partner: the decision on every object we hold for it, with every
//! reason and cut, exactly as `liaison release preview --to P` gives them (`Node::preview`),
//! from the queue the console keeps up to date from the change feed (`Node::follow_queue`),
//! and the officers' holds for it (who, when, why). A release officer holds an item here, or
//! releases a held one (lifts the hold); the policy decides with the holds (see `hold.rs`).

use axum::extract::{Path, Query, State};
use axum::response::Response;
use liaison_store::prelude::*;
use maud::html;
use serde::Deserialize;

use super::{decision_class, given, page_of, partner, partners, query, render, Pager};
use crate::auth::Signed;
use crate::error::Refusal;
use crate::state::ConsoleState;

/// The most reasons and cuts listed per object on a page of the queue (a report may cut a
/// thousand references); the object's page lists them all.
const MAX_LISTED: usize = 12;

/// GET /queue: the partners, each with a link to its queue.
pub(crate) async fn index<S: Store + Send + 'static>(
    State(state): State<ConsoleState<S>>,
    signed: Signed,
) -> Result<Response, Refusal> {
    let all = state.with_node(|node| partners(node)).await?;
    let body = html! {
        main {
            h1 { "Release queue" }
            p class="muted" { "What each partner would receive now, and what is held, with the reasons." }
            ul { @for p in &all { li { a href={ "/queue/" (p) } { (p) } } } }
        }
    };
    Ok(render("Release queue", &signed, body))
}

#[derive(Deserialize)]
pub(crate) struct Filters {
    decision: Option<String>,
    page: Option<usize>,
}

/// GET /queue/{partner}.
pub(crate) async fn page<S: Store + Send + 'static>(
    State(state): State<ConsoleState<S>>,
    signed: Signed,
    Path(who): Path<String>,
    Query(f): Query<Filters>,
) -> Result<Response, Refusal> {
    let st = state.clone();
    let (p, entries, holds) = state
        .with_node(move |node| {
            let p = partner(node, &who)?;
            let entries = st.inner.queue(node, &p)?;
            let holds = node.holds(Some(&p)).map_err(Refusal::internal)?;
            Ok((p, entries, holds))
        })
        .await?;
    let officer = signed.officer().is_ok();
    let held: std::collections::HashMap<&str, &liaison_store::HoldRecord> =
        holds.iter().map(|h| (h.object.as_str(), h)).collect();
    let decision = given(&f.decision).map(str::to_owned);
    let counts = entries.counts();
    let keep =
        |e: &liaison_release::Entry| decision.as_deref().is_none_or(|d| e.decision.as_str() == d);
    let (pager, shown) = match decision {
        // Found by position: no walk over the entries before the page.
        None => {
            let pager = Pager::new(f.page, state.config().page_size, entries.len());
            let shown = entries.page(pager.range());
            (pager, shown)
        }
        Some(_) => page_of(
            entries.entries(),
            Some(&keep as &dyn Fn(&liaison_release::Entry) -> bool),
            f.page,
            state.config().page_size,
        ),
    };
    let path = format!("/queue/{p}");
    let q = query(&[("decision", &f.decision)]);
    let body = html! {
        main {
            h1 { "Release queue for " (p) }
            p class="counts" {
                span class="release" { (counts[0]) " release" }
                span class="tearline" { (counts[1]) " at the tear line" }
                span class="withhold" { (counts[2]) " withheld" }
            }
            h2 { "Held by officers" }
            @if holds.is_empty() { p class="muted" { "Nothing is held from " (p) "." } } @else {
                table {
                    thead { tr { th { "Object" } th { "By" } th { "Since" } th { "Reason" } @if officer { th {} } } }
                    tbody { @for h in &holds { tr {
                        td class="id" { a href={ "/object/" (h.object) "?for=" (p) } { (h.object) } }
                        td { (h.by) } td { (h.created) } td { (h.reason) }
                        @if officer { td { (super::hold::lift_form(&signed, &h.object, p.as_str(), "queue")) } }
                    } } }
                }
            }
            h2 { "Decisions" }
            form class="filters" method="get" action=(path) {
                label { "Decision"
                    select name="decision" {
                        option value="" { "any" }
                        @for d in ["release", "tearline", "withhold"] {
                            option value=(d) selected[decision.as_deref() == Some(d)] { (d) }
                        }
                    }
                }
                button type="submit" { "Filter" }
            }
            (pager.nav(&path, &q))
            table {
                thead { tr { th { "Object" } th { "Type" } th { "Decision" } th { "Reasons" } th { "Cut" } @if officer { th { "Officer" } } } }
                tbody {
                    @for e in &shown {
                        tr {
                            td class="id" { a href={ "/object/" (e.object) "?for=" (p) } { (e.object) } }
                            td { (e.object_type) }
                            td class=(decision_class(e.decision.as_str())) {
                                (e.decision.as_str())
                                @if let Some(t) = &e.tearline { br; span class="id" { "→ " (t) } }
                            }
                            td {
                                @for r in e.reasons.iter().take(MAX_LISTED) { div { code { (r.code.as_str()) } " " (r.detail) } }
                                @if e.reasons.len() > MAX_LISTED { div class="muted" { "… " (e.reasons.len()) " reasons in all (" a href={ "/object/" (e.object) "?for=" (p) } { "explain" } ")" } }
                            }
                            td {
                                @for c in e.cut.iter().take(MAX_LISTED) { div { code { (c) } } }
                                @if e.cut.len() > MAX_LISTED { div class="muted" { "… " (e.cut.len()) " cuts in all" } }
                            }
                            @if officer {
                                td {
                                    @match held.get(e.object.as_str()) {
                                        Some(_) => (super::hold::lift_form(&signed, &e.object, p.as_str(), "queue")),
                                        None => (super::hold::hold_form(&signed, &e.object, Some(p.as_str()), (&[], None), "queue")),
                                    }
                                }
                            }
                        }
                    }
                }
            }
            (pager.nav(&path, &q))
        }
    };
    Ok(render(&format!("Release queue for {p}"), &signed, body))
}
