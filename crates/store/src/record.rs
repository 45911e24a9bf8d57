use liaison_stix::{StixId, StixObject, Timestamp, Upgrade};

/// The node's own identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRecord {
    /// The party that runs this node (e.g. `USA`).
    pub party: String,
    /// When the node was initialised.
    pub created: String,
}

/// One object to ingest.
#[derive(Debug, Clone, Copy)]
pub struct NewObject<'a> {
    /// The object, as received.
    pub object: &'a StixObject,
    /// The label assigned on ingest to an object that carried none of its own (a
    /// marking-definition id), kept beside the object rather than written into it.
    pub assigned_label: Option<&'a StixId>,
    /// What the STIX 2.0 upgrade added to the object (empty for an object received as STIX
    /// 2.1), kept beside it so that `explain` can say so. The object's text is the text
    /// received with these additions written before its closing brace
    /// ([`liaison_stix::text_before_upgrade`] gives the text received back).
    pub upgrades: &'a [Upgrade],
}

/// What an ingest did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestReport {
    /// Versions newly stored.
    pub added: u64,
    /// Exact duplicates of stored versions, skipped.
    pub duplicates: u64,
    /// The batch positions of those duplicates, in order.
    pub duplicates_at: Vec<usize>,
    /// Objects refused one by one (the rest of the batch was written), by batch position.
    pub refused: Vec<Refusal>,
}

/// An object of a batch the store refused on its own, leaving the rest of the batch to go
/// in: the rules of DESIGN.md "Who may change what" that the store enforces where its state
/// is (in the ingest's transaction, so no concurrent writer slips between check and write).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Position in the batch.
    pub index: usize,
    /// The object's id.
    pub id: String,
    /// Why.
    pub kind: RefusalKind,
}

/// Why the store refused one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefusalKind {
    /// The id is owned by another source (the source of its first stored version): only the
    /// owner's versions are taken.
    NotOwner {
        /// The owner's source (`local`, or a party).
        owner: String,
    },
    /// A marking-definition is held under this id with other content: STIX 2.1 forbids
    /// versioning marking-definitions, so a second definition is never taken.
    Redefined,
}

/// One stored version of an object.
#[derive(Debug, Clone)]
pub struct Stored {
    /// Storage order; increases with every stored version.
    pub seq: i64,
    /// The object, exactly as received.
    pub object: StixObject,
    /// When this version was added to this node (microsecond precision).
    pub date_added: Timestamp,
    /// Who gave it to us: `local` for our own ingest, else the partner's party.
    pub source: String,
    /// The label assigned on ingest, if the object carried none.
    pub assigned_label: Option<StixId>,
    /// What the STIX 2.0 upgrade added to it on the way in (empty if it came as STIX 2.1).
    pub upgrades: Vec<Upgrade>,
}

/// What the label engine needs to know of the newest version of an object, without its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexRow {
    /// Storage order of this version.
    pub seq: i64,
    /// `id`.
    pub id: String,
    /// `object_marking_refs`.
    pub markings: Vec<String>,
    /// The label assigned on ingest, if any.
    pub assigned_label: Option<String>,
    /// For a tear line, the object it sanitizes.
    pub tearline_of: Option<String>,
    /// For a `derived-from` relationship: (derived, source).
    pub derivation: Option<(String, String)>,
    /// The ends a relationship or sighting needs visible to flow (`source_ref` and
    /// `target_ref`; `sighting_of_ref`).
    pub ends: Vec<String>,
    /// The object's free-form `labels`, for agreements scoped by topic.
    pub tags: Vec<String>,
    /// Who gave it to us.
    pub source: String,
}

impl IndexRow {
    pub(crate) fn of(
        seq: i64,
        object: &StixObject,
        assigned_label: Option<&StixId>,
        source: &str,
    ) -> IndexRow {
        IndexRow {
            seq,
            id: object.id().to_string(),
            markings: object
                .object_marking_refs()
                .iter()
                .map(ToString::to_string)
                .collect(),
            assigned_label: assigned_label.map(ToString::to_string),
            tearline_of: object.tearline_of().map(ToString::to_string),
            derivation: object
                .derivation()
                .map(|(a, b)| (a.to_owned(), b.to_owned())),
            ends: object.ends().map(str::to_owned).collect(),
            tags: object.tags().map(str::to_owned).collect(),
            source: source.to_owned(),
        }
    }
}

