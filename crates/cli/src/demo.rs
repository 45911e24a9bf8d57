//! `liaison demo`: a node for the USA in a temporary directory walks through a small
//! counter-terrorism exchange, narrating each step. It checks its own claims as it goes and
//! fails loudly if one does not hold, so the tests run it as they run the product.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::{bail, Context};
use liaison_exchange::ExchangeError;
use liaison_labels::{Label, Party};
use liaison_policy::Verdict;
use liaison_release::sample::{
    gbr_relay_bundle, isr_bundle, labels, rus_bundle, rus_holdings, rus_knf_bundle, usa_bundle,
    usa_knf_bundle, ASSESSMENT, DERIVED, GBR_AGREEMENT, GBR_RELAY, ISR_REPORT, ISR_TEARLINE,
    NOFORN_NOTE, RUS_AGREEMENT, RUS_INDICATOR, RUS_KNF_REPORT, RUS_TERMS_FOR_USA,
};
use liaison_release::{Entry, IngestOptions, Node};
use liaison_stix::{parse_document, StixObject};
use liaison_store::SqliteStore;
use serde_json::json;

use crate::commands::{entries_table, tally};
use crate::output::{self, Format};
use crate::remote::{pull_into, pull_typed, PullArgs};

struct Narrator {
    human: bool,
    step: usize,
}

impl Narrator {
    fn say(&mut self, title: &str, text: &str) {
        if self.human {
            self.step += 1;
            println!("\n── {}. {title}", self.step);
            for line in text.lines() {
                println!("   {line}");
            }
        }
    }

    fn show(&self, entries: &[Entry], to: &str) {
        if self.human {
            println!("{}", entries_table(entries));
            println!("   for {to}: {}", tally(entries));
        }
    }
}

fn decision<'a>(entries: &'a [Entry], id: &str) -> anyhow::Result<&'a Entry> {
    entries
        .iter()
        .find(|e| e.object == id)
        .with_context(|| format!("demo: no decision for `{id}`"))
}

fn expect(entries: &[Entry], id: &str, verdict: Verdict, codes: &[&str]) -> anyhow::Result<()> {
    let e = decision(entries, id)?;
    let got: Vec<&str> = e.reasons.iter().map(|r| r.code.as_str()).collect();
    if e.decision != verdict || codes.iter().any(|c| !got.contains(c)) {
        bail!(
            "demo check failed for `{id}`: expected {} with {codes:?}, got {} with {got:?}",
            verdict.as_str(),
            e.decision.as_str()
        );
    }
    Ok(())
}

