//! The node's transparency log, wired into the pipeline: which leaves are written when
//! (an agreement set, a consent recorded, an object first entering a partner's view, an
//! object received), the signed checkpoint after every append, inclusion proofs, tiles, and
//! what a partner's cosignatures and checkpoints become in the store.
//!
//! A leaf is small canonical JSON (keys sorted, no spaces): hashes and ids, never objects.
//! The log never publishes a leaf: each entry is a salted commitment to it
//! ([`liaison_log::commit`]), and the opening (leaf and salt) is kept privately and given
//! only to the parties the leaf concerns ([`Leaf::parties`]).
//! The log key's seed lives in the node's home as `log.key` (mode 0600); the cosigner key
//! (which cosigns partners' checkpoints) is derived from it, so one file holds both.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use liaison_fingerprint::FingerprintKey;
use liaison_labels::Party;
use liaison_log::{
    encode_entry_bundle, hashes_to_store, leaf_hash, prove_consistency, prove_inclusion, root,
    split_stored_hash_index, stored_hash_count, stored_hash_index, tile_data, Checkpoint,
    Cosignature, Cosigner, CosignerKey, Hash, HashReader, InclusionProof, NodeKey, Opening,
    SignedCheckpoint, StorageError, TileId, TileKind, VerifierKey,
};
use liaison_store::prelude::*;
use liaison_store::{LogOpening, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::ReleaseError;
use crate::node::Node;

/// The file in a node's home that holds the log key's seed.
pub const LOG_KEY_FILE: &str = "log.key";

/// The kind of partner key that verifies its checkpoints.
pub const PARTNER_LOG_KEY: &str = "log";
/// The kind of partner key that cosigns our checkpoints.
pub const PARTNER_COSIGNER_KEY: &str = "cosigner";

/// The lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// `bytes` as lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The log origin (and key name) of `party`'s node: `liaison.<PARTY>`.
pub fn origin(party: &Party) -> String {
    format!("liaison.{party}")
}

/// One leaf of the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Leaf {
    /// Agreement terms with `partner` were signed: ours for it (when set, signed by us; again
    /// when it countersigned) or its terms for us (when we countersigned them).
    Agreement {
        /// The partner.
        partner: String,
        /// `ours` (what we apply to the partner) or `theirs` (what it applies to us).
        terms: String,
        /// SHA-256 of the agreement text, hex.
        sha256: String,
        /// Who signed the note: one party, or both.
        signed_by: Vec<String>,
        /// The signed note (see [`crate::AgreementNote`]).
        note: String,
    },
    /// An originator's consent.
    Consent {
        /// The object consented for.
        object: String,
        /// Who may receive it.
        to: String,
        /// The originator.
        by: String,
    },
    /// An object first entered `recipient`'s view.
    Delivery {
        /// The partner.
        recipient: String,
        /// The id of what is delivered (a tear line's own id for a tear line).
        delivered: String,
        /// Its version.
        version: String,
        /// SHA-256 of the delivered bytes (the object's JSON text as served), hex.
        sha256: String,
        /// `release` or `tearline`.
        decision: String,
        /// The reason codes behind the decision.
        reasons: Vec<String>,
        /// What the delivery is worth in the reciprocity ledger (the agreement's value for
        /// the type, times the grading and echo factors), rounded to 1/1000.
        value: f64,
    },
    /// The commitment under which every copy delivered to `recipient` is fingerprinted,
    /// logged before its first fingerprinted delivery: a third party given the key later can
    /// check it against this commitment and recompute an accusation (see `fingerprint.rs`).
    Fingerprint {
        /// The partner.
        recipient: String,
        /// SHA-256 of the commitment label and the fingerprint key, hex.
        commitment: String,
        /// The construction (`liaison-fingerprint/v1`: remapping, order and form variants,
        /// symmetric Tardos code).
        construction: String,
        /// The coalition size the code is designed for (c).
        colluders: u64,
        /// The tolerated probability of accusing any innocent (ε₁), as text.
        epsilon1: String,
    },
    /// The set a partner matches its selectors against in one epoch was published to it
    /// (DESIGN.md "Private matching"): the key it must verify proofs against and the hash of
    /// the filters it was sent. The number of real selectors is not said (only the padded
    /// size the partner sees anyway).
    MatchEpoch {
        /// The asking partner.
        asker: String,
        /// The epoch.
        epoch: u64,
        /// The VOPRF public key for this partner and epoch, hex.
        public_key: String,
        /// SHA-256 of the epoch set as sent (its wire form), hex.
        sha256: String,
        /// Elements in each filter (the holder's set padded to a power of two).
        padded_size: u64,
        /// The selector normaliser's version.
        normaliser: u32,
    },
    /// A partner's matching request was evaluated: how many selectors (padding included)
    /// and a hash of the blinded request, never the selectors (which the holder never sees).
    MatchQuery {
        /// The asking partner.
        asker: String,
        /// The epoch.
        epoch: u64,
        /// Selectors evaluated, charged to the partner's budget.
        count: u64,
        /// SHA-256 of the request as received, hex.
        request: String,
    },
    /// An object received from a partner.
    Received {
        /// The partner.
        from: String,
        /// The object's id.
        id: String,
        /// Its version.
        version: String,
        /// SHA-256 of the bytes received, hex.
        sha256: String,
    },
}

impl Leaf {
    /// The canonical JSON of the leaf: keys sorted, no spaces. The log entry is a salted
    /// commitment to it; this is what the opening holds.
    pub fn to_json(&self) -> Result<Vec<u8>, ReleaseError> {
        let v = serde_json::to_value(self).map_err(|e| ReleaseError::Log(e.to_string()))?;
        Ok(canonical(&v).into_bytes())
    }

    /// Reads a leaf's JSON back.
    pub fn from_json(json: &[u8]) -> Option<Leaf> {
        // Through a `Value`: with serde_json's `arbitrary_precision` (on in this workspace) a
        // number read straight into an internally tagged enum does not deserialize.
        let v: Value = serde_json::from_slice(json).ok()?;
        serde_json::from_value(v).ok()
    }

