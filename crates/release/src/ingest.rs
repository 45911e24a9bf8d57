//! Ingest. Whatever its size, a document is checked whole (STIX, and every liaison label it
//! carries) before anything is written. A document in memory ([`Node::ingest`]) is then written
//! in one transaction. A file is read twice as a stream, so that memory is bounded by a batch and
//! not by the file: [`check_document`] refuses a malformed file with nothing written, then
//! [`Node::ingest_checked`] writes it in batches of [`INGEST_BATCH`] objects, each written whole
//! or not at all, in a transaction of its own (so that readers and the server's own writes wait
//! for one batch at most). What a batch can still refuse is what depends on the store (a
//! different object held under the same id and version): the batches before it stay, and the
//! same ingest run again skips them as already held. The trust boundary is the same for every
//! batch ([`Node::admit`]).

use std::collections::{HashMap, HashSet};
use std::io::Read;

use liaison_labels::{Label, Party};
use liaison_stix::{
    stream_document, Document, StixId, StixObject, StreamError, Timestamp, Upgrade,
    UpgradedDocument,
};
use liaison_store::prelude::*;
use liaison_store::StoreError;

use crate::admit::{Entering, Refused};
use crate::error::ReleaseError;
use crate::node::Node;

/// Objects written in one transaction by [`Node::ingest_checked`] (a batch also ends at
/// [`INGEST_BATCH_BYTES`] of object text): about 0.1 s of the store's time, and some tens of
/// megabytes of memory, whatever the size of the file.
pub const INGEST_BATCH: usize = 10_000;

/// Object text (bytes as received) after which a batch of [`INGEST_BATCH`] ends even with
/// fewer objects (a larger batch gets as much more in proportion, up to ten times this).
pub const INGEST_BATCH_BYTES: usize = 16 << 20;

/// The largest batch [`ingest_batch_for`] chooses.
pub const INGEST_BATCH_MAX: usize = 100_000;

/// The batch for a store that holds `versions` object versions: [`INGEST_BATCH`] objects
/// until it holds a million, then a hundredth of what it holds, up to [`INGEST_BATCH_MAX`].
///
/// Why it grows: every new id adds an entry at a random place of the id index, and a commit
/// writes each page it touched once (SQLite into its WAL, PostgreSQL into its own). A small
/// batch touches as many pages as it has objects once the index has more pages than that:
/// at 10M objects a batch of 10,000 wrote about 110 MB for 8 MB of objects, and ingest fell
/// to 31k objects/s; batches of 100,000 touch each page once per batch instead
/// (BENCHMARKS.md §14). Memory stays bounded by the batch; a small store keeps small batches.
pub fn ingest_batch_for(versions: u64) -> usize {
    usize::try_from(versions / 100)
        .unwrap_or(usize::MAX)
        .clamp(INGEST_BATCH, INGEST_BATCH_MAX)
}

/// The text cap of a batch of `batch` objects: [`INGEST_BATCH_BYTES`] per [`INGEST_BATCH`]
/// objects, at most ten times that.
fn batch_bytes(batch: usize) -> usize {
    INGEST_BATCH_BYTES.saturating_mul(batch.div_ceil(INGEST_BATCH).clamp(1, 10))
}

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

/// The liaison labels a document defines: its marking-definitions that are liaison labels, each
/// checked (one that does not parse refuses the document).
#[derive(Debug, Clone, Default)]
struct DefinedLabels(HashSet<String>);

