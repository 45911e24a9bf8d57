//! Cutting a released object for a partner (DESIGN.md rule 6): references to withheld
//! objects and fields under markings the partner may not see are removed, granular selectors
//! stay right, and a cut that would break the object withholds it instead.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use liaison_labels::{Banner, Classification, Label, Party, Tlp};
use liaison_policy::{
    cut_for, Agreement, CutKind, Item, Judge, Markings, ReasonCode, Scope, Verdict, World,
};
use liaison_stix::{parse_document, StixObject, LIAISON_EXTENSION_ID};
use serde_json::{json, Value};

const T: &str = "2026-01-01T00:00:00.000Z";

fn party(s: &str) -> Party {
    Party::parse(s).unwrap()
}

fn id(ty: &str, n: u32) -> String {
    format!("{ty}--00000000-0000-4000-8000-{n:012}")
}

fn marking(m: &mut Markings, banner: &str, originator: &str) -> String {
    let l = Label {
        banner: banner.parse::<Banner>().unwrap(),
        originator: party(originator),
        grading: None,
        duty_to_warn: false,
    };
    let mid = l.marking_id().as_str().to_owned();
    m.insert(&mid, Ok(l));
    mid
}

fn agreement() -> Agreement {
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
    }
}

struct Fixture {
    open: String,
    closed: String,
    markings: Markings,
    objects: Vec<StixObject>,
}

impl Fixture {
    fn new() -> Fixture {
        let mut markings = Markings::new();
        let open = marking(&mut markings, "UNCLASSIFIED//REL TO GBR", "USA");
        let closed = marking(&mut markings, "SECRET//NOFORN", "USA");
        Fixture {
            open,
            closed,
            markings,
            objects: Vec::new(),
        }
    }

    fn add(&mut self, v: Value) -> StixObject {
        let doc = parse_document(&v.to_string()).unwrap();
        let o = doc.objects.into_iter().next().unwrap();
        self.objects.push(o.clone());
        o
    }

    /// A plain SDO of `ty` under the open (or closed) label.
    fn sdo(&mut self, ty: &str, n: u32, open: bool) -> String {
        let m = if open {
            self.open.clone()
        } else {
            self.closed.clone()
        };
        let oid = id(ty, n);
        let mut o = json!({"type": ty, "spec_version": "2.1", "id": oid, "created": T, "modified": T,
            "name": format!("{ty} {n}"), "object_marking_refs": [m]});
        // What STIX 2.1 requires of the types these tests use.
        match ty {
            "malware" => o["is_family"] = json!(false),
            "indicator" => {
                o["pattern"] = json!("[ipv4-addr:value = '198.51.100.7']");
                o["pattern_type"] = json!("stix");
                o["valid_from"] = json!(T);
            }
            _ => {}
        }
        self.add(o);
        oid
    }

    fn world(&self) -> World {
        World::build(
            party("USA"),
            self.markings.clone(),
            self.objects.iter().map(Item::of),
        )
    }
}

fn cut<'a>(
    w: &World,
    o: &'a StixObject,
) -> Result<liaison_policy::Delivered<'a>, liaison_policy::Reason> {
    let a = agreement();
    let mut j = Judge::new(w, &a);
    let ix = w.lookup(o.id().as_str()).unwrap();
    assert_eq!(
        j.decide(ix).verdict,
        Verdict::Release,
        "{} must be released to be cut",
        o.id()
    );
    let d = cut_for(&mut j, ix, o);
    if let Ok(d) = &d {
        StixObject::from_props(d.object.clone().into_owned()).unwrap();
    }
    d
}

#[test]
fn withheld_object_ref_is_cut_and_the_report_still_flows() {
    let mut f = Fixture::new();
    let ind = f.sdo("indicator", 1, true);
    let mal = f.sdo("malware", 2, false);
    let tool = f.sdo("tool", 3, true);
    let open = f.open.clone();
    let report = f.add(
        json!({"type": "report", "spec_version": "2.1", "id": id("report", 4), "created": T,
        "modified": T, "name": "r", "published": T, "object_refs": [ind, mal, tool],
        "object_marking_refs": [open]}),
    );
    let w = f.world();
    let d = cut(&w, &report).unwrap();
    assert_eq!(d.object["object_refs"], json!([ind, tool]));
    assert_eq!(d.cuts.len(), 1);
    assert_eq!(
        (d.cuts[0].kind, d.cuts[0].what.as_str()),
        (CutKind::Ref, mal.as_str())
    );
    assert_eq!(
        d.reasons().iter().map(|r| r.code).collect::<Vec<_>>(),
        [ReasonCode::RefCut]
    );
    assert!(!Value::Object(d.object.into_owned())
        .to_string()
        .contains(&mal));
}

