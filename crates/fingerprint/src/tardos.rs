//! The second mark family's code: a binary Tardos code with a secret bias vector, scored
//! with the symmetric score.
//!
//! - Bias: for each position i, p_i = sin²(r_i) with r_i uniform on [r_t, π/2 − r_t] and
//!   r_t = arcsin(√t): the arcsine density 1/(π√(p(1−p))) restricted to [t, 1 − t]
//!   (Tardos 2003, section 2). Cutoff t = 1/(100·c) (see [`CodeParams::cutoff`]).
//! - Codeword: recipient j's bit at position i is 1 when a uniform 32-bit word, the keyed
//!   PRF of (j, i), is below p_i·2³², so x_ji ~ Bernoulli(p_i), independently per position.
//! - Symmetric score (Škorić, Vladimirova, Celik, Talstra, "Tardos fingerprinting is better
//!   than we thought", IEEE Trans. Inf. Theory 54(8), 2008, section III): with y the bit seen
//!   in the leak, writing g_yx:
//!   g₁₁ = √((1−p)/p), g₁₀ = −√(p/(1−p)), g₀₀ = √(p/(1−p)), g₀₁ = −√((1−p)/p).
//!   Positions with y = 0 count as much as y = 1 (the asymmetric original ignores them),
//!   which is what lets the code be about a tenth of Tardos' 100·c²·ln(n/ε₁).
//!   For an innocent (x ~ Bernoulli(p) independent of y) each term has mean 0, variance 1.
//! - Length: m = ⌈10·c²·ln(n/ε₁)⌉ ([`CodeParams::code_length`]), the bound the design allows;
//!   Laarhoven and de Weger ("Optimal symmetric Tardos traitor tracing schemes", Designs,
//!   Codes and Cryptography 71, 2014) give the asymptote (π²/2)·c²·ln(n/ε₁) ≈ 4.93·c²·ln(n/ε₁).
//!
//! Positions are u64 slot numbers chosen by the caller (a recipient's delivery history is a
//! stream of them, not a fixed word of length m): m is the number of received, readable
//! positions an accusation needs for its detection guarantee, not a bound on the stream.

use crate::key::{word_at, FastPrf, WORDS_PER_BLOCK};
use crate::{FingerprintError, FingerprintKey, Recipient};

/// A in m = ⌈A·c²·ln(n/ε₁)⌉: the design's bound. A = 6 still caught a colluder in every
/// simulated trace but with little margin at c = 3; 10 leaves room for what the simulations
/// do not model.
const LENGTH_FACTOR: f64 = 10.0;

const BIAS_LABEL: &[u8] = b"liaison-fingerprint/v1/tardos-bias";
const CODEWORD_LABEL: &[u8] = b"liaison-fingerprint/v1/tardos-codeword";

/// The design of a code: how many recipients, how large a coalition it must trace, and the
/// probability of accusing any innocent that is tolerated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CodeParams {
    recipients: usize,
    colluders: usize,
    epsilon1: f64,
}

impl CodeParams {
    /// A design for `recipients` (n) recipients, coalitions of up to `colluders` (c), and a
    /// probability `epsilon1` (ε₁) of accusing any innocent at all, over all n of them.
    pub fn new(
        recipients: usize,
        colluders: usize,
        epsilon1: f64,
    ) -> Result<CodeParams, FingerprintError> {
        if recipients == 0 {
            return Err(FingerprintError::Parameters(
                "a code needs at least one recipient".into(),
            ));
        }
        if colluders < 1 || colluders > recipients.max(1) {
            return Err(FingerprintError::Parameters(format!(
                "coalition size `{colluders}` must be between 1 and the number of recipients `{recipients}`"
            )));
        }
        if !(epsilon1 > 0.0 && epsilon1 < 1.0) {
            return Err(FingerprintError::Parameters(format!(
                "false accusation probability `{epsilon1}` must be strictly between 0 and 1"
            )));
        }
        Ok(CodeParams {
            recipients,
            colluders,
            epsilon1,
        })
    }

    /// n, the number of recipients.
    pub fn recipients(&self) -> usize {
        self.recipients
    }

    /// c, the largest coalition the code is designed to trace.
    pub fn colluders(&self) -> usize {
        self.colluders
    }

    /// ε₁, the tolerated probability of accusing any innocent.
    pub fn epsilon1(&self) -> f64 {
        self.epsilon1
    }

    /// ln(n/ε₁): each recipient is held to ε₁/n, so a union bound over the n recipients gives
    /// ε₁ for the whole accusation.
    pub fn log_inverse_per_recipient(&self) -> f64 {
        (self.recipients as f64 / self.epsilon1).ln()
    }

