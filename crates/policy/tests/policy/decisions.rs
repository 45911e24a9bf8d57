//! Release decisions, one scenario per reason code (DESIGN.md, "The release decision"): each
//! test builds a small world from banners and asserts the exact codes, in the design's order.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use liaison_labels::{Banner, Classification, Label, Party, Tlp};
use liaison_policy::{
    Agreement, Consent, Decision, Hold, Item, Judge, Markings, ReasonCode, Scope, Verdict, World,
};

fn party(s: &str) -> Party {
    Party::parse(s).unwrap()
}

fn id(ty: &str, n: u32) -> String {
    format!("{ty}--00000000-0000-4000-8000-{n:012}")
}

fn label(banner: &str, originator: &str) -> Label {
    Label {
        banner: banner.parse::<Banner>().unwrap(),
        originator: party(originator),
        grading: None,
        duty_to_warn: false,
    }
}

/// A node's holdings, built up one object at a time.
struct Scenario {
    us: Party,
    markings: Markings,
    items: Vec<Item>,
    consents: Vec<Consent>,
    next: u32,
}

impl Scenario {
    fn new(us: &str) -> Scenario {
        Scenario {
            us: party(us),
            markings: Markings::new(),
            items: Vec::new(),
            consents: Vec::new(),
            next: 1,
        }
    }

    /// Registers the label and returns its marking id.
    fn mark(&mut self, banner: &str, originator: &str) -> String {
        let l = label(banner, originator);
        let mid = l.marking_id().as_str().to_owned();
        self.markings.insert(&mid, Ok(l));
        mid
    }

    fn fresh(&mut self, ty: &str) -> String {
        self.next += 1;
        id(ty, self.next)
    }

    /// An object of type `ty` under the given banner (`None`: no marking at all).
    fn obj(&mut self, ty: &str, banner: Option<(&str, &str)>) -> String {
        let markings = banner
            .map(|(b, o)| vec![self.mark(b, o)])
            .unwrap_or_default();
        let oid = self.fresh(ty);
        self.items.push(Item {
            id: oid.clone(),
            markings,
            ..Item::default()
        });
        oid
    }

    fn item(&mut self, oid: &str) -> &mut Item {
        self.items.iter_mut().find(|i| i.id == oid).unwrap()
    }

    /// A `derived-from` relationship: `derived` is derived from `source`.
    fn derive(&mut self, derived: &str, source: &str) -> String {
        let m = self.mark("UNCLASSIFIED//REL TO FVEY", "USA");
        let rid = self.fresh("relationship");
        self.items.push(Item {
            id: rid.clone(),
            markings: vec![m],
            derivation: Some((derived.to_owned(), source.to_owned())),
            ends: vec![derived.to_owned(), source.to_owned()],
            ..Item::default()
        });
        rid
    }

    fn consent(&mut self, object: &str, to: &str, by: &str) {
        self.consents.push(Consent {
            object: object.to_owned(),
            to: party(to),
            by: party(by),
        });
    }

    fn world(&self) -> World {
        let mut w = World::build(self.us.clone(), self.markings.clone(), self.items.clone());
        for c in &self.consents {
            w.add_consent(c);
        }
        w
    }
}

fn agreement(p: &str) -> Agreement {
    Agreement {
        party: party(p),
        ceiling: Classification::Secret,
        compartments: BTreeSet::new(),
        scope: Scope {
            types: None,
            max_tlp: Tlp::Red,
            topics: None,
        },
        reciprocity: liaison_policy::Reciprocity::default(),
        matching: None,
    }
}

fn decide(w: &World, a: &Agreement, oid: &str) -> Decision {
    let ix = w.lookup(oid).unwrap();
    Judge::new(w, a).decide(ix)
}

fn codes(d: &Decision) -> Vec<ReasonCode> {
    d.reasons.iter().map(|r| r.code).collect()
}

#[track_caller]
fn assert_released(w: &World, a: &Agreement, oid: &str) {
    let d = decide(w, a, oid);
    assert_eq!(
        (d.verdict, codes(&d)),
        (Verdict::Release, vec![]),
        "{oid} to {}: {:?}",
        a.party,
        d.reasons
    );
}

#[track_caller]
fn assert_withheld(w: &World, a: &Agreement, oid: &str, want: &[ReasonCode]) {
    let d = decide(w, a, oid);
    assert_eq!(
        (d.verdict, codes(&d)),
        (Verdict::Withhold, want.to_vec()),
        "{oid} to {}: {:?}",
        a.party,
        d.reasons
    );
}

