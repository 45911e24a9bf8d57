//! The trust boundary (DESIGN.md "Who may change what"): every path by which objects enter a
//! node (our analysts' ingest, `ingest --from`, a partner's TAXII POST, our pull from a
//! partner) goes through [`Node::admit`], and nothing else writes objects.
//!
//! The sender of a batch owns what it is the first to send; that is recorded by the store,
//! never read from a field the sender wrote. Here:
//! - a liaison label naming us as originator is refused unless we made it (a label confers
//!   no power, and one naming us would: our ORCON needs no consent, our tear lines count);
//! - the store refuses, in its ingest transaction, versions of ids another source owns and
//!   second definitions of held marking-definitions ([`liaison_store::RefusalKind`]);
//! - every refusal is kept with the sender and the object ([`liaison_store::RefusalRecord`]).
//!
//! What the policy does with ownership (a `derived-from` counts only when asserted by the
//! derived object's owner, a tear line only when made by the original's owner) lives in
//! `liaison_policy::World`.

use liaison_labels::{Label, Party};
use liaison_stix::{StixId, StixObject, Timestamp, Upgrade};
use liaison_store::prelude::*;
use liaison_store::{NewObject, RefusalKind, RefusalRecord};

use crate::error::ReleaseError;
use crate::node::{Node, LOCAL};

/// Why the trust boundary refused one object.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Refusal {
    /// The id belongs to another party: only its owner's versions are taken.
    NotOwner {
        /// The owner (`local` is this node).
        owner: String,
    },
    /// A marking-definition is held under this id with other content (STIX 2.1 forbids
    /// versioning marking-definitions).
    MarkingRedefined,
    /// A liaison label naming this node's party as originator, sent by someone else.
    ClaimsOurLabel {
        /// This node's party.
        originator: String,
    },
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::NotOwner { owner } if owner == LOCAL => {
                f.write_str("owned by this node; only its owner's versions are taken")
            }
            Refusal::NotOwner { owner } => {
                write!(f, "owned by {owner}; only its owner's versions are taken")
            }
            Refusal::MarkingRedefined => f.write_str(
                "a different marking-definition is held under this id; marking-definitions are never versioned",
            ),
            Refusal::ClaimsOurLabel { originator } => write!(
                f,
                "a label naming {originator} as originator is made only by {originator}'s own node"
            ),
        }
    }
}

impl Refusal {
    /// The refusal as told to the partner that sent the object: who else owns an object
    /// (which partner gave it to us) is our sourcing, not the sender's business.
    pub fn for_partner(&self) -> String {
        match self {
            Refusal::NotOwner { owner } if owner != LOCAL => {
                "owned by another party; only its owner's versions are taken".to_owned()
            }
            other => other.to_string(),
        }
    }
}

/// One object refused at the boundary.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Refused {
    /// Its position in what was sent.
    pub index: usize,
    /// Its id.
    pub id: String,
    /// Its version (`modified`, else `created`, else empty).
    pub version: String,
    /// Why.
    pub reason: Refusal,
}

/// What became of a batch at the boundary.
#[derive(Debug, Clone, Default)]
pub(crate) struct Admitted {
    /// Positions of the versions newly stored.
    pub(crate) added: Vec<usize>,
    /// How many were exact duplicates of stored versions.
    pub(crate) duplicates: u64,
    /// What was refused, by position.
    pub(crate) refused: Vec<Refused>,
}

/// One object on its way in.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entering<'a> {
    /// The object (upgraded to STIX 2.1 if it came as 2.0).
    pub(crate) object: &'a StixObject,
    /// The label assigned to it when it carries none.
    pub(crate) assigned: Option<&'a StixId>,
    /// What the STIX 2.0 upgrade added to it (empty if it came as 2.1).
    pub(crate) upgrades: &'a [Upgrade],
}

impl<'a> Entering<'a> {
    /// An object that came as STIX 2.1 (or that this node made).
    pub(crate) fn plain(object: &'a StixObject, assigned: Option<&'a StixId>) -> Entering<'a> {
        Entering {
            object,
            assigned,
            upgrades: &[],
        }
    }
}

/// An object's version as text (`modified`, else `created`, else empty).
pub(crate) fn version_text(o: &StixObject) -> String {
    o.version().map(ToString::to_string).unwrap_or_default()
}