/// A partner and its agreement, kept as the TOML text the operator gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerRecord {
    /// The partner's party (e.g. `RUS`).
    pub party: String,
    /// The agreement, as TOML.
    pub agreement: String,
    /// When it was last set.
    pub updated: String,
}

/// An originator's permission to release an object, and what is derived from it, to a party.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRecord {
    /// The consent's own id.
    pub id: String,
    /// The object consented for.
    pub object: String,
    /// The party it may go to.
    pub to: String,
    /// The originator who consents.
    pub by: String,
    /// When it was recorded.
    pub created: String,
}

/// What a partner's view's basis is checked against on each request (one read: see
/// [`crate::PartnerStore::basis_inputs`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BasisInputs {
    /// The partner's agreement (TOML), if it is a partner.
    pub agreement: Option<String>,
    /// How many partners there are.
    pub partners: usize,
    /// The consents given for it: (object, originator who consents), by when given.
    pub consents: Vec<(String, String)>,
    /// The objects held back from it, sorted.
    pub held: Vec<String>,
}

/// A release officer's hold: our own decision not to release an object (and what rests on
/// it) to one partner for now, until it is lifted. At most one stands per (object, partner).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldRecord {
    /// The object held.
    pub object: String,
    /// The partner it is held from.
    pub partner: String,
    /// The officer who placed it (an operator's name, or `cli`).
    pub by: String,
    /// When it was placed (RFC 3339, UTC).
    pub created: String,
    /// Why, in the officer's words.
    pub reason: String,
}

/// The private opening of one log entry: the leaf the published commitment hides, its salt,
/// and the parties it concerns (who may be given it). Kept beside the log, never published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogOpening {
    /// The leaf (canonical JSON).
    pub leaf: Vec<u8>,
    /// The salt of its commitment.
    pub salt: [u8; 32],
    /// The parties it concerns.
    pub parties: Vec<String>,
}

/// A private-matching request charged to a partner's budget, recorded with its log entry in
/// one transaction (see [`crate::LogStore::log_append_match`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchCharge {
    /// The asking partner.
    pub partner: String,
    /// The epoch charged.
    pub epoch: u64,
    /// SHA-256 of the request as received, hex: the same request twice is a replay.
    pub request: String,
    /// Selectors evaluated (padding included).
    pub count: u64,
    /// The partner's budget for the epoch, from its agreement.
    pub budget: u64,
}

impl MatchCharge {
    /// Whether the charge may be made, given whether its request was answered before and
    /// what its partner has spent this epoch: both backends decide with this, inside the
    /// transaction that makes the charge.
    pub(crate) fn check(&self, seen: bool, used: i64) -> Result<(), crate::StoreError> {
        if seen {
            return Err(crate::StoreError::MatchReplayed);
        }
        let remaining = self.budget.saturating_sub(used.max(0) as u64);
        if self.count > remaining {
            return Err(crate::StoreError::MatchBudget {
                requested: self.count,
                remaining,
            });
        }
        Ok(())
    }
}

/// What a partner has spent of its matching budget in one epoch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MatchUsage {
    /// Selectors evaluated.
    pub used: u64,
    /// Requests answered.
    pub queries: u64,
    /// When the last was answered.
    pub last: Option<String>,
}

/// Evidence that a partner's log forked, as kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForkRecord {
    /// The partner.
    pub party: String,
    /// When it was found.
    pub created: String,
    /// The evidence (a JSON document: both checkpoints, the proof, the failure).
    pub evidence: String,
}

