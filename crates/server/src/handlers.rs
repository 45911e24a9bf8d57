//! The TAXII 2.1 endpoints (sections 4 and 5) and `/health`, and the router with its bounds;
//! `/metrics` is on the operators' router only. Order of checks on every TAXII endpoint: authentication (401), the collection
//! (404: another partner's collection is indistinguishable from an absent one), the
//! permission (403), `Accept` (406), then the request itself (400, 413, 415, 422).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{ConnectInfo, DefaultBodyLimit, MatchedPath, Path, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use liaison_labels::Party;
use liaison_release::{ReleaseError, ViewEntry};
use liaison_stix::{StixId, Timestamp};
use liaison_store::prelude::*;
use liaison_taxii::{
    accepts, content_type_ok, select_versions, taxii_time, ApiRoot, Collection, Collections,
    Discovery, Endpoint, Envelope, ErrorKind, ManifestRecord, NextToken, Query, Status,
    StatusDetails, StatusKind, VersionFilter, Versions, HEADER_DATE_ADDED_FIRST,
    HEADER_DATE_ADDED_LAST, STIX_MEDIA_TYPE, TAXII_MEDIA_TYPE,
};
use serde::Serialize;
use tower_http::timeout::TimeoutLayer;

use crate::auth::authenticate;
use crate::drain::Drain;
use crate::error::ApiError;
use crate::paging::{select, Page};
use crate::state::{micros, AppState, Indexed};

/// The API root's path; discovery lists it.
const API_ROOT: &str = "/liaison/";

/// The namespace of collection ids (UUIDv5): the same node, partner and direction always give
/// the same id, and nothing about one partner's ids tells another anything.
const COLLECTION_NAMESPACE: uuid::Uuid =
    uuid::Uuid::from_u128(0x7c1e_52a0_9d3b_5f46_8a21_c4e9_0b7d_3f58);

/// The router of the whole server over `state`.
pub fn app<S: Store + Send + 'static>(state: AppState<S>) -> Router {
    let config = state.config().clone();
    let body_limit = usize::try_from(config.max_content_length).unwrap_or(usize::MAX);
    let c = "/liaison/collections/{collection}";
    Router::new()
        // 4.1 Server Discovery
        .route("/taxii2/", get(discovery::<S>))
        // 4.2 API Root Information
        .route(API_ROOT, get(api_root::<S>))
        // 4.3 Get Status
        .route("/liaison/status/{status}/", get(status::<S>))
        // 5.1 Get Collections
        .route("/liaison/collections/", get(collections::<S>))
        // 5.2 Get a Collection
        .route(&format!("{c}/"), get(collection::<S>))
        // 5.3 Get Object Manifests
        .route(&format!("{c}/manifest/"), get(manifest::<S>))
        // 5.4 Get Objects, 5.5 Add Objects
        .route(
            &format!("{c}/objects/"),
            get(objects::<S>).post(add_objects::<S>),
        )
        // 5.6 Get an Object, 5.7 Delete an Object
        .route(
            &format!("{c}/objects/{{object}}/"),
            get(object::<S>).delete(delete_object::<S>),
        )
        // 5.8 Get Object Versions
        .route(
            &format!("{c}/objects/{{object}}/versions/"),
            get(versions::<S>),
        )
        .merge(crate::log::routes::<S>())
        .merge(crate::consent::routes::<S>())
        .merge(crate::agreement::routes::<S>())
        .merge(crate::matching::routes::<S>())
        .route("/health", get(health))
        .fallback(fallback)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            config.request_timeout,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), observe::<S>))
        .with_state(state)
}

/// Counts and times every request, makes its source address known to authentication, and
/// refuses a declared body over `max_content_length`
/// before a byte of it is read (section 5.5: 413).
async fn observe<S: Store + Send + 'static>(
    State(state): State<AppState<S>>,
    req: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let endpoint = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let method = req.method().as_str().to_owned();
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let source = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
    let drain = Drain {
        limit: state.config().drain_limit,
        timeout: state.config().drain_timeout,
    };
    let response = match declared {
        Some(n) if n > state.config().max_content_length => {
            // Answered unread; the body is read out while the answer goes, so that the
            // client, still writing it, gets to read the 413 (over TLS too).
            crate::drain::discard(req.into_body(), drain);
            too_large(&state).into_response()
        }
        _ => {
            let req = if req.method() == Method::POST {
                let (parts, body) = req.into_parts();
                Request::from_parts(parts, crate::drain::guarded(body, drain))
            } else {
                req
            };
            crate::auth::SOURCE.scope(source, next.run(req)).await
        }
    };
    let response = crate::error::sanitize(response);
    state.inner.metrics.request(
        &endpoint,
        &method,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

fn too_large<S: Store + Send + 'static>(state: &AppState<S>) -> ApiError {
    ApiError::new(
        ErrorKind::TooLarge,
        format!(
            "the body exceeds max_content_length ({} octets)",
            state.config().max_content_length
        ),
    )
}

