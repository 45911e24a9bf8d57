//! The bodies of liaison's fuzz targets, one function per target, so that the libFuzzer
//! binaries in `fuzz_targets/` stay one line each. Every target takes arbitrary bytes as a
//! partner would send them, must never panic, and asserts the round trips that would break
//! if a parser accepted something its writer cannot reproduce.

use std::collections::{BTreeSet, HashMap};

use liaison_labels::{Banner, Classification, Label, Party, Restriction, Tetragraphs, Tlp};
use liaison_policy::{cut_for, Agreement, Consent, Item, Judge, Markings, Scope, World};
use liaison_stix::{parse_document, parse_document_upgrading, upgrade_object, StixObject};
use serde_json::Value;

/// The `created` written on a label's marking-definition when the parsed one had none.
const CREATED: &str = "2026-01-01T00:00:00.000Z";

fn text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(data)
}

fn party(s: &str) -> Party {
    match Party::parse(s) {
        Ok(p) => p,
        Err(e) => panic!("fixed party `{s}` does not parse: {e}"),
    }
}

/// `liaison_stix::parse_document`: a document it takes is made of objects that re-check
/// from their own properties and whose kept text is the same JSON. And
/// `parse_document_upgrading`: it takes every document the strict parser takes, reading it
/// the same with nothing upgraded; what it upgrades keeps every property received, its text
/// (received text plus additions) is the same JSON as its properties, and a second upgrade
/// adds nothing.
pub fn stix_document(data: &[u8]) {
    let text = text(data);
    let strict = parse_document(&text);
    if let Ok(doc) = &strict {
        doc.objects.iter().for_each(check_object);
    }
    let upgraded = match (parse_document_upgrading(&text), strict) {
        (Ok(read), Ok(doc)) => {
            assert_eq!(read.document.objects, doc.objects, "2.1 read differently");
            assert_eq!(read.upgraded_count(), 0, "a 2.1 document was upgraded");
            return;
        }
        (Err(e), Ok(_)) => panic!("the upgrading parser refuses what the strict one takes: {e}"),
        (Err(_), Err(_)) => return,
        (Ok(read), Err(e)) => {
            assert!(e.is_stix20(), "upgrading took a document refused for: {e}");
            read
        }
    };
    assert_eq!(upgraded.upgrades.len(), upgraded.document.objects.len());
    for (o, added) in upgraded.document.objects.iter().zip(&upgraded.upgrades) {
        check_object(o);
        let mut props = o.props().clone();
        for u in added {
            assert_eq!(props.remove(&u.property), Some(u.value.clone()), "{u}");
        }
        let mut again = props.clone();
        let readded = upgrade_object(&mut again);
        assert_eq!(
            &readded,
            added,
            "the upgrade of `{}` is not what was recorded",
            o.id()
        );
        let mut twice = o.props().clone();
        assert!(
            upgrade_object(&mut twice).is_empty(),
            "second upgrade of `{}`",
            o.id()
        );
    }
}

fn check_object(o: &StixObject) {
    let again = match StixObject::from_props(o.props().clone()) {
        Ok(a) => a,
        Err(e) => panic!(
            "accepted object `{}` does not re-check from its props: {e}",
            o.id()
        ),
    };
    assert_eq!(&again, o, "re-checked object differs");
    assert_eq!(again.id(), o.id());
    assert_eq!(again.object_marking_refs(), o.object_marking_refs());
    assert_eq!(again.granular_markings(), o.granular_markings());
    assert_eq!(again.tearline_of(), o.tearline_of());
    match serde_json::from_str::<Value>(o.raw()) {
        Ok(Value::Object(m)) => assert_eq!(&m, o.props(), "kept text differs from props"),
        other => panic!("kept text of `{}` is not a JSON object: {other:?}", o.id()),
    }
    // Accessors a caller relies on: none may panic.
    let _ = (
        o.object_type(),
        o.spec_version(),
        o.version(),
        o.created_by_ref(),
    );
    let _ = (
        o.external_references().len(),
        o.object_refs().count(),
        o.tags().count(),
    );
    let _ = (
        o.ends().count(),
        o.derivation(),
        o.extensions().map(|e| e.len()),
    );
    let _ = (o.sighting_of_ref(), o.relationship_type());
}

