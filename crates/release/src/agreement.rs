//! Agreements as signed by both sides. Each node keeps, per partner, the terms it applies to
//! what it releases to that partner (the agreement TOML). When the operator sets them, the
//! node signs a note binding the text by its SHA-256, with its node key (`liaison.<PARTY>`,
//! the key its checkpoints are signed with):
//!
//! ```text
//! liaison agreement v1
//! from <party that applies the terms>
//! to <partner they apply to>
//! sha256 <hex SHA-256 of the agreement text>
//! created <timestamp>
//! ```
//!
//! The partner fetches the text and the note (`GET /liaison/agreement`) when it pulls,
//! checks the signature and the hash, adds its own signature to the same note and sends it
//! back (`POST /liaison/agreement`). Both nodes then log a leaf holding the note signed by
//! both, so that neither can later claim other terms: the releasing side cannot say it
//! announced a different ceiling, the partner cannot say it never saw the terms.
//!
//! Decision: a partner's countersignature acknowledges the exact terms it is given; it is
//! not a veto. A node pulls (and countersigns) only from partners it chose to exchange with,
//! and the terms bind what the *sender* releases, so the receiving node countersigns on every
//! pull rather than waiting for an operator. Releases do not wait for the countersignature:
//! a partner that never pulls never receives anything anyway. `liaison agreement show`
//! says whether each side's terms are countersigned.

use liaison_labels::Party;
use liaison_log::{verify_note, CheckpointError, VerifierKey};
use liaison_stix::Timestamp;
use liaison_store::prelude::*;
use liaison_store::AgreementNoteRecord;
use serde::Serialize;

use crate::error::ReleaseError;
use crate::log::{origin, sha256_hex, Leaf};
use crate::node::Node;

/// The first line of an agreement note's text.
pub const AGREEMENT_HEADER: &str = "liaison agreement v1";

/// The largest agreement (text and note together) a node sends or reads.
pub const MAX_AGREEMENT_BYTES: usize = 64 * 1024;

/// The terms we apply to a partner.
pub const OURS: &str = "ours";
/// The terms a partner applies to us.
pub const THEIRS: &str = "theirs";

/// The fields of an agreement note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgreementNote {
    /// The party that applies the terms to its releases (and signs first).
    pub from: Party,
    /// The partner the terms apply to (and countersigns).
    pub to: Party,
    /// SHA-256 of the agreement text, lowercase hex.
    pub sha256: String,
    /// When `from` signed it.
    pub created: Timestamp,
}

impl AgreementNote {
    /// The note's text (before signing).
    pub fn text(&self) -> String {
        format!(
            "{AGREEMENT_HEADER}\nfrom {}\nto {}\nsha256 {}\ncreated {}\n",
            self.from, self.to, self.sha256, self.created
        )
    }

    /// Reads the text of an agreement note: exactly the five lines, in order.
    pub fn parse_text(text: &str) -> Result<AgreementNote, ReleaseError> {
        let bad = |m: String| ReleaseError::Agreement(format!("malformed agreement note: {m}"));
        let f =
            crate::note_text::fields(text, AGREEMENT_HEADER, &["from", "to", "sha256", "created"])
                .map_err(bad)?;
        let field = |i: usize| f.get(i).copied().unwrap_or_default();
        let from = Party::parse(field(0)).map_err(|e| bad(format!("field `from`: {e}")))?;
        let to = Party::parse(field(1)).map_err(|e| bad(format!("field `to`: {e}")))?;
        let sha256 = field(2).to_owned();
        if sha256.len() != 64
            || !sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(bad("field `sha256`: not 64 lowercase hex digits".into()));
        }
        let created =
            Timestamp::parse(field(3)).map_err(|e| bad(format!("field `created`: {e}")))?;
        if from == to {
            return Err(bad(format!("`from` and `to` are both {to}")));
        }
        let note = AgreementNote {
            from,
            to,
            sha256,
            created,
        };
        if note.text() != text {
            return Err(bad("the fields are not in canonical form".into()));
        }
        Ok(note)
    }

    /// The text of a signed note, unchecked (to learn whose keys to check it with).
    fn peek(note: &str) -> Result<AgreementNote, ReleaseError> {
        let text = note
            .find("\n\n")
            .and_then(|i| note.get(..=i))
            .ok_or_else(|| ReleaseError::Agreement("not a signed agreement note".into()))?;
        AgreementNote::parse_text(text)
    }
}