async fn fallback() -> ApiError {
    ApiError::not_found()
}

/// Section 1.6.8: the response is TAXII 2.1 JSON; a request that does not accept it gets 406.
/// A request without `Accept` accepts anything (RFC 7231 section 5.3.2).
fn acceptable(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(value) = headers.get(header::ACCEPT) else {
        return Ok(());
    };
    match value.to_str() {
        Ok(v) if accepts(v, TAXII_MEDIA_TYPE) => Ok(()),
        _ => Err(ApiError::new(
            ErrorKind::NotAcceptable,
            format!("this server answers `{TAXII_MEDIA_TYPE}`"),
        )),
    }
}

/// A TAXII JSON response.
fn taxii(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(TAXII_MEDIA_TYPE),
    );
    r
}

fn json<T: Serialize>(status: StatusCode, value: &T) -> Result<Response, ApiError> {
    Ok(taxii(
        status,
        serde_json::to_string(value).map_err(ApiError::internal)?,
    ))
}

/// Authentication then `Accept`, for the endpoints outside collections.
async fn caller<S: Store + Send + 'static>(
    state: &AppState<S>,
    headers: &HeaderMap,
) -> Result<Party, ApiError> {
    let p = authenticate(state, headers).await?;
    acceptable(headers)?;
    Ok(p)
}

// ---------------------------------------------------------------------------------------
// Collections: exactly two per partner.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// What we release to the partner: its policy view. Read only.
    Outbound,
    /// What the partner sent us. It may add and delete, and reads only its own objects.
    Inbound,
}

impl Kind {
    fn alias(self) -> &'static str {
        match self {
            Kind::Outbound => "outbound",
            Kind::Inbound => "inbound",
        }
    }
}

fn collection_id(ours: &Party, partner: &Party, kind: Kind) -> String {
    let name = format!(
        "liaison taxii collection\0{ours}\0{partner}\0{}",
        kind.alias()
    );
    uuid::Uuid::new_v5(&COLLECTION_NAMESPACE, name.as_bytes()).to_string()
}

fn describe(ours: &Party, partner: &Party, kind: Kind) -> Collection {
    let (title, description, can_write) = match kind {
        Kind::Outbound => (
            format!("{ours} to {partner}"),
            format!("What {ours} releases to {partner} under the agreement, as cut for {partner}"),
            false,
        ),
        Kind::Inbound => (
            format!("{partner} to {ours}"),
            format!("What {partner} sends to {ours}; lists only what {partner} itself sent"),
            true,
        ),
    };
    Collection {
        id: collection_id(ours, partner, kind),
        title,
        description: Some(description),
        alias: Some(kind.alias().to_owned()),
        can_read: true,
        can_write,
        media_types: vec![STIX_MEDIA_TYPE.to_owned()],
    }
}

/// Which of the caller's collections `id` names (its id or its alias); `None` for anything
/// else, another partner's collections included.
fn kind_of<S: Store>(state: &AppState<S>, partner: &Party, id: &str) -> Option<Kind> {
    [Kind::Outbound, Kind::Inbound]
        .into_iter()
        .find(|k| id == k.alias() || id == collection_id(&state.inner.party, partner, *k))
}

/// Authentication, the collection (404), then `Accept`.
async fn open<S: Store + Send + 'static>(
    state: &AppState<S>,
    headers: &HeaderMap,
    collection: &str,
) -> Result<(Party, Kind), ApiError> {
    let p = authenticate(state, headers).await?;
    let kind = kind_of(state, &p, collection).ok_or_else(ApiError::not_found)?;
    acceptable(headers)?;
    Ok((p, kind))
}

// ---------------------------------------------------------------------------------------
// Section 4: server and API root.

