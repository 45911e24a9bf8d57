//! The partner protocol between two real nodes on 127.0.0.1, without the binary: the USA
//! node of the sample exchange serves TAXII 2.1 over pinned TLS (the server crate's `run`),
//! a fresh RUS node pulls from it through this crate. The third-party rule must hold on the
//! wire: RUS gets ISR's tear line, never the assessment derived from ISR's report.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;

use liaison_exchange::{
    pull, verify_log, ExchangeError, PullOptions, PullSummary, Remotes, VerifyReport,
};
use liaison_labels::Party;
use liaison_release::sample::{ASSESSMENT, ISR_REPORT, ISR_TEARLINE, NOFORN_NOTE, RUS_AGREEMENT};
use liaison_release::{Leaf, Node, PARTNER_COSIGNER_KEY, PARTNER_LOG_KEY};
use liaison_store::SqliteStore;

const RUS_SECRET: &str = "rus-secret-0123456789";

/// RUS's agreement with the USA (what RUS would release back).
const WITH_USA: &str = "ceiling = \"SECRET\"\n[scope]\nmax_tlp = \"amber\"\n";

fn party(s: &str) -> Party {
    Party::parse(s).unwrap()
}

use common::{serve, serve_with, Served};

/// The USA node of the sample exchange, with a secret for RUS.
fn usa_node(home: &Path) -> Node<SqliteStore> {
    let mut usa = Node::init(home, &party("USA")).unwrap();
    usa.add_partner(&party("RUS"), RUS_AGREEMENT).unwrap();
    liaison_release::sample::ingest_exchange(&mut usa).unwrap();
    usa.set_secret(&party("RUS"), RUS_SECRET).unwrap();
    usa
}

/// A fresh RUS node whose partner is the USA.
fn rus_node(home: &Path) -> Node<SqliteStore> {
    let mut rus = Node::init(home, &party("RUS")).unwrap();
    rus.add_partner(&party("USA"), WITH_USA).unwrap();
    rus
}

/// Each side registers the other's keys: RUS the USA's log key, the USA RUS's log and
/// cosigner keys.
fn exchange_keys(usa: &Served, rus: &mut Node<SqliteStore>) {
    let mut usa = usa.node.lock().unwrap();
    let usa_key = usa.log_keys().node.verifier_key().to_string();
    rus.set_partner_key(&party("USA"), PARTNER_LOG_KEY, &usa_key)
        .unwrap();
    let status = rus.log_status().unwrap();
    usa.set_partner_key(&party("RUS"), PARTNER_LOG_KEY, &status.verifier_key)
        .unwrap();
    usa.set_partner_key(&party("RUS"), PARTNER_COSIGNER_KEY, &status.cosigner_key)
        .unwrap();
}

fn options(served: &Served) -> PullOptions<'_> {
    PullOptions {
        url: Some(&served.url),
        fingerprint: Some(&served.fingerprint),
        secret: RUS_SECRET,
        limit: 2,
        from_start: false,
        without_log_check: false,
    }
}

async fn pull_from(
    rus: &mut Node<SqliteStore>,
    home: &Path,
    options: &PullOptions<'_>,
) -> Result<PullSummary, ExchangeError> {
    pull(
        rus,
        &Remotes::in_home(home),
        &party("USA"),
        options,
        &mut (),
    )
    .await
}

/// RUS's `log verify` of the USA's log, from where its last pull left it.
async fn verify_usa(rus: &mut Node<SqliteStore>, rus_home: &Path) -> VerifyReport {
    verify_log(rus, &Remotes::in_home(rus_home), &party("USA"), RUS_SECRET)
        .await
        .unwrap()
}