/// `Banner::from_str` on the whole input, and `Label::from_marking_definition` on every
/// object of the input read as a STIX document. A banner prints as a line that parses back
/// to it; a label writes a marking-definition that reads back to it.
pub fn labels(data: &[u8]) {
    let text = text(data);
    if let Ok(b) = text.parse::<Banner>() {
        let line = b.to_string();
        match line.parse::<Banner>() {
            Ok(again) => assert_eq!(again, b, "banner `{line}` reads back differently"),
            Err(e) => panic!("banner printed as `{line}` does not parse back: {e}"),
        }
    }
    for line in text.lines().take(16) {
        if let Ok(b) = line.parse::<Banner>() {
            assert_eq!(b.to_string().parse::<Banner>().ok(), Some(b));
        }
    }

    let Ok(doc) = parse_document(&text) else {
        return;
    };
    let table = Tetragraphs::current();
    for o in &doc.objects {
        let Ok(Some(label)) = Label::from_marking_definition(o) else {
            continue;
        };
        let created = o
            .props()
            .get("created")
            .and_then(Value::as_str)
            .unwrap_or(CREATED);
        let md = label.to_marking_definition(created);
        let again = match StixObject::from_props(md) {
            Ok(a) => a,
            Err(e) => panic!(
                "label of `{}` writes an invalid marking-definition: {e}",
                o.id()
            ),
        };
        match Label::from_marking_definition(&again) {
            Ok(Some(l)) => assert_eq!(l, label, "label of `{}` reads back differently", o.id()),
            other => panic!("label of `{}` does not read back: {other:?}", o.id()),
        }
        assert_eq!(again.id(), &label.marking_id());
        let r = Restriction::of(&label, table);
        let joined = r.join(&r);
        assert_eq!(joined, r, "join is not idempotent");
        for p in ["GBR", "USA", "FRA", "FVEY"] {
            let _ = r.releasable_to(&party(p));
        }
    }
}

/// What a partner sends a TAXII server before any object: the query string of every
/// endpoint, a `next` token, `Accept` and `Content-Type` headers. Nothing may panic; a query
/// that parses has a stable fingerprint; a token that checks came from the same key.
pub fn taxii_request(data: &[u8]) {
    use liaison_taxii::{accepts, content_type_ok, Endpoint, NextToken, Query, TAXII_MEDIA_TYPE};
    let text = text(data);
    for endpoint in [
        Endpoint::Manifest,
        Endpoint::Objects,
        Endpoint::Object,
        Endpoint::Versions,
    ] {
        if let Ok(q) = Query::parse(&text, endpoint) {
            let again = Query::parse(&text, endpoint).map(|r| r.fingerprint());
            assert_eq!(again.ok(), Some(q.fingerprint()));
            if let Some(l) = q.limit {
                assert!(l > 0);
            }
        }
    }
    let key = [7u8; 32];
    // Only a token this key issued checks: the fuzzer must not be able to forge one.
    if let Ok(position) = NextToken::check(&key, &text, "GBR", "q", 0) {
        panic!("a token the fuzzer made checked (position {position}): {text:?}");
    }
    let _ = accepts(&text, TAXII_MEDIA_TYPE);
    let _ = content_type_ok(&text);
}

/// `Agreement::from_toml` for a fixed partner.
pub fn agreement(data: &[u8]) {
    let text = text(data);
    let gbr = party("GBR");
    if let Ok(a) = Agreement::from_toml(&gbr, &text) {
        assert_eq!(a.party, gbr);
        assert!(a.compartments.iter().all(|c| !c.is_empty()));
    }
}

