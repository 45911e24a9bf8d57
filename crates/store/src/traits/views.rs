//! Each partner's stored view (crates/release `maintain`) and what it is maintained through:
//! TAXII pages are read from here by (partner, `date_added`).

use crate::error::StoreError;
use crate::record::{ViewRow, ViewState};

/// Partners' stored views.
pub trait ViewStore {
    /// What `partner`'s stored view is maintained through, if it has one.
    fn view_state(&self, partner: &str) -> Result<Option<ViewState>, StoreError>;

    /// Writes `partner`'s stored view in one transaction: every row first removed when
    /// `replace` (a full recomputation), else the rows of `remove` (our ids); then `rows`
    /// written (a row of the same original replaced); then its state set. With `expect`,
    /// only if the stored state's basis is `expect` (a view computed in slices writes each
    /// slice under its own mark, so that a build another process started since wins and this
    /// one stops); returns whether it wrote.
    fn write_view(
        &mut self,
        partner: &str,
        state: &ViewState,
        replace: bool,
        remove: &[String],
        rows: &[ViewRow],
        expect: Option<&str>,
    ) -> Result<bool, StoreError>;

    /// The rows of `partner`'s view whose original is one of `originals`.
    fn view_rows(&self, partner: &str, originals: &[String]) -> Result<Vec<ViewRow>, StoreError>;

    /// Up to `limit` rows of `partner`'s view added strictly after `after_micros`, by
    /// (`date_added`, delivered id): one index range, whatever the holdings.
    fn view_page(
        &self,
        partner: &str,
        after_micros: i64,
        limit: usize,
    ) -> Result<Vec<ViewRow>, StoreError>;

    /// The row `partner` received under `delivered`, if its view holds one.
    fn view_row_delivered(
        &self,
        partner: &str,
        delivered: &str,
    ) -> Result<Option<ViewRow>, StoreError>;

    /// Every marking-definition the intelligence rows of `partner`'s view refer to, sorted,
    /// counting only rows whose original is not in `excluding` (one index seek per marking).
    fn view_marks(&self, partner: &str, excluding: &[String]) -> Result<Vec<String>, StoreError>;
}