/// One side's terms as kept: what they hash to and who signed them.
#[derive(Debug, Clone, Serialize)]
pub struct SignedTerms {
    /// SHA-256 of the agreement text, hex.
    pub sha256: String,
    /// The parties whose valid signatures the note carries.
    pub signed_by: Vec<String>,
    /// Whether both sides signed.
    pub countersigned: bool,
    /// When the note was last kept.
    pub updated: String,
    /// The signed note.
    pub note: String,
}

/// Where the agreements with one partner stand.
#[derive(Debug, Clone, Serialize)]
pub struct AgreementStatus {
    /// The partner.
    pub partner: String,
    /// The terms we apply to it.
    pub ours: Option<SignedTerms>,
    /// The terms it applies to us, as it gave them to us.
    pub theirs: Option<SignedTerms>,
}

fn refused(m: impl Into<String>) -> ReleaseError {
    ReleaseError::Agreement(m.into())
}

impl<S: Store> Node<S> {
    /// The key that verifies `party`'s signatures: ours, or the partner's registered log key.
    fn node_key_of(&self, party: &Party) -> Result<Option<VerifierKey>, ReleaseError> {
        if party == &self.party {
            return Ok(Some(self.log_keys.node.verifier_key()));
        }
        Ok(self
            .store
            .partner_key(party.as_str(), crate::log::PARTNER_LOG_KEY)?
            .and_then(|k| VerifierKey::parse(&k).ok())
            .filter(|k| k.name() == origin(party)))
    }

    /// Which of `parties` validly signed `note`, in order.
    fn signers(&self, note: &str, parties: &[&Party]) -> Result<Vec<String>, ReleaseError> {
        let mut out = Vec::new();
        for p in parties {
            if let Some(k) = self.node_key_of(p)? {
                if verify_note(note.as_bytes(), &k).is_ok() {
                    out.push(p.to_string());
                }
            }
        }
        Ok(out)
    }

    /// Signs our terms for `partner` (its agreement text as stored), keeps the note and
    /// logs it; called whenever the agreement is set.
    pub(crate) fn sign_agreement(
        &mut self,
        partner: &Party,
        text: &str,
    ) -> Result<(), ReleaseError> {
        let terms = AgreementNote {
            from: self.party.clone(),
            to: partner.clone(),
            sha256: sha256_hex(text.as_bytes()),
            created: Timestamp::now(),
        };
        let signed = self
            .log_keys
            .node
            .sign_note(terms.text().as_bytes())
            .map_err(|e| ReleaseError::Log(e.to_string()))?;
        let note = String::from_utf8(signed).map_err(|e| ReleaseError::Log(e.to_string()))?;
        self.store.put_agreement_note(&AgreementNoteRecord {
            partner: partner.to_string(),
            side: OURS.into(),
            sha256: terms.sha256.clone(),
            text: text.to_owned(),
            note: note.clone(),
            updated: Timestamp::now().to_string(),
        })?;
        self.log_append(&[Leaf::Agreement {
            partner: partner.to_string(),
            terms: OURS.into(),
            sha256: terms.sha256,
            signed_by: vec![self.party.to_string()],
            note,
        }])?;
        Ok(())
    }

    /// Our terms for `partner` as we signed them (and it countersigned, once it did): what
    /// `GET /liaison/agreement` gives that partner. If the note kept is not for the
    /// agreement in force (a crash between setting it and signing it, or a node from before
    /// agreements were signed), the terms in force are signed and logged first.
    pub fn offered_agreement(
        &mut self,
        partner: &Party,
    ) -> Result<Option<AgreementNoteRecord>, ReleaseError> {
        let Some(record) = self.store.partner(partner.as_str())? else {
            return Ok(None);
        };
        let in_force = sha256_hex(record.agreement.as_bytes());
        let kept = self.store.agreement_note(partner.as_str(), OURS)?;
        if kept.as_ref().is_some_and(|k| k.sha256 == in_force) {
            return Ok(kept);
        }
        self.sign_agreement(partner, &record.agreement)?;
        Ok(self.store.agreement_note(partner.as_str(), OURS)?)
    }

