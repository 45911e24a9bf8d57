use liaison_policy::PolicyError;
use liaison_stix::StixError;
use liaison_store::StoreError;

/// Why a pipeline step refused or failed. Messages name the input at fault.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    /// Input that is not valid STIX 2.1.
    #[error(transparent)]
    Stix(#[from] StixError),
    /// A label that does not parse.
    #[error("{at}: field `{field}`: {problem}")]
    Label {
        /// Which object.
        at: String,
        /// Which field.
        field: String,
        /// What is wrong.
        problem: String,
    },
    /// An agreement or consent that does not parse.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// Curated intelligence could not be computed or recorded.
    #[error("{0}")]
    Curation(String),
    /// A private-matching request was refused.
    #[error(transparent)]
    Matching(#[from] crate::matching::MatchError),
    /// The store failed or refused.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The node's store cannot be named, reached or used as its home says (`store.toml`,
    /// the database URL, the password file).
    #[error("{0}")]
    Database(String),
    /// Another process is computing this partner's view whole (or began computing it again
    /// while this one was): it is left to that one.
    #[error("another process is computing {0}'s view whole; it is served when that is done (run this again then)")]
    ViewBusy(String),
    /// The node has not been initialised.
    #[error("no liaison node here: run `liaison init --party XXX` first")]
    NotInitialised,
    /// An unknown partner.
    #[error("`{0}` is not a partner of this node (see `liaison partner list`)")]
    UnknownPartner(String),
    /// An unknown object.
    #[error("no object `{0}` is held")]
    UnknownObject(String),
    /// A party code that does not parse.
    #[error("{0}")]
    Party(String),
    /// An agreement on record that this build refuses (stored by an older liaison).
    #[error("the agreement with {party} on record is refused (set a corrected one with `liaison agreement set {party} FILE`)")]
    StoredAgreement {
        /// The partner.
        party: String,
        /// Why it is refused.
        #[source]
        source: PolicyError,
    },
    /// An agreement note that is refused (bad signature, other terms, malformed).
    #[error("agreement refused: {0}")]
    Agreement(String),
    /// The node's log key file is missing: the node refuses to run rather than make a new key,
    /// which every partner would see as a fork of its log.
    #[error(
        "the log key `{}` is missing: restore it from a backup (a new key would look like a fork of this node's log to every partner; only `liaison init` makes one, for a new node)",
        .0.display()
    )]
    MissingLogKey(std::path::PathBuf),
    /// A partner's cosignature that is refused (the partner's fault; the message may go back
    /// to it).
    #[error("cosignature refused: {0}")]
    Cosignature(String),
    /// A document could not be read.
    #[error("cannot read: {0}")]
    Read(#[source] std::io::Error),
    /// A file changed between the reading that checked it and the one that writes it.
    #[error("the file changed after it was checked ({0})")]
    Changed(String),
    /// A document written in batches stopped at one: the batches before it are stored.
    #[error("{source}; the {stored} objects before it are stored (the same ingest run again skips them as already held)")]
    PartlyIngested {
        /// Objects of the document in the batches stored.
        stored: u64,
        /// What stopped the batch.
        #[source]
        source: Box<ReleaseError>,
    },
    /// The transparency log failed or refused.
    #[error("log: {0}")]
    Log(String),
}