#[test]
fn noforn_withholds_even_when_the_release_list_names_the_partner() {
    let mut s = Scenario::new("USA");
    let o = s.obj(
        "indicator",
        Some(("SECRET//NOFORN//REL TO USA, GBR", "USA")),
    );
    let ok = s.obj("indicator", Some(("SECRET//REL TO USA, GBR", "USA")));
    let w = s.world();
    assert_withheld(&w, &agreement("GBR"), &o, &[ReasonCode::Noforn]);
    assert_released(&w, &agreement("GBR"), &ok);
}

#[test]
fn not_releasable_to_a_party_outside_rel_to() {
    let mut s = Scenario::new("USA");
    let o = s.obj("indicator", Some(("SECRET//REL TO USA, ISR", "USA")));
    let w = s.world();
    assert_withheld(&w, &agreement("GBR"), &o, &[ReasonCode::NotReleasableTo]);
    assert_released(&w, &agreement("ISR"), &o);
}

#[test]
fn fvey_expands_to_its_members_only() {
    let mut s = Scenario::new("USA");
    let o = s.obj("indicator", Some(("SECRET//REL TO FVEY", "USA")));
    let w = s.world();
    for member in ["GBR", "AUS", "CAN", "NZL"] {
        assert_released(&w, &agreement(member), &o);
    }
    for outsider in ["ISR", "FRA", "RUS"] {
        assert_withheld(&w, &agreement(outsider), &o, &[ReasonCode::NotReleasableTo]);
    }
}

#[test]
fn an_unmarked_object_is_owner_only() {
    let mut s = Scenario::new("USA");
    let o = s.obj("indicator", None);
    let w = s.world();
    for p in ["GBR", "ISR"] {
        assert_withheld(&w, &agreement(p), &o, &[ReasonCode::NotReleasableTo]);
    }
}

#[test]
fn derivation_intersects_release_lists() {
    let mut s = Scenario::new("USA");
    let src = s.obj("report", Some(("SECRET//REL TO USA, GBR", "USA")));
    let derived = s.obj("indicator", Some(("SECRET//REL TO FVEY", "USA")));
    s.derive(&derived, &src);
    let w = s.world();
    assert_released(&w, &agreement("GBR"), &derived);
    assert_withheld(
        &w,
        &agreement("AUS"),
        &derived,
        &[ReasonCode::NotReleasableTo],
    );
}

#[test]
fn above_ceiling() {
    let mut s = Scenario::new("USA");
    let o = s.obj("indicator", Some(("TOP SECRET//REL TO USA, GBR", "USA")));
    let w = s.world();
    assert_withheld(&w, &agreement("GBR"), &o, &[ReasonCode::AboveCeiling]);
    let mut a = agreement("GBR");
    a.ceiling = Classification::TopSecret;
    assert_released(&w, &a, &o);
}

#[test]
fn compartment_each_one_not_cleared() {
    let mut s = Scenario::new("USA");
    let o = s.obj("indicator", Some(("SECRET//SI/TK//REL TO USA, GBR", "USA")));
    let w = s.world();
    assert_withheld(
        &w,
        &agreement("GBR"),
        &o,
        &[ReasonCode::Compartment, ReasonCode::Compartment],
    );
    let mut a = agreement("GBR");
    a.compartments.insert("SI".into());
    let d = decide(&w, &a, &o);
    assert_eq!(codes(&d), [ReasonCode::Compartment]);
    assert!(d.reasons[0].detail.contains("TK"), "{:?}", d.reasons);
    a.compartments.insert("TK".into());
    assert_released(&w, &a, &o);
}

/// ISR's ORCON report, and a USA assessment derived from it.
fn third_party_scenario() -> (Scenario, String, String) {
    let mut s = Scenario::new("USA");
    let report = s.obj(
        "report",
        Some(("SECRET//ORCON//REL TO USA, GBR, RUS", "ISR")),
    );
    let assessment = s.obj("indicator", Some(("SECRET//REL TO GBR, RUS, ISR", "USA")));
    s.derive(&assessment, &report);
    (s, report, assessment)
}