/// 4.1 Server Discovery.
async fn discovery<S: Store + Send + 'static>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    caller(&state, &headers).await?;
    json(
        StatusCode::OK,
        &Discovery {
            title: state.config().title.clone(),
            description: Some(format!(
                "liaison node of {}: what its agreements release to you",
                state.inner.party
            )),
            contact: None,
            default: Some(API_ROOT.to_owned()),
            api_roots: vec![API_ROOT.to_owned()],
        },
    )
}

/// 4.2 API Root Information.
async fn api_root<S: Store + Send + 'static>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    caller(&state, &headers).await?;
    json(
        StatusCode::OK,
        &ApiRoot {
            title: format!("liaison {}", state.inner.party),
            description: Some("Per-partner views under the agreement".to_owned()),
            versions: vec![TAXII_MEDIA_TYPE.to_owned()],
            max_content_length: state.config().max_content_length,
        },
    )
}

/// 4.3 Get Status: only the partner whose request made it may read it.
async fn status<S: Store + Send + 'static>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let p = caller(&state, &headers).await?;
    let found = state
        .inner
        .statuses
        .lock()
        .map_err(|_| ApiError::internal("status lock poisoned"))?
        .get(&p, &id, state.config());
    let s = found.ok_or_else(ApiError::not_found)?;
    json(StatusCode::OK, s.as_ref())
}

// ---------------------------------------------------------------------------------------
// Section 5: collections and their content.

/// 5.1 Get Collections.
async fn collections<S: Store + Send + 'static>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let p = caller(&state, &headers).await?;
    let ours = &state.inner.party;
    json(
        StatusCode::OK,
        &Collections {
            collections: vec![
                describe(ours, &p, Kind::Outbound),
                describe(ours, &p, Kind::Inbound),
            ],
        },
    )
}

/// 5.2 Get a Collection.
async fn collection<S: Store + Send + 'static>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    Path(collection): Path<String>,
) -> Result<Response, ApiError> {
    let (p, kind) = open(&state, &headers, &collection).await?;
    json(StatusCode::OK, &describe(&state.inner.party, &p, kind))
}

/// What every listing endpoint starts from: the caller, its collection, the query, where
/// the page starts, and the part of the caller's view of that collection the page needs.
struct Listing {
    caller: Party,
    kind: Kind,
    endpoint: Endpoint,
    query: Query,
    after: Option<u64>,
    view: Arc<Indexed>,
}

/// Authenticates the caller, finds its collection, reads the query for `endpoint` (and the
/// position its `next` token carries) and the view; an `object` the caller may not see is
/// 404.
async fn listing<S: Store + Send + 'static>(
    state: &AppState<S>,
    headers: &HeaderMap,
    collection: &str,
    raw: Option<String>,
    endpoint: Endpoint,
    object: Option<&str>,
) -> Result<Listing, ApiError> {
    let (caller, kind) = open(state, headers, collection).await?;
    let query = parse_query(raw, endpoint)?;
    let after = position(state, &caller, kind.alias(), endpoint, &query, object)?;
    let view = match kind {
        Kind::Outbound => {
            state
                .outbound_window(&caller, &query, after, object, page_limit(state, &query))
                .await?
        }
        Kind::Inbound => state.inbound(&caller).await?,
    };
    if object.is_some_and(|o| !view.by_id.contains_key(o)) {
        return Err(ApiError::not_found());
    }
    Ok(Listing {
        caller,
        kind,
        endpoint,
        query,
        after,
        view,
    })
}

impl Listing {
    /// The page the query asks for (of `object`'s versions only, when given).
    fn page<S: Store + Send + 'static>(
        &self,
        state: &AppState<S>,
        object: Option<&str>,
    ) -> Result<Paged<'_>, ApiError> {
        paginate(
            state,
            &self.caller,
            self.kind.alias(),
            self.endpoint,
            &self.query,
            &self.view,
            self.after,
            object,
        )
    }
}

fn parse_query(raw: Option<String>, endpoint: Endpoint) -> Result<Query, ApiError> {
    Query::parse(raw.as_deref().unwrap_or(""), endpoint)
        .map_err(|e| ApiError::new(ErrorKind::BadRequest, e.to_string()))
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A page of `view` for `q`, with the `next` token for the following one. The token is bound
/// to the caller, the collection, the object (if any), the endpoint and the filters.
struct Paged<'a> {
    page: Page<'a>,
    next: Option<String>,
}

/// The page size `q` gets.
fn page_limit<S: Store + Send + 'static>(state: &AppState<S>, q: &Query) -> usize {
    let config = state.config();
    q.limit
        .unwrap_or(config.default_page)
        .min(config.max_page)
        .max(1)
}