/// Whether `node` holds USA's object `id`, under the id USA delivers it to RUS as.
fn held(node: &Node<SqliteStore>, usa: &Served, id: &str) -> bool {
    let as_delivered = usa
        .node
        .lock()
        .unwrap()
        .delivered_id(&party("RUS"), id)
        .unwrap();
    node.inbound_view(&party("USA"))
        .unwrap()
        .entries
        .iter()
        .any(|e| e.id == as_delivered || e.id == id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_takes_what_is_released_checks_and_cosigns_the_log_and_countersigns_the_terms() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve(usa_node(&dir.path().join("usa")), &dir.path().join("usa")).await;
    let rus_home = dir.path().join("rus");
    let mut rus = rus_node(&rus_home);
    exchange_keys(&served, &mut rus);

    let summary = pull_from(&mut rus, &rus_home, &options(&served))
        .await
        .unwrap();
    assert!(summary.stored >= 4, "{summary:?}");
    assert!(summary.refused.is_empty(), "{summary:?}");
    assert!(summary.pages >= 2, "pages of 2: {summary:?}");
    assert!(
        held(&rus, &served, ISR_TEARLINE),
        "ISR's tear line did not reach RUS"
    );
    for forbidden in [ASSESSMENT, ISR_REPORT, NOFORN_NOTE] {
        assert!(!held(&rus, &served, forbidden), "RUS holds `{forbidden}`");
    }
    let log = summary.log.clone().expect("the USA's log was checked");
    assert!(log.cosigned && log.size > 0, "{log:?}");
    let terms = summary
        .agreement
        .clone()
        .expect("the USA's terms were found");
    assert!(terms.countersigned && terms.problem.is_none(), "{terms:?}");

    // The USA kept RUS's cosignature and the terms signed by both.
    {
        let mut usa = served.node.lock().unwrap();
        let status = usa.log_status().unwrap();
        assert!(
            status
                .cosignatures
                .iter()
                .any(|c| c.cosigner == "liaison.RUS" && c.size == log.size),
            "{:?}",
            status.cosignatures
        );
        let ours = usa.agreement_status(&party("RUS")).unwrap().ours.unwrap();
        assert!(ours.countersigned, "{ours:?}");
    }

    // The next pull starts where this one stopped, without the address given again; the
    // log is checked against the checkpoint accepted before.
    let again = pull_from(
        &mut rus,
        &rus_home,
        &PullOptions {
            url: None,
            fingerprint: None,
            ..options(&served)
        },
    )
    .await
    .unwrap();
    assert_eq!(again.received, 0, "{again:?}");
    // (The USA's log grew by the countersigned terms since.)
    let checked = again.log.clone().expect("checked again");
    assert!(
        checked.previous.is_some_and(|p| p > log.size) && checked.cosigned,
        "{again:?}"
    );

    // Everything RUS received is proved included in the USA's log, and the terms are there
    // signed by both sides.
    let report = verify_usa(&mut rus, &rus_home).await;
    assert!(report.ok, "{report:?}");
    assert_eq!(report.included, report.received, "{report:?}");
    assert!(report.received >= 4, "{report:?}");
    assert_eq!(report.terms_in_log, Some(true), "{report:?}");
    assert_eq!(report.fingerprint_committed, Some(true), "{report:?}");
}

/// A sender that marks our copies without first logging the commitment it marks them under
/// (here: a node told the commitment was already logged) fails our `log verify`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_without_a_logged_fingerprint_commitment_fail_log_verify() {
    let dir = tempfile::tempdir().unwrap();
    let usa = usa_node(&dir.path().join("usa"));
    // Behind the node's back: its store says the commitment for RUS is logged already.
    let mut store = SqliteStore::open(&dir.path().join("usa").join("node.db")).unwrap();
    liaison_store::PartnerStore::set_partner_key(&mut store, "RUS", "fingerprint-commitment", "00")
        .unwrap();
    drop(store);
    let served = serve(usa, &dir.path().join("usa")).await;
    let rus_home = dir.path().join("rus");
    let mut rus = rus_node(&rus_home);
    exchange_keys(&served, &mut rus);
    let summary = pull_from(&mut rus, &rus_home, &options(&served))
        .await
        .unwrap();
    assert!(summary.stored >= 4, "{summary:?}");
    let report = verify_usa(&mut rus, &rus_home).await;
    assert_eq!(report.fingerprint_committed, Some(false), "{report:?}");
    assert!(!report.ok, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forked_log_is_refused_before_anything_is_taken_and_the_evidence_kept() {
    let dir = tempfile::tempdir().unwrap();
    let usa_home = dir.path().join("usa");
    let served = serve(usa_node(&usa_home), &usa_home).await;
    let rus_home = dir.path().join("rus");
    let mut rus = rus_node(&rus_home);
    exchange_keys(&served, &mut rus);
    let first = pull_from(&mut rus, &rus_home, &options(&served))
        .await
        .unwrap();
    let accepted = first.log.unwrap().size;
    drop(served);

    // Another node with the USA's log key and a shorter history.
    let forged_home = dir.path().join("forged");
    std::fs::create_dir_all(&forged_home).unwrap();
    std::fs::copy(
        usa_home.join(liaison_release::LOG_KEY_FILE),
        forged_home.join(liaison_release::LOG_KEY_FILE),
    )
    .unwrap();
    let mut forged = Node::init(&forged_home, &party("USA")).unwrap();
    forged.add_partner(&party("RUS"), RUS_AGREEMENT).unwrap();
    forged.set_secret(&party("RUS"), RUS_SECRET).unwrap();
    let served = serve(forged, &forged_home).await;
    let before = rus.inbound_view(&party("USA")).unwrap().entries.len();
    let err = pull_from(
        &mut rus,
        &rus_home,
        &PullOptions {
            from_start: true,
            ..options(&served)
        },
    )
    .await
    .unwrap_err();
    match err {
        ExchangeError::Forked {
            previous, partner, ..
        } => {
            assert_eq!(previous, accepted);
            assert_eq!(partner, party("USA"));
        }
        other => panic!("refused for another reason: {other}"),
    }
    assert_eq!(
        rus.inbound_view(&party("USA")).unwrap().entries.len(),
        before,
        "something was taken from a forked log"
    );
    assert!(
        !rus.forks(&party("USA")).unwrap().is_empty(),
        "no evidence kept"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_from_a_partner_whose_log_key_is_not_registered_is_refused_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve(usa_node(&dir.path().join("usa")), &dir.path().join("usa")).await;
    let rus_home = dir.path().join("rus");
    let mut rus = rus_node(&rus_home);
    let log_size = rus.log_size().unwrap();

    let err = pull_from(&mut rus, &rus_home, &options(&served))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ExchangeError::NoLogKey(p) if *p == party("USA")),
        "{err}"
    );
    assert!(
        !held(&rus, &served, ISR_TEARLINE),
        "a refused pull took something"
    );
    assert_eq!(
        rus.log_size().unwrap(),
        log_size,
        "a refused pull logged something"
    );

    let summary = pull_from(
        &mut rus,
        &rus_home,
        &PullOptions {
            without_log_check: true,
            ..options(&served)
        },
    )
    .await
    .unwrap();
    assert!(
        summary.stored >= 4 && held(&rus, &served, ISR_TEARLINE),
        "{summary:?}"
    );
    assert_eq!(summary.log, None, "nothing to check the log with");
    assert_eq!(summary.agreement, None, "terms countersigned without a key");
    let usa = served.node.lock().unwrap().log_status().unwrap();
    assert!(usa.cosignatures.is_empty(), "{:?}", usa.cosignatures);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leave_to_skip_the_log_check_never_skips_it_when_the_key_is_registered() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve(usa_node(&dir.path().join("usa")), &dir.path().join("usa")).await;
    let rus_home = dir.path().join("rus");
    let mut rus = rus_node(&rus_home);
    exchange_keys(&served, &mut rus);
    let summary = pull_from(
        &mut rus,
        &rus_home,
        &PullOptions {
            without_log_check: true,
            ..options(&served)
        },
    )
    .await
    .unwrap();
    assert!(summary.log.is_some_and(|l| l.cosigned));
}
/// The `received` leaves in `node`'s log that concern `from`.
fn received_leaves(node: &Node<SqliteStore>, from: &Party) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for index in 0..node.log_size().unwrap() {
        if let Some(opening) = node.opening_for(index, from).unwrap() {
            if let Some(Leaf::Received { id, version, .. }) = Leaf::from_json(&opening.leaf) {
                out.push((id, version));
            }
        }
    }
    out
}

