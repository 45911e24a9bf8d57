//! The Monte-Carlo p-value of an accusation: how often a fresh innocent codeword over the
//! accused's positions scores at least as high. Reproducible by a third party holding the
//! bias vector, bit for bit:
//! - trials are cut into batches of 128 (the last may be shorter); batch b draws from four
//!   xoshiro256++ streams (Blackman, Vigna, "Scrambled linear pseudorandom number
//!   generators", ACM TOMS 47(4), 2021), whose 16 state words are the first 16 outputs of
//!   SplitMix64 seeded with the FNV-1a hash of the recipient's name followed by b as eight
//!   big-endian bytes (state word k of stream l is output 4k + l);
//! - the accused's scored positions, ascending, are cut in steps of 8 (the last padded with
//!   slots that can never be 1); each step of each trial advances the four streams once, and
//!   the step's position 2l takes the low 32 bits of stream l's output, 2l + 1 the high 32
//!   bits; the trials of a batch follow one another on its streams. Batches are independent,
//!   so they are spread over the machine's cores, and the count is the same on any number;
//! - the innocent bit is 1 when the word is below ⌊p·2³²⌋, the codewords' own rule;
//! - scores are summed in fixed point, each term rounded up to a multiple of 2⁻ˢ (s ≤ 20,
//!   chosen so every 1-minus-0 term difference fits in 2²² units), and a trial counts when
//!   that sum reaches the accused's score: a trial's rounded sum is never below its exact
//!   sum, so rounding can only raise the count, and the p-value is never smaller than exact
//!   arithmetic over the same draws would give.
//!
//! Speed: the terms are converted once per leak and shared by every accused recipient; the
//! inner loop is branch-free integer work (compare a word with a cut, add the masked
//! difference) that the compiler vectorises; the generator costs most of what remains.

use super::Term;
use crate::Recipient;

/// Positions per step of the generator: four xoshiro256++ outputs, two words each.
const LANES: usize = 8;
/// Largest 1-minus-0 term difference in fixed-point units, after rounding.
const DELTA_UNITS: f64 = ((1u32 << 22) - 1) as f64;
/// Steps summed in 32 bits before the sum joins the trial's 64-bit total: each position adds
/// at most 2²² − 1 units, so 64 steps of 8 stay below 2³¹.
const BLOCK_STEPS: usize = 64;
/// Trials drawn from one seeding of the generator: batches are counted on separate threads.
const TRIALS_PER_BATCH: u32 = 128;
/// Flips the sign bit so that a signed compare orders words as unsigned.
const SIGN: u32 = 0x8000_0000;

/// The score terms of every readable position in fixed point, rounded up, shared by all
/// accused recipients' p-values: the cut (sign-flipped), the 0-bit term, and the difference
/// a 1 bit adds.
pub(super) struct FixedTerms {
    /// 2ˢ units per score unit.
    scale: f64,
    cut: Vec<i32>,
    zero: Vec<i64>,
    delta: Vec<i32>,
}

impl FixedTerms {
    pub(super) fn new(terms: &[Term]) -> FixedTerms {
        let widest = terms
            .iter()
            .map(|t| (t.one - t.zero).abs())
            .fold(1.0, f64::max);
        // Rounding both terms up moves their difference by less than one unit.
        let shift = ((DELTA_UNITS - 1.0) / widest).log2().floor().min(20.0);
        let scale = 2f64.powi(shift as i32);
        let up = |g: f64| (g * scale).ceil() as i64;
        let mut fixed = FixedTerms {
            scale,
            cut: Vec::with_capacity(terms.len()),
            zero: Vec::with_capacity(terms.len()),
            delta: Vec::with_capacity(terms.len()),
        };
        for t in terms {
            // p ≤ 1 − t keeps the cut below 2³²; saturating would only turn one word in 2³²
            // into a 0.
            let cut = u32::try_from(t.cut).unwrap_or(u32::MAX);
            fixed.cut.push((cut ^ SIGN) as i32);
            fixed.zero.push(up(t.zero));
            let delta = up(t.one) - up(t.zero);
            fixed
                .delta
                .push(delta.clamp(i32::MIN.into(), i32::MAX.into()) as i32);
        }
        fixed
    }
}

