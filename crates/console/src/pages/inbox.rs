//! The inbox: every version partners sent us, newest first, with the label and grading it
//! came under, whether an independent source corroborates it and whether it is circular
//! reporting (from the curation engine, `liaison assess`); filters by partner, type and label
//! (a part of the banner line).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::Response;
use liaison_grading::Engine;
use liaison_labels::Party;
use liaison_policy::Markings;
use liaison_release::{Curated, Holdings, Node, ViewEntry};
use liaison_store::prelude::*;
use liaison_store::Stored;
use maud::html;
use serde::Deserialize;
use serde_json::Value;

use super::{given, labels_of, page_of, partners, query, render, Pager};
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
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row {
    added: String,
    version: String,
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
            let rows = st.inner.inbox(node, &all)?;
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
    let (pager, rows) = if filtered {
        page_of(
            all.iter(),
            Some(&keep as &dyn Fn(&Row) -> bool),
            f.page,
            size,
        )
    } else {
        // Found by position: no walk over the rows before the page.
        let pager = Pager::new(f.page, size, all.len());
        let rows = all.page(pager.range());
        (pager, rows)
    };
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

/// Past this many changes since the rows were last brought up to date, they are built whole.
const MAX_CHANGES: usize = 200_000;

/// Where a row sits: newest first, then by id, partner and version (a total order, so that
/// rows kept up to date and rows built whole are in the same order).
pub(crate) type RowKey = (Reverse<String>, String, String, String);

impl Row {
    fn key(&self) -> RowKey {
        (
            Reverse(self.added.clone()),
            self.id.clone(),
            self.partner.clone(),
            self.version.clone(),
        )
    }
}

/// The inbox's rows in order, with where each object's rows are.
#[derive(Debug, Clone, Default)]
pub(crate) struct Rows {
    /// Each row under a handle of its own.
    rows: HashMap<u64, Row>,
    /// The handles in the inbox's order.
    order: BTreeMap<RowKey, u64>,
    /// The handles by position (made again after each change), so that a page is found
    /// without walking the rows before it.
    positions: Vec<u64>,
    by_id: HashMap<String, Vec<RowKey>>,
    next: u64,
}

impl Rows {
    /// The rows, in order.
    pub(crate) fn iter(&self) -> impl ExactSizeIterator<Item = &Row> + Clone + '_ {
        self.positions
            .iter()
            .filter_map(|h| self.rows.get(h))
            .collect::<Vec<_>>()
            .into_iter()
    }

    pub(crate) fn len(&self) -> usize {
        self.positions.len()
    }

    /// The rows at positions `range` (clamped).
    pub(crate) fn page(&self, range: std::ops::Range<usize>) -> Vec<&Row> {
        let end = range.end.min(self.positions.len());
        self.positions
            .get(range.start.min(end)..end)
            .unwrap_or_default()
            .iter()
            .filter_map(|h| self.rows.get(h))
            .collect()
    }

    fn insert(&mut self, row: Row) {
        let key = row.key();
        let handle = self.next;
        self.next += 1;
        self.by_id
            .entry(row.id.clone())
            .or_default()
            .push(key.clone());
        if let Some(old) = self.order.insert(key, handle) {
            self.rows.remove(&old);
        }
        self.rows.insert(handle, row);
    }

    fn remove_id(&mut self, id: &str) {
        for key in self.by_id.remove(id).unwrap_or_default() {
            if let Some(h) = self.order.remove(&key) {
                self.rows.remove(&h);
            }
        }
    }

    /// Makes the positions again: after a change.
    fn reorder(&mut self) {
        self.positions.clear();
        self.positions.extend(self.order.values().copied());
    }

    /// Sets the corroboration and echo flags of `id`'s rows from `engine`.
    fn flag(&mut self, id: &str, engine: &Engine) {
        let Some(keys) = self.by_id.get(id) else {
            return;
        };
        let (corroborated, echo) = flags(engine, id);
        for key in keys {
            if let Some(r) = self.order.get(key).and_then(|h| self.rows.get_mut(h)) {
                r.corroborated = corroborated;
                r.echo.clone_from(&echo);
            }
        }
    }
}

/// The inbox kept up to date from the change feed: the rows, and the curation engine their
/// flags come from.
pub(crate) struct Inbox {
    rows: Arc<Rows>,
    curated: Curated,
    partners: Vec<Party>,
    /// The newest change the rows hold.
    through: i64,
    /// How many times the curation engine was built whole (the first time included).
    builds: u32,
}

impl Inbox {
    pub(crate) fn rows(&self) -> Arc<Rows> {
        Arc::clone(&self.rows)
    }

    #[cfg(test)]
    pub(crate) fn engine_len(&self) -> usize {
        self.curated.engine.len()
    }

    #[cfg(test)]
    pub(crate) fn builds(&self) -> u32 {
        self.builds
    }
}

#[cfg(test)]
impl Row {
    pub(crate) fn is_corroborated(&self) -> bool {
        self.corroborated
    }
}