#[test]
fn report_whose_refs_are_all_withheld_is_withheld() {
    let mut f = Fixture::new();
    let mal = f.sdo("malware", 2, false);
    let open = f.open.clone();
    let report = f.add(
        json!({"type": "report", "spec_version": "2.1", "id": id("report", 4), "created": T,
        "modified": T, "name": "r", "published": T, "object_refs": [mal, id("malware", 99)],
        "object_marking_refs": [open]}),
    );
    let w = f.world();
    let err = cut(&w, &report).unwrap_err();
    assert_eq!(err.code, ReasonCode::RefCut);
}

#[test]
fn granular_field_is_cut_and_selectors_renumbered() {
    let mut f = Fixture::new();
    let (open, closed) = (f.open.clone(), f.closed.clone());
    let red = Tlp::Red.marking_id();
    let ind = f.add(json!({"type": "indicator", "spec_version": "2.1", "id": id("indicator", 5), "created": T,
        "modified": T, "pattern": "[ipv4-addr:value = '198.51.100.1']", "pattern_type": "stix", "valid_from": T,
        "description": "from agent CURVEBALL", "name": "keep me",
        "external_references": [
            {"source_name": "src", "description": "handler notes"},
            {"source_name": "red", "description": "tlp red note"},
            {"source_name": "pub", "url": "https://example.org/a"}],
        "object_marking_refs": [open],
        "granular_markings": [
            {"marking_ref": closed, "selectors": ["description", "external_references.[0]"]},
            {"marking_ref": red, "selectors": ["external_references.[1].description"]},
            {"marking_ref": open, "selectors": ["external_references.[2].url", "name"]}]}));
    let w = f.world();
    let d = cut(&w, &ind).unwrap();
    let o = &d.object;
    assert!(o.get("description").is_none());
    assert_eq!(o["name"], "keep me");
    assert_eq!(
        o["external_references"],
        json!([{"source_name": "red"}, {"source_name": "pub", "url": "https://example.org/a"}])
    );
    assert_eq!(
        o["granular_markings"],
        json!([{"marking_ref": open, "selectors": ["external_references.[1].url", "name"]}])
    );
    let mut fields: Vec<&str> = d
        .cuts
        .iter()
        .filter(|c| c.kind == CutKind::Field)
        .map(|c| c.what.as_str())
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "description",
            "external_references.[0]",
            "external_references.[1].description"
        ]
    );
    let text = Value::Object(d.object.clone().into_owned()).to_string();
    assert!(!text.contains("CURVEBALL") && !text.contains("handler") && !text.contains("tlp red"));
}

#[test]
fn regression_emptied_list_is_dropped_and_selectors_into_it_go_too() {
    let mut f = Fixture::new();
    let (open, closed) = (f.open.clone(), f.closed.clone());
    let ind = f.add(json!({"type": "indicator", "spec_version": "2.1", "id": id("indicator", 6), "created": T,
        "modified": T, "pattern": "[ipv4-addr:value = '198.51.100.1']", "pattern_type": "stix", "valid_from": T,
        "external_references": [{"source_name": "src"}],
        "object_marking_refs": [open],
        "granular_markings": [
            {"marking_ref": closed, "selectors": ["external_references.[0]"]},
            {"marking_ref": open, "selectors": ["external_references"]}]}));
    let w = f.world();
    let d = cut(&w, &ind).unwrap();
    assert!(d.object.get("external_references").is_none());
    assert!(
        d.object.get("granular_markings").is_none(),
        "{:?}",
        d.object.get("granular_markings")
    );
}

