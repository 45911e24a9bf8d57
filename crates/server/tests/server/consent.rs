//! Signed consents: ISR's node signs its consent to pass its report (and what derives from
//! it) to GBR; the USA's node accepts it only with ISR's valid signature, checked against
//! ISR's registered log key, logs it, and only then releases the ISR-derived assessment to
//! GBR. Over HTTP, a partner posts its own consents to `POST /liaison/consents/`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use base64::Engine;
use http_body_util::BodyExt;
use liaison_labels::Party;
use liaison_release::sample::{isr_bundle, labels, ASSESSMENT, GBR_AGREEMENT, ISR_REPORT};
use liaison_release::{IngestOptions, Leaf, LogKeys, Node, ReleaseError, PARTNER_LOG_KEY};
use liaison_server::{app, AppState, Config};
use liaison_store::SqliteStore;
use serde_json::Value;
use tower::ServiceExt;

const ISR_SECRET: &str = "isr-secret-0123456789";
const GBR_SECRET: &str = "gbr-secret-0123456789";
const ISR_AGREEMENT: &str =
    "party = \"ISR\"\nceiling = \"SECRET\"\n\n[scope]\nmax_tlp = \"amber\"\n";

fn p(s: &str) -> Party {
    Party::parse(s).unwrap()
}

/// ISR's node, holding its own report.
fn isr_node() -> (tempfile::TempDir, Node<SqliteStore>) {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Node::init(dir.path(), &p("ISR")).unwrap();
    node.ingest(
        &isr_bundle(&labels().unwrap()).unwrap(),
        &IngestOptions::default(),
        &mut |_| {},
    )
    .unwrap();
    (dir, node)
}

/// The USA's node: ISR's report received from ISR, the USA's assessment derived from it,
/// partners GBR and ISR; no consent yet, and ISR's log key not registered.
fn usa_node() -> (tempfile::TempDir, Node<SqliteStore>) {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Node::init(dir.path(), &p("USA")).unwrap();
    node.add_partner(&p("GBR"), GBR_AGREEMENT).unwrap();
    node.add_partner(&p("ISR"), ISR_AGREEMENT).unwrap();
    liaison_release::sample::ingest_exchange(&mut node).unwrap();
    node.set_secret(&p("ISR"), ISR_SECRET).unwrap();
    node.set_secret(&p("GBR"), GBR_SECRET).unwrap();
    (dir, node)
}

fn register(usa: &mut Node<SqliteStore>, isr: &Node<SqliteStore>) {
    let vkey = isr.log_keys().node.verifier_key().to_string();
    usa.set_partner_key(&p("ISR"), PARTNER_LOG_KEY, &vkey)
        .unwrap();
}

/// The decision on the assessment for GBR: `release`, `tearline` or `withhold`.
fn assessment_for_gbr(node: &Node<SqliteStore>) -> String {
    let entries = node.preview(&p("GBR")).unwrap();
    let e = entries.iter().find(|e| e.object == ASSESSMENT).unwrap();
    serde_json::to_value(e.decision)
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned()
}

/// The leaf at `index` of `node`'s log, as opened for `party`.
fn leaf(node: &Node<SqliteStore>, index: u64, party: &str) -> Leaf {
    let o = node.opening_for(index, &p(party)).unwrap().unwrap();
    Leaf::from_json(&o.leaf).unwrap()
}

fn refusal(e: ReleaseError) -> String {
    let m = e.to_string();
    assert!(
        liaison_release::consent_refusal(&e).is_some(),
        "not a consent refusal: {m}"
    );
    m
}