/// The signed note of an agreement, as a node keeps it: `ours` (the terms we apply to
/// `partner`, signed by us, and by the partner once it countersigned) or `theirs` (the terms
/// `partner` applies to us, with their text, signed by it and countersigned by us).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgreementNoteRecord {
    /// The partner.
    pub partner: String,
    /// `ours` or `theirs`.
    pub side: String,
    /// SHA-256 of the agreement text, hex.
    pub sha256: String,
    /// The agreement text (TOML).
    pub text: String,
    /// The signed note (C2SP signed-note), with every signature received on it.
    pub note: String,
    /// When it was kept.
    pub updated: String,
}

/// An object the trust boundary refused, kept with who sent it and why, so that what a
/// partner tried (and our own reporting coming back under our name) stays visible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusalRecord {
    /// Storage order (set by the store; ignored when adding).
    pub seq: i64,
    /// When it was refused.
    pub created: String,
    /// Who sent it: `local`, or a partner's party.
    pub sender: String,
    /// The object's id.
    pub id: String,
    /// Its version (`modified`, else `created`, else empty).
    pub version: String,
    /// Why, as said to the operator.
    pub reason: String,
    /// The object as received.
    pub body: String,
}

/// An operator account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorRecord {
    /// The login name.
    pub name: String,
    /// The role (`analyst` or `officer`; the console reads it, the store does not).
    pub role: String,
    /// The password's Argon2 PHC string.
    pub phc: String,
    /// When the account was created.
    pub created: String,
    /// When the account was last changed.
    pub updated: String,
}

/// One audited action: who did what, when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Position in the audit list (assigned by the store; ignored when adding).
    pub seq: i64,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// The operator (or `cli` for a change made at the command line).
    pub operator: String,
    /// What was done, a stable code (`login`, `consent`, `operator_add`, ...).
    pub action: String,
    /// What it was done to (an object id, a partner, an operator), or empty.
    pub target: String,
    /// Anything else worth keeping, for people.
    pub detail: String,
}

/// The `upgrades` column's JSON text for what the STIX 2.0 upgrade added (NULL for nothing).
pub(crate) fn upgrades_json(upgrades: &[Upgrade]) -> Result<Option<String>, crate::StoreError> {
    if upgrades.is_empty() {
        return Ok(None);
    }
    serde_json::to_string(upgrades)
        .map(Some)
        .map_err(|e| crate::StoreError::Damaged(format!("upgrades: {e}")))
}

/// What the STIX 2.0 upgrade added, read back from the `upgrades` column of row `seq`.
pub(crate) fn upgrades_of(seq: i64, text: Option<&str>) -> Result<Vec<Upgrade>, crate::StoreError> {
    match text {
        None => Ok(Vec::new()),
        Some(t) => serde_json::from_str(t)
            .map_err(|e| crate::StoreError::Damaged(format!("row {seq}: upgrades: {e}"))),
    }
}

/// One row of a partner's stored view (see crates/release `maintain`): an object as it was
/// delivered to the partner, under our id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewRow {
    /// Our id of the object (the row's key within the partner's view).
    pub original: String,
    /// The id the partner received it under (differs from `original` when remapped).
    pub delivered: String,
    /// Its type.
    pub object_type: String,
    /// Its version as TAXII shows it (`modified`, else `created`, else `date_added`).
    pub version: String,
    /// Its `spec_version`.
    pub spec_version: String,
    /// When it entered the partner's view (its release time).
    pub date_added: String,
    /// `date_added` in microseconds since the epoch: the position pages are read by.
    pub added_micros: i64,
    /// The copy as delivered, JSON text (cut and fingerprinted): shared, so that a page
    /// read from the store hands it on without copying it again.
    pub json: std::sync::Arc<str>,
    /// The marking-definitions the copy refers to (empty for the meta rows: labels,
    /// computed labels, liaison's identity and extension-definition).
    pub marks: Vec<String>,
    /// Whether this row is a meta row (a marking or extension definition, or liaison's
    /// identity, travelling with the intelligence) rather than intelligence.
    pub meta: bool,
}

/// What a partner's stored view is maintained through.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ViewState {
    /// A fingerprint of everything that affects every decision for the partner (agreement,
    /// consents, number of partners, marking-definitions, reciprocity pause).
    pub basis: String,
    /// The last change (of [`crate::ChangeStore::changes_since`]) the rows reflect.
    pub through: i64,
}