    /// m = ⌈10·c²·ln(n/ε₁)⌉ positions: received and readable positions an accusation needs.
    /// n = 30, ε₁ = 10⁻⁶ (the simulations): 689 (c = 2), 1550 (c = 3), 2755 (c = 4).
    pub fn code_length(&self) -> usize {
        let c = self.colluders as f64;
        (LENGTH_FACTOR * c * c * self.log_inverse_per_recipient()).ceil() as usize
    }

    /// t = 1/(100·c), three times Tardos' 1/(300·c). Chosen, not tuned: the threshold here is
    /// computed from the actual bias vector ([`crate::accuse`]) rather than from a worst case
    /// over t, and a larger cutoff bounds the largest score term, √((1−t)/t), which keeps that
    /// Chernoff threshold tight; the simulations (tests/collusion.rs) pass with it.
    pub fn cutoff(&self) -> f64 {
        1.0 / (100.0 * self.colluders as f64)
    }
}

/// A code instance: the design and the node's secret (bias vector and codewords).
#[derive(Clone)]
pub struct TardosCode {
    params: CodeParams,
    bias: FastPrf,
    codewords: FastPrf,
    /// r_t = arcsin(√t) and the width of the interval r is drawn from.
    r_low: f64,
    r_width: f64,
}

impl std::fmt::Debug for TardosCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TardosCode")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

/// 2⁻³²: a 32-bit word times this is a uniform double in [0, 1) (the bias needs no finer
/// grain: its cutoff is far above 2⁻³²).
const UNIT_32: f64 = 1.0 / 4_294_967_296.0;

impl TardosCode {
    /// The code of `params` keyed by the node's secret.
    pub fn new(key: &FingerprintKey, params: CodeParams) -> TardosCode {
        let r_low = params.cutoff().sqrt().asin();
        TardosCode {
            params,
            bias: key.derive_fast(BIAS_LABEL),
            codewords: key.derive_fast(CODEWORD_LABEL),
            r_low,
            r_width: std::f64::consts::FRAC_PI_2 - 2.0 * r_low,
        }
    }

    /// The design.
    pub fn params(&self) -> &CodeParams {
        &self.params
    }

    fn bias_from_word(&self, word: u32) -> f64 {
        let u = f64::from(word) * UNIT_32;
        (self.r_low + u * self.r_width).sin().powi(2)
    }

    /// p_i, the secret bias at `position`, in [t, 1 − t].
    pub fn bias(&self, position: u64) -> f64 {
        self.bias_from_word(word_at(&self.bias, position))
    }

    /// The biases at `positions`, one PRF call per run of four neighbouring positions.
    pub fn biases(&self, positions: &[u64]) -> Vec<f64> {
        let mut cache = BlockCache::new(&self.bias);
        positions
            .iter()
            .map(|&i| self.bias_from_word(cache.word(i)))
            .collect()
    }

    /// Recipient `recipient`'s codeword (its key schedule done once).
    pub fn codeword(&self, recipient: &Recipient) -> Codeword {
        Codeword(self.codewords.derive(&[recipient.as_str().as_bytes()]))
    }
}

/// One recipient's codeword: the bits that drive the harmless choices in its copies.
#[derive(Clone)]
pub struct Codeword(FastPrf);

impl Codeword {
    /// x_ji at `position`, given p_i = `bias` (from [`TardosCode::bias`]).
    pub fn bit(&self, position: u64, bias: f64) -> bool {
        below(word_at(&self.0, position), bias)
    }

    /// The bits at `positions` given their `biases` (same length and order).
    pub fn bits(&self, positions: &[u64], biases: &[f64]) -> Vec<bool> {
        let mut cache = BlockCache::new(&self.0);
        positions
            .iter()
            .zip(biases)
            .map(|(&i, &p)| below(cache.word(i), p))
            .collect()
    }

    /// The PRF words at `positions`, appended to `out`: the bit at a position with bias p is
    /// `word < cut(p)`. Lets a scorer that compares against precomputed cuts skip the
    /// per-position float work of [`Codeword::bits`].
    pub(crate) fn words_into(&self, positions: &[u64], out: &mut Vec<u32>) {
        let mut cache = BlockCache::new(&self.0);
        out.extend(positions.iter().map(|&i| cache.word(i)));
    }
}

/// Whether a uniform 32-bit word falls below p·2³², i.e. a Bernoulli(p) draw (to within
/// 2⁻³², far below the cutoff t).
pub(crate) fn below(word: u32, p: f64) -> bool {
    u64::from(word) < cut(p)
}

/// ⌊p·2³²⌋: a word is a 1 bit exactly when it is below this, so a caller comparing many
/// words against one bias computes it once.
pub(crate) fn cut(p: f64) -> u64 {
    // `as` saturates: p = 1 would give u64::MAX, never reached since p ≤ 1 − t.
    (p * 4_294_967_296.0) as u64
}

/// Remembers the last PRF block so that neighbouring positions cost one call per eight.
struct BlockCache<'a> {
    prf: &'a FastPrf,
    block: Option<(u64, [u32; WORDS_PER_BLOCK])>,
}

