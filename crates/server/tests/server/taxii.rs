//! The TAXII server driven as a partner would drive it: the router through `oneshot` for the
//! protocol, and `run` on 127.0.0.1:0 over TLS for the transport. The data is the demo's
//! third-party-rule scenario: RUS must never see anything derived from ISR's report.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::Router;
use base64::Engine;
use http_body_util::BodyExt;
use liaison_labels::Party;
use liaison_release::sample::{
    AQAP, ASSESSMENT, DERIVED, GBR_AGREEMENT, ISR_REPORT, NOFORN_NOTE, RUS_AGREEMENT, T0,
};
use liaison_release::Node;
use liaison_server::{app, AppState, Config};
use liaison_store::prelude::*;
use liaison_store::SqliteStore;
use serde_json::{json, Value};
use tower::ServiceExt;

const RUS_SECRET: &str = "rus-secret-0123456789";
const GBR_SECRET: &str = "gbr-secret-0123456789";
const TAXII: &str = "application/taxii+json;version=2.1";

/// What must never reach RUS, by id or by content.
const FORBIDDEN_FOR_RUS: [&str; 7] = [
    ASSESSMENT,
    ISR_REPORT,
    NOFORN_NOTE,
    DERIVED,
    "human source",
    "x_collection_method",
    "sensitive program",
];

struct Fixture {
    _dir: tempfile::TempDir,
    node: Arc<Mutex<Node<SqliteStore>>>,
    state: AppState<SqliteStore>,
}

impl Fixture {
    /// The id `to` receives our object `id` as.
    fn delivered_id(&self, to: &str, id: &str) -> String {
        self.node
            .lock()
            .unwrap()
            .delivered_id(&Party::parse(to).unwrap(), id)
            .unwrap()
    }

    fn new() -> Fixture {
        Fixture::with_config(Config::default())
    }

    fn with_config(config: Config) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let p = |s: &str| Party::parse(s).unwrap();
        let mut node = Node::init(dir.path(), &p("USA")).unwrap();
        node.add_partner(&p("GBR"), GBR_AGREEMENT).unwrap();
        node.add_partner(&p("RUS"), RUS_AGREEMENT).unwrap();
        liaison_release::sample::ingest_exchange(&mut node).unwrap();
        node.add_consent(ISR_REPORT, &p("GBR"), &p("ISR")).unwrap();
        node.set_secret(&p("RUS"), RUS_SECRET).unwrap();
        node.set_secret(&p("GBR"), GBR_SECRET).unwrap();
        let node = Arc::new(Mutex::new(node));
        let state = AppState::new(Arc::clone(&node), config).unwrap();
        Fixture {
            _dir: dir,
            node,
            state,
        }
    }

    fn app(&self) -> Router {
        app(self.state.clone())
    }
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

