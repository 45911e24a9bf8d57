//! Near-duplicate text: MinHash over word 3-shingles, with LSH banding so that an arriving
//! item is compared only with the items that share a band. Everything is seeded by
//! constants, so a signature is the same on every node and in every run.
//!
//! Choice and threshold. Texts are lowercased and cut into words (runs of letters and
//! digits, any script); every three consecutive words form a shingle. The signature keeps
//! 64 minima (16 bits each) of 64 multiply-add permutations of the shingle hashes; the share
//! of equal minima estimates the Jaccard similarity of the shingle sets (standard error
//! `sqrt(J(1-J)/64)`, 0.06 at 0.5). Two texts are near-duplicates when they share one of 16
//! bands of 4 minima and the estimate is at least [`NEAR_DUPLICATE`] = 0.5. Measured in the
//! tests below on a 71-word report: a relay's paraphrase changing four words estimates 0.67
//! (true Jaccard 0.70: each changed word breaks at most three shingles); spreading 2, 4, 6, 8
//! and 12 changed words gives 0.75, 0.69, 0.66, 0.63 and 0.45 (true 0.84, 0.69, 0.57, 0.47,
//! 0.34), so a light rewording stays a near-duplicate and a rewrite of a sixth of the words
//! leaves it; a different report on the same actor, sharing its name and a stock phrase,
//! estimates 0.00 (true 0.02). 0.5 sits between, eight standard errors above unrelated text.
//! Requiring a shared band is part of the definition (it is what makes lookup cheap): a pair
//! at true 0.5 shares one with probability 1-(1-0.5^4)^16 = 0.64, at 0.7 0.98, at 0.3 0.12.
//! Texts under [`MIN_SHINGLES`] shingles (a title, a bare indicator name) get no signature:
//! too little text to tell a copy from a coincidence.

/// The number of minima in a signature.
pub const PERMUTATIONS: usize = 64;
/// The number of LSH bands (of `PERMUTATIONS / BANDS` minima each).
pub const BANDS: usize = 16;
const ROWS: usize = PERMUTATIONS / BANDS;
/// The estimated Jaccard similarity at and above which two texts are near-duplicates.
pub const NEAR_DUPLICATE: f64 = 0.5;
/// The fewest word 3-shingles a text needs to be given a signature.
pub const MIN_SHINGLES: usize = 8;

/// The MinHash signature of a text: 64 minima of 16 bits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Signature([u16; PERMUTATIONS]);

/// The splitmix64 finaliser: a fixed, well-mixing 64-bit bijection.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The multipliers (odd) and addends of the permutations, from a fixed splitmix64 stream.
const fn permutations() -> ([u64; PERMUTATIONS], [u64; PERMUTATIONS]) {
    let mut a = [0u64; PERMUTATIONS];
    let mut b = [0u64; PERMUTATIONS];
    let mut state: u64 = 0x6c69_6169_736f_6e21; // "liaison!"
    let mut i = 0;
    while i < PERMUTATIONS {
        let mut n = 0;
        while n < 2 {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            if n == 0 {
                a[i] = z | 1;
            } else {
                b[i] = z;
            }
            n += 1;
        }
        i += 1;
    }
    (a, b)
}

const PERMS: ([u64; PERMUTATIONS], [u64; PERMUTATIONS]) = permutations();

/// FNV-1a over a word's bytes, mixed: a word's hash, the same in every run.
fn word_hash(word: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in word.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    mix(h)
}

/// The hashes of the text's word 3-shingles, in order (repeats included: a set's minima do
/// not change when an element repeats).
fn shingles(text: &str) -> Vec<u64> {
    let words: Vec<u64> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| word_hash(&w.to_lowercase()))
        .collect();
    words
        .windows(3)
        .map(|w| match w {
            [a, b, c] => mix(a ^ b.rotate_left(21) ^ c.rotate_left(42)),
            _ => 0,
        })
        .collect()
}

impl Signature {
    /// The signature of `text` (the caller joins an object's text fields: name, description,
    /// and the like); `None` when it has fewer than [`MIN_SHINGLES`] shingles.
    pub fn of_text(text: &str) -> Option<Signature> {
        let shingles = shingles(text);
        if shingles.len() < MIN_SHINGLES {
            return None;
        }
        let (a, b) = &PERMS;
        let mut minima = [u64::MAX; PERMUTATIONS];
        for s in shingles {
            for ((m, a), b) in minima.iter_mut().zip(a).zip(b) {
                let v = s.wrapping_mul(*a).wrapping_add(*b);
                if v < *m {
                    *m = v;
                }
            }
        }
        // The low 16 bits of each minimum: equal minima stay equal, different ones collide
        // with probability 2^-16, which is negligible beside the estimate's own error.
        let mut out = [0u16; PERMUTATIONS];
        for (o, m) in out.iter_mut().zip(minima) {
            *o = (m & 0xffff) as u16;
        }
        Some(Signature(out))
    }

    /// A signature from its minima (as [`Signature::minima`] gave them, e.g. from storage).
    pub fn from_minima(minima: [u16; PERMUTATIONS]) -> Signature {
        Signature(minima)
    }

    /// The minima, to store a signature beside its object.
    pub fn minima(&self) -> &[u16; PERMUTATIONS] {
        &self.0
    }

    /// The estimated Jaccard similarity of the two texts' shingle sets.
    pub fn similarity(&self, other: &Signature) -> f64 {
        let equal = self.0.iter().zip(&other.0).filter(|(a, b)| a == b).count();
        equal as f64 / PERMUTATIONS as f64
    }