/// (k + 1)/(trials + 1), k the trials in which a fresh innocent codeword scores at least
/// `score` over the leak positions at `indices` (see the module documentation).
pub(super) fn monte_carlo_p_value(
    fixed: &FixedTerms,
    indices: &[usize],
    score: f64,
    trials: u32,
    recipient: &Recipient,
) -> f64 {
    // Padding: the lowest cut, never reached, so a padded slot adds nothing.
    let steps = indices.len().div_ceil(LANES);
    let mut cuts = vec![[i32::MIN; LANES]; steps];
    let mut deltas = vec![[0i32; LANES]; steps];
    let mut base = 0i64;
    for (k, &i) in indices.iter().enumerate() {
        cuts[k / LANES][k % LANES] = fixed.cut[i];
        deltas[k / LANES][k % LANES] = fixed.delta[i];
        base += fixed.zero[i];
    }
    // A trial counts when base + Σ deltas ≥ score·2ˢ, i.e. Σ deltas ≥ needed.
    let needed = (score * fixed.scale).ceil() as i64 - base;
    let batches = trials.div_ceil(TRIALS_PER_BATCH);
    let count = |batch: u32| -> u64 {
        let mut rng = Xoshiro256x4::seeded(&batch_seed(recipient, batch));
        let these = (trials - batch * TRIALS_PER_BATCH).min(TRIALS_PER_BATCH);
        (0..these)
            .map(|_| u64::from(trial(&mut rng, &cuts, &deltas) >= needed))
            .sum()
    };
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let at_least: u64 =
        super::on_threads(threads, batches as usize, |batch, _| count(batch as u32))
            .into_iter()
            .sum();
    (at_least + 1) as f64 / (f64::from(trials) + 1.0)
}

/// The seed of batch `batch`'s streams: the recipient's name, then the batch number as
/// eight big-endian bytes.
fn batch_seed(recipient: &Recipient, batch: u32) -> Vec<u8> {
    let mut seed = recipient.as_str().as_bytes().to_vec();
    seed.extend_from_slice(&u64::from(batch).to_be_bytes());
    seed
}

/// One trial: Σ deltas over the slots whose word falls below the cut. A block of words is
/// drawn first, then compared and summed in one flat loop the compiler vectorises.
fn trial(rng: &mut Xoshiro256x4, cuts: &[[i32; LANES]], deltas: &[[i32; LANES]]) -> i64 {
    let mut words = [[0u32; LANES]; BLOCK_STEPS];
    let mut total = 0i64;
    for (cuts, deltas) in cuts.chunks(BLOCK_STEPS).zip(deltas.chunks(BLOCK_STEPS)) {
        let words = &mut words[..cuts.len()];
        rng.fill(words);
        let sum: i32 = words
            .as_flattened()
            .iter()
            .zip(cuts.as_flattened())
            .zip(deltas.as_flattened())
            .map(|((&word, &cut), &delta)| {
                if ((word ^ SIGN) as i32) < cut {
                    delta
                } else {
                    0
                }
            })
            .sum();
        total += i64::from(sum);
    }
    total
}

/// Four xoshiro256++ streams stepped together (state word k of stream l in `s[k][l]`), eight
/// 32-bit words per step.
struct Xoshiro256x4 {
    s: [[u64; 4]; 4],
}

impl Xoshiro256x4 {
    fn seeded(seed: &[u8]) -> Xoshiro256x4 {
        let mut seeder = SplitMix64::seeded(seed);
        let mut s = [[0u64; 4]; 4];
        for word in s.iter_mut().flatten() {
            *word = seeder.next();
        }
        Xoshiro256x4 { s }
    }

