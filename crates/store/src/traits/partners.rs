//! Partners and what we agreed with each: agreements and their signed notes, consents,
//! release officers' holds, credentials and the partners' public keys.

use crate::error::StoreError;
use crate::record::{AgreementNoteRecord, BasisInputs, ConsentRecord, HoldRecord, PartnerRecord};

/// Partners, agreements, consents, holds, credentials and partner keys.
pub trait PartnerStore {
    /// Adds or replaces a partner's agreement.
    fn put_partner(&mut self, partner: &PartnerRecord) -> Result<(), StoreError>;

    /// One partner.
    fn partner(&self, party: &str) -> Result<Option<PartnerRecord>, StoreError>;

    /// Every partner, by party.
    fn partners(&self) -> Result<Vec<PartnerRecord>, StoreError>;

    /// Records a consent.
    fn add_consent(&mut self, consent: &ConsentRecord) -> Result<(), StoreError>;

    /// The consents on record, all or those given for `to` (one index range: a page checks
    /// its partner's, and must not pay for every partner's), by when given, then id.
    fn consents(&self, to: Option<&str>) -> Result<Vec<ConsentRecord>, StoreError>;

    /// Records a consent with the signed note it was accepted from (C2SP signed-note text).
    fn add_signed_consent(
        &mut self,
        consent: &ConsentRecord,
        signed: &str,
    ) -> Result<(), StoreError>;

    /// Every consent on record with its signed note (`None` for a consent recorded unsigned).
    fn signed_consents(&self) -> Result<Vec<(ConsentRecord, Option<String>)>, StoreError>;

    /// Places a release officer's hold; `false` (and nothing written) if one already stands
    /// on the same object for the same partner. Only our own operators place holds: nothing
    /// a partner sends reaches this.
    fn add_hold(&mut self, hold: &HoldRecord) -> Result<bool, StoreError>;

    /// Lifts the hold on `object` for `partner`, returning it (`None`: none stood).
    fn lift_hold(&mut self, object: &str, partner: &str) -> Result<Option<HoldRecord>, StoreError>;

    /// The holds standing, for one partner or all, by partner, then when placed.
    fn holds(&self, partner: Option<&str>) -> Result<Vec<HoldRecord>, StoreError>;

    /// What `partner`'s view's basis is checked against on each TAXII page: its agreement, the
    /// number of partners, the consents for it and the holds on what goes to it. The same as
    /// reading each apart ([`PartnerStore::partner`], [`PartnerStore::partners`],
    /// [`PartnerStore::consents`], [`PartnerStore::holds`]), which is what this default does;
    /// a backend across a network (PostgreSQL) reads them in one round trip.
    fn basis_inputs(&self, partner: &str) -> Result<BasisInputs, StoreError> {
        let mut held: Vec<String> = self
            .holds(Some(partner))?
            .into_iter()
            .map(|h| h.object)
            .collect();
        held.sort_unstable();
        Ok(BasisInputs {
            agreement: self.partner(partner)?.map(|p| p.agreement),
            partners: self.partners()?.len(),
            consents: self
                .consents(Some(partner))?
                .into_iter()
                .map(|c| (c.object, c.by))
                .collect(),
            held,
        })
    }

    /// Sets a partner's credential: an Argon2 PHC string (the secret itself is never stored).
    fn set_credential(&mut self, party: &str, phc: &str) -> Result<(), StoreError>;

    /// A partner's credential, if one is set.
    fn credential(&self, party: &str) -> Result<Option<String>, StoreError>;

    /// Sets a partner's public key of `kind` (`log`: its checkpoint verifier key; `cosigner`:
    /// the key it cosigns our checkpoints with), as the operator gave it.
    fn set_partner_key(&mut self, party: &str, kind: &str, key: &str) -> Result<(), StoreError>;

    /// A partner's public key of `kind`.
    fn partner_key(&self, party: &str, kind: &str) -> Result<Option<String>, StoreError>;

    /// Keeps an agreement's signed note, replacing the one kept for its partner and side.
    fn put_agreement_note(&mut self, note: &AgreementNoteRecord) -> Result<(), StoreError>;

    /// The agreement note kept for `partner` and `side` (`ours` or `theirs`).
    fn agreement_note(
        &self,
        partner: &str,
        side: &str,
    ) -> Result<Option<AgreementNoteRecord>, StoreError>;
}
