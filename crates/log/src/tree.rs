//! The RFC 6962 Merkle tree over stored hashes. The math is `tlog_tiles` (a port of Go's
//! `sumdb/tlog`); this module only bounds its inputs so that nothing a partner sends reaches
//! its panics, and adapts a narrow [`HashReader`] whose failures keep their own error.
//!
//! Invariant: hashes are stored at `stored_hash_index(level, n)` (Crosby and Wallach's
//! linear order), as written by [`hashes_to_store`] for each appended leaf in order.

use std::cell::RefCell;

use tlog_tiles::Hash;

use crate::error::{ProofError, StorageError, TreeError};

/// The largest tree size accepted anywhere in this crate (2^56 leaves). It keeps every
/// index computation far from `u64` overflow, whatever size a partner claims.
pub const MAX_TREE_SIZE: u64 = 1 << 56;

/// The most hashes a proof may have. An RFC 6962 inclusion proof for a tree of at most 2^64
/// leaves has at most 64 hashes, a consistency proof at most 65; longer ones are refused
/// before any hashing.
pub const MAX_PROOF_HASHES: usize = 128;

/// The root of the empty tree: SHA-256 of the empty string (RFC 6962, section 2.1).
pub const EMPTY_ROOT: Hash = tlog_tiles::EMPTY_HASH;

/// Reads stored tree hashes by their stored index. The storage crate implements it over its
/// tables; tests implement it over a `Vec`.
pub trait HashReader {
    /// Returns the hashes at the given stored indexes, in the same order and number, or an
    /// error. Returning another number of hashes is reported as a storage error.
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, StorageError>;
}

impl<R: HashReader + ?Sized> HashReader for &R {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, StorageError> {
        (**self).read_hashes(indexes)
    }
}

/// RFC 6962, section 2.1: the leaf hash `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    tlog_tiles::record_hash(data)
}

/// RFC 6962, section 2.1: the interior node hash `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: Hash, right: Hash) -> Hash {
    tlog_tiles::node_hash(left, right)
}

/// Where the hash at `level`, position `n` is stored in the linear order.
pub fn stored_hash_index(level: u8, n: u64) -> u64 {
    tlog_tiles::stored_hash_index(level, n)
}

/// The level and position of the hash stored at `index`: the inverse of
/// [`stored_hash_index`]. `None` for an index beyond the stored hashes of a tree of
/// [`MAX_TREE_SIZE`] leaves.
pub fn split_stored_hash_index(index: u64) -> Option<(u8, u64)> {
    // Bounded first: `tlog_tiles` asserts on its own arithmetic, which holds far below this.
    if index >= tlog_tiles::stored_hash_count(MAX_TREE_SIZE) {
        return None;
    }
    Some(tlog_tiles::split_stored_hash_index(index))
}

/// How many hashes are stored for a tree of `size` leaves.
///
/// # Errors
/// [`TreeError::SizeTooLarge`] above [`MAX_TREE_SIZE`].
pub fn stored_hash_count(size: u64) -> Result<u64, TreeError> {
    check_size(size)?;
    Ok(tlog_tiles::stored_hash_count(size))
}

fn check_size(size: u64) -> Result<(), TreeError> {
    if size > MAX_TREE_SIZE {
        return Err(TreeError::SizeTooLarge(size));
    }
    Ok(())
}

/// Adapts a [`HashReader`] to `tlog_tiles::HashReader`. The storage error is kept aside
/// (the library's error type cannot carry it), and a wrong count of hashes becomes an error
/// here instead of the library's assertion.
pub(crate) struct Adapter<'a, R: ?Sized> {
    inner: &'a R,
    failure: RefCell<Option<StorageError>>,
}

impl<'a, R: HashReader + ?Sized> Adapter<'a, R> {
    pub(crate) fn new(inner: &'a R) -> Self {
        Self {
            inner,
            failure: RefCell::new(None),
        }
    }