pub(crate) fn run(keep: Option<PathBuf>, fmt: Format) -> anyhow::Result<()> {
    let tmp;
    let home = match keep {
        Some(dir) => dir,
        None => {
            tmp = tempfile::tempdir()?;
            tmp.path().to_path_buf()
        }
    };
    let mut n = Narrator {
        human: fmt == Format::Human,
        step: 0,
    };
    let l = labels()?;
    let usa = Party::parse("USA")?;
    let gbr = Party::parse("GBR")?;
    let rus = Party::parse("RUS")?;
    let isr = Party::parse("ISR")?;

    n.say(
        "A node for the USA",
        &format!("liaison init --party USA   (home: {})", home.display()),
    );
    let mut node: Node<SqliteStore> = Node::init(&home, &usa)?;

    n.say(
        "Two partners, two agreements",
        "GBR: a close partner, up to SECRET, TLP up to AMBER.\nRUS: counter-terrorism only, up to CONFIDENTIAL, TLP:GREEN, a few STIX types, topic `terrorism`.",
    );
    node.add_partner(&gbr, GBR_AGREEMENT)?;
    node.add_partner(&rus, RUS_AGREEMENT)?;

    n.say(
        "ISR, an ally, shares an ORCON report on an airline bomb plot",
        "Labelled SECRET//ORCON//REL TO USA, GBR and graded B2: ISR owns it, and onward release needs ISR's consent.\nISR also sends its own tear line: a CONFIDENTIAL warning releasable to RUS.",
    );
    let s = node.ingest(
        &isr_bundle(&l)?,
        &IngestOptions {
            default_label: None,
            source: Some(liaison_labels::Party::parse("ISR")?),
        },
        &mut |_| {},
    )?;
    if n.human {
        println!("   ingested {} objects from ISR", s.added);
    }

    n.say(
        "Our analysts write an assessment derived from ISR's report",
        "The assessment is our own SECRET//REL TO USA, GBR, RUS, but a `derived-from` relationship ties it to ISR's report,\nso its effective label joins ISR's: REL TO shrinks to USA, GBR and ISR's ORCON comes with it.\nA NOFORN collection note stays home whatever happens.",
    );
    let s = node.ingest(&usa_bundle(&l)?, &IngestOptions::default(), &mut |_| {})?;
    if n.human {
        println!("   ingested {} objects of our own", s.added);
    }

    n.say(
        "ISR consents to release its report (and what derives from it) to GBR",
        "On ISR's node: liaison consent sign --object <ISR report> --to GBR   (a note signed with ISR's node key)\nOn ours: liaison partner logkey ISR <ISR's key>; liaison consent add --file consent.note\nA consent is accepted only with a valid signature of the originator it names, and is logged.",
    );
    let isr_home = home.join("nodes").join("isr");
    let mut isr_node: Node<SqliteStore> = Node::init(&isr_home, &isr)?;
    isr_node.ingest(&isr_bundle(&l)?, &IngestOptions::default(), &mut |_| {})?;
    isr_node.add_partner(&usa, ISR_WITH_USA)?;
    let note = isr_node.sign_consent(ISR_REPORT, &gbr)?;
    node.add_partner(&isr, USA_WITH_ISR)?;
    node.set_partner_key(
        &isr,
        liaison_release::PARTNER_LOG_KEY,
        &isr_node.log_keys().node.verifier_key().to_string(),
    )?;
    let forged = note.replace("to GBR", "to RUS");
    if node.accept_consent(&forged).is_ok() {
        bail!("demo check failed: a consent altered in transit was accepted");
    }
    node.accept_consent(&note)?;
    if n.human {
        for line in note.lines() {
            println!("   | {line}");
        }
        println!(
            "   (the same note altered to name RUS is refused: its signature no longer verifies)"
        );
    }

    n.say("What RUS would receive", "liaison release preview --to RUS");
    let to_rus = node.preview(&rus)?;
    n.show(&to_rus, "RUS");
    expect(
        &to_rus,
        ASSESSMENT,
        Verdict::Withhold,
        &["third_party_rule", "not_releasable_to"],
    )?;
    expect(
        &to_rus,
        ISR_REPORT,
        Verdict::Tearline,
        &["third_party_rule", "tearline"],
    )?;
    expect(&to_rus, ISR_TEARLINE, Verdict::Release, &[])?;
    expect(&to_rus, NOFORN_NOTE, Verdict::Withhold, &["noforn"])?;
    expect(&to_rus, DERIVED, Verdict::Withhold, &["endpoint_withheld"])?;

    n.say("What GBR would receive", "liaison release preview --to GBR");
    let to_gbr = node.preview(&gbr)?;
    n.show(&to_gbr, "GBR");
    expect(&to_gbr, ASSESSMENT, Verdict::Release, &["field_cut"])?;
    expect(&to_gbr, NOFORN_NOTE, Verdict::Withhold, &["noforn"])?;

    n.say(
        "Why the assessment does not go to RUS",
        &format!("liaison explain {ASSESSMENT} --to RUS"),
    );
    let why = node.explain(ASSESSMENT, &rus)?;
    if n.human {
        println!("   effective label: {}", why.effective);
        for c in &why.chain {
            println!("   {}{}: {}", "  ".repeat(c.depth), c.object, c.label);
        }
    }

    n.say(
        "The bundles that would go",
        "liaison release export --to RUS -o rus.json; liaison release export --to GBR -o gbr.json",
    );
    let rus_export = node.export(&rus)?;
    let gbr_export = node.export(&gbr)?;
    for (name, text) in [
        ("rus.json", &rus_export.bundle),
        ("gbr.json", &gbr_export.bundle),
    ] {
        std::fs::write(home.join(name), text)?;
    }
    // The third-party rule, checked on the bytes: nothing of ISR's report or our assessment
    // (not even a reference) reaches RUS; NOFORN reaches nobody.
    // Copies carry the recipient's ids: look for ours and for the ones RUS would have had.
    for forbidden in [ASSESSMENT, ISR_REPORT, NOFORN_NOTE, DERIVED] {
        let as_rus = node.delivered_id(&rus, forbidden)?;
        if rus_export.bundle.contains(forbidden) || rus_export.bundle.contains(&as_rus) {
            bail!("demo check failed: `{forbidden}` appears in the bundle for RUS");
        }
    }
    if gbr_export.bundle.contains(NOFORN_NOTE) || gbr_export.bundle.contains("x_collection_method")
    {
        bail!("demo check failed: NOFORN material appears in the bundle for GBR");
    }
    let gbr_doc = parse_document(&gbr_export.bundle)?;
    let gbr_ids: Vec<&str> = gbr_doc
        .objects
        .iter()
        .map(|o: &StixObject| o.id().as_str())
        .collect();
    let gbr_assessment = node.delivered_id(&gbr, ASSESSMENT)?;
    if !gbr_ids.contains(&gbr_assessment.as_str()) {
        bail!("demo check failed: the assessment did not reach GBR");
    }
    // GBR's copy carries the effective label, ORCON included, so that GBR's own node will
    // not pass ISR-derived material on without consent.
    let carried = gbr_doc
        .objects
        .iter()
        .find(|o| o.id().as_str() == gbr_assessment)
        .and_then(|a| a.object_marking_refs().first().cloned())
        .and_then(|m| gbr_doc.objects.iter().find(|o| *o.id() == m))
        .map(Label::from_marking_definition);
    match carried {
        Some(Ok(Some(l))) if l.banner.controls.contains(&liaison_labels::Control::Orcon) => {
            if n.human {
                println!("   GBR's copy of the assessment is labelled {}", l.banner);
            }
        }
        _ => bail!("demo check failed: GBR's copy of the assessment does not carry its effective ORCON label"),
    }
    if n.human {
        println!("   RUS: {} objects, none of them ISR's report or anything derived from it (ISR's tear line instead)", rus_export.delivered);
        println!(
            "   GBR: {} objects, the assessment without its NOFORN collection detail",
            gbr_export.delivered
        );
        println!("   written to {}", home.display());
    }
    n.say(
        "A copy turns up where it should not",
        "liaison trace leaked.json   (RUS's copy, as posted elsewhere)\nliaison trace mixed.json    (RUS and GBR mixed their copies to hide)\nEvery copy carries its recipient's marks: its own ids, and harmless variants chosen by its code.",
    );
    let leaked = home.join("leaked.json");
    std::fs::write(&leaked, &rus_export.bundle)?;
    let traced = node.trace(&rus_export.bundle, 1000, &mut |_, _| {})?;
    let named: Vec<&str> = traced
        .accused
        .iter()
        .map(|s| s.recipient.as_str())
        .collect();
    if named != ["RUS"] {
        bail!("demo check failed: RUS's leaked copy was traced to {named:?}");
    }
    let mixed = mix(&rus_export.bundle, &gbr_export.bundle)?;
    std::fs::write(home.join("mixed.json"), &mixed)?;
    let traced_mixed = node.trace(&mixed, 1000, &mut |_, _| {})?;
    let named_mixed: Vec<&str> = traced_mixed
        .accused
        .iter()
        .map(|s| s.recipient.as_str())
        .collect();
    if named_mixed.is_empty() || named_mixed.iter().any(|r| *r != "RUS" && *r != "GBR") {
        bail!("demo check failed: the mixed copy was traced to {named_mixed:?}");
    }
    if n.human {
        for (what, t) in [("leaked.json", &traced), ("mixed.json", &traced_mixed)] {
            for s in &t.accused {
                println!(
                    "   {what}: accuses {} ({} of its own ids in the copy; families: {})",
                    s.recipient,
                    s.exact_ids.len(),
                    s.families.join(", ")
                );
            }
        }
    }
    let network = over_the_network(node, &home, &mut n)?;
    if n.human {
        println!("\nEvery check of the demo held.");
    } else {
        output::json(&json!({
            "home": home,
            "RUS": to_rus,
            "GBR": to_gbr,
            "explain": why,
            "trace": {"leaked": traced, "mixed": traced_mixed},
            "network": network,
            "checks": "passed",
        }))?;
    }
    Ok(())
}

