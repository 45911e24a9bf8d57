//! A node: its store and its party, and the operations the CLI and the server offer.

use std::path::Path;

use liaison_labels::{Label, Party};
use liaison_policy::{Agreement, Consent, Item, Markings, World};
use liaison_stix::{StixId, Timestamp};
use liaison_store::prelude::*;
use liaison_store::{AnyStore, ConsentRecord, NodeRecord, PartnerRecord, SqliteStore};

use crate::database::Database;

use crate::error::ReleaseError;
use crate::log::{Leaf, LogKeys};

/// The file of the embedded store inside a node's home.
pub(crate) const STORE_FILE: &str = "node.db";

/// A liaison node over a store.
pub struct Node<S: Store> {
    pub(crate) store: S,
    pub(crate) party: Party,
    pub(crate) log_keys: LogKeys,
    /// Where phone numbers without a country code are read, for private matching.
    pub(crate) region: Option<liaison_selectors::Region>,
    /// Whether copies go out with their marks: always, except in a benchmark that measures
    /// what marking costs (the `bench-unmarked` feature, which only `liaison-bench` enables).
    pub(crate) mark_copies: bool,
    /// How many objects a view computed whole decides, records and stores at a time (see
    /// `view.rs`): what bounds its memory.
    pub(crate) view_slice: usize,
}

impl Node<SqliteStore> {
    /// Creates (or reopens, for the same party) the node whose home is `home`, on the
    /// embedded store in it. See [`Node::init_on`].
    pub fn init(home: &Path, party: &Party) -> Result<Node<SqliteStore>, ReleaseError> {
        create_home(home)?;
        let store = SqliteStore::open(&home.join(STORE_FILE))?;
        Node::init_store(home, party, store)
    }

    /// Opens the node whose home is `home`, on the embedded store in it; it must have been
    /// initialised, and its log key must be there (never made here: see [`LogKeys::load`]).
    pub fn open(home: &Path) -> Result<Node<SqliteStore>, ReleaseError> {
        let path = home.join(STORE_FILE);
        if !path.exists() {
            return Err(ReleaseError::NotInitialised);
        }
        Node::open_store(home, SqliteStore::open(&path)?)
    }
}

impl Node<AnyStore> {
    /// Creates (or reopens, for the same party) the node whose home is `home` on `database`,
    /// and records the choice in the home (`store.toml`). A home already on another store
    /// is refused (`liaison migrate` moves a node). `password`: see [`Database::open`].
    pub fn init_on(
        home: &Path,
        party: &Party,
        database: &Database,
        password: Option<&str>,
    ) -> Result<Node<AnyStore>, ReleaseError> {
        create_home(home)?;
        let current = Database::of_home(home)?;
        let elsewhere = if Database::recorded_in(home) {
            current != *database
        } else {
            // Not recorded: the home is on node.db if that file is there.
            current.exists(home) && current != *database
        };
        if elsewhere {
            return Err(ReleaseError::Database(format!(
                "the node at `{}` runs on {} already; `liaison migrate --to ...` moves it to another store",
                home.display(),
                current.describe(home)
            )));
        }
        let store = database.open(home, password)?;
        let node = Node::init_store(home, party, store)?;
        if Database::recorded_in(home) || *database != Database::default_sqlite() {
            database.record(home)?;
        }
        Ok(node)
    }

    /// Opens the node whose home is `home`, on the store its home names (`store.toml`, else
    /// `node.db`). `password`: see [`Database::open`].
    pub fn open_home(home: &Path, password: Option<&str>) -> Result<Node<AnyStore>, ReleaseError> {
        let database = Database::of_home(home)?;
        if !database.exists(home) {
            return Err(ReleaseError::NotInitialised);
        }
        Node::open_store(home, database.open(home, password)?)
    }
}

/// Makes the node's home (and its parents) if missing.
fn create_home(home: &Path) -> Result<(), ReleaseError> {
    std::fs::create_dir_all(home).map_err(|e| {
        ReleaseError::Store(liaison_store::StoreError::Damaged(format!(
            "cannot create `{}`: {e}",
            home.display()
        )))
    })
}