#[test]
fn nested_refs_in_extensions_and_created_by_ref_are_cut() {
    let mut f = Fixture::new();
    let who = f.sdo("identity", 7, false);
    let mal = f.sdo("malware", 8, false);
    let ok = f.sdo("tool", 9, true);
    let open = f.open.clone();
    let ext = "extension-definition--11111111-2222-4333-8444-555555555555";
    let ind = f.add(json!({"type": "indicator", "spec_version": "2.1", "id": id("indicator", 10), "created": T,
        "modified": T, "pattern": "[ipv4-addr:value = '198.51.100.1']", "pattern_type": "stix", "valid_from": T,
        "created_by_ref": who, "object_marking_refs": [open],
        "extensions": {ext: {"extension_type": "property-extension", "x_source_ref": mal,
            "x_tool_ref": ok, "x_seen_refs": [mal, ok], "deep": {"x_other_ref": mal}}}}));
    let w = f.world();
    let d = cut(&w, &ind).unwrap();
    assert!(d.object.get("created_by_ref").is_none());
    let e = &d.object["extensions"][ext];
    assert_eq!(
        e,
        &json!({"extension_type": "property-extension", "x_tool_ref": ok, "x_seen_refs": [ok]})
    );
    let text = Value::Object(d.object.clone().into_owned()).to_string();
    assert!(!text.contains(&mal) && !text.contains(&who));
    let mut refs: Vec<&str> = d
        .cuts
        .iter()
        .filter(|c| c.kind == CutKind::Ref)
        .map(|c| c.what.as_str())
        .collect();
    refs.sort();
    let mut want = vec![who.as_str(), mal.as_str(), mal.as_str(), mal.as_str()];
    want.sort();
    assert_eq!(refs, want);
}

#[test]
fn tearline_pointer_to_a_withheld_original_is_cut() {
    let mut f = Fixture::new();
    let orig = f.sdo("threat-actor", 11, false);
    let open = f.open.clone();
    let tear = f.add(json!({"type": "note", "spec_version": "2.1", "id": id("note", 12), "created": T,
        "modified": T, "content": "sanitized", "object_refs": [id("tool", 13)],
        "object_marking_refs": [open],
        "extensions": {LIAISON_EXTENSION_ID: {"extension_type": "property-extension", "tearline_of": orig}}}));
    f.sdo("tool", 13, true);
    let w = f.world();
    let a = agreement();
    let d = Judge::new(&w, &a).decide(w.lookup(&orig).unwrap());
    assert_eq!(d.verdict, Verdict::Tearline);
    let got = cut(&w, &tear).unwrap();
    assert!(
        got.object.get("extensions").is_none(),
        "{:?}",
        got.object.get("extensions")
    );
    assert!(!Value::Object(got.object.clone().into_owned())
        .to_string()
        .contains(&orig));
    assert!(got
        .cuts
        .iter()
        .any(|c| c.kind == CutKind::Ref && c.what == orig));
}

#[test]
fn regression_cutting_a_required_field_withholds() {
    let mut f = Fixture::new();
    let (open, closed) = (f.open.clone(), f.closed.clone());
    let ind = f.add(json!({"type": "indicator", "spec_version": "2.1", "id": id("indicator", 14), "created": T,
        "modified": T, "pattern": "[ipv4-addr:value = '198.51.100.1']", "pattern_type": "stix", "valid_from": T,
        "object_marking_refs": [open],
        "granular_markings": [{"marking_ref": closed, "selectors": ["pattern"]}]}));
    let w = f.world();
    let err = cut(&w, &ind).unwrap_err();
    assert_eq!(err.code, ReasonCode::FieldCut);
    assert!(err.detail.contains("pattern"), "{}", err.detail);
}

#[test]
fn nothing_to_cut_leaves_the_object_as_it_was() {
    let mut f = Fixture::new();
    let ind = f.sdo("indicator", 15, true);
    let w = f.world();
    let o = f
        .objects
        .iter()
        .find(|o| o.id().as_str() == ind)
        .unwrap()
        .clone();
    let d = cut(&w, &o).unwrap();
    assert!(d.cuts.is_empty());
    assert_eq!(d.object.as_ref(), o.props());
    assert!(
        matches!(d.object, std::borrow::Cow::Borrowed(_)),
        "nothing cut: no copy made"
    );
}
