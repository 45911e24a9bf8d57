//! HTTP Basic authentication (RFC 7617; TAXII 2.1 section 1.6.9): the user name is the
//! partner's party code, the password its secret, checked by the node against the Argon2 hash
//! it keeps. Argon2 is slow by design, so a success is remembered for a few minutes, keyed by
//! the party and the SHA-256 of the stored hash and the secret (never the secret itself):
//! a new secret for the partner makes the old one fail at once. Failures are counted by
//! `throttle.rs`, which answers 429 once a source (or, only slowing, a party) has failed too
//! often; a login as an unknown party runs Argon2 against a dummy hash, so it costs the same
//! time as a wrong secret for a real partner.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use axum::http::{header, HeaderMap};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use liaison_labels::Party;
use liaison_store::prelude::*;
use liaison_taxii::ErrorKind;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::state::{AppState, MAX_AUTH_CACHE};

/// The longest `Authorization` value read; anything longer is refused unread.
const MAX_AUTHORIZATION: usize = 1024;

fn unauthorized() -> ApiError {
    ApiError::new(
        ErrorKind::Unauthorized,
        "authenticate with your party code and secret",
    )
}

/// The user and password of a Basic `Authorization` header, if it is one.
fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?;
    if value.len() > MAX_AUTHORIZATION {
        return None;
    }
    let value = value.to_str().ok()?.trim();
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(rest.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, pass) = text.split_once(':')?;
    Some((user.to_owned(), pass.to_owned()))
}

tokio::task_local! {
    /// The source address of the request being handled, set by the `observe` middleware
    /// from the connection (`ConnectInfo`). A request without one (driven in process, as
    /// tests do) counts as coming from `0.0.0.0`.
    pub(crate) static SOURCE: IpAddr;
}

fn source() -> IpAddr {
    SOURCE
        .try_with(|ip| *ip)
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

/// The authenticated partner, or 401; or 429 with `Retry-After` while the source (or the
/// party, from an address it never logged in from) must wait after failed logins.
pub(crate) async fn authenticate<S: Store + Send + 'static>(
    state: &AppState<S>,
    headers: &HeaderMap,
) -> Result<Party, ApiError> {
    let inner = &state.inner;
    let from = source();
    let fail = || {
        inner.metrics.auth_failure();
        unauthorized()
    };
    let Some((user, secret)) = basic(headers) else {
        return Err(fail());
    };
    let Ok(party) = Party::parse(&user) else {
        return Err(fail());
    };
    if party == inner.party || secret.is_empty() {
        return Err(fail());
    }
    let who = party.clone();
    // The stored hash is read under the node lock on every request (a point query), so a
    // secret that was changed or revoked stops working at once; Argon2 runs without the
    // lock, so a flood of wrong passwords does not stall every partner.
    let phc = state
        .with_node(move |node| {
            // An unknown party is a failed login like any other; so is a store that fails
            // (logged here, never told to the caller).
            Ok(node.credential(&who).unwrap_or_else(|e| {
                tracing::error!(error = %e, "cannot read a credential");
                None
            }))
        })
        .await?;
    let key = phc.as_ref().map(|phc| {
        let mut h = Sha256::new();
        h.update(phc.as_bytes());
        h.update([0]);
        h.update(secret.as_bytes());
        (party.clone(), <[u8; 32]>::from(h.finalize()))
    });
    let ttl = inner.config.auth_cache_ttl;
    if let Some(key) = &key {
        // A hit needs the right secret, so answering it before the back-off tells a
        // guesser nothing, and a partner keeps working while its address is throttled.
        let cache = inner
            .auth
            .lock()
            .map_err(|_| ApiError::internal("auth cache lock poisoned"))?;
        if cache.get(key).is_some_and(|at| at.elapsed() < ttl) {
            return Ok(party);
        }
    }
    // Attempts from one source take turns, so that each sees the failures before it.
    let _turn = inner.throttle.turn(from).await;
    if let Some(wait) = inner.throttle.check(from, party.as_str(), Instant::now()) {
        inner.metrics.auth_failure();
        tracing::info!(party = %party, source = %from, wait, "login throttled");
        return Err(ApiError::too_many(wait));
    }
    let known = phc.is_some();
    let phc = phc.unwrap_or_else(|| inner.dummy_phc.clone());
    let ok = tokio::task::spawn_blocking(move || liaison_release::verify_secret(&phc, &secret))
        .await
        .unwrap_or(false);
    let Some(key) = key.filter(|_| ok && known) else {
        inner.throttle.failed(from, party.as_str(), Instant::now());
        tracing::info!(party = %party, source = %from, "authentication failed");
        return Err(fail());
    };
    inner.throttle.succeeded(from, party.as_str());
    let mut cache = inner
        .auth
        .lock()
        .map_err(|_| ApiError::internal("auth cache lock poisoned"))?;
    if cache.len() >= MAX_AUTH_CACHE {
        let now = Instant::now();
        cache.retain(|_, at| now.duration_since(*at) < ttl);
        if cache.len() >= MAX_AUTH_CACHE {
            cache.clear();
        }
    }
    cache.insert(key, Instant::now());
    Ok(party)
}