/// ISR's agreement with the USA, on ISR's node, and the USA's with ISR.
const ISR_WITH_USA: &str = "ceiling = \"SECRET\"\n[scope]\nmax_tlp = \"amber\"\n";
const USA_WITH_ISR: &str = "ceiling = \"SECRET\"\n[scope]\nmax_tlp = \"amber\"\n";

const RUS_SECRET: &str = "demo-secret-for-rus-0001";
const GBR_SECRET: &str = "demo-secret-for-gbr-0002";
const USA_SECRET_AT_RUS: &str = "demo-secret-usa-at-rus-03";

/// Partners' agreements with the USA, as the partners' own nodes hold them.
const WITH_USA: &str = "ceiling = \"SECRET\"\n[scope]\nmax_tlp = \"amber\"\n";
/// GBR's agreement with RUS, on GBR's node.
const GBR_WITH_RUS: &str = "ceiling = \"SECRET\"\n[scope]\nmax_tlp = \"amber\"\n";

/// A bundle of the objects of `a` and `b` taken in turn: two recipients mixing their copies.
fn mix(a: &str, b: &str) -> anyhow::Result<String> {
    let objects = |t: &str| -> anyhow::Result<Vec<serde_json::Value>> {
        let v: serde_json::Value = serde_json::from_str(t)?;
        Ok(v["objects"].as_array().cloned().unwrap_or_default())
    };
    let (a, b) = (objects(a)?, objects(b)?);
    let mut mixed = Vec::new();
    for i in 0..a.len().max(b.len()) {
        let from = if i % 2 == 0 { &a } else { &b };
        if let Some(o) = from.get(i) {
            mixed.push(o.clone());
        }
    }
    Ok(json!({"type": "bundle", "id": "bundle--5f0c7a52-8d1e-4b7a-9c3f-2e6d8a4b1c09", "objects": mixed}).to_string())
}

/// The id under which `to` receives the object `id` of the node behind `handle`.
fn as_received(
    handle: &Arc<Mutex<Node<SqliteStore>>>,
    to: &Party,
    id: &str,
) -> anyhow::Result<String> {
    let node = handle
        .lock()
        .map_err(|_| anyhow::anyhow!("node lock poisoned"))?;
    Ok(node.delivered_id(to, id)?)
}

fn held(node: &Node<SqliteStore>, id: &str) -> anyhow::Result<bool> {
    Ok(liaison_store::ObjectStore::latest(node.store(), id)?.is_some())
}

