//! The inbox: every version partners sent us, newest first, with the label and grading it
//! came under, whether an independent source corroborates it and whether it is circular
//! reporting (from the curation engine, `liaison assess`); filters by partner, type and label
//! (a part of the banner line).

use axum::extract::{Query, State};
use axum::response::Response;
use liaison_labels::Party;
use liaison_release::Node;
use liaison_store::Store;
use maud::html;
use serde::Deserialize;
use serde_json::Value;

use super::{given, labels_of, page_of, partners, query, render};
use crate::auth::Signed;
use crate::error::Refusal;
use crate::state::ConsoleState;

#[derive(Deserialize)]
pub(crate) struct Filters {
    partner: Option<String>,
    #[serde(rename = "type")]
    object_type: Option<String>,
    label: Option<String>,
    page: Option<usize>,
}

/// One version a partner sent, as the inbox lists it.
pub(crate) struct Row {
    added: String,
    partner: String,
    object_type: String,
    id: String,
    name: String,
    banners: Vec<String>,
    grading: Option<String>,
    /// Whether an independent source corroborates one of its claims.
    corroborated: bool,
    /// Its circular-reporting flag (`already-held`, `own-reporting`) and what it echoes.
    echo: Option<(String, Option<String>)>,
}

/// GET /inbox.
pub(crate) async fn page<S: Store + Send + 'static>(
    State(state): State<ConsoleState<S>>,
    signed: Signed,
    Query(f): Query<Filters>,
) -> Result<Response, Refusal> {
    let size = state.config().page_size;
    let partner = given(&f.partner).map(str::to_owned);
    let ty = given(&f.object_type).map(str::to_owned);
    let label = given(&f.label).map(str::to_lowercase);
    let st = state.clone();
    let (all_partners, all) = state
        .with_node(move |node| {
            let all = partners(node)?;
            let rows = st.inner.inbox(node, |node| rows(node, &all))?;
            Ok((all, rows))
        })
        .await?;
    let filtered = partner.is_some() || ty.is_some() || label.is_some();
    let keep = |r: &Row| {
        partner.as_deref().is_none_or(|p| r.partner == p)
            && ty.as_deref().is_none_or(|t| r.object_type == t)
            && label
                .as_deref()
                .is_none_or(|l| r.banners.iter().any(|b| b.to_lowercase().contains(l)))
    };
    let (pager, rows) = page_of(
        &all,
        filtered.then_some(&keep as &dyn Fn(&Row) -> bool),
        f.page,
        size,
    );
    let q = query(&[
        ("partner", &f.partner),
        ("type", &f.object_type),
        ("label", &f.label),
    ]);
    let body = html! {
        main {
            h1 { "Inbox" }
            p class="muted" { "What partners sent us, every version, newest first." }
            form class="filters" method="get" action="/inbox" {
                label { "Partner"
                    select name="partner" {
                        option value="" { "any" }
                        @for p in &all_partners {
                            option value=(p) selected[f.partner.as_deref() == Some(p.as_str())] { (p) }
                        }
                    }
                }
                label { "Type" input type="text" name="type" autocomplete="off" value=[f.object_type.as_deref()] placeholder="report"; }
                label { "Label contains" input type="text" name="label" autocomplete="off" value=[f.label.as_deref()] placeholder="SECRET"; }
                button type="submit" { "Filter" }
            }
            (pager.nav("/inbox", &q))
            table {
                thead { tr { th { "Added" } th { "From" } th { "Type" } th { "Object" } th { "Label" } th { "Grading" } th { "Corroborated" } th { "Circular" } } }
                tbody {
                    @for r in &rows {
                        tr {
                            td { (r.added) }
                            td { (r.partner) }
                            td { (r.object_type) }
                            td class="id" {
                                a href={ "/object/" (r.id) } { (r.id) }
                                @if !r.name.is_empty() { br; span { (r.name) } }
                            }
                            td { @for b in &r.banners { div { (b) } } }
                            td { (r.grading.as_deref().unwrap_or("—")) }
                            td { @if r.corroborated { span class="release" { "yes" } } @else { "—" } }
                            td {
                                @if let Some((kind, echoes)) = &r.echo {
                                    span class="withhold" { (kind) }
                                    @if let Some(x) = echoes { br; a class="id" href={ "/object/" (x) } { (x) } }
                                } @else { "—" }
                            }
                        }
                    }
                }
            }
            (pager.nav("/inbox", &q))
        }
    };
    Ok(render("Inbox", &signed, body))
}

/// Every version every partner sent, newest first, with the labels it came under.
fn rows<S: Store>(node: &Node<S>, partners: &[Party]) -> Result<Vec<Row>, Refusal> {
    let markings = node.markings().map_err(Refusal::internal)?;
    let curated = node.curation().map_err(Refusal::internal)?;
    let engine = &curated.engine;
    let mut rows = Vec::new();
    for p in partners {
        let inbound = node.inbound_view(p).map_err(Refusal::internal)?;
        for e in inbound.entries {
            let object: Value = serde_json::from_str(&e.json).unwrap_or(Value::Null);
            let (banners, grading) = labels_of(&object, &markings);
            let name = object
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let echo = engine
                .echo(&e.id)
                .map(|x| (x.kind.as_str().to_owned(), x.echoes));
            let corroborated = engine.corroborated_by(&e.id).is_some();
            rows.push(Row {
                corroborated,
                echo,
                added: e.date_added.to_string(),
                partner: p.to_string(),
                object_type: e.object_type,
                id: e.id,
                name,
                banners,
                grading,
            });
        }
    }
    rows.sort_by(|a, b| b.added.cmp(&a.added).then_with(|| a.id.cmp(&b.id)));
    Ok(rows)
}
