//! One object: its own label and effective label, the derivation chain behind it as a graph,
//! its versions, who received it and when (the delivery leaves of our log), and the decision
//! for a chosen partner explained (`Node::explain`), and the officers' holds standing on it.
//! A release officer can record our own consent to a partner here (the policy then decides
//! with it, as with any consent), hold the object from a partner with a reason, or lift a
//! hold (see `hold.rs`).

use std::collections::{BTreeMap, VecDeque};

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use liaison_release::{Explanation, Leaf};
use liaison_stix::StixId;
use liaison_store::prelude::*;
use maud::html;
use serde::Deserialize;
use serde_json::Value;

use super::{clipped, decision_class, describe, given, labels_of, partner, partners, render};
use crate::auth::Signed;
use crate::error::Refusal;
use crate::state::ConsoleState;
use crate::svg::{derivation_graph, GraphNode};

/// The most boxes drawn in a derivation graph.
const MAX_GRAPH: usize = 60;
/// The most of the stored JSON shown, versions listed and deliveries listed: the page stays
/// under 100 KB whatever the object.
const MAX_JSON: usize = 24 * 1024;
const MAX_VERSIONS: usize = 50;
const MAX_RECEIVED: usize = 100;
const MAX_REASONS: usize = 200;

#[derive(Deserialize)]
pub(crate) struct For {
    #[serde(rename = "for")]
    partner: Option<String>,
}

struct Version {
    version: String,
    added: String,
    source: String,
}

struct Received {
    partner: String,
    delivered: String,
    version: String,
    first: String,
    log_index: u64,
    decision: String,
}

struct ObjectPage {
    id: String,
    object_type: String,
    name: String,
    owner: String,
    banners: Vec<String>,
    grading: Option<String>,
    effective: String,
    graph: (Vec<GraphNode>, Vec<(usize, usize)>),
    versions: Vec<Version>,
    version_count: usize,
    received: Vec<Received>,
    partners: Vec<String>,
    chosen: Option<String>,
    explanation: Option<Result<Explanation, String>>,
    holds: Vec<liaison_store::HoldRecord>,
    json: String,
}