/// Brings `inbox` up to `held` (current): built whole the first time, when the partners or
/// a marking-definition changed, or when too much changed; else the rows of each changed
/// object are made again, and the flags follow the curation engine's incremental
/// `Engine::add` and `Engine::remove` where that is exact (new objects, new versions and
/// deletions of objects nothing held cites; see `Node::curation_add`), the engine being
/// built whole otherwise.
pub(crate) fn follow<S: Store>(
    node: &mut Node<S>,
    held: &Holdings,
    partners: &[Party],
    inbox: &mut Option<Inbox>,
) -> Result<(), Refusal> {
    let through = held.through();
    if let Some(i) = inbox.as_mut().filter(|i| i.partners == partners) {
        if i.through >= through {
            return Ok(());
        }
        let store = node.store();
        let marking = store
            .changed_since(i.through, "marking-definition--")
            .map_err(Refusal::internal)?;
        let changes = store
            .changes_since(i.through, MAX_CHANGES + 1)
            .map_err(Refusal::internal)?;
        if !marking && changes.len() <= MAX_CHANGES {
            let ids: BTreeSet<String> = changes
                .into_iter()
                .filter(|(seq, _)| *seq <= through)
                .map(|(_, id)| id)
                .collect();
            let rows = Arc::make_mut(&mut i.rows);
            let markings = held.world().markings();
            for id in &ids {
                rows.remove_id(id);
                for s in node.store().versions(id).map_err(Refusal::internal)? {
                    let Some(p) = partners.iter().find(|p| p.as_str() == s.source) else {
                        continue;
                    };
                    rows.insert(row_of(p, &entry_of(&s), markings, &i.curated.engine));
                }
            }
            match node
                .curation_add(&mut i.curated, held, &ids)
                .map_err(Refusal::internal)?
            {
                Some(changed) => {
                    for id in changed.iter().chain(&ids) {
                        rows.flag(id, &i.curated.engine);
                    }
                }
                None => {
                    i.curated = node.curation().map_err(Refusal::internal)?;
                    i.builds += 1;
                    let all: Vec<String> = rows.by_id.keys().cloned().collect();
                    for id in all {
                        rows.flag(&id, &i.curated.engine);
                    }
                }
            }
            rows.reorder();
            i.through = through;
            return Ok(());
        }
    }
    let curated = node.curation().map_err(Refusal::internal)?;
    let rows = build(node, partners, held.world().markings(), &curated.engine)?;
    *inbox = Some(Inbox {
        rows: Arc::new(rows),
        curated,
        partners: partners.to_vec(),
        through,
        builds: inbox.as_ref().map_or(0, |i| i.builds) + 1,
    });
    Ok(())
}

/// A stored version as the inbox reads it.
fn entry_of(s: &Stored) -> ViewEntry {
    let o = &s.object;
    ViewEntry {
        id: o.id().to_string(),
        original: o.id().to_string(),
        object_type: o.object_type().to_owned(),
        version: o.version().cloned().unwrap_or_else(|| s.date_added.clone()),
        spec_version: o.spec_version().unwrap_or("2.1").to_owned(),
        date_added: s.date_added.clone(),
        json: o.raw().into(),
    }
}

fn flags(engine: &Engine, id: &str) -> (bool, Option<(String, Option<String>)>) {
    let echo = engine
        .echo(id)
        .map(|x| (x.kind.as_str().to_owned(), x.echoes));
    (engine.corroborated_by(id).is_some(), echo)
}

fn row_of(p: &Party, e: &ViewEntry, markings: &Markings, engine: &Engine) -> Row {
    let object: Value = serde_json::from_str(&e.json).unwrap_or(Value::Null);
    let (banners, grading) = labels_of(&object, markings);
    let name = object
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let (corroborated, echo) = flags(engine, &e.id);
    Row {
        corroborated,
        echo,
        added: e.date_added.to_string(),
        partner: p.to_string(),
        object_type: e.object_type.clone(),
        id: e.id.clone(),
        version: e.version.to_string(),
        name,
        banners,
        grading,
    }
}

/// Every version every partner sent, newest first, with the labels it came under: the
/// inbox built whole (`Node::inbound_view` of each partner).
pub(crate) fn build<S: Store>(
    node: &Node<S>,
    partners: &[Party],
    markings: &Markings,
    engine: &Engine,
) -> Result<Rows, Refusal> {
    let mut rows = Rows::default();
    for p in partners {
        let inbound = node.inbound_view(p).map_err(Refusal::internal)?;
        for e in inbound.entries {
            rows.insert(row_of(p, &e, markings, engine));
        }
    }
    rows.reorder();
    Ok(rows)
}

/// The inbox built whole from the store, as a reader with nothing kept would: what the rows
/// kept up to date must equal.
#[cfg(test)]
pub(crate) fn from_scratch<S: Store>(node: &Node<S>) -> Result<Rows, Refusal> {
    let all = partners(node)?;
    let markings = node.markings().map_err(Refusal::internal)?;
    let curated = node.curation().map_err(Refusal::internal)?;
    build(node, &all, &markings, &curated.engine)
}