    /// The parties the leaf concerns, who alone are given its opening: an agreement's
    /// partner, a consent's originator and recipient, a delivery's recipient, a received
    /// object's sender.
    pub fn parties(&self) -> Vec<String> {
        let mut p = match self {
            Leaf::Agreement { partner, .. } => vec![partner.clone()],
            Leaf::Consent { to, by, .. } => vec![by.clone(), to.clone()],
            Leaf::Delivery { recipient, .. } | Leaf::Fingerprint { recipient, .. } => {
                vec![recipient.clone()]
            }
            Leaf::Received { from, .. } => vec![from.clone()],
            Leaf::MatchEpoch { asker, .. } | Leaf::MatchQuery { asker, .. } => {
                vec![asker.clone()]
            }
        };
        p.sort();
        p.dedup();
        p
    }
}

/// 32 bytes from 64 hex digits.
fn parse_hex32(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

fn canonical(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let sorted: BTreeMap<&String, String> =
                m.iter().map(|(k, v)| (k, canonical(v))).collect();
            let parts: Vec<String> = sorted
                .into_iter()
                .map(|(k, v)| format!("{}:{v}", Value::String(k.clone())))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Array(a) => {
            let parts: Vec<String> = a.iter().map(canonical).collect();
            format!("[{}]", parts.join(","))
        }
        other => other.to_string(),
    }
}

/// The node's log keys: the key that signs its checkpoints and the key it cosigns partners'
/// checkpoints with.
#[derive(Debug, Clone)]
pub struct LogKeys {
    /// Signs our checkpoints (origin `liaison.<PARTY>`).
    pub node: NodeKey,
    /// Cosigns partners' checkpoints.
    pub cosigner: Cosigner,
    /// Marks the copies we deliver (derived from the same seed as the others, so that
    /// `log.key` stays the node's one secret file; never used to sign).
    pub fingerprint: FingerprintKey,
    /// The master secret every partner's private-matching key is derived from, per epoch
    /// (same seed, its own label; never used to sign).
    pub matching: liaison_psi::MasterSecret,
    /// What this node has read of its own log (stored hashes are never rewritten; a size is
    /// signed once), kept with the keys of that log.
    cache: Arc<Mutex<LogCache>>,
}

/// What this node has read of its own log: the upper levels of its tree and the latest
/// checkpoint verified.
#[derive(Debug, Default)]
struct LogCache {
    upper: UpperLevels,
    checkpoint: Option<SignedCheckpoint>,
}

/// The most stored hashes [`UpperLevels`] holds: 2^19 hashes, 16 MiB (plus a bit per hash).
const UPPER_MAX: u64 = 1 << 19;

/// The stored hashes of the levels from `floor` up, dense by level and position, as read from
/// the store or appended by this node. Every inclusion proof, root and append reads one hash
/// per level; those above `floor` are served from here, the (at most `floor`) below it and
/// the leaf hash from the store in one query.
///
/// Never stale: stored hashes are never rewritten, and a hash is kept only once the store
/// returned it or an append that wrote it committed. Another process may append: levels
/// grow as hashes further right are read.
///
/// Bounded: holding hash (l, n) proves the log has at least (n+1)·2^l leaves; `leaves` is the
/// most proven so far. Level l then has at most `leaves >> l` positions, so the levels from
/// `floor` up have fewer than `2·leaves >> floor`; `floor` is the lowest level for which that
/// is at most [`UPPER_MAX`], raised (dropping the levels below it) as the log grows. A level
/// never allocates beyond `leaves >> l`, so memory stays under 16.1 MiB whatever the log's
/// size: up to 262,144 leaves every level is kept (floor 0), at 1M leaves the levels from 2
/// up (a proof reads two hashes and the leaf's from the store), at 2^30 from 12.
#[derive(Debug)]
struct UpperLevels {
    /// The most hashes held ([`UPPER_MAX`]; less in tests).
    budget: u64,
    floor: u8,
    leaves: u64,
    /// Level `floor + k` at `levels[k]`.
    levels: Vec<Level>,
}

impl Default for UpperLevels {
    fn default() -> Self {
        Self::with_budget(UPPER_MAX)
    }
}

/// One level: the hash at each position, and whether it is known yet.
#[derive(Debug, Default)]
struct Level {
    hashes: Vec<Hash>,
    known: Vec<u64>,
}

impl Level {
    fn get(&self, n: u64) -> Option<Hash> {
        let n = usize::try_from(n).ok()?;
        let word = self.known.get(n / 64)?;
        if word & (1 << (n % 64)) == 0 {
            return None;
        }
        self.hashes.get(n).copied()
    }

    /// Keeps `hash` at `n`, growing to at most `most` positions; says whether it was kept.
    fn put(&mut self, n: u64, hash: Hash, most: u64) -> bool {
        let (Ok(n), Ok(most)) = (usize::try_from(n), usize::try_from(most)) else {
            return false;
        };
        if n >= most {
            return false;
        }
        if n >= self.hashes.len() {
            // Amortised growth, but never past what the level can hold.
            let len = (n + 1).max(self.hashes.len() * 2).min(most);
            self.hashes.reserve_exact(len - self.hashes.len());
            self.hashes.resize(len, Hash::default());
            let words = len.div_ceil(64);
            self.known
                .reserve_exact(words.saturating_sub(self.known.len()));
            self.known.resize(words, 0);
        }
        match (self.hashes.get_mut(n), self.known.get_mut(n / 64)) {
            (Some(slot), Some(word)) => {
                *slot = hash;
                *word |= 1 << (n % 64);
                true
            }
            _ => false,
        }
    }
}

impl UpperLevels {
    fn with_budget(budget: u64) -> Self {
        UpperLevels {
            budget,
            floor: 0,
            leaves: 0,
            levels: Vec::new(),
        }
    }

