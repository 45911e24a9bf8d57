//! Accusation: score every recipient on the positions it received and the leak shows, and
//! accuse those above their own threshold whose mark families agree.
//!
//! Threshold. Given the bias vector and the leaked bits y, an innocent's bits are independent
//! Bernoulli(p_i) draws (it took no part in making y), so its score S is a sum of independent
//! terms whose distributions are known exactly. The Chernoff bound
//! P(S ≥ Z) ≤ exp(K(λ) − λZ), K(λ) = Σ_i ln E[exp(λ·g_i)],
//! held to ε₁/n gives Z_j = min over λ > 0 of (K(λ) + ln(n/ε₁))/λ, computed per recipient
//! over exactly its scored positions (received, readable, all families together). With the
//! union bound over the n recipients, P(any innocent accused) ≤ ε₁, for this bias vector and
//! this leak, with no Gaussian approximation. A recipient with too few positions for any
//! threshold to hold (an innocent could reach the maximum score with probability above ε₁/n)
//! is never accused.
//!
//! Families. Each position belongs to one embedding [`Family`] (list order, timestamp form),
//! and DESIGN.md accuses only when two independent families agree. The code accuses a
//! recipient when both hold:
//! (a) its combined score over every readable position it received exceeds Z_j above;
//! (b) at least two families have readable positions it received, and its score restricted
//!     to each of them is positive.
//! (b) can only withdraw an accusation that (a) makes, so the set of accused innocents only
//! shrinks and P(any innocent accused) ≤ ε₁ still holds; it asks that no one family carry
//! the accusation alone (a family whose embedding a leaker learnt to steer, or a reading
//! error confined to one family, cannot accuse by itself). With fewer than two families
//! readable the code answers "cannot tell"; an exact remapped id may still name the
//! recipient, but that is the caller's evidence, not this function's. A position reported
//! under two different families is treated as erased: a leak contradicting the embedding's
//! own slot assignment says nothing reliable.
//!
//! p-value. For each accused recipient, the share of `monte_carlo_trials` fresh innocent
//! codewords (drawn under the actual bias vector, over the same positions) that score at
//! least as high, as (k + 1)/(trials + 1): an estimate that never claims more than the
//! trials can show (1,000 trials cannot show a p-value below 1/1001). How the draws are made,
//! so that a third party holding the bias vector reproduces the figure exactly:
//! - generator: four xoshiro256++ streams (Blackman, Vigna, "Scrambled linear pseudorandom
//!   number generators", ACM TOMS 47(4), 2021), whose 16 state words are the first 16
//!   outputs of SplitMix64 seeded with the FNV-1a hash of the recipient's name (stream-major:
//!   state word k of stream l is output 4k + l);
//! - the recipient's scored positions, ascending, are cut in chunks of 8 (the last padded
//!   with positions that can never be 1); each chunk of each trial steps the four streams
//!   once, and the chunk's position 2l takes the low 32 bits of stream l's output, 2l + 1 the
//!   high 32 bits; trials follow one another on the same streams;
//! - the innocent bit is 1 when the word is below ⌊p·2³²⌋, the codewords' own rule;
//! - scores are summed in fixed point, each term rounded up to a multiple of 2⁻ˢ (s ≤ 20,
//!   chosen so every 1-minus-0 term difference fits in 2²² units), and a trial counts when
//!   that sum reaches the accused's score: a trial's rounded sum is never below its exact sum,
//!   so rounding can only raise k, and the p-value is never smaller than exact arithmetic
//!   over the same draws would give.

use std::collections::BTreeSet;

use crate::tardos::{cut, symmetric_score};
use crate::{Recipient, TardosCode};

/// An embedding family: which kind of harmless choice carries a position's bit. The
/// families are independent embeddings, so a leak laundered against one still shows the
/// other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    /// The order of an unordered list (granular-marking selectors rewritten with it).
    Order,
    /// The written form of a timestamp, within its stated precision.
    Form,
}

impl Family {
    /// Every family, in order.
    pub const ALL: [Family; 2] = [Family::Order, Family::Form];