/// What `next` tokens for this caller, collection, object, endpoint and filters are bound to.
fn token_scope(scope: &str, endpoint: Endpoint, q: &Query, only_id: Option<&str>) -> String {
    format!(
        "{scope}\0{}\0{endpoint:?}\0{}",
        only_id.unwrap_or(""),
        q.fingerprint()
    )
}

/// Where the page starts: the position `q`'s `next` token carries (checked), if any.
fn position<S: Store + Send + 'static>(
    state: &AppState<S>,
    caller: &Party,
    scope: &str,
    endpoint: Endpoint,
    q: &Query,
    only_id: Option<&str>,
) -> Result<Option<u64>, ApiError> {
    let fingerprint = token_scope(scope, endpoint, q, only_id);
    match &q.next {
        Some(token) => Ok(Some(
            NextToken::check(
                &state.inner.token_key,
                token,
                caller.as_str(),
                &fingerprint,
                now_unix(),
            )
            .map_err(|e| ApiError::new(ErrorKind::BadRequest, e.to_string()))?,
        )),
        None => Ok(None),
    }
}

#[allow(clippy::too_many_arguments)]
fn paginate<'a, S: Store + Send + 'static>(
    state: &AppState<S>,
    caller: &Party,
    scope: &str,
    endpoint: Endpoint,
    q: &Query,
    view: &'a Indexed,
    after: Option<u64>,
    only_id: Option<&str>,
) -> Result<Paged<'a>, ApiError> {
    let config = state.config();
    let limit = page_limit(state, q);
    let fingerprint = token_scope(scope, endpoint, q, only_id);
    let key = &state.inner.token_key;
    let page = select(view, q, after, only_id, limit);
    let next = match (page.more, page.items.last()) {
        (true, Some(last)) => {
            let ttl = i64::try_from(config.next_token_ttl.as_secs()).unwrap_or(3600);
            Some(NextToken::issue(
                key,
                caller.as_str(),
                &fingerprint,
                micros(&last.date_added)?,
                now_unix().saturating_add(ttl),
            ))
        }
        _ => None,
    };
    Ok(Paged { page, next })
}

/// Adds `X-TAXII-Date-Added-First` and `-Last` (section 3.2) for a non-empty page.
fn date_headers(mut r: Response, items: &[&ViewEntry]) -> Response {
    if let (Some(first), Some(last)) = (items.first(), items.last()) {
        for (name, e) in [
            (HEADER_DATE_ADDED_FIRST, first),
            (HEADER_DATE_ADDED_LAST, last),
        ] {
            if let Ok(v) = HeaderValue::from_str(&taxii_time(&e.date_added)) {
                r.headers_mut().insert(name, v);
            }
        }
    }
    r
}

/// An envelope (section 3.7) written directly: the objects are the delivered JSON text as is.
fn envelope(paged: &Paged<'_>) -> Result<String, ApiError> {
    let size: usize = paged.page.items.iter().map(|e| e.json.len() + 1).sum();
    let mut out = String::with_capacity(size + 200);
    out.push('{');
    let mut first = true;
    if paged.page.more {
        out.push_str("\"more\":true");
        first = false;
        if let Some(next) = &paged.next {
            out.push_str(",\"next\":");
            out.push_str(&serde_json::to_string(next).map_err(ApiError::internal)?);
        }
    }
    if !paged.page.items.is_empty() {
        if !first {
            out.push(',');
        }
        out.push_str("\"objects\":[");
        for (i, e) in paged.page.items.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&e.json);
        }
        out.push(']');
    }
    out.push('}');
    Ok(out)
}

/// 5.3 Get Object Manifests.
async fn manifest<S: Store + Send + 'static>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    Path(collection): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let l = listing(&state, &headers, &collection, raw, Endpoint::Manifest, None).await?;
    let paged = l.page(&state, None)?;
    let body = liaison_taxii::Manifest {
        more: paged.page.more,
        next: paged.next.clone(),
        objects: paged
            .page
            .items
            .iter()
            .map(|e| ManifestRecord {
                id: e.id.clone(),
                date_added: taxii_time(&e.date_added),
                version: e.version.as_str().to_owned(),
                media_type: Some(STIX_MEDIA_TYPE.to_owned()),
            })
            .collect(),
    };
    Ok(date_headers(
        json(StatusCode::OK, &body)?,
        &paged.page.items,
    ))
}

