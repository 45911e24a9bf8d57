//! The node's fingerprinting secret and the keyed functions derived from it. One 32-byte
//! secret gives independent subkeys per use (remapping, bias vector, codewords) by HMAC
//! with a fixed label, so that publishing a commitment to one never reveals another.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The secret from which every mark a node puts on a delivered copy is derived.
///
/// Anyone holding it can recompute and forge marks: it stays on the node (a third party
/// checks an accusation against commitments in the log, not with the key).
#[derive(Clone, PartialEq, Eq)]
pub struct FingerprintKey([u8; 32]);

impl FingerprintKey {
    /// A key from 32 secret bytes (drawn by the caller from a CSPRNG).
    pub fn from_bytes(bytes: [u8; 32]) -> FingerprintKey {
        FingerprintKey(bytes)
    }

    /// The commitment to this key that the transparency log holds: SHA-256 of a fixed label
    /// and the key. Revealing the key later (to an arbiter) lets anyone check it against the
    /// logged commitment and recompute every mark and accusation.
    pub fn commitment(&self) -> [u8; 32] {
        use sha2::Digest as _;
        let mut h = Sha256::new();
        h.update(b"liaison-fingerprint/v1/commitment\0");
        h.update(self.0);
        h.finalize().into()
    }

    /// The subkey for one use, HMAC(key, label).
    pub(crate) fn derive(&self, label: &[u8]) -> Prf {
        let mut out = [0u8; 32];
        out.copy_from_slice(&Prf::new(&self.0).eval(&[label]));
        Prf::new(&out)
    }
}

impl fmt::Debug for FingerprintKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FingerprintKey(..)")
    }
}

/// A keyed pseudo-random function, HMAC-SHA256 with the key schedule done once.
#[derive(Clone)]
pub(crate) struct Prf(HmacSha256);

impl Prf {
    fn new(key: &[u8; 32]) -> Prf {
        // HMAC pads keys shorter than the block with zeros (RFC 2104 section 2): padding here
        // gives the same function and needs no fallible constructor.
        let mut block = [0u8; 64];
        for (b, k) in block.iter_mut().zip(key) {
            *b = *k;
        }
        Prf(HmacSha256::new(&block.into()))
    }

    /// The PRF of the concatenation of `parts`, each prefixed with its length so that no two
    /// different lists of parts give the same input.
    pub(crate) fn eval(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = self.0.clone();
        for part in parts {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(&mac.finalize().into_bytes());
        out
    }

    /// A sub-function keyed by `label` under this one (HMAC(HMAC(key, ..), label)), so that a
    /// per-recipient key schedule is done once per recipient rather than once per position.
    pub(crate) fn derive(&self, label: &[&[u8]]) -> Prf {
        Prf::new(&self.eval(label))
    }

    /// Eight 32-bit words for `block`: positions `8·block .. 8·block + 8` share one call.
    pub(crate) fn words(&self, block: u64) -> [u32; WORDS_PER_BLOCK] {
        let out = self.eval(&[&block.to_be_bytes()]);
        let mut words = [0u32; WORDS_PER_BLOCK];
        for (w, chunk) in words.iter_mut().zip(out.chunks_exact(4)) {
            let mut b = [0u8; 4];
            b.copy_from_slice(chunk);
            *w = u32::from_be_bytes(b);
        }
        words
    }
}

/// Positions per PRF call (32 output bytes, 4 per position).
pub(crate) const WORDS_PER_BLOCK: usize = 8;

/// The 32-bit word for one position of a stream keyed by `prf`.
pub(crate) fn word_at(prf: &Prf, position: u64) -> u32 {
    prf.words(position / WORDS_PER_BLOCK as u64)[(position % WORDS_PER_BLOCK as u64) as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subkeys_differ_by_label_and_key() {
        let k = FingerprintKey::from_bytes([7; 32]);
        let other = FingerprintKey::from_bytes([8; 32]);
        let a = k.derive(b"remap").eval(&[b"x"]);
        assert_eq!(a, k.derive(b"remap").eval(&[b"x"]));
        assert_ne!(a, k.derive(b"bias").eval(&[b"x"]));
        assert_ne!(a, other.derive(b"remap").eval(&[b"x"]));
    }

    #[test]
    fn length_prefix_separates_parts() {
        let p = FingerprintKey::from_bytes([1; 32]).derive(b"t");
        assert_ne!(p.eval(&[b"ab", b"c"]), p.eval(&[b"a", b"bc"]));
    }

    #[test]
    fn debug_hides_the_key() {
        let k = FingerprintKey::from_bytes([0xAB; 32]);
        assert_eq!(format!("{k:?}"), "FingerprintKey(..)");
    }
}
