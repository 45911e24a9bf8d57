//! What maintained views (crates/release `maintain`) follow: the change feed that ingest and
//! deletions write, and the references between held objects (which objects a change can
//! affect through cuts).

use crate::error::StoreError;

/// The change feed and the reference index.
pub trait ChangeStore {
    /// The number of the newest change recorded (0 when none):
    /// [`ObjectStore::ingest`](crate::ObjectStore::ingest) records the id of every version it
    /// adds and [`ObjectStore::delete_versions`](crate::ObjectStore::delete_versions) the id of
    /// every version it deletes (and the ids that version derived or was the tear line of), in
    /// their own transaction, numbered in commit order.
    fn change_head(&self) -> Result<i64, StoreError>;

    /// The changes after `after`, oldest first, at most `limit`: (number, id).
    fn changes_since(&self, after: i64, limit: usize) -> Result<Vec<(i64, String)>, StoreError>;

    /// Whether a change after `after` concerns an id starting with `prefix` (a type's
    /// `type--`): reads the pending changes only.
    fn changed_since(&self, after: i64, prefix: &str) -> Result<bool, StoreError>;

    /// The change the reference index reflects (`None`: never built).
    fn refs_through(&self) -> Result<Option<i64>, StoreError>;

    /// Replaces the references of each of `ids` by those in `pairs` ((referrer, referenced));
    /// with `replace`, every reference first. Then records the index as built `through`.
    fn write_refs(
        &mut self,
        through: i64,
        replace: bool,
        ids: &[String],
        pairs: &[(String, String)],
    ) -> Result<(), StoreError>;

    /// The objects that refer to any of `ids` (by `*_ref`, `*_refs` or a relationship's ends),
    /// each once, sorted.
    fn referrers(&self, ids: &[String]) -> Result<Vec<String>, StoreError>;

    /// The change the content-key index reflects (`None`: never built).
    fn content_keys_through(&self) -> Result<Option<i64>, StoreError>;

    /// Replaces the content keys of each of `ids` by those in `pairs` ((id, key)); with
    /// `replace`, every key first. Then records the index as built `through`, when given (an
    /// index built in several writes records it with the last: until then it reads as never
    /// built, and is built again from the start if the build stops midway).
    fn write_content_keys(
        &mut self,
        through: Option<i64>,
        replace: bool,
        ids: &[String],
        pairs: &[(String, String)],
    ) -> Result<(), StoreError>;

    /// The (key, id) pairs of the content-key index whose key is one of `keys`, sorted.
    fn content_key_ids(&self, keys: &[String]) -> Result<Vec<(String, String)>, StoreError>;
}