/// 5.4 Get Objects.
async fn objects<S: Store + Send + 'static>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    Path(collection): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let l = listing(&state, &headers, &collection, raw, Endpoint::Objects, None).await?;
    let paged = l.page(&state, None)?;
    state.inner.metrics.served(paged.page.items.len());
    let body = envelope(&paged)?;
    let r = date_headers(taxii(StatusCode::OK, body), &paged.page.items);
    log_header(&state, l.kind, r).await
}

/// 5.6 Get an Object. An object the caller may not see is absent: 404.
async fn object<S: Store + Send + 'static>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    Path((collection, object)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let l = listing(
        &state,
        &headers,
        &collection,
        raw,
        Endpoint::Object,
        Some(&object),
    )
    .await?;
    let paged = l.page(&state, Some(&object))?;
    state.inner.metrics.served(paged.page.items.len());
    let body = envelope(&paged)?;
    let r = date_headers(taxii(StatusCode::OK, body), &paged.page.items);
    log_header(&state, l.kind, r).await
}

/// On the outbound collection, `X-Liaison-Log-Size`: the size of our log, whose checkpoint
/// covers the delivery leaf of every object served (`/log/deliveries?id=` gives the proof).
async fn log_header<S: Store + Send + 'static>(
    state: &AppState<S>,
    kind: Kind,
    mut r: Response,
) -> Result<Response, ApiError> {
    if kind == Kind::Outbound {
        let size = crate::log::log_size(state).await?;
        r.headers_mut()
            .insert(crate::log::HEADER_LOG_SIZE, HeaderValue::from(size));
    }
    Ok(r)
}

/// 5.8 Get Object Versions.
async fn versions<S: Store + Send + 'static>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    Path((collection, object)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let l = listing(
        &state,
        &headers,
        &collection,
        raw,
        Endpoint::Versions,
        Some(&object),
    )
    .await?;
    let paged = l.page(&state, Some(&object))?;
    let body = Versions {
        more: paged.page.more,
        next: paged.next.clone(),
        versions: paged
            .page
            .items
            .iter()
            .map(|e| e.version.as_str().to_owned())
            .collect(),
    };
    Ok(date_headers(
        json(StatusCode::OK, &body)?,
        &paged.page.items,
    ))
}

/// 5.5 Add Objects: only to the caller's inbound collection. Ingest is synchronous, so the
/// status is complete at once; bad objects are refused one by one, good ones kept.
async fn add_objects<S: Store + Send + 'static>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    Path(collection): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let (p, kind) = open(&state, &headers, &collection).await?;
    if kind != Kind::Inbound {
        return Err(ApiError::new(
            ErrorKind::Forbidden,
            "this collection is read-only; send to your `inbound` collection",
        ));
    }
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type_ok(ct) {
        return Err(ApiError::new(
            ErrorKind::UnsupportedMediaType,
            format!("send `{TAXII_MEDIA_TYPE}`"),
        ));
    }
    let limit = usize::try_from(state.config().max_content_length).unwrap_or(usize::MAX);
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(e) => {
            let over = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
                || e.to_string().contains("length limit");
            return Err(if over {
                too_large(&state)
            } else {
                ApiError::new(ErrorKind::BadRequest, "the body could not be read")
            });
        }
    };
    let envelope: Envelope = serde_json::from_slice(&bytes).map_err(|e| {
        let kind = if e.is_data() {
            ErrorKind::Unprocessable
        } else {
            ErrorKind::BadRequest
        };
        ApiError::new(kind, format!("the body is not a TAXII envelope: {e}"))
    })?;
    let total = envelope.objects.len();
    let requested = Timestamp::now();
    let who = p.clone();
    let receipt = state
        .with_node(move |node| {
            let texts: Vec<&str> = envelope.objects.iter().map(|o| o.get()).collect();
            node.receive(&who, &texts).map_err(|e| match e {
                ReleaseError::Stix(_) | ReleaseError::Label { .. } => {
                    ApiError::new(ErrorKind::Unprocessable, e.to_string())
                }
                other => ApiError::internal(other),
            })
        })
        .await?;
    state.inner.metrics.received(receipt.successes.len());
    let status = Status {
        id: uuid::Uuid::new_v4().to_string(),
        status: StatusKind::Complete,
        request_timestamp: Some(taxii_time(&requested)),
        total_count: total as u64,
        success_count: receipt.successes.len() as u64,
        successes: receipt
            .successes
            .into_iter()
            .map(|(id, version)| StatusDetails {
                id,
                version: Some(version),
                message: None,
            })
            .collect(),
        failure_count: receipt.failures.len() as u64,
        failures: receipt
            .failures
            .into_iter()
            .map(|f| StatusDetails {
                id: f.id.unwrap_or_default(),
                version: f.version,
                message: Some(f.message),
            })
            .collect(),
        pending_count: 0,
        pendings: Vec::new(),
    };
    let response = json(StatusCode::ACCEPTED, &status)?;
    state
        .inner
        .statuses
        .lock()
        .map_err(|_| ApiError::internal("status lock poisoned"))?
        .insert(&p, status, state.config());
    Ok(response)
}