    /// Maps the library's result, preferring the storage error kept aside.
    pub(crate) fn finish<T>(self, result: Result<T, tlog_tiles::Error>) -> Result<T, TreeError> {
        if let Some(e) = self.failure.into_inner() {
            return Err(TreeError::Storage(e));
        }
        result.map_err(|e| TreeError::Internal(e.to_string()))
    }
}

impl<R: HashReader + ?Sized> tlog_tiles::HashReader for Adapter<'_, R> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        let failed = |e: StorageError| {
            *self.failure.borrow_mut() = Some(e);
            tlog_tiles::Error::IndexesNotInTree
        };
        let hashes = self.inner.read_hashes(indexes).map_err(failed)?;
        if hashes.len() != indexes.len() {
            return Err(failed(StorageError::new(format!(
                "storage returned {} hashes for {} indexes",
                hashes.len(),
                indexes.len()
            ))));
        }
        Ok(hashes)
    }
}

/// The hashes to store when appending the leaf with hash `leaf` at index `index` (the tree's
/// size before the append): the leaf hash, then the root of each subtree it completes. They
/// go at `stored_hash_index(0, index)` onwards. Reads up to log2(index) earlier hashes.
///
/// # Errors
/// Storage failures, or an index at or above [`MAX_TREE_SIZE`].
pub fn hashes_to_store(
    index: u64,
    leaf: Hash,
    r: &impl HashReader,
) -> Result<Vec<Hash>, TreeError> {
    if index >= MAX_TREE_SIZE {
        return Err(TreeError::SizeTooLarge(index));
    }
    let a = Adapter::new(r);
    let result = tlog_tiles::stored_hashes_for_record_hash(index, leaf, &a);
    a.finish(result)
}

/// The Merkle Tree Hash of the first `size` leaves (RFC 6962, section 2.1).
///
/// # Errors
/// Storage failures (a missing hash means the log is shorter than `size`).
pub fn root(size: u64, r: &impl HashReader) -> Result<Hash, TreeError> {
    check_size(size)?;
    let a = Adapter::new(r);
    let result = tlog_tiles::tree_hash(size, &a);
    a.finish(result)
}

/// The audit path for leaf `index` in the tree of `size` leaves (RFC 6962, section 2.1.1).
///
/// # Errors
/// [`TreeError::IndexOutOfRange`] unless `index < size`; storage failures.
pub fn prove_inclusion(index: u64, size: u64, r: &impl HashReader) -> Result<Vec<Hash>, TreeError> {
    check_size(size)?;
    if index >= size {
        return Err(TreeError::IndexOutOfRange { index, size });
    }
    let a = Adapter::new(r);
    let result = tlog_tiles::prove_record(size, index, &a);
    a.finish(result)
}

/// The consistency proof from the tree of `old` leaves to the tree of `new` leaves (RFC 6962,
/// section 2.1.2). Empty when `old == new`.
///
/// # Errors
/// [`TreeError::BadSizes`] unless `1 <= old <= new`; storage failures.
pub fn prove_consistency(old: u64, new: u64, r: &impl HashReader) -> Result<Vec<Hash>, TreeError> {
    check_size(new)?;
    if old == 0 || old > new {
        return Err(TreeError::BadSizes { old, new });
    }
    let a = Adapter::new(r);
    let result = tlog_tiles::prove_tree(new, old, &a);
    a.finish(result)
}

fn check_proof(size: u64, proof: &[Hash]) -> Result<(), ProofError> {
    if size > MAX_TREE_SIZE {
        return Err(ProofError::SizeTooLarge(size));
    }
    if proof.len() > MAX_PROOF_HASHES {
        return Err(ProofError::ProofTooLong(proof.len()));
    }
    Ok(())
}

