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
//! trials can show (1,000 trials cannot show a p-value below 1/1001).
//! [`p_value`] says how the draws are made, so that a third party reproduces the figure
//! exactly, and how the loop is made fast.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use crate::tardos::{cut, symmetric_score};
use crate::{Recipient, TardosCode};

mod p_value;

use p_value::{monte_carlo_p_value, FixedTerms};

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
    /// machine, medians of 9 runs with the machine busy): 22–27 ms to score 30 recipients
    /// over 20,000 positions in two families, 65–75 ms with the p-values of two accused, so
    /// 20–25 ms per accused (about 1 ns per position and trial, most of it the generator;
    /// before this loop was vectorised, about 0.2 s per accused over 10,000 positions).
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
/// their threshold whose families agree (see the module documentation). Recipients are
/// scored on every core the machine offers; the result does not depend on how many.
pub fn accuse(
    code: &TardosCode,
    observations: &[Observation],
    recipients: &[Delivered],
    options: &AccuseOptions,
) -> Accusation {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    accuse_on(code, observations, recipients, options, threads)
}

/// What is shared by every recipient's scoring: the leak, and what is computed once for
/// all of them when first needed.
struct Shared<'a> {
    code: &'a TardosCode,
    leak: Leak,
    log_target: f64,
    options: &'a AccuseOptions,
    /// The threshold of recipients that received everything.
    all_threshold: OnceLock<f64>,
    /// Fixed-point terms for the p-values, built when the first recipient is accused.
    fixed: OnceLock<FixedTerms>,
}

/// [`accuse`] on `threads` threads. First every recipient's score, beside the threshold shared
/// by recipients that received everything (it needs no codeword, and is the longest single
/// job); then each recipient's own threshold and, when it is accused, its p-value (its draws
/// seeded by its name). Each result depends on nothing else, so the accusation is the same
/// for any number of threads.
fn accuse_on(
    code: &TardosCode,
    observations: &[Observation],
    recipients: &[Delivered],
    options: &AccuseOptions,
    threads: usize,
) -> Accusation {
    let (leak, erased) = readable(code, observations);
    let shared = Shared {
        code,
        leak,
        log_target: code.params().log_inverse_per_recipient(),
        options,
        all_threshold: OnceLock::new(),
        fixed: OnceLock::new(),
    };
    let shared_threshold = usize::from(
        recipients
            .iter()
            .any(|d| matches!(d.received, Positions::All)),
    );
    let scored: Vec<Option<Scored>> = on_threads(
        threads,
        shared_threshold + recipients.len(),
        |job, scratch| match job.checked_sub(shared_threshold) {
            None => {
                shared.all_threshold();
                None
            }
            Some(i) => recipients.get(i).map(|d| score_one(&shared, d, scratch)),
        },
    );
    let scored: Vec<Scored> = scored.into_iter().flatten().collect();
    let results = on_threads(threads, recipients.len(), |i, scratch| {
        decide(&shared, &recipients[i], &scored[i], scratch)
    });
    let mut scores = Vec::with_capacity(recipients.len());
    let mut accused = Vec::new();
    for (score, accusation) in results {
        scores.push(score);
        accused.extend(accusation);
    }
    accused.sort_by(|a, b| b.score.total_cmp(&a.score));
    let leak = &shared.leak;
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

/// `f` for each of `jobs` jobs, on up to `threads` threads that each take the next job not yet
/// taken (so a long job does not hold the others up); the results in the jobs' order.
fn on_threads<T: Send>(
    threads: usize,
    jobs: usize,
    f: impl Fn(usize, &mut Scratch) -> T + Sync,
) -> Vec<T> {
    let next = AtomicUsize::new(0);
    let work = || {
        let mut scratch = Scratch::default();
        let mut done = Vec::new();
        loop {
            let job = next.fetch_add(1, Ordering::Relaxed);
            if job >= jobs {
                return done;
            }
            done.push((job, f(job, &mut scratch)));
        }
    };
    let threads = threads.clamp(1, jobs.max(1));
    let mut done: Vec<(usize, T)> = if threads == 1 {
        work()
    } else {
        std::thread::scope(|scope| {
            let work = &work;
            let handles: Vec<_> = (0..threads).map(|_| scope.spawn(work)).collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        })
    };
    done.sort_unstable_by_key(|(job, _)| *job);
    done.into_iter().map(|(_, r)| r).collect()
}

impl Shared<'_> {
    /// The threshold of recipients that received every readable position.
    fn all_threshold(&self) -> f64 {
        *self
            .all_threshold
            .get_or_init(|| chernoff_threshold(&self.leak.terms, self.log_target))
    }
}

