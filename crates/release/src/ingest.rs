//! Ingest: a document is checked whole (STIX, and every liaison label it carries) before
//! anything is written, then written in one transaction.

use std::collections::HashSet;

use liaison_labels::{Label, Party};
use liaison_stix::{Document, StixId, StixObject, Timestamp, UpgradedDocument};
use liaison_store::Store;

use crate::admit::{Entering, Refused};
use crate::error::ReleaseError;
use crate::node::Node;

/// How to ingest.
#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    /// The label for objects that carry no liaison label of their own. Without it they get
    /// the node's default: owner only.
    pub default_label: Option<Label>,
    /// Who the objects came from, and so who owns them: a partner's party, or `None` for
    /// this node's own analysts.
    pub source: Option<Party>,
}

/// What an ingest did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct IngestSummary {
    /// Objects in the document.
    pub objects: u64,
    /// Versions newly stored.
    pub added: u64,
    /// Exact duplicates skipped.
    pub duplicates: u64,
    /// Objects newly stored that carried no liaison label and got the one given
    /// ([`IngestOptions::default_label`]).
    pub labelled: u64,
    /// Objects newly stored that carried no liaison label and were given none: they got the
    /// node's default, owner only.
    pub owner_only: u64,
    /// Objects already held (exact duplicates) that carry no liaison label of their own, for
    /// which another label was given this time: each kept the label it had (a label given
    /// on ingest applies to versions new to the node; it never relabels a held one).
    pub kept_label: Vec<String>,
    /// The default label's marking-definition, when one was used.
    pub label: Option<String>,
    /// Objects refused at the trust boundary, one by one (the rest was stored).
    pub refused: Vec<Refused>,
    /// Objects read as STIX 2.0 and upgraded to 2.1 (what was added is kept beside each;
    /// `explain` shows it).
    pub upgraded: u64,
}

impl<S: Store> Node<S> {
    /// Ingests a parsed document atomically. `progress` is told how many objects are written.
    pub fn ingest(
        &mut self,
        doc: &Document,
        options: &IngestOptions,
        progress: &mut dyn FnMut(u64),
    ) -> Result<IngestSummary, ReleaseError> {
        self.ingest_with_upgrades(doc, &[], options, progress)
    }

    /// Ingests a document read with [`liaison_stix::parse_document_upgrading`]: like
    /// [`Node::ingest`], and what the STIX 2.0 upgrade added to each object is kept beside it.
    pub fn ingest_upgraded(
        &mut self,
        read: &UpgradedDocument,
        options: &IngestOptions,
        progress: &mut dyn FnMut(u64),
    ) -> Result<IngestSummary, ReleaseError> {
        self.ingest_with_upgrades(&read.document, &read.upgrades, options, progress)
    }