impl DefinedLabels {
    fn check(&mut self, index: usize, o: &StixObject) -> Result<(), ReleaseError> {
        if o.object_type() != "marking-definition" {
            return Ok(());
        }
        match Label::from_marking_definition(o) {
            Ok(Some(_)) => {
                self.0.insert(o.id().to_string());
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(e) => Err(ReleaseError::Label {
                at: format!("object {index} (`{}`)", o.id()),
                field: format!("extensions.{}", liaison_stix::LIAISON_EXTENSION_ID),
                problem: e.to_string(),
            }),
        }
    }
}

/// A document read once by [`check_document`] and accepted: what writing it needs.
#[derive(Debug, Clone)]
pub struct CheckedDocument {
    /// Objects in the document.
    pub objects: u64,
    /// Objects read as STIX 2.0 and upgraded to 2.1.
    pub upgraded: u64,
    labels: DefinedLabels,
}

/// Reads a document (a bundle, a TAXII envelope or one object; STIX 2.0 is upgraded as
/// [`liaison_stix::parse_document_upgrading`] does) from `source` once, as a stream, and checks
/// it as [`Node::ingest`] checks a document before writing: every object, the document as a
/// whole, and every liaison label it defines. Nothing is kept but the labels' ids; `read` is
/// told how many objects were read.
pub fn check_document<R: Read>(
    source: R,
    read: &mut dyn FnMut(u64),
) -> Result<CheckedDocument, ReleaseError> {
    let mut labels = DefinedLabels::default();
    // The first label refused: reported only if the STIX of the whole document is accepted,
    // as a document in memory is checked (STIX first, then labels).
    let mut refused: Option<ReleaseError> = None;
    let streamed = stream_document::<_, ReleaseError>(source, true, &mut |index, o, _| {
        if refused.is_none() {
            if let Err(e) = labels.check(index, &o) {
                refused = Some(e);
            }
        }
        if index % 4096 == 4095 {
            read(index as u64 + 1);
        }
        Ok(())
    })
    .map_err(from_stream)?;
    if let Some(e) = refused {
        return Err(e);
    }
    read(streamed.objects as u64);
    Ok(CheckedDocument {
        objects: streamed.objects as u64,
        upgraded: streamed.upgraded as u64,
        labels,
    })
}

fn from_stream(e: StreamError<ReleaseError>) -> ReleaseError {
    match e {
        StreamError::Stix(e) => ReleaseError::Stix(e),
        StreamError::Read(e) => ReleaseError::Read(e),
        StreamError::Stopped(e) => e,
    }
}

/// How the labels of a document's objects are decided, batch after batch.
struct Labelling {
    /// The liaison labels the document defines.
    defined: DefinedLabels,
    /// Marking ids the document uses and does not define, looked up in the store once each:
    /// whether a liaison label is held under the id.
    held: HashMap<String, bool>,
    /// The label given for objects that carry none ([`IngestOptions::default_label`]).
    given: Option<StixId>,
    /// Its marking-definition, when the node does not hold it yet: written with the first batch.
    make: Vec<StixObject>,
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
        upgrades: &[Vec<Upgrade>],
        options: &IngestOptions,
        progress: &mut dyn FnMut(u64),
    ) -> Result<IngestSummary, ReleaseError> {
        let mut defined = DefinedLabels::default();
        for (index, o) in doc.objects.iter().enumerate() {
            defined.check(index, o)?;
        }
        let mut labelling = self.labelling(defined, options)?;
        let mut summary = IngestSummary {
            objects: doc.objects.len() as u64,
            label: labelling.given.as_ref().map(ToString::to_string),
            upgraded: upgrades.iter().filter(|u| !u.is_empty()).count() as u64,
            ..IngestSummary::default()
        };
        self.ingest_batch(
            &mut labelling,
            0,
            &doc.objects,
            upgrades,
            options,
            &mut summary,
            progress,
        )?;
        ingested(&summary, options);
        Ok(summary)
    }