/// Part two: the same exchange between separate nodes, over TAXII 2.1 and HTTPS on loopback.
/// USA serves; RUS and GBR pull; GBR's node, holding the assessment under the label it
/// arrived with, itself refuses to pass it to RUS; RUS serves its own reporting and the USA
/// pulls it.
fn over_the_network(
    mut usa_node: Node<SqliteStore>,
    home: &std::path::Path,
    n: &mut Narrator,
) -> anyhow::Result<serde_json::Value> {
    let usa = Party::parse("USA")?;
    let gbr = Party::parse("GBR")?;
    let rus = Party::parse("RUS")?;

    n.say(
        "USA serves its partners over TAXII 2.1 and HTTPS",
        "liaison partner secret RUS; liaison partner secret GBR; liaison serve --listen 127.0.0.1:0\nA self-signed certificate is made on first start; partners pin its fingerprint.",
    );
    usa_node.set_secret(&rus, RUS_SECRET)?;
    usa_node.set_secret(&gbr, GBR_SECRET)?;
    let usa_handle = Arc::new(Mutex::new(usa_node));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let (usa_url, usa_fp, usa_stop) =
        start_server(&rt, Arc::clone(&usa_handle), &home.join("tls"))?;
    if n.human {
        println!("   USA at {usa_url}taxii2/, certificate fingerprint {usa_fp}");
    }

    n.say(
        "RUS's own node pulls what the USA releases to it",
        "liaison --home rus pull USA --url ... --fingerprint ...",
    );
    let rus_home = home.join("nodes").join("rus");
    let mut rus_node = Node::init(&rus_home, &rus)?;
    rus_node.add_partner(&usa, RUS_TERMS_FOR_USA)?;
    exchange_log_keys(&usa_handle, &mut rus_node, &usa, &rus)?;
    let pulled_rus = pull_into(
        &mut rus_node,
        &rus_home,
        &usa,
        &PullArgs {
            url: Some(&usa_url),
            fingerprint: Some(&usa_fp),
            secret: RUS_SECRET,
            limit: 2,
            from_start: false,
            without_log_check: false,
            progress: false,
        },
    )?;
    if n.human {
        println!(
            "   RUS stored {} objects in {} pages of 2",
            pulled_rus.stored, pulled_rus.pages
        );
    }
    match &pulled_rus.log {
        Some(check) if check.cosigned => {
            if n.human {
                println!(
                    "   RUS checked the USA's signed checkpoint (size {}) and returned its cosignature",
                    check.size
                );
            }
        }
        _ => bail!("demo check failed: RUS did not check and cosign the USA's log"),
    }
    let countersigned = {
        let usa_node = usa_handle
            .lock()
            .map_err(|_| anyhow::anyhow!("node lock poisoned"))?;
        usa_node.agreement_status(&rus)?.ours
    };
    match (&pulled_rus.agreement, countersigned) {
        (Some(a), Some(ours)) if a.countersigned && ours.countersigned => {
            if n.human {
                println!(
                    "   RUS checked the USA's signed terms for it (sha256 {}…) and countersigned them; both logs hold the note signed by {}",
                    ours.sha256.get(..16).unwrap_or(&ours.sha256),
                    ours.signed_by.join(" and ")
                );
            }
        }
        _ => bail!("demo check failed: the agreement with RUS is not signed by both sides"),
    }
    for forbidden in [ASSESSMENT, ISR_REPORT, NOFORN_NOTE, DERIVED] {
        if held(&rus_node, forbidden)?
            || held(&rus_node, &as_received(&usa_handle, &rus, forbidden)?)?
        {
            bail!("demo check failed: RUS's node holds `{forbidden}`");
        }
    }
    if !held(&rus_node, &as_received(&usa_handle, &rus, ISR_TEARLINE)?)? {
        bail!("demo check failed: ISR's tear line did not reach RUS");
    }

    n.say(
        "A one-way street: the USA pauses releases to RUS, but a warning still flows",
        "liaison agreement set RUS rus.toml   ([reciprocity] balance_limit = 3)\nRUS has taken more than it gave: new releases wait, except a duty-to-warn and the agreed small gestures.",
    );
    let paused_account = {
        let mut usa_node = usa_handle
            .lock()
            .map_err(|_| anyhow::anyhow!("node lock poisoned"))?;
        usa_node.add_partner(
            &rus,
            &format!("{RUS_AGREEMENT}\n[reciprocity]\nbalance_limit = 3\n"),
        )?;
        usa_node.ingest(&usa_news()?, &IngestOptions::default(), &mut |_| {})?;
        usa_node.ledger(&rus)?
    };
    let pulled = pull_into(
        &mut rus_node,
        &rus_home,
        &usa,
        &PullArgs {
            url: None,
            fingerprint: None,
            secret: RUS_SECRET,
            limit: 100,
            from_start: false,
            without_log_check: false,
            progress: false,
        },
    )?;
    let warning = as_received(&usa_handle, &rus, WARNING)?;
    let routine = as_received(&usa_handle, &rus, ROUTINE)?;
    if !paused_account.paused || !held(&rus_node, &warning)? || held(&rus_node, &routine)? {
        bail!("demo check failed: the paused exchange let the routine report through, or held back the warning");
    }
    if n.human {
        println!(
            "   ledger for RUS: given {:.1}, received {:.1}, balance {:+.1} past the limit {:.1}: PAUSED",
            paused_account.given,
            paused_account.received,
            paused_account.balance,
            paused_account.limit.unwrap_or_default()
        );
        println!(
            "   RUS's next pull got {} object(s): the duty-to-warn warning, not the routine report",
            pulled.stored
        );
    }

    n.say(
        "GBR pulls too, and the label travels with the assessment",
        "GBR's node holds the assessment as SECRET//ORCON//REL TO USA, GBR with the USA as originator:\nasked to release it to RUS, GBR's own node refuses under the third-party rule.",
    );
    let gbr_home = home.join("nodes").join("gbr");
    let mut gbr_node = Node::init(&gbr_home, &gbr)?;
    gbr_node.add_partner(&usa, WITH_USA)?;
    gbr_node.add_partner(&rus, GBR_WITH_RUS)?;
    exchange_log_keys(&usa_handle, &mut gbr_node, &usa, &gbr)?;
    let pulled_gbr = pull_into(
        &mut gbr_node,
        &gbr_home,
        &usa,
        &PullArgs {
            url: Some(&usa_url),
            fingerprint: Some(&usa_fp),
            secret: GBR_SECRET,
            limit: 100,
            from_start: false,
            without_log_check: false,
            progress: false,
        },
    )?;
    // GBR holds the assessment under the id the USA delivered it as.
    let gbr_assessment = as_received(&usa_handle, &gbr, ASSESSMENT)?;
    if !held(&gbr_node, &gbr_assessment)? {
        bail!("demo check failed: the assessment did not reach GBR's node");
    }
    if !pulled_gbr.log.as_ref().is_some_and(|c| c.cosigned) {
        bail!("demo check failed: GBR did not check and cosign the USA's log");
    }
    {
        let mut usa_node = usa_handle
            .lock()
            .map_err(|_| anyhow::anyhow!("node lock poisoned"))?;
        let status = usa_node.log_status()?;
        if n.human {
            println!(
                "   the USA's log: {} entries, checkpoint cosigned by {}",
                status.size,
                status
                    .cosignatures
                    .iter()
                    .map(|c| c.cosigner.as_str())
                    .collect::<Vec<_>>()
                    .join(" and ")
            );
        }
    }
    let onward = gbr_node.preview(&rus)?;
    n.show(&onward, "RUS, from GBR's node");
    expect(
        &onward,
        &gbr_assessment,
        Verdict::Withhold,
        &["third_party_rule", "not_releasable_to"],
    )?;

    n.say(
        "RUS shares its own reporting, and the USA pulls it",
        "RUS ingests an indicator of its own labelled UNCLASSIFIED//REL TO USA, RUS and serves it; the USA pulls.",
    );
    rus_node.ingest(&rus_bundle()?, &IngestOptions::default(), &mut |_| {})?;
    rus_node.ingest(&rus_knf_bundle()?, &IngestOptions::default(), &mut |_| {})?;
    rus_node.set_secret(&usa, USA_SECRET_AT_RUS)?;
    rus_node.set_region(Some("RU".parse()?));
    {
        // The other direction: the USA verifies RUS's log, RUS accepts the USA's cosignature.
        let mut usa_node = usa_handle
            .lock()
            .map_err(|_| anyhow::anyhow!("node lock poisoned"))?;
        let rus_key = rus_node.log_keys().node.verifier_key().to_string();
        let usa_cosigner = usa_node.log_status()?.cosigner_key;
        usa_node.set_partner_key(&rus, liaison_release::PARTNER_LOG_KEY, &rus_key)?;
        rus_node.set_partner_key(&usa, liaison_release::PARTNER_COSIGNER_KEY, &usa_cosigner)?;
    }
    let rus_handle = Arc::new(Mutex::new(rus_node));
    let (rus_url, rus_fp, rus_stop) =
        start_server(&rt, Arc::clone(&rus_handle), &rus_home.join("tls"))?;
    let pulled_usa = {
        let mut usa_node = usa_handle
            .lock()
            .map_err(|_| anyhow::anyhow!("node lock poisoned"))?;
        usa_node.add_partner(&rus, RUS_AGREEMENT)?;
        pull_into(
            &mut usa_node,
            home,
            &rus,
            &PullArgs {
                url: Some(&rus_url),
                fingerprint: Some(&rus_fp),
                secret: USA_SECRET_AT_RUS,
                limit: 100,
                from_start: false,
                without_log_check: false,
                progress: false,
            },
        )?
    };
    {
        let usa_node = usa_handle
            .lock()
            .map_err(|_| anyhow::anyhow!("node lock poisoned"))?;
        let as_usa = as_received(&rus_handle, &usa, RUS_INDICATOR)?;
        if !held(&usa_node, &as_usa)? {
            bail!("demo check failed: RUS's indicator did not reach the USA");
        }
    }
    if n.human {
        println!("   the USA stored {} objects from RUS", pulled_usa.stored);
    }

    n.say(
        "The USA asks RUS about its watchlist without showing it the list",
        "liaison match --partner RUS --selectors watchlist.txt   (RUS's terms: [matching] 4,096 selectors a day, 1,024 a request)\nRUS evaluates the USA's blinded selectors (RFC 9497 VOPRF on ristretto255, with a proof it used the key it logged)\nagainst what it releases to the USA; names are transliterated first, so `Timur Bekmurzayev` meets `Тимур Бекмурзаев`.",
    );
    let matched = ask_rus(&rt, &rus_handle, home, &rus_url, &rus_fp)?;
    let found: Vec<&str> = matched
        .matches
        .iter()
        .map(|m| m.selector.as_str())
        .collect();
    if found != ["Timur Bekmurzayev", "+7 928 555 01 23"] {
        bail!("demo check failed: the USA's watchlist matched {found:?} at RUS");
    }
    let seen_by_rus = {
        let rus_node = rus_handle
            .lock()
            .map_err(|_| anyhow::anyhow!("node lock poisoned"))?;
        rus_node.match_budgets(liaison_release::unix_now())?
    };
    let charged = seen_by_rus.first().map(|b| (b.used, b.queries));
    if charged != Some((matched.evaluated, 1)) {
        bail!(
            "demo check failed: RUS charged {charged:?} for one request of {} evaluations",
            matched.evaluated
        );
    }
    if n.human {
        println!(
            "   of the USA's {} selectors ({} keys), RUS holds: {}",
            matched.selectors,
            matched.keys,
            matched
                .matches
                .iter()
                .map(|m| format!("{} ({}, via {})", m.selector, m.kind, m.keys.join(" / ")))
                .collect::<Vec<_>>()
                .join("; ")
        );
        println!(
            "   `Islam Dudayev` is not found: RUS holds him, but as SECRET//REL TO RUS, so he is not in what RUS can match against"
        );
        println!(
            "   RUS learned only that {} blinded values were evaluated (`liaison match budgets` on RUS: {} of {} used); its log holds the epoch's key and a commitment to the request, never a selector",
            matched.evaluated,
            seen_by_rus.first().map_or(0, |b| b.used),
            seen_by_rus.first().map_or(0, |b| b.budget)
        );
    }

    n.say(
        "One claim, one source: GBR relays RUS's report back to us",
        "RUS's report on the Kavkaz National Front came with the pull. GBR now sends us a report in its own words\n(liaison ingest gbr.json --from GBR); liaison assess <GBR's report>; liaison framing --partner RUS",
    );
    curated(&usa_handle, &rus_handle, n)?;

    n.say(
        "Both sides check the other's log",
        "liaison log verify --partner USA   (on RUS's node)      liaison log verify --partner RUS   (on the USA's)\nEverything received must be included in the sender's log, and its checkpoints consistent.",
    );
    let rus_report = {
        let mut rus_node = rus_handle
            .lock()
            .map_err(|_| anyhow::anyhow!("node lock poisoned"))?;
        crate::log::verify_one(&mut rus_node, &rus_home, &usa, RUS_SECRET)?
    };
    let usa_report = {
        let mut usa_node = usa_handle
            .lock()
            .map_err(|_| anyhow::anyhow!("node lock poisoned"))?;
        crate::log::verify_one(&mut usa_node, home, &rus, USA_SECRET_AT_RUS)?
    };
    for r in [&rus_report, &usa_report] {
        if !r.ok {
            bail!(
                "demo check failed: log verification of {} failed",
                r.partner
            );
        }
        if r.terms_in_log != Some(true) {
            bail!(
                "demo check failed: {}'s log does not hold its terms signed by both sides",
                r.partner
            );
        }
        if r.fingerprint_committed != Some(true) {
            bail!(
                "demo check failed: {}'s log does not commit to its fingerprints before delivering",
                r.partner
            );
        }
        if n.human {
            println!(
                "   {}'s log: checkpoint size {}, consistent, {} of {} received objects proved included, its terms for us signed by both, its fingerprint commitment logged before its first delivery",
                r.partner, r.checkpoint_size, r.included, r.received
            );
        }
    }
    n.say(
        "A forged history is refused",
        "Someone with the USA's log key (stolen, or a node restored from another database) serves\nGBR a different history. GBR checks it against the checkpoint it cosigned, takes nothing,\nkeeps the evidence, and says so loudly.",
    );
    let forged_home = home.join("nodes").join("usa-forged");
    let (forged_url, forged_fp, forged_stop) = {
        // The USA's key file, copied into a fresh node with another (shorter) history.
        std::fs::create_dir_all(&forged_home)?;
        std::fs::copy(
            home.join(liaison_release::LOG_KEY_FILE),
            forged_home.join(liaison_release::LOG_KEY_FILE),
        )?;
        let mut forged = Node::init(&forged_home, &usa)?;
        forged.add_partner(&gbr, GBR_AGREEMENT)?;
        forged.set_secret(&gbr, GBR_SECRET)?;
        start_server(&rt, Arc::new(Mutex::new(forged)), &forged_home.join("tls"))?
    };
    // The node logs a fork at ERROR level, which is right for an operator's pull but here
    // would read like the demo failing: this step is narrated instead.
    let quiet = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
    let refused = tracing::dispatcher::with_default(&quiet, || {
        pull_typed(
            &mut gbr_node,
            &gbr_home,
            &usa,
            &PullArgs {
                url: Some(&forged_url),
                fingerprint: Some(&forged_fp),
                secret: GBR_SECRET,
                limit: 100,
                from_start: true,
                without_log_check: false,
                progress: false,
            },
        )
    })?;
    let _ = forged_stop.send(());
    match refused {
        Err(ExchangeError::Forked { size, previous, .. }) => {
            let forks = gbr_node.forks(&usa)?;
            if forks.is_empty() {
                bail!("demo check failed: GBR kept no evidence of the fork");
            }
            if n.human {
                println!(
                    "   GBR refused it, as it should: the checkpoint of size {size} it was served is not consistent\n   with the checkpoint of size {previous} it had cosigned. Nothing was taken, nothing cosigned."
                );
                println!(
                    "   evidence kept on GBR's node: {} record(s), both checkpoints signed with the USA's key",
                    forks.len()
                );
            }
        }
        Err(e) => {
            bail!("demo check failed: the forged history was refused for another reason: {e}")
        }
        Ok(_) => bail!("demo check failed: GBR accepted a forged history"),
    }

    for stop in [usa_stop, rus_stop] {
        let _ = stop.send(());
    }
    rt.shutdown_timeout(std::time::Duration::from_secs(5));
    Ok(json!({
        "usa_url": usa_url,
        "rus_pulled_from_usa": pulled_rus.stored,
        "gbr_pulled_from_usa": pulled_gbr.stored,
        "usa_pulled_from_rus": pulled_usa.stored,
        "gbr_to_rus": onward,
    }))
}

