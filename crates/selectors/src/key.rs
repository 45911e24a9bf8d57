//! A canonical key: the bytes that enter the OPRF. Kind, version and strength are part of
//! the bytes so that keys of different kinds, versions or strengths never meet.

use std::fmt;

use crate::NORMALISER_VERSION;

/// What a selector is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SelectorKind {
    /// A phone number, normalised to E.164.
    Phone,
    /// An e-mail address.
    Email,
    /// A travel or identity document: issuing state, type and number.
    Document,
    /// A Bitcoin (base58check or bech32) or Ethereum address.
    Wallet,
    /// A person's name, in any script the normaliser transliterates.
    PersonName,
    /// An organisation's name.
    OrganisationName,
}

impl SelectorKind {
    /// The tag that starts every key of this kind (also the name used in selector files).
    pub fn tag(self) -> &'static str {
        match self {
            SelectorKind::Phone => "phone",
            SelectorKind::Email => "email",
            SelectorKind::Document => "document",
            SelectorKind::Wallet => "wallet",
            SelectorKind::PersonName => "person",
            SelectorKind::OrganisationName => "organisation",
        }
    }

    /// The kind a tag names, if any.
    pub fn from_tag(tag: &str) -> Option<Self> {
        [
            SelectorKind::Phone,
            SelectorKind::Email,
            SelectorKind::Document,
            SelectorKind::Wallet,
            SelectorKind::PersonName,
            SelectorKind::OrganisationName,
        ]
        .into_iter()
        .find(|kind| kind.tag() == tag)
    }
}

/// How strongly a key identifies a selector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyStrength {
    /// The canonical form: two selectors with the same exact key are the same selector.
    Exact,
    /// A looser form (an e-mail without its `+tag`, a name's phonetic skeleton) under which
    /// variants meet; a match on it alone is a lead, not an identification.
    Weak(u8),
}

/// A canonical selector key: `<kind>/<version>/<strength>:<canonical>` as UTF-8 bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    kind: SelectorKind,
    strength: KeyStrength,
    canonical: String,
}

impl Key {
    pub(crate) fn new(kind: SelectorKind, strength: KeyStrength, canonical: String) -> Self {
        Self {
            kind,
            strength,
            canonical,
        }
    }

    /// The kind of selector this key was made from.
    pub fn kind(&self) -> SelectorKind {
        self.kind
    }

    /// Whether this is the exact key or a weaker variant key.
    pub fn strength(&self) -> KeyStrength {
        self.strength
    }

    /// The canonical form without prefix, for display (`+447911123456`).
    pub fn canonical(&self) -> &str {
        &self.canonical
    }

    /// The bytes that enter the OPRF.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let strength = match self.strength {
            KeyStrength::Exact => "exact".to_owned(),
            KeyStrength::Weak(n) => format!("weak{n}"),
        };
        write!(
            f,
            "{}/{}/{}:{}",
            self.kind.tag(),
            NORMALISER_VERSION,
            strength,
            self.canonical
        )
    }
}
