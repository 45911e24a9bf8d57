//! What went to each partner: when each (id, version) entered its view, and the ids copies
//! were delivered under (fingerprinting remaps ids per recipient).

use crate::error::StoreError;

/// Releases and delivered ids.
pub trait DeliveryStore {
    /// When each (id, version) first entered `partner`'s view: the recorded time for those
    /// seen before, a new time for the others (strictly increasing per partner, after every
    /// earlier one), recorded in one transaction. Aligned with `keys`.
    fn release_times(
        &mut self,
        partner: &str,
        keys: &[(String, String)],
    ) -> Result<Vec<liaison_stix::Timestamp>, StoreError> {
        Ok(self
            .record_releases(partner, keys)?
            .into_iter()
            .map(|(t, _)| t)
            .collect())
    }

    /// Like [`DeliveryStore::release_times`], and says for each key whether it entered the view just
    /// now (a new time was recorded) rather than before.
    fn record_releases(
        &mut self,
        partner: &str,
        keys: &[(String, String)],
    ) -> Result<Vec<(liaison_stix::Timestamp, bool)>, StoreError>;

    /// Every (id, version, first time) that entered `partner`'s view, oldest first: what
    /// was delivered to it.
    fn releases(&self, partner: &str) -> Result<Vec<(String, String, String)>, StoreError>;

    /// When each of `keys` ((id, version)) entered `partner`'s view, if it did; aligned.
    fn released_at(
        &self,
        partner: &str,
        keys: &[(String, String)],
    ) -> Result<Vec<Option<String>>, StoreError>;

    /// Whether (id, version key) entered `partner`'s view: one lookup, not a scan.
    fn was_released(&self, partner: &str, id: &str, version: &str) -> Result<bool, StoreError>;

    /// Which of `ids` (our ids, distinct) each of `partners` received, in any version: for
    /// each partner, aligned, the indices into `ids` of those it received, ascending. One
    /// aggregate over the releases of those ids (what `liaison trace` asks of a leak), not a
    /// read of every partner's whole delivery history.
    fn received_among(
        &self,
        partners: &[&str],
        ids: &[&str],
    ) -> Result<Vec<Vec<usize>>, StoreError>;

    /// Remembers the ids copies went to `partner` under: (delivered id, our id) pairs, each
    /// kept once (fingerprinting remaps ids per recipient; see crates/release).
    fn add_delivered_ids(
        &mut self,
        partner: &str,
        pairs: &[(String, String)],
    ) -> Result<(), StoreError>;

    /// Of `ids`, those we delivered to a partner: (delivered id, partner, our id).
    fn delivered_ids(&self, ids: &[&str]) -> Result<Vec<(String, String, String)>, StoreError>;
}
