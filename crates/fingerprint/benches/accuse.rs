//! `cargo bench -p liaison-fingerprint`: scoring 30 recipients against a leak of 20,000
//! positions in two families (10,000 each, alternating), mixed by two colluders interleaving
//! their copies, without and with the Monte-Carlo p-values; medians of several runs.

use std::time::{Duration, Instant};

use liaison_fingerprint::{
    accuse, AccuseOptions, CodeParams, Delivered, Family, FingerprintKey, Observation, Positions,
    Recipient, TardosCode,
};

const RUNS: usize = 9;

fn main() {
    let params = CodeParams::new(30, 4, 1e-6).unwrap_or_else(|e| unreachable!("{e}"));
    let code = TardosCode::new(&FingerprintKey::from_bytes([5; 32]), params);
    let recipients: Vec<Delivered> = (0..30)
        .map(|j| Delivered {
            recipient: Recipient::new(format!("R{j:02}")),
            received: Positions::All,
        })
        .collect();
    let positions: Vec<u64> = (0..20_000).collect();
    let biases = code.biases(&positions);
    let a = code
        .codeword(&recipients[3].recipient)
        .bits(&positions, &biases);
    let b = code
        .codeword(&recipients[17].recipient)
        .bits(&positions, &biases);
    // Families alternate by pairs of positions, colluders by single positions, so that each
    // colluder shows in each family.
    let leak: Vec<Observation> = positions
        .iter()
        .map(|&position| {
            let i = position as usize;
            Observation {
                position,
                family: if position % 4 < 2 {
                    Family::Order
                } else {
                    Family::Form
                },
                bit: Some(if position % 2 == 0 { a[i] } else { b[i] }),
            }
        })
        .collect();
    let mut scoring = Duration::ZERO;
    for trials in [0, 1_000, 10_000] {
        let options = AccuseOptions {
            monte_carlo_trials: trials,
        };
        let mut times = Vec::with_capacity(RUNS);
        let mut accused = 0;
        for _ in 0..RUNS {
            let start = Instant::now();
            let accusation = accuse(&code, &leak, &recipients, &options);
            times.push(start.elapsed());
            accused = accusation.accused.len();
        }
        times.sort_unstable();
        let median = times[RUNS / 2];
        let (min, max) = (times[0], times[RUNS - 1]);
        if trials == 0 {
            scoring = median;
        }
        let per_accused = if trials > 0 && accused > 0 {
            format!(
                ", p-values ≈ {:?} per accused (median less the 0-trial median)",
                median.saturating_sub(scoring) / accused as u32
            )
        } else {
            String::new()
        };
        println!(
            "accuse: 30 recipients x 20,000 positions (2 families), {trials} Monte-Carlo trials: median {median:?} of {RUNS} (min {min:?}, max {max:?}), {accused} accused{per_accused}"
        );
    }
}