    /// The family's name as shown to people: `order`, `form`.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Order => "order",
            Family::Form => "form",
        }
    }

    fn index(self) -> usize {
        match self {
            Family::Order => 0,
            Family::Form => 1,
        }
    }
}

const FAMILIES: usize = Family::ALL.len();

/// One position read off a leaked copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observation {
    /// The code position (the slot number the embedding assigned).
    pub position: u64,
    /// The family whose variant carries the position.
    pub family: Family,
    /// The bit read there, or `None` when it could not be read (an erasure: the slot is
    /// missing, damaged, or shows a variant that is neither of the two).
    pub bit: Option<bool>,
}

/// Which positions a recipient received over its delivery history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Positions {
    /// Every position.
    All,
    /// Only these.
    Only(BTreeSet<u64>),
}

/// A recipient and what it received, as the delivery log says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// The recipient.
    pub recipient: Recipient,
    /// The positions it received.
    pub received: Positions,
}

/// How to accuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccuseOptions {
    /// Innocent codewords drawn per accused recipient for its p-value; 0 skips the p-value.
    pub monte_carlo_trials: u32,
}

impl Default for AccuseOptions {
    /// 1,000 trials: p-values down to about 10⁻³ (the Chernoff threshold already holds an
    /// innocent to ε₁/n; the p-value says how far below that this accusation is, within what
    /// the trials can show). Measured cost (benches/accuse.rs, release, shared 2-core
    /// machine, medians): 27 ms to score 30 recipients over 20,000 positions, and about
    /// 20 ms more per accused recipient for its p-value (about 1 ns per position and trial).
    fn default() -> Self {
        AccuseOptions {
            monte_carlo_trials: 1_000,
        }
    }
}

/// A recipient's score over the positions of one family.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FamilyScore {
    /// The family.
    pub family: Family,
    /// The symmetric score over the family's positions the recipient received and the leak
    /// shows.
    pub score: f64,
    /// How many such positions.
    pub positions: usize,
}

/// Whether families agree in the sense of the module documentation's rule (b): at least two
/// families scored, every one of them positive.
fn families_agree(families: &[FamilyScore]) -> bool {
    families.len() >= 2 && families.iter().all(|f| f.score > 0.0)
}

/// One recipient's score against a leak.
#[derive(Debug, Clone, PartialEq)]
pub struct RecipientScore {
    /// The recipient.
    pub recipient: Recipient,
    /// Its symmetric score over `positions`, all families together.
    pub score: f64,
    /// Its threshold Z_j (infinite when too few positions allow no threshold).
    pub threshold: f64,
    /// How many positions it was scored on (received and readable); the code's guarantee to
    /// catch a colluder needs at least [`crate::CodeParams::code_length`].
    pub positions: usize,
    /// The score per family, for each family with at least one of its positions, in
    /// [`Family`] order.
    pub families: Vec<FamilyScore>,
}

impl RecipientScore {
    /// Whether its families agree: at least two scored, each positive (rule (b)).
    pub fn families_agree(&self) -> bool {
        families_agree(&self.families)
    }
}

/// An accused recipient.
#[derive(Debug, Clone, PartialEq)]
pub struct Accused {
    /// The recipient.
    pub recipient: Recipient,
    /// Its score.
    pub score: f64,
    /// Its threshold, below the score.
    pub threshold: f64,
    /// Estimated probability that an innocent over the same positions scores as high
    /// (`None` when no trials were asked for).
    pub p_value: Option<f64>,
    /// How many positions it was scored on.
    pub positions: usize,
    /// The score per family (two or more, each positive).
    pub families: Vec<FamilyScore>,
}

/// The outcome of scoring a leak.
#[derive(Debug, Clone, PartialEq)]
pub struct Accusation {
    /// The recipients accused, highest score first; empty means "cannot tell".
    pub accused: Vec<Accused>,
    /// Every recipient's score and threshold, in the order given.
    pub scores: Vec<RecipientScore>,
    /// Distinct positions read with a bit.
    pub readable: usize,
    /// Readable positions per family, for each family with at least one, in [`Family`]
    /// order; fewer than two families means the code cannot accuse anyone.
    pub readable_families: Vec<(Family, usize)>,
    /// Distinct positions that could not be read (or were read with both bits, or under two
    /// families).
    pub erased: usize,
    /// The Monte-Carlo trials behind each p-value.
    pub monte_carlo_trials: u32,
}

