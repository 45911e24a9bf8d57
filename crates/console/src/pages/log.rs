//! Our transparency log: its size, root and latest signed checkpoint with the cosignatures
//! partners gave it; each partner's log as we last accepted it, and any fork evidence.

use axum::extract::State;
use axum::response::Response;
use liaison_store::prelude::*;
use maud::html;

use super::{clipped, partners, render};
use crate::auth::Signed;
use crate::error::Refusal;
use crate::state::ConsoleState;

struct PartnerLog {
    party: String,
    accepted: Option<u64>,
    forks: Vec<(String, String)>,
}

/// GET /log.
pub(crate) async fn page<S: Store + Send + 'static>(
    State(state): State<ConsoleState<S>>,
    signed: Signed,
) -> Result<Response, Refusal> {
    let (status, others) = state
        .with_node(|node| {
            let status = node.log_status().map_err(Refusal::internal)?;
            let mut others = Vec::new();
            for p in partners(node)? {
                let accepted = node
                    .store()
                    .partner_checkpoint(p.as_str())
                    .map_err(Refusal::internal)?
                    .map(|(size, _)| size);
                let forks = node
                    .forks(&p)
                    .map_err(Refusal::internal)?
                    .into_iter()
                    .map(|(at, v)| {
                        (
                            at,
                            clipped(serde_json::to_string_pretty(&v).unwrap_or_default(), 8192),
                        )
                    })
                    .take(20)
                    .collect();
                others.push(PartnerLog {
                    party: p.to_string(),
                    accepted,
                    forks,
                });
            }
            Ok((status, others))
        })
        .await?;
    let body = html! {
        main {
            h1 { "Transparency log" }
            dl {
                dt { "Origin" } dd { code { (status.origin) } }
                dt { "Entries" } dd { (status.size) }
                dt { "Root" } dd { code { (status.root) } }
                dt { "Verifier key" } dd { code { (status.verifier_key) } }
                dt { "Cosigner key" } dd { code { (status.cosigner_key) } }
            }
            h2 { "Latest checkpoint" }
            pre { (status.checkpoint) }
            h2 { "Cosignatures" }
            @if status.cosignatures.is_empty() { p class="muted" { "No partner has cosigned yet." } } @else {
                table {
                    thead { tr { th { "Cosigner" } th { "Size cosigned" } th { "Line" } } }
                    tbody { @for c in &status.cosignatures { tr {
                        td { (c.cosigner) } td { (c.size) } td class="id" { (c.line) }
                    } } }
                }
            }
            h2 { "Partners' logs" }
            table {
                thead { tr { th { "Partner" } th { "Checkpoint accepted" } th { "Fork evidence" } } }
                tbody { @for o in &others { tr {
                    td { (o.party) }
                    td { @match o.accepted { Some(s) => { "size " (s) }, None => "none yet" } }
                    td {
                        @if o.forks.is_empty() { "none" }
                        @for (at, ev) in &o.forks { details { summary { "found " (at) } pre { (ev) } } }
                    }
                } } }
            }
        }
    };
    Ok(render("Log", &signed, body))
}