/// Verifies that `proof` shows the leaf with hash `leaf` at `index` in the tree of `size`
/// leaves whose root is `root` (RFC 6962, section 2.1.1).
///
/// # Errors
/// [`ProofError::InclusionMismatch`] if the proof does not lead to `root`;
/// [`ProofError::IndexOutOfRange`], [`ProofError::ProofTooLong`], [`ProofError::SizeTooLarge`].
pub fn verify_inclusion(
    leaf: Hash,
    index: u64,
    size: u64,
    root: Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    check_proof(size, proof)?;
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    tlog_tiles::check_record(&proof.to_vec(), size, root, index, leaf)
        .map_err(|_| ProofError::InclusionMismatch { index, size })
}

/// Verifies that `proof` shows the tree of `old` leaves with root `old_root` is a prefix of
/// the tree of `new` leaves with root `new_root` (RFC 6962, section 2.1.2). The empty tree is
/// a prefix of every tree; equal sizes need equal roots and an empty proof.
///
/// # Errors
/// [`ProofError::Truncated`] if `new < old`; [`ProofError::RootMismatch`] for equal sizes with
/// different roots; [`ProofError::ConsistencyMismatch`] if the proof fails;
/// [`ProofError::ProofTooLong`], [`ProofError::SizeTooLarge`].
pub fn verify_consistency(
    old: u64,
    old_root: Hash,
    new: u64,
    new_root: Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    check_proof(old, proof)?;
    check_proof(new, proof)?;
    if new < old {
        return Err(ProofError::Truncated { old, new });
    }
    if old == new {
        if old_root != new_root {
            return Err(ProofError::RootMismatch { size: old });
        }
        if !proof.is_empty() {
            return Err(ProofError::ConsistencyMismatch { old, new });
        }
        return Ok(());
    }
    if old == 0 {
        // RFC 9162, section 2.1.4: the empty tree is consistent with any tree, and its
        // proof is empty. Its root must still be the empty root.
        if old_root != EMPTY_ROOT || !proof.is_empty() {
            return Err(ProofError::ConsistencyMismatch { old, new });
        }
        return Ok(());
    }
    tlog_tiles::check_tree(&proof.to_vec(), new, new_root, old, old_root)
        .map_err(|_| ProofError::ConsistencyMismatch { old, new })
}

/// An in-memory tree: the stored hashes in a `Vec`, in the linear order. For tests, tools and
/// the fuzz targets; the node's log lives in the storage crate.
#[derive(Debug, Clone, Default)]
pub struct MemoryTree {
    hashes: Vec<Hash>,
    size: u64,
}

impl MemoryTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a leaf and returns its index.
    ///
    /// # Errors
    /// Only at [`MAX_TREE_SIZE`].
    pub fn append(&mut self, data: &[u8]) -> Result<u64, TreeError> {
        self.append_hash(leaf_hash(data))
    }

    /// Appends a leaf by its leaf hash and returns its index.
    ///
    /// # Errors
    /// Only at [`MAX_TREE_SIZE`].
    pub fn append_hash(&mut self, leaf: Hash) -> Result<u64, TreeError> {
        let index = self.size;
        let new = hashes_to_store(index, leaf, self)?;
        self.hashes.extend(new);
        self.size += 1;
        Ok(index)
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The stored hashes, in the linear order.
    pub fn stored_hashes(&self) -> &[Hash] {
        &self.hashes
    }

    /// Keeps only the first `size` leaves (what a truncated log looks like).
    pub fn truncate(&mut self, size: u64) {
        if size < self.size {
            let keep = tlog_tiles::stored_hash_count(size);
            self.hashes
                .truncate(usize::try_from(keep).unwrap_or(usize::MAX));
            self.size = size;
        }
    }

    /// Replaces the stored hash at `index` (to test tampering).
    pub fn set_stored_hash(&mut self, index: usize, hash: Hash) {
        if let Some(h) = self.hashes.get_mut(index) {
            *h = hash;
        }
    }
}

