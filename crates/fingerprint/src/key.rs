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

    /// The fast subkey for one use: SipHash-2-4 keyed by the first 16 bytes of
    /// HMAC(key, label).
    pub(crate) fn derive_fast(&self, label: &[u8]) -> FastPrf {
        FastPrf::from_bytes(&Prf::new(&self.0).eval(&[label]))
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
}

/// The keyed function of the hot paths (the code's words per position, the variants' ranks
/// and positions): SipHash-2-4, 128-bit output, keyed by 128 bits derived with HMAC-SHA256.
/// SipHash is a PRF designed for short inputs (Aumasson and Bernstein, 2012), far cheaper than
/// HMAC-SHA256 on them, which is what keeps marking every delivered copy cheap
/// (bench/fingerprint.sh).
/// Identifier remapping stays on HMAC-SHA256 ([`Prf`]): its outputs are public ids.
#[derive(Clone)]
pub(crate) struct FastPrf {
    k0: u64,
    k1: u64,
}

impl FastPrf {
    fn from_bytes(b: &[u8; 32]) -> FastPrf {
        let mut k0 = [0u8; 8];
        let mut k1 = [0u8; 8];
        k0.copy_from_slice(&b[..8]);
        k1.copy_from_slice(&b[8..16]);
        FastPrf {
            k0: u64::from_le_bytes(k0),
            k1: u64::from_le_bytes(k1),
        }
    }

    fn hasher(&self, parts: &[&[u8]]) -> siphasher::sip128::SipHasher24 {
        use std::hash::Hasher as _;
        let mut h = siphasher::sip128::SipHasher24::new_with_keys(self.k0, self.k1);
        for part in parts {
            h.write(&(part.len() as u64).to_be_bytes());
            h.write(part);
        }
        h
    }

    /// 128 pseudo-random bits of the length-prefixed concatenation of `parts`.
    pub(crate) fn eval128(&self, parts: &[&[u8]]) -> u128 {
        use siphasher::sip128::Hasher128 as _;
        self.hasher(parts).finish128().into()
    }

    /// 64 pseudo-random bits of `parts`.
    pub(crate) fn eval64(&self, parts: &[&[u8]]) -> u64 {
        self.eval128(parts) as u64
    }

    /// A sub-function keyed by `parts` under this one.
    pub(crate) fn derive(&self, parts: &[&[u8]]) -> FastPrf {
        let v = self.eval128(parts);
        FastPrf {
            k0: v as u64,
            k1: (v >> 64) as u64,
        }
    }

    /// Four 32-bit words for `block`: positions `4·block .. 4·block + 4` share one call.
    pub(crate) fn words(&self, block: u64) -> [u32; WORDS_PER_BLOCK] {
        let v = self.eval128(&[&block.to_be_bytes()]);
        [
            v as u32,
            (v >> 32) as u32,
            (v >> 64) as u32,
            (v >> 96) as u32,
        ]
    }
}

/// Positions per call of [`FastPrf::words`] (128 output bits, 32 per position).
pub(crate) const WORDS_PER_BLOCK: usize = 4;

/// The 32-bit word for one position of a stream keyed by `prf`.
pub(crate) fn word_at(prf: &FastPrf, position: u64) -> u32 {
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
