//! The page shell, the stylesheet and the headers every answer carries.
//!
//! CSP `default-src 'self'`, with no inline script or style anywhere (the stylesheet is a
//! file; the SVG graphs use presentation attributes, which CSP does not count as style);
//! framing refused; no referrer; no caching of any page; no MIME sniffing.

use axum::extract::Request;
use axum::http::{header, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};

use crate::auth::Signed;

const STYLESHEET: &str = include_str!("../static/console.css");

/// The content security policy of every answer.
pub(crate) const CSP: &str =
    "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Adds the security headers to every answer, errors and the stylesheet included.
pub(crate) async fn secure_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::CACHE_CONTROL, "no-store"),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// GET /console.css.
pub(crate) async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        STYLESHEET,
    )
        .into_response()
}

/// A whole page: the navigation for a logged-in operator (with the logout form), then `body`.
pub(crate) fn shell(title: &str, signed: Option<&Signed>, body: Markup) -> Html<String> {
    Html(
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (title) " · liaison" }
                    link rel="stylesheet" href="/console.css";
                }
                body {
                    @if let Some(s) = signed {
                        header {
                            nav {
                                a href="/inbox" { "Inbox" }
                                a href="/queue" { "Release queue" }
                                a href="/view" { "View as partner" }
                                a href="/agreements" { "Agreements" }
                                a href="/log" { "Log" }
                                a href="/ledger" { "Ledger" }
                                a href="/matching" { "Matching" }
                                a href="/records" { "Records" }
                                a href="/trace" { "Trace" }
                                a href="/audit" { "Audit" }
                            }
                            form class="who" method="post" action="/logout" {
                                span { (s.operator) " (" (s.role) ")" }
                                input type="hidden" name="csrf" value=(s.csrf);
                                button type="submit" { "Log out" }
                            }
                        }
                    }
                    (body)
                }
            }
        }
        .into_string(),
    )
}

/// A page with a title and one sentence (errors).
pub(crate) fn bare(title: &str, message: &str) -> Html<String> {
    shell(
        title,
        None,
        html! { main { h1 { (title) } p { (message) } p { a href="/inbox" { "Back to the console" } } } },
    )
}
