//! The transparency log as a partner reads it beside TAXII: the checkpoint verifies with the
//! node's key, every delivery to RUS is provable against it, tiles at the C2SP paths
//! reproduce the root, and cosignatures are kept only from the registered key. Entries are
//! salted commitments: what the log holds about GBR is neither readable by RUS in the tiles
//! nor served to it as an opening.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use base64::Engine;
use http_body_util::BodyExt;
use liaison_labels::Party;
use liaison_log::{
    decode_entry_bundle, leaf_hash, new_tiles, verify_entry_bundle, verify_inclusion, Cosigner,
    Hash, MemoryTree, Opening, SignedCheckpoint, TileKind, VerifierKey,
};
use liaison_release::sample::{GBR_AGREEMENT, RUS_AGREEMENT};
use liaison_release::{sha256_hex, Leaf, Node, PARTNER_COSIGNER_KEY};
use liaison_server::{app, AppState, Config, ProofsJson, HEADER_LOG_SIZE};
use tower::ServiceExt;

const RUS_SECRET: &str = "rus-secret-0123456789";

struct Fixture {
    _dir: tempfile::TempDir,
    app: Router,
    vkey: VerifierKey,
    rus_cosigner: Cosigner,
    /// The ids of the objects delivered to GBR, and the indexes of their delivery leaves.
    gbr_ids: Vec<String>,
    gbr_leaves: Vec<u64>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let p = |s: &str| Party::parse(s).unwrap();
    let mut node = Node::init(dir.path(), &p("USA")).unwrap();
    node.add_partner(&p("GBR"), GBR_AGREEMENT).unwrap();
    node.add_partner(&p("RUS"), RUS_AGREEMENT).unwrap();
    liaison_release::sample::ingest_exchange(&mut node).unwrap();
    node.set_secret(&p("RUS"), RUS_SECRET).unwrap();
    let rus_cosigner = Cosigner::from_seed("liaison.RUS", [7; 32]).unwrap();
    node.set_partner_key(
        &p("RUS"),
        PARTNER_COSIGNER_KEY,
        &rus_cosigner.cosigner_key().to_string(),
    )
    .unwrap();
    // GBR's view: its delivery leaves are in the log before RUS reads anything.
    let gbr_view = node.view(&p("GBR")).unwrap();
    let gbr_ids: Vec<String> = gbr_view.entries.iter().map(|e| e.id.clone()).collect();
    assert!(!gbr_ids.is_empty());
    let size = node.log_size().unwrap();
    // (The list also holds the fingerprint commitment logged before GBR's first delivery.)
    let gbr_leaves: Vec<u64> = node
        .deliveries(&p("GBR"), None, size)
        .unwrap()
        .into_iter()
        .filter(|(_, o)| {
            matches!(
                liaison_release::Leaf::from_json(&o.leaf),
                Some(liaison_release::Leaf::Delivery { .. })
            )
        })
        .map(|(i, _)| i)
        .collect();
    assert_eq!(gbr_leaves.len(), gbr_ids.len());
    let vkey = node.log_keys().node.verifier_key();
    let state = AppState::new(Arc::new(Mutex::new(node)), Config::default()).unwrap();
    Fixture {
        _dir: dir,
        app: app(state),
        vkey,
        rus_cosigner,
        gbr_ids,
        gbr_leaves,
    }
}

fn auth() -> String {
    let t = base64::engine::general_purpose::STANDARD.encode(format!("RUS:{RUS_SECRET}"));
    format!("Basic {t}")
}

async fn send(
    app: &Router,
    method: &str,
    uri: &str,
    body: Vec<u8>,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, auth())
        .body(Body::from(body))
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    (status, headers, body)
}

async fn get(app: &Router, uri: &str) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    send(app, "GET", uri, Vec::new()).await
}

fn hash(b64: &str) -> Hash {
    let v = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    Hash(v.try_into().unwrap())
}

