//! Errors: [`ServerError`] for setting the server up, and the HTTP error that every handler
//! returns, which always becomes a TAXII error message (section 3.6.1) and never names
//! internals or withheld objects.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use liaison_taxii::{ErrorKind, ErrorMessage, TAXII_MEDIA_TYPE};

/// Why the server could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Reading or writing a file.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A certificate or key that cannot be used.
    #[error("{0}")]
    Tls(String),
}

/// All a partner learns of a failure of ours.
pub(crate) const INTERNAL: &str = "internal error";

/// Makes every error answer a TAXII error message with nothing of ours in it: an error that
/// did not come from a handler's [`ApiError`] (a rejection by an extractor, the timeout
/// layer, anything else) is replaced by one with a generic description, and any 5xx says
/// only "internal error" (its detail was logged where it happened).
pub(crate) fn sanitize(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let taxii = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == TAXII_MEDIA_TYPE.as_bytes());
    // Ours: a client error, or 503 (a view being computed, with how far it has gone).
    if taxii && (status.is_client_error() || status == StatusCode::SERVICE_UNAVAILABLE) {
        return response;
    }
    let reason = status.canonical_reason().unwrap_or("error");
    let description = if status.is_server_error() {
        INTERNAL.to_owned()
    } else {
        reason.to_lowercase()
    };
    if !taxii {
        tracing::debug!(%status, "an error answer without a TAXII body was replaced");
    }
    let message = ErrorMessage {
        title: reason.to_owned(),
        description: Some(description),
        error_id: None,
        error_code: None,
        http_status: Some(status.as_u16().to_string()),
        external_details: None,
        details: None,
    };
    let body = serde_json::to_string(&message).unwrap_or_else(|_| "{}".to_owned());
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(TAXII_MEDIA_TYPE),
    );
    Response::from_parts(parts, axum::body::Body::from(body))
}

/// An HTTP error response in TAXII form.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) kind: ErrorKind,
    pub(crate) description: Option<String>,
    /// Seconds for `Retry-After` (with 429).
    pub(crate) retry_after: Option<u64>,
}

impl ApiError {
    pub(crate) fn new(kind: ErrorKind, description: impl Into<String>) -> ApiError {
        ApiError {
            kind,
            description: Some(description.into()),
            retry_after: None,
        }
    }

    pub(crate) fn bare(kind: ErrorKind) -> ApiError {
        ApiError {
            kind,
            description: None,
            retry_after: None,
        }
    }

    pub(crate) fn not_found() -> ApiError {
        ApiError::bare(ErrorKind::NotFound)
    }

    /// 429 with `Retry-After: seconds`.
    pub(crate) fn too_many(seconds: u64) -> ApiError {
        ApiError {
            kind: ErrorKind::TooManyRequests,
            description: Some(format!("too many failed logins: try again in {seconds} s")),
            retry_after: Some(seconds),
        }
    }

    /// 503 with `Retry-After: seconds`: `what` is not ready yet.
    pub(crate) fn unavailable(what: String, seconds: u64) -> ApiError {
        ApiError {
            kind: ErrorKind::Unavailable,
            description: Some(what),
            retry_after: Some(seconds),
        }
    }

    /// A failure of ours: logged here with its detail, and the partner learns nothing of it
    /// but a generic "internal error".
    pub(crate) fn internal(what: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %what, "request failed");
        ApiError::new(ErrorKind::Internal, INTERNAL)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let message = match self.description {
            Some(d) => ErrorMessage::new(self.kind, d),
            None => ErrorMessage::bare(self.kind),
        };
        let body = serde_json::to_string(&message).unwrap_or_else(|_| "{}".to_owned());
        let status =
            StatusCode::from_u16(self.kind.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(TAXII_MEDIA_TYPE),
        );
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.kind == ErrorKind::Unauthorized {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"liaison\""),
            );
        }
        response
    }
}
