/// Why a pull failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The URL or fingerprint given is not usable.
    #[error("{0}")]
    Config(String),
    /// The connection failed (network or TLS, including a certificate that does not match the
    /// pinned fingerprint).
    #[error("cannot reach `{url}`: {detail}")]
    Connect {
        /// Where.
        url: String,
        /// What happened.
        detail: String,
    },
    /// The partner took longer than a timeout allows.
    #[error("`{url}`: timed out {what} (after {} s)", .after.as_secs_f64())]
    Timeout {
        /// What was asked.
        url: String,
        /// What was going on: "connecting", "waiting for an answer", "in this session".
        what: &'static str,
        /// The timeout that ran out.
        after: std::time::Duration,
    },
    /// The partner answered with a TAXII error.
    #[error("`{url}` answered {status}: {title}{}", .description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Taxii {
        /// What was asked.
        url: String,
        /// HTTP status.
        status: u16,
        /// The error's title.
        title: String,
        /// Its description, if any.
        description: Option<String>,
        /// Its `Retry-After`, in seconds, if any.
        retry_after: Option<u16>,
    },
    /// The partner answered something that is not TAXII.
    #[error("`{url}`: {detail}")]
    Protocol {
        /// What was asked.
        url: String,
        /// What is wrong with the answer.
        detail: String,
    },
}