/// The USA's curated view after GBR relays RUS's report: one source, flagged as circular;
/// RUS's framing of the group set against GBR's and ours.
fn curated(
    usa_handle: &Arc<Mutex<Node<SqliteStore>>>,
    rus_handle: &Arc<Mutex<Node<SqliteStore>>>,
    n: &Narrator,
) -> anyhow::Result<()> {
    let usa = Party::parse("USA")?;
    let rus = Party::parse("RUS")?;
    let gbr = Party::parse("GBR")?;
    // The id the USA holds RUS's report under (RUS fingerprinted it for us).
    let rus_report = as_received(rus_handle, &usa, RUS_KNF_REPORT)?;
    let mut node = usa_handle
        .lock()
        .map_err(|_| anyhow::anyhow!("node lock poisoned"))?;
    node.ingest(
        &gbr_relay_bundle()?,
        &IngestOptions {
            default_label: None,
            source: Some(gbr.clone()),
        },
        &mut |_| {},
    )?;
    node.ingest(&usa_knf_bundle()?, &IngestOptions::default(), &mut |_| {})?;
    let a = node.assess(GBR_RELAY)?.assessment;
    let indicator = a
        .claims
        .iter()
        .find(|c| c.claim.to_string().starts_with("indicator:"))
        .context("demo: GBR's relay asserts no indicator")?;
    let echo = a
        .echo
        .as_ref()
        .filter(|e| e.echoes.as_deref() == Some(rus_report.as_str()));
    if indicator.sources != 1 || echo.is_none() {
        bail!(
            "demo check failed: GBR's relay counted {} sources, echo {:?}",
            indicator.sources,
            a.echo
        );
    }
    let framing = node.framing(&rus)?;
    let terrorist = framing
        .divergences
        .iter()
        .find(|d| d.value == "terrorist")
        .context("demo check failed: RUS's framing of the group was not found")?;
    if n.human {
        println!(
            "   {}: {} independent source ({} items: RUS's report and indicator, GBR's relay and its indicator)",
            indicator.claim,
            indicator.sources,
            indicator.clusters.iter().map(|c| c.members.len()).sum::<usize>()
        );
        if let Some(e) = echo {
            println!(
                "   CIRCULAR ({}): GBR's report echoes RUS's {} ({})",
                e.kind.as_str(),
                rus_report,
                serde_json::to_string(&e.evidence)?
            );
        }
        println!("   {}", terrorist.summary(&rus));
        for e in &terrorist.entities {
            let others: Vec<String> = e
                .others
                .iter()
                .map(|(v, by)| {
                    format!(
                        "{v} ({})",
                        by.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", ")
                    )
                })
                .collect();
            println!(
                "     {}: GBR and the other independent sources say {}; we say {}",
                e.entity,
                others.join("; "),
                e.ours.join(", ")
            );
        }
    }
    Ok(())
}

