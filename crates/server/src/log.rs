//! The node's transparency log beside TAXII, for authenticated partners: the signed
//! checkpoint and the tiles at the C2SP tlog-tiles paths under `/log/`, inclusion proofs,
//! each partner's delivery leaves with their proofs, and cosignatures partners send back.
//!
//! Tiles and entry bundles carry only salted commitments (32 bytes per entry), readable by
//! every partner. A leaf's opening (its JSON and salt) is served only to the parties it
//! concerns, with its inclusion proof: to anyone else the index does not exist (404).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use liaison_labels::Party;
use liaison_log::{Opening, TileId, TileKind};
use liaison_release::ReleaseError;
use liaison_store::prelude::*;
use liaison_taxii::{ErrorKind, NextToken};
use serde::{Deserialize, Serialize};

use crate::auth::authenticate;
use crate::error::ApiError;
use crate::state::AppState;

/// The header on outbound collection responses: the size of the checkpoint that covers
/// every delivery served so far.
pub const HEADER_LOG_SIZE: &str = "X-Liaison-Log-Size";

/// The log's routes, to merge into the router.
pub(crate) fn routes<S: Store + Send + 'static>() -> Router<AppState<S>> {
    Router::new()
        .route("/log/checkpoint", get(checkpoint::<S>))
        .route("/log/tile/{*path}", get(tile::<S>))
        .route("/log/proof/{index}", get(proof::<S>))
        .route("/log/deliveries", get(deliveries::<S>))
        .route("/log/agreements", get(agreements::<S>))
        .route("/log/cosignature", post(cosignature::<S>))
}

fn plain(body: Vec<u8>, content_type: &'static str) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

fn json<T: Serialize>(value: &T) -> Result<Response, ApiError> {
    let body = serde_json::to_vec(value).map_err(ApiError::internal)?;
    Ok(plain(body, "application/json"))
}

/// `GET /log/checkpoint`: the latest signed checkpoint with its cosignatures.
async fn checkpoint<S: Store + Send + 'static>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    authenticate(&state, &headers).await?;
    let note = state
        .with_node(|node| {
            node.cosigned_checkpoint()
                .map(|cp| cp.as_bytes().to_vec())
                .map_err(ApiError::internal)
        })
        .await?;
    let mut r = plain(note, "text/plain; charset=utf-8");
    // C2SP tlog-tiles: the checkpoint changes as the log grows; caches may keep it a few
    // seconds at most. `private`: every log answer is for one authenticated partner.
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=2"),
    );
    Ok(r)
}

/// Whether the request says it takes gzip (`Accept-Encoding`, with a non-zero q).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or("");
            let q_zero = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !q_zero
        })
}

fn gzip(data: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(data.len() / 3),
        flate2::Compression::default(),
    );
    enc.write_all(data)?;
    enc.finish()
}

/// `GET /log/tile/<L>/<N>[.p/<W>]` and `/log/tile/entries/<N>[.p/<W>]`, in the tree of the
/// latest checkpoint. Tiles are immutable; a tile the tree does not have yet is 404.
async fn tile<S: Store + Send + 'static>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    Path(path): Path<String>,
) -> Result<Response, ApiError> {
    authenticate(&state, &headers).await?;
    let id = TileId::parse(&format!("tile/{path}")).map_err(|_| ApiError::not_found())?;
    let data = state
        .with_node(move |node| {
            let size = node
                .checkpoint()
                .map_err(ApiError::internal)?
                .checkpoint()
                .size();
            node.tile(&id, size).map_err(ApiError::internal)
        })
        .await?
        .ok_or_else(ApiError::not_found)?;
    // C2SP tlog-tiles: a tile (full or partial) never changes once served, so it may be kept
    // for long; entry bundles are compressible text and go out gzipped when accepted.
    let bundle = id.kind() == TileKind::Entries;
    let mut r = if bundle && accepts_gzip(&headers) {
        let mut r = plain(
            gzip(&data).map_err(ApiError::internal)?,
            "application/octet-stream",
        );
        r.headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        r
    } else {
        plain(data, "application/octet-stream")
    };
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=31536000, immutable"),
    );
    if bundle {
        r.headers_mut()
            .insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    }
    Ok(r)
}

/// An opening with its inclusion proof, as JSON: the leaf's index, the leaf (its JSON
/// text) and the salt (hex) that open the commitment logged at that index, the leaf hash
/// and audit path (base64), against the checkpoint served beside it. Verify:
/// `leaf_hash(sha256(domain || salt || leaf)) == leaf_hash`, then the path to the root.
#[derive(Debug, Serialize, Deserialize)]
pub struct ProofJson {
    /// The leaf index.
    pub index: u64,
    /// The leaf's JSON text (the opening).
    pub leaf: String,
    /// The salt of its commitment, hex.
    pub salt: String,
    /// The leaf hash (of the commitment), base64.
    pub leaf_hash: String,
    /// The audit path, base64 hashes.
    pub path: Vec<String>,
}

