//! The server's limits and names. Every bound the style guide asks for lives here, with a
//! default that a small node can serve with.

use std::time::Duration;

/// Server configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The largest request body accepted, in octets; advertised as the API root's
    /// `max_content_length` (TAXII 2.1 section 4.2.1).
    pub max_content_length: u64,
    /// The most of a refused or unread request body read out (and thrown away) so that the
    /// client reads our answer, e.g. a 413; past it the connection closes.
    pub drain_limit: u64,
    /// The longest spent reading out such a body.
    pub drain_timeout: Duration,
    /// The most objects one page may hold, whatever `limit` asks for.
    pub max_page: usize,
    /// The page size when the request gives no `limit`.
    pub default_page: usize,
    /// The longest a request may take, body included.
    pub request_timeout: Duration,
    /// The longest a request waits for its partner's view to be computed whole (by the
    /// upkeep task) before it answers 503 with `Retry-After`: under `request_timeout`.
    pub view_wait: Duration,
    /// The `Retry-After` (seconds) of the 503 a request answers past `view_wait`.
    pub view_retry_after: u64,
    /// The longest a connection may wait for a complete request head: the first one after
    /// the handshake and each next one on a kept-alive connection. Idle connections close.
    pub request_head_timeout: Duration,
    /// The most established connections (handshake done) served at once; a connection
    /// beyond it waits up to `handshake_timeout` for a slot, then is closed.
    pub max_connections: usize,
    /// The most TLS handshakes in progress at once, apart from `max_connections`; when full,
    /// the oldest unfinished handshake is dropped to make room (see `admission.rs`).
    pub max_handshakes: usize,
    /// The most unfinished TLS handshakes from one source address; more are closed at once.
    pub max_handshakes_per_ip: usize,
    /// The most connections (handshaking or established) from one source address.
    pub max_connections_per_ip: usize,
    /// How long a status resource is kept (TAXII asks for at least 24 hours).
    pub status_ttl: Duration,
    /// The most status resources kept per partner; the oldest go first.
    pub max_statuses_per_partner: usize,
    /// How long a verified secret is trusted without running Argon2 again.
    pub auth_cache_ttl: Duration,
    /// Whether failed logins back off (see `throttle.rs`); off only to measure without it.
    pub auth_backoff: bool,
    /// Failed logins a source address may make before it must wait.
    pub auth_free_failures: u32,
    /// Failed logins for one party (from anywhere) before attempts for it from addresses it
    /// never logged in from are slowed.
    pub auth_party_free_failures: u32,
    /// The first wait; it doubles with each further failure.
    pub auth_backoff_base: Duration,
    /// The longest a source address is made to wait.
    pub auth_backoff_max: Duration,
    /// The longest attempts for one party are slowed (it only slows, never locks out).
    pub auth_party_backoff_max: Duration,
    /// Failures older than this (with none since) are forgotten.
    pub auth_failure_window: Duration,
    /// How long a `next` token stays valid.
    pub next_token_ttl: Duration,
    /// How long a TLS handshake may take.
    pub handshake_timeout: Duration,
    /// The discovery resource's title.
    pub title: String,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            max_content_length: 10 * 1024 * 1024,
            drain_limit: 64 * 1024 * 1024,
            drain_timeout: Duration::from_secs(10),
            max_page: 1000,
            default_page: 100,
            request_timeout: Duration::from_secs(30),
            view_wait: Duration::from_secs(20),
            view_retry_after: 10,
            request_head_timeout: Duration::from_secs(5),
            max_connections: 256,
            max_handshakes: 128,
            max_handshakes_per_ip: 8,
            max_connections_per_ip: 32,
            status_ttl: Duration::from_secs(25 * 3600),
            max_statuses_per_partner: 1000,
            auth_cache_ttl: Duration::from_secs(300),
            auth_backoff: true,
            auth_free_failures: 5,
            auth_party_free_failures: 20,
            auth_backoff_base: Duration::from_secs(1),
            auth_backoff_max: Duration::from_secs(60),
            auth_party_backoff_max: Duration::from_secs(5),
            auth_failure_window: Duration::from_secs(15 * 60),
            next_token_ttl: Duration::from_secs(3600),
            handshake_timeout: Duration::from_secs(5),
            title: "liaison".to_owned(),
        }
    }
}
