//! The demo's exchange, as data: an allied (ISR) ORCON report on an airline bomb plot and
//! ISR's tear line, the USA's assessment derived from it, shared context and a NOFORN note,
//! and the partners' agreements. The demo narrates it; the tests of the server and of the
//! CLI use the same objects, so that what the demo shows is what is tested.

use liaison_labels::{Banner, Grading, Label, Party};
use liaison_stix::{parse_document, Document};
use serde_json::{json, Value};

use crate::error::ReleaseError;

fn bad(e: impl std::fmt::Display) -> ReleaseError {
    ReleaseError::Party(e.to_string())
}

/// ISR's liaison office (identity).
pub const ISR_IDENTITY: &str = "identity--0c7b5f0e-6a51-4d2e-9c1f-3b8e2d7a4f10";
/// The USA's liaison office (identity).
pub const USA_IDENTITY: &str = "identity--5d2a8c34-1f6e-4b7a-8d93-c2e0f1a6b722";
/// The threat actor: al-Qaeda in the Arabian Peninsula.
pub const AQAP: &str = "threat-actor--8a4e2b61-3c5d-4f7e-9a1b-6d2c8e0f4a33";
/// ISR's ORCON report on the plot (SECRET//ORCON//REL TO USA, GBR).
pub const ISR_REPORT: &str = "report--2f6d9b13-7e4a-4c58-b1d2-9a0e3c5f7b44";
/// ISR's own tear line of that report (CONFIDENTIAL, releasable to RUS).
pub const ISR_TEARLINE: &str = "report--9c3e1a75-2b8d-4f60-a4c7-5e1d0b3f9a55";
/// A shared indicator: the courier's e-mail address.
pub const INDICATOR: &str = "indicator--4b7f2d96-0e3a-4c1b-8f5d-7a9c1e3b5d66";
/// The USA's assessment, derived from ISR's report.
pub const ASSESSMENT: &str = "report--7e1b5c38-9d2f-4a6e-b3c0-8f4a2d6e1c77";
/// The `derived-from` relationship from the assessment to ISR's report.
pub const DERIVED: &str = "relationship--1a9d6f42-5c3b-4e8a-9b7d-0c2e4a6f8b88";
/// A NOFORN collection note that never leaves the USA.
pub const NOFORN_NOTE: &str = "note--3d8a2e57-6b1c-4f9d-a0e2-4c6b8d0f2a99";

/// When every sample object was created.
pub const T0: &str = "2026-11-20T08:00:00.000Z";

fn label(banner: &str, originator: &str, grading: Option<&str>) -> Result<Label, ReleaseError> {
    Ok(Label {
        banner: banner.parse::<Banner>().map_err(bad)?,
        originator: Party::parse(originator).map_err(bad)?,
        grading: grading
            .map(str::parse::<Grading>)
            .transpose()
            .map_err(bad)?,
        duty_to_warn: false,
    })
}

fn bundle(objects: Vec<Value>) -> Result<Document, ReleaseError> {
    let text = json!({"type": "bundle", "id": "bundle--6e0f2a4c-8b1d-4e3f-9a5c-7d2b0e4f6a10", "objects": objects}).to_string();
    parse_document(&text).map_err(ReleaseError::from)
}

fn marking(l: &Label) -> Value {
    Value::Object(l.to_marking_definition(T0))
}

/// The labels of the sample.
pub struct Labels {
    /// ISR's report label.
    pub isr_orcon: Label,
    /// ISR's tear-line label.
    pub isr_tearline: Label,
    /// ISR's identity label.
    pub isr_identity: Label,
    /// The assessment's own label.
    pub usa_secret: Label,
    /// Shared context.
    pub usa_shared: Label,
    /// The NOFORN field marking.
    pub usa_noforn_field: Label,
    /// The NOFORN note's label.
    pub usa_ts_noforn: Label,
}

/// The labels the sample uses.
pub fn labels() -> Result<Labels, ReleaseError> {
    Ok(Labels {
        isr_orcon: label("SECRET//ORCON//REL TO USA, GBR", "ISR", Some("B2"))?,
        isr_tearline: label("CONFIDENTIAL//REL TO USA, GBR, RUS", "ISR", Some("B2"))?,
        isr_identity: label("UNCLASSIFIED//REL TO USA, GBR", "ISR", None)?,
        usa_secret: label("SECRET//REL TO USA, GBR, RUS", "USA", None)?,
        usa_shared: label("UNCLASSIFIED//REL TO USA, GBR, RUS//TLP:GREEN", "USA", None)?,
        usa_noforn_field: label("SECRET//NOFORN", "USA", None)?,
        usa_ts_noforn: label("TOP SECRET//SI//NOFORN", "USA", None)?,
    })
}

