//! Accusation: score every recipient on the positions it received and the leak shows, and
//! accuse those above their own threshold.
//!
//! Threshold. Given the bias vector and the leaked bits y, an innocent's bits are independent
//! Bernoulli(p_i) draws (it took no part in making y), so its score S is a sum of independent
//! terms whose distributions are known exactly. The Chernoff bound
//! P(S ≥ Z) ≤ exp(K(λ) − λZ), K(λ) = Σ_i ln E[exp(λ·g_i)],
//! held to ε₁/n gives Z_j = min over λ > 0 of (K(λ) + ln(n/ε₁))/λ, computed per recipient
//! over exactly its scored positions (received, readable). With the union bound over the
//! n recipients, P(any innocent accused) ≤ ε₁, for this bias vector and this leak, with no
//! Gaussian approximation. A recipient with too few positions for any threshold to hold
//! (an innocent could reach the maximum score with probability above ε₁/n) is never accused.
//!
//! p-value. For each accused recipient, the share of `monte_carlo_trials` fresh innocent
//! codewords (drawn under the actual bias vector, over the same positions) that score at
//! least as high, as (k + 1)/(trials + 1): an estimate that never claims more than the
//! trials can show (1,000 trials cannot show a p-value below 1/1001).

use std::collections::BTreeSet;

use crate::tardos::{below, symmetric_score};
use crate::{Recipient, TardosCode};

/// One position read off a leaked copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observation {
    /// The code position (the slot number the embedding assigned).
    pub position: u64,
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

impl Positions {
    fn contains(&self, position: u64) -> bool {
        match self {
            Positions::All => true,
            Positions::Only(set) => set.contains(&position),
        }
    }
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
    /// the trials can show). Measured cost (benches/accuse.rs, release, shared machine): about
    /// 0.2 s per accused recipient over 10,000 positions, against 22 ms for scoring all 30.
    fn default() -> Self {
        AccuseOptions {
            monte_carlo_trials: 1_000,
        }
    }
}

/// One recipient's score against a leak.
#[derive(Debug, Clone, PartialEq)]
pub struct RecipientScore {
    /// The recipient.
    pub recipient: Recipient,
    /// Its symmetric score over `positions`.
    pub score: f64,
    /// Its threshold Z_j (infinite when too few positions allow no threshold).
    pub threshold: f64,
    /// How many positions it was scored on (received and readable); the code's guarantee to
    /// catch a colluder needs at least [`crate::CodeParams::code_length`].
    pub positions: usize,
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
    /// Distinct positions that could not be read (or were read with both bits).
    pub erased: usize,
    /// The Monte-Carlo trials behind each p-value.
    pub monte_carlo_trials: u32,
}

/// A readable leaked position with its bias.
#[derive(Clone, Copy)]
struct Leaked {
    position: u64,
    bit: bool,
    bias: f64,
}