    /// Writes the document `checked` (read again from `source`, which must hold what was
    /// checked) in batches of at most `batch` objects (by default [`ingest_batch_for`] the
    /// store's size; and at most their share of [`INGEST_BATCH_BYTES`]), each in a
    /// transaction of its own, through the trust boundary as [`Node::ingest`] does. Memory is
    /// bounded by a batch. If a batch is refused or fails, the batches before it stay stored
    /// and the error says how many objects they held ([`ReleaseError::PartlyIngested`]).
    pub fn ingest_checked<R: Read>(
        &mut self,
        source: R,
        checked: &CheckedDocument,
        options: &IngestOptions,
        batch: Option<usize>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<IngestSummary, ReleaseError> {
        let batch = match batch {
            Some(batch) => batch.max(1),
            None => ingest_batch_for(u64::try_from(self.store.last_seq()?).unwrap_or(0)),
        };
        let max_bytes = batch_bytes(batch);
        let mut labelling = self.labelling(checked.labels.clone(), options)?;
        let mut summary = IngestSummary {
            objects: checked.objects,
            label: labelling.given.as_ref().map(ToString::to_string),
            upgraded: checked.upgraded,
            ..IngestSummary::default()
        };
        let mut objects: Vec<StixObject> = Vec::with_capacity(batch.min(INGEST_BATCH));
        let mut upgrades: Vec<Vec<Upgrade>> = Vec::with_capacity(batch.min(INGEST_BATCH));
        let (mut bytes, mut offset) = (0usize, 0usize);
        let read = stream_document::<_, ReleaseError>(source, true, &mut |_, o, added| {
            bytes += o.raw().len();
            objects.push(o);
            upgrades.push(added);
            if objects.len() >= batch || bytes >= max_bytes {
                self.ingest_batch(
                    &mut labelling,
                    offset,
                    &objects,
                    &upgrades,
                    options,
                    &mut summary,
                    progress,
                )
                .map_err(|e| partly(offset, e))?;
                offset += objects.len();
                objects.clear();
                upgrades.clear();
                bytes = 0;
            }
            Ok(())
        });
        let streamed = match read {
            Ok(s) => s,
            // Found by reading, not by writing: the file is not what was checked.
            Err(StreamError::Stix(e)) => {
                return Err(partly(offset, ReleaseError::Changed(e.to_string())))
            }
            Err(e) => return Err(from_stream(e)),
        };
        if streamed.objects as u64 != checked.objects {
            return Err(partly(
                offset,
                ReleaseError::Changed(format!(
                    "{} objects now, {} when checked",
                    streamed.objects, checked.objects
                )),
            ));
        }
        if !objects.is_empty() {
            self.ingest_batch(
                &mut labelling,
                offset,
                &objects,
                &upgrades,
                options,
                &mut summary,
                progress,
            )
            .map_err(|e| partly(offset, e))?;
        }
        ingested(&summary, options);
        Ok(summary)
    }

    /// What deciding labels needs before the first batch: the default label's
    /// marking-definition is made (once) when the node does not hold it yet.
    fn labelling(
        &self,
        defined: DefinedLabels,
        options: &IngestOptions,
    ) -> Result<Labelling, ReleaseError> {
        let mut make: Vec<StixObject> = Vec::new();
        let given: Option<StixId> = match &options.default_label {
            None => None,
            Some(label) => {
                let id = label.marking_id();
                if self.store.latest(id.as_str())?.is_none() && !defined.0.contains(id.as_str()) {
                    let created = Timestamp::now().unix_nanos();
                    let created =
                        Timestamp::from_unix_nanos(created, 3).unwrap_or_else(Timestamp::now);
                    make.push(StixObject::from_props(
                        label.to_marking_definition(created.as_str()),
                    )?);
                }
                Some(id)
            }
        };
        Ok(Labelling {
            defined,
            held: HashMap::new(),
            given,
            make,
        })
    }

    /// Writes `objects` (at `offset` in the document) in one transaction through the trust
    /// boundary, adding what happened to `summary` (positions are the document's).
    #[allow(clippy::too_many_arguments)]
    fn ingest_batch(
        &mut self,
        labelling: &mut Labelling,
        offset: usize,
        objects: &[StixObject],
        upgrades: &[Vec<Upgrade>],
        options: &IngestOptions,
        summary: &mut IngestSummary,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(), ReleaseError> {
        // Which marking ids not defined in the document are liaison labels we already hold:
        // looked up one by one (a document uses few), not by reading every stored marking.
        for o in objects {
            for m in o.object_marking_refs() {
                let m = m.as_str();
                if labelling.defined.0.contains(m) || labelling.held.contains_key(m) {
                    continue;
                }
                let held = match self.store.latest(m)? {
                    Some(stored) => {
                        matches!(Label::from_marking_definition(&stored.object), Ok(Some(_)))
                    }
                    None => false,
                };
                labelling.held.insert(m.to_owned(), held);
            }
        }
        let carries_label = |o: &StixObject| {
            o.object_marking_refs().iter().any(|m| {
                labelling.defined.0.contains(m.as_str())
                    || labelling.held.get(m.as_str()) == Some(&true)
            })
        };

        // The default label's marking-definition goes with the first batch (and is written
        // or rolled back with it).
        let extra = std::mem::take(&mut labelling.make);
        let mut batch: Vec<Entering<'_>> = Vec::with_capacity(objects.len() + extra.len());
        for o in &extra {
            batch.push(Entering::plain(o, None));
        }
        // Per position: carries no liaison label, so gets the one given or owner only.
        let mut unlabelled: Vec<bool> = Vec::with_capacity(objects.len());
        for (i, o) in objects.iter().enumerate() {
            let meta = matches!(
                o.object_type(),
                "marking-definition" | "extension-definition"
            );
            let bare = !meta && !carries_label(o);
            unlabelled.push(bare);
            let assigned = if bare { labelling.given.as_ref() } else { None };
            batch.push(Entering {
                object: o,
                assigned,
                upgrades: upgrades.get(i).map_or(&[], Vec::as_slice),
            });
        }
        let made = extra.len();
        let admitted = match self.admit(options.source.as_ref(), &batch, &mut |n| {
            progress((offset + (n as usize).saturating_sub(made)) as u64)
        }) {
            Ok(a) => a,
            // Positions in the document, not in the batch.
            Err(ReleaseError::Store(StoreError::Conflict {
                index,
                id,
                version,
                also,
            })) => {
                let at = |i: usize| i.saturating_sub(made) + offset;
                return Err(StoreError::Conflict {
                    index: at(index),
                    id,
                    version,
                    also: also.into_iter().map(at).collect(),
                }
                .into());
            }
            Err(e) => return Err(e),
        };
        // Positions in `batch` are positions in `objects`, after the label made here.
        let refused: Vec<Refused> = admitted
            .refused
            .into_iter()
            .filter_map(|mut r| {
                r.index = r.index.checked_sub(made)?;
                Some(r)
            })
            .collect();
        let added = admitted.added.iter().filter(|i| **i >= made).count() as u64;
        let (labelled, owner_only, kept_label) =
            self.label_counts(&batch[made..], &unlabelled, &admitted.added, made, &refused)?;
        summary.added += added;
        summary.duplicates += admitted.duplicates;
        summary.labelled += labelled;
        summary.owner_only += owner_only;
        summary.kept_label.extend(kept_label);
        summary.refused.extend(refused.into_iter().map(|mut r| {
            r.index += offset;
            r
        }));
        Ok(())
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

/// A batch's error once the batches before it (`stored` objects of the document) are stored.
fn partly(stored: usize, e: ReleaseError) -> ReleaseError {
    if stored == 0 {
        return e;
    }
    ReleaseError::PartlyIngested {
        stored: stored as u64,
        source: Box::new(e),
    }
}

fn ingested(summary: &IngestSummary, options: &IngestOptions) {
    tracing::info!(
        added = summary.added,
        duplicates = summary.duplicates,
        refused = summary.refused.len(),
        source = options.source.as_ref().map_or("local", Party::as_str),
        "ingested"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_grow_with_the_store_within_their_bounds() {
        assert_eq!(ingest_batch_for(0), INGEST_BATCH);
        assert_eq!(ingest_batch_for(1_000_000), INGEST_BATCH);
        assert_eq!(ingest_batch_for(2_500_000), 25_000);
        assert_eq!(ingest_batch_for(10_000_000), INGEST_BATCH_MAX);
        assert_eq!(ingest_batch_for(u64::MAX), INGEST_BATCH_MAX);
        assert_eq!(batch_bytes(1), INGEST_BATCH_BYTES);
        assert_eq!(batch_bytes(INGEST_BATCH), INGEST_BATCH_BYTES);
        assert_eq!(batch_bytes(25_000), 3 * INGEST_BATCH_BYTES);
        assert_eq!(batch_bytes(INGEST_BATCH_MAX), 10 * INGEST_BATCH_BYTES);
        assert_eq!(batch_bytes(usize::MAX), 10 * INGEST_BATCH_BYTES);
    }
}
