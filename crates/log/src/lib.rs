//! The node's transparency log, as pure functions and values: the RFC 6962 Merkle tree over
//! stored hashes (math from `tlog_tiles`), C2SP tlog-tiles paths and contents, C2SP
//! tlog-checkpoint notes signed per C2SP signed-note (Ed25519), C2SP tlog-cosignature
//! (written here), and fork evidence. No I/O: storage is reached through [`HashReader`].
//!
//! Everything read from a partner (proofs, checkpoints, cosignatures, tile paths, entry
//! bundles) is bounded before use and refused with a typed error, never a panic.
#![deny(missing_docs)]

mod checkpoint;
mod commitment;
mod cosignature;
mod error;
mod fork;
mod key;
mod tile;
mod tiled;
mod tree;

pub use checkpoint::{
    verify_note, Checkpoint, InclusionProof, SignedCheckpoint, MAX_CHECKPOINT_BYTES,
};
pub use commitment::{commit, random_salt, Opening, COMMITMENT_DOMAIN, COMMITMENT_SIZE, SALT_SIZE};
pub use cosignature::{Cosignature, Cosigner, CosignerKey, COSIGNATURE_TYPE};
pub use error::{
    CheckpointError, CosignatureError, ForkError, KeyError, ProofError, StorageError, TileError,
    TreeError,
};
pub use fork::{check_consistency, Consistency, ForkEvidence};
pub use key::{NodeKey, VerifierKey};
pub use tile::{
    decode_entry_bundle, encode_entry_bundle, new_tiles, tile_data, verify_entry_bundle, TileId,
    TileKind, MAX_TILE_LEVEL, TILE_HEIGHT, TILE_WIDTH,
};
pub use tiled::TiledTree;
pub use tlog_tiles::{Hash, HASH_SIZE};
pub use tree::{
    hashes_to_store, leaf_hash, node_hash, prove_consistency, prove_inclusion, root,
    split_stored_hash_index, stored_hash_count, stored_hash_index, verify_consistency,
    verify_inclusion, HashReader, MemoryTree, EMPTY_ROOT, MAX_PROOF_HASHES, MAX_TREE_SIZE,
};
