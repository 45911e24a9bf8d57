//! Why a selector could not be normalised. Each variant names the input, so a caller can
//! report it to the operator instead of dropping it.

/// A selector that could not be normalised, with the input and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    /// The selector is empty or only whitespace and punctuation.
    #[error("selector `{input}` is empty once normalised")]
    Empty {
        /// The raw selector.
        input: String,
    },
    /// A phone number that libphonenumber cannot parse or does not hold valid.
    #[error("phone number `{input}` is not valid: {reason}")]
    Phone {
        /// The raw selector.
        input: String,
        /// Why.
        reason: String,
    },
    /// A character that is a digit in some script this normaliser has no table for.
    #[error(
        "selector `{input}` holds the digit `{digit}` of a script the normaliser does not map"
    )]
    UnmappedDigit {
        /// The raw selector.
        input: String,
        /// The digit.
        digit: char,
    },
    /// An e-mail address without a local part, a domain or a single `@`.
    #[error("e-mail address `{input}` is not valid: {reason}")]
    Email {
        /// The raw selector.
        input: String,
        /// Why.
        reason: String,
    },
    /// A document number not of the form `STATE:TYPE:NUMBER`.
    #[error("document number `{input}` is not valid: {reason}")]
    Document {
        /// The raw selector.
        input: String,
        /// Why.
        reason: String,
    },
    /// A wallet address of no known form or with a wrong checksum.
    #[error("wallet address `{input}` is not valid: {reason}")]
    Wallet {
        /// The raw selector.
        input: String,
        /// Why.
        reason: String,
    },
    /// A region code that is not an ISO 3166 alpha-2 code libphonenumber knows.
    #[error("region `{input}` is not a known ISO 3166 alpha-2 code")]
    Region {
        /// The raw region.
        input: String,
    },
}