    /// The hash at `level`, position `n`, if held.
    fn get(&self, level: u8, n: u64) -> Option<Hash> {
        let k = level.checked_sub(self.floor)?;
        self.levels.get(usize::from(k))?.get(n)
    }

    /// The log has at least `leaves` leaves: raises the floor if the levels above it could
    /// outgrow the budget.
    fn saw(&mut self, leaves: u64) {
        if leaves <= self.leaves {
            return;
        }
        self.leaves = leaves;
        let mut floor = self.floor;
        while (u128::from(leaves) * 2) >> floor > u128::from(self.budget) {
            floor += 1;
        }
        if floor > self.floor {
            let drop = usize::from(floor - self.floor).min(self.levels.len());
            self.levels.drain(..drop);
            self.floor = floor;
        }
    }

    /// Keeps the stored hash at `index` if its level is held; says whether it was kept.
    fn put(&mut self, index: u64, hash: Hash) -> bool {
        let Some((level, n)) = split_stored_hash_index(index) else {
            return false;
        };
        let Some(leaves) = n
            .checked_add(1)
            .and_then(|m| m.checked_mul(1u64.checked_shl(u32::from(level))?))
        else {
            return false;
        };
        self.saw(leaves);
        let Some(k) = level.checked_sub(self.floor) else {
            return false;
        };
        let k = usize::from(k);
        if self.levels.len() <= k {
            self.levels.resize_with(k + 1, Level::default);
        }
        let most = self.leaves >> level;
        self.levels.get_mut(k).is_some_and(|l| l.put(n, hash, most))
    }

    /// The stored hash at `index`, if held.
    fn lookup(&self, index: u64) -> Option<Hash> {
        let (level, n) = split_stored_hash_index(index)?;
        self.get(level, n)
    }
}

impl LogKeys {
    /// Both keys from the log key's seed.
    pub fn from_seed(party: &Party, seed: [u8; 32]) -> Result<LogKeys, ReleaseError> {
        let name = origin(party);
        let node = NodeKey::from_seed(&name, seed).map_err(log_err)?;
        let mut h = Sha256::new();
        h.update(b"liaison cosigner key\0");
        h.update(seed);
        let cosigner_seed: [u8; 32] = h.finalize().into();
        let cosigner = Cosigner::from_seed(&name, cosigner_seed).map_err(log_err)?;
        let mut h = Sha256::new();
        h.update(b"liaison fingerprint key\0");
        h.update(seed);
        let fingerprint = FingerprintKey::from_bytes(h.finalize().into());
        let mut h = Sha256::new();
        h.update(b"liaison matching key\0");
        h.update(seed);
        let matching = liaison_psi::MasterSecret(h.finalize().into());
        Ok(LogKeys {
            node,
            cosigner,
            fingerprint,
            matching,
            cache: Arc::default(),
        })
    }

    /// Fresh random keys (kept nowhere).
    pub fn generate(party: &Party) -> Result<LogKeys, ReleaseError> {
        let key = NodeKey::generate(&origin(party)).map_err(log_err)?;
        Self::from_seed(party, key.seed())
    }

    /// Reads `log.key` from `home`. A missing key is an error, never a reason to make a new
    /// one: a node that signs with a new key presents a new history, which every partner that
    /// cosigned the old one sees as a fork. Only [`LogKeys::create`] (`liaison init`) makes it.
    pub fn load(home: &Path, party: &Party) -> Result<LogKeys, ReleaseError> {
        let path = home.join(LOG_KEY_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let seed = parse_hex32(text.trim()).ok_or_else(|| {
                    ReleaseError::Log(format!("`{}` does not hold a key seed", path.display()))
                })?;
                Self::from_seed(party, seed)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(ReleaseError::MissingLogKey(path))
            }
            Err(e) => Err(ReleaseError::Log(format!(
                "cannot read `{}`: {e}",
                path.display()
            ))),
        }
    }

    /// Makes a new `log.key` in `home` (mode 0600); refuses if one is there already.
    pub fn create(home: &Path, party: &Party) -> Result<LogKeys, ReleaseError> {
        let path = home.join(LOG_KEY_FILE);
        let keys = Self::generate(party)?;
        write_secret(&path, format!("{}\n", hex(&keys.node.seed())).as_bytes())
            .map_err(|e| ReleaseError::Log(format!("cannot write `{}`: {e}", path.display())))?;
        Ok(keys)
    }
}

fn write_secret(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

fn log_err(e: impl std::fmt::Display) -> ReleaseError {
    ReleaseError::Log(e.to_string())
}

/// The store's stored hashes as a [`HashReader`], with hashes not yet stored after them.
/// One reader serves one operation (a proof, a root, a tile, an append): what it reads of
/// the lower levels from the store it keeps for that operation only.
struct Reader<'a, S: Store> {
    store: &'a S,
    cache: &'a Mutex<LogCache>,
    /// Stored hashes from this index on are not in the store yet: they are `pending`.
    base: u64,
    pending: Vec<Hash>,
    /// Hashes below the cache's floor read from the store by this reader.
    read: RefCell<Vec<(u64, Hash)>>,
    /// A stored hash to read along with the next store read (an inclusion proof's leaf hash,
    /// so that a proof is one query).
    ahead: Cell<Option<u64>>,
}

