//! Request bodies that carry one signed note (a consent, a countersigned agreement).

use axum::http::{header, HeaderMap};
use liaison_taxii::ErrorKind;

use crate::error::ApiError;

/// The note in a request body: sent as `text/plain` (or without a content type), at most
/// `max` bytes, UTF-8. `what` names it in the errors ("a consent").
pub(crate) fn note_body(
    headers: &HeaderMap,
    body: &[u8],
    max: usize,
    what: &str,
) -> Result<String, ApiError> {
    if let Some(ct) = headers.get(header::CONTENT_TYPE) {
        let essence = ct
            .to_str()
            .unwrap_or_default()
            .split(';')
            .next()
            .unwrap_or_default()
            .trim();
        if !essence.eq_ignore_ascii_case("text/plain") {
            return Err(ApiError::new(
                ErrorKind::UnsupportedMediaType,
                format!("{what} is a signed note sent as text/plain"),
            ));
        }
    }
    if body.len() > max {
        return Err(ApiError::new(
            ErrorKind::TooLarge,
            format!("{what} is at most {max} bytes"),
        ));
    }
    std::str::from_utf8(body)
        .map(str::to_owned)
        .map_err(|_| ApiError::new(ErrorKind::BadRequest, format!("{what} is not UTF-8")))
}