fn sdo(ty: &str, id: &str, mark: &Label, extra: Value) -> Value {
    let mut o = json!({
        "type": ty, "spec_version": "2.1", "id": id, "created": T0, "modified": T0,
        "object_marking_refs": [mark.marking_id().to_string()],
    });
    if let (Value::Object(o), Value::Object(extra)) = (&mut o, extra) {
        o.extend(extra);
    }
    o
}

/// What ISR, an ally, sent us: an ORCON report on an airline bomb plot and its own tear line.
/// What ISR sends the USA: its report and its tear line, with their labels.
pub fn isr_bundle(l: &Labels) -> Result<Document, ReleaseError> {
    bundle(vec![
        marking(&l.isr_orcon),
        marking(&l.isr_tearline),
        marking(&l.isr_identity),
        sdo(
            "identity",
            ISR_IDENTITY,
            &l.isr_identity,
            json!({"name": "ISR liaison office", "identity_class": "organization"}),
        ),
        sdo(
            "report",
            ISR_REPORT,
            &l.isr_orcon,
            json!({
                "created_by_ref": ISR_IDENTITY,
                "name": "Airline bomb plot: explosives concealed in printer cartridges",
                "description": "A human source with direct access reports that an AQAP cell in Sanaa has built explosive devices concealed in printer toner cartridges, to be sent as air cargo to the United States.",
                "report_types": ["threat-report"], "published": T0, "labels": ["terrorism"],
                "object_refs": [AQAP],
            }),
        ),
        sdo(
            "report",
            ISR_TEARLINE,
            &l.isr_tearline,
            json!({
                "created_by_ref": ISR_IDENTITY,
                "name": "Threat warning: explosive devices in air cargo",
                "description": "Reliable reporting indicates that AQAP intends to send explosive devices concealed in printer cartridges as air cargo. Screen toner cartridges shipped from Yemen.",
                "report_types": ["threat-report"], "published": T0, "labels": ["terrorism"],
                "object_refs": [AQAP],
                "extensions": {liaison_stix::LIAISON_EXTENSION_ID: {"extension_type": "property-extension", "tearline_of": ISR_REPORT}},
            }),
        ),
    ])
}

/// Our own holdings: shared context, an assessment derived from ISR's report, and a NOFORN
/// note that must never leave.
/// The USA's own holdings: context, the assessment, the derivation, the NOFORN note.
pub fn usa_bundle(l: &Labels) -> Result<Document, ReleaseError> {
    bundle(vec![
        marking(&l.usa_secret),
        marking(&l.usa_shared),
        marking(&l.usa_noforn_field),
        marking(&l.usa_ts_noforn),
        sdo(
            "identity",
            USA_IDENTITY,
            &l.usa_shared,
            json!({"name": "USA liaison office", "identity_class": "organization"}),
        ),
        sdo(
            "threat-actor",
            AQAP,
            &l.usa_shared,
            json!({
                "name": "Al-Qaeda in the Arabian Peninsula", "aliases": ["AQAP"],
                "threat_actor_types": ["terrorist"], "labels": ["terrorism"],
            }),
        ),
        sdo(
            "indicator",
            INDICATOR,
            &l.usa_shared,
            json!({
                "name": "Courier e-mail address", "description": "Mailbox used by the cell's courier to arrange cargo shipments.", "pattern": "[email-addr:value = 'courier@example.net']",
                "pattern_type": "stix", "valid_from": T0, "indicator_types": ["malicious-activity"], "labels": ["terrorism"],
            }),
        ),
        sdo(
            "report",
            ASSESSMENT,
            &l.usa_secret,
            json!({
                "created_by_ref": USA_IDENTITY,
                "name": "Assessment: AQAP capability against air cargo",
                "description": "AQAP has the capability and intent to attack aviation with concealed devices shipped as cargo.",
                "x_collection_method": "Corroborated by intercepts of the courier's mailbox.",
                "report_types": ["threat-report"], "published": T0, "labels": ["terrorism"],
                "object_refs": [ISR_REPORT, AQAP, INDICATOR],
                "granular_markings": [{"marking_ref": l.usa_noforn_field.marking_id().to_string(), "selectors": ["x_collection_method"]}],
            }),
        ),
        sdo(
            "relationship",
            DERIVED,
            &l.usa_shared,
            json!({
                "relationship_type": "derived-from", "source_ref": ASSESSMENT, "target_ref": ISR_REPORT,
            }),
        ),
        sdo(
            "note",
            NOFORN_NOTE,
            &l.usa_ts_noforn,
            json!({
                "abstract": "Collection note", "content": "The courier's mailbox is collected under a sensitive program.",
                "object_refs": [INDICATOR],
            }),
        ),
    ])
}