impl<S: Store> HashReader for Reader<'_, S> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, StorageError> {
        let mut out: Vec<Option<Hash>> = Vec::with_capacity(indexes.len());
        let mut missing = Vec::new();
        {
            let cache = self.lock()?;
            let read = self.read.borrow();
            for &i in indexes {
                let h = if i >= self.base {
                    let h = usize::try_from(i - self.base)
                        .ok()
                        .and_then(|k| self.pending.get(k).copied());
                    Some(h.ok_or_else(|| StorageError::missing(i))?)
                } else {
                    cache.upper.lookup(i).or_else(|| find(&read, i))
                };
                if h.is_none() {
                    missing.push(i);
                }
                out.push(h);
            }
            if !missing.is_empty() {
                if let Some(i) = self.ahead.take() {
                    if i < self.base && cache.upper.lookup(i).or_else(|| find(&read, i)).is_none() {
                        missing.push(i);
                    }
                }
            }
        }
        if missing.is_empty() {
            return Ok(out.into_iter().flatten().collect());
        }
        // The store is read without holding the cache.
        missing.sort_unstable();
        missing.dedup();
        let found = self
            .store
            .log_hashes(&missing)
            .map_err(|e| StorageError::new(e.to_string()))?;
        if found.len() != missing.len() {
            return Err(StorageError::new("the store returned too few hashes"));
        }
        // Sorted by index, as `missing` is.
        let found: Vec<(u64, Hash)> = missing
            .into_iter()
            .zip(found.into_iter().map(Hash))
            .collect();
        {
            let mut cache = self.lock()?;
            let mut read = self.read.borrow_mut();
            for &(i, h) in &found {
                if !cache.upper.put(i, h) {
                    read.push((i, h));
                }
            }
        }
        out.into_iter()
            .zip(indexes)
            .map(|(h, &i)| {
                h.or_else(|| {
                    let k = found.binary_search_by_key(&i, |&(j, _)| j).ok()?;
                    found.get(k).map(|&(_, h)| h)
                })
                .ok_or_else(|| StorageError::missing(i))
            })
            .collect()
    }
}

/// The hash at stored index `i` in a short list.
fn find(list: &[(u64, Hash)], i: u64) -> Option<Hash> {
    list.iter().find(|(j, _)| *j == i).map(|(_, h)| *h)
}

impl<'a, S: Store> Reader<'a, S> {
    fn new(store: &'a S, keys: &'a LogKeys, base: u64) -> Self {
        Reader {
            store,
            cache: &keys.cache,
            base,
            pending: Vec::new(),
            read: RefCell::default(),
            ahead: Cell::default(),
        }
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'a, LogCache>, StorageError> {
        self.cache
            .lock()
            .map_err(|_| StorageError::new("the log cache is poisoned"))
    }
}

fn reader<'a, S: Store>(store: &'a S, keys: &'a LogKeys) -> Reader<'a, S> {
    Reader::new(store, keys, u64::MAX)
}

/// Our log's state, for `liaison log show`.
#[derive(Debug, Clone, Serialize)]
pub struct LogStatus {
    /// The log origin.
    pub origin: String,
    /// Entries.
    pub size: u64,
    /// The root hash (base64).
    pub root: String,
    /// The latest signed checkpoint, with the cosignatures received on it.
    pub checkpoint: String,
    /// Each cosigner's newest cosignature: cosigner, size, line.
    pub cosignatures: Vec<CosignatureStatus>,
    /// Our verifier key (give it to partners: `liaison partner logkey`).
    pub verifier_key: String,
    /// Our cosigner key (give it to partners: `liaison partner cosigner`).
    pub cosigner_key: String,
}

/// One cosigner's newest cosignature on our log.
#[derive(Debug, Clone, Serialize)]
pub struct CosignatureStatus {
    /// The cosigner name.
    pub cosigner: String,
    /// The size of the checkpoint it cosigned.
    pub size: u64,
    /// The cosignature line.
    pub line: String,
}

impl<S: Store> Node<S> {
    /// The node's log keys.
    pub fn log_keys(&self) -> &LogKeys {
        &self.log_keys
    }

    /// Appends leaves in one durable transaction (each as a salted commitment, its opening
    /// kept privately in the same transaction), then signs a checkpoint over the new size.
    /// Returns the index of the first leaf appended. The checkpoint is signed only once the
    /// append is on disk, so a crash can lose neither an acknowledged leaf nor make a signed
    /// root that the log does not have.
    pub fn log_append(&mut self, leaves: &[Leaf]) -> Result<u64, ReleaseError> {
        if leaves.is_empty() {
            return Ok(self.store.log_size()?);
        }
        let (first, ()) = self.append_with(leaves, |store, entries, openings, hashes| {
            store.log_append(entries, openings, hashes).map(|_| ())
        })?;
        Ok(first)
    }

    /// Appends `leaves` through `write` (which writes the entries, openings and stored hashes
    /// in one durable transaction, with whatever else must commit with them), then signs a
    /// checkpoint over the new size. Returns the first index appended and what `write` did.
    pub(crate) fn append_with<T>(
        &mut self,
        leaves: &[Leaf],
        mut write: impl FnMut(
            &mut S,
            &[Vec<u8>],
            &[LogOpening],
            &[(u64, [u8; 32])],
        ) -> Result<T, StoreError>,
    ) -> Result<(u64, T), ReleaseError> {
        let mut openings = Vec::with_capacity(leaves.len());
        for leaf in leaves {
            let opening = Opening::new(leaf.to_json()?).map_err(log_err)?;
            openings.push(LogOpening {
                leaf: opening.leaf,
                salt: opening.salt,
                parties: leaf.parties(),
            });
        }
        let entries: Vec<Vec<u8>> = openings
            .iter()
            .map(|o| liaison_log::commit(&o.salt, &o.leaf).to_vec())
            .collect();
        // Another process (another server on the same database, a pull, the CLI) may append
        // between our read of the size and our append: the store refuses the stale hashes
        // under its write lock and we compute them again. Each refusal means another append
        // went in, so the log always progresses; a random pause that grows with each refusal
        // keeps one appender from losing every race, and a deadline bounds the wait.
        let deadline = std::time::Instant::now() + APPEND_PATIENCE;
        let mut attempts: u32 = 0;
        let (first, done) = loop {
            let size = self.store.log_size()?;
            let hashes = self.hashes_for(size, &entries)?;
            match write(&mut self.store, &entries, &openings, &hashes) {
                Ok(done) => {
                    // Committed: these are the stored hashes now.
                    if let Ok(mut cache) = self.log_keys.cache.lock() {
                        for &(i, h) in &hashes {
                            cache.upper.put(i, Hash(h));
                        }
                    }
                    break (size, done);
                }
                Err(StoreError::LogMoved { .. }) if std::time::Instant::now() < deadline => {
                    attempts = attempts.saturating_add(1);
                    std::thread::sleep(contention_pause(attempts));
                }
                Err(e) => return Err(e.into()),
            }
        };
        if !leaves.is_empty() {
            self.sign_checkpoint()?;
        }
        Ok((first, done))
    }