#[test]
fn third_party_rule_withholds_derived_material_without_consent() {
    let (s, report, assessment) = third_party_scenario();
    let w = s.world();
    for p in ["RUS", "GBR"] {
        assert_withheld(
            &w,
            &agreement(p),
            &assessment,
            &[ReasonCode::ThirdPartyRule],
        );
        assert_withheld(&w, &agreement(p), &report, &[ReasonCode::ThirdPartyRule]);
    }
    let d = decide(&w, &agreement("GBR"), &assessment);
    assert!(d.reasons[0].detail.contains("ISR"), "{:?}", d.reasons);
}

#[test]
fn third_party_rule_consent_by_the_originator_releases_to_that_party_only() {
    let (mut s, report, assessment) = third_party_scenario();
    s.consent(&report, "GBR", "ISR");
    let w = s.world();
    assert_released(&w, &agreement("GBR"), &assessment);
    assert_released(&w, &agreement("GBR"), &report);
    assert_withheld(
        &w,
        &agreement("RUS"),
        &assessment,
        &[ReasonCode::ThirdPartyRule],
    );
}

#[test]
fn third_party_rule_consent_by_the_wrong_party_does_not_count() {
    let (mut s, report, assessment) = third_party_scenario();
    s.consent(&report, "GBR", "GBR");
    s.consent(&report, "GBR", "USA");
    s.consent(&report, "RUS", "ISR");
    let w = s.world();
    assert_withheld(
        &w,
        &agreement("GBR"),
        &assessment,
        &[ReasonCode::ThirdPartyRule],
    );
}

#[test]
fn third_party_rule_consent_added_after_build_counts() {
    let (s, report, assessment) = third_party_scenario();
    let mut w = s.world();
    assert_withheld(
        &w,
        &agreement("GBR"),
        &assessment,
        &[ReasonCode::ThirdPartyRule],
    );
    w.add_consent(&Consent {
        object: report,
        to: party("GBR"),
        by: party("ISR"),
    });
    assert_released(&w, &agreement("GBR"), &assessment);
}

/// Regression: the originator of ORCON material was asked for its own consent to receive a
/// derivative of it back (the labels crate already puts the originator in every `rel_to`).
#[test]
fn regression_orcon_originator_gets_derived_material_back_without_consent() {
    let (s, _report, assessment) = third_party_scenario();
    let w = s.world();
    assert_released(&w, &agreement("ISR"), &assessment);
}

#[test]
fn out_of_scope_type() {
    let mut s = Scenario::new("USA");
    let o = s.obj("malware", Some(("SECRET//REL TO GBR", "USA")));
    let w = s.world();
    let mut a = agreement("GBR");
    a.scope.types = Some(["indicator".to_owned()].into());
    assert_withheld(&w, &a, &o, &[ReasonCode::OutOfScope]);
    a.scope.types = Some(["indicator".to_owned(), "malware".to_owned()].into());
    assert_released(&w, &a, &o);
}

#[test]
fn out_of_scope_tlp_from_the_banner_and_from_a_tlp_marking() {
    let mut s = Scenario::new("USA");
    let banner = s.obj("indicator", Some(("SECRET//REL TO GBR//TLP:RED", "USA")));
    let m = s.mark("SECRET//REL TO GBR", "USA");
    let marked = s.fresh("indicator");
    s.items.push(Item {
        id: marked.clone(),
        markings: vec![m, Tlp::Red.marking_id().to_owned()],
        ..Item::default()
    });
    // TLP joins through derivation too.
    let derived = s.obj("indicator", Some(("SECRET//REL TO GBR//TLP:GREEN", "USA")));
    s.derive(&derived, &banner);
    let w = s.world();
    let mut a = agreement("GBR");
    a.scope.max_tlp = Tlp::Amber;
    for o in [&banner, &marked, &derived] {
        assert_withheld(&w, &a, o, &[ReasonCode::OutOfScope]);
    }
    a.scope.max_tlp = Tlp::Red;
    for o in [&banner, &marked, &derived] {
        assert_released(&w, &a, o);
    }
}

#[test]
fn out_of_scope_topics() {
    let mut s = Scenario::new("USA");
    let o = s.obj("indicator", Some(("SECRET//REL TO GBR", "USA")));
    s.item(&o).tags = vec!["crime".into()];
    let tagged = s.obj("indicator", Some(("SECRET//REL TO GBR", "USA")));
    s.item(&tagged).tags = vec!["crime".into(), "terrorism".into()];
    let w = s.world();
    let mut a = agreement("GBR");
    a.scope.topics = Some(["terrorism".to_owned()].into());
    assert_withheld(&w, &a, &o, &[ReasonCode::OutOfScope]);
    assert_released(&w, &a, &tagged);
}