/// What `/log/proof/<index>`, `/log/deliveries` and `/log/agreements` answer. The lists
/// are paged: when `more`, ask again with `?next=<next>` (and the same `id`) for the
/// following page, proved against the same checkpoint as the first.
#[derive(Debug, Serialize, Deserialize)]
pub struct ProofsJson {
    /// The signed checkpoint the proofs verify against.
    pub checkpoint: String,
    /// The proofs.
    pub proofs: Vec<ProofJson>,
    /// Whether more follow.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub more: bool,
    /// The token of the next page, when `more`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// The leaves `select` picks in the tree of our checkpoint of `size` (the latest when
/// `None`), each opened and with its inclusion proof, and that checkpoint.
fn proved<S: Store>(
    node: &mut liaison_release::Node<S>,
    size: Option<u64>,
    select: impl FnOnce(&liaison_release::Node<S>, u64) -> Result<Vec<(u64, Opening)>, ApiError>,
) -> Result<(ProofsJson, u64), ApiError> {
    let cp = match size {
        Some(n) => node
            .checkpoint_at(n)
            .map_err(ApiError::internal)?
            .ok_or_else(|| ApiError::new(ErrorKind::BadRequest, "the `next` token is stale"))?,
        None => node.checkpoint().map_err(ApiError::internal)?,
    };
    let size = cp.checkpoint().size();
    let proofs = select(node, size)?
        .into_iter()
        .map(|(index, opening)| {
            let p = node.inclusion_proof_at(index, size)?;
            Ok(ProofJson {
                index,
                salt: opening.salt_hex(),
                leaf: String::from_utf8_lossy(&opening.leaf).into_owned(),
                leaf_hash: p.leaf_hash.to_string(),
                path: p.path.iter().map(ToString::to_string).collect(),
            })
        })
        .collect::<Result<_, ReleaseError>>()
        .map_err(ApiError::internal)?;
    Ok((
        ProofsJson {
            checkpoint: String::from_utf8_lossy(cp.as_bytes()).into_owned(),
            proofs,
            more: false,
            next: None,
        },
        size,
    ))
}

/// Where a page of a log list starts: the checkpoint size every page is proved against and
/// the index of the last leaf served (both below 2^32, packed into the token's position).
#[derive(Debug, Clone, Copy)]
struct Cursor {
    size: u64,
    after: u64,
}

const HALF: u32 = 32;

impl Cursor {
    fn pack(self) -> Result<u64, ApiError> {
        if self.size >> HALF != 0 || self.after >> HALF != 0 {
            return Err(ApiError::internal("log too large for a paging cursor"));
        }
        Ok(self.size << HALF | self.after)
    }

    fn unpack(position: u64) -> Cursor {
        Cursor {
            size: position >> HALF,
            after: position & u64::from(u32::MAX),
        }
    }
}

/// The page a log list request asks for: its `limit` (bounded by the server's page size)
/// and where it starts (from `next`, checked: issued to this caller for this list and
/// filter).
struct LogPage {
    limit: usize,
    cursor: Option<Cursor>,
    fingerprint: String,
}

fn log_page<S: Store + Send + 'static>(
    state: &AppState<S>,
    caller: &Party,
    list: &str,
    raw: Option<&str>,
    filter: &str,
) -> Result<LogPage, ApiError> {
    let config = state.config();
    let limit = match param(raw, "limit")? {
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| ApiError::new(ErrorKind::BadRequest, "bad `limit`"))?,
        None => config.default_page,
    }
    .min(config.max_page)
    .max(1);
    let fingerprint = format!("log\0{list}\0{filter}");
    let cursor = match param(raw, "next")? {
        Some(token) => Some(Cursor::unpack(
            NextToken::check(
                &state.inner.token_key,
                &token,
                caller.as_str(),
                &fingerprint,
                now_unix(),
            )
            .map_err(|e| ApiError::new(ErrorKind::BadRequest, e.to_string()))?,
        )),
        None => None,
    };
    Ok(LogPage {
        limit,
        cursor,
        fingerprint,
    })
}

