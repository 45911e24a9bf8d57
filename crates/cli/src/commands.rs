//! One function per subcommand: read the arguments into typed values, call the pipeline,
//! print.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use liaison_labels::{Banner, Label, Party};
use liaison_release::{check_document, Entry, IngestOptions, Node};
use liaison_store::AnyStore;
use serde_json::json;

use crate::output::{json, table, Format};

/// The node's home: `--home`, else `LIAISON_HOME`, else `~/.liaison`.
pub(crate) fn home(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(h) = given {
        return Ok(h);
    }
    let base = std::env::var_os("HOME")
        .ok_or_else(|| anyhow!("no `--home` given and `HOME` is not set"))?;
    Ok(PathBuf::from(base).join(".liaison"))
}

pub(crate) fn party(s: &str, what: &str) -> anyhow::Result<Party> {
    Party::parse(s).map_err(|e| anyhow!("{what}: {e}"))
}

/// The node at `home`, on the store its home names.
pub(crate) fn open(home: &Path) -> anyhow::Result<Node<AnyStore>> {
    crate::database::open(home)
}

/// Refuses a node that has partners: `liaison log stress` (a crash-test harness) writes fake
/// delivery leaves, which must never enter the log of a node that partners read. A scratch
/// node made with `liaison init` for the test has none.
pub(crate) fn scratch_only(home: &Path, what: &str) -> anyhow::Result<()> {
    let partners = open(home)?.partners()?.len();
    if partners > 0 {
        return Err(anyhow!(
            "`{what}` writes fake entries into the log and runs only on a scratch node; the node at `{}` has {partners} partner(s)",
            home.display()
        ));
    }
    Ok(())
}

pub(crate) fn init(
    home: &Path,
    p: &str,
    database: Option<&str>,
    fmt: Format,
) -> anyhow::Result<()> {
    let p = party(p, "--party")?;
    let db = match database {
        Some(d) => crate::database::parse_target(d, "--database")?,
        None => liaison_release::Database::default_sqlite(),
    };
    let password = crate::database::password()?;
    let node = Node::init_on(home, &p, &db, password.as_deref())
        .with_context(|| format!("node at `{}` on {}", home.display(), db.describe(home)))?;
    match fmt {
        Format::Json => {
            let mut out = json!({"home": home, "party": node.party().as_str()});
            if database.is_some() {
                out["database"] = json!(db.describe(home));
            }
            json(&out)
        }
        Format::Human => {
            match database {
                Some(_) => println!(
                    "node for {} ready at {} (store: {})",
                    node.party(),
                    home.display(),
                    db.describe(home)
                ),
                None => println!("node for {} ready at {}", node.party(), home.display()),
            }
            Ok(())
        }
    }
}

pub(crate) fn partner_add(home: &Path, p: &str, file: &Path, fmt: Format) -> anyhow::Result<()> {
    let p = party(p, "partner")?;
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read `{}`", file.display()))?;
    let mut node = open(home)?;
    let a = node
        .add_partner(&p, &text)
        .with_context(|| format!("`{}`", file.display()))?;
    match fmt {
        Format::Json => json(&json!({"partner": p.as_str(), "ceiling": a.ceiling.to_string()})),
        Format::Human => {
            println!(
                "partner {} set (ceiling {}, TLP up to {})",
                p, a.ceiling, a.scope.max_tlp
            );
            Ok(())
        }
    }
}