    /// The stored hashes that appending `entries` to the log of `size` entries adds.
    fn hashes_for(
        &self,
        size: u64,
        entries: &[Vec<u8>],
    ) -> Result<Vec<(u64, [u8; 32])>, ReleaseError> {
        let base = stored_hash_count(size).map_err(log_err)?;
        let mut r = Reader::new(&self.store, &self.log_keys, base);
        for (k, entry) in entries.iter().enumerate() {
            let new = hashes_to_store(size + k as u64, leaf_hash(entry), &r).map_err(log_err)?;
            r.pending.extend(new);
        }
        Ok(r.pending
            .iter()
            .enumerate()
            .map(|(k, h)| (base + k as u64, h.0))
            .collect())
    }

    /// Signs and keeps a checkpoint over the log as it is now (durable entries only: the
    /// store's appends are synced before they return). A size is signed once: if a
    /// checkpoint of this size was kept already (e.g. signed just before a crash), it is
    /// returned, after checking that its root is the log's; a different root would be a
    /// fork of our own log and is refused loudly rather than signed.
    fn sign_checkpoint(&mut self) -> Result<SignedCheckpoint, ReleaseError> {
        let size = self.store.log_size()?;
        let r = root(size, &reader(&self.store, &self.log_keys)).map_err(log_err)?;
        if let Some(kept) = self.checkpoint_at(size)? {
            if kept.checkpoint().root() != r {
                return Err(ReleaseError::Log(format!(
                    "our checkpoint of size {size} has root {} but the log has {r}: the log was changed under a signed checkpoint; not signing again",
                    kept.checkpoint().root()
                )));
            }
            return Ok(kept);
        }
        let cp = Checkpoint::new(self.log_keys.node.name(), size, r).map_err(log_err)?;
        let signed = self.log_keys.node.sign_checkpoint(&cp).map_err(log_err)?;
        let note = String::from_utf8(signed.as_bytes().to_vec()).map_err(log_err)?;
        // Kept only if no checkpoint of this size was kept meanwhile; the one kept wins.
        self.store.put_checkpoint(size, &note)?;
        match self.checkpoint_at(size)? {
            Some(kept) if kept.checkpoint().root() == r => Ok(kept),
            _ => Err(ReleaseError::Log(format!(
                "another checkpoint of size {size} was kept with a different root"
            ))),
        }
    }

    /// Our log's size and root as its stored hashes give them, read only (nothing is signed
    /// or kept): what `liaison migrate` compares between two stores.
    pub fn log_root(&self) -> Result<(u64, String), ReleaseError> {
        let size = self.store.log_size()?;
        let r = root(size, &reader(&self.store, &self.log_keys)).map_err(log_err)?;
        Ok((size, r.to_string()))
    }

    /// The number of entries in our log.
    pub fn log_size(&self) -> Result<u64, ReleaseError> {
        Ok(self.store.log_size()?)
    }

    /// Our latest signed checkpoint (signing one if the log grew past the last one, e.g.
    /// after a crash between an append and its checkpoint), without cosignatures.
    pub fn checkpoint(&mut self) -> Result<SignedCheckpoint, ReleaseError> {
        let size = self.store.log_size()?;
        if let Ok(cache) = self.log_keys.cache.lock() {
            if let Some(cp) = cache
                .checkpoint
                .as_ref()
                .filter(|cp| cp.checkpoint().size() == size)
            {
                return Ok(cp.clone());
            }
        }
        let cp = match self.store.latest_checkpoint()? {
            Some((s, note)) if s == size => {
                SignedCheckpoint::verify(note.as_bytes(), &self.log_keys.node.verifier_key())
                    .map_err(log_err)?
            }
            _ => self.sign_checkpoint()?,
        };
        if let Ok(mut cache) = self.log_keys.cache.lock() {
            cache.checkpoint = Some(cp.clone());
        }
        Ok(cp)
    }

    /// Our signed checkpoint of `size`, if we signed one.
    pub fn checkpoint_at(&self, size: u64) -> Result<Option<SignedCheckpoint>, ReleaseError> {
        self.store
            .checkpoint_at(size)?
            .map(|note| {
                SignedCheckpoint::verify(note.as_bytes(), &self.log_keys.node.verifier_key())
                    .map_err(log_err)
            })
            .transpose()
    }

    /// Our latest checkpoint with every cosignature received on it (as served at
    /// `/log/checkpoint`).
    pub fn cosigned_checkpoint(&mut self) -> Result<SignedCheckpoint, ReleaseError> {
        let mut cp = self.checkpoint()?;
        for (name, line) in self.store.cosignatures(cp.checkpoint().size())? {
            let Ok(cos) = Cosignature::parse_line(&line) else {
                continue;
            };
            for p in self.store.partners()? {
                if let Some(k) = self.store.partner_key(&p.party, PARTNER_COSIGNER_KEY)? {
                    if let Ok(key) = CosignerKey::parse(&k) {
                        if key.name() == name {
                            if let Ok(with) = cp.with_cosignature(&key, &cos) {
                                cp = with;
                            }
                        }
                    }
                }
            }
        }
        Ok(cp)
    }

    /// The inclusion proof of leaf `index` against our latest checkpoint, and that checkpoint.
    pub fn inclusion_proof(
        &mut self,
        index: u64,
    ) -> Result<(InclusionProof, SignedCheckpoint), ReleaseError> {
        let cp = self.checkpoint()?;
        let proof = self.inclusion_proof_at(index, cp.checkpoint().size())?;
        Ok((proof, cp))
    }