/// The USA's watchlist for private matching with RUS.
const WATCHLIST: &str = "# The USA's watchlist (kind,value)
person,Timur Bekmurzayev
person,Islam Dudayev
person,Said Mansurov
email,m.said@example.org
phone,+7 928 555 01 23
phone,+44 20 7946 0321
document,RUS:P:72 1234567
";

/// The USA matches its watchlist against RUS's holdings, RUS having just added what it
/// holds on two people (one releasable to the USA, one not).
fn ask_rus(
    rt: &tokio::runtime::Runtime,
    rus_handle: &Arc<Mutex<Node<SqliteStore>>>,
    home: &std::path::Path,
    rus_url: &str,
    rus_fp: &str,
) -> anyhow::Result<liaison_exchange::MatchReport> {
    rus_handle
        .lock()
        .map_err(|_| anyhow::anyhow!("node lock poisoned"))?
        .ingest(&rus_holdings()?, &IngestOptions::default(), &mut |_| {})?;
    let file = home.join("watchlist.txt");
    std::fs::write(&file, WATCHLIST)?;
    let selectors = crate::matching::read_selectors(&file)?;
    let remote = liaison_client::Remote::new(rus_url, Some(rus_fp), "USA", USA_SECRET_AT_RUS)?;
    let rus = Party::parse("RUS")?;
    Ok(rt.block_on(liaison_exchange::match_selectors(
        &remote,
        &rus,
        &selectors,
        Some("US".parse()?),
        &mut |_, _| {},
    ))?)
}

