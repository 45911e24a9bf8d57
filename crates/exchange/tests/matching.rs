//! Private matching between two real nodes on 127.0.0.1 over pinned TLS: RUS holds, the USA
//! asks. The USA learns which of its selectors RUS holds, among what RUS releases to it only;
//! RUS logs the set it published and each request with its count; every misuse is refused
//! with its own status and charged nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;

use liaison_client::{ClientError, Remote};
use liaison_exchange::{match_selectors, ExchangeError, MatchReport, Selector};
use liaison_labels::Party;
use liaison_psi::{EpochSet, EvaluationRequest, Query};
use liaison_release::sample::{rus_holdings, RUS_TERMS_FOR_USA};
use liaison_release::{unix_now, IngestOptions, Leaf, Node};
use liaison_selectors::{SelectorKind, NORMALISER_VERSION};
use liaison_store::SqliteStore;

use common::{serve, Served};

const USA_SECRET: &str = "usa-secret-0123456789";

fn party(s: &str) -> Party {
    Party::parse(s).unwrap()
}

/// RUS's node with its holdings and `terms` for the USA, served on 127.0.0.1:0.
async fn rus(home: &Path, terms: &str) -> Served {
    let mut node = Node::init(home, &party("RUS")).unwrap();
    node.add_partner(&party("USA"), terms).unwrap();
    node.ingest(
        &rus_holdings().unwrap(),
        &IngestOptions::default(),
        &mut |_| {},
    )
    .unwrap();
    node.set_secret(&party("USA"), USA_SECRET).unwrap();
    node.set_region(Some("RU".parse().unwrap()));
    serve(node, home).await
}

fn remote(served: &Served) -> Remote {
    Remote::new(&served.url, Some(&served.fingerprint), "USA", USA_SECRET).unwrap()
}

fn selectors(list: &[(SelectorKind, &str)]) -> Vec<Selector> {
    list.iter()
        .enumerate()
        .map(|(i, (kind, raw))| Selector {
            kind: *kind,
            raw: (*raw).to_owned(),
            line: i + 1,
        })
        .collect()
}

async fn ask(served: &Served, list: &[(SelectorKind, &str)]) -> Result<MatchReport, ExchangeError> {
    match_selectors(
        &remote(served),
        &party("RUS"),
        &selectors(list),
        Some("US".parse().unwrap()),
        &mut |_, _| {},
    )
    .await
}

/// The matching leaves in RUS's log for the USA.
fn matching_leaves(node: &Node<SqliteStore>) -> Vec<Leaf> {
    let size = node.log_size().unwrap();
    (0..size)
        .filter_map(|i| node.opening_for(i, &party("USA")).unwrap())
        .filter_map(|o| Leaf::from_json(&o.leaf))
        .filter(|l| matches!(l, Leaf::MatchEpoch { .. } | Leaf::MatchQuery { .. }))
        .collect()
}

