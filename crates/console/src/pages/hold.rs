//! A release officer's hold and its lifting ("release" on the queue), from an object's page
//! or the release queue: the same `Node::hold` and `Node::lift_hold` as `liaison hold`. A
//! hold is one more restrictive input to the policy (it only adds a withhold, with the
//! officer and the reason), so nothing here goes around the policy; lifting it lets the
//! policy decide as before. Officers only (an analyst gets the same 403 as a bad token),
//! every form with its CSRF token, every hold and lift written to the audit list.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use liaison_stix::StixId;
use liaison_store::prelude::*;
use maud::{html, Markup};
use serde::Deserialize;

use super::{encode, partner};
use crate::auth::Signed;
use crate::error::Refusal;
use crate::state::ConsoleState;

#[derive(Deserialize)]
pub(crate) struct HoldForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    reason: String,
    /// `queue` to go back to the partner's release queue; the object's page otherwise.
    #[serde(default)]
    back: String,
}

/// Where to go after acting: the queue the form was on, or the object explained for `to`.
fn back_to(back: &str, id: &str, to: &str) -> Response {
    let to_url = if back == "queue" {
        format!("/queue/{to}")
    } else {
        format!("/object/{id}?for={to}")
    };
    Redirect::to(&to_url).into_response()
}

/// The object's id if it is held, else 404.
pub(crate) fn held_id<S: Store>(
    node: &liaison_release::Node<S>,
    id: &str,
) -> Result<String, Refusal> {
    let id = StixId::parse(id)
        .map_err(|_| Refusal::NotFound)?
        .to_string();
    match node.store().latest(&id) {
        Ok(Some(_)) => Ok(id),
        Ok(None) => Err(Refusal::NotFound),
        Err(e) => Err(Refusal::internal(e)),
    }
}

/// A hold or a lift.
#[derive(Clone, Copy)]
enum Act {
    Hold,
    Lift,
}

/// POST /object/{id}/hold (release officers): hold it from a partner, with a reason.
pub(crate) async fn hold<S: Store + Send + 'static>(
    state: State<ConsoleState<S>>,
    signed: Signed,
    id: Path<String>,
    form: Form<HoldForm>,
) -> Result<Response, Refusal> {
    act(Act::Hold, state, signed, id, form).await
}

/// POST /object/{id}/lift (release officers): lift the hold for a partner ("release").
pub(crate) async fn lift<S: Store + Send + 'static>(
    state: State<ConsoleState<S>>,
    signed: Signed,
    id: Path<String>,
    form: Form<HoldForm>,
) -> Result<Response, Refusal> {
    act(Act::Lift, state, signed, id, form).await
}

async fn act<S: Store + Send + 'static>(
    what: Act,
    State(state): State<ConsoleState<S>>,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form<HoldForm>,
) -> Result<Response, Refusal> {
    signed.check_csrf(&form.csrf)?;
    signed.officer()?;
    let who = signed.operator.clone();
    let (id, to) = state
        .with_node(move |node| {
            let id = held_id(node, &id)?;
            let to = partner(node, &form.to).map_err(|_| Refusal::BadRequest)?;
            // The node writes the audit entry with the hold or the lift.
            let done = match what {
                Act::Hold => node.hold(&id, &to, &who, &form.reason, &who).map(|_| ()),
                Act::Lift => node.lift_hold(&id, &to, &who).map(|_| ()),
            };
            done.map_err(|e| {
                tracing::info!(error = %e, "hold or lift refused");
                Refusal::BadRequest
            })?;
            Ok((id, to))
        })
        .await?;
    Ok(back_to(&form.back, &id, to.as_str()))
}

/// The Hold form for `id` (to `to`, or a choice of `partners` with `chosen` selected), for an
/// officer.
pub(crate) fn hold_form(
    signed: &Signed,
    id: &str,
    to: Option<&str>,
    (partners, chosen): (&[String], Option<&str>),
    back: &str,
) -> Markup {
    html! {
        form class="hold" method="post" action={ "/object/" (encode(id)) "/hold" } {
            input type="hidden" name="csrf" value=(signed.csrf);
            input type="hidden" name="back" value=(back);
            @match to {
                Some(p) => { input type="hidden" name="to" value=(p); }
                None => label { "From"
                    select name="to" { @for p in partners { option value=(p) selected[chosen == Some(p.as_str())] { (p) } } }
                },
            }
            label { "Reason"
                input type="text" name="reason" required maxlength=(liaison_release::MAX_HOLD_REASON) placeholder="why it is held";
            }
            button type="submit" { "Hold" }
        }
    }
}

/// The Release button lifting the hold on `id` for `to`, for an officer.
pub(crate) fn lift_form(signed: &Signed, id: &str, to: &str, back: &str) -> Markup {
    html! {
        form class="lift" method="post" action={ "/object/" (encode(id)) "/lift" } {
            input type="hidden" name="csrf" value=(signed.csrf);
            input type="hidden" name="back" value=(back);
            input type="hidden" name="to" value=(to);
            button type="submit" { "Release (lift the hold)" }
        }
    }
}
