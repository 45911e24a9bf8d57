//! Private matching (issue 11), both parties in one process, through the public API of
//! `liaison-psi` and its wire form (every message goes through `to_bytes`/`from_bytes`, so
//! serialisation is counted). Each subcommand prints one JSON line on stdout; progress goes to
//! stderr.
//!
//!     psi e2e SIZE [SETS_DIR]     # SIZE selectors each side, half overlapping; SETS_DIR gets
//!                                 # asker.txt / holder.txt (one key a line) for the peer
//!     psi sets SIZE SETS_DIR      # only write the sets (for the peer alone)
//!     psi unbalanced [HOLDER] [ASKER] [RUNS]   # defaults 10000000 1000 11
//!     psi normalise [NAMES] [PHONES]           # defaults 100000 100000
//!
//! Selectors are real normaliser keys (`liaison_selectors::normalise`): phone numbers from six
//! regions (some written in Arabic-Indic digits), e-mail addresses and passports. The holder's
//! 10^7 in `unbalanced` are keys of the same shape made with `format!` (normalising 10^7 phone
//! numbers would take minutes and measure the normaliser, which `normalise` measures).

use std::collections::BTreeSet;
use std::io::Write;
use std::time::Instant;

use anyhow::{bail, ensure, Context as _, Result};
use liaison_psi::{
    bucket, Budget, EpochId, EpochSet, EvaluationRequest, EvaluationResponse, HolderKey, Limits,
    MasterSecret, Query, MAX_REQUEST,
};
use liaison_selectors::{normalise, Context, SelectorKind, NORMALISER_VERSION};
use rand_core::OsRng;

/// A budget no run reaches: the benchmark measures the protocol, not the agreement.
const LARGE_BUDGET: u64 = 1 << 40;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: usize| -> Result<usize> {
        args.get(i)
            .map_or(Ok(default), |a| a.replace('_', "").parse())
            .with_context(|| format!("argument {i} is not a number"))
    };
    match args.first().map(String::as_str) {
        Some("e2e") => e2e(arg(1, 1 << 16)?, args.get(2).map(String::as_str)),
        Some("sets") => {
            let dir = args.get(2).context("usage: psi sets SIZE DIR")?;
            let (asker, holder) = sets(arg(1, 1 << 16)?, &context()?)?;
            write_sets(dir, &asker, &holder)
        }
        Some("unbalanced") => unbalanced(arg(1, 10_000_000)?, arg(2, 1000)?, arg(3, 11)?),
        Some("normalise") => normalise_rate(arg(1, 100_000)?, arg(2, 100_000)?),
        _ => bail!("usage: psi e2e SIZE [SETS_DIR] | psi unbalanced [HOLDER] [ASKER] [RUNS] | psi normalise [NAMES] [PHONES]"),
    }
}

fn secs(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}