/// One recipient's score over the positions it received: the total and each family's.
struct Scored {
    score: f64,
    positions: usize,
    families: Vec<FamilyScore>,
}

/// One recipient's score (no threshold yet).
fn score_one(shared: &Shared<'_>, delivered: &Delivered, scratch: &mut Scratch) -> Scored {
    let leak = &shared.leak;
    select(&leak.positions, &delivered.received, &mut scratch.indices);
    scratch.positions.clear();
    scratch
        .positions
        .extend(scratch.indices.iter().map(|&i| leak.positions[i]));
    scratch.words.clear();
    shared
        .code
        .codeword(&delivered.recipient)
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
    Scored {
        score,
        positions: scratch.indices.len(),
        families,
    }
}

/// One recipient's threshold, and its accusation when its score is above it with its
/// families agreeing.
fn decide(
    shared: &Shared<'_>,
    delivered: &Delivered,
    scored: &Scored,
    scratch: &mut Scratch,
) -> (RecipientScore, Option<Accused>) {
    let leak = &shared.leak;
    let &Scored {
        score, positions, ..
    } = scored;
    let families = &scored.families;
    select(&leak.positions, &delivered.received, &mut scratch.indices);
    let threshold = match &delivered.received {
        Positions::All => shared.all_threshold(),
        Positions::Only(_) => {
            scratch.terms.clear();
            scratch
                .terms
                .extend(scratch.indices.iter().map(|&i| leak.terms[i]));
            chernoff_threshold(&scratch.terms, shared.log_target)
        }
    };
    let accused = (score > threshold && families_agree(families)).then(|| {
        let trials = shared.options.monte_carlo_trials;
        let p_value = (trials > 0).then(|| {
            let fixed = shared.fixed.get_or_init(|| FixedTerms::new(&leak.terms));
            monte_carlo_p_value(fixed, &scratch.indices, score, trials, &delivered.recipient)
        });
        Accused {
            recipient: delivered.recipient.clone(),
            score,
            threshold,
            p_value,
            positions,
            families: families.clone(),
        }
    });
    (
        RecipientScore {
            recipient: delivered.recipient.clone(),
            score,
            threshold,
            positions,
            families: families.clone(),
        },
        accused,
    )
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

    /// Scoring is spread over threads: the accusation (scores, thresholds, p-values, order)
    /// is the same on one thread as on several, with two colluders, recipients that received
    /// parts only, and p-values drawn.
    #[test]
    fn the_accusation_does_not_depend_on_the_threads() {
        let code = code(2, 1e-6);
        let length = 2 * code.params().code_length() as u64;
        let positions: Vec<u64> = (0..2 * length).collect();
        let mut leak = copy_of(&code, 3, &positions[..length as usize]);
        leak.extend(copy_of(&code, 11, &positions[length as usize..]));
        let mut recipients = everyone();
        recipients[3].received = Positions::Only((0..length).collect());
        recipients[20].received = Positions::Only((length / 2..2 * length).collect());
        let options = AccuseOptions {
            monte_carlo_trials: 200,
        };
        let one = accuse_on(&code, &leak, &recipients, &options, 1);
        assert_eq!(names(&one).len(), 2);
        assert!(one.accused.iter().all(|a| a.p_value.is_some()));
        for threads in [2, 3, 7, 30, 64] {
            assert_eq!(
                accuse_on(&code, &leak, &recipients, &options, threads),
                one,
                "{threads} threads"
            );
        }
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
}