/// Scores every recipient in `recipients` against `observations` and accuses those above
/// their threshold (see the module documentation).
pub fn accuse(
    code: &TardosCode,
    observations: &[Observation],
    recipients: &[Delivered],
    options: &AccuseOptions,
) -> Accusation {
    let (leaked, erased) = readable(code, observations);
    let log_target = code.params().log_inverse_per_recipient();
    // Recipients that received everything share one threshold.
    let mut all_threshold: Option<f64> = None;
    let mut scores = Vec::with_capacity(recipients.len());
    let mut accused = Vec::new();
    for delivered in recipients {
        let scored: Vec<Leaked> = match &delivered.received {
            Positions::All => leaked.clone(),
            only => leaked
                .iter()
                .copied()
                .filter(|l| only.contains(l.position))
                .collect(),
        };
        let positions: Vec<u64> = scored.iter().map(|l| l.position).collect();
        let biases: Vec<f64> = scored.iter().map(|l| l.bias).collect();
        let bits = code
            .codeword(&delivered.recipient)
            .bits(&positions, &biases);
        let score: f64 = scored
            .iter()
            .zip(&bits)
            .map(|(l, &x)| symmetric_score(l.bit, x, l.bias))
            .sum();
        let threshold = match (&delivered.received, all_threshold) {
            (Positions::All, Some(z)) => z,
            (received, _) => {
                let z = chernoff_threshold(&scored, log_target);
                if *received == Positions::All {
                    all_threshold = Some(z);
                }
                z
            }
        };
        if score > threshold {
            let p_value = (options.monte_carlo_trials > 0).then(|| {
                monte_carlo_p_value(
                    &scored,
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
                positions: scored.len(),
            });
        }
        scores.push(RecipientScore {
            recipient: delivered.recipient.clone(),
            score,
            threshold,
            positions: scored.len(),
        });
    }
    accused.sort_by(|a, b| b.score.total_cmp(&a.score));
    Accusation {
        accused,
        scores,
        readable: leaked.len(),
        erased,
        monte_carlo_trials: options.monte_carlo_trials,
    }
}

/// The readable positions, sorted and distinct, with their biases; and how many distinct
/// positions were erased. A position read twice with different bits is an erasure: a leak
/// that shows both variants says nothing about which one was delivered.
fn readable(code: &TardosCode, observations: &[Observation]) -> (Vec<Leaked>, usize) {
    let mut sorted = observations.to_vec();
    sorted.sort_by_key(|o| o.position);
    let mut merged: Vec<(u64, Option<bool>)> = Vec::with_capacity(sorted.len());
    for o in sorted {
        match merged.last_mut() {
            Some((position, bit)) if *position == o.position => {
                if *bit != o.bit {
                    *bit = None;
                }
            }
            _ => merged.push((o.position, o.bit)),
        }
    }
    let erased = merged.iter().filter(|(_, bit)| bit.is_none()).count();
    let kept: Vec<(u64, bool)> = merged
        .into_iter()
        .filter_map(|(position, bit)| bit.map(|b| (position, b)))
        .collect();
    let positions: Vec<u64> = kept.iter().map(|(p, _)| *p).collect();
    let biases = code.biases(&positions);
    let leaked = kept
        .into_iter()
        .zip(biases)
        .map(|((position, bit), bias)| Leaked {
            position,
            bit,
            bias,
        })
        .collect();
    (leaked, erased)
}

/// The cumulant generating function K(λ) of an innocent's score over `scored`, with K'(λ)
/// and K''(λ), computed without overflow (each term's exponent is taken relative to its
/// larger outcome).
fn cumulants(scored: &[Leaked], lambda: f64) -> (f64, f64, f64) {
    let (mut k, mut k1, mut k2) = (0.0, 0.0, 0.0);
    for l in scored {
        let (a, b) = (
            symmetric_score(l.bit, true, l.bias),
            symmetric_score(l.bit, false, l.bias),
        );
        let top = a.max(b);
        let wa = l.bias * (lambda * (a - top)).exp();
        let wb = (1.0 - l.bias) * (lambda * (b - top)).exp();
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
fn chernoff_threshold(scored: &[Leaked], log_target: f64) -> f64 {
    if scored.is_empty() {
        return f64::INFINITY;
    }
    let h = |lambda: f64| {
        let (k, k1, k2) = cumulants(scored, lambda);
        (lambda * k1 - k, k, lambda * k2)
    };
    // Bracket the root: beyond λ = 64 the bound is the probability of the maximum score.
    let (mut lo, mut hi) = (0.0, 1.0 / (scored.len() as f64).sqrt());
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
    let (k, _, _) = cumulants(scored, lambda);
    (k + log_target) / lambda
}

/// (k + 1)/(trials + 1), k the trials in which a fresh innocent codeword scores at least
/// `score` over `scored`. The draws come from a generator seeded by the recipient's name,
/// so a third party with the bias vector reproduces the figure.
fn monte_carlo_p_value(scored: &[Leaked], score: f64, trials: u32, recipient: &Recipient) -> f64 {
    let terms: Vec<(f64, f64, f64)> = scored
        .iter()
        .map(|l| {
            (
                l.bias,
                symmetric_score(l.bit, true, l.bias),
                symmetric_score(l.bit, false, l.bias),
            )
        })
        .collect();
    let mut rng = SplitMix64::seeded(recipient.as_str().as_bytes());
    let mut at_least = 0u64;
    for _ in 0..trials {
        let s: f64 = terms
            .iter()
            .map(|&(p, one, zero)| {
                if below((rng.next() >> 32) as u32, p) {
                    one
                } else {
                    zero
                }
            })
            .sum();
        if s >= score {
            at_least += 1;
        }
    }
    (at_least + 1) as f64 / (f64::from(trials) + 1.0)
}

/// SplitMix64 (Steele, Lea, Flood, "Fast splittable pseudorandom number generators",
/// OOPSLA 2014): statistically good and fast; the p-value needs no secrecy.
struct SplitMix64(u64);

impl SplitMix64 {
    fn seeded(seed: &[u8]) -> SplitMix64 {
        // FNV-1a of the seed bytes.
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
                bit: Some(bit),
            })
            .collect()
    }

    #[test]
    fn a_whole_copy_accuses_its_recipient_alone_with_a_small_p_value() {
        let code = code(2, 1e-6);
        let positions: Vec<u64> = (0..code.params().code_length() as u64).collect();
        let leak = copy_of(&code, 7, &positions);
        let options = AccuseOptions {
            monte_carlo_trials: 1_000,
        };
        let accusation = accuse(&code, &leak, &everyone(), &options);
        assert_eq!(accusation.accused.len(), 1, "{:?}", accusation.accused);
        let accused = &accusation.accused[0];
        assert_eq!(accused.recipient, Recipient::new("R07"));
        assert!(accused.score > accused.threshold);
        assert_eq!(accused.p_value, Some(1.0 / 1_001.0));
        assert_eq!(accused.positions, positions.len());
        assert_eq!(accusation.scores.len(), 30);
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
                bit: None,
            })
            .collect();
        let accusation = accuse(&code, &leak, &everyone(), &AccuseOptions::default());
        assert!(accusation.accused.is_empty());
        assert_eq!((accusation.readable, accusation.erased), (0, 500));
        assert!(accusation.scores.iter().all(|s| s.threshold.is_infinite()));
    }

    #[test]
    fn a_position_read_with_both_bits_is_an_erasure() {
        let code = code(2, 1e-6);
        let leak = [
            Observation {
                position: 5,
                bit: Some(true),
            },
            Observation {
                position: 5,
                bit: Some(false),
            },
            Observation {
                position: 6,
                bit: Some(true),
            },
            Observation {
                position: 6,
                bit: Some(true),
            },
        ];
        let accusation = accuse(&code, &leak, &everyone(), &AccuseOptions::default());
        assert_eq!((accusation.readable, accusation.erased), (1, 1));
    }

    #[test]
    fn each_recipient_is_scored_only_on_what_it_received() {
        let code = code(2, 1e-6);
        let length = code.params().code_length() as u64;
        let positions: Vec<u64> = (0..2 * length).collect();
        // R00 received the first half only, and its copy of it leaked; the second half of the
        // leak is R01's.
        let mut leak = copy_of(&code, 0, &positions[..length as usize]);
        leak.extend(copy_of(&code, 1, &positions[length as usize..]));
        let mut recipients = everyone();
        recipients[0].received = Positions::Only((0..length).collect());
        recipients[1].received = Positions::Only((length..2 * length).collect());
        let accusation = accuse(
            &code,
            &leak,
            &recipients,
            &AccuseOptions {
                monte_carlo_trials: 0,
            },
        );
        let names: Vec<&str> = accusation
            .accused
            .iter()
            .map(|a| a.recipient.as_str())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(
            names.contains(&"R00") && names.contains(&"R01"),
            "{names:?}"
        );
        assert_eq!(accusation.scores[0].positions, length as usize);
        assert_eq!(accusation.scores[2].positions, 2 * length as usize);
    }

    /// The Chernoff threshold is a true bound: at a target of 1/200 per recipient, fresh
    /// innocents over the same positions exceed it in well under 1/200 of the trials.
    #[test]
    fn threshold_holds_innocents_below_the_target_rate() {
        let code = code(2, 1e-6);
        let positions: Vec<u64> = (0..300).collect();
        let leak = copy_of(&code, 4, &positions);
        let (leaked, _) = readable(&code, &leak);
        let log_target = 200f64.ln();
        let z = chernoff_threshold(&leaked, log_target);
        // Gaussian tail at 1/200 is 2.58σ; the Chernoff bound sits above it.
        let sigma = (leaked.len() as f64).sqrt();
        assert!(z > 2.5 * sigma && z < 4.0 * sigma, "{z} vs σ = {sigma}");
        let p = monte_carlo_p_value(&leaked, z, 20_000, &Recipient::new("fresh"));
        assert!(p < 1.0 / 200.0, "{p}");
        // And it is not absurdly loose: the Gaussian 2σ point is exceeded often.
        let p = monte_carlo_p_value(&leaked, 2.0 * sigma, 20_000, &Recipient::new("fresh"));
        assert!(p > 0.01, "{p}");
    }
}
