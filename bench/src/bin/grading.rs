//! Corroboration and echo detection at scale (issue 12): ITEMS synthetic items (249
//! originators, skewed; 30 partners relaying 30 % of them; 10 % `derived-from` one or two
//! earlier items; 40 % with a paragraph of text, of which one in ten paraphrases an earlier
//! text with three words changed; 0.5 % carrying our marks; one or two indicator claims each
//! over a skewed pool, 5 % characterisations) computed from scratch with
//! `Engine::from_items`, then ADDS more items of the same mix added one at a time with
//! `Engine::add`. Prints a table and one JSON line, times in milliseconds.
//!
//!     grading [ITEMS] [ADDS]      # defaults 1000000 1000

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use liaison_grading::{Claim, Engine, Item, Property, Signature};
use liaison_labels::{Party, ISO_3166_ALPHA3};
use liaison_stix::Timestamp;

const PARTNERS: [&str; 30] = [
    "GBR", "RUS", "FRA", "DEU", "ITA", "ESP", "NLD", "BEL", "POL", "SWE", "NOR", "DNK", "FIN",
    "AUT", "CHE", "PRT", "GRC", "TUR", "ISR", "JOR", "EGY", "IND", "JPN", "KOR", "AUS", "NZL",
    "CAN", "MEX", "BRA", "ZAF",
];

const VALUES: [&str; 8] = [
    "terrorist",
    "nationalist",
    "activist",
    "criminal",
    "spy",
    "hacker",
    "insider",
    "unknown",
];

/// xorshift64*, seeded: the same items every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    /// Skewed towards 0: the minimum of two uniform draws.
    fn skewed(&mut self, n: usize) -> usize {
        self.below(n).min(self.below(n))
    }
}

/// Paragraph `seed`: 60 words from a 5,000-word vocabulary, with `changed` words replaced.
fn paragraph(seed: u64, changed: u64) -> String {
    let mut r = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut words: Vec<String> = (0..60).map(|_| format!("w{}", r.below(5000))).collect();
    for k in 0..changed {
        let at = (k as usize * 17 + 5) % words.len();
        words[at] = format!("paraphrase{k}x{seed}");
    }
    words.join(" ")
}

struct Gen {
    rng: Rng,
    originators: Vec<Party>,
    partners: Vec<Party>,
    /// Text seed of each generated item with text: (index, seed).
    texts: Vec<(usize, u64)>,
}

impl Gen {
    fn item(&mut self, i: usize) -> Result<Item> {
        let r = &mut self.rng;
        let originator = self.originators[r.skewed(self.originators.len())].clone();
        let source = if r.below(10) < 7 {
            originator.clone()
        } else {
            self.partners[r.below(self.partners.len())].clone()
        };
        let mut derived_from = Vec::new();
        if i > 0 && r.below(10) == 0 {
            for _ in 0..1 + r.below(2) {
                let back = if r.below(10) < 8 {
                    1 + r.below(10_000.min(i))
                } else {
                    1 + r.below(i)
                };
                derived_from.push(id(i - back));
            }
        }
        let signature = if r.below(10) < 4 {
            let (seed, changed) = match (self.texts.len(), r.below(10)) {
                (n, 0) if n > 0 => (self.texts[r.below(n)].1, 3),
                _ => (i as u64 + 1, 0),
            };
            self.texts.push((i, seed));
            Signature::of_text(&paragraph(seed, changed))
        } else {
            None
        };
        let our_marks = (r.below(200) == 0).then(|| "ids remapped for a partner".to_owned());
        let mut claims = Vec::new();
        for _ in 0..1 + r.below(2) {
            claims.push(Claim::Indicator {
                value: format!("10.{}", r.skewed(300_000)),
            });
        }
        if r.below(20) == 0 {
            claims.push(Claim::Characterisation {
                entity: format!("group-{}", r.skewed(2000)),
                property: Property::ThreatActorTypes,
                value: VALUES[r.skewed(VALUES.len())].to_owned(),
            });
        }
        let time =
            Timestamp::from_unix_nanos(1_767_225_600_000_000_000 + i as i128 * 1_000_000_000, 0)
                .context("timestamp")?;
        Ok(Item {
            id: id(i),
            originator,
            source,
            derived_from,
            signature,
            our_marks,
            grading: None,
            time,
            claims,
        })
    }
}

fn id(i: usize) -> String {
    format!("report--00000000-0000-4000-8000-{i:012x}")
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(Ok(1_000_000), |a| a.parse())?;
    let adds: usize = args.next().map_or(Ok(1000), |a| a.parse())?.max(1);
    let mut generator = Gen {
        rng: Rng(0x6772_6164_696e_6721),
        originators: ISO_3166_ALPHA3
            .iter()
            .map(|p| Party::parse(p))
            .collect::<Result<_, _>>()?,
        partners: PARTNERS
            .iter()
            .map(|p| Party::parse(p))
            .collect::<Result<_, _>>()?,
        texts: Vec::new(),
    };
    let t = Instant::now();
    let items: Vec<Item> = (0..n).map(|i| generator.item(i)).collect::<Result<_>>()?;
    let build = t.elapsed();
    let signed = generator.texts.len();

    let t = Instant::now();
    let mut engine = Engine::from_items(Party::parse("USA")?, items)?;
    let full = t.elapsed();
    let t = Instant::now();
    let echoes = engine.echoes().count();
    let echo_read = t.elapsed();
    let (claims, sources) = engine
        .claims()
        .fold((0usize, 0usize), |(c, s), (_, n)| (c + 1, s + n));

    let mut times = Vec::with_capacity(adds);
    for k in 0..adds {
        let item = generator.item(n + k)?;
        let t = Instant::now();
        let update = engine.add(item)?;
        times.push(t.elapsed());
        std::hint::black_box(update);
    }
    times.sort();
    let at = |q: f64| ms(times[((times.len() - 1) as f64 * q) as usize]);
    let (median, p99, max) = (at(0.5), at(0.99), at(1.0));
    let rss = peak_rss_mib().unwrap_or(0.0);

    println!("| figure | value |");
    println!("|---|---|");
    println!("| items | {n} ({signed} with a text signature) |");
    println!(
        "| items built, signatures included (the caller's cost at ingest) | {:.0} ms |",
        ms(build)
    );
    println!("| full computation (`Engine::from_items`: indexes, every claim counted, every echo flag) | {:.0} ms |", ms(full));
    println!(
        "| reading every echo flag with its evidence ({echoes} echoes) | {:.0} ms |",
        ms(echo_read)
    );
    println!("| claims / independent sources over all claims | {claims} / {sources} |");
    println!("| `Engine::add` of one new item, median of {adds} | {median:.3} ms |");
    println!("| `Engine::add`, p99 / max | {p99:.3} ms / {max:.3} ms |");
    println!("| peak resident memory | {rss:.0} MiB |");
    println!(
        "{{\"items\":{n},\"signed\":{signed},\"build_ms\":{:.1},\"full_ms\":{:.1},\"echo_read_ms\":{:.1},\"echoes\":{echoes},\"claims\":{claims},\"sources\":{sources},\"add_median_ms\":{median:.4},\"add_p99_ms\":{p99:.4},\"add_max_ms\":{max:.4},\"peak_rss_mib\":{rss:.0}}}",
        ms(build),
        ms(full),
        ms(echo_read)
    );
    Ok(())
}