fn basic(user: &str, pass: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

async fn send(app: &Router, req: Request<Body>) -> Reply {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

async fn get_as(app: &Router, who: (&str, &str), uri: &str) -> Reply {
    let req = Request::get(uri)
        .header(header::AUTHORIZATION, basic(who.0, who.1))
        .header(header::ACCEPT, TAXII)
        .body(Body::empty())
        .unwrap();
    send(app, req).await
}

const RUS: (&str, &str) = ("RUS", RUS_SECRET);
const GBR: (&str, &str) = ("GBR", GBR_SECRET);

/// The caller's collection of the given alias, as listed.
async fn collection_id(app: &Router, who: (&str, &str), alias: &str) -> String {
    let r = get_as(app, who, "/liaison/collections/").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.json()["collections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["alias"] == alias)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn objects_url(collection: &str) -> String {
    format!("/liaison/collections/{collection}/objects/")
}

fn ids_of(envelope: &Value) -> Vec<String> {
    envelope["objects"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|o| o["id"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn discovery_api_root_and_collections_as_rus() {
    let f = Fixture::new();
    let app = f.app();
    let d = get_as(&app, RUS, "/taxii2/").await;
    assert_eq!(d.status, StatusCode::OK);
    assert_eq!(d.headers[header::CONTENT_TYPE], TAXII);
    assert_eq!(d.json()["api_roots"], json!(["/liaison/"]));

    let root = get_as(&app, RUS, "/liaison/").await;
    assert_eq!(root.status, StatusCode::OK);
    assert_eq!(root.json()["max_content_length"], json!(10 * 1024 * 1024));
    assert_eq!(root.json()["versions"], json!([TAXII]));

    let list = get_as(&app, RUS, "/liaison/collections/").await.json();
    let cols = list["collections"].as_array().unwrap();
    assert_eq!(cols.len(), 2);
    let out = cols.iter().find(|c| c["alias"] == "outbound").unwrap();
    let inb = cols.iter().find(|c| c["alias"] == "inbound").unwrap();
    assert_eq!(
        (out["can_read"].as_bool(), out["can_write"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(
        (inb["can_read"].as_bool(), inb["can_write"].as_bool()),
        (Some(true), Some(true))
    );

    // Deterministic: the same ids on a second listing, and each resolves.
    let again = collection_id(&app, RUS, "outbound").await;
    assert_eq!(out["id"].as_str().unwrap(), again);
    let one = get_as(&app, RUS, &format!("/liaison/collections/{again}/")).await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(one.json()["id"], json!(again));
    // GBR's ids differ from RUS's.
    assert_ne!(collection_id(&app, GBR, "outbound").await, again);
}

#[tokio::test]
async fn rus_never_sees_isr_derived_material_by_any_endpoint_filter_or_page() {
    let f = Fixture::new();
    let app = f.app();
    let out = collection_id(&app, RUS, "outbound").await;
    let base = objects_url(&out);
    let mut bodies: Vec<(String, Reply)> = Vec::new();
    let mut uris: Vec<String> = vec![
        base.clone(),
        format!("/liaison/collections/{out}/manifest/"),
        format!("{base}?match[type]=report"),
        format!("{base}?match[type]=report,relationship,note"),
        format!("{base}?match[version]=all"),
        format!("{base}?match[version]=first"),
        format!("{base}?match[version]={T0}"),
        format!("{base}?match[spec_version]=2.1"),
        format!("{base}?added_after=2000-01-01T00:00:00Z"),
        format!("/liaison/collections/{out}/manifest/?match[version]=all"),
        format!("/liaison/collections/{out}/manifest/?match[type]=report"),
    ];
    // Withheld objects, under our ids and under the ids RUS would receive them as.
    let as_rus: Vec<String> = FORBIDDEN_FOR_RUS
        .iter()
        .take(4)
        .map(|id| f.delivered_id("RUS", id))
        .collect();
    let withheld: Vec<&str> = FORBIDDEN_FOR_RUS
        .iter()
        .take(4)
        .copied()
        .chain(as_rus.iter().map(String::as_str))
        .collect();
    for id in &withheld {
        uris.push(format!("{base}?match[id]={id}"));
        uris.push(format!("{base}{id}/"));
        uris.push(format!("{base}{id}/versions/"));
        uris.push(format!("{base}{id}/?match[version]=all"));
        uris.push(format!(
            "/liaison/collections/{out}/manifest/?match[id]={id}"
        ));
    }
    for limit in [1, 2, 3, 1000, 100000] {
        uris.push(format!("{base}?limit={limit}"));
    }
    for uri in uris {
        let r = get_as(&app, RUS, &uri).await;
        bodies.push((uri, r));
    }
    // Every page of every page size.
    for limit in 1..=4 {
        let mut uri = format!("{base}?limit={limit}");
        loop {
            let r = get_as(&app, RUS, &uri).await;
            assert_eq!(r.status, StatusCode::OK);
            let env = r.json();
            let next = env["next"].as_str().map(str::to_owned);
            bodies.push((uri.clone(), r));
            match next {
                Some(n) => uri = format!("{base}?limit={limit}&next={n}"),
                None => break,
            }
        }
    }
    for (uri, r) in &bodies {
        for forbidden in FORBIDDEN_FOR_RUS
            .iter()
            .chain(&as_rus.iter().map(String::as_str).collect::<Vec<_>>())
        {
            assert!(
                !r.body.contains(forbidden),
                "`{forbidden}` reached RUS via {uri}: {}",
                r.body
            );
        }
        assert!(
            r.status == StatusCode::OK || r.status == StatusCode::NOT_FOUND,
            "{uri}: {}",
            r.status
        );
    }
    // The withheld objects are absent, not forbidden.
    for id in &withheld {
        for uri in [format!("{base}{id}/"), format!("{base}{id}/versions/")] {
            let r = get_as(&app, RUS, &uri).await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{uri}");
        }
    }
    // And RUS does get something: the tear line and shared context.
    let all = get_as(&app, RUS, &base).await.json();
    let ids = ids_of(&all);
    let aqap = f.delivered_id("RUS", AQAP);
    assert!(ids.contains(&aqap), "{ids:?}");
    assert!(!ids.is_empty());
    // GBR, with ISR's consent, receives the assessment (so the test above could fail).
    let gbr_out = collection_id(&app, GBR, "outbound").await;
    let gbr = get_as(&app, GBR, &objects_url(&gbr_out)).await;
    assert!(
        gbr.body.contains(&f.delivered_id("GBR", ASSESSMENT)),
        "{}",
        gbr.body
    );
    assert!(!gbr.body.contains(NOFORN_NOTE));
}

#[tokio::test]
async fn limit_one_walks_every_object_once_in_date_added_order() {
    let f = Fixture::new();
    let app = f.app();
    let out = collection_id(&app, GBR, "outbound").await;
    let base = objects_url(&out);
    let everything = ids_of(&get_as(&app, GBR, &base).await.json());
    assert!(everything.len() >= 5, "{everything:?}");

    let mut seen: Vec<String> = Vec::new();
    let mut added: Vec<String> = Vec::new();
    let mut uri = format!("{base}?limit=1");
    loop {
        let r = get_as(&app, GBR, &uri).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let env = r.json();
        let ids = ids_of(&env);
        assert_eq!(ids.len(), 1, "limit exceeded or empty page: {}", r.body);
        let first = r.headers["x-taxii-date-added-first"]
            .to_str()
            .unwrap()
            .to_owned();
        let last = r.headers["x-taxii-date-added-last"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(first, last);
        assert_eq!(
            first.len(),
            "2026-01-01T00:00:00.000000Z".len(),
            "microseconds: {first}"
        );
        added.push(first);
        seen.extend(ids);
        match env["next"].as_str() {
            Some(n) => {
                assert_eq!(env["more"], json!(true));
                uri = format!("{base}?limit=1&next={n}");
            }
            None => {
                assert!(env.get("more").is_none() || env["more"] == json!(false));
                break;
            }
        }
    }
    assert_eq!(seen, everything, "each object exactly once, in order");
    let mut sorted = added.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, added, "strictly ascending date_added");

    // The manifest pages the same way with added_after and the Last header.
    let manifest = format!("/liaison/collections/{out}/manifest/");
    let mut from_manifest = Vec::new();
    let mut uri = format!("{manifest}?limit=2");
    loop {
        let r = get_as(&app, GBR, &uri).await;
        let m = r.json();
        let recs = m["objects"].as_array().cloned().unwrap_or_default();
        assert!(recs.len() <= 2);
        for rec in &recs {
            from_manifest.push(rec["id"].as_str().unwrap().to_owned());
        }
        if m["more"] != json!(true) {
            break;
        }
        let last = r.headers["x-taxii-date-added-last"].to_str().unwrap();
        uri = format!("{manifest}?limit=2&added_after={last}");
    }
    assert_eq!(from_manifest, everything);

    // A limit above the maximum is capped, never exceeded.
    let small = Fixture::with_config(Config {
        max_page: 2,
        ..Config::default()
    });
    let app = small.app();
    let out = collection_id(&app, GBR, "outbound").await;
    let r = get_as(&app, GBR, &format!("{}?limit=500", objects_url(&out))).await;
    assert_eq!(ids_of(&r.json()).len(), 2);
    assert_eq!(r.json()["more"], json!(true));
}

#[tokio::test]
async fn next_tokens_are_bound_to_query_and_caller() {
    let f = Fixture::new();
    let app = f.app();
    let out = collection_id(&app, GBR, "outbound").await;
    let base = objects_url(&out);
    let env = get_as(&app, GBR, &format!("{base}?limit=1")).await.json();
    let token = env["next"].as_str().unwrap().to_owned();

    // Tampered: flip one character.
    let mut chars: Vec<char> = token.chars().collect();
    chars[10] = if chars[10] == 'A' { 'B' } else { 'A' };
    let tampered: String = chars.into_iter().collect();
    let r = get_as(&app, GBR, &format!("{base}?limit=1&next={tampered}")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert_eq!(r.json()["http_status"], json!("400"));

    // Other filters.
    let r = get_as(
        &app,
        GBR,
        &format!("{base}?limit=1&match[type]=report&next={token}"),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // Garbage.
    let r = get_as(&app, GBR, &format!("{base}?next=not-a-token")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // Another caller, on its own collection of the same alias.
    let rus_out = collection_id(&app, RUS, "outbound").await;
    let r = get_as(
        &app,
        RUS,
        &format!("{}?limit=1&next={token}", objects_url(&rus_out)),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // The genuine token still works, and the limit may change between pages.
    let r = get_as(&app, GBR, &format!("{base}?limit=3&next={token}")).await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn authentication_failures_are_401_with_a_challenge() {
    let f = Fixture::new();
    let app = f.app();
    for auth in [
        Some(basic("RUS", "wrong-password-123")),
        Some(basic("GBR", RUS_SECRET)),
        Some(basic("XXX", RUS_SECRET)),
        Some(basic("USA", RUS_SECRET)),
        Some("Bearer abc".to_owned()),
        Some("Basic !!!".to_owned()),
        None,
    ] {
        let mut req = Request::get("/liaison/collections/").header(header::ACCEPT, TAXII);
        if let Some(a) = &auth {
            req = req.header(header::AUTHORIZATION, a);
        }
        let r = send(&app, req.body(Body::empty()).unwrap()).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{auth:?}");
        assert_eq!(
            r.headers[header::WWW_AUTHENTICATE],
            "Basic realm=\"liaison\""
        );
        assert_eq!(r.json()["http_status"], json!("401"));
    }
    // The right secret, twice (the second from the cache).
    for _ in 0..2 {
        assert_eq!(
            get_as(&app, RUS, "/liaison/collections/").await.status,
            StatusCode::OK
        );
    }
    // A new secret for RUS: the cached old one fails at once, the new one works.
    {
        let mut node = f.node.lock().unwrap();
        node.set_secret(&Party::parse("RUS").unwrap(), "rus-new-secret-987654")
            .unwrap();
    }
    assert_eq!(
        get_as(&app, RUS, "/liaison/collections/").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get_as(
            &app,
            ("RUS", "rus-new-secret-987654"),
            "/liaison/collections/"
        )
        .await
        .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn another_partners_collection_is_absent() {
    let f = Fixture::new();
    let app = f.app();
    for alias in ["outbound", "inbound"] {
        let rus = collection_id(&app, RUS, alias).await;
        for uri in [
            format!("/liaison/collections/{rus}/"),
            format!("/liaison/collections/{rus}/objects/"),
            format!("/liaison/collections/{rus}/manifest/"),
            format!("/liaison/collections/{rus}/objects/{AQAP}/"),
        ] {
            let r = get_as(&app, GBR, &uri).await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{uri}");
        }
    }
    let r = get_as(
        &app,
        GBR,
        "/liaison/collections/00000000-0000-4000-8000-000000000000/",
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn media_types_are_checked() {
    let f = Fixture::new();
    let app = f.app();
    let req = Request::get("/liaison/collections/")
        .header(header::AUTHORIZATION, basic("RUS", RUS_SECRET))
        .header(header::ACCEPT, "text/html")
        .body(Body::empty())
        .unwrap();
    let r = send(&app, req).await;
    assert_eq!(r.status, StatusCode::NOT_ACCEPTABLE);
    assert_eq!(r.json()["http_status"], json!("406"));

    let inbound = collection_id(&app, RUS, "inbound").await;
    let req = Request::post(objects_url(&inbound))
        .header(header::AUTHORIZATION, basic("RUS", RUS_SECRET))
        .header(header::ACCEPT, TAXII)
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from("{\"objects\":[]}"))
        .unwrap();
    let r = send(&app, req).await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

fn post(collection: &str, body: impl Into<Body>, declared_len: Option<usize>) -> Request<Body> {
    let mut req = Request::post(objects_url(collection))
        .header(header::AUTHORIZATION, basic("RUS", RUS_SECRET))
        .header(header::ACCEPT, TAXII)
        .header(header::CONTENT_TYPE, TAXII);
    if let Some(n) = declared_len {
        req = req.header(header::CONTENT_LENGTH, n);
    }
    req.body(body.into()).unwrap()
}

#[tokio::test]
async fn oversize_bodies_are_413_declared_or_not() {
    let f = Fixture::with_config(Config {
        max_content_length: 1024,
        ..Config::default()
    });
    let app = f.app();
    let inbound = collection_id(&app, RUS, "inbound").await;
    let big = format!("{{\"objects\":[\"{}\"]}}", "x".repeat(4096));
    // Declared: refused before reading.
    let r = send(&app, post(&inbound, big.clone(), Some(big.len()))).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    assert_eq!(r.json()["http_status"], json!("413"));
    // Undeclared (streamed): refused once past the limit.
    let chunks = futures_like_stream(big);
    let r = send(&app, post(&inbound, chunks, None)).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    // The API root advertises the limit.
    let root = get_as(&app, RUS, "/liaison/").await.json();
    assert_eq!(root["max_content_length"], json!(1024));
}

/// A body without a declared length.
fn futures_like_stream(text: String) -> Body {
    let chunks: Vec<Result<axum::body::Bytes, std::io::Error>> = text
        .into_bytes()
        .chunks(100)
        .map(|c| Ok(axum::body::Bytes::copy_from_slice(c)))
        .collect();
    Body::from_stream(futures_util::stream::iter(chunks))
}

#[tokio::test]
async fn malformed_json_is_400_and_the_node_keeps_serving() {
    let f = Fixture::new();
    let app = f.app();
    let inbound = collection_id(&app, RUS, "inbound").await;
    for bad in ["{\"objects\": [", "not json at all", ""] {
        let r = send(&app, post(&inbound, bad, None)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad:?}: {}", r.body);
        assert_eq!(r.headers[header::CONTENT_TYPE], TAXII);
    }
    let r = send(&app, post(&inbound, "[1, 2, 3]", None)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    // Writing to the outbound collection is forbidden.
    let out = collection_id(&app, RUS, "outbound").await;
    let r = send(&app, post(&out, "{\"objects\":[]}", None)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Still serving.
    assert_eq!(
        get_as(&app, RUS, "/liaison/collections/").await.status,
        StatusCode::OK
    );
    assert_eq!(
        get_as(&app, RUS, &objects_url(&out)).await.status,
        StatusCode::OK
    );
}

const RUS_INDICATOR: &str = "indicator--d81f86b9-975b-4c0b-875e-810c5ad45a4f";

fn rus_indicator(modified: &str) -> Value {
    json!({
        "type": "indicator", "spec_version": "2.1", "id": RUS_INDICATOR,
        "created": "2026-11-21T10:00:00.000Z", "modified": modified,
        "name": "Cell courier phone", "pattern": "[ipv4-addr:value = '198.51.100.7']",
        "pattern_type": "stix", "valid_from": "2026-11-21T10:00:00.000Z",
    })
}

#[tokio::test]
async fn post_keeps_good_objects_refuses_bad_ones_and_delete_takes_them_back() {
    let f = Fixture::new();
    let app = f.app();
    let inbound = collection_id(&app, RUS, "inbound").await;
    let bad = json!({"type": "indicator", "id": "not-an-id", "spec_version": "2.1"});
    let envelope = json!({"objects": [rus_indicator("2026-11-21T10:00:00.000Z"), bad]}).to_string();
    let r = send(&app, post(&inbound, envelope, None)).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let status = r.json();
    assert_eq!(status["status"], json!("complete"));
    assert_eq!(status["total_count"], json!(2));
    assert_eq!(status["success_count"], json!(1));
    assert_eq!(status["failure_count"], json!(1));
    assert_eq!(status["successes"][0]["id"], json!(RUS_INDICATOR));
    assert!(status["failures"][0]["message"].as_str().is_some());

    // The status is RUS's alone.
    let sid = status["id"].as_str().unwrap();
    let again = get_as(&app, RUS, &format!("/liaison/status/{sid}/")).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.json(), status);
    let gbr = get_as(&app, GBR, &format!("/liaison/status/{sid}/")).await;
    assert_eq!(gbr.status, StatusCode::NOT_FOUND);

    // A second version, and an exact duplicate of the first (a success, not an error).
    let envelope = json!({"objects": [rus_indicator("2026-11-22T10:00:00.000Z"), rus_indicator("2026-11-21T10:00:00.000Z")]}).to_string();
    let r = send(&app, post(&inbound, envelope, None)).await;
    assert_eq!(r.json()["success_count"], json!(2), "{}", r.body);

    // RUS reads back what it sent; GBR cannot see RUS's inbound at all, and its own is empty.
    let objects = get_as(
        &app,
        RUS,
        &format!("{}?match[type]=indicator", objects_url(&inbound)),
    )
    .await
    .json();
    assert_eq!(ids_of(&objects), [RUS_INDICATOR]);
    let all = get_as(
        &app,
        RUS,
        &format!(
            "{}?match[type]=indicator&match[version]=all",
            objects_url(&inbound)
        ),
    )
    .await
    .json();
    assert_eq!(ids_of(&all).len(), 2);
    let versions = get_as(
        &app,
        RUS,
        &format!("{}{RUS_INDICATOR}/versions/", objects_url(&inbound)),
    )
    .await;
    assert_eq!(versions.json()["versions"].as_array().unwrap().len(), 2);
    let gbr_inbound = collection_id(&app, GBR, "inbound").await;
    let gbr_view = get_as(&app, GBR, &objects_url(&gbr_inbound)).await;
    assert_eq!(gbr_view.json(), json!({}));

    // DELETE: on outbound forbidden; the first version, then the rest.
    let del = |uri: String| {
        Request::delete(uri)
            .header(header::AUTHORIZATION, basic("RUS", RUS_SECRET))
            .header(header::ACCEPT, TAXII)
            .body(Body::empty())
            .unwrap()
    };
    let out = collection_id(&app, RUS, "outbound").await;
    let r = send(&app, del(format!("{}{AQAP}/", objects_url(&out)))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let obj = format!("{}{RUS_INDICATOR}/", objects_url(&inbound));
    let r = send(&app, del(format!("{obj}?match[version]=first"))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let versions = get_as(&app, RUS, &format!("{obj}versions/")).await.json();
    assert_eq!(versions["versions"], json!(["2026-11-22T10:00:00.000Z"]));
    let r = send(&app, del(obj.clone())).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(get_as(&app, RUS, &obj).await.status, StatusCode::NOT_FOUND);
    assert_eq!(send(&app, del(obj)).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn health_and_metrics() {
    let f = Fixture::new();
    let app = f.app();
    let r = send(&app, Request::get("/health").body(Body::empty()).unwrap()).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["status"], json!("ok"));
    let _ = get_as(&app, ("RUS", "wrong-password-123"), "/liaison/").await;
    let _ = get_as(&app, RUS, "/liaison/").await;
    // Not on the partners' port: neither without credentials nor as a partner.
    let m = send(&app, Request::get("/metrics").body(Body::empty()).unwrap()).await;
    assert_eq!(m.status, StatusCode::NOT_FOUND, "{}", m.body);
    assert!(!m.body.contains("liaison_taxii"), "{}", m.body);
    let m = get_as(&app, RUS, "/metrics").await;
    assert_eq!(m.status, StatusCode::NOT_FOUND, "{}", m.body);
    assert!(!m.body.contains("liaison_taxii"), "{}", m.body);
    // On the operators' router.
    let ops = liaison_server::operator_app(f.state.clone());
    let m = send(&ops, Request::get("/metrics").body(Body::empty()).unwrap()).await;
    assert_eq!(m.status, StatusCode::OK);
    assert!(
        m.body.contains("liaison_taxii_auth_failures_total 1"),
        "{}",
        m.body
    );
    assert!(m.body.contains("endpoint=\"/liaison/\""), "{}", m.body);
    assert!(
        m.body.contains("liaison_taxii_request_duration_seconds"),
        "{}",
        m.body
    );
    assert!(!m.body.contains("RUS"), "metrics name no partner");
    // The operators' router serves nothing of TAXII.
    let r = get_as(&ops, RUS, "/taxii2/").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn unknown_paths_and_bad_queries() {
    let f = Fixture::new();
    let app = f.app();
    let r = get_as(&app, RUS, "/nowhere/").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let out = collection_id(&app, RUS, "outbound").await;
    for q in [
        "limit=0",
        "limit=x",
        "added_after=yesterday",
        "match[colour]=red",
        "match[version]=all,last",
    ] {
        let r = get_as(&app, RUS, &format!("{}?{q}", objects_url(&out))).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{q}");
    }
}

/// One HTTP/1.1 request over any stream, answered with `Connection: close`.
async fn raw_get<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    mut io: T,
    path: &str,
) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let req = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    io.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let _ = io.read_to_end(&mut out).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn runs_over_tls_with_a_reused_self_signed_certificate_and_shuts_down() {
    let f = Fixture::new();
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, fp) = liaison_server::self_signed(dir.path(), &[]).unwrap();
    let (cert2, _, fp2) = liaison_server::self_signed(dir.path(), &[]).unwrap();
    assert_eq!((&cert, &fp), (&cert2, &fp2), "reused, not regenerated");
    assert_eq!(fp.len(), 64);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let cert_pem = std::fs::read(&cert).unwrap();
    let tls = liaison_server::tls_config(&cert_pem, &std::fs::read(&key).unwrap()).unwrap();
    assert!(liaison_server::tls_config(b"junk", b"junk").is_err());

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(liaison_server::run(
        listener,
        Some(tls),
        f.state.clone(),
        async {
            let _ = stopped.await;
        },
    ));

    let connector = crate::attack::tls_connector(&cert_pem);
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let tls_stream = connector.connect(name, tcp).await.unwrap();
    let reply = raw_get(tls_stream, "/health").await;
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.contains("{\"status\":\"ok\"}"), "{reply}");

    // Plain TCP to the TLS port gets no HTTP answer.
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    assert!(!raw_get(tcp, "/health").await.starts_with("HTTP/1.1 200"));

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "stopped listening"
    );
}

#[tokio::test]
async fn runs_plain_http_when_asked() {
    let f = Fixture::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(liaison_server::run(
        listener,
        None,
        f.state.clone(),
        async {
            let _ = stopped.await;
        },
    ));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let reply = raw_get(tcp, "/taxii2/").await;
    assert!(reply.starts_with("HTTP/1.1 401"), "{reply}");
    assert!(reply.contains("Basic realm=\"liaison\""), "{reply}");
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

/// With upkeep in the background (as `liaison serve` runs it), pages are read from the
/// stored rows: what another connection ingests reaches the partner once upkeep has run, and
/// after an agreement change the old rows are never served (the request recomputes first).
#[tokio::test]
async fn pages_come_from_the_stored_view_kept_up_in_the_background() {
    let f = Fixture::new();
    let maintainer = Node::open(f._dir.path()).unwrap();
    f.state
        .maintain_in_background(maintainer, std::time::Duration::from_millis(20))
        .unwrap();
    let app = f.app();
    let coll = collection_id(&app, GBR, "outbound").await;
    let url = format!("{}?limit=1000", objects_url(&coll));
    let before = ids_of(&get_as(&app, GBR, &url).await.json());
    let assessment = f.delivered_id("GBR", ASSESSMENT);
    assert!(before.contains(&assessment), "{before:?}");

    // Another process ingests an indicator GBR may see.
    let shared = liaison_release::sample::labels().unwrap().usa_shared;
    let id = "indicator--00000000-0000-4000-8000-00000000e001";
    let bundle = json!({"type": "bundle", "id": "bundle--00000000-0000-4000-8000-00000000e002",
        "objects": [{"type": "indicator", "spec_version": "2.1", "id": id, "created": T0,
            "modified": T0, "pattern": "[ipv4-addr:value = '198.51.100.77']",
            "pattern_type": "stix", "valid_from": T0, "labels": ["terrorism"],
            "object_marking_refs": [shared.marking_id().to_string()]}]});
    let mut other = Node::open(f._dir.path()).unwrap();
    other
        .ingest(
            &liaison_stix::parse_document(&bundle.to_string()).unwrap(),
            &Default::default(),
            &mut |_| {},
        )
        .unwrap();
    let new_id = f.delivered_id("GBR", id);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let now = ids_of(&get_as(&app, GBR, &url).await.json());
        if now.contains(&new_id) {
            assert_eq!(
                now.len(),
                before.len() + 1,
                "only the new indicator: {now:?}"
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "upkeep never delivered it"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    // GBR's ceiling drops to UNCLASSIFIED: the very next page no longer has the SECRET
    // assessment, without waiting for the background upkeep.
    let lower = GBR_AGREEMENT.replace("ceiling = \"SECRET\"", "ceiling = \"UNCLASSIFIED\"");
    assert_ne!(lower, GBR_AGREEMENT);
    f.node
        .lock()
        .unwrap()
        .add_partner(&Party::parse("GBR").unwrap(), &lower)
        .unwrap();
    let after = ids_of(&get_as(&app, GBR, &url).await.json());
    assert!(!after.contains(&assessment), "{after:?}");
    assert!(after.contains(&new_id), "{after:?}");
}

/// A view that must be computed whole is computed by the upkeep task, never under the node
/// a request holds: while another process is computing GBR's view, GBR is told 503 with
/// `Retry-After` and a TAXII error body (naming nothing of ours), RUS is served at once, and
/// when that process's build is seen to have died, the upkeep computes GBR's view and GBR's
/// next page is served.
#[tokio::test]
async fn a_view_being_computed_elsewhere_is_waited_for_without_holding_the_node() {
    let f = Fixture::with_config(Config {
        view_wait: std::time::Duration::from_millis(600),
        ..Config::default()
    });
    let maintainer = Node::open(f._dir.path()).unwrap();
    f.state
        .maintain_in_background(maintainer, std::time::Duration::from_millis(20))
        .unwrap();
    let app = f.app();
    let gbr = collection_id(&app, GBR, "outbound").await;
    let rus = collection_id(&app, RUS, "outbound").await;
    let before = ids_of(&get_as(&app, GBR, &objects_url(&gbr)).await.json());
    assert!(!before.is_empty());

    // Another process has begun computing GBR's view whole: its mark, with a fresh heartbeat.
    let mut other = SqliteStore::open(&f._dir.path().join("node.db")).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let building = |beat: u64| liaison_release::view_building_state("other", beat);
    assert!(other
        .write_view("GBR", &building(now), true, &[], &[], None)
        .unwrap());

    let started = std::time::Instant::now();
    let r = get_as(&app, GBR, &objects_url(&gbr)).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    assert_eq!(r.headers[header::RETRY_AFTER], "10");
    assert_eq!(r.headers[header::CONTENT_TYPE], TAXII);
    let body = r.json();
    assert_eq!(body["http_status"], "503");
    assert!(
        body["description"]
            .as_str()
            .unwrap()
            .contains("being prepared"),
        "{body}"
    );
    assert!(started.elapsed() >= std::time::Duration::from_millis(600));
    // Nothing was served from rows under another basis: the view's rows are gone, and
    // none came back (the upkeep left the view to the other process).
    assert!(f
        .node
        .lock()
        .unwrap()
        .view_page(&Party::parse("GBR").unwrap(), 0, 10)
        .unwrap()
        .is_empty());

    // RUS meanwhile: served at once, its view untouched.
    let r = get_as(&app, RUS, &objects_url(&rus)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // The other process died: its heartbeat is old. The upkeep computes the view, and the
    // request that asked for it is answered with it.
    assert!(other
        .write_view(
            "GBR",
            &building(now - 3600),
            false,
            &[],
            &[],
            Some(&building(now).basis)
        )
        .unwrap());
    // (Asked again while it takes longer than the short wait this test configures.)
    let mut r = get_as(&app, GBR, &objects_url(&gbr)).await;
    for _ in 0..50 {
        if r.status != StatusCode::SERVICE_UNAVAILABLE {
            break;
        }
        r = get_as(&app, GBR, &objects_url(&gbr)).await;
    }
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(ids_of(&r.json()), before);
}