/// What one readable leaked position contributes, computed once and shared by every
/// recipient: its bias, the cut a codeword word is compared against, and the two score
/// terms (for an own bit of 1 and of 0).
#[derive(Debug, Clone, Copy)]
struct Term {
    bias: f64,
    cut: u64,
    one: f64,
    zero: f64,
    family: Family,
}

/// The readable part of a leak: distinct positions, ascending, and their terms.
struct Leak {
    positions: Vec<u64>,
    terms: Vec<Term>,
}

/// Buffers reused from one recipient to the next.
#[derive(Default)]
struct Scratch {
    /// Indices into the leak of the positions the recipient received.
    indices: Vec<usize>,
    positions: Vec<u64>,
    words: Vec<u32>,
    terms: Vec<Term>,
}

/// Scores every recipient in `recipients` against `observations` and accuses those above
/// their threshold whose families agree (see the module documentation).
pub fn accuse(
    code: &TardosCode,
    observations: &[Observation],
    recipients: &[Delivered],
    options: &AccuseOptions,
) -> Accusation {
    let (leak, erased) = readable(code, observations);
    let log_target = code.params().log_inverse_per_recipient();
    // Recipients that received everything share one threshold.
    let mut all_threshold: Option<f64> = None;
    // Fixed-point terms for the p-values, built when the first recipient is accused.
    let mut fixed: Option<FixedTerms> = None;
    let mut scratch = Scratch::default();
    let mut scores = Vec::with_capacity(recipients.len());
    let mut accused = Vec::new();
    for delivered in recipients {
        select(&leak.positions, &delivered.received, &mut scratch.indices);
        scratch.positions.clear();
        scratch
            .positions
            .extend(scratch.indices.iter().map(|&i| leak.positions[i]));
        scratch.words.clear();
        code.codeword(&delivered.recipient)
            .words_into(&scratch.positions, &mut scratch.words);
        let mut score = 0.0;
        let mut per_family = [(0.0, 0usize); FAMILIES];
        for (&i, &word) in scratch.indices.iter().zip(&scratch.words) {
            let term = &leak.terms[i];
            let g = if u64::from(word) < term.cut {
                term.one
            } else {
                term.zero
            };
            score += g;
            let family = &mut per_family[term.family.index()];
            family.0 += g;
            family.1 += 1;
        }
        let families: Vec<FamilyScore> = Family::ALL
            .iter()
            .zip(per_family)
            .filter(|(_, (_, positions))| *positions > 0)
            .map(|(&family, (score, positions))| FamilyScore {
                family,
                score,
                positions,
            })
            .collect();
        let threshold = match (&delivered.received, all_threshold) {
            (Positions::All, Some(z)) => z,
            (Positions::All, None) => {
                let z = chernoff_threshold(&leak.terms, log_target);
                all_threshold = Some(z);
                z
            }
            (Positions::Only(_), _) => {
                scratch.terms.clear();
                scratch
                    .terms
                    .extend(scratch.indices.iter().map(|&i| leak.terms[i]));
                chernoff_threshold(&scratch.terms, log_target)
            }
        };
        let positions = scratch.indices.len();
        if score > threshold && families_agree(&families) {
            let p_value = (options.monte_carlo_trials > 0).then(|| {
                let fixed = fixed.get_or_insert_with(|| FixedTerms::new(&leak.terms));
                monte_carlo_p_value(
                    fixed,
                    &scratch.indices,
                    score,
                    options.monte_carlo_trials,
                    &delivered.recipient,
                )
            });
            accused.push(Accused {
                recipient: delivered.recipient.clone(),
                score,
                threshold,
                p_value,
                positions,
                families: families.clone(),
            });
        }
        scores.push(RecipientScore {
            recipient: delivered.recipient.clone(),
            score,
            threshold,
            positions,
            families,
        });
    }
    accused.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut readable_families = [0usize; FAMILIES];
    for term in &leak.terms {
        readable_families[term.family.index()] += 1;
    }
    Accusation {
        accused,
        scores,
        readable: leak.positions.len(),
        readable_families: Family::ALL
            .iter()
            .copied()
            .zip(readable_families)
            .filter(|&(_, count)| count > 0)
            .collect(),
        erased,
        monte_carlo_trials: options.monte_carlo_trials,
    }
}