fn used(served: &Served) -> u64 {
    let node = served.node.lock().unwrap();
    node.match_budgets(unix_now()).unwrap()[0].used
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_asker_learns_which_selectors_match_among_what_is_released_to_it_only() {
    let dir = tempfile::tempdir().unwrap();
    let served = rus(dir.path(), RUS_TERMS_FOR_USA).await;
    use SelectorKind::*;
    let report = ask(
        &served,
        &[
            (PersonName, "Timur Bekmurzayev"),
            (PersonName, "Islam Dudayev"),
            (Email, "T.Bekmurzaev@Example.RU"),
            (Phone, "+7 (928) 555 01 23"),
            (Email, "nobody@example.org"),
            (PersonName, "Abu Hamza"),
            (Phone, "0123"),
        ],
    )
    .await
    .unwrap();
    let matched: Vec<&str> = report.matches.iter().map(|m| m.selector.as_str()).collect();
    // The Cyrillic name and its alias meet their Latin spellings; the e-mail and phone
    // number from the contact information meet theirs. The actor RUS keeps to itself never
    // matches, nor does what RUS does not hold.
    assert_eq!(
        matched,
        [
            "Timur Bekmurzayev",
            "T.Bekmurzaev@Example.RU",
            "+7 (928) 555 01 23",
            "Abu Hamza"
        ],
        "{report:#?}"
    );
    assert_eq!(report.matches[2].strength, "exact");
    // A selector that cannot be normalised is reported, not dropped.
    assert_eq!(report.not_asked.len(), 1);
    assert_eq!(report.not_asked[0].line, 7);
    // RUS saw only the padded count, and charged exactly that.
    assert!(report.evaluated.is_power_of_two() && report.evaluated >= report.keys as u64);
    assert_eq!(used(&served), report.evaluated);

    // RUS's log holds the set it published (with the key the USA verified against) and the
    // request with its count, never a selector.
    let node = served.node.lock().unwrap();
    let leaves = matching_leaves(&node);
    assert!(
        matches!(
            &leaves[..],
            [Leaf::MatchEpoch { public_key, sha256, .. }, Leaf::MatchQuery { count, .. }]
                if *public_key == report.public_key
                    && *sha256 == report.epoch_set_sha256
                    && *count == report.evaluated
        ),
        "{leaves:?}"
    );
    for leaf in &leaves {
        let text = String::from_utf8(leaf.to_json().unwrap()).unwrap();
        // The phone number's digits in full: three of them ("928") turn up in a random
        // hash about once in twenty runs.
        assert!(
            !text.contains("ekmurza")
                && !text.contains("9285550123")
                && !text.contains("555 01 23"),
            "{text}"
        );
    }
}

/// A raw request from the USA for the current epoch set, padded to `n` elements.
async fn raw_request(served: &Served, n: usize, version: u32) -> (EpochSet, Vec<u8>) {
    let mut session = remote(served).connect().await.unwrap();
    let set = EpochSet::from_bytes(&session.get_bytes("/liaison/match/epoch-set").await.unwrap())
        .unwrap();
    let keys: Vec<Vec<u8>> = (0..n)
        .map(|i| format!("phone/1/exact:+1202555{i:04}").into_bytes())
        .collect();
    let (_, mut request) =
        Query::new(&set, &keys, NORMALISER_VERSION, &mut rand_core::OsRng).unwrap();
    request.normaliser_version = version;
    (set, request.to_bytes())
}

async fn post(served: &Served, body: Vec<u8>) -> Result<Vec<u8>, ClientError> {
    let mut session = remote(served).connect().await.unwrap();
    session
        .post_for_bytes("/liaison/match/evaluate", body)
        .await
}

fn status(r: Result<Vec<u8>, ClientError>) -> (u16, String) {
    match r {
        Err(ClientError::Taxii {
            status,
            description,
            ..
        }) => (status, description.unwrap_or_default()),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replays_oversized_unpadded_stale_and_over_budget_requests_are_refused_and_charged_nothing()
{
    let dir = tempfile::tempdir().unwrap();
    let terms = RUS_TERMS_FOR_USA.replace("budget_per_epoch = 4096", "budget_per_epoch = 1100");
    let served = rus(dir.path(), &terms).await;

    let (_, request) = raw_request(&served, 64, NORMALISER_VERSION).await;
    post(&served, request.clone()).await.unwrap();
    assert_eq!(used(&served), 64);
    let log_size = served.node.lock().unwrap().log_size().unwrap();

    // The same request again: a replay.
    let (code, why) = status(post(&served, request).await);
    assert_eq!(code, 422, "{why}");
    assert!(why.contains("answered before"), "{why}");

    // Over the agreed request size (1,024).
    let (_, big) = raw_request(&served, 2048, NORMALISER_VERSION).await;
    assert_eq!(status(post(&served, big).await).0, 413);

    // Another normaliser: refused, so a mismatch never silently misses.
    let (_, other) = raw_request(&served, 4, 99).await;
    let (code, why) = status(post(&served, other).await);
    assert_eq!(code, 400);
    assert!(why.contains("normaliser"), "{why}");

    // Not padded to a power of two, or another epoch.
    let (_, mut unpadded) = raw_request(&served, 4, NORMALISER_VERSION).await;
    let parsed = EvaluationRequest::from_bytes(&unpadded).unwrap();
    let mut three = parsed.clone();
    three.blinded.truncate(3);
    unpadded = three.to_bytes();
    assert_eq!(status(post(&served, unpadded).await).0, 400);
    let mut stale = parsed;
    stale.epoch = liaison_psi::EpochId(stale.epoch.0 - 1);
    let (code, why) = status(post(&served, stale.to_bytes()).await);
    assert_eq!(code, 400);
    assert!(why.contains("epoch"), "{why}");

    // Garbage.
    assert_eq!(
        status(post(&served, b"not a request".to_vec()).await).0,
        400
    );

    // 64 used, 1,036 left: 1,024 pass, then the budget is spent and says when it resets.
    let (_, full) = raw_request(&served, 1024, NORMALISER_VERSION).await;
    post(&served, full).await.unwrap();
    let (_, more) = raw_request(&served, 16, NORMALISER_VERSION).await;
    let (code, why) = status(post(&served, more).await);
    assert_eq!(code, 429, "{why}");
    assert!(why.contains("12 left"), "{why}");

    // Only the two answered requests were charged and logged.
    assert_eq!(used(&served), 64 + 1024);
    {
        let node = served.node.lock().unwrap();
        assert_eq!(node.log_size().unwrap(), log_size + 1);
        let queries = matching_leaves(&node)
            .into_iter()
            .filter(|l| matches!(l, Leaf::MatchQuery { .. }))
            .count();
        assert_eq!(queries, 2);
    }

    // The asker's side checks the budget before sending anything: 13 keys pad to 16.
    let emails: Vec<String> = (0..13).map(|i| format!("a{i}@example.org")).collect();
    let list: Vec<(SelectorKind, &str)> = emails
        .iter()
        .map(|e| (SelectorKind::Email, e.as_str()))
        .collect();
    let err = ask(&served, &list).await.unwrap_err().to_string();
    assert!(
        err.contains("16 evaluations") && err.contains("nothing was asked"),
        "{err}"
    );
    assert_eq!(used(&served), 64 + 1024);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_without_matching_terms_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let terms = RUS_TERMS_FOR_USA
        .split("[matching]")
        .next()
        .unwrap()
        .to_owned();
    let served = rus(dir.path(), &terms).await;
    let err = ask(&served, &[(SelectorKind::Email, "a@example.org")])
        .await
        .unwrap_err();
    let text = format!(
        "{err}: {}",
        std::error::Error::source(&err)
            .map(|s| s.to_string())
            .unwrap_or_default()
    );
    assert!(
        text.contains("403") || text.contains("no private matching"),
        "{text}"
    );
    assert!(matching_leaves(&served.node.lock().unwrap()).is_empty());
}
