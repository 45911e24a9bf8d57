//! Signed consents: an originator's permission to release an object (and what derives from
//! it) to a party, as a C2SP signed note by the originator's node key (`liaison.<BY>`, the
//! key its log checkpoints are signed with). The note's text is
//!
//! ```text
//! liaison consent v1
//! object <STIX id>
//! to <party>
//! by <party>
//! created <timestamp>
//! ```
//!
//! A node accepts a consent only with a valid signature by the originator it names, checked
//! against the log key registered for that partner (`liaison partner logkey`); it keeps
//! the signed text and logs a consent leaf.

use liaison_labels::Party;
use liaison_log::{verify_note, CheckpointError, VerifierKey, MAX_CHECKPOINT_BYTES};
use liaison_policy::PolicyError;
use liaison_stix::{StixId, Timestamp};
use liaison_store::prelude::*;
use liaison_store::ConsentRecord;

use crate::error::ReleaseError;
use crate::log::{origin, Leaf, PARTNER_LOG_KEY};
use crate::node::Node;

/// The first line of a consent note's text.
pub const CONSENT_HEADER: &str = "liaison consent v1";

/// The largest consent note read.
pub const MAX_CONSENT_BYTES: usize = 4096;
const _: () = assert!(MAX_CONSENT_BYTES <= MAX_CHECKPOINT_BYTES);

/// The fields of a consent note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentNote {
    /// The object consented for.
    pub object: StixId,
    /// The party it may go to.
    pub to: Party,
    /// The originator who consents (and signs).
    pub by: Party,
    /// When the originator signed it.
    pub created: Timestamp,
}

impl ConsentNote {
    /// The note's text (before signing).
    pub fn text(&self) -> String {
        format!(
            "{CONSENT_HEADER}\nobject {}\nto {}\nby {}\ncreated {}\n",
            self.object, self.to, self.by, self.created
        )
    }

    /// Reads the text of a consent note: exactly the five lines, in order.
    pub fn parse_text(text: &str) -> Result<ConsentNote, ConsentError> {
        let bad = |m: String| ConsentError::Malformed(m);
        let f = crate::note_text::fields(text, CONSENT_HEADER, &["object", "to", "by", "created"])
            .map_err(bad)?;
        let field = |i: usize| f.get(i).copied().unwrap_or_default();
        let object = StixId::parse(field(0)).map_err(|e| bad(format!("field `object`: {e}")))?;
        let to = Party::parse(field(1)).map_err(|e| bad(format!("field `to`: {e}")))?;
        let by = Party::parse(field(2)).map_err(|e| bad(format!("field `by`: {e}")))?;
        let created =
            Timestamp::parse(field(3)).map_err(|e| bad(format!("field `created`: {e}")))?;
        if to == by {
            return Err(bad(format!("`to` and `by` are both {by}")));
        }
        let note = ConsentNote {
            object,
            to,
            by,
            created,
        };
        if note.text() != text {
            return Err(bad("the fields are not in canonical form".into()));
        }
        Ok(note)
    }

    /// The fields of a signed note, read without checking its signature (to learn whose key
    /// to check it with).
    pub fn peek(note: &str) -> Result<ConsentNote, ConsentError> {
        if note.len() > MAX_CONSENT_BYTES {
            return Err(ConsentError::Malformed(format!(
                "a consent note of {} bytes is too large",
                note.len()
            )));
        }
        // C2SP signed-note: the text, a blank line, then the signature lines.
        let text = note
            .find("\n\n")
            .map(|i| &note[..=i])
            .ok_or(ConsentError::NotANote)?;
        ConsentNote::parse_text(text)
    }
}

