//! Logging in and out, sessions and CSRF.
//!
//! - A session is a random 256-bit token in an `HttpOnly; SameSite=Strict` cookie (`Secure`
//!   over TLS); the server keeps only its SHA-256, with the operator, the role at login and
//!   the session's CSRF token. It ends after `session_idle` without use, `session_max` after
//!   login, at logout, or at the first request after its account was removed, given a new
//!   password or another role.
//! - Every form carries a CSRF token compared in constant time: the session's, or for the
//!   login form a token also set in a short-lived cookie (double submit), so that no other
//!   site can log a browser in under its own account. A POST without it is refused (403).
//! - A wrong password and an unknown name give the same answer after the same work: an
//!   unknown name is checked against a dummy Argon2 hash. A source that failed
//!   `login_failures` times within `login_window` is refused (429) until the window passes.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Instant;

use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use liaison_release::{verify_secret, Role, MAX_PASSWORD};
use liaison_store::prelude::*;
use maud::html;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::Refusal;
use crate::layout;
use crate::state::{lock, ConsoleState, Session};

/// The session cookie.
const SESSION_COOKIE: &str = "liaison_session";
/// The login form's double-submit cookie.
const LOGIN_COOKIE: &str = "liaison_login";
/// How long a login form stays usable.
const LOGIN_FORM_SECONDS: u64 = 600;
/// The longest cookie header read.
const MAX_COOKIE_HEADER: usize = 4096;

/// The operator a request comes from, with its session's CSRF token.
#[derive(Debug, Clone)]
pub(crate) struct Signed {
    pub(crate) operator: String,
    pub(crate) role: Role,
    pub(crate) csrf: String,
}

impl Signed {
    /// 403 unless the operator is a release officer.
    pub(crate) fn officer(&self) -> Result<(), Refusal> {
        match self.role {
            Role::Officer => Ok(()),
            Role::Analyst => Err(Refusal::Forbidden),
        }
    }

    /// 403 unless `token` is this session's CSRF token.
    pub(crate) fn check_csrf(&self, token: &str) -> Result<(), Refusal> {
        if same(token, &self.csrf) {
            Ok(())
        } else {
            tracing::info!(operator = %self.operator, "form refused: bad csrf token");
            Err(Refusal::Forbidden)
        }
    }
}

/// Constant-time equality of two tokens (their lengths are public).
fn same(a: &str, b: &str) -> bool {
    !a.is_empty() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// 32 random bytes, hex.
pub(crate) fn random_token() -> Result<String, Refusal> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(Refusal::internal)?;
    Ok(liaison_release::hex(&bytes))
}

fn session_key(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The value of cookie `name`, if the request carries it.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter(|v| v.len() <= MAX_COOKIE_HEADER)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn set_cookie(name: &str, value: &str, max_age: u64, secure: bool) -> Option<HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
    ))
    .ok()
}

impl<S: Store + Send + 'static> FromRequestParts<ConsoleState<S>> for Signed {
    type Rejection = Refusal;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ConsoleState<S>,
    ) -> Result<Signed, Refusal> {
        // A form sent without a session is refused as a form without its token is: 403.
        let refusal = if parts.method == Method::GET || parts.method == Method::HEAD {
            Refusal::NotLoggedIn
        } else {
            Refusal::Forbidden
        };
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(refusal);
        };
        let key = session_key(token);
        let config = &state.inner.config;
        let now = Instant::now();
        let (signed, account) = {
            let mut sessions = lock(&state.inner.sessions)?;
            let Some(session) = sessions.get_mut(&key) else {
                return Err(refusal);
            };
            if now.duration_since(session.seen) > config.session_idle
                || now.duration_since(session.created) > config.session_max
            {
                sessions.remove(&key);
                return Err(refusal);
            }
            session.seen = now;
            let signed = Signed {
                operator: session.operator.clone(),
                role: session.role,
                csrf: session.csrf.clone(),
            };
            (signed, session.account)
        };
        // The account as it is now: removed, re-keyed or given another role since login, the
        // session ends at once (a point query per request).
        let name = signed.operator.clone();
        let current = state
            .with_node(move |node| node.operator(&name).map_err(Refusal::internal))
            .await?;
        let still =
            current.is_some_and(|o| o.role == signed.role && account_key(&o.phc) == account);
        if !still {
            lock(&state.inner.sessions)?.remove(&key);
            tracing::info!(operator = %signed.operator, "session ended: the account changed");
            return Err(refusal);
        }
        Ok(signed)
    }
}

/// What a session remembers of the account's password hash.
fn account_key(phc: &str) -> [u8; 32] {
    Sha256::digest(phc.as_bytes()).into()
}

/// GET /login: the form, with a fresh double-submit token.
pub(crate) async fn login_form<S: Store + Send + 'static>(
    State(state): State<ConsoleState<S>>,
) -> Result<Response, Refusal> {
    login_page(&state, StatusCode::OK, None)
}

fn login_page<S: Store + Send + 'static>(
    state: &ConsoleState<S>,
    status: StatusCode,
    message: Option<&str>,
) -> Result<Response, Refusal> {
    let token = random_token()?;
    let body = html! {
        main class="login" {
            h1 { "liaison · " (state.inner.party) }
            @if let Some(m) = message { p class="error" role="alert" { (m) } }
            form method="post" action="/login" {
                input type="hidden" name="csrf" value=(token);
                label { "Name " input type="text" name="name" autocomplete="username" required; }
                label { "Password " input type="password" name="password" autocomplete="current-password" required; }
                button type="submit" { "Log in" }
            }
        }
    };
    let mut response = (status, layout::shell("Log in", None, body)).into_response();
    if let Some(c) = set_cookie(
        LOGIN_COOKIE,
        &token,
        LOGIN_FORM_SECONDS,
        state.inner.config.secure_cookies,
    ) {
        response.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(response)
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

/// The address a request comes from (set by the accept loop as `ConnectInfo`); driven in
/// process (tests), a request has none and counts as `0.0.0.0`.
pub(crate) struct Source(IpAddr);

impl<St: Send + Sync> FromRequestParts<St> for Source {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, _: &St) -> Result<Source, Refusal> {
        Ok(Source(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip()),
        ))
    }
}