    /// Countersigns the terms `from` applies to us: the note must be signed by `from`'s
    /// registered key, name `from` and us, and hash `text`. Keeps the text and the note
    /// signed by both, logs it, and returns that note (to send back). The same terms
    /// countersigned again are logged once.
    pub fn countersign_agreement(
        &mut self,
        from: &Party,
        text: &str,
        note: &str,
    ) -> Result<String, ReleaseError> {
        self.agreement(from)?;
        if text.len() + note.len() > MAX_AGREEMENT_BYTES {
            return Err(refused(format!(
                "{from}'s agreement is larger than {MAX_AGREEMENT_BYTES} bytes"
            )));
        }
        let key = self.node_key_of(from)?.ok_or_else(|| {
            refused(format!(
                "no log key registered for {from}, so its agreement cannot be checked (`liaison partner logkey {from} VKEY`)"
            ))
        })?;
        let signed_text = verify_note(note.as_bytes(), &key).map_err(|e| match e {
            CheckpointError::NotSignedByKey(_) => refused(format!(
                "the agreement is not signed by {from}'s registered key"
            )),
            CheckpointError::BadSignature(_) => refused(format!(
                "the signature by {from}'s key does not verify: the agreement note was altered"
            )),
            other => refused(format!("not a signed agreement note: {other}")),
        })?;
        let terms = AgreementNote::parse_text(
            std::str::from_utf8(&signed_text).map_err(|_| refused("the note is not UTF-8"))?,
        )?;
        if &terms.from != from || terms.to != self.party {
            return Err(refused(format!(
                "the agreement is from {} to {}, not from {from} to {}",
                terms.from, terms.to, self.party
            )));
        }
        let sha = sha256_hex(text.as_bytes());
        if terms.sha256 != sha {
            return Err(refused(format!(
                "the agreement text hashes to {sha}, but {from} signed {}",
                terms.sha256
            )));
        }
        if let Some(kept) = self.store.agreement_note(from.as_str(), THEIRS)? {
            if kept.sha256 == sha
                && AgreementNote::peek(&kept.note).is_ok_and(|k| k == terms)
                && self.signers(&kept.note, &[&self.party.clone()])?.len() == 1
            {
                return Ok(kept.note);
            }
        }
        let both = self
            .log_keys
            .node
            .countersign_note(note.as_bytes())
            .map_err(|e| ReleaseError::Log(e.to_string()))?;
        let both = String::from_utf8(both).map_err(|e| ReleaseError::Log(e.to_string()))?;
        self.store.put_agreement_note(&AgreementNoteRecord {
            partner: from.to_string(),
            side: THEIRS.into(),
            sha256: sha.clone(),
            text: text.to_owned(),
            note: both.clone(),
            updated: Timestamp::now().to_string(),
        })?;
        self.log_append(&[Leaf::Agreement {
            partner: from.to_string(),
            terms: THEIRS.into(),
            sha256: sha,
            signed_by: vec![from.to_string(), self.party.to_string()],
            note: both.clone(),
        }])?;
        tracing::info!(partner = %from, "countersigned the partner's agreement terms");
        Ok(both)
    }

