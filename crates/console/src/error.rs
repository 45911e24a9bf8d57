//! What a refused or failed request shows: one generic page per status, never the cause
//! (that is logged where it happened). An object that does not exist and one that may not be
//! shown answer the same 404.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Why a page is not shown.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// Not logged in (pages send the browser to the login form).
    NotLoggedIn,
    /// The role may not do this, or the form's CSRF token is missing or wrong.
    Forbidden,
    /// Nothing here (or nothing this operator may see here).
    NotFound,
    /// A form that cannot be read.
    BadRequest,
    /// Too many failed logins from this source lately.
    TooMany,
    /// Our failure.
    Internal,
}

impl Refusal {
    /// Logs `e` and answers 500.
    pub(crate) fn internal(e: impl std::fmt::Display) -> Refusal {
        tracing::error!(error = %e, "console request failed");
        Refusal::Internal
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let (status, title) = match self {
            Refusal::NotLoggedIn => {
                return axum::response::Redirect::to("/login").into_response();
            }
            Refusal::Forbidden => (StatusCode::FORBIDDEN, "Forbidden"),
            Refusal::NotFound => (StatusCode::NOT_FOUND, "Not found"),
            Refusal::BadRequest => (StatusCode::BAD_REQUEST, "Bad request"),
            Refusal::TooMany => (StatusCode::TOO_MANY_REQUESTS, "Too many failed logins"),
            Refusal::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong"),
        };
        (status, crate::layout::bare(title, title)).into_response()
    }
}