impl<S: Store> Node<S> {
    /// Takes `objects` from `sender` (`None`: this node's own analysts), each with the label
    /// assigned to it when it carries none, through the trust boundary: refused objects are
    /// kept as refusals, the rest is stored in one transaction. `progress` is told how many
    /// objects are written.
    pub(crate) fn admit(
        &mut self,
        sender: Option<&Party>,
        objects: &[Entering<'_>],
        progress: &mut dyn FnMut(u64),
    ) -> Result<Admitted, ReleaseError> {
        let sender = sender.filter(|p| *p != &self.party);
        let source = sender.map_or(LOCAL, Party::as_str);
        let mut refused: Vec<Refused> = Vec::new();
        let mut batch: Vec<NewObject<'_>> = Vec::with_capacity(objects.len());
        // Batch position -> position in `objects`.
        let mut at: Vec<usize> = Vec::with_capacity(objects.len());
        for (index, entering) in objects.iter().enumerate() {
            let o = entering.object;
            if sender.is_some() && o.object_type() == "marking-definition" {
                if let Ok(Some(label)) = Label::from_marking_definition(o) {
                    // Our own label coming back exactly as we hold it is a duplicate. Any
                    // other label in our name is refused the same way whether or not we hold
                    // its id, so that the answer does not tell which labels we hold.
                    let ours_as_held = label.originator == self.party
                        && self
                            .store
                            .latest(o.id().as_str())?
                            .is_some_and(|held| held.object.props() == o.props());
                    if label.originator == self.party && !ours_as_held {
                        refused.push(Refused {
                            index,
                            id: o.id().to_string(),
                            version: version_text(o),
                            reason: Refusal::ClaimsOurLabel {
                                originator: self.party.to_string(),
                            },
                        });
                        continue;
                    }
                }
            }
            at.push(index);
            batch.push(NewObject {
                object: o,
                assigned_label: entering.assigned,
                upgrades: entering.upgrades,
            });
        }
        let report = match self.store.ingest(&batch, source, progress) {
            Ok(r) => r,
            // Conflict positions are the store batch's; the caller's are those of `objects`.
            Err(liaison_store::StoreError::Conflict {
                index,
                id,
                version,
                also,
            }) => {
                return Err(liaison_store::StoreError::Conflict {
                    index: at.get(index).copied().unwrap_or(index),
                    id,
                    version,
                    also: also
                        .iter()
                        .map(|i| at.get(*i).copied().unwrap_or(*i))
                        .collect(),
                }
                .into())
            }
            Err(e) => return Err(e.into()),
        };
        for r in &report.refused {
            let Some(&index) = at.get(r.index) else {
                continue;
            };
            let version = objects
                .get(index)
                .map(|e| version_text(e.object))
                .unwrap_or_default();
            refused.push(Refused {
                index,
                id: r.id.clone(),
                version,
                reason: match &r.kind {
                    RefusalKind::NotOwner { owner } => Refusal::NotOwner {
                        owner: owner.clone(),
                    },
                    RefusalKind::Redefined => Refusal::MarkingRedefined,
                },
            });
        }
        refused.sort_by_key(|r| r.index);
        if !refused.is_empty() {
            let created = Timestamp::now().to_string();
            let records: Vec<RefusalRecord> = refused
                .iter()
                .map(|r| RefusalRecord {
                    seq: 0,
                    created: created.clone(),
                    sender: source.to_owned(),
                    id: r.id.clone(),
                    version: r.version.clone(),
                    reason: r.reason.to_string(),
                    body: objects
                        .get(r.index)
                        .map(|e| e.object.raw().to_owned())
                        .unwrap_or_default(),
                })
                .collect();
            self.store.add_refusals(&records)?;
            tracing::warn!(
                sender = source,
                refused = refused.len(),
                "objects refused at the trust boundary"
            );
        }
        let mut skipped: Vec<usize> = report
            .duplicates_at
            .iter()
            .chain(report.refused.iter().map(|r| &r.index))
            .filter_map(|i| at.get(*i).copied())
            .collect();
        skipped.sort_unstable();
        let added = at
            .iter()
            .copied()
            .filter(|i| skipped.binary_search(i).is_err())
            .collect();
        Ok(Admitted {
            added,
            duplicates: report.duplicates,
            refused,
        })
    }

    /// The refusals kept, oldest first: after `after`, at most `limit`, from `sender` only
    /// when given.
    pub fn refusals(
        &self,
        sender: Option<&str>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<RefusalRecord>, ReleaseError> {
        Ok(self.store.refusals(sender, after, limit)?)
    }
}