    /// The inclusion proof of leaf `index` in the tree of `size` leaves.
    pub fn inclusion_proof_at(
        &self,
        index: u64,
        size: u64,
    ) -> Result<InclusionProof, ReleaseError> {
        let r = reader(&self.store, &self.log_keys);
        let leaf = stored_hash_index(0, index);
        r.ahead.set(Some(leaf));
        let path = prove_inclusion(index, size, &r).map_err(log_err)?;
        let leaf = r.read_hashes(&[leaf]).map_err(log_err)?;
        let leaf_hash = leaf
            .first()
            .copied()
            .ok_or_else(|| ReleaseError::Log(format!("no leaf {index}")))?;
        Ok(InclusionProof {
            index,
            leaf_hash,
            path,
        })
    }

    /// The consistency proof between two sizes of our log.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, ReleaseError> {
        prove_consistency(old, new, &reader(&self.store, &self.log_keys)).map_err(log_err)
    }

    /// The opening of leaf `index` if it concerns `party` (else `None`: a party is never
    /// given another's opening).
    pub fn opening_for(&self, index: u64, party: &Party) -> Result<Option<Opening>, ReleaseError> {
        Ok(self
            .store
            .log_opening(index)?
            .filter(|o| o.parties.iter().any(|p| p == party.as_str()))
            .map(|o| Opening {
                leaf: o.leaf,
                salt: o.salt,
            }))
    }

    /// Entries (commitments) `start..end` of our log.
    pub fn log_entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, ReleaseError> {
        Ok(self.store.log_entries(start, end)?)
    }

    /// The contents of a tile (C2SP tlog-tiles) in the tree of `size` leaves: hashes, or an
    /// entry bundle. `None` if the tree of that size does not have it.
    pub fn tile(&self, tile: &TileId, size: u64) -> Result<Option<Vec<u8>>, ReleaseError> {
        if !tile.in_tree(size) {
            return Ok(None);
        }
        match tile.kind() {
            TileKind::Hashes { .. } => Ok(Some(
                tile_data(tile, size, &reader(&self.store, &self.log_keys)).map_err(log_err)?,
            )),
            TileKind::Entries => {
                let start = tile.index() * 256;
                let entries = self
                    .store
                    .log_entries(start, start + u64::from(tile.width()))?;
                Ok(Some(encode_entry_bundle(&entries).map_err(log_err)?))
            }
        }
    }

    /// The openings of the delivery leaves for `recipient` (of object `id` only, if given),
    /// and of its fingerprint commitment, in the tree of `size` leaves: (index, opening).
    pub fn deliveries(
        &self,
        recipient: &Party,
        id: Option<&str>,
        size: u64,
    ) -> Result<Vec<(u64, Opening)>, ReleaseError> {
        // With them, the commitment their fingerprints are made under (when no one id is
        // asked for): the recipient checks it was logged before the first delivery.
        self.openings_where(recipient, size, |leaf| match leaf {
            Leaf::Delivery {
                recipient: r,
                delivered,
                ..
            } => r == recipient.as_str() && id.is_none_or(|id| id == delivered),
            Leaf::Fingerprint { recipient: r, .. } => r == recipient.as_str() && id.is_none(),
            _ => false,
        })
    }

    /// The openings of the agreement leaves with `partner` (both sides' terms, as signed)
    /// in the tree of `size` leaves: (index, opening).
    pub fn agreement_leaves(
        &self,
        partner: &Party,
        size: u64,
    ) -> Result<Vec<(u64, Opening)>, ReleaseError> {
        self.openings_where(
            partner,
            size,
            |leaf| matches!(leaf, Leaf::Agreement { partner: p, .. } if p == partner.as_str()),
        )
    }

    /// The openings that concern `party`, below `size`, whose leaf passes `keep`.
    fn openings_where(
        &self,
        party: &Party,
        size: u64,
        keep: impl Fn(&Leaf) -> bool,
    ) -> Result<Vec<(u64, Opening)>, ReleaseError> {
        let mut out = Vec::new();
        for (i, o) in self.store.log_openings_for(party.as_str())? {
            if i < size && Leaf::from_json(&o.leaf).is_some_and(|l| keep(&l)) {
                out.push((
                    i,
                    Opening {
                        leaf: o.leaf,
                        salt: o.salt,
                    },
                ));
            }
        }
        Ok(out)
    }

    /// Takes a partner's cosignature line on our checkpoint of `size` (the latest when
    /// `None`): verified with the cosigner key the operator registered for it, then kept.
    pub fn accept_cosignature(
        &mut self,
        from: &Party,
        line: &str,
        size: Option<u64>,
    ) -> Result<(), ReleaseError> {
        let key = self
            .store
            .partner_key(from.as_str(), PARTNER_COSIGNER_KEY)?
            .ok_or_else(|| {
                ReleaseError::Cosignature(format!("no cosigner key registered for {from}"))
            })?;
        let key = CosignerKey::parse(&key).map_err(log_err)?;
        let refused = |e: liaison_log::CosignatureError| ReleaseError::Cosignature(e.to_string());
        let cos = Cosignature::parse_line(line.trim_end()).map_err(refused)?;
        let cp = match size {
            Some(s) => self
                .checkpoint_at(s)?
                .ok_or_else(|| ReleaseError::Cosignature(format!("no checkpoint of size {s}")))?,
            None => self.checkpoint()?,
        };
        key.verify(&cp, &cos).map_err(refused)?;
        self.store
            .add_cosignature(cp.checkpoint().size(), cos.name(), cos.to_line().trim_end())?;
        tracing::info!(partner = %from, size = cp.checkpoint().size(), "cosignature kept");
        Ok(())
    }

    /// Registers a partner's public key of `kind` ([`PARTNER_LOG_KEY`] or
    /// [`PARTNER_COSIGNER_KEY`]), checked first.
    pub fn set_partner_key(
        &mut self,
        party: &Party,
        kind: &str,
        key: &str,
    ) -> Result<(), ReleaseError> {
        self.agreement(party)?;
        let key = key.trim();
        match kind {
            PARTNER_LOG_KEY => {
                let k = VerifierKey::parse(key).map_err(log_err)?;
                if k.name() != origin(party) {
                    return Err(ReleaseError::Log(format!(
                        "{party}'s log key must be named `{}`, not `{}`",
                        origin(party),
                        k.name()
                    )));
                }
            }
            PARTNER_COSIGNER_KEY => {
                CosignerKey::parse(key).map_err(log_err)?;
            }
            other => return Err(ReleaseError::Log(format!("unknown key kind `{other}`"))),
        }
        self.store.set_partner_key(party.as_str(), kind, key)?;
        Ok(())
    }

    /// A partner's registered key of `kind`.
    pub fn partner_key(&self, party: &Party, kind: &str) -> Result<Option<String>, ReleaseError> {
        Ok(self.store.partner_key(party.as_str(), kind)?)
    }

    /// The partner's checkpoint we last accepted.
    pub fn partner_checkpoint(
        &self,
        party: &Party,
    ) -> Result<Option<SignedCheckpoint>, ReleaseError> {
        let Some((_, note)) = self.store.partner_checkpoint(party.as_str())? else {
            return Ok(None);
        };
        let key = self.partner_log_key(party)?;
        Ok(Some(
            SignedCheckpoint::verify(note.as_bytes(), &key).map_err(log_err)?,
        ))
    }

    /// The partner's registered log verifier key.
    pub fn partner_log_key(&self, party: &Party) -> Result<VerifierKey, ReleaseError> {
        let k = self
            .store
            .partner_key(party.as_str(), PARTNER_LOG_KEY)?
            .ok_or_else(|| {
                ReleaseError::Log(format!(
                    "no log key registered for {party} (`liaison partner logkey {party} VKEY`)"
                ))
            })?;
        VerifierKey::parse(&k).map_err(log_err)
    }

    /// Records the partner's checkpoint as accepted (the caller verified it and its
    /// consistency with the last one).
    pub fn accept_partner_checkpoint(
        &mut self,
        party: &Party,
        cp: &SignedCheckpoint,
    ) -> Result<(), ReleaseError> {
        let note = String::from_utf8(cp.as_bytes().to_vec()).map_err(log_err)?;
        self.store
            .put_partner_checkpoint(party.as_str(), cp.checkpoint().size(), &note)?;
        Ok(())
    }

    /// Keeps fork evidence about a partner's log.
    pub fn record_fork(&mut self, party: &Party, evidence: &Value) -> Result<(), ReleaseError> {
        self.store
            .add_fork_evidence(party.as_str(), &evidence.to_string())?;
        tracing::error!(partner = %party, "the partner's log forked; evidence kept");
        Ok(())
    }

    /// Fork evidence kept about a partner: (when, evidence JSON).
    pub fn forks(&self, party: &Party) -> Result<Vec<(String, Value)>, ReleaseError> {
        Ok(self
            .store
            .fork_evidence(party.as_str())?
            .into_iter()
            .map(|f| {
                let v = serde_json::from_str(&f.evidence).unwrap_or(Value::String(f.evidence));
                (f.created, v)
            })
            .collect())
    }

    /// Our log's state.
    pub fn log_status(&mut self) -> Result<LogStatus, ReleaseError> {
        let cp = self.cosigned_checkpoint()?;
        Ok(LogStatus {
            origin: cp.checkpoint().origin().to_owned(),
            size: cp.checkpoint().size(),
            root: cp.checkpoint().root().to_string(),
            checkpoint: String::from_utf8_lossy(cp.as_bytes()).into_owned(),
            cosignatures: self
                .store
                .latest_cosignatures()?
                .into_iter()
                .map(|(cosigner, size, line)| CosignatureStatus {
                    cosigner,
                    size,
                    line,
                })
                .collect(),
            verifier_key: self.log_keys.node.verifier_key().to_string(),
            cosigner_key: self.log_keys.cosigner.cosigner_key().to_string(),
        })
    }
}