/// Regression: `liaison pull --from-start` logged every object it already held again as
/// received (3,003 duplicate leaves in one try). The pull itself logs nothing per object; the
/// leaves come from `Node::receive`, which logs every success, duplicates included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pulling_from_start_again_logs_each_receipt_once() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve(usa_node(&dir.path().join("usa")), &dir.path().join("usa")).await;
    let rus_home = dir.path().join("rus");
    let mut rus = rus_node(&rus_home);
    exchange_keys(&served, &mut rus);
    let usa = party("USA");
    pull_from(&mut rus, &rus_home, &options(&served))
        .await
        .unwrap();
    let again = pull_from(
        &mut rus,
        &rus_home,
        &PullOptions {
            from_start: true,
            ..options(&served)
        },
    )
    .await
    .unwrap();
    assert!(
        again.received > 0,
        "the second pull fetched nothing: {again:?}"
    );

    let distinct = rus.inbound_view(&usa).unwrap().entries.len();
    let leaves = received_leaves(&rus, &usa);
    assert_eq!(
        leaves.len(),
        distinct,
        "a leaf records a receipt once; the log holds {leaves:?}"
    );
}

/// A partner's view being prepared after a change on the server's side: the server answers
/// 503 with `Retry-After` rather than hold a request (or the node) for minutes, and the
/// puller asks again after the time it names and gets the view. Here another process's
/// build of RUS's view holds it until its heartbeat goes stale.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_waits_out_a_view_being_prepared_and_takes_it() {
    use liaison_store::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let usa_home = dir.path().join("usa");
    let config = liaison_server::Config {
        view_wait: std::time::Duration::from_millis(200),
        view_retry_after: 1,
        ..liaison_server::Config::default()
    };
    let served = serve_with(usa_node(&usa_home), &usa_home, config, true).await;
    let rus_home = dir.path().join("rus");
    let mut rus = rus_node(&rus_home);
    exchange_keys(&served, &mut rus);

    // Another process is computing RUS's view (a fresh heartbeat); it dies 2 s from now.
    let mut other = SqliteStore::open(&usa_home.join("node.db")).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let building = |beat: u64| liaison_release::view_building_state("other", beat);
    assert!(other
        .write_view("RUS", &building(now), true, &[], &[], None)
        .unwrap());
    let dies = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(2));
        other
            .write_view(
                "RUS",
                &building(now - 3600),
                false,
                &[],
                &[],
                Some(&building(now).basis),
            )
            .unwrap()
    });

    let started = std::time::Instant::now();
    let summary = pull_from(&mut rus, &rus_home, &options(&served))
        .await
        .unwrap();
    assert!(dies.join().unwrap());
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(2),
        "the pull did not wait for the view: {:?}",
        started.elapsed()
    );
    assert!(summary.stored >= 4, "{summary:?}");
    assert!(held(&rus, &served, ISR_TEARLINE));
    for forbidden in [ASSESSMENT, ISR_REPORT, NOFORN_NOTE] {
        assert!(!held(&rus, &served, forbidden), "RUS holds `{forbidden}`");
    }
}
