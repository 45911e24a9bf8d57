//! `cargo bench -p liaison-fingerprint`: scoring 30 recipients against a leak of 10,000
//! positions (two colluders, interleaved), with and without the Monte-Carlo p-values.

use std::time::{Duration, Instant};

use liaison_fingerprint::{
    accuse, AccuseOptions, CodeParams, Delivered, FingerprintKey, Observation, Positions,
    Recipient, TardosCode,
};

fn main() {
    let params = CodeParams::new(30, 4, 1e-6).unwrap_or_else(|e| unreachable!("{e}"));
    let code = TardosCode::new(&FingerprintKey::from_bytes([5; 32]), params);
    let recipients: Vec<Delivered> = (0..30)
        .map(|j| Delivered {
            recipient: Recipient::new(format!("R{j:02}")),
            received: Positions::All,
        })
        .collect();
    let positions: Vec<u64> = (0..10_000).collect();
    let biases = code.biases(&positions);
    let a = code
        .codeword(&recipients[3].recipient)
        .bits(&positions, &biases);
    let b = code
        .codeword(&recipients[17].recipient)
        .bits(&positions, &biases);
    let leak: Vec<Observation> = positions
        .iter()
        .map(|&position| {
            let i = position as usize;
            let bit = if position % 2 == 0 { a[i] } else { b[i] };
            Observation {
                position,
                bit: Some(bit),
            }
        })
        .collect();
    for trials in [0, 1_000, 10_000] {
        let options = AccuseOptions {
            monte_carlo_trials: trials,
        };
        let runs = 10;
        let mut best = Duration::MAX;
        let mut accused = 0;
        for _ in 0..runs {
            let start = Instant::now();
            let accusation = accuse(&code, &leak, &recipients, &options);
            best = best.min(start.elapsed());
            accused = accusation.accused.len();
        }
        println!(
            "accuse: 30 recipients x 10,000 positions, {trials} Monte-Carlo trials: {best:?} (best of {runs}), {accused} accused"
        );
    }
}
