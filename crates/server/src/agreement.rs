//! The liaison API for agreements, beside TAXII: a partner fetches the terms we apply to it,
//! signed by us (`GET /liaison/agreement`), and sends them back countersigned by its own
//! node key (`POST /liaison/agreement`); the node checks both signatures, keeps the note
//! and logs it (see `liaison_release::AgreementNote`).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use liaison_release::{ReleaseError, MAX_AGREEMENT_BYTES};
use liaison_store::prelude::*;
use liaison_taxii::ErrorKind;

use crate::auth::authenticate;
use crate::error::ApiError;
use crate::note::note_body;
use crate::state::AppState;

/// The agreement routes, to merge into the router.
pub(crate) fn routes<S: Store + Send + 'static>() -> Router<AppState<S>> {
    Router::new().route(
        "/liaison/agreement",
        get(get_agreement::<S>).post(post_countersigned::<S>),
    )
}

fn json(status: StatusCode, body: &serde_json::Value) -> Response {
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// `GET /liaison/agreement`: the terms we apply to the authenticated partner, their text
/// and the signed note (with its countersignature once given).
async fn get_agreement<S: Store + Send + 'static>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let partner = authenticate(&state, &headers).await?;
    let who = partner.clone();
    let kept = state
        .with_node(move |node| node.offered_agreement(&who).map_err(ApiError::internal))
        .await?
        .ok_or_else(|| {
            ApiError::new(
                ErrorKind::NotFound,
                "no signed agreement for you yet (it is signed when the operator sets it)",
            )
        })?;
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({
            "partner": partner.as_str(),
            "sha256": kept.sha256,
            "text": kept.text,
            "note": kept.note,
        }),
    ))
}

/// `POST /liaison/agreement`: the body is our agreement note countersigned by the
/// authenticated partner (text/plain). 200 with `{"new": bool}` when accepted.
async fn post_countersigned<S: Store + Send + 'static>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let sender = authenticate(&state, &headers).await?;
    let note = note_body(
        &headers,
        &body,
        MAX_AGREEMENT_BYTES,
        "a countersigned agreement",
    )?;
    let new = state
        .with_node(move |node| {
            node.accept_agreement_countersignature(&sender, &note)
                .map_err(|e| match e {
                    ReleaseError::Agreement(m) => ApiError::new(ErrorKind::BadRequest, m),
                    other => ApiError::internal(other),
                })
        })
        .await?;
    Ok(json(StatusCode::OK, &serde_json::json!({ "new": new })))
}