impl<S: Store> Node<S> {
    /// Initialises `store` for `party` with the log key kept in `home`. The log key is made
    /// here and only here, and only while the log is empty: a node whose log has entries and
    /// whose key is gone refuses, as [`Node::open_store`] does.
    pub fn init_store(home: &Path, party: &Party, mut store: S) -> Result<Node<S>, ReleaseError> {
        store.init_node(&NodeRecord {
            party: party.to_string(),
            created: Timestamp::now().to_string(),
        })?;
        let keys = match LogKeys::load(home, party) {
            Err(ReleaseError::MissingLogKey(path)) => {
                if store.log_size()? > 0 {
                    return Err(ReleaseError::MissingLogKey(path));
                }
                LogKeys::create(home, party)?
            }
            other => other?,
        };
        Node::with_store_and_keys(store, keys)
    }

    /// The node over an initialised `store`, with the log key kept in `home`.
    pub fn open_store(home: &Path, store: S) -> Result<Node<S>, ReleaseError> {
        let party = Node::party_of(&store)?;
        let keys = LogKeys::load(home, &party)?;
        Node::with_store_and_keys(store, keys)
    }

    /// Takes the store back (e.g. to copy it elsewhere).
    pub fn into_store(self) -> S {
        self.store
    }

    /// A node over an initialised store, with fresh log keys that are kept nowhere (for
    /// tests and tools; a node with a home keeps its key in `log.key`).
    pub fn with_store(store: S) -> Result<Node<S>, ReleaseError> {
        let party = Node::party_of(&store)?;
        let keys = LogKeys::generate(&party)?;
        Node::with_store_and_keys(store, keys)
    }

    /// A node over an initialised store with its log keys.
    pub fn with_store_and_keys(store: S, log_keys: LogKeys) -> Result<Node<S>, ReleaseError> {
        let party = Node::party_of(&store)?;
        Ok(Node {
            store,
            party,
            log_keys,
            region: None,
            mark_copies: true,
            view_slice: crate::view::VIEW_SLICE,
        })
    }

    /// How many objects a view computed whole takes at a time (at least 1; the default is
    /// [`crate::VIEW_SLICE`]). Smaller slices hold less in memory and sign more checkpoints;
    /// the view is the same whatever the slice (the differential test runs tiny ones).
    pub fn set_view_slice(&mut self, objects: usize) {
        self.view_slice = objects.max(1);
    }

    /// Benchmarks only: from now on this node's copies go out without their marks (ids
    /// still remapped and remembered, the order and form variants not applied), so that the
    /// cost of marking is measured against the same code in the same run. Never built into
    /// a node that serves partners: the feature is enabled only by `liaison-bench`.
    #[cfg(feature = "bench-unmarked")]
    #[doc(hidden)]
    pub fn bench_deliver_unmarked(&mut self) {
        self.mark_copies = false;
    }

    fn party_of(store: &S) -> Result<Party, ReleaseError> {
        let record = store.node()?.ok_or(ReleaseError::NotInitialised)?;
        Party::parse(&record.party).map_err(|e| ReleaseError::Party(e.to_string()))
    }

