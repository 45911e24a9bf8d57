//! What a node holds, summed up so that two stores can be compared (`liaison migrate` checks
//! the copy with it): the log's size and root, the objects, each partner's releases (what
//! entered its view, when), its decisions, and the ledger. Read only: nothing is decided
//! into a view, logged or signed while summing up.

use serde::Serialize;
use sha2::{Digest, Sha256};

use liaison_labels::Party;
use liaison_store::prelude::*;

use crate::error::ReleaseError;
use crate::log::hex;
use crate::node::Node;

/// A node's state, summed up.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Entries in the log.
    pub log_size: u64,
    /// The log's root hash.
    pub log_root: String,
    /// Objects held (newest versions).
    pub objects: u64,
    /// Versions held.
    pub versions: u64,
    /// Each partner's view and account.
    pub partners: Vec<PartnerSummary>,
}

/// One partner's view and account, summed up.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PartnerSummary {
    /// The partner.
    pub partner: String,
    /// (id, version) pairs that entered its view.
    pub releases: u64,
    /// SHA-256 over its releases (id, version, first time), in key order.
    pub releases_sha256: String,
    /// SHA-256 over the decision on every object for it (what `release preview` shows).
    pub decisions_sha256: String,
    /// The ledger's balance with it.
    pub balance: f64,
    /// SHA-256 over its whole ledger account (values, counts, history).
    pub ledger_sha256: String,
}

impl<S: Store> Node<S> {
    /// This node's state, summed up (reads every object once per partner).
    pub fn summary(&self) -> Result<Summary, ReleaseError> {
        let (log_size, log_root) = self.log_root()?;
        let (objects, versions) = self.store.counts()?;
        let ledgers = self.ledgers()?;
        let mut partners = Vec::new();
        for record in self.store.partners()? {
            let party =
                Party::parse(&record.party).map_err(|e| ReleaseError::Party(e.to_string()))?;
            let mut releases = self.store.releases(party.as_str())?;
            releases.sort();
            let mut h = Sha256::new();
            for (id, version, first) in &releases {
                for part in [id, version, first] {
                    h.update((part.len() as u64).to_le_bytes());
                    h.update(part.as_bytes());
                }
            }
            let decisions = serde_json::to_vec(&self.preview(&party)?)
                .map_err(|e| ReleaseError::Log(format!("summary: {e}")))?;
            let ledger = ledgers.iter().find(|l| l.partner == party.as_str());
            let ledger_json = serde_json::to_vec(&ledger)
                .map_err(|e| ReleaseError::Log(format!("summary: {e}")))?;
            partners.push(PartnerSummary {
                partner: party.to_string(),
                releases: releases.len() as u64,
                releases_sha256: hex(&h.finalize()),
                decisions_sha256: hex(&Sha256::digest(&decisions)),
                balance: ledger.map_or(0.0, |l| l.balance),
                ledger_sha256: hex(&Sha256::digest(&ledger_json)),
            });
        }
        Ok(Summary {
            log_size,
            log_root,
            objects,
            versions,
            partners,
        })
    }
}