/// How long an append keeps retrying while other appenders win the race for the log.
const APPEND_PATIENCE: std::time::Duration = std::time::Duration::from_secs(30);

/// A random pause before the `attempt`-th retry of a contended append: up to 1 ms, doubling
/// with each attempt, at most 64 ms.
fn contention_pause(attempt: u32) -> std::time::Duration {
    use rand_core::RngCore as _;
    let ceiling_us = 1000u64 << attempt.min(6);
    std::time::Duration::from_micros(u64::from(rand_core::OsRng.next_u32()) % ceiling_us)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use liaison_log::verify_inclusion;

    #[test]
    fn leaves_are_canonical_json() {
        let l = Leaf::Delivery {
            recipient: "RUS".into(),
            delivered: "indicator--1".into(),
            version: "2026".into(),
            sha256: "ab".into(),
            decision: "release".into(),
            reasons: vec!["x".into()],
            value: 1.25,
        };
        let e = l.to_json().unwrap();
        assert_eq!(l.parties(), vec!["RUS".to_owned()]);
        assert_eq!(
            String::from_utf8(e.clone()).unwrap(),
            r#"{"decision":"release","delivered":"indicator--1","kind":"delivery","reasons":["x"],"recipient":"RUS","sha256":"ab","value":1.25,"version":"2026"}"#
        );
        assert_eq!(Leaf::from_json(&e), Some(l));
    }

    fn capacity(u: &UpperLevels) -> usize {
        u.levels.iter().map(|l| l.hashes.capacity()).sum()
    }

    #[test]
    fn the_upper_levels_stay_within_their_budget_however_large_the_log() {
        let mut u = UpperLevels::default();
        let h = |level: u8, n: u64| {
            let mut b = [level; 32];
            b[..8].copy_from_slice(&n.to_be_bytes());
            Hash(b)
        };
        // A log of 2^30 leaves: the last hash of every level, so each level held is full.
        let leaves = 1u64 << 30;
        for level in 0..=30u8 {
            let n = (leaves >> level) - 1;
            let kept = u.put(stored_hash_index(level, n), h(level, n));
            assert_eq!(kept, level >= 12, "level {level}");
        }
        assert_eq!(u.floor, 12);
        assert!(capacity(&u) as u64 <= UPPER_MAX, "{}", capacity(&u));
        assert_eq!(u.get(12, (1 << 18) - 1), Some(h(12, (1 << 18) - 1)));
        assert_eq!(u.get(12, 5), None, "not read yet");
        assert_eq!(u.get(11, 0), None);
        // An index beyond any tree is not kept.
        assert!(!u.put(u64::MAX, h(0, 0)));
        assert_eq!((u.floor, u.leaves), (12, leaves));

        // Growing: the floor rises and the levels below it are dropped.
        let mut u = UpperLevels::default();
        assert!(u.put(stored_hash_index(0, 5), h(0, 5)));
        assert_eq!(u.get(0, 5), Some(h(0, 5)));
        assert!(u.put(stored_hash_index(3, (1 << 18) - 1), h(3, 7)));
        assert_eq!(u.floor, 3, "2^21 leaves");
        assert_eq!(u.get(0, 5), None);
        assert_eq!(u.get(3, (1 << 18) - 1), Some(h(3, 7)));
        assert!(capacity(&u) as u64 <= UPPER_MAX);
    }

    /// A node whose cache keeps at most 64 hashes, so that small logs use every path: levels
    /// held, levels read from the store, the floor rising.
    fn small_cache_node(home: &Path) -> Node<liaison_store::SqliteStore> {
        let mut node = Node::open(home).unwrap();
        node.log_keys.cache = Arc::new(Mutex::new(LogCache {
            upper: UpperLevels::with_budget(64),
            checkpoint: None,
        }));
        node
    }

    fn reference(node: &Node<liaison_store::SqliteStore>) -> liaison_log::MemoryTree {
        let mut t = liaison_log::MemoryTree::new();
        for e in node.log_entries(0, node.log_size().unwrap()).unwrap() {
            t.append(&e).unwrap();
        }
        t
    }

    fn leaf(n: u64) -> Leaf {
        Leaf::Received {
            from: "GBR".into(),
            id: format!("indicator--{n}"),
            version: "1".into(),
            sha256: sha256_hex(&n.to_be_bytes()),
        }
    }

    fn check_proofs(node: &Node<liaison_store::SqliteStore>, t: &liaison_log::MemoryTree) {
        let size = t.size();
        for s in [1, 2, 3, size / 2 + 1, size - 1, size] {
            if s == 0 || s > size {
                continue;
            }
            for i in [0, 1, s / 3, s / 2, s.saturating_sub(2), s - 1] {
                if i >= s {
                    continue;
                }
                let p = node.inclusion_proof_at(i, s).unwrap();
                assert_eq!(p.path, prove_inclusion(i, s, t).unwrap(), "{i} in {s}");
                assert_eq!(
                    p.leaf_hash,
                    t.stored_hashes()[stored_hash_index(0, i) as usize]
                );
                verify_inclusion(p.leaf_hash, i, s, root(s, t).unwrap(), &p.path).unwrap();
            }
            assert_eq!(
                node.consistency_proof(s / 2 + 1, s).unwrap(),
                prove_consistency(s / 2 + 1, s, t).unwrap()
            );
        }
        assert!(
            node.inclusion_proof_at(size, size + 1).is_err(),
            "beyond the log"
        );
    }

    #[test]
    fn proofs_are_the_trees_with_a_cold_warm_or_outgrown_cache() {
        let dir = tempfile::tempdir().unwrap();
        Node::init(dir.path(), &Party::parse("USA").unwrap()).unwrap();
        let mut a = small_cache_node(dir.path());
        let mut n = 0;
        for batch in [1, 1, 3, 10, 7, 40, 1, 100, 33] {
            let ls: Vec<Leaf> = (n..n + batch).map(leaf).collect();
            a.log_append(&ls).unwrap();
            n += batch;
            let t = reference(&a);
            assert_eq!(
                a.checkpoint().unwrap().checkpoint().root(),
                root(n, &t).unwrap()
            );
            check_proofs(&a, &t);
        }
        let floor = a.log_keys.cache.lock().unwrap().upper.floor;
        assert!(floor >= 2, "the floor rose: {floor}");
        // Cold: a node that has read nothing yet.
        check_proofs(&small_cache_node(dir.path()), &reference(&a));
        // Another process appends: what `a` holds stays right and grows.
        let mut b = small_cache_node(dir.path());
        for batch in [5, 64, 1] {
            let ls: Vec<Leaf> = (n..n + batch).map(leaf).collect();
            b.log_append(&ls).unwrap();
            n += batch;
        }
        let t = reference(&b);
        check_proofs(&a, &t);
        assert_eq!(
            a.checkpoint().unwrap().checkpoint().root(),
            root(n, &t).unwrap()
        );
        // And `a` appends after `b`, with what it held from before.
        a.log_append(&[leaf(n)]).unwrap();
        check_proofs(&b, &reference(&a));
        check_proofs(&a, &reference(&a));
        // The default budget, cold, too.
        check_proofs(&Node::open(dir.path()).unwrap(), &reference(&a));
    }

    #[test]
    fn the_key_file_is_created_once_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let p = Party::parse("USA").unwrap();
        assert!(matches!(
            LogKeys::load(dir.path(), &p),
            Err(ReleaseError::MissingLogKey(_))
        ));
        let a = LogKeys::create(dir.path(), &p).unwrap();
        assert!(LogKeys::create(dir.path(), &p).is_err());
        let b = LogKeys::load(dir.path(), &p).unwrap();
        assert_eq!(a.node.seed(), b.node.seed());
        assert_ne!(a.node.seed(), a.cosigner.seed());
        assert_eq!(a.node.name(), "liaison.USA");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join(LOG_KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