    /// Fills `out` with steps (each as the module documentation says), the state in locals
    /// and written lane-wise so the compiler keeps it in registers.
    fn fill(&mut self, out: &mut [[u32; LANES]]) {
        fn lanes(f: impl Fn(usize) -> u64) -> [u64; 4] {
            [f(0), f(1), f(2), f(3)]
        }
        let [mut s0, mut s1, mut s2, mut s3] = self.s;
        for step in out {
            let r = lanes(|l| {
                s0[l]
                    .wrapping_add(s3[l])
                    .rotate_left(23)
                    .wrapping_add(s0[l])
            });
            let t = lanes(|l| s1[l] << 17);
            s2 = lanes(|l| s2[l] ^ s0[l]);
            s3 = lanes(|l| s3[l] ^ s1[l]);
            s1 = lanes(|l| s1[l] ^ s2[l]);
            s0 = lanes(|l| s0[l] ^ s3[l]);
            s2 = lanes(|l| s2[l] ^ t[l]);
            s3 = lanes(|l| s3[l].rotate_left(45));
            for (pair, r) in step.chunks_exact_mut(2).zip(r) {
                pair[0] = r as u32;
                pair[1] = (r >> 32) as u32;
            }
        }
        self.s = [s0, s1, s2, s3];
    }

    /// One step: words 2l and 2l + 1 are the low and high halves of stream l's next output.
    /// The definition [`Xoshiro256x4::fill`] must match.
    #[cfg(test)]
    fn step(&mut self) -> [u32; LANES] {
        let [s0, s1, s2, s3] = &mut self.s;
        let mut words = [0u32; LANES];
        for (l, pair) in words.chunks_exact_mut(2).enumerate() {
            let out = s0[l]
                .wrapping_add(s3[l])
                .rotate_left(23)
                .wrapping_add(s0[l]);
            let t = s1[l] << 17;
            s2[l] ^= s0[l];
            s3[l] ^= s1[l];
            s1[l] ^= s2[l];
            s0[l] ^= s3[l];
            s2[l] ^= t;
            s3[l] = s3[l].rotate_left(45);
            pair[0] = out as u32;
            pair[1] = (out >> 32) as u32;
        }
        words
    }
}

/// SplitMix64 (Steele, Lea, Flood, "Fast splittable pseudorandom number generators",
/// OOPSLA 2014), seeded with the FNV-1a hash of the seed bytes: only to seed xoshiro, as its
/// authors advise; the p-value needs no secrecy.
struct SplitMix64(u64);