/// The USA's agreement with GBR.
pub const GBR_AGREEMENT: &str = r#"# United Kingdom: close partner
party = "GBR"
ceiling = "SECRET"
compartments = []

[scope]
max_tlp = "amber"
"#;

/// The USA's agreement with RUS.
pub const RUS_AGREEMENT: &str = r#"# Russia: counter-terrorism only, low ceiling
party = "RUS"
ceiling = "CONFIDENTIAL"

[scope]
types = ["identity", "indicator", "relationship", "report", "threat-actor"]
max_tlp = "green"
topics = ["terrorism"]
"#;

/// An indicator of RUS's own, which RUS shares with the USA.
pub const RUS_INDICATOR: &str = "indicator--6c2d8e41-9a3b-4f5c-8e7d-1b0a2c4e6f11";

/// RUS's own reporting for the USA.
pub fn rus_bundle() -> Result<Document, ReleaseError> {
    let shared = label("UNCLASSIFIED//REL TO USA, RUS", "RUS", Some("C3"))?;
    bundle(vec![
        marking(&shared),
        sdo(
            "indicator",
            RUS_INDICATOR,
            &shared,
            json!({
                "name": "Courier's second mailbox", "description": "Observed by RUS in the same network.",
                "pattern": "[email-addr:value = 'courier2@example.org']", "pattern_type": "stix",
                "valid_from": T0, "indicator_types": ["malicious-activity"], "labels": ["terrorism"],
            }),
        ),
    ])
}

/// A threat actor RUS holds under its Cyrillic name, releasable to the USA: what the USA's
/// watchlist finds through private matching.
pub const RUS_WATCHED: &str = "threat-actor--2e7c4a19-8d3f-4b6a-9c1e-5f0d2b8a6e31";
/// A threat actor RUS holds but does not release to the USA (SECRET, REL TO RUS only): its
/// name must never match, whatever the USA asks.
pub const RUS_HIDDEN: &str = "threat-actor--7b1d5e83-2a6c-4f9e-8d0b-3c5a7e9f1b42";

/// RUS's terms for the USA, with private matching: 4,096 selectors per day, at most 1,024
/// per request.
pub const RUS_TERMS_FOR_USA: &str = r#"# RUS for the USA: what RUS releases, and how much the USA may ask
ceiling = "CONFIDENTIAL"

[scope]
max_tlp = "amber"

[matching]
budget_per_epoch = 4096
max_set_size = 1024
epoch_hours = 24
"#;

/// RUS's own holdings for private matching: a threat actor it shares with the USA (its name
/// in Cyrillic, an alias, a contact e-mail and phone) and one it keeps to itself.
pub fn rus_holdings() -> Result<Document, ReleaseError> {
    let shared = label("UNCLASSIFIED//REL TO USA, RUS", "RUS", Some("C3"))?;
    let own = label("SECRET//REL TO RUS", "RUS", Some("B2"))?;
    bundle(vec![
        marking(&shared),
        marking(&own),
        sdo(
            "threat-actor",
            RUS_WATCHED,
            &shared,
            json!({
                "name": "Тимур Бекмурзаев", "aliases": ["Абу Хамза"],
                "threat_actor_types": ["terrorist"], "labels": ["terrorism"],
                "description": "Recruiter; contact через почту и телефон.",
            }),
        ),
        sdo(
            "identity",
            "identity--4f8a2c61-0b3d-4e7f-a5c9-1d6e8b0f2a53",
            &shared,
            json!({
                "name": "Тимур Бекмурзаев", "identity_class": "individual",
                "contact_information": "email: t.bekmurzaev@example.ru; phone: +7 928 555-01-23",
            }),
        ),
        sdo(
            "threat-actor",
            RUS_HIDDEN,
            &own,
            json!({
                "name": "Ислам Дудаев", "threat_actor_types": ["terrorist"],
                "labels": ["terrorism"],
            }),
        ),
    ])
}

/// The group the partners characterise differently (curated intelligence's framing).
pub const KNF_NAME: &str = "Kavkaz National Front";
/// RUS's report on it, which GBR later relays to the USA in its own words.
pub const RUS_KNF_REPORT: &str = "report--5b3e9d27-1c4a-4e8f-b6d2-7a0c3e5f9b61";
/// RUS's threat actor for the group: `terrorist`.
pub const RUS_KNF: &str = "threat-actor--0e6a2c48-9d1b-4f37-a5c8-2b7d4e6f8a19";
/// GBR's relay of RUS's report: near-duplicate text, its own indicator with RUS's pattern.
pub const GBR_RELAY: &str = "report--8c1f5a39-2e7b-4d60-9a3c-6e0b2d4f7a82";
/// GBR's threat actor for the group: `activist`.
pub const GBR_KNF: &str = "threat-actor--3a7c9e15-6b2d-4f8a-8c0e-5d1b3f7a9c24";
/// The USA's own threat actor for the group: `activist`.
pub const USA_KNF: &str = "threat-actor--6d2b8f41-0a5e-4c93-b7d1-9e3a5c7f1b36";