impl<'a> BlockCache<'a> {
    fn new(prf: &'a FastPrf) -> Self {
        BlockCache { prf, block: None }
    }

    fn word(&mut self, position: u64) -> u32 {
        let block = position / WORDS_PER_BLOCK as u64;
        let words = match self.block {
            Some((b, words)) if b == block => words,
            _ => {
                let words = self.prf.words(block);
                self.block = Some((block, words));
                words
            }
        };
        words[(position % WORDS_PER_BLOCK as u64) as usize]
    }
}

/// g_yx(p), the symmetric score of one position (see the module documentation).
pub fn symmetric_score(leaked: bool, own: bool, p: f64) -> f64 {
    match (leaked, own) {
        (true, true) => ((1.0 - p) / p).sqrt(),
        (true, false) => -(p / (1.0 - p)).sqrt(),
        (false, false) => (p / (1.0 - p)).sqrt(),
        (false, true) => -((1.0 - p) / p).sqrt(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(c: usize) -> TardosCode {
        let params = CodeParams::new(30, c, 1e-3).unwrap();
        TardosCode::new(&FingerprintKey::from_bytes([3; 32]), params)
    }

    #[test]
    fn code_length_is_ten_c_squared_log_n_over_epsilon() {
        let lens: Vec<usize> = (2..=4)
            .map(|c| CodeParams::new(30, c, 1e-3).unwrap().code_length())
            .collect();
        assert_eq!(lens, [413, 928, 1650]);
        let lens: Vec<usize> = (2..=4)
            .map(|c| CodeParams::new(30, c, 1e-6).unwrap().code_length())
            .collect();
        assert_eq!(lens, [689, 1550, 2755]);
    }

    #[test]
    fn bad_parameters_are_refused() {
        assert!(CodeParams::new(0, 1, 0.1).is_err());
        assert!(CodeParams::new(30, 0, 0.1).is_err());
        assert!(CodeParams::new(30, 31, 0.1).is_err());
        assert!(CodeParams::new(30, 2, 0.0).is_err());
        assert!(CodeParams::new(30, 2, f64::NAN).is_err());
    }

    #[test]
    fn biases_stay_within_the_cutoff_and_follow_the_arcsine_law() {
        let code = code(2);
        let t = code.params().cutoff();
        let positions: Vec<u64> = (0..20_000).collect();
        let biases = code.biases(&positions);
        assert!(biases.iter().all(|&p| p >= t && p <= 1.0 - t));
        assert_eq!(biases[17], code.bias(17));
        // Arcsine law restricted to [t, 1 − t]: P(p < 1/4) = (arcsin(1/2) − r_t)/(π/2 − 2r_t),
        // r_t = arcsin(√t) (1/3 without the cutoff; 0.3168 at t = 1/200). 20,000 draws: sd 0.0033.
        let r_t = t.sqrt().asin();
        let expected = (0.5f64.asin() - r_t) / (std::f64::consts::FRAC_PI_2 - 2.0 * r_t);
        let low = biases.iter().filter(|&&p| p < 0.25).count() as f64 / biases.len() as f64;
        assert!((low - expected).abs() < 0.015, "{low} vs {expected}");
        let mean = biases.iter().sum::<f64>() / biases.len() as f64;
        assert!((mean - 0.5).abs() < 0.01, "{mean}");
    }

    #[test]
    fn codeword_bits_are_bernoulli_of_the_bias_and_differ_per_recipient() {
        let code = code(3);
        let positions: Vec<u64> = (1_000..41_000).collect();
        let biases = code.biases(&positions);
        let a = code
            .codeword(&Recipient::new("RUS"))
            .bits(&positions, &biases);
        let b = code
            .codeword(&Recipient::new("ISR"))
            .bits(&positions, &biases);
        let ones = a.iter().filter(|&&x| x).count() as f64;
        let expected: f64 = biases.iter().sum();
        assert!(
            (ones - expected).abs() < 4.0 * expected.sqrt(),
            "{ones} vs {expected}"
        );
        assert_ne!(a, b);
        let rus = code.codeword(&Recipient::new("RUS"));
        assert_eq!(rus.bit(1_005, biases[5]), a[5]);
    }

    #[test]
    fn symmetric_score_has_mean_zero_and_variance_one_for_an_innocent() {
        for p in [0.003, 0.1, 0.5, 0.9] {
            for y in [false, true] {
                let mean =
                    p * symmetric_score(y, true, p) + (1.0 - p) * symmetric_score(y, false, p);
                let var = p * symmetric_score(y, true, p).powi(2)
                    + (1.0 - p) * symmetric_score(y, false, p).powi(2);
                assert!(mean.abs() < 1e-12, "{p} {y}");
                assert!((var - 1.0).abs() < 1e-12, "{p} {y}");
            }
        }
    }
}