fn phase(name: &str, seconds: f64) {
    eprintln!("  {name:<34}{seconds:>9.3} s");
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn context() -> Result<Context> {
    Ok(Context {
        default_region: Some("GB".parse()?),
    })
}

/// Writes ASCII digits as Arabic-Indic ones (U+0660..U+0669), as a partner's files may.
fn arabic_indic(s: &str) -> String {
    s.chars()
        .map(|c| match c.to_digit(10) {
            Some(d) => char::from_u32(0x0660 + d).unwrap_or(c),
            None => c,
        })
        .collect()
}

/// Phone number `n` (distinct for distinct `n` up to 1.5M) in one of six regions, written
/// internationally, sometimes with `00` or in Arabic-Indic digits.
fn raw_phone(n: usize) -> String {
    let (region, k) = (n % 6, n / 6);
    let raw = match region {
        0 => format!("+44 7911 {k:06}"),
        1 => format!(
            "+7 916 {:03}-{:02}-{:02}",
            k / 10_000,
            (k / 100) % 100,
            k % 100
        ),
        2 => format!("+49 151 {k:08}"),
        3 => format!("+1 (212) {}-{:04}", 200 + k / 10_000, k % 10_000),
        4 => format!(
            "+33 6 {:02} {:02} {:02} {:02}",
            k / 1_000_000,
            (k / 10_000) % 100,
            (k / 100) % 100,
            k % 100
        ),
        _ => format!("00971 50 {:03} {:04}", k / 10_000, k % 10_000),
    };
    if n % 7 == 0 {
        arabic_indic(&raw)
    } else {
        raw
    }
}

/// Raw selector `i` of the shared universe: half phone numbers, a quarter e-mail addresses, a
/// quarter passports.
fn raw_selector(i: usize) -> (SelectorKind, String) {
    match i % 4 {
        0 | 1 => (SelectorKind::Phone, raw_phone(i)),
        2 => (SelectorKind::Email, format!("Ivan.Petrov{i}@Example.ORG")),
        _ => (SelectorKind::Document, format!("rus:p:75 {:07}", i / 4)),
    }
}

/// The exact normaliser key of selectors `range`.
fn keys(range: std::ops::Range<usize>, context: &Context) -> Result<Vec<Vec<u8>>> {
    range
        .map(|i| {
            let (kind, raw) = raw_selector(i);
            let keys = normalise(kind, &raw, context)?;
            let key = keys.first().context("the normaliser gave no key")?;
            Ok(key.to_bytes())
        })
        .collect()
}

fn write_set(path: &std::path::Path, keys: &[Vec<u8>]) -> Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    for k in keys {
        out.write_all(k)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

fn limits() -> Limits {
    Limits {
        max_request: MAX_REQUEST,
        normaliser_version: NORMALISER_VERSION,
    }
}

fn epoch_set(holder: &HolderKey, keys: &[Vec<u8>]) -> Result<EpochSet> {
    Ok(holder.precompute(
        keys.iter().map(Vec::as_slice),
        NORMALISER_VERSION,
        &mut OsRng,
    )?)
}

/// `f` over `items` on every core, each thread taking whole items (requests); results in
/// order.
fn across<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> Result<R> + Sync) -> Result<Vec<R>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut lanes: Vec<Vec<(usize, T)>> = (0..threads).map(|_| Vec::new()).collect();
    let n = items.len();
    for (i, item) in items.into_iter().enumerate() {
        lanes[i % threads].push((i, item));
    }
    let done = std::sync::atomic::AtomicUsize::new(0);
    let progress = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let results: Vec<Vec<(usize, Result<R>)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = lanes
            .into_iter()
            .map(|lane| {
                let (f, done) = (&f, &done);
                scope.spawn(move || {
                    lane.into_iter()
                        .map(|(i, item)| {
                            let r = f(item);
                            let d = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                            if progress {
                                eprint!("\r    {d}/{n} requests");
                            }
                            (i, r)
                        })
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    if progress {
        eprint!("\r\x1b[K");
    }
    let mut all: Vec<(usize, Result<R>)> = results.into_iter().flatten().collect();
    all.sort_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, r)| r).collect()
}

/// Selector keys, as the OPRF takes them.
type Keys = Vec<Vec<u8>>;

/// The asker's and the holder's keys: universe[0, SIZE) and universe[SIZE/2, 3 SIZE/2).
fn sets(size: usize, context: &Context) -> Result<(Keys, Keys)> {
    let asker_keys = keys(0..size, context)?;
    let holder_keys = keys(size / 2..size + size / 2, context)?;
    let distinct: BTreeSet<&Vec<u8>> = asker_keys.iter().chain(&holder_keys).collect();
    ensure!(
        distinct.len() == size + size / 2,
        "the generated selectors are not distinct: {} of {}",
        distinct.len(),
        size + size / 2
    );
    Ok((asker_keys, holder_keys))
}

fn write_sets(dir: &str, asker: &[Vec<u8>], holder: &[Vec<u8>]) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    write_set(&std::path::Path::new(dir).join("asker.txt"), asker)?;
    write_set(&std::path::Path::new(dir).join("holder.txt"), holder)
}

/// SIZE selectors each side, half overlapping: the asker holds universe[0, SIZE), the holder
/// universe[SIZE/2, 3 SIZE/2).
fn e2e(size: usize, sets_dir: Option<&str>) -> Result<()> {
    let context = context()?;
    eprintln!("psi e2e: {size} selectors each side, {} shared", size / 2);
    let t = Instant::now();
    let (asker_keys, holder_keys) = sets(size, &context)?;
    phase("normalise both sets (not counted)", secs(t));
    if let Some(dir) = sets_dir {
        write_sets(dir, &asker_keys, &holder_keys)?;
    }

    let total = Instant::now();
    // Holder: key for this asker and epoch, its own set evaluated into filters, sent.
    let t = Instant::now();
    let master = MasterSecret([7u8; 32]);
    let holder = HolderKey::derive(&master, EpochId(1), "USA")?;
    let key_s = secs(t);
    let t = Instant::now();
    let set_bytes = epoch_set(&holder, &holder_keys)?.to_bytes();
    let precompute_s = secs(t);
    phase("holder precompute + encode", precompute_s);
    let t = Instant::now();
    let set = EpochSet::from_bytes(&set_bytes)?;
    let decode_set_s = secs(t);

    // Asker: requests of at most MAX_REQUEST selectors, built on both cores (one request per
    // thread at a time), as the holder serves them: a server answers concurrent requests.
    let t = Instant::now();
    let chunks: Vec<&[Vec<u8>]> = asker_keys.chunks(MAX_REQUEST).collect();
    let built = across(chunks, |chunk| {
        let (query, request) = Query::new(&set, chunk, NORMALISER_VERSION, &mut OsRng)?;
        Ok((query, request.to_bytes()))
    })?;
    let (queries, requests): (Vec<Query>, Vec<Vec<u8>>) = built.into_iter().unzip();
    let blind_s = secs(t);
    phase(
        &format!("asker blind ({} requests)", requests.len()),
        blind_s,
    );

    // Holder: evaluates each request. `evaluate` takes the budget `&mut` for the whole call;
    // each worker charges its own here (a server would charge one and serialise an asker's
    // requests, or charge first and refund on failure).
    let t = Instant::now();
    let limits = limits();
    let responses = across(requests.iter().collect(), |bytes| {
        let mut budget = Budget::new(LARGE_BUDGET);
        let request = EvaluationRequest::from_bytes(bytes)?;
        let response = holder.evaluate(&request, &mut budget, &limits, &mut OsRng)?;
        Ok(response.to_bytes())
    })?;
    let evaluate_s = secs(t);
    phase("holder evaluate", evaluate_s);

    // Asker: verifies, unblinds, looks up.
    let t = Instant::now();
    let matched = across(
        queries.into_iter().zip(&responses).collect(),
        |(query, bytes)| {
            let response = EvaluationResponse::from_bytes(bytes)?;
            Ok(query.finish(&response, &set)?)
        },
    )?;
    let found: BTreeSet<usize> = matched
        .iter()
        .enumerate()
        .flat_map(|(n, indices)| indices.iter().map(move |i| n * MAX_REQUEST + i))
        .collect();
    let finish_s = secs(t);
    phase("asker finish", finish_s);
    let total_s = secs(total);
    phase("total", total_s);

    let expected: BTreeSet<usize> = (size / 2..size).collect();
    if found != expected {
        bail!(
            "WRONG INTERSECTION: found {} selectors, expected {} ({} missing, {} extra)",
            found.len(),
            expected.len(),
            expected.difference(&found).count(),
            found.difference(&expected).count()
        );
    }
    println!(
        "{}",
        serde_json::json!({
            "bench": "e2e",
            "size": size,
            "intersection": found.len(),
            "requests": requests.len(),
            "key_s": key_s,
            "precompute_s": precompute_s,
            "epoch_set_bytes": set_bytes.len(),
            "decode_set_s": decode_set_s,
            "blind_s": blind_s,
            "evaluate_s": evaluate_s,
            "finish_s": finish_s,
            "total_s": total_s,
            "request_bytes": requests.iter().map(Vec::len).sum::<usize>(),
            "response_bytes": responses.iter().map(Vec::len).sum::<usize>(),
        })
    );
    Ok(())
}

/// ASKER real selectors against HOLDER precomputed ones; half of the asker's are held.
fn unbalanced(holder_size: usize, asker_size: usize, runs: usize) -> Result<()> {
    ensure!(
        asker_size <= MAX_REQUEST,
        "the asker's set must fit one request"
    );
    ensure!(
        holder_size >= asker_size / 2,
        "the holder's set is too small"
    );
    let context = context()?;
    eprintln!("psi unbalanced: {asker_size} asker selectors against {holder_size} held");
    let asker_keys = keys(0..asker_size, &context)?;
    let t = Instant::now();
    // The holder holds the asker's second half and filler keys shaped like phone keys, in a
    // range (+44 20 ...) the asker's numbers never use.
    let mut holder_keys: Vec<Vec<u8>> = asker_keys[asker_size / 2..].to_vec();
    let filler = holder_size - holder_keys.len();
    holder_keys.extend(
        (0..filler).map(|i| format!("phone/{NORMALISER_VERSION}/exact:+4420{i:08}").into_bytes()),
    );
    phase("holder selectors (not counted)", secs(t));

    let master = MasterSecret([9u8; 32]);
    let holder = HolderKey::derive(&master, EpochId(1), "USA")?;
    let t = Instant::now();
    let set = epoch_set(&holder, &holder_keys)?;
    let precompute_s = secs(t);
    phase("holder precompute", precompute_s);
    drop(holder_keys);
    let t = Instant::now();
    let set_bytes = set.to_bytes();
    let encode_set_s = secs(t);
    let t = Instant::now();
    let set = EpochSet::from_bytes(&set_bytes)?;
    let decode_set_s = secs(t);
    phase("epoch set encode + decode", encode_set_s + decode_set_s);

    let limits = limits();
    let mut budget = Budget::new(LARGE_BUDGET);
    let expected: Vec<usize> = (asker_size / 2..asker_size).collect();
    let mut online = Vec::new();
    let mut holder_part = Vec::new();
    for run in 0..runs {
        let t = Instant::now();
        let (query, request) = Query::new(&set, &asker_keys, NORMALISER_VERSION, &mut OsRng)?;
        let request_bytes = request.to_bytes();
        let h = Instant::now();
        let request = EvaluationRequest::from_bytes(&request_bytes)?;
        let response = holder
            .evaluate(&request, &mut budget, &limits, &mut OsRng)?
            .to_bytes();
        holder_part.push(h.elapsed().as_secs_f64() * 1e3);
        let response = EvaluationResponse::from_bytes(&response)?;
        let found = query.finish(&response, &set)?;
        online.push(t.elapsed().as_secs_f64() * 1e3);
        if found != expected {
            bail!(
                "WRONG INTERSECTION in run {run}: found {}, expected {}",
                found.len(),
                expected.len()
            );
        }
    }
    let online_ms = median(online.clone());
    phase("asker online (median)", online_ms / 1e3);
    println!(
        "{}",
        serde_json::json!({
            "bench": "unbalanced",
            "holder": holder_size,
            "asker": asker_size,
            "padded_holder": set.padded_size,
            "padded_asker": bucket(asker_size),
            "precompute_s": precompute_s,
            "precompute_us_per_selector": precompute_s * 1e6 / holder_size as f64,
            "epoch_set_bytes": set_bytes.len(),
            "encode_set_s": encode_set_s,
            "decode_set_s": decode_set_s,
            "runs": runs,
            "online_ms_median": online_ms,
            "online_ms_min": online.iter().copied().fold(f64::INFINITY, f64::min),
            "holder_evaluate_ms_median": median(holder_part),
        })
    );
    Ok(())
}

const LATIN: [&str; 12] = [
    "Sergei Ivanov",
    "Sergey Petrov",
    "Aleksandr Smirnov",
    "Mikhail Kuznetsov",
    "Dzhokhar Tsarnaev",
    "Yevgeny Popov",
    "Vladimir Sokolov",
    "Muhammad al-Rashid",
    "Ahmed Hassan",
    "Omar Abdullah",
    "Elena Volkova",
    "Fatima Khalil",
];
const CYRILLIC: [&str; 12] = [
    "Сергей Иванов",
    "Сергей Петров",
    "Александр Смирнов",
    "Михаил Кузнецов",
    "Джохар Царнаев",
    "Евгений Попов",
    "Владимир Соколов",
    "Елена Волкова",
    "Анна Морозова",
    "Дмитрий Лебедев",
    "Юрий Козлов",
    "Ольга Новикова",
];
const ARABIC: [&str; 12] = [
    "محمد الرشيد",
    "أحمد حسن",
    "عمر عبد الله",
    "فاطمة خليل",
    "علي حسين",
    "خالد محمود",
    "يوسف إبراهيم",
    "مريم سعيد",
    "حسن علي",
    "سارة أحمد",
    "عبد الرحمن يوسف",
    "ليلى كريم",
];

/// Names (a third each Latin, Cyrillic, Arabic; a varying middle token so they are not all the
/// same dozen) and phone numbers (six regions, some in Arabic-Indic digits) per second.
fn normalise_rate(names: usize, phones: usize) -> Result<()> {
    let context = context()?;
    let raw_names: Vec<String> = (0..names)
        .map(|i| {
            let list = match i % 3 {
                0 => &LATIN,
                1 => &CYRILLIC,
                _ => &ARABIC,
            };
            let name = list[(i / 3) % list.len()];
            let middle = match i % 3 {
                0 => ["Nikolaevich", "Ali", "Petrovich", "Ibn"][(i / 36) % 4],
                1 => ["Николаевич", "Петрович", "Ильич", "Андреевна"][(i / 36) % 4],
                _ => ["بن", "أبو", "عبد", "نور"][(i / 36) % 4],
            };
            match name.split_once(' ') {
                Some((first, last)) => format!("{first} {middle} {last}"),
                None => name.to_owned(),
            }
        })
        .collect();
    let raw_phones: Vec<String> = (0..phones).map(raw_phone).collect();

    let t = Instant::now();
    let mut name_keys = 0usize;
    for raw in &raw_names {
        name_keys += normalise(SelectorKind::PersonName, raw, &context)?.len();
    }
    let names_s = secs(t);
    let t = Instant::now();
    let mut phone_keys = 0usize;
    for raw in &raw_phones {
        phone_keys += normalise(SelectorKind::Phone, raw, &context)?.len();
    }
    let phones_s = secs(t);
    phase("names", names_s);
    phase("phone numbers", phones_s);
    println!(
        "{}",
        serde_json::json!({
            "bench": "normalise",
            "names": names,
            "name_keys": name_keys,
            "names_per_s": names as f64 / names_s,
            "phones": phones,
            "phone_keys": phone_keys,
            "phones_per_s": phones as f64 / phones_s,
        })
    );
    Ok(())
}