/// The cut path: the input is read as a STIX document and held by a node run by USA (its
/// marking-definitions read into labels, its objects into a [`World`]); every object is
/// decided and cut for a few partners. Nothing may panic, and every copy cut for a partner
/// must be a valid STIX object.
///
/// A bundle may carry, beside `objects`, `x_fuzz_agreement` (an agreement's TOML, for GBR)
/// and `x_fuzz_consents` (`[[object, to, by], ...]`), so that the fuzzer can vary those too.
pub fn cut(data: &[u8]) {
    let text = text(data);
    let Ok(doc) = parse_document(&text) else {
        return;
    };

    // The node holds one version of each object: the newest.
    let mut newest: HashMap<&str, &StixObject> = HashMap::new();
    for o in &doc.objects {
        let slot = newest.entry(o.id().as_str()).or_insert(o);
        if o.version() > slot.version() {
            *slot = o;
        }
    }
    let mut objects: Vec<&StixObject> = newest.into_values().collect();
    objects.sort_by(|a, b| a.id().as_str().cmp(b.id().as_str()));

    let mut markings = Markings::new();
    for o in &objects {
        match Label::from_marking_definition(o) {
            Ok(Some(l)) => markings.insert(o.id().as_str(), Ok(l)),
            Ok(None) => {}
            Err(e) => markings.insert(o.id().as_str(), Err(e.to_string())),
        }
    }
    let items = objects.iter().map(|o| Item::of(o));
    let mut world = World::build(party("USA"), markings, items);

    let extra: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if let Some(cs) = extra.get("x_fuzz_consents").and_then(Value::as_array) {
        for c in cs.iter().take(64) {
            let s = |i: usize| c.get(i).and_then(Value::as_str);
            if let (Some(object), Some(to), Some(by)) = (s(0), s(1), s(2)) {
                if let (Ok(to), Ok(by)) = (Party::parse(to), Party::parse(by)) {
                    world.add_consent(&Consent {
                        object: object.to_owned(),
                        to,
                        by,
                    });
                }
            }
        }
    }

    let mut agreements = vec![
        Agreement {
            party: party("GBR"),
            ceiling: Classification::Secret,
            compartments: BTreeSet::new(),
            scope: Scope {
                types: None,
                max_tlp: Tlp::Amber,
                topics: None,
            },
            reciprocity: liaison_policy::Reciprocity::default(),
            matching: None,
        },
        Agreement {
            party: party("FRA"),
            ceiling: Classification::TopSecret,
            compartments: ["SI", "CT"].into_iter().map(str::to_owned).collect(),
            scope: Scope {
                types: Some(
                    ["indicator", "report", "relationship", "malware"]
                        .into_iter()
                        .map(str::to_owned)
                        .collect(),
                ),
                max_tlp: Tlp::Red,
                topics: Some(
                    ["terrorism", "crime"]
                        .into_iter()
                        .map(str::to_owned)
                        .collect(),
                ),
            },
            reciprocity: liaison_policy::Reciprocity::default(),
            matching: None,
        },
    ];
    if let Some(toml) = extra.get("x_fuzz_agreement").and_then(Value::as_str) {
        if let Ok(a) = Agreement::from_toml(&party("GBR"), toml) {
            agreements.push(a);
        }
    }

    for a in &agreements {
        let mut judge = Judge::new(&world, a);
        for o in &objects {
            let Some(ix) = world.lookup(o.id().as_str()) else {
                panic!("held object `{}` is not in the world", o.id());
            };
            let decision = judge.decide(ix);
            assert_eq!(decision.object, ix);
            let _ = decision.verdict.as_str();
            if let Ok(d) = cut_for(&mut judge, ix, o) {
                let _ = d.reasons();
                if let Err(e) = StixObject::from_props(d.object.clone().into_owned()) {
                    panic!(
                        "copy of `{}` cut for {} is not valid STIX: {e}",
                        o.id(),
                        a.party
                    );
                }
            }
        }
    }
}

/// A node that RUS sends to, and what GBR's view of everything RUS does not own was before
/// RUS sent anything: kept across inputs, so that whatever RUS sends accumulates.
struct Receiver {
    _home: tempfile::TempDir,
    node: liaison_release::Node<liaison_store::SqliteStore>,
    gbr_before: Vec<(String, Value)>,
}

