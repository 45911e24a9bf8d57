//! A store whose backend is chosen when the node starts (its home's `store.toml`): the CLI,
//! the server and the console run on [`AnyStore`]; code that is generic over [`Store`] stays
//! generic. Every method is passed to the backend unchanged.

use crate::error::StoreError;
use crate::prelude::*;
use crate::record::{
    AgreementNoteRecord, AuditRecord, BasisInputs, ConsentRecord, ForkRecord, HoldRecord, IndexRow,
    IngestReport, LogOpening, MatchCharge, MatchUsage, NewObject, NodeRecord, OperatorRecord,
    PartnerRecord, RefusalRecord, Stored, ViewRow, ViewState,
};
use crate::{PgStore, SqliteStore};

/// The embedded SQLite store or the PostgreSQL one.
pub enum AnyStore {
    /// One SQLite file.
    Sqlite(SqliteStore),
    /// A PostgreSQL database (boxed: its connections are large beside SQLite's).
    Pg(Box<PgStore>),
}

impl AnyStore {
    /// `sqlite` or `postgres`, for people and reports.
    pub fn backend(&self) -> &'static str {
        match self {
            AnyStore::Sqlite(_) => "sqlite",
            AnyStore::Pg(_) => "postgres",
        }
    }
}

impl From<SqliteStore> for AnyStore {
    fn from(s: SqliteStore) -> Self {
        AnyStore::Sqlite(s)
    }
}

impl From<PgStore> for AnyStore {
    fn from(s: PgStore) -> Self {
        AnyStore::Pg(Box::new(s))
    }
}

/// Calls the same method on whichever backend `$store` holds.
macro_rules! dispatch {
    ($store:expr, $s:ident => $call:expr) => {
        match $store {
            AnyStore::Sqlite($s) => $call,
            AnyStore::Pg($s) => $call,
        }
    };
}

impl OperatorStore for AnyStore {
    fn put_operator(&mut self, operator: &OperatorRecord) -> Result<(), StoreError> {
        dispatch!(self, s => s.put_operator(operator))
    }
    fn operator(&self, name: &str) -> Result<Option<OperatorRecord>, StoreError> {
        dispatch!(self, s => s.operator(name))
    }
    fn operators(&self) -> Result<Vec<OperatorRecord>, StoreError> {
        dispatch!(self, s => s.operators())
    }
    fn add_audit(&mut self, entry: &AuditRecord) -> Result<i64, StoreError> {
        dispatch!(self, s => s.add_audit(entry))
    }
    fn audit(&self, before: Option<i64>, limit: usize) -> Result<Vec<AuditRecord>, StoreError> {
        dispatch!(self, s => s.audit(before, limit))
    }
}

impl ObjectStore for AnyStore {
    fn node(&self) -> Result<Option<NodeRecord>, StoreError> {
        dispatch!(self, s => s.node())
    }

    fn init_node(&mut self, node: &NodeRecord) -> Result<(), StoreError> {
        dispatch!(self, s => s.init_node(node))
    }

