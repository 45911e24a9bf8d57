//! Fingerprints of OPRF outputs, padding buckets and the binary fuse filters built from them.

use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};
use xorf::{BinaryFuse16, Filter};

use crate::PsiError;

/// The false-positive rate of one binary fuse filter with 16-bit fingerprints (2^-16); a
/// reported match has passed two independent ones (about 2^-32).
pub const FALSE_POSITIVE_RATE: f64 = 1.0 / 65536.0;

/// The padding bucket for `n` elements: the next power of two, at least 1. An asker's
/// request is padded to it (and the holder refuses any other size).
pub fn bucket(n: usize) -> usize {
    n.max(1).next_power_of_two()
}

/// The padding bucket of the holder's set of `n` elements: up to 16, the next power of two;
/// above, the next multiple of an eighth of the power of two at or below `n` (eight buckets
/// per doubling). The asker learns the set's size to within 12.5 % (three bits more than a
/// power of two would say) and the filters are at most 12.5 % larger than unpadded, where a
/// power of two would double them (10^7 selectors: 10,485,760 elements, 47 MB, not 2^24 and
/// 75 MB).
pub fn holder_bucket(n: usize) -> usize {
    if n <= 16 {
        return bucket(n);
    }
    let step = 1usize << (n.ilog2() - 3);
    n.div_ceil(step) * step
}

/// Which of the two independent fingerprints.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Label {
    Filter,
    Confirm,
}

/// A 64-bit fingerprint of an OPRF output: the first 8 bytes of SHA-256(label ‖ output).
pub(crate) fn fingerprint(label: Label, output: &[u8]) -> u64 {
    let label: &[u8] = match label {
        Label::Filter => b"liaison-psi/1 filter",
        Label::Confirm => b"liaison-psi/1 confirm",
    };
    let digest = Sha256::new()
        .chain_update(label)
        .chain_update(output)
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(digest.get(..8).unwrap_or(&[0; 8]));
    u64::from_be_bytes(first)
}

/// A filter over `fingerprints`, deduplicated and padded with random fingerprints to
/// `padded` distinct values.
pub(crate) fn build(
    mut fingerprints: Vec<u64>,
    padded: usize,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<BinaryFuse16, PsiError> {
    fingerprints.sort_unstable();
    fingerprints.dedup();
    while fingerprints.len() < padded {
        let missing = padded - fingerprints.len();
        fingerprints.extend((0..missing).map(|_| rng.next_u64()));
        fingerprints.sort_unstable();
        fingerprints.dedup();
    }
    BinaryFuse16::try_from(fingerprints.as_slice()).map_err(|e| PsiError::Filter(e.to_owned()))
}

pub(crate) fn contains(filter: &BinaryFuse16, fingerprint: u64) -> bool {
    filter.contains(&fingerprint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holder_buckets_are_at_most_an_eighth_above_and_few_per_doubling() {
        assert_eq!(holder_bucket(0), 1);
        assert_eq!(holder_bucket(5), 8);
        assert_eq!(holder_bucket(16), 16);
        assert_eq!(holder_bucket(17), 18);
        assert_eq!(holder_bucket(10_000_000), 10_485_760);
        let mut seen = std::collections::BTreeSet::new();
        for n in 1..5000usize {
            let b = holder_bucket(n);
            assert!(b >= n && (n <= 16 || b * 8 <= n * 9), "{n} -> {b}");
            assert_eq!(holder_bucket(b), b, "a bucket is its own bucket");
            if (1025..=2048).contains(&n) {
                seen.insert(b);
            }
        }
        assert_eq!(seen.len(), 8, "eight buckets per doubling: {seen:?}");
    }
}