const ROUTINE: &str = "report--0d4f6a82-7c1e-4b39-9e5a-2f8b1c3d5e77";
const WARNING: &str = "report--5a7e9c13-4d2b-4f8e-a6c0-9b1d3e5f7a88";

/// What the USA writes while RUS's account is past its limit: a routine report and a
/// warning of an imminent threat to life.
fn usa_news() -> anyhow::Result<liaison_stix::Document> {
    let routine = Label {
        banner: "UNCLASSIFIED//REL TO USA, GBR, RUS".parse()?,
        originator: Party::parse("USA")?,
        grading: None,
        duty_to_warn: false,
    };
    let warning = Label {
        duty_to_warn: true,
        ..routine.clone()
    };
    let report = |id: &str, l: &Label, name: &str| {
        json!({"type": "report", "spec_version": "2.1", "id": id, "created": "2026-11-21T09:00:00.000Z",
               "modified": "2026-11-21T09:00:00.000Z", "name": name, "published": "2026-11-21T09:00:00.000Z",
               "report_types": ["threat-report"], "labels": ["terrorism"],
               "object_refs": ["threat-actor--8a4e2b61-3c5d-4f7e-9a1b-6d2c8e0f4a33"],
               "object_marking_refs": [l.marking_id().to_string()]})
    };
    let text =
        json!({"type": "bundle", "id": "bundle--1b3d5f7a-9c2e-4a6b-8d0f-2e4a6c8e0b22", "objects": [
            serde_json::Value::Object(routine.to_marking_definition("2026-11-21T09:00:00.000Z")),
            serde_json::Value::Object(warning.to_marking_definition("2026-11-21T09:00:00.000Z")),
            report(ROUTINE, &routine, "AQAP courier travel patterns"),
            report(WARNING, &warning, "Imminent threat: device on a cargo flight tonight"),
        ]})
        .to_string();
    Ok(liaison_stix::parse_document(&text)?)
}

