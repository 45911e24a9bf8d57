use std::fmt;

/// A recipient of fingerprinted copies: the partner's name as the node's agreements spell it
/// (`RUS`, `ISR`). Marks are keyed by this name, so it must be stable for the life of the
/// partnership.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Recipient(String);

impl Recipient {
    /// The recipient named `name`.
    pub fn new(name: impl Into<String>) -> Recipient {
        Recipient(name.into())
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