    /// The party that runs this node.
    pub fn party(&self) -> &Party {
        &self.party
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Adds or replaces a partner, checking its agreement first.
    pub fn add_partner(
        &mut self,
        party: &Party,
        agreement: &str,
    ) -> Result<Agreement, ReleaseError> {
        let parsed = Agreement::from_toml(party, agreement)?;
        if party == &self.party {
            return Err(ReleaseError::Party(format!(
                "`{party}` is this node's own party, not a partner"
            )));
        }
        self.store.put_partner(&PartnerRecord {
            party: party.to_string(),
            agreement: agreement.to_owned(),
            updated: Timestamp::now().to_string(),
        })?;
        self.sign_agreement(party, agreement)?;
        tracing::info!(partner = %party, "agreement set");
        Ok(parsed)
    }

    /// Every partner's agreement.
    pub fn partners(&self) -> Result<Vec<Agreement>, ReleaseError> {
        self.store
            .partners()?
            .into_iter()
            .map(|p| {
                let party =
                    Party::parse(&p.party).map_err(|e| ReleaseError::Party(e.to_string()))?;
                stored_agreement(&party, &p.agreement)
            })
            .collect()
    }

    /// One partner's agreement.
    pub fn agreement(&self, party: &Party) -> Result<Agreement, ReleaseError> {
        let p = self
            .store
            .partner(party.as_str())?
            .ok_or_else(|| ReleaseError::UnknownPartner(party.to_string()))?;
        stored_agreement(party, &p.agreement)
    }

    /// The agreement text as stored.
    pub fn agreement_text(&self, party: &Party) -> Result<String, ReleaseError> {
        Ok(self
            .store
            .partner(party.as_str())?
            .ok_or_else(|| ReleaseError::UnknownPartner(party.to_string()))?
            .agreement)
    }

    /// Records an originator's consent to release `object` (and what is derived from it) to
    /// `to` as the node owner enters it, UNSIGNED. Only the demo and tests still use this;
    /// a node accepts consents through [`Node::accept_consent`] (a note signed by the
    /// originator, see [`Node::sign_consent`]) or [`Node::add_own_consent`], and the CLI
    /// and server offer nothing else.
    pub fn add_consent(
        &mut self,
        object: &str,
        to: &Party,
        by: &Party,
    ) -> Result<ConsentRecord, ReleaseError> {
        let id = StixId::parse(object)
            .map_err(|e| ReleaseError::Party(format!("field `object`: {e}")))?;
        if self.store.latest(id.as_str())?.is_none() {
            return Err(ReleaseError::UnknownObject(object.to_owned()));
        }
        let record = ConsentRecord {
            id: StixId::new_random("consent").to_string(),
            object: id.to_string(),
            to: to.to_string(),
            by: by.to_string(),
            created: Timestamp::now().to_string(),
        };
        self.store.add_consent(&record)?;
        self.log_append(&[Leaf::Consent {
            object: record.object.clone(),
            to: record.to.clone(),
            by: record.by.clone(),
        }])?;
        tracing::info!(object, to = %to, by = %by, "consent recorded");
        Ok(record)
    }

    /// The marking-definitions held, read into labels.
    pub fn markings(&self) -> Result<Markings, ReleaseError> {
        let mut ids = Vec::new();
        self.store.scan_index(&mut |row| {
            if row.id.starts_with("marking-definition--") {
                ids.push(row.id);
            }
        })?;
        let mut markings = Markings::new();
        for id in ids {
            if let Some(stored) = self.store.latest(&id)? {
                match Label::from_marking_definition(&stored.object) {
                    Ok(Some(label)) => markings.insert(&id, Ok(label)),
                    Ok(None) => markings.insert_other(&id),
                    Err(e) => markings.insert(&id, Err(e.to_string())),
                }
            }
        }
        Ok(markings)
    }

    /// What the policy sees of this node: every object's labels and links, the consents
    /// and the officers' holds, with effective labels computed.
    pub fn world(&self) -> Result<World, ReleaseError> {
        let markings = self.markings()?;
        let mut items = Vec::new();
        self.store.scan_index(&mut |row| {
            let Some(owner) = owner_of(&row.source) else {
                // Only `local` and parties are written: anything else was not written by
                // liaison, and is left out (so withheld, as is what rests on it).
                tracing::warn!(id = %row.id, source = %row.source, "object with an unreadable owner left out");
                return;
            };
            items.push(Item {
                id: row.id,
                markings: row.markings,
                assigned_label: row.assigned_label,
                tearline_of: row.tearline_of,
                derivation: row.derivation,
                ends: row.ends,
                tags: row.tags,
                owner,
            })
        })?;
        let mut world = World::build(self.party.clone(), markings, items);
        for c in self.store.consents(None)? {
            let (Ok(to), Ok(by)) = (Party::parse(&c.to), Party::parse(&c.by)) else {
                tracing::warn!(consent = %c.id, "consent with an unreadable party ignored");
                continue;
            };
            world.add_consent(&Consent {
                object: c.object,
                to,
                by,
            });
        }
        // Officers' holds: only ever more withholds (see `hold.rs`).
        for h in self.store.holds(None)? {
            match crate::hold::policy_hold(h) {
                Some(h) => world.add_hold(&h),
                None => tracing::warn!("hold with an unreadable partner ignored"),
            }
        }
        Ok(world)
    }
}

/// The store's source of a version as the policy's owner: `local` is the node's own party
/// (`None`), anything else a partner's party. `None` outside when it is neither.
pub(crate) fn owner_of(source: &str) -> Option<Option<Party>> {
    if source == LOCAL {
        return Some(None);
    }
    Party::parse(source).ok().map(Some)
}

/// The store's source for what the node's own analysts ingest.
pub(crate) const LOCAL: &str = "local";

/// An agreement read back from the store. One that this build refuses (set by an older
/// liaison that checked less) names the partner and the way out.
fn stored_agreement(party: &Party, text: &str) -> Result<Agreement, ReleaseError> {
    Agreement::from_toml(party, text).map_err(|source| ReleaseError::StoredAgreement {
        party: party.to_string(),
        source,
    })
}
