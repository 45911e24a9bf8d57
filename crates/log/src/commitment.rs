//! Salted commitments: what the log publishes for each entry. A log entry is
//! `SHA-256("liaison-log-commitment-v1\0" || salt || leaf)`, 32 bytes, where `leaf` is the
//! entry's private content (canonical JSON at the node) and `salt` 32 random bytes. Tiles
//! and entry bundles carry only commitments, so a partner reading them learns the log's
//! size and nothing about entries that do not concern it. The party an entry concerns is
//! given the [`Opening`] (leaf and salt) and checks opening → commitment → inclusion proof
//! → checkpoint.

use sha2::{Digest, Sha256};

use crate::error::{KeyError, ProofError};
use crate::tree::{leaf_hash, verify_inclusion};
use crate::Hash;

/// The domain separator hashed before the salt.
pub const COMMITMENT_DOMAIN: &[u8] = b"liaison-log-commitment-v1\0";
/// Bytes in a salt.
pub const SALT_SIZE: usize = 32;
/// Bytes in a commitment (a log entry).
pub const COMMITMENT_SIZE: usize = 32;

/// The commitment to `leaf` under `salt`: the log entry.
pub fn commit(salt: &[u8; SALT_SIZE], leaf: &[u8]) -> [u8; COMMITMENT_SIZE] {
    let mut h = Sha256::new();
    h.update(COMMITMENT_DOMAIN);
    h.update(salt);
    h.update(leaf);
    h.finalize().into()
}

/// A fresh random salt.
///
/// # Errors
/// [`KeyError::Random`] if the system has no randomness to give.
pub fn random_salt() -> Result<[u8; SALT_SIZE], KeyError> {
    crate::key::random_seed()
}

/// What opens one log entry: the leaf and its salt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opening {
    /// The leaf (canonical JSON at the node).
    pub leaf: Vec<u8>,
    /// The salt.
    pub salt: [u8; SALT_SIZE],
}

impl Opening {
    /// A new opening of `leaf` with a fresh random salt.
    ///
    /// # Errors
    /// [`KeyError::Random`] if the system has no randomness to give.
    pub fn new(leaf: Vec<u8>) -> Result<Self, KeyError> {
        Ok(Self {
            leaf,
            salt: random_salt()?,
        })
    }

    /// An opening as served: the leaf and the salt in lowercase hex. `None` if the salt is
    /// not 64 hex digits.
    pub fn from_hex(leaf: Vec<u8>, salt: &str) -> Option<Self> {
        if salt.len() != 2 * SALT_SIZE || !salt.is_ascii() {
            return None;
        }
        let mut out = [0u8; SALT_SIZE];
        for (i, b) in out.iter_mut().enumerate() {
            *b = u8::from_str_radix(salt.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(Self { leaf, salt: out })
    }

    /// The salt in lowercase hex.
    pub fn salt_hex(&self) -> String {
        self.salt.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The commitment it opens: the log entry.
    pub fn commitment(&self) -> [u8; COMMITMENT_SIZE] {
        commit(&self.salt, &self.leaf)
    }

    /// The RFC 6962 leaf hash of the entry it opens.
    pub fn leaf_hash(&self) -> Hash {
        leaf_hash(&self.commitment())
    }

    /// Verifies that this opening is of leaf `index` in the tree of `size` leaves with root
    /// `root`, by the audit path `proof`: opening → commitment → leaf hash → root.
    ///
    /// # Errors
    /// [`ProofError::LeafMismatch`] if `claimed` (the leaf hash the log served, if any)
    /// differs from this opening's; otherwise what [`verify_inclusion`] returns.
    pub fn verify(
        &self,
        index: u64,
        claimed: Option<Hash>,
        size: u64,
        root: Hash,
        proof: &[Hash],
    ) -> Result<(), ProofError> {
        let lh = self.leaf_hash();
        if claimed.is_some_and(|c| c != lh) {
            return Err(ProofError::LeafMismatch { index });
        }
        verify_inclusion(lh, index, size, root, proof)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::{prove_inclusion, root, MemoryTree};

    #[test]
    fn an_opening_verifies_and_a_changed_leaf_or_salt_does_not() {
        let mut tree = MemoryTree::new();
        let openings: Vec<Opening> = (0..9u8)
            .map(|i| Opening::new(vec![b'{', i, b'}']).unwrap())
            .collect();
        for o in &openings {
            tree.append(&o.commitment()).unwrap();
        }
        let r = root(9, &tree).unwrap();
        for (i, o) in openings.iter().enumerate() {
            let path = prove_inclusion(i as u64, 9, &tree).unwrap();
            o.verify(i as u64, Some(o.leaf_hash()), 9, r, &path)
                .unwrap();
            let mut bad = o.clone();
            bad.leaf.push(b' ');
            assert!(bad.verify(i as u64, None, 9, r, &path).is_err());
            assert!(matches!(
                bad.verify(i as u64, Some(o.leaf_hash()), 9, r, &path),
                Err(ProofError::LeafMismatch { .. })
            ));
            let mut bad = o.clone();
            bad.salt[0] ^= 1;
            assert!(bad.verify(i as u64, None, 9, r, &path).is_err());
        }
        let again = Opening::from_hex(openings[0].leaf.clone(), &openings[0].salt_hex()).unwrap();
        assert_eq!(again, openings[0]);
        assert!(Opening::from_hex(vec![], "zz").is_none());
        // The same leaf under two salts: two unrelated commitments.
        let a = Opening::new(b"x".to_vec()).unwrap();
        let b = Opening::new(b"x".to_vec()).unwrap();
        assert_ne!(a.commitment(), b.commitment());
    }

    #[test]
    fn the_commitment_is_sha256_of_domain_salt_and_leaf() {
        let salt = [7u8; 32];
        let mut h = Sha256::new();
        h.update(b"liaison-log-commitment-v1\0");
        h.update([7u8; 32]);
        h.update(b"{}");
        let want: [u8; 32] = h.finalize().into();
        assert_eq!(commit(&salt, b"{}"), want);
    }
}