impl HashReader for MemoryTree {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, StorageError> {
        indexes
            .iter()
            .map(|&i| {
                usize::try_from(i)
                    .ok()
                    .and_then(|i| self.hashes.get(i).copied())
                    .ok_or(StorageError::missing(i))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(n: u64) -> MemoryTree {
        let mut t = MemoryTree::new();
        for i in 0..n {
            t.append(&i.to_be_bytes()).unwrap();
        }
        t
    }

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(
            EMPTY_ROOT.to_string(),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
        assert_eq!(root(0, &MemoryTree::new()).unwrap(), EMPTY_ROOT);
    }

    #[test]
    fn split_stored_hash_index_inverts_stored_hash_index() {
        let t = tree(1000);
        let mut seen = 0;
        for level in 0..10u8 {
            for n in 0..(1000u64 >> level) {
                let i = stored_hash_index(level, n);
                assert_eq!(split_stored_hash_index(i), Some((level, n)));
                seen += 1;
            }
        }
        assert_eq!(seen, t.stored_hashes().len());
        let last = stored_hash_count(MAX_TREE_SIZE).unwrap();
        assert!(split_stored_hash_index(last - 1).is_some());
        assert_eq!(split_stored_hash_index(last), None);
        assert_eq!(split_stored_hash_index(u64::MAX), None);
    }

    #[test]
    fn root_beyond_the_log_is_a_storage_error() {
        let t = tree(5);
        assert!(matches!(root(6, &t), Err(TreeError::Storage(_))));
        assert!(matches!(
            prove_inclusion(3, 9, &t),
            Err(TreeError::Storage(_))
        ));
    }

    #[test]
    fn a_reader_returning_too_few_hashes_is_an_error_not_a_panic() {
        struct Short;
        impl HashReader for Short {
            fn read_hashes(&self, _: &[u64]) -> Result<Vec<Hash>, StorageError> {
                Ok(vec![])
            }
        }
        assert!(matches!(root(7, &Short), Err(TreeError::Storage(_))));
        assert!(matches!(
            hashes_to_store(7, EMPTY_ROOT, &Short),
            Err(TreeError::Storage(_))
        ));
    }

    #[test]
    fn bad_requests_are_refused() {
        let t = tree(4);
        assert!(matches!(
            prove_inclusion(4, 4, &t),
            Err(TreeError::IndexOutOfRange { index: 4, size: 4 })
        ));
        assert!(matches!(
            prove_consistency(0, 4, &t),
            Err(TreeError::BadSizes { .. })
        ));
        assert!(matches!(
            prove_consistency(4, 3, &t),
            Err(TreeError::BadSizes { .. })
        ));
        assert!(matches!(
            root(u64::MAX, &t),
            Err(TreeError::SizeTooLarge(_))
        ));
    }

    #[test]
    fn hostile_sizes_and_proofs_never_panic() {
        let h = leaf_hash(b"x");
        for size in [0, 1, 2, MAX_TREE_SIZE, MAX_TREE_SIZE + 1, u64::MAX] {
            for index in [0, 1, size.saturating_sub(1), size, u64::MAX] {
                for len in [0, 1, 63, 64, 65, 129] {
                    let proof = vec![h; len];
                    let _ = verify_inclusion(h, index, size, h, &proof);
                    let _ = verify_consistency(index, h, size, h, &proof);
                }
            }
        }
        assert_eq!(
            verify_inclusion(h, 0, 2, h, &vec![h; 129]),
            Err(ProofError::ProofTooLong(129))
        );
    }

    #[test]
    fn truncate_then_reappend_gives_the_same_root() {
        let mut t = tree(37);
        let r37 = root(37, &t).unwrap();
        t.truncate(20);
        assert_eq!(
            t.stored_hashes().len() as u64,
            stored_hash_count(20).unwrap()
        );
        for i in 20..37u64 {
            t.append(&i.to_be_bytes()).unwrap();
        }
        assert_eq!(root(37, &t).unwrap(), r37);
    }
}
