//! The server's limits and names. Every bound the style guide asks for lives here, with a
//! default that a small node can serve with.

use std::time::Duration;

/// Server configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The largest request body accepted, in octets; advertised as the API root's
    /// `max_content_length` (TAXII 2.1 section 4.2.1).
    pub max_content_length: u64,
    /// The most objects one page may hold, whatever `limit` asks for.
    pub max_page: usize,
    /// The page size when the request gives no `limit`.
    pub default_page: usize,
    /// The longest a request may take, body included.
    pub request_timeout: Duration,
    /// The most connections served at once; further clients wait to be accepted.
    pub max_connections: usize,
    /// How long a status resource is kept (TAXII asks for at least 24 hours).
    pub status_ttl: Duration,
    /// The most status resources kept per partner; the oldest go first.
    pub max_statuses_per_partner: usize,
    /// How long a verified secret is trusted without running Argon2 again.
    pub auth_cache_ttl: Duration,
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
            max_page: 1000,
            default_page: 100,
            request_timeout: Duration::from_secs(30),
            max_connections: 256,
            status_ttl: Duration::from_secs(25 * 3600),
            max_statuses_per_partner: 1000,
            auth_cache_ttl: Duration::from_secs(300),
            next_token_ttl: Duration::from_secs(3600),
            handshake_timeout: Duration::from_secs(10),
            title: "liaison".to_owned(),
        }
    }
}
