//! The HTTP errors the liaison TAXII server emits, each with its status and title, and the
//! `error` message built from one (sections 3.6 and 3.6.1). TAXII defines no error codes of its
//! own beyond HTTP's; the statuses below are those the endpoint tables of sections 4 and 5 list.

use crate::resources::ErrorMessage;

/// A class of error response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// 400: a malformed request or query parameter (section 3.4 requires 400 for those).
    BadRequest,
    /// 401: the client must authenticate (section 1.6.9; send `WWW-Authenticate`).
    Unauthorized,
    /// 403: the client may not use this resource.
    Forbidden,
    /// 404: not found, or not visible to this client.
    NotFound,
    /// 406: no acceptable media type in `Accept`.
    NotAcceptable,
    /// 413: the body exceeds the API Root's `max_content_length` (section 5.5).
    TooLarge,
    /// 415: the body's `Content-Type` is not one the server reads (section 5.5).
    UnsupportedMediaType,
    /// 422: the content could not be processed (section 5.5).
    Unprocessable,
    /// 429: too many requests (RFC 6585), e.g. after repeated failed logins; send
    /// `Retry-After`.
    TooManyRequests,
    /// 500: the server failed; the description must not reveal why.
    Internal,
    /// 503: not ready yet (a partner's view is being computed); send `Retry-After`.
    Unavailable,
}

impl ErrorKind {
    /// The HTTP status code.
    pub fn status(self) -> u16 {
        match self {
            ErrorKind::BadRequest => 400,
            ErrorKind::Unauthorized => 401,
            ErrorKind::Forbidden => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::NotAcceptable => 406,
            ErrorKind::TooLarge => 413,
            ErrorKind::UnsupportedMediaType => 415,
            ErrorKind::Unprocessable => 422,
            ErrorKind::TooManyRequests => 429,
            ErrorKind::Internal => 500,
            ErrorKind::Unavailable => 503,
        }
    }

    /// The `title` of the error message: the HTTP reason phrase.
    pub fn title(self) -> &'static str {
        match self {
            ErrorKind::BadRequest => "Bad Request",
            ErrorKind::Unauthorized => "Unauthorized",
            ErrorKind::Forbidden => "Forbidden",
            ErrorKind::NotFound => "Not Found",
            ErrorKind::NotAcceptable => "Not Acceptable",
            ErrorKind::TooLarge => "Content Too Large",
            ErrorKind::UnsupportedMediaType => "Unsupported Media Type",
            ErrorKind::Unprocessable => "Unprocessable Content",
            ErrorKind::TooManyRequests => "Too Many Requests",
            ErrorKind::Internal => "Internal Server Error",
            ErrorKind::Unavailable => "Service Unavailable",
        }
    }
}

impl ErrorMessage {
    /// The error message for `kind`, with `http_status` set to match the response (section
    /// 3.6.1 requires they agree) and `description` saying what went wrong. The description
    /// reaches the partner: it must name only what the partner sent, never internals or
    /// withheld objects.
    pub fn new(kind: ErrorKind, description: impl Into<String>) -> ErrorMessage {
        ErrorMessage {
            title: kind.title().to_owned(),
            description: Some(description.into()),
            error_id: None,
            error_code: None,
            http_status: Some(kind.status().to_string()),
            external_details: None,
            details: None,
        }
    }

    /// The error message for `kind` with no description.
    pub fn bare(kind: ErrorKind) -> ErrorMessage {
        ErrorMessage {
            description: None,
            ..ErrorMessage::new(kind, "")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_http() {
        let all = [
            (ErrorKind::BadRequest, 400),
            (ErrorKind::Unauthorized, 401),
            (ErrorKind::Forbidden, 403),
            (ErrorKind::NotFound, 404),
            (ErrorKind::NotAcceptable, 406),
            (ErrorKind::TooLarge, 413),
            (ErrorKind::UnsupportedMediaType, 415),
            (ErrorKind::Unprocessable, 422),
            (ErrorKind::Internal, 500),
        ];
        for (kind, status) in all {
            assert_eq!(kind.status(), status);
            assert!(!kind.title().is_empty());
        }
    }

    #[test]
    fn message_carries_status_as_string() {
        let m = ErrorMessage::new(ErrorKind::NotAcceptable, "accept `application/taxii+json`");
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "title": "Not Acceptable",
                "description": "accept `application/taxii+json`",
                "http_status": "406"
            })
        );
        let bare = serde_json::to_value(ErrorMessage::bare(ErrorKind::NotFound)).unwrap();
        assert_eq!(
            bare,
            serde_json::json!({"title": "Not Found", "http_status": "404"})
        );
    }
}
