//! Storage for a liaison node: every version of every object exactly as received, with the
//! time it was added and where it came from; partners' agreements; consents. What the rest
//! of liaison asks of storage is a few traits, one a job (`traits/`), and [`Store`] is all of
//! them; [`SqliteStore`] is the embedded default and [`PgStore`] the PostgreSQL backend for
//! deployments; [`AnyStore`] is either, chosen at start.
//! Each backend versions its schema as an ordered list of migration steps (`STEPS` in
//! `sqlite.rs` and `postgres.rs`), run when a store is opened.
//! Invariant: a batch is written whole or not at all.
#![deny(missing_docs)]

mod any;
mod copy;
mod error;
mod pairs;
mod postgres;
mod record;
pub mod releases;
mod rows;
mod sqlite;
mod traits;

pub use any::AnyStore;
pub use copy::TableDigest;
pub use error::StoreError;
pub use postgres::{check_postgres_url, PgStore};
pub use record::{
    AgreementNoteRecord, AuditRecord, BasisInputs, ConsentRecord, ForkRecord, HoldRecord, IndexRow,
    IngestReport, LogOpening, MatchCharge, MatchUsage, NewObject, NodeRecord, OperatorRecord,
    PartnerRecord, Refusal, RefusalKind, RefusalRecord, Stored, ViewRow, ViewState,
};
pub use sqlite::SqliteStore;
pub use traits::{
    ChangeStore, DeliveryStore, LogStore, ObjectStore, OperatorStore, PartnerStore, Store,
    ViewStore,
};

/// Every storage trait, for code that calls store methods: `use liaison_store::prelude::*`.
pub mod prelude {
    pub use crate::traits::{
        ChangeStore, DeliveryStore, LogStore, ObjectStore, OperatorStore, PartnerStore, Store,
        ViewStore,
    };
}

/// What a log append writes along with its entries, in the same transaction.
#[derive(Clone, Copy)]
pub(crate) enum Along<'a> {
    /// Nothing else.
    Nothing,
    /// Keys entering a partner's view: (partner, [(id, version)]).
    Releases(&'a str, &'a [(String, String)]),
    /// A matching request charged to its partner's budget.
    Match(&'a MatchCharge),
}