/// Why a consent is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsentError {
    /// Not a signed note at all (no signature lines): an unsigned consent.
    #[error("not a signed consent note (sign it on the originator's node: liaison consent sign)")]
    NotANote,
    /// The text is not a consent note.
    #[error("malformed consent: {0}")]
    Malformed(String),
    /// An unsigned consent naming another originator.
    #[error("a consent by {0} must be signed by {0}'s node (liaison consent sign on {0}'s node)")]
    Unsigned(Party),
    /// The originator is neither us nor a partner.
    #[error(
        "the consent is by {0}, which is not a partner of this node (see `liaison partner list`)"
    )]
    NotAPartner(Party),
    /// No log key is registered for the originator.
    #[error("no log key registered for {0}, so its consent cannot be checked (`liaison partner logkey {0} VKEY`)")]
    NoKey(Party),
    /// The registered key is not the originator's node key.
    #[error("the log key registered for {party} is named `{name}`, not `{expected}`")]
    KeyName {
        /// The originator.
        party: Party,
        /// The key's name.
        name: String,
        /// The name it should have.
        expected: String,
    },
    /// No signature by the originator's registered key: signed by another key.
    #[error("the consent is not signed by {by}'s registered key `{key}` (signed by another key)")]
    WrongKey {
        /// The originator.
        by: Party,
        /// The registered key.
        key: String,
    },
    /// A signature by the originator's key that does not verify: the text was changed.
    #[error("the signature by {0}'s key does not verify: the consent was altered")]
    BadSignature(Party),
    /// Posted by a partner other than the originator.
    #[error("{sender} may only send consents signed by itself, not by {by}")]
    NotSender {
        /// The originator named.
        by: Party,
        /// The authenticated partner.
        sender: Party,
    },
    /// A consent to release to ourselves.
    #[error("the consent is for release to {0}, this node itself")]
    ToUs(Party),
}

impl From<ConsentError> for ReleaseError {
    fn from(e: ConsentError) -> Self {
        ReleaseError::Policy(PolicyError::Consent(e.to_string()))
    }
}

/// The message of a refused consent (a bad note: the caller's fault), or `None` for any
/// other failure (ours).
pub fn consent_refusal(e: &ReleaseError) -> Option<&str> {
    match e {
        ReleaseError::Policy(PolicyError::Consent(m)) => Some(m),
        _ => None,
    }
}

impl<S: Store> Node<S> {
    /// Signs, with this node's key, its consent to release `object` (and what derives from
    /// it) to `to`: a signed note to give the nodes that hold the object.
    pub fn sign_consent(&self, object: &str, to: &Party) -> Result<String, ReleaseError> {
        let id = StixId::parse(object)
            .map_err(|e| ConsentError::Malformed(format!("field `object`: {e}")))?;
        if self.store.latest(id.as_str())?.is_none() {
            return Err(ReleaseError::UnknownObject(object.to_owned()));
        }
        if to == &self.party {
            return Err(ConsentError::ToUs(to.clone()).into());
        }
        let note = ConsentNote {
            object: id,
            to: to.clone(),
            by: self.party.clone(),
            created: Timestamp::now(),
        };
        let signed = self
            .log_keys
            .node
            .sign_note(note.text().as_bytes())
            .map_err(|e| ReleaseError::Log(e.to_string()))?;
        String::from_utf8(signed).map_err(|e| ReleaseError::Log(e.to_string()))
    }

    /// Checks a signed consent note: well-formed, by us or a partner, and signed by the
    /// originator's registered key (ours if it is by us). Nothing is recorded.
    pub fn check_consent(&self, note: &str) -> Result<ConsentNote, ReleaseError> {
        let peeked = ConsentNote::peek(note)?;
        let by = &peeked.by;
        if by != &self.party && self.store.partner(by.as_str())?.is_none() {
            return Err(ConsentError::NotAPartner(by.clone()).into());
        }
        let key = if by == &self.party {
            self.log_keys.node.verifier_key()
        } else {
            let k = self
                .store
                .partner_key(by.as_str(), PARTNER_LOG_KEY)?
                .ok_or_else(|| ConsentError::NoKey(by.clone()))?;
            VerifierKey::parse(&k).map_err(|e| ReleaseError::Log(e.to_string()))?
        };
        let expected = origin(by);
        if key.name() != expected {
            return Err(ConsentError::KeyName {
                party: by.clone(),
                name: key.name().to_owned(),
                expected,
            }
            .into());
        }
        let text = verify_note(note.as_bytes(), &key).map_err(|e| match e {
            CheckpointError::NotSignedByKey(_) => ConsentError::WrongKey {
                by: by.clone(),
                key: key.to_string(),
            },
            CheckpointError::BadSignature(_) => ConsentError::BadSignature(by.clone()),
            _ => ConsentError::NotANote,
        })?;
        let text = std::str::from_utf8(&text)
            .map_err(|_| ConsentError::Malformed("the text is not UTF-8".into()))?;
        let parsed = ConsentNote::parse_text(text)?;
        if parsed.to == self.party {
            return Err(ConsentError::ToUs(parsed.to).into());
        }
        Ok(parsed)
    }