#[test]
fn endpoint_withheld_relationship_and_sighting() {
    let mut s = Scenario::new("USA");
    let open = s.obj("indicator", Some(("SECRET//REL TO GBR", "USA")));
    let closed = s.obj("malware", Some(("SECRET//NOFORN", "USA")));
    let open2 = s.obj("malware", Some(("SECRET//REL TO GBR", "USA")));
    let m = s.mark("UNCLASSIFIED//REL TO GBR", "USA");
    let rel = |s: &mut Scenario, ty: &str, ends: Vec<String>| {
        let rid = s.fresh(ty);
        s.items.push(Item {
            id: rid.clone(),
            markings: vec![m.clone()],
            ends,
            ..Item::default()
        });
        rid
    };
    let bad_rel = rel(&mut s, "relationship", vec![open.clone(), closed.clone()]);
    let good_rel = rel(&mut s, "relationship", vec![open.clone(), open2.clone()]);
    let bad_sighting = rel(&mut s, "sighting", vec![closed.clone()]);
    let good_sighting = rel(&mut s, "sighting", vec![open.clone()]);
    let missing = id("malware", 999);
    let dangling = rel(&mut s, "relationship", vec![open.clone(), missing]);
    let w = s.world();
    let a = agreement("GBR");
    assert_withheld(&w, &a, &bad_rel, &[ReasonCode::EndpointWithheld]);
    assert_withheld(&w, &a, &bad_sighting, &[ReasonCode::EndpointWithheld]);
    assert_withheld(&w, &a, &dangling, &[ReasonCode::EndpointWithheld]);
    assert_released(&w, &a, &good_rel);
    assert_released(&w, &a, &good_sighting);
    let d = decide(&w, &a, &bad_rel);
    assert!(d.reasons[0].detail.contains(&closed), "{:?}", d.reasons);
}

#[test]
fn invalid_label_unknown_marking_ref() {
    let mut s = Scenario::new("USA");
    let o = s.fresh("indicator");
    s.items.push(Item {
        id: o.clone(),
        markings: vec![id("marking-definition", 4242)],
        ..Item::default()
    });
    let w = s.world();
    assert_withheld(&w, &agreement("GBR"), &o, &[ReasonCode::InvalidLabel]);
}

#[test]
fn invalid_label_unreadable_marking() {
    let mut s = Scenario::new("USA");
    let mid = id("marking-definition", 77);
    s.markings.insert(
        &mid,
        Err("field `classification`: `SEKRET` is not a level".into()),
    );
    let o = s.fresh("indicator");
    s.items.push(Item {
        id: o.clone(),
        markings: vec![mid],
        ..Item::default()
    });
    let derived = s.obj("indicator", Some(("UNCLASSIFIED//REL TO GBR", "USA")));
    s.derive(&derived, &o);
    let w = s.world();
    assert_withheld(&w, &agreement("GBR"), &o, &[ReasonCode::InvalidLabel]);
    assert_withheld(&w, &agreement("GBR"), &derived, &[ReasonCode::InvalidLabel]);
    assert!(decide(&w, &agreement("GBR"), &o).reasons[0]
        .detail
        .contains("SEKRET"));
}

#[test]
fn invalid_label_derived_from_an_object_not_held() {
    let mut s = Scenario::new("USA");
    let o = s.obj("indicator", Some(("UNCLASSIFIED//REL TO GBR", "USA")));
    s.derive(&o, &id("report", 31337));
    let w = s.world();
    assert_withheld(&w, &agreement("GBR"), &o, &[ReasonCode::InvalidLabel]);
}

#[test]
fn invalid_label_several_originators_on_one_object() {
    let mut s = Scenario::new("USA");
    let a = s.mark("SECRET//REL TO GBR", "USA");
    let b = s.mark("SECRET//REL TO GBR", "ISR");
    let o = s.fresh("indicator");
    s.items.push(Item {
        id: o.clone(),
        markings: vec![a, b],
        ..Item::default()
    });
    let w = s.world();
    assert_withheld(&w, &agreement("GBR"), &o, &[ReasonCode::InvalidLabel]);
}

