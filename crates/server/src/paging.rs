//! Filtering and paging over a view (TAXII 2.1 sections 3.4 and 3.5). Entries are in
//! ascending `date_added`, which the pipeline keeps strictly increasing, so the position a
//! `next` token carries is simply the `date_added` (in microseconds) of the last entry served:
//! the next page starts strictly after it, whatever was added or removed meanwhile.

use liaison_release::ViewEntry;
use liaison_taxii::{select_versions, EntryMeta, Query, VersionFilter};

use crate::state::Indexed;

/// One page of entries and whether more match.
pub(crate) struct Page<'a> {
    pub(crate) items: Vec<&'a ViewEntry>,
    pub(crate) more: bool,
}

/// The entries of `view` (only those of object `only_id`, when given) that `q` selects and
/// that were added strictly after `after` microseconds, at most `limit` of them.
pub(crate) fn select<'a>(
    view: &'a Indexed,
    q: &Query,
    after: Option<u64>,
    only_id: Option<&str>,
    limit: usize,
) -> Page<'a> {
    let after = after.unwrap_or(0);
    let mut items = Vec::new();
    let mut more = false;
    let mut take = |i: usize| -> bool {
        let (Some(e), Some(at)) = (view.entries.get(i), view.added_micros.get(i)) else {
            return true;
        };
        if *at <= after || !matches(view, q, e) {
            return true;
        }
        if items.len() == limit {
            more = true;
            return false;
        }
        items.push(e);
        true
    };
    match only_id {
        Some(id) => {
            for &i in view.by_id.get(id).map(Vec::as_slice).unwrap_or_default() {
                if !take(i) {
                    break;
                }
            }
        }
        None => {
            let start = view.added_micros.partition_point(|at| *at <= after);
            for i in start..view.entries.len() {
                if !take(i) {
                    break;
                }
            }
        }
    }
    Page { items, more }
}

fn meta(e: &ViewEntry) -> EntryMeta<'_> {
    EntryMeta {
        id: &e.id,
        object_type: &e.object_type,
        version: &e.version,
        spec_version: &e.spec_version,
        date_added: &e.date_added,
    }
}

/// Whether `q` selects entry `e`: its own filters, then `match[version]` among the object's
/// versions that pass `match[spec_version]` (section 3.4.1: `first` and `last` are relative to
/// the versions the caller may see).
fn matches(view: &Indexed, q: &Query, e: &ViewEntry) -> bool {
    if !q.matches_entry(&meta(e)) {
        return false;
    }
    if q.match_version == VersionFilter::All {
        return true;
    }
    let spec_ok = |v: &ViewEntry| {
        q.match_spec_version.is_empty() || q.match_spec_version.contains(&v.spec_version)
    };
    let siblings: Vec<&ViewEntry> = view
        .by_id
        .get(&e.id)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|&i| view.entries.get(i))
        .filter(|v| spec_ok(v))
        .collect();
    select_versions(&q.match_version, &siblings, |v| &v.version)
        .iter()
        .any(|v| v.version == e.version && v.date_added == e.date_added)
}

/// Whether `q` selects `e` in a view that holds one version of each object (a partner's
/// outbound view: the current version only), so its siblings are itself alone.
pub(crate) fn matches_alone(q: &Query, e: &ViewEntry) -> bool {
    if !q.matches_entry(&meta(e)) {
        return false;
    }
    if q.match_version == VersionFilter::All {
        return true;
    }
    let one: Vec<&ViewEntry> = vec![e];
    select_versions(&q.match_version, &one, |v| &v.version)
        .iter()
        .any(|v| v.version == e.version)
}