/// The indices into `leaked` (ascending, distinct) of the positions in `received`, into
/// `out`: a merge of two sorted lists, linear in both.
fn select(leaked: &[u64], received: &Positions, out: &mut Vec<usize>) {
    out.clear();
    match received {
        Positions::All => out.extend(0..leaked.len()),
        Positions::Only(set) => {
            let mut wanted = set.iter().copied().peekable();
            for (i, &position) in leaked.iter().enumerate() {
                while wanted.next_if(|&w| w < position).is_some() {}
                match wanted.peek() {
                    Some(&w) if w == position => out.push(i),
                    Some(_) => {}
                    None => break,
                }
            }
        }
    }
}

/// The readable positions, sorted and distinct, with their terms; and how many distinct
/// positions were erased. A position read twice with different bits is an erasure (a leak
/// that shows both variants says nothing about which one was delivered), and so is one
/// reported under two families.
fn readable(code: &TardosCode, observations: &[Observation]) -> (Leak, usize) {
    let mut sorted = observations.to_vec();
    sorted.sort_by_key(|o| o.position);
    let mut merged: Vec<Observation> = Vec::with_capacity(sorted.len());
    for o in sorted {
        match merged.last_mut() {
            Some(last) if last.position == o.position => {
                if last.bit != o.bit || last.family != o.family {
                    last.bit = None;
                }
            }
            _ => merged.push(o),
        }
    }
    let erased = merged.iter().filter(|o| o.bit.is_none()).count();
    merged.retain(|o| o.bit.is_some());
    let positions: Vec<u64> = merged.iter().map(|o| o.position).collect();
    let biases = code.biases(&positions);
    let terms = merged
        .iter()
        .zip(biases)
        .map(|(o, bias)| {
            let y = o.bit == Some(true);
            Term {
                bias,
                cut: cut(bias),
                one: symmetric_score(y, true, bias),
                zero: symmetric_score(y, false, bias),
                family: o.family,
            }
        })
        .collect();
    (Leak { positions, terms }, erased)
}

/// The cumulant generating function K(λ) of an innocent's score over `terms`, with K'(λ)
/// and K''(λ), computed without overflow (each term's exponent is taken relative to its
/// larger outcome, so one of the two weights needs no exponential).
fn cumulants(terms: &[Term], lambda: f64) -> (f64, f64, f64) {
    let (mut k, mut k1, mut k2) = (0.0, 0.0, 0.0);
    for t in terms {
        let (a, b) = (t.one, t.zero);
        let (wa, wb, top) = if a >= b {
            (t.bias, (1.0 - t.bias) * (lambda * (b - a)).exp(), a)
        } else {
            (t.bias * (lambda * (a - b)).exp(), 1.0 - t.bias, b)
        };
        let m = wa + wb;
        let mean = (wa * a + wb * b) / m;
        k += lambda * top + m.ln();
        k1 += mean;
        k2 += (wa * a * a + wb * b * b) / m - mean * mean;
    }
    (k, k1, k2)
}

/// Z = min over λ of (K(λ) + L)/λ, L = ln(n/ε₁). At the minimum λK'(λ) − K(λ) = L; that
/// left side is increasing in λ (its derivative is λK''), so a safeguarded Newton search
/// finds it. Any λ gives a valid bound, so an inexact λ only costs tightness.
fn chernoff_threshold(terms: &[Term], log_target: f64) -> f64 {
    if terms.is_empty() {
        return f64::INFINITY;
    }
    let h = |lambda: f64| {
        let (k, k1, k2) = cumulants(terms, lambda);
        (lambda * k1 - k, k, lambda * k2)
    };
    // Bracket the root: beyond λ = 64 the bound is the probability of the maximum score.
    let (mut lo, mut hi) = (0.0, 1.0 / (terms.len() as f64).sqrt());
    loop {
        let (value, _, _) = h(hi);
        if value >= log_target {
            break;
        }
        if hi > 64.0 {
            return f64::INFINITY;
        }
        lo = hi;
        hi *= 2.0;
    }
    let mut lambda = hi;
    for _ in 0..60 {
        let (value, _, slope) = h(lambda);
        let error = value - log_target;
        if error.abs() <= 1e-9 * log_target {
            break;
        }
        if error > 0.0 {
            hi = lambda;
        } else {
            lo = lambda;
        }
        let newton = lambda - error / slope;
        lambda = if newton > lo && newton < hi && slope > 0.0 {
            newton
        } else {
            (lo + hi) / 2.0
        };
    }
    let (k, _, _) = cumulants(terms, lambda);
    (k + log_target) / lambda
}