#[test]
fn derivation_cycle_and_what_is_derived_from_it() {
    let mut s = Scenario::new("USA");
    let x = s.obj("indicator", Some(("UNCLASSIFIED//REL TO GBR", "USA")));
    let y = s.obj("indicator", Some(("UNCLASSIFIED//REL TO GBR", "USA")));
    let below = s.obj("indicator", Some(("UNCLASSIFIED//REL TO GBR", "USA")));
    let apart = s.obj("indicator", Some(("UNCLASSIFIED//REL TO GBR", "USA")));
    s.derive(&x, &y);
    s.derive(&y, &x);
    s.derive(&below, &x);
    let w = s.world();
    for o in [&x, &y, &below] {
        assert_withheld(&w, &agreement("GBR"), o, &[ReasonCode::DerivationCycle]);
    }
    assert_released(&w, &agreement("GBR"), &apart);
}

#[test]
fn derivation_self_loop_is_a_cycle() {
    let mut s = Scenario::new("USA");
    let x = s.obj("indicator", Some(("UNCLASSIFIED//REL TO GBR", "USA")));
    s.derive(&x, &x);
    let w = s.world();
    assert_withheld(&w, &agreement("GBR"), &x, &[ReasonCode::DerivationCycle]);
}

#[test]
fn tearline_by_the_originator_goes_instead() {
    let mut s = Scenario::new("USA");
    let orig = s.obj("report", Some(("SECRET//NOFORN", "USA")));
    let tear = s.obj("report", Some(("UNCLASSIFIED//REL TO GBR", "USA")));
    s.item(&tear).tearline_of = Some(orig.clone());
    let w = s.world();
    let a = agreement("GBR");
    let d = decide(&w, &a, &orig);
    assert_eq!(d.verdict, Verdict::Tearline);
    assert_eq!(codes(&d), [ReasonCode::Noforn, ReasonCode::Tearline]);
    assert_eq!(d.tearline, w.lookup(&tear));
    assert_released(&w, &a, &tear);
    // A partner the tear line is not for gets nothing.
    assert_withheld(&w, &agreement("ISR"), &orig, &[ReasonCode::Noforn]);
}

#[test]
fn tearline_above_ceiling_is_released_at_the_tear_line() {
    let mut s = Scenario::new("USA");
    let orig = s.obj("report", Some(("TOP SECRET//REL TO GBR", "USA")));
    let tear = s.obj("report", Some(("CONFIDENTIAL//REL TO GBR", "USA")));
    s.item(&tear).tearline_of = Some(orig.clone());
    let w = s.world();
    let d = decide(&w, &agreement("GBR"), &orig);
    assert_eq!(
        (d.verdict, codes(&d)),
        (
            Verdict::Tearline,
            vec![ReasonCode::AboveCeiling, ReasonCode::Tearline]
        )
    );
}

#[test]
fn tearline_by_another_originator_cannot_launder() {
    let mut s = Scenario::new("USA");
    let orig = s.obj("report", Some(("SECRET//NOFORN", "USA")));
    let fake = s.obj("report", Some(("UNCLASSIFIED//REL TO GBR, USA", "GBR")));
    s.item(&fake).tearline_of = Some(orig.clone());
    let w = s.world();
    let a = agreement("GBR");
    assert_withheld(&w, &a, &orig, &[ReasonCode::Noforn]);
    // The fake tear line is derived from the original, so NOFORN reaches it.
    assert_withheld(&w, &a, &fake, &[ReasonCode::Noforn]);
    let (o, f) = (w.lookup(&orig).unwrap(), w.lookup(&fake).unwrap());
    assert!(w.tearlines(o).is_empty());
    assert_eq!(w.parents(f), [o]);
}

#[test]
fn regression_a_tear_line_cannot_shed_an_allys_restrictions() {
    // USA's assessment rests on ISR's ORCON report; USA tears its own assessment down to
    // UNCLASSIFIED. USA may relax its own contribution, never ISR's: the tear line still
    // carries ISR's REL TO and ORCON.
    let mut s = Scenario::new("USA");
    let isr = s.obj("report", Some(("SECRET//ORCON//REL TO USA, GBR", "ISR")));
    let assessment = s.obj("report", Some(("SECRET//REL TO USA, GBR, RUS", "USA")));
    s.derive(&assessment, &isr);
    let tear = s.obj(
        "report",
        Some(("UNCLASSIFIED//REL TO USA, GBR, RUS", "USA")),
    );
    s.item(&tear).tearline_of = Some(assessment.clone());
    let w = s.world();
    let t = w.lookup(&tear).unwrap();
    assert_eq!(
        w.tearlines(w.lookup(&assessment).unwrap()),
        [t],
        "the tear line itself is valid"
    );
    assert_withheld(
        &w,
        &agreement("RUS"),
        &tear,
        &[ReasonCode::NotReleasableTo, ReasonCode::ThirdPartyRule],
    );
    assert_withheld(
        &w,
        &agreement("RUS"),
        &assessment,
        &[ReasonCode::NotReleasableTo, ReasonCode::ThirdPartyRule],
    );
    // With ISR's consent for GBR, GBR may have the tear line.
    s.consent(&isr, "GBR", "ISR");
    let w = s.world();
    let d = Judge::new(&w, &agreement("GBR")).decide(w.lookup(&tear).unwrap());
    assert_eq!(d.verdict, Verdict::Release, "{d:?}");
}

