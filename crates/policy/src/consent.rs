use liaison_labels::Party;

/// An originator's permission to release one of its objects, and whatever is derived from
/// it, to a named party. (Signed consents come with the transparency log.)
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Consent {
    /// The object consented for.
    pub object: String,
    /// The party it may go to.
    pub to: Party,
    /// The originator who consents.
    pub by: Party,
}
