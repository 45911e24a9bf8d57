//! `cargo bench -p liaison-psi`: one request of 2^12 selectors through `liaison-psi`
//! (`Query::new`, `HolderKey::evaluate`, `Query::finish`) against the same exchange done with
//! `voprf` 0.5's own batch API alone (`VoprfClient::blind`, `VoprfServer::batch_blind_evaluate`,
//! `VoprfClient::batch_finalize`), alternating, on the same inputs; medians of the rounds.
//! Run it under `taskset -c 0` to compare on one core (the proof's multiscalar
//! multiplication alone), without to let `liaison-psi` spread its work over the cores.

use std::time::{Duration, Instant};

use liaison_psi::{Budget, EpochId, HolderKey, Limits, MasterSecret, Query};
use rand_core::OsRng;
use voprf::{BlindedElement, VoprfClient, VoprfServer};

type Suite = voprf::Ristretto255;

const SIZE: usize = 4096;
const ROUNDS: usize = 7;

fn fail(e: impl std::fmt::Debug) -> String {
    format!("{e:?}")
}

fn median(mut times: Vec<Duration>) -> f64 {
    times.sort();
    times[times.len() / 2].as_secs_f64() * 1e3
}

fn main() -> Result<(), String> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let inputs: Vec<Vec<u8>> = (0..SIZE)
        .map(|i| format!("phone/+4420794600{i:04}").into_bytes())
        .collect();
    let key = HolderKey::derive(&MasterSecret([1; 32]), EpochId(1), "RUS").map_err(fail)?;
    let held: Vec<&[u8]> = inputs.iter().step_by(2).map(Vec::as_slice).collect();
    let set = key.precompute(held, 1, &mut OsRng).map_err(fail)?;
    let limits = Limits {
        max_request: SIZE,
        normaliser_version: 1,
    };
    let server = VoprfServer::<Suite>::new_from_seed(&[1; 32], b"bench").map_err(fail)?;
    let pk = server.get_public_key();

    let mut ours = [Vec::new(), Vec::new(), Vec::new()];
    let mut theirs = [Vec::new(), Vec::new(), Vec::new()];
    for _ in 0..ROUNDS {
        let start = Instant::now();
        let (query, request) = Query::new(&set, &inputs, 1, &mut OsRng).map_err(fail)?;
        ours[0].push(start.elapsed());
        let start = Instant::now();
        let mut budget = Budget::new(SIZE as u64);
        let response = key
            .evaluate(&request, &mut budget, &limits, &mut OsRng)
            .map_err(fail)?;
        ours[1].push(start.elapsed());
        let start = Instant::now();
        let found = query.finish(&response, &set).map_err(fail)?;
        ours[2].push(start.elapsed());
        if found.len() != SIZE / 2 {
            return Err(format!("{} found, {} expected", found.len(), SIZE / 2));
        }

        let start = Instant::now();
        let blinded: Vec<_> = inputs
            .iter()
            .map(|input| VoprfClient::<Suite>::blind(input, &mut OsRng).map_err(fail))
            .collect::<Result<_, _>>()?;
        theirs[0].push(start.elapsed());
        let messages: Vec<BlindedElement<Suite>> =
            blinded.iter().map(|b| b.message.clone()).collect();
        let start = Instant::now();
        let evaluated = server
            .batch_blind_evaluate(&mut OsRng, &messages)
            .map_err(fail)?;
        theirs[1].push(start.elapsed());
        let states: Vec<_> = blinded.into_iter().map(|b| b.state).collect();
        let start = Instant::now();
        let outputs = VoprfClient::batch_finalize(
            &inputs,
            &states,
            &evaluated.messages,
            &evaluated.proof,
            pk,
        )
        .map_err(fail)?;
        if outputs.filter(Result::is_ok).count() != SIZE {
            return Err("voprf: an output failed".to_owned());
        }
        theirs[2].push(start.elapsed());
    }
    println!("psi exchange, one request of {SIZE} selectors, {cores} core(s), medians of {ROUNDS}");
    println!(
        "{:<28}{:>12}{:>12}{:>9}",
        "", "voprf, ms", "liaison, ms", "ratio"
    );
    let mut total = (0.0, 0.0);
    for (i, phase) in [
        "asker: blind",
        "holder: evaluate + proof",
        "asker: verify + finalize",
    ]
    .iter()
    .enumerate()
    {
        let (t, o) = (median(theirs[i].clone()), median(ours[i].clone()));
        total = (total.0 + t, total.1 + o);
        println!("{phase:<28}{t:>12.1}{o:>12.1}{:>8.2}x", t / o);
    }
    println!(
        "{:<28}{:>12.1}{:>12.1}{:>8.2}x",
        "total",
        total.0,
        total.1,
        total.0 / total.1
    );
    Ok(())
}