#[test]
fn a_consent_on_a_derivative_covers_the_originators_material_in_it() {
    // DESIGN.md: a consent says "release object X (or its derivatives)". ISR may consent to
    // USA's assessment directly, not only to its own report.
    let mut s = Scenario::new("USA");
    let isr = s.obj("report", Some(("SECRET//ORCON//REL TO USA, GBR", "ISR")));
    let other = s.obj("report", Some(("SECRET//ORCON//REL TO USA, GBR", "ISR")));
    let assessment = s.obj("report", Some(("SECRET//REL TO USA, GBR", "USA")));
    s.derive(&assessment, &isr);
    s.consent(&assessment, "GBR", "ISR");
    let w = s.world();
    assert_released(&w, &agreement("GBR"), &assessment);
    // ...but it does not reach ISR material the assessment does not rest on.
    assert_withheld(&w, &agreement("GBR"), &other, &[ReasonCode::ThirdPartyRule]);
    assert_withheld(&w, &agreement("GBR"), &isr, &[ReasonCode::ThirdPartyRule]);
}

#[test]
fn tearline_that_is_itself_withheld_does_not_go() {
    let mut s = Scenario::new("USA");
    let orig = s.obj("report", Some(("SECRET//NOFORN", "USA")));
    let tear = s.obj("report", Some(("UNCLASSIFIED//REL TO ISR", "USA")));
    s.item(&tear).tearline_of = Some(orig.clone());
    let w = s.world();
    assert_withheld(&w, &agreement("GBR"), &orig, &[ReasonCode::Noforn]);
}

#[test]
fn multiple_reasons_in_design_order() {
    let mut s = Scenario::new("USA");
    let isr = s.obj("report", Some(("SECRET//ORCON//REL TO USA, GBR", "ISR")));
    let closed = s.obj("malware", Some(("SECRET//NOFORN", "USA")));
    let m = s.mark("TOP SECRET//SI//NOFORN//REL TO GBR//TLP:RED", "USA");
    let rel = s.fresh("relationship");
    s.items.push(Item {
        id: rel.clone(),
        markings: vec![m],
        ends: vec![isr.clone(), closed.clone()],
        tags: vec!["crime".into()],
        ..Item::default()
    });
    s.derive(&rel, &isr);
    let w = s.world();
    let mut a = agreement("GBR");
    a.scope.max_tlp = Tlp::Amber;
    a.scope.types = Some(["indicator".to_owned()].into());
    // Topics do not gate relationships (their ends do): TLP and type are the scope reasons.
    a.scope.topics = Some(["terrorism".to_owned()].into());
    use ReasonCode::*;
    assert_withheld(
        &w,
        &a,
        &rel,
        &[
            Noforn,
            AboveCeiling,
            Compartment,
            ThirdPartyRule,
            OutOfScope,
            OutOfScope,
            EndpointWithheld,
            EndpointWithheld,
        ],
    );
    // Without NOFORN the release-list reason takes its place.
    let mut s2 = Scenario::new("USA");
    let o = s2.obj("indicator", Some(("TOP SECRET//REL TO ISR", "USA")));
    let w2 = s2.world();
    assert_withheld(&w2, &agreement("GBR"), &o, &[NotReleasableTo, AboveCeiling]);
}