/// The USA and a partner exchange log keys out of band: the partner registers the USA's
/// node key (to verify its checkpoints and its signed terms), the USA the partner's node key
/// (to check its countersignatures) and cosigner key (to accept its cosignatures).
fn exchange_log_keys(
    usa_handle: &Arc<Mutex<Node<SqliteStore>>>,
    partner_node: &mut Node<SqliteStore>,
    usa: &Party,
    partner: &Party,
) -> anyhow::Result<()> {
    let mut usa_node = usa_handle
        .lock()
        .map_err(|_| anyhow::anyhow!("node lock poisoned"))?;
    let usa_key = usa_node.log_keys().node.verifier_key().to_string();
    let status = partner_node.log_status()?;
    partner_node.set_partner_key(usa, liaison_release::PARTNER_LOG_KEY, &usa_key)?;
    usa_node.set_partner_key(
        partner,
        liaison_release::PARTNER_LOG_KEY,
        &status.verifier_key,
    )?;
    usa_node.set_partner_key(
        partner,
        liaison_release::PARTNER_COSIGNER_KEY,
        &status.cosigner_key,
    )?;
    Ok(())
}

/// Starts a node's TAXII server on a free loopback port; returns its URL, its certificate's
/// fingerprint and the switch that stops it.
fn start_server(
    rt: &tokio::runtime::Runtime,
    node: Arc<Mutex<Node<SqliteStore>>>,
    tls_dir: &std::path::Path,
) -> anyhow::Result<(String, String, tokio::sync::oneshot::Sender<()>)> {
    let (cert, key, fingerprint) = liaison_server::self_signed(tls_dir, &[])?;
    let tls = liaison_server::tls_config(&std::fs::read(cert)?, &std::fs::read(key)?)?;
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let url = format!("https://{}/", listener.local_addr()?);
    let state = liaison_server::AppState::new(node, liaison_server::Config::default())?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    rt.spawn(liaison_server::run(
        listener,
        Some(tls),
        state,
        async move {
            let _ = stopped.await;
        },
    ));
    Ok((url, fingerprint, stop))
}