#[test]
fn a_consent_signed_by_isr_releases_the_assessment_to_gbr_and_is_logged() {
    let (_i, isr) = isr_node();
    let (_u, mut usa) = usa_node();
    register(&mut usa, &isr);
    assert_eq!(assessment_for_gbr(&usa), "withhold");

    let note = isr.sign_consent(ISR_REPORT, &p("GBR")).unwrap();
    assert!(note.starts_with(&format!(
        "liaison consent v1\nobject {ISR_REPORT}\nto GBR\nby ISR\ncreated "
    )));
    assert!(note.contains("\n\n\u{2014} liaison.ISR "), "{note}");

    let size = usa.log_size().unwrap();
    let c = usa.accept_consent(&note).unwrap();
    assert_eq!(
        (c.object.as_str(), c.to.as_str(), c.by.as_str()),
        (ISR_REPORT, "GBR", "ISR")
    );
    assert_eq!(assessment_for_gbr(&usa), "release");

    // Kept with its signed text, and logged once.
    let kept = liaison_store::PartnerStore::signed_consents(usa.store()).unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].1.as_deref(), Some(note.as_str()));
    assert_eq!(usa.log_size().unwrap(), size + 1);
    assert_eq!(
        leaf(&usa, size, "ISR"),
        Leaf::Consent {
            object: ISR_REPORT.into(),
            to: "GBR".into(),
            by: "ISR".into()
        }
    );
    // The same note again is no new consent.
    usa.accept_consent(&note).unwrap();
    assert_eq!(usa.log_size().unwrap(), size + 1);
    assert_eq!(
        liaison_store::PartnerStore::signed_consents(usa.store())
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn bad_consents_are_each_refused_with_their_own_error() {
    let (_i, isr) = isr_node();
    let (_u, mut usa) = usa_node();
    let note = isr.sign_consent(ISR_REPORT, &p("GBR")).unwrap();

    // ISR's key not registered yet.
    let no_key = refusal(usa.accept_consent(&note).unwrap_err());
    assert!(no_key.contains("no log key registered for ISR"), "{no_key}");
    register(&mut usa, &isr);

    // Tampered: the recipient changed after signing.
    let tampered = note.replacen("to GBR", "to RUS", 1);
    let altered = refusal(usa.accept_consent(&tampered).unwrap_err());
    assert!(altered.contains("does not verify"), "{altered}");

    // Signed by a different key of the same name.
    let other = LogKeys::generate(&p("ISR")).unwrap();
    let text = note.split_once("\n\n").unwrap().0.to_owned() + "\n";
    let forged = String::from_utf8(other.node.sign_note(text.as_bytes()).unwrap()).unwrap();
    let wrong_key = refusal(usa.accept_consent(&forged).unwrap_err());
    assert!(
        wrong_key.contains("not signed by ISR's registered key"),
        "{wrong_key}"
    );

    // An originator that is not a partner.
    let fra = {
        let dir = tempfile::tempdir().unwrap();
        let mut n = Node::init(dir.path(), &p("FRA")).unwrap();
        n.ingest(
            &isr_bundle(&labels().unwrap()).unwrap(),
            &IngestOptions::default(),
            &mut |_| {},
        )
        .unwrap();
        n.sign_consent(ISR_REPORT, &p("GBR")).unwrap()
    };
    let not_partner = refusal(usa.accept_consent(&fra).unwrap_err());
    assert!(
        not_partner.contains("FRA, which is not a partner"),
        "{not_partner}"
    );

    // Unsigned: the operator types ISR's consent.
    let unsigned = refusal(
        usa.add_own_consent(ISR_REPORT, &p("GBR"), &p("ISR"))
            .unwrap_err(),
    );
    assert!(
        unsigned.contains(
            "a consent by ISR must be signed by ISR's node (liaison consent sign on ISR's node)"
        ),
        "{unsigned}"
    );
    // The bare text, without a signature.
    let bare = refusal(usa.accept_consent(&text).unwrap_err());
    assert!(bare.contains("not a signed consent note"), "{bare}");
    // Malformed fields, signed properly.
    let bad_text = text.replacen("to GBR", "to G!R", 1);
    let bad =
        String::from_utf8(isr.log_keys().node.sign_note(bad_text.as_bytes()).unwrap()).unwrap();
    let malformed = refusal(usa.accept_consent(&bad).unwrap_err());
    assert!(
        malformed.contains("malformed consent: field `to`"),
        "{malformed}"
    );

    let all = [
        &no_key,
        &altered,
        &wrong_key,
        &not_partner,
        &unsigned,
        &bare,
        &malformed,
    ];
    for (i, a) in all.iter().enumerate() {
        for b in &all[i + 1..] {
            assert_ne!(a, b);
        }
    }
    // Nothing was recorded, and the assessment still does not go to GBR.
    assert!(liaison_store::PartnerStore::signed_consents(usa.store())
        .unwrap()
        .is_empty());
    assert_eq!(assessment_for_gbr(&usa), "withhold");

    // Our own consent, typed by our operator, is signed with our key and accepted.
    let own = usa
        .add_own_consent(ASSESSMENT, &p("GBR"), &p("USA"))
        .unwrap();
    assert_eq!(own.by, "USA");
    let kept = liaison_store::PartnerStore::signed_consents(usa.store()).unwrap();
    assert!(kept[0]
        .1
        .as_deref()
        .unwrap()
        .contains("\u{2014} liaison.USA "));
}

fn basic(user: &str, pass: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

async fn post(app: &Router, who: Option<(&str, &str)>, note: &str) -> (StatusCode, String) {
    post_to(app, "/liaison/consents/", who, note).await
}

async fn post_to(
    app: &Router,
    path: &str,
    who: Option<(&str, &str)>,
    note: &str,
) -> (StatusCode, String) {
    let mut req = Request::post(path).header(header::CONTENT_TYPE, "text/plain");
    if let Some((u, s)) = who {
        req = req.header(header::AUTHORIZATION, basic(u, s));
    }
    let res = app
        .clone()
        .oneshot(req.body(Body::from(note.to_owned())).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

#[tokio::test]
async fn isr_posts_its_consent_to_the_usa_server() {
    let (_i, isr) = isr_node();
    let (_u, mut usa) = usa_node();
    register(&mut usa, &isr);
    let size = usa.log_size().unwrap();
    let node = Arc::new(Mutex::new(usa));
    let app = app(AppState::new(Arc::clone(&node), Config::default()).unwrap());
    let note = isr.sign_consent(ISR_REPORT, &p("GBR")).unwrap();

    // Unauthenticated: 401.
    let (status, _) = post(&app, None, &note).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // GBR may not post ISR's consent: 400, with a TAXII error body.
    let (status, body) = post(&app, Some(("GBR", GBR_SECRET)), &note).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let err: Value = serde_json::from_str(&body).unwrap();
    assert!(
        err["description"]
            .as_str()
            .unwrap()
            .contains("GBR may only send consents signed by itself, not by ISR"),
        "{body}"
    );

    // A tampered note: 400.
    let (status, body) = post(
        &app,
        Some(("ISR", ISR_SECRET)),
        &note.replacen("to GBR", "to RUS", 1),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("does not verify"), "{body}");

    // Not a note at all: 400.
    let (status, _) = post(&app, Some(("ISR", ISR_SECRET)), "hello").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    assert_eq!(assessment_for_gbr(&node.lock().unwrap()), "withhold");

    // ISR's own: 201, recorded, logged, and the assessment now goes to GBR.
    let (status, body) = post(&app, Some(("ISR", ISR_SECRET)), &note).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["by"], "ISR");
    assert_eq!(v["to"], "GBR");
    assert_eq!(v["object"], ISR_REPORT);
    let usa = node.lock().unwrap();
    assert_eq!(usa.log_size().unwrap(), size + 1);
    assert!(matches!(leaf(&usa, size, "ISR"), Leaf::Consent { ref by, .. } if by == "ISR"));
    assert_eq!(assessment_for_gbr(&usa), "release");
}

async fn get(app: &Router, path: &str, who: (&str, &str)) -> (StatusCode, String) {
    let req = Request::get(path).header(header::AUTHORIZATION, basic(who.0, who.1));
    let res = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

#[tokio::test]
async fn isr_fetches_countersigns_and_returns_the_usa_terms_over_http() {
    let (_i, mut isr) = isr_node();
    let (_u, mut usa) = usa_node();
    register(&mut usa, &isr);
    isr.add_partner(&p("USA"), &ISR_AGREEMENT.replace("ISR", "USA"))
        .unwrap();
    let usa_key = usa.log_keys().node.verifier_key().to_string();
    isr.set_partner_key(&p("USA"), PARTNER_LOG_KEY, &usa_key)
        .unwrap();
    let node = Arc::new(Mutex::new(usa));
    let app = app(AppState::new(Arc::clone(&node), Config::default()).unwrap());

    // Each partner is given its own terms.
    let (status, body) = get(&app, "/liaison/agreement", ("ISR", ISR_SECRET)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let offered: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(offered["text"], ISR_AGREEMENT);
    let (_, gbr) = get(&app, "/liaison/agreement", ("GBR", GBR_SECRET)).await;
    let gbr: Value = serde_json::from_str(&gbr).unwrap();
    assert_eq!(gbr["text"], GBR_AGREEMENT);

    let both = isr
        .countersign_agreement(
            &p("USA"),
            offered["text"].as_str().unwrap(),
            offered["note"].as_str().unwrap(),
        )
        .unwrap();
    // GBR cannot pass ISR's countersignature off as its own, nor ISR a tampered one.
    let (status, body) =
        post_to(&app, "/liaison/agreement", Some(("GBR", GBR_SECRET)), &both).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = post_to(
        &app,
        "/liaison/agreement",
        Some(("ISR", ISR_SECRET)),
        &both.replacen("to ISR", "to IRN", 1),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("not our current terms"), "{body}");

    let (status, body) =
        post_to(&app, "/liaison/agreement", Some(("ISR", ISR_SECRET)), &both).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, r#"{"new":true}"#));
    let (status, body) =
        post_to(&app, "/liaison/agreement", Some(("ISR", ISR_SECRET)), &both).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, r#"{"new":false}"#)
    );

    // What is served now carries both signatures; the USA's log holds it once.
    let (_, body) = get(&app, "/liaison/agreement", ("ISR", ISR_SECRET)).await;
    let served: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(served["note"], both.as_str());
    let usa = node.lock().unwrap();
    let status = usa.agreement_status(&p("ISR")).unwrap();
    assert_eq!(status.ours.unwrap().signed_by, ["USA", "ISR"]);
    let size = usa.log_size().unwrap();
    assert!(matches!(
        leaf(&usa, size - 1, "ISR"),
        Leaf::Agreement { ref signed_by, ref terms, .. } if signed_by.len() == 2 && terms == "ours"
    ));
}

#[tokio::test]
async fn note_bodies_of_the_wrong_type_size_or_encoding_are_refused_and_change_nothing() {
    let (_u, usa) = usa_node();
    let size = usa.log_size().unwrap();
    let node = Arc::new(Mutex::new(usa));
    let app = app(AppState::new(Arc::clone(&node), Config::default()).unwrap());
    for path in ["/liaison/consents/", "/liaison/agreement"] {
        let send = |ct: &'static str, body: Vec<u8>| {
            let req = Request::post(path)
                .header(header::CONTENT_TYPE, ct)
                .header(header::AUTHORIZATION, basic("ISR", ISR_SECRET))
                .body(Body::from(body))
                .unwrap();
            app.clone().oneshot(req)
        };
        let r = send("application/json", b"{}".to_vec()).await.unwrap();
        assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "{path}");
        let r = send("text/plain", vec![b'a'; 70_000]).await.unwrap();
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE, "{path}");
        let r = send("text/plain", vec![0xff, 0xfe, b'\n']).await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{path}");
        let body = r.into_body().collect().await.unwrap().to_bytes();
        let err: Value = serde_json::from_slice(&body).unwrap();
        assert!(
            err["description"].as_str().unwrap().contains("not UTF-8"),
            "{path}: {err}"
        );
    }
    assert_eq!(node.lock().unwrap().log_size().unwrap(), size);
}