/// Whether the raw query names `match[version]` itself (rather than taking the default).
fn names_version(raw: Option<&str>) -> bool {
    raw.unwrap_or("").split('&').any(|pair| {
        let key = pair
            .split_once('=')
            .map_or(pair, |(k, _)| k)
            .to_ascii_lowercase();
        key == "match[version]" || key == "match%5bversion%5d"
    })
}

/// 5.7 Delete an Object: only from the caller's inbound collection, only what it sent.
/// Without `match[version]` every version goes; with it, the versions it selects.
async fn delete_object<S: Store + Send + 'static>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    Path((collection, object)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let (p, kind) = open(&state, &headers, &collection).await?;
    if kind != Kind::Inbound {
        return Err(ApiError::new(
            ErrorKind::Forbidden,
            "this collection is read-only",
        ));
    }
    let explicit = names_version(raw.as_deref());
    let q = parse_query(raw, Endpoint::Object)?;
    for (given, name) in [
        (q.added_after.is_some(), "added_after"),
        (q.limit.is_some(), "limit"),
        (q.next.is_some(), "next"),
    ] {
        if given {
            return Err(ApiError::new(
                ErrorKind::BadRequest,
                format!("query parameter `{name}` is not supported on this endpoint"),
            ));
        }
    }
    if StixId::parse(&object).is_err() {
        return Err(ApiError::not_found());
    }
    let view = state.inbound(&p).await?;
    let Some(indices) = view.by_id.get(&object) else {
        return Err(ApiError::not_found());
    };
    let mine: Vec<&ViewEntry> = indices
        .iter()
        .filter_map(|&i| view.entries.get(i))
        .filter(|e| {
            q.match_spec_version.is_empty() || q.match_spec_version.contains(&e.spec_version)
        })
        .collect();
    let filter = if explicit {
        q.match_version.clone()
    } else {
        VersionFilter::All
    };
    let chosen: Option<Vec<Timestamp>> =
        if filter == VersionFilter::All && q.match_spec_version.is_empty() {
            None
        } else {
            let picked: Vec<Timestamp> = select_versions(&filter, &mine, |e| &e.version)
                .into_iter()
                .map(|e| e.version.clone())
                .collect();
            if picked.is_empty() {
                return Err(ApiError::not_found());
            }
            Some(picked)
        };
    let who = p.clone();
    let deleted = state
        .with_node(move |node| {
            node.delete_received(&who, &object, chosen.as_deref())
                .map_err(ApiError::internal)
        })
        .await?;
    if deleted == 0 {
        return Err(ApiError::not_found());
    }
    Ok(taxii(StatusCode::OK, String::new()))
}

// ---------------------------------------------------------------------------------------
// Operations.

/// Liveness: no authentication, nothing about the node.
async fn health() -> Response {
    let mut r = (StatusCode::OK, "{\"status\":\"ok\"}").into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// The operators' router: `/metrics` (Prometheus) and `/health`, never on the partners' port.
/// Serve it on a separate listener on the operator's network (`liaison serve --metrics`,
/// loopback by default); it has no authentication of its own.
pub fn operator_app<S: Store + Send + 'static>(state: AppState<S>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics::<S>))
        .fallback(fallback)
        .with_state(state)
}

/// Prometheus metrics. The labels carry route patterns and status codes only: no partner,
/// object or collection id.
async fn metrics<S: Store + Send + 'static>(State(state): State<AppState<S>>) -> Response {
    match state.inner.metrics.encode() {
        Ok(text) => {
            let mut r = (StatusCode::OK, text).into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                ),
            );
            r
        }
        Err(e) => ApiError::internal(e).into_response(),
    }
}