    /// Takes `from`'s countersignature on our terms for it: `note` must be our current note
    /// (same text), still carrying our valid signature, and signed by `from`'s registered
    /// key. Keeps and logs it; returns whether it was new (the same countersignature again
    /// is logged once).
    pub fn accept_agreement_countersignature(
        &mut self,
        from: &Party,
        note: &str,
    ) -> Result<bool, ReleaseError> {
        if note.len() > MAX_AGREEMENT_BYTES {
            return Err(refused(format!(
                "an agreement note is at most {MAX_AGREEMENT_BYTES} bytes"
            )));
        }
        let kept = self
            .store
            .agreement_note(from.as_str(), OURS)?
            .ok_or_else(|| refused(format!("we have signed no agreement with {from}")))?;
        let ours = AgreementNote::peek(&kept.note)?;
        let theirs = AgreementNote::peek(note)?;
        if theirs != ours {
            return Err(refused(format!(
                "the countersigned agreement is not our current terms for {from} (sha256 {}); fetch them again",
                kept.sha256
            )));
        }
        let me = self.party.clone();
        let signers = self.signers(note, &[&me, from])?;
        if !signers.iter().any(|s| s == me.as_str()) {
            return Err(refused(format!(
                "the countersigned note does not carry {me}'s valid signature"
            )));
        }
        if !signers.iter().any(|s| s == from.as_str()) {
            return Err(refused(format!(
                "the note is not countersigned by {from}'s registered key"
            )));
        }
        if self.signers(&kept.note, &[from])?.len() == 1 {
            return Ok(false);
        }
        self.store.put_agreement_note(&AgreementNoteRecord {
            note: note.to_owned(),
            updated: Timestamp::now().to_string(),
            ..kept.clone()
        })?;
        self.log_append(&[Leaf::Agreement {
            partner: from.to_string(),
            terms: OURS.into(),
            sha256: kept.sha256,
            signed_by: vec![me.to_string(), from.to_string()],
            note: note.to_owned(),
        }])?;
        tracing::info!(partner = %from, "the partner countersigned our agreement terms");
        Ok(true)
    }

    /// Whether `note` is `partner`'s terms for us hashing to `sha256`, validly signed by
    /// `partner`'s registered key and by ours: what `liaison log verify` looks for in the
    /// partner's log.
    pub fn is_countersigned_terms(
        &self,
        partner: &Party,
        note: &str,
        sha256: &str,
    ) -> Result<bool, ReleaseError> {
        let Ok(terms) = AgreementNote::peek(note) else {
            return Ok(false);
        };
        if &terms.from != partner || terms.to != self.party || terms.sha256 != sha256 {
            return Ok(false);
        }
        let me = self.party.clone();
        Ok(self.signers(note, &[partner, &me])?.len() == 2)
    }

    /// Where the agreements with `partner` stand, both ways.
    pub fn agreement_status(&self, partner: &Party) -> Result<AgreementStatus, ReleaseError> {
        self.agreement(partner)?;
        let me = self.party.clone();
        let side = |r: Option<AgreementNoteRecord>| -> Result<Option<SignedTerms>, ReleaseError> {
            r.map(|r| {
                let signed_by = self.signers(&r.note, &[&me, partner])?;
                Ok(SignedTerms {
                    sha256: r.sha256,
                    countersigned: signed_by.len() == 2,
                    signed_by,
                    updated: r.updated,
                    note: r.note,
                })
            })
            .transpose()
        };
        Ok(AgreementStatus {
            partner: partner.to_string(),
            ours: side(self.store.agreement_note(partner.as_str(), OURS)?)?,
            theirs: side(self.store.agreement_note(partner.as_str(), THEIRS)?)?,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn terms() -> AgreementNote {
        AgreementNote {
            from: Party::parse("USA").unwrap(),
            to: Party::parse("RUS").unwrap(),
            sha256: "ab".repeat(32),
            created: Timestamp::parse("2026-01-02T03:04:05.000Z").unwrap(),
        }
    }

    #[test]
    fn text_round_trips_and_malformed_texts_are_refused() {
        let t = terms().text();
        assert_eq!(AgreementNote::parse_text(&t).unwrap(), terms());
        for bad in [
            t.replace("v1", "v2"),
            t.replace("to RUS\n", ""),
            t.replace("to RUS", "to  RUS"),
            t.replace("to RUS", "to USA"),
            t.replace(&"ab".repeat(32), &"AB".repeat(32)),
            t.replace(&"ab".repeat(32), "ab"),
            t.replace("created 2026", "created 1"),
            t.trim_end().to_owned(),
            format!("{t}extra\n"),
        ] {
            assert!(
                matches!(
                    AgreementNote::parse_text(&bad),
                    Err(ReleaseError::Agreement(_))
                ),
                "{bad:?}"
            );
        }
    }
}