pub(crate) fn partner_secret(
    home: &Path,
    p: &str,
    from_env: Option<&str>,
    fmt: Format,
) -> anyhow::Result<()> {
    let p = party(p, "partner")?;
    let secret = match from_env {
        Some(var) => std::env::var(var).map_err(|_| anyhow!("`{var}` is not set"))?,
        None => {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    let mut node = open(home)?;
    node.set_secret(&p, &secret)?;
    match fmt {
        Format::Json => json(&json!({"partner": p.as_str(), "secret": "set"})),
        Format::Human => {
            println!("secret for {p} set (only its Argon2 hash is kept)");
            Ok(())
        }
    }
}

fn agreement_json(a: &liaison_policy::Agreement) -> serde_json::Value {
    json!({
        "partner": a.party.as_str(),
        "ceiling": a.ceiling.to_string(),
        "compartments": a.compartments,
        "scope": {
            "types": a.scope.types,
            "max_tlp": a.scope.max_tlp.as_str(),
            "topics": a.scope.topics,
        }
    })
}

pub(crate) fn partner_list(home: &Path, fmt: Format) -> anyhow::Result<()> {
    let node = open(home)?;
    let partners = node.partners()?;
    match fmt {
        Format::Json => json(&partners.iter().map(agreement_json).collect::<Vec<_>>()),
        Format::Human => {
            if partners.is_empty() {
                println!(
                    "no partners yet: add one with `liaison partner add XXX --agreement FILE`"
                );
                return Ok(());
            }
            let mut t = table(&[
                "partner",
                "ceiling",
                "compartments",
                "types",
                "max TLP",
                "topics",
            ]);
            for a in &partners {
                let list = |s: &Option<std::collections::BTreeSet<String>>| match s {
                    None => "any".to_owned(),
                    Some(s) => s.iter().cloned().collect::<Vec<_>>().join(", "),
                };
                t.add_row(vec![
                    a.party.to_string(),
                    a.ceiling.to_string(),
                    a.compartments
                        .iter()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", "),
                    list(&a.scope.types),
                    a.scope.max_tlp.to_string(),
                    list(&a.scope.topics),
                ]);
            }
            println!("{t}");
            Ok(())
        }
    }
}

pub(crate) fn agreement_show(home: &Path, p: &str, fmt: Format) -> anyhow::Result<()> {
    let p = party(p, "partner")?;
    let node = open(home)?;
    let a = node.agreement(&p)?;
    let status = node.agreement_status(&p)?;
    match fmt {
        Format::Json => {
            let mut v = agreement_json(&a);
            v["signed"] = serde_json::to_value(&status)?;
            json(&v)
        }
        Format::Human => {
            print!("{}", node.agreement_text(&p)?);
            let line = |what: &str, t: &Option<liaison_release::SignedTerms>| match t {
                None => format!("# {what}: no signed note"),
                Some(t) => format!(
                    "# {what} (sha256 {}): signed by {}{}",
                    t.sha256,
                    t.signed_by.join(" and "),
                    if t.countersigned {
                        ""
                    } else {
                        ", not countersigned yet"
                    }
                ),
            };
            println!("{}", line(&format!("our terms for {p}"), &status.ours));
            println!("{}", line(&format!("{p}'s terms for us"), &status.theirs));
            Ok(())
        }
    }
}

pub(crate) fn ingest(
    home: &Path,
    files: &[PathBuf],
    label: Option<&str>,
    originator: Option<&str>,
    from: Option<&str>,
    batch: Option<usize>,
    fmt: Format,
) -> anyhow::Result<()> {
    let mut node = open(home)?;
    // A larger cache, and patience with a server's upkeep writing beside it.
    liaison_store::ObjectStore::prepare_bulk_load(node.store())?;
    let source = match from {
        Some(f) => Some(party(f, "--from")?),
        None => None,
    };
    let default_label = match label {
        None => None,
        Some(b) => {
            let banner: Banner = b.parse().map_err(|e| anyhow!("--label: {e}"))?;
            // What a partner sent is its material: the label given to it names it.
            let originator = match (originator, &source) {
                (Some(o), _) => party(o, "--originator")?,
                (None, Some(s)) => s.clone(),
                (None, None) => node.party().clone(),
            };
            Some(Label {
                banner,
                originator,
                grading: None,
                duty_to_warn: false,
            })
        }
    };
    let options = IngestOptions {
        default_label,
        source,
    };
    let show = fmt == Format::Human && std::io::IsTerminal::is_terminal(&std::io::stderr());

    // Every file is read and checked before anything is written (a first reading, streamed:
    // memory is bounded by an object, not by the file); then each is read again and written in
    // batches, each batch whole or not at all (see `liaison_release::ingest`).
    let mut checked = Vec::with_capacity(files.len());
    for f in files {
        let (file, size, stamp) = open_file(f)?;
        let bar = if show {
            ProgressBar::new(size)
        } else {
            ProgressBar::hidden()
        };
        bar.set_style(
            ProgressStyle::with_template(
                "{msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_message(format!("checking {}", f.display()));
        let reader = std::io::BufReader::with_capacity(READ_BUFFER, bar.wrap_read(file));
        // STIX 2.0 content (ATT&CK as published, for one) is read as 2.1: see `liaison_stix`.
        let doc =
            check_document(reader, &mut |_| {}).with_context(|| format!("`{}`", f.display()))?;
        bar.finish_and_clear();
        checked.push((f, doc, stamp));
    }
    let mut results = Vec::new();
    for (f, doc, stamp) in &checked {
        let (file, _, now) = open_file(f)?;
        if now != *stamp {
            bail!(
                "`{}`: the file changed after it was checked; nothing from it was written",
                f.display()
            );
        }
        let bar = if show {
            ProgressBar::new(doc.objects)
        } else {
            ProgressBar::hidden()
        };
        bar.set_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} objects ({per_sec})")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_message(format!("storing {}", f.display()));
        let reader = std::io::BufReader::with_capacity(READ_BUFFER, file);
        let summary = node
            .ingest_checked(reader, doc, &options, batch, &mut |n| bar.set_position(n))
            .with_context(|| format!("`{}`", f.display()))?;
        bar.finish_and_clear();
        results.push((f, summary));
    }
    match fmt {
        Format::Json => json(
            &results
                .iter()
                .map(|(f, s)| json!({"file": f, "summary": s}))
                .collect::<Vec<_>>(),
        ),
        Format::Human => {
            let given = options
                .default_label
                .as_ref()
                .map(|l| l.banner.to_string())
                .unwrap_or_default();
            for (f, s) in &results {
                println!("{}: {}", f.display(), ingest_line(s, &given));
                if let Some(first) = s.kept_label.first() {
                    let n = s.kept_label.len();
                    println!(
                        "{}: {} already held kept the label {} had (`{first}`{}): --label labels only what is new to this node",
                        f.display(),
                        plural(n as u64, "object", "objects"),
                        if n == 1 { "it" } else { "they" },
                        if n > 1 { " and others" } else { "" },
                    );
                }
                if s.upgraded > 0 {
                    println!(
                        "{}: {} read as STIX 2.0 and upgraded to 2.1 (`liaison explain` shows what was added)",
                        f.display(),
                        plural(s.upgraded, "object", "objects"),
                    );
                }
                for r in &s.refused {
                    eprintln!(
                        "{}: object {} (`{}`): refused: {}",
                        f.display(),
                        r.index,
                        r.id,
                        r.reason
                    );
                }
            }
            Ok(())
        }
    }?;
    let refused: usize = results.iter().map(|(_, s)| s.refused.len()).sum();
    if refused > 0 {
        // The rest is stored; the exit status says that not everything was.
        return Err(anyhow!(
            "{refused} {} refused at the trust boundary (the rest was stored; `liaison refused` lists them)",
            if refused == 1 { "object was" } else { "objects were" }
        ));
    }
    Ok(())
}

/// The read buffer of an ingested file.
const READ_BUFFER: usize = 1 << 20;

/// A file to ingest, opened, with its size and what tells whether it changed (size and
/// modification time).
fn open_file(
    f: &Path,
) -> anyhow::Result<(std::fs::File, u64, (u64, Option<std::time::SystemTime>))> {
    let file = std::fs::File::open(f).with_context(|| format!("cannot read `{}`", f.display()))?;
    let meta = file
        .metadata()
        .with_context(|| format!("cannot read `{}`", f.display()))?;
    Ok((file, meta.len(), (meta.len(), meta.modified().ok())))
}

/// "1 object", "2 objects".
fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// What one file's ingest did, in one line.
fn ingest_line(s: &liaison_release::IngestSummary, given: &str) -> String {
    let mut line = format!(
        "{}, {} new, {} already held",
        plural(s.objects, "object", "objects"),
        s.added,
        s.duplicates
    );
    if s.labelled > 0 {
        line.push_str(&format!(", {} given the label {given}", s.labelled));
    }
    if s.owner_only > 0 {
        line.push_str(&format!(
            ", {} without a label: owner only (give one with --label)",
            s.owner_only
        ));
    }
    if !s.refused.is_empty() {
        line.push_str(&format!(", {} refused", s.refused.len()));
    }
    line
}

fn consent_json(c: &liaison_store::ConsentRecord, signed: bool) -> serde_json::Value {
    json!({"id": c.id, "object": c.object, "to": c.to, "by": c.by, "created": c.created, "signed": signed})
}

/// `liaison consent add --object --to --by`: our own consent, signed with our key.
pub(crate) fn consent_add(
    home: &Path,
    object: &str,
    to: &str,
    by: &str,
    fmt: Format,
) -> anyhow::Result<()> {
    let to = party(to, "--to")?;
    let by = party(by, "--by")?;
    let mut node = open(home)?;
    let c = node.add_own_consent(object, &to, &by)?;
    match fmt {
        Format::Json => json(&consent_json(&c, true)),
        Format::Human => {
            println!(
                "consent recorded (signed by {by}): {object} (and what derives from it) may go to {to}"
            );
            Ok(())
        }
    }
}

fn read_note(file: &Path) -> anyhow::Result<String> {
    let len = std::fs::metadata(file)
        .with_context(|| format!("cannot read `{}`", file.display()))?
        .len();
    if len > liaison_release::MAX_CONSENT_BYTES as u64 {
        bail!(
            "`{}`: {len} bytes is too large for a consent note",
            file.display()
        );
    }
    std::fs::read_to_string(file).with_context(|| format!("cannot read `{}`", file.display()))
}

/// `liaison consent add --file NOTE`: accept an originator's signed consent.
pub(crate) fn consent_accept(home: &Path, file: &Path, fmt: Format) -> anyhow::Result<()> {
    let note = read_note(file)?;
    let mut node = open(home)?;
    let c = node
        .accept_consent(&note)
        .with_context(|| format!("`{}`", file.display()))?;
    match fmt {
        Format::Json => json(&consent_json(&c, true)),
        Format::Human => {
            println!(
                "consent accepted (signature by {} checked): {} (and what derives from it) may go to {}",
                c.by, c.object, c.to
            );
            Ok(())
        }
    }
}

/// POSTs a signed consent note to `partner`'s `/liaison/consents/`.
fn post_consent(
    node: &Node<AnyStore>,
    home: &Path,
    partner: &Party,
    note: &str,
    secret_env: &str,
) -> anyhow::Result<()> {
    node.agreement(partner)?;
    let secret = std::env::var(secret_env).map_err(|_| {
        anyhow!("set `{secret_env}` to the secret {partner} gave us (it is never taken on the command line)")
    })?;
    let remotes = liaison_exchange::Remotes::in_home(home);
    crate::remote::block_on(liaison_exchange::send_consent(
        node, &remotes, partner, &secret, note,
    ))?
    .map_err(|e| crate::remote::explain(e, "pull from it first"))
}

/// `liaison consent sign --object --to [-o FILE] [--send P]`.
pub(crate) fn consent_sign(
    home: &Path,
    object: &str,
    to: &str,
    output: Option<&Path>,
    send: Option<&str>,
    secret_env: &str,
    fmt: Format,
) -> anyhow::Result<()> {
    let to = party(to, "--to")?;
    let send = send.map(|p| party(p, "--send")).transpose()?;
    let node = open(home)?;
    let note = node.sign_consent(object, &to)?;
    if let Some(path) = output {
        std::fs::write(path, &note)
            .with_context(|| format!("cannot write `{}`", path.display()))?;
    }
    if let Some(p) = &send {
        post_consent(&node, home, p, &note, secret_env)?;
    }
    match fmt {
        Format::Json => json(&json!({
            "object": object,
            "to": to.as_str(),
            "by": node.party().as_str(),
            "note": note,
            "file": output,
            "sent_to": send.as_ref().map(Party::as_str),
        })),
        Format::Human => {
            if output.is_none() {
                print!("{note}");
            }
            if let Some(path) = output {
                eprintln!("signed consent written to {}", path.display());
            }
            if let Some(p) = &send {
                eprintln!("signed consent sent to {p}");
            }
            Ok(())
        }
    }
}

/// `liaison consent send P --file NOTE`.
pub(crate) fn consent_send(
    home: &Path,
    partner: &str,
    file: &Path,
    secret_env: &str,
    fmt: Format,
) -> anyhow::Result<()> {
    let partner = party(partner, "partner")?;
    let note = read_note(file)?;
    let node = open(home)?;
    let c = node
        .check_consent(&note)
        .with_context(|| format!("`{}`", file.display()))?;
    if &c.by != node.party() {
        bail!(
            "`{}` is a consent by {}: a node sends only its own consents ({} sends it)",
            file.display(),
            c.by,
            c.by
        );
    }
    post_consent(&node, home, &partner, &note, secret_env)?;
    match fmt {
        Format::Json => json(
            &json!({"sent_to": partner.as_str(), "object": c.object.to_string(), "to": c.to.as_str(), "by": c.by.as_str()}),
        ),
        Format::Human => {
            println!("consent sent to {partner}: {} may go to {}", c.object, c.to);
            Ok(())
        }
    }
}

pub(crate) fn consent_list(home: &Path, fmt: Format) -> anyhow::Result<()> {
    let node = open(home)?;
    let all = liaison_store::PartnerStore::signed_consents(node.store())?;
    match fmt {
        Format::Json => json(
            &all.iter()
                .map(|(c, s)| consent_json(c, s.is_some()))
                .collect::<Vec<_>>(),
        ),
        Format::Human => {
            let mut t = table(&["object", "to", "by", "signed", "recorded"]);
            for (c, s) in &all {
                t.add_row(vec![
                    c.object.clone(),
                    c.to.clone(),
                    c.by.clone(),
                    if s.is_some() { "yes" } else { "NO" }.to_owned(),
                    c.created.clone(),
                ]);
            }
            println!("{t}");
            Ok(())
        }
    }
}

/// The preview as a table.
pub(crate) fn entries_table(entries: &[Entry]) -> comfy_table::Table {
    let mut t = table(&["object", "decision", "reasons", "cut"]);
    for e in entries {
        let reasons: Vec<String> = e
            .reasons
            .iter()
            .map(|r| format!("{}: {}", r.code, r.detail))
            .collect();
        t.add_row(vec![
            e.object.clone(),
            e.decision.as_str().to_owned(),
            reasons.join("\n"),
            e.cut.join("\n"),
        ]);
    }
    t
}

pub(crate) fn tally(entries: &[Entry]) -> String {
    let count = |v: liaison_policy::Verdict| entries.iter().filter(|e| e.decision == v).count();
    format!(
        "{} release, {} at the tear line, {} withheld",
        count(liaison_policy::Verdict::Release),
        count(liaison_policy::Verdict::Tearline),
        count(liaison_policy::Verdict::Withhold)
    )
}

pub(crate) fn preview(home: &Path, to: &str, fmt: Format) -> anyhow::Result<()> {
    let to = party(to, "--to")?;
    let node = open(home)?;
    let entries = node.preview(&to)?;
    match fmt {
        Format::Json => json(&entries),
        Format::Human => {
            println!("{}", entries_table(&entries));
            println!("for {to}: {}", tally(&entries));
            Ok(())
        }
    }
}

pub(crate) fn export(home: &Path, to: &str, output: &Path, fmt: Format) -> anyhow::Result<()> {
    let to = party(to, "--to")?;
    let mut node = open(home)?;
    let export = node.export(&to)?;
    if output == Path::new("-") {
        println!("{}", export.bundle);
        return Ok(());
    }
    // Write beside the target and rename, so that a reader never sees half a bundle.
    let dir = output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write in `{}`", dir.display()))?;
    std::io::Write::write_all(&mut tmp, export.bundle.as_bytes())?;
    tmp.persist(output)
        .with_context(|| format!("cannot write `{}`", output.display()))?;
    match fmt {
        Format::Json => json(
            &json!({"file": output, "delivered": export.delivered, "logged": true, "fingerprinted": true, "decisions": export.entries}),
        ),
        Format::Human => {
            println!(
                "{}: {} objects delivered to {to}, fingerprinted for it, logged and counted ({})",
                output.display(),
                export.delivered,
                tally(&export.entries)
            );
            Ok(())
        }
    }
}

pub(crate) fn trace(home: &Path, file: &Path, trials: u32, fmt: Format) -> anyhow::Result<()> {
    let text = if file == Path::new("-") {
        let mut t = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut t)
            .context("cannot read standard input")?;
        t
    } else {
        let bytes =
            std::fs::read(file).with_context(|| format!("cannot read `{}`", file.display()))?;
        // A leak may come mangled: read what is text, whatever the encoding damage.
        String::from_utf8_lossy(&bytes).into_owned()
    };
    let mut node = open(home)?;
    let bar = if fmt == Format::Human && text.len() > 1 << 20 {
        ProgressBar::new(0).with_style(
            ProgressStyle::with_template("reading {pos}/{len} objects {wide_bar}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        )
    } else {
        ProgressBar::hidden()
    };
    let t = node.trace(&text, trials, &mut |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })?;
    bar.finish_and_clear();
    match fmt {
        Format::Json => json(&t),
        Format::Human => {
            println!(
                "{}: {} objects read ({} ours), {} ids seen; readable positions: {}; erased: {}",
                file.display(),
                t.objects_read,
                t.objects_matched,
                t.ids_seen,
                if t.readable.is_empty() {
                    "none".to_owned()
                } else {
                    t.readable
                        .iter()
                        .map(|(f, n)| format!("{n} {f}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                },
                t.erased
            );
            if t.accused.is_empty() {
                println!(
                    "cannot tell: {}",
                    t.why_not.as_deref().unwrap_or("no evidence")
                );
            }
            for s in &t.accused {
                println!(
                    "ACCUSED {} (families agreeing: {})",
                    s.recipient,
                    s.families.join(", ")
                );
                if !s.exact_ids.is_empty() {
                    println!(
                        "  {} id(s) delivered only to {}: {}",
                        s.exact_ids.len(),
                        s.recipient,
                        s.exact_ids
                            .iter()
                            .take(3)
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                }
                if s.positions > 0 && !s.threshold.is_finite() {
                    println!(
                        "  code: {} positions, too few for the code to decide on its own",
                        s.positions
                    );
                } else if s.positions > 0 {
                    let p = s.p_value.map_or_else(
                        || "not estimated".to_owned(),
                        |p| format!("{p:.2e} ({} trials)", t.monte_carlo_trials),
                    );
                    println!(
                        "  code score {:.1} over {} positions, threshold {:.1}; probability an innocent scores as high: {p}",
                        s.score, s.positions, s.threshold
                    );
                }
            }
            for s in t
                .recipients
                .iter()
                .filter(|s| !s.accused && s.positions > 0)
            {
                println!(
                    "  not accused: {} (score {:.1}, threshold {:.1}, {} positions)",
                    s.recipient, s.score, s.threshold, s.positions
                );
            }
            Ok(())
        }
    }
}

pub(crate) fn explain(home: &Path, id: &str, to: &str, fmt: Format) -> anyhow::Result<()> {
    let to = party(to, "--to")?;
    let node = open(home)?;
    let x = node.explain(id, &to)?;
    match fmt {
        Format::Json => json(&x),
        Format::Human => {
            println!(
                "{} for {}: {}",
                x.decision.object,
                to,
                x.decision.decision.as_str().to_uppercase()
            );
            for r in &x.decision.reasons {
                println!("  {}: {}", r.code, r.detail);
            }
            if !x.decision.cut.is_empty() {
                println!("  cut: {}", x.decision.cut.join(", "));
            }
            println!("owner: {}", x.owner.as_deref().unwrap_or("(not held)"));
            if let Some(as_id) = &x.fingerprinted_as {
                println!("{to} receives it as: {as_id} (fingerprinted for {to})");
            }
            println!("effective label: {}", x.effective);
            println!("labels behind it:");
            for l in &x.chain {
                let indent = "  ".repeat(l.depth + 1);
                let held = if l.held { "" } else { " (not held)" };
                println!("{indent}{}{held}: {}", l.object, l.label);
            }
            if !x.tearlines.is_empty() {
                println!("tear lines: {}", x.tearlines.join(", "));
            }
            if !x.upgraded_from_stix20.is_empty() {
                println!("upgraded from STIX 2.0 on the way in (the rest is as received):");
                for u in &x.upgraded_from_stix20 {
                    println!("  {u}");
                }
            }
            for d in &x.derivations {
                println!(
                    "derived from {} by {} (owner {}){}",
                    d.source,
                    d.relationship,
                    d.owner.as_deref().unwrap_or("unknown"),
                    d.note
                        .as_deref()
                        .map(|n| format!(": {n}"))
                        .unwrap_or_default()
                );
            }
            Ok(())
        }
    }
}

/// `liaison refused`: what the trust boundary refused, oldest first.
pub(crate) fn refused(
    home: &Path,
    from: Option<&str>,
    limit: usize,
    fmt: Format,
) -> anyhow::Result<()> {
    let node = open(home)?;
    let sender = match from {
        Some(f) => Some(party(f, "--from")?.to_string()),
        None => None,
    };
    let kept = node.refusals(sender.as_deref(), 0, limit)?;
    match fmt {
        Format::Json => json(
            &kept
                .iter()
                .map(|r| {
                    json!({"seq": r.seq, "created": r.created, "from": r.sender, "id": r.id,
                           "version": r.version, "reason": r.reason, "object": r.body})
                })
                .collect::<Vec<_>>(),
        ),
        Format::Human => {
            if kept.is_empty() {
                println!("nothing refused");
            }
            for r in &kept {
                println!(
                    "{} from {}: {} {}: {}",
                    r.created, r.sender, r.id, r.version, r.reason
                );
            }
            Ok(())
        }
    }
}