    /// The keys of the signature's bands (band index folded in), for candidate lookup.
    pub fn bands(&self) -> [u64; BANDS] {
        let mut out = [0u64; BANDS];
        for (band, (o, rows)) in out.iter_mut().zip(self.0.chunks_exact(ROWS)).enumerate() {
            let mut packed = band as u64;
            for r in rows {
                packed = (packed << 16) ^ u64::from(*r);
            }
            *o = mix(packed ^ ((band as u64) << 58));
        }
        out
    }

    /// Whether the two signatures share at least one band.
    fn shares_band(&self, other: &Signature) -> bool {
        self.0
            .chunks_exact(ROWS)
            .zip(other.0.chunks_exact(ROWS))
            .any(|(a, b)| a == b)
    }
}

/// The estimated similarity when the two texts are near-duplicates (they share a band and
/// the estimate is at least [`NEAR_DUPLICATE`]), else `None`. This is the one definition:
/// the engine's band lookup finds exactly the pairs that share a band, so incremental and
/// from-scratch results agree.
pub fn near_duplicate(a: &Signature, b: &Signature) -> Option<f64> {
    if !a.shares_band(b) {
        return None;
    }
    let s = a.similarity(b);
    (s >= NEAR_DUPLICATE).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    const REPORT: &str = "Between March and May the group known as Sandworm \
        compromised the networks of three regional energy distributors in western Ukraine. \
        The intrusions began with spear-phishing messages carrying macro-enabled documents \
        that installed a loader, which fetched a second-stage implant from servers hosted \
        in the Netherlands. Operators moved laterally with stolen domain credentials, \
        mapped the industrial control networks, and staged a wiper on engineering \
        workstations two days before the outages.";

    /// The same report with four words changed (a light paraphrase by a relaying service).
    const PARAPHRASED: &str = "Between March and May the group known as Sandworm \
        breached the networks of three regional power distributors in western Ukraine. \
        The intrusions began with spear-phishing emails carrying macro-enabled documents \
        that installed a loader, which fetched a second-stage implant from servers located \
        in the Netherlands. Operators moved laterally with stolen domain credentials, \
        mapped the industrial control networks, and staged a wiper on engineering \
        workstations two days before the outages.";

    /// A different report on the same actor.
    const OTHER: &str = "Sandworm, the group known as a unit of the GRU, \
        deployed a new variant of its Industroyer malware against a substation operator in \
        the Kyiv region in April. The variant speaks IEC-104 directly and was configured \
        for the victim's own equipment, which suggests weeks of reconnaissance beforehand. \
        Analysts found the accompanying wiper on Linux servers and Solaris hosts as well.";

    fn true_jaccard(a: &str, b: &str) -> f64 {
        let a: HashSet<u64> = shingles(a).into_iter().collect();
        let b: HashSet<u64> = shingles(b).into_iter().collect();
        a.intersection(&b).count() as f64 / a.union(&b).count() as f64
    }

    #[test]
    fn paraphrase_is_near_duplicate_other_report_is_not() {
        let r = Signature::of_text(REPORT).unwrap();
        let p = Signature::of_text(PARAPHRASED).unwrap();
        let o = Signature::of_text(OTHER).unwrap();
        let (rp, ro) = (r.similarity(&p), r.similarity(&o));
        // The figures the module documentation quotes.
        eprintln!(
            "paraphrase: est {rp:.2} true {:.2}; other: est {ro:.2} true {:.2}",
            true_jaccard(REPORT, PARAPHRASED),
            true_jaccard(REPORT, OTHER)
        );
        assert!(near_duplicate(&r, &p).is_some(), "{rp}");
        assert!(near_duplicate(&r, &o).is_none(), "{ro}");
        assert_eq!(near_duplicate(&r, &r), Some(1.0));
    }

    /// `n` words of the report replaced, spread out (as a heavier rewording would).
    fn reworded(n: usize) -> String {
        let mut words: Vec<String> = REPORT.split_whitespace().map(str::to_owned).collect();
        for k in 0..n {
            let at = (k * 7 + 3) % words.len();
            words[at] = format!("other{k}");
        }
        words.join(" ")
    }

    #[test]
    fn heavier_rewording_drifts_below_the_threshold() {
        let r = Signature::of_text(REPORT).unwrap();
        let figures: Vec<(usize, f64, f64)> = [2, 4, 6, 8, 12]
            .into_iter()
            .map(|n| {
                let t = reworded(n);
                (
                    n,
                    r.similarity(&Signature::of_text(&t).unwrap()),
                    true_jaccard(REPORT, &t),
                )
            })
            .collect();
        eprintln!("changed words, estimate, true: {figures:?}");
        // A few words changed stays a near-duplicate; a third of the shingles gone does not.
        let near = |n: usize| near_duplicate(&r, &Signature::of_text(&reworded(n)).unwrap());
        assert!(near(2).is_some() && near(4).is_some());
        assert!(near(12).is_none());
    }

    #[test]
    fn normalised_and_deterministic() {
        let shouted = REPORT.to_uppercase().replace(' ', "  ");
        assert_eq!(Signature::of_text(REPORT), Signature::of_text(&shouted));
        assert_eq!(Signature::of_text("Relay 1"), None);
        assert_eq!(Signature::of_text("the group known as"), None);
        // Pinned: other seeds or hashing would make signatures differ between nodes and
        // versions, and stored signatures stale.
        let s = Signature::of_text(REPORT).unwrap();
        eprintln!("pinned: {:?}", &s.0[..4]);
        assert_eq!(s.0[..4], PINNED);
    }

    const PINNED: [u16; 4] = [47803, 2543, 5456, 25162];
}