const KNF_REPORT_TEXT: &str =
    "Members of the Kavkaz National Front met in Nalchik in early November \
to plan attacks on transport infrastructure in the North Caucasus. The courier who carried \
their instructions used a second mailbox that we observed in the same network. The group \
recruits among young men in Kabardino-Balkaria and raises money through small businesses.";

const GBR_RELAY_TEXT: &str =
    "Members of the Kavkaz National Front met in Nalchik in early November \
to plan attacks on transport infrastructure in the North Caucasus. The courier who carried \
their orders used a second mailbox that was observed in the same network. The group \
recruits among young men in Kabardino-Balkaria and raises money through small businesses.";

/// RUS's reporting on the Kavkaz National Front: a report citing its indicator and its
/// threat actor, which it calls `terrorist`.
pub fn rus_knf_bundle() -> Result<Document, ReleaseError> {
    let shared = label("UNCLASSIFIED//REL TO USA, RUS", "RUS", Some("C3"))?;
    bundle(vec![
        marking(&shared),
        sdo(
            "threat-actor",
            RUS_KNF,
            &shared,
            json!({"name": KNF_NAME, "threat_actor_types": ["terrorist"], "labels": ["terrorism"]}),
        ),
        sdo(
            "report",
            RUS_KNF_REPORT,
            &shared,
            json!({"name": "Kavkaz National Front meeting in Nalchik", "description": KNF_REPORT_TEXT,
                "published": T0, "report_types": ["threat-actor"], "labels": ["terrorism"],
                "object_refs": [RUS_KNF, RUS_INDICATOR]}),
        ),
    ])
}

/// What GBR sends the USA: RUS's report relayed in its own words (citing its own indicator
/// with RUS's pattern), and its own view of the group: `activist`.
pub fn gbr_relay_bundle() -> Result<Document, ReleaseError> {
    let gbr = label("UNCLASSIFIED//REL TO USA, GBR", "GBR", Some("B2"))?;
    let indicator = "indicator--1f4b7d29-8e3c-4a56-9b0d-2c6e8a1f3d57";
    bundle(vec![
        marking(&gbr),
        sdo(
            "indicator",
            indicator,
            &gbr,
            json!({"name": "Courier mailbox", "pattern": "[email-addr:value = 'courier2@example.org']",
                "pattern_type": "stix", "valid_from": T0, "indicator_types": ["malicious-activity"]}),
        ),
        sdo(
            "report",
            GBR_RELAY,
            &gbr,
            json!({"name": "North Caucasus: KNF planning", "description": GBR_RELAY_TEXT,
                "published": T0, "report_types": ["threat-actor"], "object_refs": [indicator]}),
        ),
        sdo(
            "threat-actor",
            GBR_KNF,
            &gbr,
            json!({"name": KNF_NAME, "threat_actor_types": ["activist"]}),
        ),
    ])
}

/// The USA's own view of the group: `activist`.
pub fn usa_knf_bundle() -> Result<Document, ReleaseError> {
    let ours = label("SECRET//REL TO USA, GBR", "USA", None)?;
    bundle(vec![
        marking(&ours),
        sdo(
            "threat-actor",
            USA_KNF,
            &ours,
            json!({"name": KNF_NAME, "threat_actor_types": ["activist"]}),
        ),
    ])
}

/// Puts the sample exchange into a node: ISR's report and tear line as received from ISR,
/// then the USA's own holdings. (The demo does the same in two narrated steps.)
pub fn ingest_exchange<S: liaison_store::Store>(
    node: &mut crate::Node<S>,
) -> Result<(), ReleaseError> {
    let l = labels()?;
    let from_isr = crate::IngestOptions {
        default_label: None,
        source: Some(
            liaison_labels::Party::parse("ISR").map_err(|e| ReleaseError::Party(e.to_string()))?,
        ),
    };
    node.ingest(&isr_bundle(&l)?, &from_isr, &mut |_| {})?;
    node.ingest(
        &usa_bundle(&l)?,
        &crate::IngestOptions::default(),
        &mut |_| {},
    )?;
    Ok(())
}
