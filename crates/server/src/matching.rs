//! The liaison API for private matching, beside TAXII (DESIGN.md "Private matching"). An
//! authenticated partner with `[matching]` terms:
//! - `GET /liaison/match/` reads its terms and this epoch's state (JSON);
//! - `GET /liaison/match/epoch-set` fetches the set it matches against (binary wire form of
//!   `liaison_psi::EpochSet`), built once per epoch from its view and logged;
//! - `POST /liaison/match/evaluate` sends its blinded selectors (binary `EvaluationRequest`)
//!   and gets them evaluated with a proof (binary `EvaluationResponse`), charged and logged.
//!
//! Refusals are TAXII error bodies: 403 without matching terms, 413 over the agreed request
//! size, 429 with `Retry-After` (the next epoch) when the budget is spent, 422 for a replay,
//! 400 for anything malformed, stale or unpadded.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use liaison_labels::Party;
use liaison_psi::PsiError;
use liaison_release::{unix_now, EpochPublication, MatchError, ReleaseError};
use liaison_selectors::NORMALISER_VERSION;
use liaison_store::prelude::*;
use liaison_taxii::ErrorKind;

use crate::auth::authenticate;
use crate::error::ApiError;
use crate::state::AppState;

/// The matching routes, to merge into the router.
pub(crate) fn routes<S: Store + Send + 'static>() -> Router<AppState<S>> {
    Router::new()
        .route("/liaison/match/", get(info::<S>))
        .route("/liaison/match/epoch-set", get(epoch_set::<S>))
        .route("/liaison/match/evaluate", post(evaluate::<S>))
}

/// A refused matching step as the partner sees it; our own failures stay internal.
fn refusal(e: ReleaseError) -> ApiError {
    match e {
        ReleaseError::Matching(m) => {
            let kind = match &m {
                MatchError::NotAgreed(_) => ErrorKind::Forbidden,
                MatchError::Protocol(PsiError::Oversized { .. }) => ErrorKind::TooLarge,
                MatchError::Protocol(_) => ErrorKind::BadRequest,
                MatchError::Replayed => ErrorKind::Unprocessable,
                MatchError::Budget { retry_after, .. } => {
                    let mut error = ApiError::new(ErrorKind::TooManyRequests, m.to_string());
                    error.retry_after = Some(*retry_after);
                    return error;
                }
            };
            ApiError::new(kind, m.to_string())
        }
        other => ApiError::internal(other),
    }
}

/// This epoch's set for `asker`, from the cache while the epoch holds, else built: the view
/// and keys with the node, the evaluation without it (minutes for millions of selectors,
/// while other partners are served), the log entry with it again. Two first requests at once
/// may both build; each set is logged, and the later one is kept.
async fn publication<S: Store + Send + 'static>(
    state: &AppState<S>,
    asker: &Party,
) -> Result<Arc<EpochPublication>, ApiError> {
    let cached =
        |state: &AppState<S>, epoch: u64| -> Result<Option<Arc<EpochPublication>>, ApiError> {
            Ok(state
                .inner
                .match_sets
                .lock()
                .map_err(|_| ApiError::internal("matching cache lock poisoned"))?
                .get(asker)
                .filter(|p| p.epoch == epoch)
                .cloned())
        };
    let who = asker.clone();
    let terms = state
        .with_node(move |node| node.matching_terms(&who).map_err(refusal))
        .await?;
    if let Some(hit) = cached(state, terms.epoch_at(unix_now()))?.filter(|p| p.terms == terms) {
        return Ok(hit);
    }
    let who = asker.clone();
    let pending = state
        .with_node(move |node| node.collect_match_set(&who, unix_now()).map_err(refusal))
        .await?;
    let built = tokio::task::spawn_blocking(move || pending.build())
        .await
        .map_err(ApiError::internal)?
        .map_err(refusal)?;
    let published = Arc::new(
        state
            .with_node(move |node| node.log_match_set(built).map_err(refusal))
            .await?,
    );
    state
        .inner
        .match_sets
        .lock()
        .map_err(|_| ApiError::internal("matching cache lock poisoned"))?
        .insert(asker.clone(), Arc::clone(&published));
    Ok(published)
}

fn binary(body: Vec<u8>) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    r
}

/// `GET /liaison/match/`: the partner's terms and where it stands this epoch.
async fn info<S: Store + Send + 'static>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let asker = authenticate(&state, &headers).await?;
    let set = publication(&state, &asker).await?;
    let body = state
        .with_node(move |node| {
            let mine = node.match_budget(&asker, unix_now()).map_err(refusal)?;
            Ok(serde_json::json!({
                "epoch": set.epoch,
                "normaliser_version": NORMALISER_VERSION,
                "public_key": set.public_key,
                "epoch_set_sha256": set.sha256,
                "epoch_set_bytes": set.bytes.len(),
                "padded_size": set.padded_size,
                "log_index": set.log_index,
                "budget_per_epoch": mine.budget,
                "used": mine.used,
                "remaining": mine.budget.saturating_sub(mine.used),
                "max_set_size": mine.max_set_size,
                "next_epoch_in": mine.next_epoch_in,
            }))
        })
        .await?;
    let mut r = (StatusCode::OK, body.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(r)
}

/// `GET /liaison/match/epoch-set`: the set, as its wire form.
async fn epoch_set<S: Store + Send + 'static>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let asker = authenticate(&state, &headers).await?;
    let set = publication(&state, &asker).await?;
    Ok(binary(set.bytes.to_vec()))
}

/// `POST /liaison/match/evaluate`: a blinded request in, its evaluation out.
async fn evaluate<S: Store + Send + 'static>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let asker = authenticate(&state, &headers).await?;
    // The evaluation (seconds for a large request) runs without holding the node, so other
    // partners' requests go on meanwhile; the charge and the log entry take it again.
    let prepared = state
        .with_node(move |node| {
            node.prepare_match(&asker, &body, unix_now())
                .map_err(refusal)
        })
        .await?;
    let evaluated = tokio::task::spawn_blocking(move || prepared.evaluate())
        .await
        .map_err(ApiError::internal)?
        .map_err(refusal)?;
    let (response, count) = state
        .with_node(move |node| node.commit_match(evaluated).map_err(refusal))
        .await?;
    state.inner.metrics.evaluated(count);
    Ok(binary(response))
}
