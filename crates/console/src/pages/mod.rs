//! The pages. Each reads what it shows through the release pipeline under the node lock,
//! then renders; lists are paged (`page_size` rows) so that every page stays small.

pub(crate) mod agreements;
pub(crate) mod audit;
pub(crate) mod hold;
pub(crate) mod inbox;
pub(crate) mod ledger;
pub(crate) mod log;
pub(crate) mod matching;
pub(crate) mod object;
pub(crate) mod queue;
pub(crate) mod records;
pub(crate) mod trace;
pub(crate) mod view;

use axum::response::{IntoResponse, Redirect, Response};
use liaison_labels::Party;
use liaison_policy::Markings;
use liaison_release::Node;
use liaison_store::prelude::*;
use maud::{html, Markup};
use serde_json::Value;

use crate::auth::Signed;
use crate::error::Refusal;

/// GET /: the inbox.
pub(crate) async fn home() -> Redirect {
    Redirect::to("/inbox")
}

/// Anything else: the same 404 as an object that is not there.
pub(crate) async fn not_found() -> Response {
    Refusal::NotFound.into_response()
}

/// Partner `text` of this node, or 404 (an unknown party and a non-partner look the same).
pub(crate) fn partner<S: Store>(node: &Node<S>, text: &str) -> Result<Party, Refusal> {
    let party = Party::parse(text).map_err(|_| Refusal::NotFound)?;
    match node.store().partner(party.as_str()) {
        Ok(Some(_)) => Ok(party),
        Ok(None) => Err(Refusal::NotFound),
        Err(e) => Err(Refusal::internal(e)),
    }
}

/// Every partner's party, in order.
pub(crate) fn partners<S: Store>(node: &Node<S>) -> Result<Vec<Party>, Refusal> {
    Ok(node
        .store()
        .partners()
        .map_err(Refusal::internal)?
        .into_iter()
        .filter_map(|p| Party::parse(&p.party).ok())
        .collect())
}

/// One page of a list.
pub(crate) struct Pager {
    pub(crate) page: usize,
    pub(crate) size: usize,
    pub(crate) total: usize,
}

impl Pager {
    pub(crate) fn new(page: Option<usize>, size: usize, total: usize) -> Pager {
        let size = size.max(1);
        let last = total.saturating_sub(1) / size;
        Pager {
            page: page.unwrap_or(0).min(last),
            size,
            total,
        }
    }

    pub(crate) fn range(&self) -> std::ops::Range<usize> {
        let start = (self.page * self.size).min(self.total);
        start..(start + self.size).min(self.total)
    }

    /// Links to the previous and next pages; `query` is the rest of the query string
    /// (already encoded, without `page`).
    pub(crate) fn nav(&self, path: &str, query: &str) -> Markup {
        let r = self.range();
        let sep = if query.is_empty() { "" } else { "&" };
        html! {
            div class="pager" {
                span { (if self.total == 0 { 0 } else { r.start + 1 }) "–" (r.end) " of " (self.total) }
                @if self.page > 0 {
                    a href={ (path) "?" (query) (sep) "page=" (self.page - 1) } { "← newer" }
                }
                @if r.end < self.total {
                    a href={ (path) "?" (query) (sep) "page=" (self.page + 1) } { "older →" }
                }
            }
        }
    }
}

/// The page of `all` that `page` asks for, of those `keep` keeps (all when `None`), without
/// copying the list (it may hold a million rows): the count is one pass, the page another.
pub(crate) fn page_of<'a, T: 'a, I>(
    all: I,
    keep: Option<&dyn Fn(&T) -> bool>,
    page: Option<usize>,
    size: usize,
) -> (Pager, Vec<&'a T>)
where
    I: ExactSizeIterator<Item = &'a T> + Clone,
{
    match keep {
        None => {
            let pager = Pager::new(page, size, all.len());
            let r = pager.range();
            let rows = all.skip(r.start).take(r.len()).collect();
            (pager, rows)
        }
        Some(keep) => {
            let total = all.clone().filter(|t| keep(t)).count();
            let pager = Pager::new(page, size, total);
            let r = pager.range();
            let rows = all
                .filter(|t| keep(t))
                .skip(r.start)
                .take(r.len())
                .collect();
            (pager, rows)
        }
    }
}

/// `text` cut to at most `max` bytes (on a character boundary), saying so: what a page shows
/// of a document of unbounded size.
pub(crate) fn clipped(text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}\n… ({} bytes in all; cut here)",
        &text[..end],
        text.len()
    )
}

/// `value` percent-encoded for a query string.
pub(crate) fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `name=value&...` of the filters that are set.
pub(crate) fn query(pairs: &[(&str, &Option<String>)]) -> String {
    pairs
        .iter()
        .filter_map(|(k, v)| v.as_deref().filter(|v| !v.is_empty()).map(|v| (k, v)))
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A filter value as given: `None` when absent or empty.
pub(crate) fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// The banners (and gradings) of the liaison labels an object's JSON refers to.
pub(crate) fn labels_of(object: &Value, markings: &Markings) -> (Vec<String>, Option<String>) {
    let mut banners = Vec::new();
    let mut grading = None;
    let refs = object
        .get("object_marking_refs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str);
    for r in refs {
        match markings.get(r) {
            Some(Ok(label)) => {
                banners.push(label.banner.to_string());
                if let Some(g) = label.grading {
                    grading = Some(g.to_string());
                }
            }
            Some(Err(_)) => banners.push("(label that cannot be read)".to_owned()),
            None => {}
        }
    }
    (banners, grading)
}

/// An effective label as a banner line (as `liaison explain` writes it).
pub(crate) use liaison_release::describe;

/// A CSS class for a decision.
pub(crate) fn decision_class(decision: &str) -> &'static str {
    match decision {
        "release" => "release",
        "tearline" => "tearline",
        _ => "withhold",
    }
}

/// The page title and the operator's shell.
pub(crate) fn render(title: &str, signed: &Signed, body: Markup) -> Response {
    crate::layout::shell(title, Some(signed), body).into_response()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_clamped_and_filtered_without_copying() {
        let all: Vec<u32> = (0..120).collect();
        let (p, rows) = page_of(all.iter(), None, Some(2), 50);
        assert_eq!((p.page, p.total), (2, 120));
        assert_eq!(rows.first().copied(), Some(&100));
        assert_eq!(rows.len(), 20);
        // Past the last page: the last page.
        let (p, rows) = page_of(all.iter(), None, Some(9), 50);
        assert_eq!((p.page, rows.len()), (2, 20));
        let even = |n: &u32| n % 2 == 0;
        let (p, rows) = page_of(all.iter(), Some(&even), Some(1), 50);
        assert_eq!((p.total, rows.len()), (60, 10));
        assert_eq!(rows.first().copied(), Some(&100));
        let none: Vec<u32> = Vec::new();
        let (p, rows) = page_of(none.iter(), None, Some(3), 50);
        assert_eq!((p.page, p.total, rows.len()), (0, 0, 0));
    }

    #[test]
    fn long_text_is_clipped_on_a_character_boundary() {
        assert_eq!(clipped("short".into(), 10), "short");
        let c = clipped("ééééé".into(), 3);
        assert!(c.starts_with("é\n…"), "{c}");
        assert!(c.contains("10 bytes in all"));
    }

    #[test]
    fn query_values_are_encoded() {
        let v = Some("a b&c=d".to_owned());
        assert_eq!(
            query(&[("label", &v), ("type", &None)]),
            "label=a%20b%26c%3Dd"
        );
    }
}