thread_local! {
    static RECEIVER: std::cell::RefCell<Option<Receiver>> = const { std::cell::RefCell::new(None) };
}

fn gbr_decisions(node: &liaison_release::Node<liaison_store::SqliteStore>) -> Vec<(String, Value)> {
    let entries = match node.preview(&party("GBR")) {
        Ok(e) => e,
        Err(e) => panic!("preview for GBR failed: {e}"),
    };
    entries
        .into_iter()
        .map(|e| {
            let v = serde_json::to_value(&e).unwrap_or(Value::Null);
            (e.object, v)
        })
        .collect()
}

fn receiver() -> Receiver {
    let home = match tempfile::tempdir() {
        Ok(h) => h,
        Err(e) => panic!("no temporary directory: {e}"),
    };
    let built = (|| -> Result<_, liaison_release::ReleaseError> {
        let mut node = liaison_release::Node::init(home.path(), &party("USA"))?;
        node.add_partner(&party("GBR"), liaison_release::sample::GBR_AGREEMENT)?;
        node.add_partner(&party("RUS"), liaison_release::sample::RUS_AGREEMENT)?;
        liaison_release::sample::ingest_exchange(&mut node)?;
        Ok(node)
    })();
    let node = match built {
        Ok(n) => n,
        Err(e) => panic!("sample node: {e}"),
    };
    let gbr_before = gbr_decisions(&node);
    Receiver {
        _home: home,
        node,
        gbr_before,
    }
}

/// The receive path (`Node::receive`, what TAXII POST and `liaison pull` call) with
/// arbitrary objects from RUS: a JSON array of objects, else one object per line. It must
/// never panic, and nothing RUS sends may change any decision GBR gets about what RUS does
/// not own (DESIGN.md "Who may change what").
pub fn receive(data: &[u8]) {
    let text = text(data);
    let objects: Vec<String> = match serde_json::from_str::<Value>(&text) {
        Ok(Value::Array(a)) => a.iter().take(64).map(Value::to_string).collect(),
        _ => text.lines().take(64).map(str::to_owned).collect(),
    };
    let refs: Vec<&str> = objects.iter().map(String::as_str).collect();
    RECEIVER.with(|r| {
        let mut slot = r.borrow_mut();
        let rec = slot.get_or_insert_with(receiver);
        if rec.node.receive(&party("RUS"), &refs).is_err() {
            return;
        }
        let after: HashMap<String, Value> = gbr_decisions(&rec.node).into_iter().collect();
        for (id, before) in &rec.gbr_before {
            assert_eq!(
                after.get(id),
                Some(before),
                "what RUS sent changed GBR's decision about `{id}`"
            );
        }
    });
}

/// `liaison_psi`'s wire decoders: any bytes a partner sends as an epoch set, an evaluation
/// request or a response either are refused or decode to a message that encodes back to the
/// same bytes; a decoded epoch set's filters answer lookups without panicking (xorf indexes
/// its fingerprints unchecked, so a descriptor the decoder let through could).
pub fn psi_messages(data: &[u8]) {
    use liaison_psi::{EpochSet, EvaluationRequest, EvaluationResponse};
    if let Ok(set) = EpochSet::from_bytes(data) {
        assert_eq!(set.to_bytes(), data, "epoch set does not round-trip");
        for key in data.chunks(8).map(|c| c.iter().fold(0u64, |a, b| a << 8 | u64::from(*b))) {
            let _ = xorf::Filter::contains(&set.filter, &key);
            let _ = xorf::Filter::contains(&set.confirm, &key);
        }
    }
    if let Ok(request) = EvaluationRequest::from_bytes(data) {
        assert_eq!(request.to_bytes(), data, "request does not round-trip");
    }
    if let Ok(response) = EvaluationResponse::from_bytes(data) {
        assert_eq!(response.to_bytes(), data, "response does not round-trip");
    }
}