#[test]
fn reason_codes_are_the_design_strings() {
    use ReasonCode::*;
    let all = [
        (Noforn, "noforn"),
        (NotReleasableTo, "not_releasable_to"),
        (AboveCeiling, "above_ceiling"),
        (Compartment, "compartment"),
        (ThirdPartyRule, "third_party_rule"),
        (OutOfScope, "out_of_scope"),
        (Reciprocity, "reciprocity"),
        (EndpointWithheld, "endpoint_withheld"),
        (InvalidLabel, "invalid_label"),
        (DerivationCycle, "derivation_cycle"),
        (Tearline, "tearline"),
        (FieldCut, "field_cut"),
        (RefCut, "ref_cut"),
        (HeldByOfficer, "held_by_officer"),
    ];
    for (c, s) in all {
        assert_eq!(c.as_str(), s);
        assert_eq!(serde_json::to_value(c).unwrap(), serde_json::Value::from(s));
    }
    for (v, s) in [
        (Verdict::Release, "release"),
        (Verdict::Tearline, "tearline"),
        (Verdict::Withhold, "withhold"),
    ] {
        assert_eq!(v.as_str(), s);
    }
}

#[test]
fn reciprocity_gate_holds_back_all_but_warnings_gestures_and_what_went_before() {
    let mut s = Scenario::new("USA");
    let report = s.obj("report", Some(("UNCLASSIFIED//REL TO USA, GBR", "USA")));
    let earlier = s.obj("report", Some(("UNCLASSIFIED//REL TO USA, GBR", "USA")));
    let gesture = s.obj("indicator", Some(("UNCLASSIFIED//REL TO USA, GBR", "USA")));
    let mut warning_label = label("UNCLASSIFIED//REL TO USA, GBR", "USA");
    warning_label.duty_to_warn = true;
    let wid = warning_label.marking_id().to_string();
    s.markings.insert(&wid, Ok(warning_label));
    let warning = s.fresh("report");
    s.items.push(Item {
        id: warning.clone(),
        markings: vec![wid],
        ..Item::default()
    });
    let w = s.world();
    let mut a = agreement("GBR");
    a.reciprocity.small_gestures.insert("indicator".into());
    let mut judge = Judge::new(&w, &a);
    judge.pause(
        "the exchange with GBR is paused: balance past the agreed limit",
        [w.lookup(&earlier).unwrap()],
    );
    let codes = |j: &mut Judge<'_>, oid: &str| {
        let d = j.decide(w.lookup(oid).unwrap());
        (
            d.verdict,
            d.reasons.iter().map(|r| r.code).collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        codes(&mut judge, &report),
        (Verdict::Withhold, vec![ReasonCode::Reciprocity])
    );
    assert_eq!(
        codes(&mut judge, &earlier),
        (Verdict::Release, vec![]),
        "delivered before the pause"
    );
    assert_eq!(
        codes(&mut judge, &gesture),
        (Verdict::Release, vec![]),
        "a small gesture"
    );
    assert_eq!(
        codes(&mut judge, &warning),
        (Verdict::Release, vec![]),
        "duty to warn always flows"
    );
    // An open gate holds nothing back.
    let mut open = Judge::new(&w, &a);
    assert_eq!(codes(&mut open, &report), (Verdict::Release, vec![]));
}

fn hold(object: &str, to: &str, reason: &str) -> Hold {
    Hold {
        object: object.to_owned(),
        to: party(to),
        by: "otto".to_owned(),
        at: "2026-11-30T23:00:00Z".to_owned(),
        reason: reason.to_owned(),
    }
}

#[test]
fn an_officers_hold_withholds_from_that_partner_only_with_who_and_why() {
    let mut s = Scenario::new("USA");
    let o = s.obj("indicator", Some(("UNCLASSIFIED//REL TO GBR, CAN", "USA")));
    let mut w = s.world();
    let gbr = agreement("GBR");
    assert_released(&w, &gbr, &o);
    w.add_hold(&hold(&o, "GBR", "source review pending"));
    assert_withheld(&w, &gbr, &o, &[ReasonCode::HeldByOfficer]);
    let d = decide(&w, &gbr, &o);
    let detail = &d.reasons[0].detail;
    assert!(
        detail.contains("otto")
            && detail.contains("source review pending")
            && detail.contains("GBR"),
        "{detail}"
    );
    // Another partner is not affected.
    assert_released(&w, &agreement("CAN"), &o);
}

#[test]
fn a_hold_is_one_more_reason_beside_the_labels() {
    let mut s = Scenario::new("USA");
    let o = s.obj("indicator", Some(("SECRET//NOFORN", "USA")));
    let mut w = s.world();
    w.add_hold(&hold(&o, "GBR", "r"));
    assert_withheld(
        &w,
        &agreement("GBR"),
        &o,
        &[ReasonCode::Noforn, ReasonCode::HeldByOfficer],
    );
}

