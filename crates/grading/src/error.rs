use thiserror::Error;

/// Why the curation engine refused an input.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum GradingError {
    /// An item with this id is already held: an id is added once (a second copy of the same
    /// id from another partner is the caller's to note, not a new item).
    #[error("item `{0}` is already held")]
    Duplicate(String),
    /// No item with this id is held (to remove).
    #[error("item `{0}` is not held")]
    NotHeld(String),
    /// More items than the engine indexes (2^32).
    #[error("too many items")]
    Full,
    /// Not one of the characterised properties.
    #[error("unknown property `{0}`")]
    UnknownProperty(String),
}
