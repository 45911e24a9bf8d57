//! Curated intelligence on the command line: `assess`, `grade`, `echoes`, `framing` and
//! `partner record`, thin over `liaison_release`'s curation (the figures are computed by the
//! pure `liaison_grading` crate).

use std::path::Path;

use anyhow::anyhow;
use liaison_grading::{Corroboration, Echo, Period, TrackRecord};
use liaison_labels::{Banner, Grading, Label};

use crate::commands::{open, party};
use crate::output::{json, table, Format};

fn grading_text(g: Option<Grading>) -> String {
    g.map_or_else(|| "ungraded".to_owned(), |g| g.to_string())
}

fn print_corroboration(c: &Corroboration) {
    println!("  {}: {} independent source(s)", c.claim, c.sources);
    for cluster in &c.clusters {
        for m in &cluster.members {
            let relayed = m
                .relayed_from
                .as_ref()
                .map(|r| format!(", relayed from {r}"))
                .unwrap_or_default();
            println!(
                "    {} [{}] from {}, by {}, {}{relayed}",
                m.id,
                m.reason.as_str(),
                m.from,
                m.originator,
                grading_text(m.grading)
            );
        }
    }
}

fn print_echo(e: &Echo) {
    let echoes = e
        .echoes
        .as_ref()
        .map(|x| {
            format!(
                " of {x}{}",
                e.echoes_from
                    .as_ref()
                    .map(|f| format!(" (from {f})"))
                    .unwrap_or_default()
            )
        })
        .unwrap_or_default();
    println!(
        "  CIRCULAR ({}): {} from {} is an echo{echoes}; evidence: {}",
        e.kind.as_str(),
        e.item,
        e.from,
        serde_json::to_string(&e.evidence).unwrap_or_default()
    );
}

fn print_record(r: &TrackRecord) {
    let rate = |x: &liaison_grading::Rate| match x.value() {
        Some(v) => format!("{}/{} ({:.0} %)", x.count, x.of, v * 100.0),
        None => "-".to_owned(),
    };
    let mut t = table(&[
        "period",
        "items",
        "reliability",
        "credibility",
        "ungraded",
        "corroborated",
        "contradicted",
    ]);
    let counts = |m: &std::collections::BTreeMap<String, u64>| {
        m.iter()
            .map(|(k, v)| format!("{k}:{v}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    for p in r.periods.iter().chain(std::iter::once(&r.total)) {
        t.add_row(vec![
            p.period.clone(),
            p.items.to_string(),
            counts(&p.reliability),
            counts(&p.credibility),
            p.ungraded.to_string(),
            rate(&p.corroborated),
            rate(&p.contradicted),
        ]);
    }
    println!("{t}");
}

pub(crate) fn assess(home: &Path, id: &str, fmt: Format) -> anyhow::Result<()> {
    let node = open(home)?;
    let report = node.assess(id)?;
    match fmt {
        Format::Json => json(&report),
        Format::Human => {
            let a = &report.assessment;
            println!(
                "{} from {}, by {}: {} (value factor {:.2}){}",
                a.id,
                a.from,
                a.originator,
                grading_text(a.grading),
                a.factor,
                if a.corroborated {
                    ", corroborated by an independent source"
                } else {
                    ", not corroborated by an independent source"
                }
            );
            if a.claims.is_empty() {
                println!("  it asserts nothing the node counts (no indicator, attribution or characterisation)");
            }
            for c in &a.claims {
                print_corroboration(c);
            }
            if let Some(e) = &a.echo {
                print_echo(e);
            }
            if let Some(r) = &report.track_record {
                println!("{}'s track record:", r.partner);
                print_record(r);
            }
            Ok(())
        }
    }
}

pub(crate) fn echoes(home: &Path, fmt: Format) -> anyhow::Result<()> {
    let node = open(home)?;
    let all = node.echoes()?;
    match fmt {
        Format::Json => json(&all),
        Format::Human => {
            if all.is_empty() {
                println!("no circular reporting found");
            }
            for e in &all {
                print_echo(e);
            }
            Ok(())
        }
    }
}

pub(crate) fn record(home: &Path, partner: &str, period: &str, fmt: Format) -> anyhow::Result<()> {
    let partner = party(partner, "partner")?;
    let period = match period {
        "month" => Period::Month,
        "quarter" => Period::Quarter,
        "year" => Period::Year,
        other => return Err(anyhow!("--period: `{other}` is not month, quarter or year")),
    };
    let node = open(home)?;
    let r = node.partner_record(&partner, period)?;
    match fmt {
        Format::Json => json(&r),
        Format::Human => {
            println!("{partner}'s reporting, graded and later corroborated or contradicted:");
            print_record(&r);
            Ok(())
        }
    }
}

pub(crate) fn framing(home: &Path, partner: &str, fmt: Format) -> anyhow::Result<()> {
    let partner = party(partner, "--partner")?;
    let node = open(home)?;
    let f = node.framing(&partner)?;
    match fmt {
        Format::Json => json(&f),
        Format::Human => {
            if f.divergences.is_empty() {
                println!("{partner} characterises no entity in a way no independent source does");
            }
            for d in &f.divergences {
                println!("{}", d.summary(&partner));
                for e in &d.entities {
                    let others = e
                        .others
                        .iter()
                        .map(|(v, by)| {
                            format!(
                                "{v} ({})",
                                by.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", ")
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("; ");
                    println!(
                        "  {}: others say {}; we say {}",
                        e.entity,
                        if others.is_empty() {
                            "nothing".into()
                        } else {
                            others
                        },
                        if e.ours.is_empty() {
                            "nothing".into()
                        } else {
                            e.ours.join(", ")
                        }
                    );
                }
            }
            Ok(())
        }
    }
}

pub(crate) struct GradeArgs<'a> {
    pub(crate) id: &'a str,
    pub(crate) grading: &'a str,
    pub(crate) opinion: &'a str,
    pub(crate) explanation: Option<&'a str>,
    pub(crate) label: &'a str,
}

pub(crate) fn grade(home: &Path, args: &GradeArgs<'_>, fmt: Format) -> anyhow::Result<()> {
    let grading: Grading = args
        .grading
        .parse()
        .map_err(|e| anyhow!("--grading: {e}"))?;
    let banner: Banner = args.label.parse().map_err(|e| anyhow!("--label: {e}"))?;
    let mut node = open(home)?;
    let label = Label {
        banner,
        originator: node.party().clone(),
        grading: None,
        duty_to_warn: false,
    };
    let opinion = node.grade(args.id, grading, args.opinion, args.explanation, &label)?;
    match fmt {
        Format::Json => json(&serde_json::json!({
            "opinion": opinion, "object": args.id, "grading": grading.to_string(),
        })),
        Format::Human => {
            println!(
                "graded {} {grading} ({}): opinion {opinion}, labelled {}",
                args.id, args.opinion, args.label
            );
            Ok(())
        }
    }
}
