//! The selector normaliser both sides of private matching run before evaluating the OPRF:
//! a pure, documented, versioned function from a raw selector (phone number, e-mail address,
//! document number, wallet address, person or organisation name) to one or more canonical
//! [`Key`]s. Two spellings of one selector must give a shared key or a match is silently
//! missed; a selector that cannot be normalised is an error naming it, never dropped.
//!
//! Every key carries [`NORMALISER_VERSION`] in its bytes, so two nodes that run different
//! normalisers never meet by accident, and the protocol refuses the mismatch up front.
//!
//! Transliteration uses this crate's Cyrillic table and `any_ascii` for the rest: ICU4X's
//! CLDR transforms are still experimental and bring a large data build for little gain on
//! names, whose variants the phonetic and consonant keys (see `name.rs`) bring together.
//! Phone numbers are checked against libphonenumber's Rust port, and differentially against
//! Python `phonenumbers` on 10,000 numbers across 20 regions (tests/phonenumbers.rs; one
//! known divergence, Russian toll-free numbers, which the Rust port refuses).
#![deny(missing_docs)]

mod digits;
mod document;
mod email;
mod error;
mod key;
mod name;
mod phone;
mod wallet;

pub use digits::ascii_digits;
pub use error::SelectorError;
pub use key::{Key, KeyStrength, SelectorKind};
pub use phone::Region;

/// The version of the normalisation rules. Part of the protocol: any change to what a key
/// is made of for some input bumps it, and nodes that disagree refuse to match.
pub const NORMALISER_VERSION: u32 = 1;

/// What a node contributes to normalisation besides the selector itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// The region a phone number without a `+` country code is read in; without one, such
    /// a number is refused (never guessed).
    pub default_region: Option<Region>,
}

/// Normalises one raw selector of `kind` into its canonical keys (at least one, at most
/// four), each prefixed with the kind and [`NORMALISER_VERSION`].
pub fn normalise(
    kind: SelectorKind,
    raw: &str,
    context: &Context,
) -> Result<Vec<Key>, SelectorError> {
    let keys = match kind {
        SelectorKind::Phone => phone::normalise(raw, context.default_region.as_ref())?,
        SelectorKind::Email => email::normalise(raw)?,
        SelectorKind::Document => document::normalise(raw)?,
        SelectorKind::Wallet => wallet::normalise(raw)?,
        SelectorKind::PersonName => name::normalise(raw, false)?,
        SelectorKind::OrganisationName => name::normalise(raw, true)?,
    };
    Ok(keys
        .into_iter()
        .map(|(strength, canonical)| Key::new(kind, strength, canonical))
        .collect())
}
