//! Release times as both backends (and the pipeline, which records releases together with
//! their log entries) work them out: which keys are new, and each key's time once the new
//! ones have theirs.

use liaison_stix::Timestamp;
use rustc_hash::{FxHashMap, FxHashSet};

/// (id, version) → when it first entered the partner's view.
pub type Released = FxHashMap<(String, String), Timestamp>;

/// The keys of `keys` not in `known`, each once, in order.
pub fn new_keys(keys: &[(String, String)], known: &Released) -> Vec<(String, String)> {
    let mut seen = FxHashSet::default();
    keys.iter()
        .filter(|k| !known.contains_key(*k) && seen.insert(*k))
        .cloned()
        .collect()
}

/// Each key's time and whether it is new, given the times recorded before (`known`) and
/// those just recorded for `new`.
pub fn aligned(
    keys: &[(String, String)],
    known: &Released,
    new: Vec<(String, String)>,
    times: Vec<Timestamp>,
) -> Result<Vec<(Timestamp, bool)>, crate::StoreError> {
    let fresh: FxHashMap<(String, String), Timestamp> = new.into_iter().zip(times).collect();
    keys.iter()
        .map(|k| match (known.get(k), fresh.get(k)) {
            (Some(t), _) => Ok((t.clone(), false)),
            (None, Some(t)) => Ok((t.clone(), true)),
            (None, None) => Err(crate::StoreError::Damaged(format!(
                "no release time recorded for {}",
                k.0
            ))),
        })
        .collect()
}

/// Reads a stored release time.
pub fn parse_time(first: &str) -> Result<Timestamp, crate::StoreError> {
    Timestamp::parse(first).map_err(|e| crate::StoreError::Damaged(format!("releases: {e}")))
}