#[tokio::test]
async fn every_delivery_to_rus_is_provable_against_a_checkpoint_signed_by_the_node() {
    let f = fixture();
    let (status, headers, body) = get(&f.app, "/liaison/collections/outbound/objects/").await;
    assert_eq!(status, StatusCode::OK);
    let log_size: u64 = headers[HEADER_LOG_SIZE].to_str().unwrap().parse().unwrap();
    #[derive(serde::Deserialize)]
    struct Env {
        objects: Vec<Box<serde_json::value::RawValue>>,
    }
    let env: Env = serde_json::from_slice(&body).unwrap();
    assert!(!env.objects.is_empty());

    let (status, _, body) = get(&f.app, "/log/checkpoint").await;
    assert_eq!(status, StatusCode::OK);
    let cp = SignedCheckpoint::verify(&body, &f.vkey).unwrap();
    assert_eq!(cp.checkpoint().origin(), "liaison.USA");
    assert!(cp.checkpoint().size() >= log_size && log_size > 0);

    let (status, _, body) = get(&f.app, "/log/deliveries").await;
    assert_eq!(status, StatusCode::OK);
    let proofs: ProofsJson = serde_json::from_slice(&body).unwrap();
    let cp = SignedCheckpoint::verify(proofs.checkpoint.as_bytes(), &f.vkey).unwrap();
    let c = cp.checkpoint();
    for p in &proofs.proofs {
        // Opening → commitment → leaf hash → inclusion proof → the signed root.
        let opening = Opening::from_hex(p.leaf.as_bytes().to_vec(), &p.salt).unwrap();
        assert_eq!(leaf_hash(&opening.commitment()), hash(&p.leaf_hash));
        let path: Vec<Hash> = p.path.iter().map(|h| hash(h)).collect();
        verify_inclusion(hash(&p.leaf_hash), p.index, c.size(), c.root(), &path).unwrap();
        opening
            .verify(p.index, Some(hash(&p.leaf_hash)), c.size(), c.root(), &path)
            .unwrap();
        // A changed leaf or salt does not open the commitment.
        let mut forged = opening.clone();
        forged.leaf = String::from_utf8(forged.leaf)
            .unwrap()
            .replace("RUS", "GBR")
            .into_bytes();
        assert!(forged
            .verify(p.index, Some(hash(&p.leaf_hash)), c.size(), c.root(), &path)
            .is_err());
        // RUS's deliveries, and the commitment its copies are fingerprinted under.
        assert!(matches!(
            Leaf::from_json(p.leaf.as_bytes()),
            Some(Leaf::Delivery { ref recipient, .. } | Leaf::Fingerprint { ref recipient, .. })
                if recipient == "RUS"
        ));
    }
    let commitments = proofs
        .proofs
        .iter()
        .filter(|p| {
            matches!(
                Leaf::from_json(p.leaf.as_bytes()),
                Some(Leaf::Fingerprint { .. })
            )
        })
        .count();
    assert_eq!(commitments, 1);
    // Every object RUS received has its delivery leaf, with the hash of the bytes received.
    for o in &env.objects {
        let v: serde_json::Value = serde_json::from_str(o.get()).unwrap();
        let id = v["id"].as_str().unwrap();
        let found = proofs.proofs.iter().any(|p| {
            matches!(Leaf::from_json(p.leaf.as_bytes()),
                Some(Leaf::Delivery { delivered, sha256, .. })
                    if delivered == id && sha256 == sha256_hex(o.get().as_bytes()))
        });
        assert!(found, "no delivery leaf for {id}");
        let (status, _, body) = get(&f.app, &format!("/log/deliveries?id={id}")).await;
        assert_eq!(status, StatusCode::OK);
        let one: ProofsJson = serde_json::from_slice(&body).unwrap();
        assert_eq!(one.proofs.len(), 1, "{id}");
        let (status, _, _) = get(&f.app, &format!("/log/proof/{}", one.proofs[0].index)).await;
        assert_eq!(status, StatusCode::OK);
    }
    // Leaves that do not concern RUS (GBR's agreement at 0, GBR's deliveries) are not
    // opened to RUS: 404, as if they did not exist.
    let (status, _, _) = get(&f.app, "/log/proof/0").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for i in &f.gbr_leaves {
        let (status, _, body) = get(&f.app, &format!("/log/proof/{i}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "GBR's leaf {i}");
        assert!(!String::from_utf8_lossy(&body).contains("GBR"));
    }
    // RUS's own agreement leaf (index 1) is opened to it.
    let (status, _, body) = get(&f.app, "/log/proof/1").await;
    assert_eq!(status, StatusCode::OK);
    let one: ProofsJson = serde_json::from_slice(&body).unwrap();
    assert!(matches!(
        Leaf::from_json(one.proofs[0].leaf.as_bytes()),
        Some(Leaf::Agreement { ref partner, .. }) if partner == "RUS"
    ));
    // `/log/agreements` gives RUS its agreement leaves, proved, and never GBR's.
    let (status, _, body) = get(&f.app, "/log/agreements").await;
    assert_eq!(status, StatusCode::OK);
    let agreed: ProofsJson = serde_json::from_slice(&body).unwrap();
    let cp = SignedCheckpoint::verify(agreed.checkpoint.as_bytes(), &f.vkey).unwrap();
    assert!(!agreed.proofs.is_empty());
    for p in &agreed.proofs {
        let opening = Opening::from_hex(p.leaf.as_bytes().to_vec(), &p.salt).unwrap();
        let path: Vec<Hash> = p.path.iter().map(|h| hash(h)).collect();
        let k = cp.checkpoint();
        opening
            .verify(p.index, Some(hash(&p.leaf_hash)), k.size(), k.root(), &path)
            .unwrap();
        assert!(matches!(
            Leaf::from_json(p.leaf.as_bytes()),
            Some(Leaf::Agreement { ref partner, ref signed_by, .. })
                if partner == "RUS" && signed_by == &["USA".to_owned()]
        ));
    }
    // A second read adds no leaves.
    get(&f.app, "/liaison/collections/outbound/objects/").await;
    let (_, _, body) = get(&f.app, "/log/checkpoint").await;
    let again = SignedCheckpoint::verify(&body, &f.vkey).unwrap();
    assert_eq!(again.checkpoint().size(), c.size());
}

#[tokio::test]
async fn tiles_at_the_c2sp_paths_reproduce_the_root() {
    let f = fixture();
    get(&f.app, "/liaison/collections/outbound/objects/").await;
    let (_, _, body) = get(&f.app, "/log/checkpoint").await;
    let cp = SignedCheckpoint::verify(&body, &f.vkey).unwrap();
    let size = cp.checkpoint().size();
    let mut tree = MemoryTree::new();
    let tiles = new_tiles(0, size);
    for t in tiles
        .iter()
        .filter(|t| t.kind() == (TileKind::Hashes { level: 0 }))
    {
        let (status, _, level0) = get(&f.app, &format!("/log/{}", t.path())).await;
        assert_eq!(status, StatusCode::OK, "{}", t.path());
        assert_eq!(level0.len(), usize::from(t.width()) * 32);
        for h in level0.chunks_exact(32) {
            tree.append_hash(Hash(h.try_into().unwrap())).unwrap();
        }
        let e = t.counterpart().unwrap();
        let (status, _, bundle) = get(&f.app, &format!("/log/{}", e.path())).await;
        assert_eq!(status, StatusCode::OK, "{}", e.path());
        let entries = decode_entry_bundle(&bundle).unwrap();
        verify_entry_bundle(&e, &entries, &level0).unwrap();
        // Every entry is a 32-byte commitment: nothing of GBR (its party, the ids of what
        // it was given) and no leaf JSON is readable in the bundle.
        assert!(entries.iter().all(|x| x.len() == 32));
        let text = String::from_utf8_lossy(&bundle);
        assert!(!text.contains("GBR") && !text.contains("delivery"));
        for id in &f.gbr_ids {
            assert!(!text.contains(id.as_str()), "{id} in {}", e.path());
            let uuid = id.split_once("--").map_or(id.as_str(), |(_, u)| u);
            assert!(!text.contains(uuid));
        }
    }
    assert_eq!(
        liaison_log::root(size, &tree).unwrap(),
        cp.checkpoint().root()
    );
    // A tile the tree does not have, and a non-canonical path: 404.
    for bad in [
        "/log/tile/0/001",
        "/log/tile/0/0",
        "/log/tile/entries/x000/000",
    ] {
        assert_eq!(get(&f.app, bad).await.0, StatusCode::NOT_FOUND, "{bad}");
    }
}

#[tokio::test]
async fn a_cosignature_by_the_registered_key_is_kept_and_a_wrong_key_is_refused() {
    let f = fixture();
    let (_, _, body) = get(&f.app, "/log/checkpoint").await;
    let cp = SignedCheckpoint::verify(&body, &f.vkey).unwrap();
    let line = f.rus_cosigner.cosign(&cp, 1_700_000_000).unwrap().to_line();
    let (status, _, _) = send(&f.app, "POST", "/log/cosignature", line.into_bytes()).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, _, body) = get(&f.app, "/log/checkpoint").await;
    let served = SignedCheckpoint::verify(&body, &f.vkey).unwrap();
    f.rus_cosigner.cosigner_key().verify_on(&served).unwrap();

    let other = Cosigner::from_seed("liaison.RUS", [8; 32]).unwrap();
    let bad = other.cosign(&cp, 1_700_000_001).unwrap().to_line();
    let (status, _, body) = send(&f.app, "POST", "/log/cosignature", bad.into_bytes()).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let (status, _, _) = send(&f.app, "POST", "/log/cosignature", b"garbage".to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Unauthenticated: 401.
    let req = Request::builder()
        .uri("/log/checkpoint")
        .body(Body::empty())
        .unwrap();
    let res = f.app.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

/// `/log/deliveries` and `/log/agreements` are paged like TAXII lists: `limit=1` walks every
/// leaf once, in log order, each page proved against the first page's checkpoint even after
/// the log grows; `limit` is capped by the server's page size; a `next` token works only
/// for the list, filter and caller it was issued for.
#[tokio::test]
async fn log_lists_are_paged_and_bounded() {
    let f = fixture();
    // The view first, so that RUS's delivery leaves are in the log.
    get(&f.app, "/liaison/collections/outbound/objects/").await;
    let (_, _, body) = get(&f.app, "/log/deliveries?limit=1000").await;
    let all: ProofsJson = serde_json::from_slice(&body).unwrap();
    assert!(!all.more && all.next.is_none());
    assert!(all.proofs.len() >= 2, "{}", all.proofs.len());
    let want: Vec<u64> = all.proofs.iter().map(|p| p.index).collect();

    let mut got = Vec::new();
    let mut uri = "/log/deliveries?limit=1".to_owned();
    let mut checkpoint = None;
    let mut first_token = None;
    loop {
        let (status, _, body) = get(&f.app, &uri).await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        let page: ProofsJson = serde_json::from_slice(&body).unwrap();
        assert!(page.proofs.len() <= 1);
        got.extend(page.proofs.iter().map(|p| p.index));
        let cp = checkpoint.get_or_insert_with(|| page.checkpoint.clone());
        assert_eq!(
            &page.checkpoint, cp,
            "every page against the first's checkpoint"
        );
        match page.next {
            Some(next) if page.more => {
                first_token.get_or_insert_with(|| next.clone());
                uri = format!("/log/deliveries?limit=1&next={next}");
            }
            _ => break,
        }
        // The log grows between pages (RUS sends an object: a `received` leaf); the walk
        // stays on its checkpoint.
        let n = got.len();
        let indicator = format!(
            r#"{{"objects":[{{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-{n:012}","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","pattern":"[ipv4-addr:value = '198.51.100.{n}']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}}]}}"#
        );
        let req = Request::post("/liaison/collections/inbound/objects/")
            .header(header::AUTHORIZATION, auth())
            .header(header::CONTENT_TYPE, "application/taxii+json;version=2.1")
            .body(Body::from(indicator))
            .unwrap();
        let res = f.app.clone().oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::ACCEPTED);
    }
    let (_, _, body) = get(&f.app, "/log/checkpoint").await;
    let now = SignedCheckpoint::verify(&body, &f.vkey).unwrap();
    let then = SignedCheckpoint::verify(checkpoint.unwrap().as_bytes(), &f.vkey).unwrap();
    assert!(
        now.checkpoint().size() > then.checkpoint().size(),
        "the log grew"
    );
    assert_eq!(got, want);

    let token = first_token.unwrap();
    for uri in [
        format!("/log/agreements?next={token}"),
        format!("/log/deliveries?id=indicator--00000000-0000-4000-8000-000000000000&next={token}"),
        format!("/log/deliveries?next={token}x"),
        "/log/deliveries?limit=0".to_owned(),
        "/log/deliveries?limit=many".to_owned(),
    ] {
        let (status, _, _) = get(&f.app, &uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
    }
}

/// The server's page size caps `limit` on the log lists too.
#[tokio::test]
async fn log_list_pages_are_capped_by_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let p = |s: &str| Party::parse(s).unwrap();
    let mut node = Node::init(dir.path(), &p("USA")).unwrap();
    node.add_partner(&p("RUS"), RUS_AGREEMENT).unwrap();
    liaison_release::sample::ingest_exchange(&mut node).unwrap();
    node.set_secret(&p("RUS"), RUS_SECRET).unwrap();
    let config = Config {
        max_page: 1,
        ..Config::default()
    };
    let app = app(AppState::new(Arc::new(Mutex::new(node)), config).unwrap());
    get(&app, "/liaison/collections/outbound/objects/").await;
    let (status, _, body) = get(&app, "/log/deliveries?limit=1000").await;
    assert_eq!(status, StatusCode::OK);
    let page: ProofsJson = serde_json::from_slice(&body).unwrap();
    assert_eq!(page.proofs.len(), 1);
    assert!(page.more && page.next.is_some());
}

/// C2SP tlog-tiles on HTTP: the checkpoint is cached a few seconds at most, tiles (which
/// never change) for long, and entry bundles go out gzipped to a client that takes gzip,
/// decompressing to the very bytes served plain.
#[tokio::test]
async fn log_http_follows_the_tlog_tiles_caching_and_compression_advice() {
    let f = fixture();
    get(&f.app, "/liaison/collections/outbound/objects/").await;
    let (_, headers, body) = get(&f.app, "/log/checkpoint").await;
    let cc = headers[header::CACHE_CONTROL].to_str().unwrap();
    let max_age: u64 = cc
        .split(',')
        .find_map(|d| d.trim().strip_prefix("max-age="))
        .unwrap()
        .parse()
        .unwrap();
    assert!(max_age <= 5 && cc.contains("private"), "{cc}");
    let cp = SignedCheckpoint::verify(&body, &f.vkey).unwrap();
    let tiles = new_tiles(0, cp.checkpoint().size());
    let hashes = tiles
        .iter()
        .find(|t| t.kind() == (TileKind::Hashes { level: 0 }))
        .unwrap();
    let (_, headers, _) = get(&f.app, &format!("/log/{}", hashes.path())).await;
    let cc = headers[header::CACHE_CONTROL].to_str().unwrap();
    assert!(
        cc.contains("immutable") && cc.contains("max-age=31536000"),
        "{cc}"
    );
    assert!(headers.get(header::CONTENT_ENCODING).is_none());

    let bundle = hashes.counterpart().unwrap();
    let uri = format!("/log/{}", bundle.path());
    let (_, plain_headers, plain) = get(&f.app, &uri).await;
    assert!(plain_headers.get(header::CONTENT_ENCODING).is_none());
    let req = Request::builder()
        .uri(&uri)
        .header(header::AUTHORIZATION, auth())
        .header(header::ACCEPT_ENCODING, "br;q=1.0, gzip;q=0.8")
        .body(Body::empty())
        .unwrap();
    let res = f.app.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[header::CONTENT_ENCODING], "gzip");
    assert_eq!(res.headers()[header::VARY], "Accept-Encoding");
    let zipped = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&zipped[..]), &mut out).unwrap();
    assert_eq!(out, plain);
    // gzip;q=0 is a refusal.
    let req = Request::builder()
        .uri(&uri)
        .header(header::AUTHORIZATION, auth())
        .header(header::ACCEPT_ENCODING, "gzip;q=0")
        .body(Body::empty())
        .unwrap();
    let res = f.app.clone().oneshot(req).await.unwrap();
    assert!(res.headers().get(header::CONTENT_ENCODING).is_none());
}