/// The most sources whose failed logins are remembered at once.
const MAX_FAILING_SOURCES: usize = 4096;

/// Whether `source` has failed too often lately (its logins are refused meanwhile).
fn throttled<S: Store>(state: &ConsoleState<S>, source: IpAddr) -> Result<bool, Refusal> {
    let config = &state.inner.config;
    let mut failures = lock(&state.inner.failures)?;
    let now = Instant::now();
    failures.retain(|_, (_, first)| now.duration_since(*first) < config.login_window);
    Ok(failures
        .get(&source)
        .is_some_and(|(n, _)| *n >= config.login_failures))
}

fn failed<S: Store>(state: &ConsoleState<S>, source: IpAddr) -> Result<(), Refusal> {
    let mut failures = lock(&state.inner.failures)?;
    if failures.len() >= MAX_FAILING_SOURCES && !failures.contains_key(&source) {
        failures.clear();
    }
    failures.entry(source).or_insert((0, Instant::now())).0 += 1;
    Ok(())
}

/// POST /login.
pub(crate) async fn login<S: Store + Send + 'static>(
    State(state): State<ConsoleState<S>>,
    Source(source): Source,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, Refusal> {
    if !cookie(&headers, LOGIN_COOKIE).is_some_and(|c| same(c, &form.csrf)) {
        tracing::info!("login refused: bad csrf token");
        return Err(Refusal::Forbidden);
    }
    if throttled(&state, source)? {
        tracing::info!(%source, "console login throttled");
        return Err(Refusal::TooMany);
    }
    let inner = &state.inner;
    let _turn = inner.logins.acquire().await.map_err(Refusal::internal)?;
    let name = form.name.clone();
    let operator = state
        .with_node(move |node| {
            // A store failure is a failed login like any other (logged, never told).
            Ok(node.operator(&name).unwrap_or_else(|e| {
                tracing::error!(error = %e, "cannot read an operator");
                None
            }))
        })
        .await?;
    let phc = operator
        .as_ref()
        .map_or_else(|| inner.dummy_phc.clone(), |o| o.phc.clone());
    let mut password = form.password;
    // An over-long password is checked (against a truncated copy) all the same, so that the
    // answer takes the usual time; it can never match.
    let too_long = password.len() > MAX_PASSWORD;
    if too_long {
        password = password.chars().take(MAX_PASSWORD / 4).collect();
    }
    let ok = tokio::task::spawn_blocking(move || verify_secret(&phc, &password))
        .await
        .unwrap_or(false);
    let Some(operator) = operator.filter(|_| ok && !too_long) else {
        tracing::info!(name = %form.name, %source, "console login failed");
        failed(&state, source)?;
        return login_page(
            &state,
            StatusCode::UNAUTHORIZED,
            Some("Wrong name or password."),
        );
    };
    lock(&inner.failures)?.remove(&source);
    let token = random_token()?;
    let now = Instant::now();
    {
        let config = &inner.config;
        let mut sessions = lock(&inner.sessions)?;
        if sessions.len() >= config.max_sessions {
            sessions.retain(|_, s| {
                now.duration_since(s.seen) <= config.session_idle
                    && now.duration_since(s.created) <= config.session_max
            });
        }
        if sessions.len() >= config.max_sessions {
            tracing::warn!("console login refused: too many sessions");
            return Err(Refusal::Internal);
        }
        sessions.insert(
            session_key(&token),
            Session {
                operator: operator.name.clone(),
                role: operator.role,
                account: account_key(&operator.phc),
                csrf: random_token()?,
                created: now,
                seen: now,
            },
        );
    }
    let who = operator.name.clone();
    let role = operator.role;
    state
        .with_node(move |node| {
            node.record_audit(&who, "login", "", &format!("role {role}"))
                .map_err(Refusal::internal)
        })
        .await?;
    let secure = inner.config.secure_cookies;
    let mut response = Redirect::to("/inbox").into_response();
    let max_age = inner.config.session_max.as_secs();
    for c in [
        set_cookie(SESSION_COOKIE, &token, max_age, secure),
        set_cookie(LOGIN_COOKIE, "", 0, secure),
    ]
    .into_iter()
    .flatten()
    {
        response.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(response)
}

#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// POST /logout.
pub(crate) async fn logout<S: Store + Send + 'static>(
    State(state): State<ConsoleState<S>>,
    signed: Signed,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, Refusal> {
    signed.check_csrf(&form.csrf)?;
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        lock(&state.inner.sessions)?.remove(&session_key(token));
    }
    let who = signed.operator.clone();
    state
        .with_node(move |node| {
            node.record_audit(&who, "logout", "", "")
                .map_err(Refusal::internal)
        })
        .await?;
    let mut response = Redirect::to("/login").into_response();
    if let Some(c) = set_cookie(SESSION_COOKIE, "", 0, state.inner.config.secure_cookies) {
        response.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(response)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_by_exact_name() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("xliaison_session=1; liaison_session=abc; other=2"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, LOGIN_COOKIE), None);
    }

    #[test]
    fn empty_tokens_never_match() {
        assert!(!same("", ""));
        assert!(same("ab", "ab"));
        assert!(!same("ab", "ac"));
        assert!(!same("ab", "abc"));
    }
}
