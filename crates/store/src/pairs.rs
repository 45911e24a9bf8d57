//! Indexes derived from the held objects, of (value, object id) pairs, kept through the change
//! feed (crates/release builds and follows them): the references between objects, which the
//! maintained views follow, and the content keys, by which a trace recognises our objects
//! under ids that are not ours. Each is a table of its own, and `meta` remembers the change it
//! reflects; both backends write and read them the same way, by these names.

/// One derived index: its table, the column of its values (beside `id`), and the `meta` key
/// of the change it is built through.
pub(crate) struct PairIndex {
    pub(crate) table: &'static str,
    pub(crate) value: &'static str,
    pub(crate) through: &'static str,
}

/// Who refers to what: (referenced id, referrer) in `object_refs`.
pub(crate) const REFS: PairIndex = PairIndex {
    table: "object_refs",
    value: "ref",
    through: "refs_through",
};

/// What each object's content is: (content key, id) in `content_keys`.
pub(crate) const CONTENT_KEYS: PairIndex = PairIndex {
    table: "content_keys",
    value: "key",
    through: "content_keys_through",
};