/// Positions per step of the generator: four xoshiro256++ outputs, two words each.
const LANES: usize = 8;
/// Largest 1-minus-0 term difference in fixed-point units, after rounding.
const DELTA_UNITS: f64 = ((1u32 << 22) - 1) as f64;
/// Positions summed in 32-bit integers before the sum joins the trial's 64-bit total: at most
/// 2²² − 1 units each, 512 of them stay below 2³¹.
const BLOCK: usize = 512;

/// The score terms of every readable position in fixed point, rounded up, shared by all
/// accused recipients' p-values: the cut, the 0-bit term, and the difference a 1 bit adds.
struct FixedTerms {
    /// 2ˢ units per score unit.
    scale: f64,
    cut: Vec<u32>,
    zero: Vec<i64>,
    delta: Vec<i32>,
}

impl FixedTerms {
    fn new(terms: &[Term]) -> FixedTerms {
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
            fixed.cut.push(u32::try_from(t.cut).unwrap_or(u32::MAX));
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
/// `score` over the leak positions at `indices` (see the module documentation for the
/// draws, which a third party can reproduce). Branch-free and in integers so that the
/// compiler vectorises it: a block of words is drawn, then compared with the cuts and the
/// masked differences summed.
fn monte_carlo_p_value(
    fixed: &FixedTerms,
    indices: &[usize],
    score: f64,
    trials: u32,
    recipient: &Recipient,
) -> f64 {
    // Padding to whole steps: a cut of 0 is never reached, so a padded slot adds nothing.
    let padded = indices.len().div_ceil(LANES) * LANES;
    let mut cuts = vec![0u32; padded];
    let mut deltas = vec![0i32; padded];
    let mut base = 0i64;
    for ((cut, delta), &i) in cuts.iter_mut().zip(deltas.iter_mut()).zip(indices) {
        *cut = fixed.cut[i];
        *delta = fixed.delta[i];
        base += fixed.zero[i];
    }
    // A trial counts when base + Σ deltas ≥ score·2ˢ, i.e. Σ deltas ≥ needed.
    let needed = (score * fixed.scale).ceil() as i64 - base;
    let mut rng = Xoshiro256x4::seeded(recipient.as_str().as_bytes());
    let mut words = [0u32; BLOCK];
    let mut at_least = 0u64;
    for _ in 0..trials {
        let mut total = 0i64;
        for (cuts, deltas) in cuts.chunks(BLOCK).zip(deltas.chunks(BLOCK)) {
            let words = &mut words[..cuts.len()];
            rng.fill(words);
            let sum: i32 = words
                .iter()
                .zip(cuts)
                .zip(deltas)
                .map(|((&word, &cut), &delta)| if word < cut { delta } else { 0 })
                .sum();
            total += i64::from(sum);
        }
        at_least += u64::from(total >= needed);
    }
    (at_least + 1) as f64 / (f64::from(trials) + 1.0)
}

/// Four xoshiro256++ streams stepped together (state word k of stream l in `s[k][l]`), eight
/// 32-bit words per step; written lane-wise over arrays so the compiler keeps the four
/// streams in vector registers.
struct Xoshiro256x4 {
    s: [[u64; 4]; 4],
}

/// Four u64 lanes, one per stream.
type Lanes = [u64; 4];

fn lanes(f: impl Fn(usize) -> u64) -> Lanes {
    [f(0), f(1), f(2), f(3)]
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

    /// Fills `out` (a whole number of steps) with words: per step, words 2l and 2l + 1 are
    /// the low and high halves of stream l's next output.
    fn fill(&mut self, out: &mut [u32]) {
        let [mut s0, mut s1, mut s2, mut s3] = self.s;
        for step in out.chunks_exact_mut(LANES) {
            let r: Lanes = lanes(|l| {
                s0[l]
                    .wrapping_add(s3[l])
                    .rotate_left(23)
                    .wrapping_add(s0[l])
            });
            let t: Lanes = lanes(|l| s1[l] << 17);
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

    /// One step's eight words.
    #[cfg(test)]
    fn words(&mut self) -> [u32; LANES] {
        let mut words = [0u32; LANES];
        self.fill(&mut words);
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
    use crate::{CodeParams, FingerprintKey};

    fn code(c: usize, epsilon1: f64) -> TardosCode {
        let params = CodeParams::new(30, c, epsilon1).unwrap();
        TardosCode::new(&FingerprintKey::from_bytes([9; 32]), params)
    }

    fn everyone() -> Vec<Delivered> {
        (0..30)
            .map(|j| Delivered {
                recipient: Recipient::new(format!("R{j:02}")),
                received: Positions::All,
            })
            .collect()
    }

    fn no_trials() -> AccuseOptions {
        AccuseOptions {
            monte_carlo_trials: 0,
        }
    }

    /// Even positions carry list order, odd ones timestamp forms.
    fn family_of(position: u64) -> Family {
        if position % 2 == 0 {
            Family::Order
        } else {
            Family::Form
        }
    }

    /// The copy of recipient `j` over `positions`, read perfectly.
    fn copy_of(code: &TardosCode, j: usize, positions: &[u64]) -> Vec<Observation> {
        let biases = code.biases(positions);
        let bits = code
            .codeword(&Recipient::new(format!("R{j:02}")))
            .bits(positions, &biases);
        positions
            .iter()
            .zip(bits)
            .map(|(&position, bit)| Observation {
                position,
                family: family_of(position),
                bit: Some(bit),
            })
            .collect()
    }

    fn names(accusation: &Accusation) -> Vec<&str> {
        accusation
            .accused
            .iter()
            .map(|a| a.recipient.as_str())
            .collect()
    }

    #[test]
    fn a_whole_copy_accuses_its_recipient_alone_with_a_small_p_value() {
        let code = code(2, 1e-6);
        let positions: Vec<u64> = (0..2 * code.params().code_length() as u64).collect();
        let leak = copy_of(&code, 7, &positions);
        let options = AccuseOptions {
            monte_carlo_trials: 1_000,
        };
        let accusation = accuse(&code, &leak, &everyone(), &options);
        assert_eq!(names(&accusation), ["R07"]);
        let accused = &accusation.accused[0];
        assert!(accused.score > accused.threshold);
        assert_eq!(accused.p_value, Some(1.0 / 1_001.0));
        assert_eq!(accused.positions, positions.len());
        let families: Vec<(Family, usize)> = accused
            .families
            .iter()
            .map(|f| (f.family, f.positions))
            .collect();
        let half = positions.len() / 2;
        assert_eq!(families, [(Family::Order, half), (Family::Form, half)]);
        assert!(accused.families.iter().all(|f| f.score > 0.0));
        let sum: f64 = accused.families.iter().map(|f| f.score).sum();
        assert!((sum - accused.score).abs() < 1e-9 * accused.score.abs());
        assert_eq!(
            accusation.readable_families,
            [(Family::Order, half), (Family::Form, half)]
        );
        assert_eq!(accusation.scores.len(), 30);
    }

    #[test]
    fn one_family_alone_cannot_accuse() {
        let code = code(2, 1e-6);
        let positions: Vec<u64> = (0..2 * code.params().code_length() as u64).collect();
        let leak: Vec<Observation> = copy_of(&code, 7, &positions)
            .into_iter()
            .map(|o| Observation {
                family: Family::Form,
                ..o
            })
            .collect();
        let accusation = accuse(&code, &leak, &everyone(), &no_trials());
        assert!(accusation.accused.is_empty(), "{:?}", accusation.accused);
        // The code alone would have accused: only the family rule withholds.
        let r07 = &accusation.scores[7];
        assert!(r07.score > r07.threshold);
        assert!(!r07.families_agree());
        assert_eq!(
            accusation.readable_families,
            [(Family::Form, positions.len())]
        );
    }

    #[test]
    fn a_family_that_disagrees_withdraws_the_accusation() {
        let code = code(2, 1e-6);
        let length = code.params().code_length() as u64;
        // R07's order positions over 3m, and a short run of timestamp forms showing the
        // opposite of R07's bits: enough for the combined score, but the form family says no.
        let order: Vec<u64> = (0..3 * length).map(|i| 2 * i).collect();
        let form: Vec<u64> = (0..length / 4).map(|i| 2 * i + 1).collect();
        let mut leak = copy_of(&code, 7, &order);
        leak.extend(copy_of(&code, 7, &form).into_iter().map(|o| Observation {
            bit: o.bit.map(|b| !b),
            ..o
        }));
        let accusation = accuse(&code, &leak, &everyone(), &no_trials());
        let r07 = &accusation.scores[7];
        assert!(r07.score > r07.threshold, "{r07:?}");
        assert!(r07.families[1].score < 0.0, "{r07:?}");
        assert!(accusation.accused.is_empty(), "{:?}", accusation.accused);
    }

    #[test]
    fn a_position_reported_under_two_families_is_an_erasure() {
        let code = code(2, 1e-6);
        let leak = [
            Observation {
                position: 5,
                family: Family::Order,
                bit: Some(true),
            },
            Observation {
                position: 5,
                family: Family::Form,
                bit: Some(true),
            },
            Observation {
                position: 6,
                family: Family::Order,
                bit: Some(true),
            },
        ];
        let accusation = accuse(&code, &leak, &everyone(), &no_trials());
        assert_eq!((accusation.readable, accusation.erased), (1, 1));
        assert_eq!(accusation.readable_families, [(Family::Order, 1)]);
    }

    #[test]
    fn too_few_positions_accuse_no_one() {
        let code = code(2, 1e-6);
        let positions: Vec<u64> = (0..12).collect();
        let leak = copy_of(&code, 3, &positions);
        let accusation = accuse(&code, &leak, &everyone(), &AccuseOptions::default());
        assert!(accusation.accused.is_empty(), "{:?}", accusation.accused);
    }

    #[test]
    fn nothing_readable_accuses_no_one() {
        let code = code(2, 1e-6);
        let leak: Vec<Observation> = (0..500)
            .map(|position| Observation {
                position,
                family: family_of(position),
                bit: None,
            })
            .collect();
        let accusation = accuse(&code, &leak, &everyone(), &AccuseOptions::default());
        assert!(accusation.accused.is_empty());
        assert_eq!((accusation.readable, accusation.erased), (0, 500));
        assert!(accusation.readable_families.is_empty());
        assert!(accusation.scores.iter().all(|s| s.threshold.is_infinite()));
        assert!(accusation.scores.iter().all(|s| s.families.is_empty()));
    }

    #[test]
    fn a_position_read_with_both_bits_is_an_erasure() {
        let code = code(2, 1e-6);
        let at = |position, bit| Observation {
            position,
            family: Family::Order,
            bit: Some(bit),
        };
        let leak = [at(5, true), at(5, false), at(6, true), at(6, true)];
        let accusation = accuse(&code, &leak, &everyone(), &AccuseOptions::default());
        assert_eq!((accusation.readable, accusation.erased), (1, 1));
    }

    #[test]
    fn each_recipient_is_scored_only_on_what_it_received() {
        let code = code(2, 1e-6);
        let length = 2 * code.params().code_length() as u64;
        let positions: Vec<u64> = (0..2 * length).collect();
        // R00 received the first half only, and its copy of it leaked; the second half of the
        // leak is R01's.
        let mut leak = copy_of(&code, 0, &positions[..length as usize]);
        leak.extend(copy_of(&code, 1, &positions[length as usize..]));
        let mut recipients = everyone();
        recipients[0].received = Positions::Only((0..length).collect());
        // R01's delivery log also names positions the leak does not show.
        recipients[1].received = Positions::Only((length..3 * length).collect());
        let accusation = accuse(&code, &leak, &recipients, &no_trials());
        let mut names = names(&accusation);
        names.sort_unstable();
        assert_eq!(names, ["R00", "R01"]);
        assert_eq!(accusation.scores[0].positions, length as usize);
        assert_eq!(accusation.scores[1].positions, length as usize);
        assert_eq!(accusation.scores[2].positions, 2 * length as usize);
    }

    #[test]
    fn select_merges_the_received_set_with_the_leak() {
        let leaked = [2, 3, 5, 8, 13];
        let mut out = Vec::new();
        select(
            &leaked,
            &Positions::Only([1, 3, 4, 13, 20].into()),
            &mut out,
        );
        assert_eq!(out, [1, 4]);
        select(&leaked, &Positions::Only(BTreeSet::new()), &mut out);
        assert!(out.is_empty());
        select(&leaked, &Positions::All, &mut out);
        assert_eq!(out, [0, 1, 2, 3, 4]);
    }

    fn leak_terms(code: &TardosCode, j: usize, count: u64) -> Vec<Term> {
        let positions: Vec<u64> = (0..count).collect();
        readable(code, &copy_of(code, j, &positions)).0.terms
    }

    /// The Chernoff threshold is a true bound: at a target of 1/200 per recipient, fresh
    /// innocents over the same positions exceed it in well under 1/200 of the trials.
    #[test]
    fn threshold_holds_innocents_below_the_target_rate() {
        let code = code(2, 1e-6);
        let terms = leak_terms(&code, 4, 300);
        let indices: Vec<usize> = (0..terms.len()).collect();
        let fixed = FixedTerms::new(&terms);
        let z = chernoff_threshold(&terms, 200f64.ln());
        // Gaussian tail at 1/200 is 2.58σ; the Chernoff bound sits above it.
        let sigma = (terms.len() as f64).sqrt();
        assert!(z > 2.5 * sigma && z < 4.0 * sigma, "{z} vs σ = {sigma}");
        let fresh = Recipient::new("fresh");
        let p = monte_carlo_p_value(&fixed, &indices, z, 20_000, &fresh);
        assert!(p < 1.0 / 200.0, "{p}");
        // And it is not absurdly loose: the Gaussian 2σ point is exceeded often.
        let p = monte_carlo_p_value(&fixed, &indices, 2.0 * sigma, 20_000, &fresh);
        assert!(p > 0.01, "{p}");
    }

    /// The fixed-point, eight-lane loop counts the same trials as plain floating point over
    /// the same draws, give or take a trial whose score lies within the rounding of the
    /// threshold, and never fewer.
    #[test]
    fn p_value_agrees_with_a_plain_float_loop_over_the_same_draws() {
        let code = code(3, 1e-6);
        // 301 positions: the last chunk is padded.
        let terms = leak_terms(&code, 2, 301);
        let indices: Vec<usize> = (0..terms.len()).collect();
        let fixed = FixedTerms::new(&terms);
        let name = Recipient::new("R05");
        let trials = 5_000;
        for level in [0.0, 1.0, 1.5, 2.0] {
            let score = level * (terms.len() as f64).sqrt();
            let mut rng = Xoshiro256x4::seeded(name.as_str().as_bytes());
            let mut reference = 0u64;
            for _ in 0..trials {
                let mut s = 0.0;
                for chunk in terms.chunks(LANES) {
                    let words = rng.words();
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

    /// The first outputs of xoshiro256++ from a known state (the reference implementation's
    /// state s = {1, 2, 3, 4}), in every lane.
    #[test]
    fn xoshiro_matches_the_reference_sequence() {
        let mut rng = Xoshiro256x4 {
            s: [[1; 4], [2; 4], [3; 4], [4; 4]],
        };
        let first = rng.words();
        let second = rng.words();
        let join = |w: [u32; LANES], l: usize| u64::from(w[2 * l]) | u64::from(w[2 * l + 1]) << 32;
        for l in 0..4 {
            assert_eq!(join(first, l), 41_943_041);
            assert_eq!(join(second, l), 58_720_359);
        }
    }
}