/// One page of the leaves `select` gives, proved, with the token of the next page.
async fn paged_proofs<S, F>(
    state: &AppState<S>,
    caller: &Party,
    page: LogPage,
    select: F,
) -> Result<ProofsJson, ApiError>
where
    S: Store + Send + 'static,
    F: FnOnce(&liaison_release::Node<S>, u64) -> Result<Vec<(u64, Opening)>, ReleaseError>
        + Send
        + 'static,
{
    let LogPage {
        limit,
        cursor,
        fingerprint,
    } = page;
    let (mut body, size) = state
        .with_node(move |node| {
            proved(node, cursor.map(|c| c.size), |node, size| {
                let mut leaves: Vec<(u64, Opening)> = select(node, size)
                    .map_err(ApiError::internal)?
                    .into_iter()
                    .filter(|(i, _)| cursor.is_none_or(|c| *i > c.after))
                    .collect();
                leaves.sort_by_key(|(i, _)| *i);
                leaves.truncate(limit + 1);
                Ok(leaves)
            })
        })
        .await?;
    if body.proofs.len() > limit {
        body.proofs.truncate(limit);
        if let Some(last) = body.proofs.last() {
            let ttl = i64::try_from(state.config().next_token_ttl.as_secs()).unwrap_or(3600);
            let position = Cursor {
                size,
                after: last.index,
            }
            .pack()?;
            body.more = true;
            body.next = Some(NextToken::issue(
                &state.inner.token_key,
                caller.as_str(),
                &fingerprint,
                position,
                now_unix().saturating_add(ttl),
            ));
        }
    }
    Ok(body)
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// `GET /log/proof/<index>`: one leaf's opening and inclusion proof. A partner is given
/// only the openings of leaves that concern it (its deliveries, what it sent us, its
/// agreement, consents it gave or is named in); any other index is 404.
async fn proof<S: Store + Send + 'static>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    Path(index): Path<u64>,
) -> Result<Response, ApiError> {
    let p = authenticate(&state, &headers).await?;
    let body = state
        .with_node(move |node| {
            proved(node, None, |node, size| {
                if index >= size {
                    return Err(ApiError::not_found());
                }
                let opening = node
                    .opening_for(index, &p)
                    .map_err(ApiError::internal)?
                    .ok_or_else(ApiError::not_found)?;
                Ok(vec![(index, opening)])
            })
        })
        .await?
        .0;
    json(&body)
}

/// The value of `key` in a raw query string (ids and sizes need no percent-decoding; a
/// value with `%` is refused).
fn param(raw: Option<&str>, key: &str) -> Result<Option<String>, ApiError> {
    let Some(raw) = raw else { return Ok(None) };
    for pair in raw.split('&') {
        if let Some((k, v)) = pair.split_once('=') {
            if k == key {
                if v.contains('%') || v.len() > 200 {
                    return Err(ApiError::new(ErrorKind::BadRequest, format!("bad `{key}`")));
                }
                return Ok(Some(v.to_owned()));
            }
        }
    }
    Ok(None)
}

/// `GET /log/deliveries[?id=<object id>][&limit=N][&next=T]`: the caller's delivery leaves
/// (of one object), in log order, each with its inclusion proof against the latest
/// checkpoint (for every page, the checkpoint of the first). Paged like TAXII lists.
async fn deliveries<S: Store + Send + 'static>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let p = authenticate(&state, &headers).await?;
    let id = param(raw.as_deref(), "id")?;
    let page = log_page(
        &state,
        &p,
        "deliveries",
        raw.as_deref(),
        id.as_deref().unwrap_or(""),
    )?;
    // Bring the caller's view (and so its delivery leaves) up to date first.
    state.ensure_outbound(&p).await?;
    let who = p.clone();
    let body = paged_proofs(&state, &p, page, move |node, size| {
        node.deliveries(&who, id.as_deref(), size)
    })
    .await?;
    json(&body)
}

/// `GET /log/agreements[?limit=N][&next=T]`: the agreement leaves with the caller (our terms
/// for it and its terms for us, as signed), each with its inclusion proof. Paged.
async fn agreements<S: Store + Send + 'static>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let p = authenticate(&state, &headers).await?;
    let page = log_page(&state, &p, "agreements", raw.as_deref(), "")?;
    let who = p.clone();
    let body = paged_proofs(&state, &p, page, move |node, size| {
        node.agreement_leaves(&who, size)
    })
    .await?;
    json(&body)
}

/// `POST /log/cosignature[?size=N]`: a cosignature line over our checkpoint of size `N`
/// (the latest without it), by the cosigner key the operator registered for the caller.
/// Kept and 204, or 400 with the reason.
async fn cosignature<S: Store + Send + 'static>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let p = authenticate(&state, &headers).await?;
    let size = param(raw.as_deref(), "size")?
        .map(|s| s.parse::<u64>())
        .transpose()
        .map_err(|_| ApiError::new(ErrorKind::BadRequest, "bad `size`"))?;
    let line = std::str::from_utf8(&body)
        .map_err(|_| ApiError::new(ErrorKind::BadRequest, "the cosignature is not UTF-8"))?
        .to_owned();
    state
        .with_node(move |node| match node.accept_cosignature(&p, &line, size) {
            Ok(()) => Ok(()),
            Err(ReleaseError::Cosignature(m)) => Err(ApiError::new(ErrorKind::BadRequest, m)),
            Err(e) => Err(ApiError::internal(e)),
        })
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The log size to announce on an outbound response.
pub(crate) async fn log_size<S: Store + Send + 'static>(
    state: &AppState<S>,
) -> Result<u64, ApiError> {
    state
        .with_node(|node| node.log_size().map_err(ApiError::internal))
        .await
}