/// GET /object/{id}.
pub(crate) async fn page<S: Store + Send + 'static>(
    State(state): State<ConsoleState<S>>,
    signed: Signed,
    Path(id): Path<String>,
    Query(f): Query<For>,
) -> Result<Response, Refusal> {
    let chosen = given(&f.partner).map(str::to_owned);
    let us = state.inner.party.to_string();
    let o = state
        .with_node(move |node| {
            let id = StixId::parse(&id).map_err(|_| Refusal::NotFound)?.to_string();
            let store = node.store();
            let latest = store
                .latest(&id)
                .map_err(Refusal::internal)?
                .ok_or(Refusal::NotFound)?;
            let value: Value = serde_json::from_str(latest.object.raw()).unwrap_or(Value::Null);
            let markings = node.markings().map_err(Refusal::internal)?;
            let (mut banners, grading) = labels_of(&value, &markings);
            if let Some(assigned) = &latest.assigned_label {
                if let Some(Ok(l)) = markings.get(assigned.as_str()) {
                    banners.push(format!("{} (assigned on receipt)", l.banner));
                }
            }
            let world = node.world().map_err(Refusal::internal)?;
            let ix = world.lookup(&id);
            let owner = ix
                .and_then(|ix| world.owner(ix))
                .map_or_else(|| us.clone(), ToString::to_string);
            let effective = ix.map_or_else(|| "(not evaluated)".to_owned(), |ix| describe(world.effective(ix)));
            // The layered graph: breadth first over what each object derives from.
            let mut nodes = Vec::new();
            let mut edges = Vec::new();
            if let Some(ix) = ix {
                let mut index: BTreeMap<u32, usize> = BTreeMap::new();
                let mut queue = VecDeque::from([(ix, 0usize)]);
                index.insert(ix, 0);
                nodes.push((ix, 0));
                while let Some((n, layer)) = queue.pop_front() {
                    let Some(&from) = index.get(&n) else { continue };
                    for &p in world.parents(n) {
                        let to = match index.get(&p) {
                            Some(&t) => t,
                            None if nodes.len() < MAX_GRAPH => {
                                index.insert(p, nodes.len());
                                nodes.push((p, layer + 1));
                                queue.push_back((p, layer + 1));
                                nodes.len() - 1
                            }
                            None => continue,
                        };
                        edges.push((from, to));
                    }
                }
            }
            let graph_nodes = nodes
                .iter()
                .map(|&(n, layer)| {
                    let nid = world.id(n).to_owned();
                    GraphNode {
                        layer,
                        label: describe(world.own(n)),
                        held: world.is_held(n),
                        href: world.is_held(n).then(|| format!("/object/{nid}")),
                        title: nid,
                    }
                })
                .collect();
            let all_versions = store.versions(&id).map_err(Refusal::internal)?;
            let version_count = all_versions.len();
            // The newest ones.
            let versions = all_versions
                .into_iter()
                .rev()
                .take(MAX_VERSIONS)
                .map(|s| Version {
                    version: s.object.version().map(ToString::to_string).unwrap_or_default(),
                    added: s.date_added.to_string(),
                    source: s.source,
                })
                .collect();
            let all = partners(node)?;
            let size = node.log_size().map_err(Refusal::internal)?;
            let mut received = Vec::new();
            for p in &all {
                let firsts: Vec<(String, String)> = store
                    .releases(p.as_str())
                    .map_err(Refusal::internal)?
                    .into_iter()
                    .filter(|(rid, _, _)| *rid == id)
                    .map(|(_, v, first)| (v, first))
                    .collect();
                if firsts.is_empty() {
                    continue;
                }
                let delivered = node.delivered_id(p, &id).map_err(Refusal::internal)?;
                for (index, opening) in node
                    .deliveries(p, Some(&delivered), size)
                    .map_err(Refusal::internal)?
                {
                    if let Some(Leaf::Delivery { delivered, version, decision, .. }) =
                        Leaf::from_json(&opening.leaf)
                    {
                        let first = firsts
                            .iter()
                            .find(|(v, _)| *v == version || firsts.len() == 1)
                            .map(|(_, f)| f.clone())
                            .unwrap_or_default();
                        if received.len() >= MAX_RECEIVED {
                            break;
                        }
                        received.push(Received {
                            partner: p.to_string(),
                            delivered,
                            version,
                            first,
                            log_index: index,
                            decision,
                        });
                    }
                }
            }
            let explanation = match &chosen {
                Some(c) => {
                    let p = partner(node, c)?;
                    Some(node.explain(&id, &p).map_err(|e| match e {
                        liaison_release::ReleaseError::Party(m) if m.contains("came from") => {
                            format!("not decided for {p}: it came from {p}, and what a partner sends is not released back to it")
                        }
                        other => {
                            tracing::warn!(error = %other, "explain failed");
                            "cannot be explained".to_owned()
                        }
                    }))
                }
                None => None,
            };
            let holds = node
                .holds(None)
                .map_err(Refusal::internal)?
                .into_iter()
                .filter(|h| h.object == id)
                .collect();
            let json = clipped(
                serde_json::to_string_pretty(&value).unwrap_or_default(),
                MAX_JSON,
            );
            Ok(ObjectPage {
                object_type: latest.object.object_type().to_owned(),
                name: value.get("name").and_then(Value::as_str).unwrap_or_default().to_owned(),
                id,
                owner,
                banners,
                grading,
                effective,
                graph: (graph_nodes, edges),
                versions,
                version_count,
                received,
                partners: all.iter().map(ToString::to_string).collect(),
                chosen,
                explanation,
                holds,
                json,
            })
        })
        .await?;
    let officer = signed.officer().is_ok();
    let body = html! {
        main {
            h1 { (o.object_type) " " code { (o.id) } }
            @if !o.name.is_empty() { p { (o.name) } }
            dl {
                dt { "Owner" } dd { (o.owner) }
                dt { "Label" } dd { @for b in &o.banners { div { (b) } } @if o.banners.is_empty() { "(none of its own)" } }
                dt { "Grading" } dd { (o.grading.as_deref().unwrap_or("—")) }
                dt { "Effective label" } dd { (o.effective) }
            }
            h2 { "Derivation" }
            p class="muted" { "Each arrow points from an object to what it is derived from; the effective label is the join of them all." }
            (derivation_graph(&o.graph.0, &o.graph.1))
            h2 { "Versions" }
            table {
                thead { tr { th { "Version" } th { "Stored" } th { "From" } } }
                tbody { @for v in &o.versions { tr { td { (v.version) } td { (v.added) } td { (v.source) } } } }
            }
            @if o.version_count > o.versions.len() {
                p class="muted" { "The newest " (o.versions.len()) " of " (o.version_count) " versions." }
            }
            h2 { "Received by" }
            @if o.received.is_empty() { p class="muted" { "No partner has received it." } } @else {
                table {
                    thead { tr { th { "Partner" } th { "Delivered as" } th { "Version" } th { "Entered its view" } th { "Log entry" } th { "Decision" } } }
                    tbody {
                        @for r in &o.received {
                            tr {
                                td { (r.partner) }
                                td class="id" { (r.delivered) }
                                td { (r.version) }
                                td { (r.first) }
                                td { (r.log_index) }
                                td class=(decision_class(&r.decision)) { (r.decision) }
                            }
                        }
                    }
                }
            }
            h2 { "Explain for a partner" }
            form class="filters" method="get" action={ "/object/" (o.id) } {
                label { "Partner"
                    select name="for" {
                        @for p in &o.partners { option value=(p) selected[o.chosen.as_deref() == Some(p.as_str())] { (p) } }
                    }
                }
                button type="submit" { "Explain" }
            }
            @match &o.explanation {
                Some(Ok(x)) => {
                    p { "Decision for " (o.chosen.as_deref().unwrap_or_default()) ": "
                        span class=(decision_class(x.decision.decision.as_str())) { (x.decision.decision.as_str()) } }
                    ul {
                        @for r in x.decision.reasons.iter().take(MAX_REASONS) { li { code { (r.code.as_str()) } " " (r.detail) } }
                        @if x.decision.reasons.len() > MAX_REASONS { li class="muted" { "… " (x.decision.reasons.len()) " reasons in all (`liaison explain` lists them all)" } }
                    }
                    @if !x.decision.cut.is_empty() {
                        p { "Cut: " @for c in x.decision.cut.iter().take(MAX_REASONS) { code { (c) } " " }
                            @if x.decision.cut.len() > MAX_REASONS { "… " (x.decision.cut.len()) " in all" } }
                    }
                    @if let Some(t) = &x.decision.tearline { p { "Goes as its tear line " a href={ "/object/" (t) } { code { (t) } } } }
                    @if let Some(d) = &x.fingerprinted_as { p { "Delivered as " code { (d) } } }
                    @if !x.derivations.is_empty() {
                        table {
                            thead { tr { th { "Derived from" } th { "Through" } th { "Counted" } } }
                            tbody { @for d in &x.derivations { tr {
                                td class="id" { (d.source) } td class="id" { (d.relationship) }
                                td { @if d.counted { "yes" } @else { (d.note.as_deref().unwrap_or("no")) } }
                            } } }
                        }
                    }
                    table {
                        thead { tr { th { "Depth" } th { "Object" } th { "Own label" } th { "Originator" } } }
                        tbody { @for l in &x.chain { tr {
                            td { (l.depth) } td class="id" { (l.object) } td { (l.label) }
                            td { (l.originator.as_deref().unwrap_or("—")) @if !l.held { " (not held)" } }
                        } } }
                    }
                }
                Some(Err(m)) => p class="muted" { (m) },
                None => {}
            }
            h2 { "Holds" }
            @if o.holds.is_empty() { p class="muted" { "Not held from any partner." } } @else {
                table {
                    thead { tr { th { "Held from" } th { "By" } th { "Since" } th { "Reason" } @if officer { th {} } } }
                    tbody { @for h in &o.holds { tr {
                        td { (h.partner) } td { (h.by) } td { (h.created) } td { (h.reason) }
                        @if officer { td { (super::hold::lift_form(&signed, &o.id, &h.partner, "object")) } }
                    } } }
                }
            }
            @if officer {
                h2 { "Hold (release officers)" }
                p class="muted" { "Withholds this object, and what derives from it, from a partner until the hold is lifted, with your name and the reason on every decision it causes. A hold only ever withholds more; lifting it lets the policy decide as before." }
                (super::hold::hold_form(&signed, &o.id, None, (&o.partners, o.chosen.as_deref()), "object"))
                h2 { "Consent (release officers)" }
                p class="muted" { "Records our own signed consent to release this object, and what derives from it, to a partner. The policy then decides with it; nothing goes around the policy." }
                form method="post" action={ "/object/" (o.id) "/consent" } {
                    input type="hidden" name="csrf" value=(signed.csrf);
                    label { "To"
                        select name="to" { @for p in &o.partners { option value=(p) { (p) } } }
                    }
                    button type="submit" { "Record our consent" }
                }
            }
            h2 { "As stored" }
            pre { (o.json) }
        }
    };
    Ok(render(&o.id, &signed, body))
}

#[derive(Deserialize)]
pub(crate) struct ConsentForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    to: String,
}

/// POST /object/{id}/consent (release officers): our own consent, through the policy.
pub(crate) async fn consent<S: Store + Send + 'static>(
    State(state): State<ConsoleState<S>>,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form<ConsentForm>,
) -> Result<Response, Refusal> {
    signed.check_csrf(&form.csrf)?;
    signed.officer()?;
    let who = signed.operator.clone();
    let (id, to) = state
        .with_node(move |node| {
            let id = super::hold::held_id(node, &id)?;
            let to = partner(node, &form.to).map_err(|_| Refusal::BadRequest)?;
            let us = node.party().clone();
            let record = node.add_own_consent(&id, &to, &us).map_err(|e| {
                tracing::info!(error = %e, "consent refused");
                Refusal::BadRequest
            })?;
            node.record_audit(
                &who,
                "consent",
                &id,
                &format!("to {to} (consent {})", record.id),
            )
            .map_err(Refusal::internal)?;
            Ok((id, to))
        })
        .await?;
    // Back to the object, with the decision for that partner explained: the consent's effect
    // (or that the policy still withholds it) is the first thing the officer sees.
    Ok(Redirect::to(&format!("/object/{id}?for={to}")).into_response())
}
