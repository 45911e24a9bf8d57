//! The liaison API for consents, beside TAXII: a partner posts a consent signed by its own
//! node key (a C2SP signed note, as `liaison consent sign` writes it) to
//! `POST /liaison/consents/`; the node checks the signature against the partner's
//! registered log key, records it and logs it.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use liaison_release::{consent_refusal, MAX_CONSENT_BYTES};
use liaison_store::prelude::*;
use liaison_taxii::ErrorKind;

use crate::auth::authenticate;
use crate::error::ApiError;
use crate::note::note_body;
use crate::state::AppState;

/// The consent routes, to merge into the router.
pub(crate) fn routes<S: Store + Send + 'static>() -> Router<AppState<S>> {
    Router::new().route("/liaison/consents/", post(post_consent::<S>))
}

/// `POST /liaison/consents/`: the body is one signed consent note (text/plain), signed by
/// the authenticated partner. 201 when accepted (or already on record).
async fn post_consent<S: Store + Send + 'static>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let sender = authenticate(&state, &headers).await?;
    let note = note_body(&headers, &body, MAX_CONSENT_BYTES, "a consent")?;
    let record = state
        .with_node(move |node| {
            node.accept_consent_from(&sender, &note)
                .map_err(|e| match consent_refusal(&e) {
                    Some(m) => ApiError::new(ErrorKind::BadRequest, m),
                    None => ApiError::internal(e),
                })
        })
        .await?;
    let body = serde_json::json!({
        "id": record.id,
        "object": record.object,
        "to": record.to,
        "by": record.by,
        "created": record.created,
    });
    let mut r = (StatusCode::CREATED, body.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(r)
}