    /// Accepts a signed consent note: checks it ([`Node::check_consent`]), records it with
    /// its signed text and appends a consent leaf to the log. The same note accepted twice
    /// is recorded once.
    pub fn accept_consent(&mut self, note: &str) -> Result<ConsentRecord, ReleaseError> {
        let c = self.check_consent(note)?;
        for (record, signed) in self.store.signed_consents()? {
            if signed.as_deref() == Some(note) {
                return Ok(record);
            }
        }
        let record = ConsentRecord {
            id: StixId::new_random("consent").to_string(),
            object: c.object.to_string(),
            to: c.to.to_string(),
            by: c.by.to_string(),
            created: Timestamp::now().to_string(),
        };
        self.store.add_signed_consent(&record, note)?;
        self.log_append(&[Leaf::Consent {
            object: record.object.clone(),
            to: record.to.clone(),
            by: record.by.clone(),
        }])?;
        tracing::info!(object = %record.object, to = %record.to, by = %record.by, "signed consent recorded");
        Ok(record)
    }

    /// Accepts a consent `sender` sent: it must be signed by `sender` itself.
    pub fn accept_consent_from(
        &mut self,
        sender: &Party,
        note: &str,
    ) -> Result<ConsentRecord, ReleaseError> {
        let peeked = ConsentNote::peek(note)?;
        if &peeked.by != sender {
            return Err(ConsentError::NotSender {
                by: peeked.by,
                sender: sender.clone(),
            }
            .into());
        }
        self.accept_consent(note)
    }

    /// Records this node's own consent (signed with its key). A consent naming another
    /// originator without its signature is refused.
    pub fn add_own_consent(
        &mut self,
        object: &str,
        to: &Party,
        by: &Party,
    ) -> Result<ConsentRecord, ReleaseError> {
        if by != &self.party {
            return Err(ConsentError::Unsigned(by.clone()).into());
        }
        let note = self.sign_consent(object, to)?;
        self.accept_consent(&note)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn note() -> ConsentNote {
        ConsentNote {
            object: StixId::parse("report--6ba7b810-9dad-11d1-80b4-00c04fd430c8").unwrap(),
            to: Party::parse("GBR").unwrap(),
            by: Party::parse("ISR").unwrap(),
            created: Timestamp::parse("2026-01-02T03:04:05.000Z").unwrap(),
        }
    }

    #[test]
    fn text_round_trips() {
        let n = note();
        assert_eq!(
            n.text(),
            "liaison consent v1\nobject report--6ba7b810-9dad-11d1-80b4-00c04fd430c8\nto GBR\nby ISR\ncreated 2026-01-02T03:04:05.000Z\n"
        );
        assert_eq!(ConsentNote::parse_text(&n.text()).unwrap(), n);
    }

    #[test]
    fn malformed_texts_are_refused() {
        let t = note().text();
        for bad in [
            t.replace("v1", "v2"),
            t.replace("to GBR\n", ""),
            t.replace("to GBR", "to  GBR"),
            t.replace("by ISR", "by isr!"),
            t.replace("to GBR", "to ISR"),
            t.replace("report--", "report-"),
            t.replace("created 2026", "created 1"),
            t.trim_end().to_owned(),
            format!("{t}extra\n"),
        ] {
            assert!(
                matches!(
                    ConsentNote::parse_text(&bad),
                    Err(ConsentError::Malformed(_))
                ),
                "{bad:?}"
            );
        }
        assert_eq!(ConsentNote::peek(&t), Err(ConsentError::NotANote));
    }
}