    /// `upgrades` is aligned with `doc.objects` (missing entries: nothing added).
    fn ingest_with_upgrades(
        &mut self,
        doc: &Document,
        upgrades: &[Vec<liaison_stix::Upgrade>],
        options: &IngestOptions,
        progress: &mut dyn FnMut(u64),
    ) -> Result<IngestSummary, ReleaseError> {
        let mut liaison_ids: HashSet<String> = HashSet::new();
        for (index, o) in doc.objects.iter().enumerate() {
            if o.object_type() != "marking-definition" {
                continue;
            }
            match Label::from_marking_definition(o) {
                Ok(Some(_)) => {
                    liaison_ids.insert(o.id().to_string());
                }
                Ok(None) => {}
                Err(e) => {
                    return Err(ReleaseError::Label {
                        at: format!("object {index} (`{}`)", o.id()),
                        field: format!("extensions.{}", liaison_stix::LIAISON_EXTENSION_ID),
                        problem: e.to_string(),
                    })
                }
            }
        }
        // Which marking ids not defined in the document are liaison labels we already hold:
        // looked up one by one (a document uses few), not by reading every stored marking.
        let mut held_labels: HashSet<String> = HashSet::new();
        let mut looked: HashSet<&str> = HashSet::new();
        for o in &doc.objects {
            for m in o.object_marking_refs() {
                let m = m.as_str();
                if liaison_ids.contains(m) || !looked.insert(m) {
                    continue;
                }
                if let Some(stored) = self.store.latest(m)? {
                    if matches!(Label::from_marking_definition(&stored.object), Ok(Some(_))) {
                        held_labels.insert(m.to_owned());
                    }
                }
            }
        }
        let carries_label = |o: &StixObject| {
            o.object_marking_refs()
                .iter()
                .any(|m| liaison_ids.contains(m.as_str()) || held_labels.contains(m.as_str()))
        };

        let mut extra: Vec<StixObject> = Vec::new();
        let label_id: Option<StixId> = match &options.default_label {
            None => None,
            Some(label) => {
                let id = label.marking_id();
                if self.store.latest(id.as_str())?.is_none() && !liaison_ids.contains(id.as_str()) {
                    let created = Timestamp::now().unix_nanos();
                    let created =
                        Timestamp::from_unix_nanos(created, 3).unwrap_or_else(Timestamp::now);
                    extra.push(StixObject::from_props(
                        label.to_marking_definition(created.as_str()),
                    )?);
                }
                Some(id)
            }
        };

        let mut batch: Vec<Entering<'_>> = Vec::with_capacity(doc.objects.len() + extra.len());
        for o in &extra {
            batch.push(Entering::plain(o, None));
        }
        // Per document position: carries no liaison label, so gets the one given or owner only.
        let mut unlabelled: Vec<bool> = Vec::with_capacity(doc.objects.len());
        for (i, o) in doc.objects.iter().enumerate() {
            let meta = matches!(
                o.object_type(),
                "marking-definition" | "extension-definition"
            );
            let bare = !meta && !carries_label(o);
            unlabelled.push(bare);
            let assigned = if bare { label_id.as_ref() } else { None };
            batch.push(Entering {
                object: o,
                assigned,
                upgrades: upgrades.get(i).map_or(&[], Vec::as_slice),
            });
        }
        let admitted = self.admit(options.source.as_ref(), &batch, progress)?;
        // Positions in `batch` are positions in the document, after the labels made here.
        let refused: Vec<Refused> = admitted
            .refused
            .into_iter()
            .filter_map(|mut r| {
                r.index = r.index.checked_sub(extra.len())?;
                Some(r)
            })
            .collect();
        let added = admitted.added.iter().filter(|i| **i >= extra.len()).count() as u64;
        let (labelled, owner_only, kept_label) = self.label_counts(
            &batch[extra.len()..],
            &unlabelled,
            &admitted.added,
            extra.len(),
            &refused,
        )?;
        tracing::info!(
            added,
            duplicates = admitted.duplicates,
            refused = refused.len(),
            source = options.source.as_ref().map_or("local", Party::as_str),
            "ingested"
        );
        Ok(IngestSummary {
            objects: doc.objects.len() as u64,
            added,
            duplicates: admitted.duplicates,
            labelled,
            owner_only,
            kept_label,
            label: label_id.map(|l| l.to_string()),
            refused,
            upgraded: upgrades.iter().filter(|u| !u.is_empty()).count() as u64,
        })
    }

    /// How the labels of a document went: objects newly stored with the label given, newly
    /// stored with none (owner only), and already held ones that kept the label they had
    /// although another was given now. `objects` and `unlabelled` are by document position;
    /// `added` holds batch positions, which are `offset` further on.
    fn label_counts(
        &self,
        objects: &[Entering<'_>],
        unlabelled: &[bool],
        added: &[usize],
        offset: usize,
        refused: &[Refused],
    ) -> Result<(u64, u64, Vec<String>), ReleaseError> {
        let (mut labelled, mut owner_only, mut kept) = (0, 0, Vec::new());
        for (i, (e, unlabelled)) in objects.iter().zip(unlabelled).enumerate() {
            let (o, assigned) = (e.object, e.assigned);
            if !unlabelled {
                continue;
            }
            // Both lists are in position order.
            if added.binary_search(&(i + offset)).is_ok() {
                match assigned {
                    Some(_) => labelled += 1,
                    None => owner_only += 1,
                }
                continue;
            }
            let Some(given) = assigned else { continue };
            if refused.binary_search_by_key(&i, |r| r.index).is_ok() {
                continue;
            }
            // An exact duplicate: the version held keeps the label it was stored with.
            let version = crate::admit::version_text(o);
            let held = self
                .store
                .versions(o.id().as_str())?
                .into_iter()
                .find(|v| crate::admit::version_text(&v.object) == version);
            if held.is_some_and(|v| v.assigned_label.as_ref() != Some(given)) {
                kept.push(o.id().to_string());
            }
        }
        Ok((labelled, owner_only, kept))
    }
}