    fn ingest(
        &mut self,
        batch: &[NewObject<'_>],
        source: &str,
        progress: &mut dyn FnMut(u64),
    ) -> Result<IngestReport, StoreError> {
        dispatch!(self, s => s.ingest(batch, source, progress))
    }

    fn latest(&self, id: &str) -> Result<Option<Stored>, StoreError> {
        dispatch!(self, s => s.latest(id))
    }

    fn versions(&self, id: &str) -> Result<Vec<Stored>, StoreError> {
        dispatch!(self, s => s.versions(id))
    }

    fn scan_latest(
        &self,
        f: &mut dyn FnMut(Stored) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        dispatch!(self, s => s.scan_latest(f))
    }

    fn latest_between(
        &self,
        after: i64,
        upto: i64,
        limit: usize,
    ) -> Result<Vec<Stored>, StoreError> {
        dispatch!(self, s => s.latest_between(after, upto, limit))
    }

    fn last_seq(&self) -> Result<i64, StoreError> {
        dispatch!(self, s => s.last_seq())
    }

    fn index_rows(&self, ids: &[&str]) -> Result<Vec<IndexRow>, StoreError> {
        dispatch!(self, s => s.index_rows(ids))
    }

    fn scan_index(&self, f: &mut dyn FnMut(IndexRow)) -> Result<(), StoreError> {
        dispatch!(self, s => s.scan_index(f))
    }

    fn counts(&self) -> Result<(u64, u64), StoreError> {
        dispatch!(self, s => s.counts())
    }

    fn generation(&self) -> Result<u64, StoreError> {
        dispatch!(self, s => s.generation())
    }

    fn prepare_bulk_load(&self) -> Result<(), StoreError> {
        dispatch!(self, s => s.prepare_bulk_load())
    }

    fn scan_source(
        &self,
        source: &str,
        f: &mut dyn FnMut(Stored) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        dispatch!(self, s => s.scan_source(source, f))
    }

    fn delete_versions(
        &mut self,
        source: &str,
        id: &str,
        versions: Option<&[String]>,
    ) -> Result<u64, StoreError> {
        dispatch!(self, s => s.delete_versions(source, id, versions))
    }

    fn add_refusals(&mut self, refusals: &[RefusalRecord]) -> Result<(), StoreError> {
        dispatch!(self, s => s.add_refusals(refusals))
    }

    fn refusals(
        &self,
        sender: Option<&str>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<RefusalRecord>, StoreError> {
        dispatch!(self, s => s.refusals(sender, after, limit))
    }
}

impl ChangeStore for AnyStore {
    fn change_head(&self) -> Result<i64, StoreError> {
        dispatch!(self, s => s.change_head())
    }

    fn changes_since(&self, after: i64, limit: usize) -> Result<Vec<(i64, String)>, StoreError> {
        dispatch!(self, s => s.changes_since(after, limit))
    }

    fn refs_through(&self) -> Result<Option<i64>, StoreError> {
        dispatch!(self, s => s.refs_through())
    }

    fn write_refs(
        &mut self,
        through: i64,
        replace: bool,
        ids: &[String],
        pairs: &[(String, String)],
    ) -> Result<(), StoreError> {
        dispatch!(self, s => s.write_refs(through, replace, ids, pairs))
    }

    fn changed_since(&self, after: i64, prefix: &str) -> Result<bool, StoreError> {
        dispatch!(self, s => s.changed_since(after, prefix))
    }

    fn referrers(&self, ids: &[String]) -> Result<Vec<String>, StoreError> {
        dispatch!(self, s => s.referrers(ids))
    }

    fn content_keys_through(&self) -> Result<Option<i64>, StoreError> {
        dispatch!(self, s => s.content_keys_through())
    }

    fn write_content_keys(
        &mut self,
        through: Option<i64>,
        replace: bool,
        ids: &[String],
        pairs: &[(String, String)],
    ) -> Result<(), StoreError> {
        dispatch!(self, s => s.write_content_keys(through, replace, ids, pairs))
    }

    fn content_key_ids(&self, keys: &[String]) -> Result<Vec<(String, String)>, StoreError> {
        dispatch!(self, s => s.content_key_ids(keys))
    }
}

impl PartnerStore for AnyStore {
    fn put_partner(&mut self, partner: &PartnerRecord) -> Result<(), StoreError> {
        dispatch!(self, s => s.put_partner(partner))
    }

    fn partner(&self, party: &str) -> Result<Option<PartnerRecord>, StoreError> {
        dispatch!(self, s => s.partner(party))
    }

    fn partners(&self) -> Result<Vec<PartnerRecord>, StoreError> {
        dispatch!(self, s => s.partners())
    }

    fn add_consent(&mut self, consent: &ConsentRecord) -> Result<(), StoreError> {
        dispatch!(self, s => s.add_consent(consent))
    }

    fn consents(&self, to: Option<&str>) -> Result<Vec<ConsentRecord>, StoreError> {
        dispatch!(self, s => s.consents(to))
    }

    fn basis_inputs(&self, partner: &str) -> Result<BasisInputs, StoreError> {
        dispatch!(self, s => s.basis_inputs(partner))
    }

    fn add_hold(&mut self, hold: &HoldRecord) -> Result<bool, StoreError> {
        dispatch!(self, s => s.add_hold(hold))
    }

    fn lift_hold(&mut self, object: &str, partner: &str) -> Result<Option<HoldRecord>, StoreError> {
        dispatch!(self, s => s.lift_hold(object, partner))
    }

    fn holds(&self, partner: Option<&str>) -> Result<Vec<HoldRecord>, StoreError> {
        dispatch!(self, s => s.holds(partner))
    }

    fn add_signed_consent(
        &mut self,
        consent: &ConsentRecord,
        signed: &str,
    ) -> Result<(), StoreError> {
        dispatch!(self, s => s.add_signed_consent(consent, signed))
    }

    fn signed_consents(&self) -> Result<Vec<(ConsentRecord, Option<String>)>, StoreError> {
        dispatch!(self, s => s.signed_consents())
    }

    fn set_credential(&mut self, party: &str, phc: &str) -> Result<(), StoreError> {
        dispatch!(self, s => s.set_credential(party, phc))
    }

    fn credential(&self, party: &str) -> Result<Option<String>, StoreError> {
        dispatch!(self, s => s.credential(party))
    }

    fn put_agreement_note(&mut self, note: &AgreementNoteRecord) -> Result<(), StoreError> {
        dispatch!(self, s => s.put_agreement_note(note))
    }

    fn agreement_note(
        &self,
        partner: &str,
        side: &str,
    ) -> Result<Option<AgreementNoteRecord>, StoreError> {
        dispatch!(self, s => s.agreement_note(partner, side))
    }

    fn set_partner_key(&mut self, party: &str, kind: &str, key: &str) -> Result<(), StoreError> {
        dispatch!(self, s => s.set_partner_key(party, kind, key))
    }

    fn partner_key(&self, party: &str, kind: &str) -> Result<Option<String>, StoreError> {
        dispatch!(self, s => s.partner_key(party, kind))
    }
}

impl DeliveryStore for AnyStore {
    fn released_at(
        &self,
        partner: &str,
        keys: &[(String, String)],
    ) -> Result<Vec<Option<String>>, StoreError> {
        dispatch!(self, s => s.released_at(partner, keys))
    }

    fn release_times(
        &mut self,
        partner: &str,
        keys: &[(String, String)],
    ) -> Result<Vec<liaison_stix::Timestamp>, StoreError> {
        dispatch!(self, s => s.release_times(partner, keys))
    }

    fn releases(&self, partner: &str) -> Result<Vec<(String, String, String)>, StoreError> {
        dispatch!(self, s => s.releases(partner))
    }

    fn received_among(
        &self,
        partners: &[&str],
        ids: &[&str],
    ) -> Result<Vec<Vec<usize>>, StoreError> {
        dispatch!(self, s => s.received_among(partners, ids))
    }

    fn add_delivered_ids(
        &mut self,
        partner: &str,
        pairs: &[(String, String)],
    ) -> Result<(), StoreError> {
        dispatch!(self, s => s.add_delivered_ids(partner, pairs))
    }

    fn delivered_ids(&self, ids: &[&str]) -> Result<Vec<(String, String, String)>, StoreError> {
        dispatch!(self, s => s.delivered_ids(ids))
    }

    fn was_released(&self, partner: &str, id: &str, version: &str) -> Result<bool, StoreError> {
        dispatch!(self, s => s.was_released(partner, id, version))
    }

    fn record_releases(
        &mut self,
        partner: &str,
        keys: &[(String, String)],
    ) -> Result<Vec<(liaison_stix::Timestamp, bool)>, StoreError> {
        dispatch!(self, s => s.record_releases(partner, keys))
    }
}

impl LogStore for AnyStore {
    fn log_append(
        &mut self,
        entries: &[Vec<u8>],
        openings: &[LogOpening],
        hashes: &[(u64, [u8; 32])],
    ) -> Result<u64, StoreError> {
        dispatch!(self, s => s.log_append(entries, openings, hashes))
    }

    fn log_append_releases(
        &mut self,
        partner: &str,
        keys: &[(String, String)],
        entries: &[Vec<u8>],
        openings: &[LogOpening],
        hashes: &[(u64, [u8; 32])],
    ) -> Result<Vec<liaison_stix::Timestamp>, StoreError> {
        dispatch!(self, s => s.log_append_releases(partner, keys, entries, openings, hashes))
    }

    fn log_append_match(
        &mut self,
        charge: &MatchCharge,
        entries: &[Vec<u8>],
        openings: &[LogOpening],
        hashes: &[(u64, [u8; 32])],
    ) -> Result<u64, StoreError> {
        dispatch!(self, s => s.log_append_match(charge, entries, openings, hashes))
    }

    fn match_usage(&self, partner: &str, epoch: u64) -> Result<MatchUsage, StoreError> {
        dispatch!(self, s => s.match_usage(partner, epoch))
    }

    fn log_opening(&self, index: u64) -> Result<Option<LogOpening>, StoreError> {
        dispatch!(self, s => s.log_opening(index))
    }

    fn log_openings_for(&self, party: &str) -> Result<Vec<(u64, LogOpening)>, StoreError> {
        dispatch!(self, s => s.log_openings_for(party))
    }

    fn log_size(&self) -> Result<u64, StoreError> {
        dispatch!(self, s => s.log_size())
    }

    fn log_hashes(&self, indexes: &[u64]) -> Result<Vec<[u8; 32]>, StoreError> {
        dispatch!(self, s => s.log_hashes(indexes))
    }

    fn log_entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        dispatch!(self, s => s.log_entries(start, end))
    }

    fn put_checkpoint(&mut self, size: u64, note: &str) -> Result<(), StoreError> {
        dispatch!(self, s => s.put_checkpoint(size, note))
    }

    fn checkpoint_at(&self, size: u64) -> Result<Option<String>, StoreError> {
        dispatch!(self, s => s.checkpoint_at(size))
    }

    fn latest_checkpoint(&self) -> Result<Option<(u64, String)>, StoreError> {
        dispatch!(self, s => s.latest_checkpoint())
    }

    fn add_cosignature(&mut self, size: u64, cosigner: &str, line: &str) -> Result<(), StoreError> {
        dispatch!(self, s => s.add_cosignature(size, cosigner, line))
    }

    fn cosignatures(&self, size: u64) -> Result<Vec<(String, String)>, StoreError> {
        dispatch!(self, s => s.cosignatures(size))
    }

    fn latest_cosignatures(&self) -> Result<Vec<(String, u64, String)>, StoreError> {
        dispatch!(self, s => s.latest_cosignatures())
    }

    fn put_partner_checkpoint(
        &mut self,
        party: &str,
        size: u64,
        note: &str,
    ) -> Result<(), StoreError> {
        dispatch!(self, s => s.put_partner_checkpoint(party, size, note))
    }

    fn partner_checkpoint(&self, party: &str) -> Result<Option<(u64, String)>, StoreError> {
        dispatch!(self, s => s.partner_checkpoint(party))
    }

    fn add_fork_evidence(&mut self, party: &str, evidence: &str) -> Result<(), StoreError> {
        dispatch!(self, s => s.add_fork_evidence(party, evidence))
    }

    fn fork_evidence(&self, party: &str) -> Result<Vec<ForkRecord>, StoreError> {
        dispatch!(self, s => s.fork_evidence(party))
    }
}

impl ViewStore for AnyStore {
    fn view_state(&self, partner: &str) -> Result<Option<ViewState>, StoreError> {
        dispatch!(self, s => s.view_state(partner))
    }

    fn write_view(
        &mut self,
        partner: &str,
        state: &ViewState,
        replace: bool,
        remove: &[String],
        rows: &[ViewRow],
        expect: Option<&str>,
    ) -> Result<bool, StoreError> {
        dispatch!(self, s => s.write_view(partner, state, replace, remove, rows, expect))
    }

    fn view_rows(&self, partner: &str, originals: &[String]) -> Result<Vec<ViewRow>, StoreError> {
        dispatch!(self, s => s.view_rows(partner, originals))
    }

    fn view_page(
        &self,
        partner: &str,
        after_micros: i64,
        limit: usize,
    ) -> Result<Vec<ViewRow>, StoreError> {
        dispatch!(self, s => s.view_page(partner, after_micros, limit))
    }

    fn view_row_delivered(
        &self,
        partner: &str,
        delivered: &str,
    ) -> Result<Option<ViewRow>, StoreError> {
        dispatch!(self, s => s.view_row_delivered(partner, delivered))
    }

    fn view_marks(&self, partner: &str, excluding: &[String]) -> Result<Vec<String>, StoreError> {
        dispatch!(self, s => s.view_marks(partner, excluding))
    }
}
