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
use liaison_store::Store;
use liaison_taxii::ErrorKind;

use crate::auth::authenticate;
use crate::error::ApiError;
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
    if let Some(ct) = headers.get(header::CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or_default();
        let essence = ct.split(';').next().unwrap_or_default().trim();
        if !essence.eq_ignore_ascii_case("text/plain") {
            return Err(ApiError::new(
                ErrorKind::UnsupportedMediaType,
                "a consent is a signed note sent as text/plain",
            ));
        }
    }
    if body.len() > MAX_CONSENT_BYTES {
        return Err(ApiError::new(
            ErrorKind::TooLarge,
            format!("a consent note is at most {MAX_CONSENT_BYTES} bytes"),
        ));
    }
    let note = std::str::from_utf8(&body)
        .map_err(|_| ApiError::new(ErrorKind::BadRequest, "the consent is not UTF-8"))?
        .to_owned();
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
