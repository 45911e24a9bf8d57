//! The release pipeline of a liaison node: the only crate that knows the order of the steps
//! (decide, then cut; fingerprinting, the log and the ledger join here as they arrive).
//! It reads from a [`Store`](liaison_store::Store), asks the pure policy, and gives back
//! values the CLI and the server print or send.
#![deny(missing_docs)]

mod admit;
mod agreement;
mod consent;
mod curation;
mod database;
mod error;
mod exchange;
mod explain;
mod fingerprint;
mod hold;
mod ingest;
mod ledger;
mod log;
mod maintain;
mod matching;
mod node;
mod note_text;
mod operators;
mod preview;
mod queue;
pub mod sample;
mod summary;
mod trace;
mod view;

pub use admit::{Refusal, Refused};
pub use agreement::{
    AgreementNote, AgreementStatus, SignedTerms, AGREEMENT_HEADER, MAX_AGREEMENT_BYTES, OURS,
    THEIRS,
};
pub use consent::{consent_refusal, ConsentError, ConsentNote, CONSENT_HEADER, MAX_CONSENT_BYTES};
pub use curation::{AssessReport, Curated, GRADING_PROPERTY};
pub use database::{read_password_file, Database, STORE_CONFIG};
pub use error::ReleaseError;
pub use exchange::{verify_secret, Receipt, ReceiptFailure};
pub use explain::{describe, Derivation, Explanation, Lineage};
pub use fingerprint::{COLLUDERS, CONSTRUCTION, EPSILON1};
pub use hold::{CLI_OPERATOR, MAX_HOLD_REASON};
pub use ingest::{
    check_document, ingest_batch_for, CheckedDocument, IngestOptions, IngestSummary, INGEST_BATCH,
    INGEST_BATCH_BYTES, INGEST_BATCH_MAX,
};
pub use ledger::Ledger;
pub use liaison_grading::grading_factor;
pub use log::{
    hex, origin, sha256_hex, CosignatureStatus, Leaf, LogKeys, LogStatus, LOG_KEY_FILE,
    PARTNER_COSIGNER_KEY, PARTNER_LOG_KEY,
};
pub use maintain::Upkeep;
pub use matching::{
    read_selector_line, unix_now, BuiltSet, EpochPublication, EvaluatedMatch, MatchBudget,
    MatchError, MatchEvent, MatchEventKind, PendingSet, PreparedMatch, Unreadable,
};
pub use node::Node;
pub use operators::{valid_operator_name, Operator, Role, MAX_PASSWORD, MIN_PASSWORD};
pub use preview::{Entry, Export};
pub use queue::{Followed, Holdings, Queue};
pub use summary::{PartnerSummary, Summary};
pub use trace::{Suspect, Trace};
pub use view::{view_building_state, Built, View, ViewEntry, VIEW_SLICE};
