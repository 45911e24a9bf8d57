//! "View as partner": exactly what the partner's TAXII view holds (its stored rows, brought
//! up to date with `Node::ensure_view` and read with `Node::view_page`, as the TAXII server
//! reads them), under the ids the partner receives, with counts by type and a type filter as
//! TAXII's `match[type]`. Nothing else: not our ids, not the decisions, not what is
//! withheld.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use liaison_labels::Party;
use liaison_release::Node;
use liaison_store::prelude::*;
use maud::html;
use serde::Deserialize;

use super::{given, partner, partners, query, render, Pager};
use crate::auth::Signed;
use crate::error::Refusal;
use crate::state::ConsoleState;

/// GET /view: the partners.
pub(crate) async fn index<S: Store + Send + 'static>(
    State(state): State<ConsoleState<S>>,
    signed: Signed,
) -> Result<Response, Refusal> {
    let all = state.with_node(|node| partners(node)).await?;
    let body = html! {
        main {
            h1 { "View as partner" }
            p class="muted" { "Exactly what a partner's TAXII view holds, as it receives it." }
            ul { @for p in &all { li { a href={ "/view/" (p) } { (p) } } } }
        }
    };
    Ok(render("View as partner", &signed, body))
}

#[derive(Deserialize)]
pub(crate) struct Filters {
    #[serde(rename = "type")]
    object_type: Option<String>,
    page: Option<usize>,
}

/// One entry of a partner's view, as the page lists it (the copy itself is not kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line {
    added: String,
    id: String,
    object_type: String,
    version: String,
}

/// Every entry of `p`'s stored view, in `date_added` order, read in chunks from its rows.
pub(crate) fn lines<S: Store>(node: &Node<S>, p: &Party) -> Result<Vec<Line>, Refusal> {
    const CHUNK: usize = 10_000;
    let mut out = Vec::new();
    let mut at = 0i64;
    loop {
        let rows = node.view_page(p, at, CHUNK).map_err(Refusal::internal)?;
        let short = rows.len() < CHUNK;
        if let Some(last) = rows.last() {
            at = i64::try_from(last.date_added.unix_nanos() / 1000)
                .map_err(|_| Refusal::internal("date_added out of range"))?;
        }
        out.extend(rows.into_iter().map(|e| Line {
            added: e.date_added.to_string(),
            id: e.id,
            object_type: e.object_type,
            version: e.version.to_string(),
        }));
        if short {
            return Ok(out);
        }
    }
}

/// GET /view/{partner}.
pub(crate) async fn page<S: Store + Send + 'static>(
    State(state): State<ConsoleState<S>>,
    signed: Signed,
    Path(who): Path<String>,
    Query(f): Query<Filters>,
) -> Result<Response, Refusal> {
    let st = state.clone();
    let (p, view) = state
        .with_node(move |node| {
            let p = partner(node, &who)?;
            let view = st.inner.view(node, &p)?;
            Ok((p, view))
        })
        .await?;
    let mut by_type: BTreeMap<&str, usize> = BTreeMap::new();
    for e in view.iter() {
        *by_type.entry(e.object_type.as_str()).or_default() += 1;
    }
    let ty = given(&f.object_type);
    // Newest first, as the inbox.
    let keep = |e: &&Line| ty.is_none_or(|t| e.object_type == t);
    let total = match ty {
        Some(t) => by_type.get(t).copied().unwrap_or(0),
        None => view.len(),
    };
    let pager = Pager::new(f.page, state.config().page_size, total);
    let r = pager.range();
    let rows: Vec<&Line> = view
        .iter()
        .rev()
        .filter(keep)
        .skip(r.start)
        .take(r.len())
        .collect();
    let path = format!("/view/{p}");
    let q = query(&[("type", &f.object_type)]);
    let body = html! {
        main {
            h1 { "As " (p) " sees it" }
            p class="counts" {
                span { (view.len()) " objects in the view" }
                @for (t, n) in &by_type { span { (n) " " (t) } }
            }
            form class="filters" method="get" action=(path) {
                label { "Type"
                    select name="type" {
                        option value="" { "any" }
                        @for t in by_type.keys() {
                            option value=(t) selected[ty == Some(*t)] { (t) }
                        }
                    }
                }
                button type="submit" { "Filter" }
            }
            (pager.nav(&path, &q))
            table {
                thead { tr { th { "Added to the view" } th { "Id (as " (p) " receives it)" } th { "Type" } th { "Version" } } }
                tbody {
                    @for r in &rows {
                        tr {
                            td { (r.added) }
                            td class="id" { (r.id) }
                            td { (r.object_type) }
                            td { (r.version) }
                        }
                    }
                }
            }
            (pager.nav(&path, &q))
        }
    };
    Ok(render(&format!("As {p} sees it"), &signed, body))
}
