//! Tracing a leak: paste what leaked (a bundle, an object, a fragment, text copied out of
//! one), and see whom it accuses and on what evidence (`Node::trace`, as `liaison trace`).

use axum::extract::State;
use axum::response::Response;
use axum::Form;
use liaison_release::Trace;
use liaison_store::prelude::*;
use maud::{html, Markup};
use serde::Deserialize;

use super::render;
use crate::auth::Signed;
use crate::error::Refusal;
use crate::state::ConsoleState;

fn form(signed: &Signed) -> Markup {
    html! {
        form method="post" action="/trace" {
            input type="hidden" name="csrf" value=(signed.csrf);
            label class="wide" { "Leaked text" textarea name="leak" required {} }
            p { button type="submit" { "Trace" } }
        }
    }
}

/// GET /trace.
pub(crate) async fn form_page(signed: Signed) -> Result<Response, Refusal> {
    let body = html! {
        main {
            h1 { "Trace a leak" }
            p class="muted" { "Paste a leaked copy. Only recipients whose marks agree in two independent families are accused." }
            (form(&signed))
        }
    };
    Ok(render("Trace", &signed, body))
}

#[derive(Deserialize)]
pub(crate) struct LeakForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    leak: String,
}

/// POST /trace.
pub(crate) async fn trace<S: Store + Send + 'static>(
    State(state): State<ConsoleState<S>>,
    signed: Signed,
    Form(f): Form<LeakForm>,
) -> Result<Response, Refusal> {
    signed.check_csrf(&f.csrf)?;
    let trials = state.config().trace_trials;
    let t: Trace = state
        .with_node(move |node| {
            node.trace(&f.leak, trials, &mut |_, _| {})
                .map_err(Refusal::internal)
        })
        .await?;
    let body = html! {
        main {
            h1 { "Trace: " (t.verdict) }
            @if let Some(w) = &t.why_not { p class="muted" { (w) } }
            p class="counts" {
                span { (t.objects_read) " objects read" }
                span { (t.objects_matched) " matched to ours" }
                span { (t.ids_seen) " ids seen" }
                span { (t.erased) " positions erased" }
            }
            @if !t.accused.is_empty() {
                h2 { "Accused" }
                ul { @for s in &t.accused { li { strong { (s.recipient) } " — " (s.families.join(", "))
                    @if let Some(p) = s.p_value { " (p ≈ " (format!("{p:.2e}")) ")" } } } }
            }
            h2 { "Every recipient's evidence" }
            table {
                thead { tr { th { "Recipient" } th { "Accused" } th { "Families" } th { "Exact ids" } th { "Score" } th { "Threshold" } th { "Positions" } } }
                tbody { @for s in &t.recipients { tr {
                    td { (s.recipient) }
                    td { @if s.accused { span class="withhold" { "yes" } } @else { "no" } }
                    td { (s.families.join(", ")) }
                    td class="id" { @for i in s.exact_ids.iter().take(20) { div { (i) } } @if s.exact_ids.len() > 20 { "… " (s.exact_ids.len()) " in all" } }
                    td { (format!("{:.2}", s.score)) }
                    td { (format!("{:.2}", s.threshold)) }
                    td { (s.positions) }
                } } }
            }
            h2 { "Trace another" }
            (form(&signed))
        }
    };
    Ok(render("Trace", &signed, body))
}