impl SplitMix64 {
    fn seeded(seed: &[u8]) -> SplitMix64 {
        let state = seed.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        SplitMix64(state)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accuse::readable;
    use crate::{CodeParams, FingerprintKey, Observation, TardosCode};

    fn leak_terms(count: u64) -> Vec<Term> {
        let params = CodeParams::new(30, 3, 1e-6).unwrap();
        let code = TardosCode::new(&FingerprintKey::from_bytes([9; 32]), params);
        let positions: Vec<u64> = (0..count).collect();
        let biases = code.biases(&positions);
        let bits = code
            .codeword(&Recipient::new("R02"))
            .bits(&positions, &biases);
        let leak: Vec<Observation> = positions
            .iter()
            .zip(bits)
            .map(|(&position, bit)| Observation {
                position,
                family: crate::Family::Order,
                bit: Some(bit),
            })
            .collect();
        readable(&code, &leak).0.terms
    }

    /// The fixed-point, eight-lane loop counts the same trials as plain floating point over
    /// the same draws, give or take a trial whose score lies within the rounding of the
    /// threshold, and never fewer.
    #[test]
    fn p_value_agrees_with_a_plain_float_loop_over_the_same_draws() {
        // 301 positions: the last step is padded.
        let terms = leak_terms(301);
        let indices: Vec<usize> = (0..terms.len()).collect();
        let fixed = FixedTerms::new(&terms);
        let name = Recipient::new("R05");
        let trials = 5_000;
        for level in [0.0, 1.0, 1.5, 2.0] {
            let score = level * (terms.len() as f64).sqrt();
            // The draws as the module documentation defines them: streams seeded afresh for
            // each batch of trials, from the name and the batch's number.
            let mut rng = Xoshiro256x4::seeded(&[]);
            let mut reference = 0u64;
            for t in 0..trials {
                if t % 128 == 0 {
                    let mut seed = b"R05".to_vec();
                    seed.extend_from_slice(&u64::from(t / 128).to_be_bytes());
                    rng = Xoshiro256x4::seeded(&seed);
                }
                let mut s = 0.0;
                for chunk in terms.chunks(LANES) {
                    let words = rng.step();
                    for (t, &w) in chunk.iter().zip(&words) {
                        s += if u64::from(w) < t.cut { t.one } else { t.zero };
                    }
                }
                reference += u64::from(s >= score);
            }
            let p = monte_carlo_p_value(&fixed, &indices, score, trials, &name);
            let k = (p * f64::from(trials + 1)).round() as u64 - 1;
            assert!(k >= reference && k <= reference + 3, "{k} vs {reference}");
            if level == 0.0 {
                // An innocent's score has mean 0: about half the trials reach 0.
                assert!(
                    k > trials as u64 * 2 / 5 && k < trials as u64 * 3 / 5,
                    "{k}"
                );
            }
            let again = monte_carlo_p_value(&fixed, &indices, score, trials, &name);
            assert_eq!(p, again);
        }
    }

    /// The blocked loop is the step-by-step definition: same sums, same final state, across
    /// more than one block.
    #[test]
    fn trial_matches_the_step_by_step_definition() {
        let terms = leak_terms(2 * BLOCK_STEPS as u64 * LANES as u64 + 77);
        let fixed = FixedTerms::new(&terms);
        let steps = terms.len().div_ceil(LANES);
        let mut cuts = vec![[i32::MIN; LANES]; steps];
        let mut deltas = vec![[0i32; LANES]; steps];
        for k in 0..terms.len() {
            cuts[k / LANES][k % LANES] = fixed.cut[k];
            deltas[k / LANES][k % LANES] = fixed.delta[k];
        }
        let mut a = Xoshiro256x4::seeded(b"R01");
        let mut b = Xoshiro256x4::seeded(b"R01");
        for _ in 0..20 {
            let mut expected = 0i64;
            for (cut, delta) in cuts.iter().zip(&deltas) {
                for ((&w, &c), &d) in b.step().iter().zip(cut).zip(delta) {
                    if u64::from(w) < u64::from(c as u32 ^ SIGN) {
                        expected += i64::from(d);
                    }
                }
            }
            assert_eq!(trial(&mut a, &cuts, &deltas), expected);
        }
        assert_eq!(a.s, b.s);
    }

    /// The first outputs of xoshiro256++ from the state s = {1, 2, 3, 4}, in every lane
    /// (the reference implementation's figures).
    #[test]
    fn xoshiro_matches_the_reference_sequence() {
        let mut rng = Xoshiro256x4 {
            s: [[1; 4], [2; 4], [3; 4], [4; 4]],
        };
        let first = rng.step();
        let second = rng.step();
        let join = |w: [u32; LANES], l: usize| u64::from(w[2 * l]) | u64::from(w[2 * l + 1]) << 32;
        for l in 0..4 {
            assert_eq!(join(first, l), 41_943_041);
            assert_eq!(join(second, l), 58_720_359);
        }
    }

    #[test]
    fn splitmix_matches_the_reference_sequence() {
        // Seeded with state 0 (the empty seed hashes to FNV's offset basis, so set it here).
        let mut rng = SplitMix64(0);
        assert_eq!(rng.next(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(rng.next(), 0x6e78_9e6a_a1b9_65f4);
    }
}