#[test]
fn a_hold_reaches_what_derives_from_the_held_object_as_a_consent_would() {
    let mut s = Scenario::new("USA");
    let src = s.obj("report", Some(("UNCLASSIFIED//REL TO GBR", "USA")));
    let mid = s.obj("report", Some(("UNCLASSIFIED//REL TO GBR", "USA")));
    let low = s.obj("indicator", Some(("UNCLASSIFIED//REL TO GBR", "USA")));
    let other = s.obj("indicator", Some(("UNCLASSIFIED//REL TO GBR", "USA")));
    s.derive(&mid, &src);
    s.derive(&low, &mid);
    let mut w = s.world();
    w.add_hold(&hold(&mid, "GBR", "r"));
    let a = agreement("GBR");
    assert_released(&w, &a, &src);
    assert_withheld(&w, &a, &mid, &[ReasonCode::HeldByOfficer]);
    assert_withheld(&w, &a, &low, &[ReasonCode::HeldByOfficer]);
    let d = decide(&w, &a, &low);
    assert!(d.reasons[0].detail.contains(&mid), "{:?}", d.reasons);
    assert_released(&w, &a, &other);
}

#[test]
fn a_held_object_does_not_go_at_its_tear_line_either() {
    let mut s = Scenario::new("USA");
    let orig = s.obj("report", Some(("SECRET//NOFORN", "USA")));
    let tear = s.obj("report", Some(("UNCLASSIFIED//REL TO GBR", "USA")));
    s.item(&tear).tearline_of = Some(orig.clone());
    let mut w = s.world();
    w.add_hold(&hold(&orig, "GBR", "r"));
    let a = agreement("GBR");
    assert_withheld(
        &w,
        &a,
        &orig,
        &[ReasonCode::Noforn, ReasonCode::HeldByOfficer],
    );
    assert_withheld(&w, &a, &tear, &[ReasonCode::HeldByOfficer]);
}

#[test]
fn a_hold_on_a_relationships_end_withholds_the_relationship() {
    let mut s = Scenario::new("USA");
    let a_end = s.obj("indicator", Some(("UNCLASSIFIED//REL TO GBR", "USA")));
    let b_end = s.obj("malware", Some(("UNCLASSIFIED//REL TO GBR", "USA")));
    let m = s.mark("UNCLASSIFIED//REL TO GBR", "USA");
    let rid = s.fresh("relationship");
    s.items.push(Item {
        id: rid.clone(),
        markings: vec![m],
        ends: vec![a_end.clone(), b_end.clone()],
        ..Item::default()
    });
    let mut w = s.world();
    w.add_hold(&hold(&b_end, "GBR", "r"));
    assert_withheld(&w, &agreement("GBR"), &rid, &[ReasonCode::EndpointWithheld]);
}

#[test]
fn a_hold_withholds_what_a_consent_released_and_lifting_it_restores_the_consent() {
    let (mut s, report, assessment) = third_party_scenario();
    s.consent(&report, "GBR", "ISR");
    let w = s.world();
    assert_released(&w, &agreement("GBR"), &assessment);
    let mut held = s.world();
    held.add_hold(&hold(&report, "GBR", "r"));
    assert_withheld(
        &held,
        &agreement("GBR"),
        &report,
        &[ReasonCode::HeldByOfficer],
    );
    assert_withheld(
        &held,
        &agreement("GBR"),
        &assessment,
        &[ReasonCode::HeldByOfficer],
    );
    // Still withheld from RUS for the missing consent, and held from no one else.
    assert_withheld(
        &held,
        &agreement("RUS"),
        &assessment,
        &[ReasonCode::ThirdPartyRule],
    );
}

#[test]
fn a_hold_above_a_derivation_cycle_is_still_found() {
    let mut s = Scenario::new("USA");
    let top = s.obj("report", Some(("UNCLASSIFIED//REL TO GBR", "USA")));
    let x = s.obj("report", Some(("UNCLASSIFIED//REL TO GBR", "USA")));
    let y = s.obj("report", Some(("UNCLASSIFIED//REL TO GBR", "USA")));
    s.derive(&x, &y);
    s.derive(&y, &x);
    s.derive(&x, &top);
    let mut w = s.world();
    w.add_hold(&hold(&top, "GBR", "r"));
    let a = agreement("GBR");
    for o in [&y, &x] {
        let d = decide(&w, &a, o);
        assert_eq!(d.verdict, Verdict::Withhold);
        assert!(
            codes(&d).contains(&ReasonCode::HeldByOfficer),
            "{o}: {:?}",
            d.reasons
        );
    }
}
