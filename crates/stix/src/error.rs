use std::fmt;

/// Where in a document an error was found: the object's position and, when it could be read,
/// its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locator {
    /// Zero-based position in the bundle's `objects`, absent for a lone object.
    pub index: Option<usize>,
    /// The object's `id`, when it was readable.
    pub id: Option<String>,
}

impl fmt::Display for Locator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.index, &self.id) {
            (Some(i), Some(id)) => write!(f, "object {i} (`{id}`)"),
            (Some(i), None) => write!(f, "object {i}"),
            (None, Some(id)) => write!(f, "object `{id}`"),
            (None, None) => write!(f, "document"),
        }
    }
}

/// A STIX document or object that liaison refuses, naming the object and the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{at}: field `{field}`: {problem}")]
pub struct StixError {
    /// Which object.
    pub at: Locator,
    /// The property (a dotted path for nested ones), or `-` for the object as a whole.
    pub field: String,
    /// What is wrong, in words.
    pub problem: String,
    stix20: bool,
}

impl StixError {
    pub(crate) fn new(at: &Locator, field: &str, problem: impl Into<String>) -> Self {
        StixError {
            at: at.clone(),
            field: field.to_owned(),
            problem: problem.into(),
            stix20: false,
        }
    }

    /// Marks the error as one about a STIX 2.0 object (see [`StixError::is_stix20`]).
    pub(crate) fn in_stix20(mut self) -> Self {
        self.stix20 = true;
        self
    }

    /// Whether the object refused is STIX 2.0: refused by [`crate::parse_document`] for
    /// lacking `spec_version` (which [`crate::parse_document_upgrading`] would upgrade), or
    /// refused by [`crate::parse_document_upgrading`] even after its upgrade to 2.1.
    pub fn is_stix20(&self) -> bool {
        self.stix20
    }
}
