//! Partners' track records and framing (`liaison partner record`, `liaison framing`): how each
//! partner's reporting was graded over time, how often an independent source later
//! corroborated it or we contradicted it, and the characterisations it alone gives.

use axum::extract::State;
use axum::response::Response;
use liaison_grading::{Framing, Period, TrackRecord};
use liaison_store::prelude::*;
use maud::html;

use super::{partners, render};
use crate::auth::Signed;
use crate::error::Refusal;
use crate::state::ConsoleState;

fn counts(m: &std::collections::BTreeMap<String, u64>) -> String {
    if m.is_empty() {
        return "—".to_owned();
    }
    m.iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn rate(r: &liaison_grading::Rate) -> String {
    match r.value() {
        Some(v) => format!("{} of {} ({:.0} %)", r.count, r.of, v * 100.0),
        None => "—".to_owned(),
    }
}

/// GET /records.
pub(crate) async fn page<S: Store + Send + 'static>(
    State(state): State<ConsoleState<S>>,
    signed: Signed,
) -> Result<Response, Refusal> {
    let all: Vec<(TrackRecord, Framing)> = state
        .with_node(|node| {
            // One engine for every partner's record and framing.
            let curated = node.curation().map_err(Refusal::internal)?;
            Ok(partners(node)?
                .iter()
                .map(|p| (curated.record(p, Period::Month), curated.engine.framing(p)))
                .collect())
        })
        .await?;
    let body = html! {
        main {
            h1 { "Track records" }
            p class="muted" { "How each partner's reporting was graded, how often an independent source later corroborated it, and how often we contradicted it (an opinion of ours that disagrees); the counts behind every figure. Then where its characterisations diverge from every independent source's." }
            @for (r, f) in &all {
                h2 { (r.partner) }
                table {
                    thead { tr { th { "Month" } th { "Items" } th { "Reliability" } th { "Credibility" } th { "Ungraded" } th { "Corroborated" } th { "Contradicted" } } }
                    tbody {
                        @for p in r.periods.iter().rev().take(24).chain(std::iter::once(&r.total)) {
                            tr {
                                td { (p.period) }
                                td { (p.items) }
                                td { (counts(&p.reliability)) }
                                td { (counts(&p.credibility)) }
                                td { (p.ungraded) }
                                td { (rate(&p.corroborated)) }
                                td { (rate(&p.contradicted)) }
                            }
                        }
                    }
                }
                @if f.divergences.is_empty() {
                    p class="muted" { (r.partner) " characterises no entity in a way no independent source does." }
                } @else {
                    ul {
                        @for d in f.divergences.iter().take(20) {
                            li {
                                (d.summary(&r.partner))
                                ": "
                                @for (i, e) in d.entities.iter().take(10).enumerate() {
                                    @if i > 0 { ", " }
                                    (e.entity)
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(render("Track records", &signed, body))
}
