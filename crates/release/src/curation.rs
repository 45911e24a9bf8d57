//! Curated intelligence on the node (DESIGN.md "Curated intelligence"): the held objects as
//! items of the pure `liaison_grading` engine, and what the CLI asks of it (`assess`,
//! `partner record`, `framing`), plus analysts' gradings as STIX `opinion` objects.
//!
//! How an object becomes an item:
//! - **originator**: its label's originator (the party that produced it), else the party it
//!   came from; **source**: the party it came from (us for our own ingest);
//! - **derived_from**: the targets of its `derived-from` relationships;
//! - **grading**: the newest analyst grading (an `opinion` of ours carrying
//!   `x_liaison_grading`), else its label's;
//! - **text**: name, description, abstract, content and explanation, for near-duplicates;
//! - **our marks**: an object from partner P that references one of our objects P received
//!   only under the id we fingerprinted for it (mapped back to ours on receipt): it was built
//!   on our copy. The evidence names the id;
//! - **claims**: an indicator asserts its pattern; an `attributed-to` relationship asserts the
//!   attribution of its source to its target; a threat actor, identity or intrusion set
//!   asserts each value of its `threat_actor_types`, `labels`, `roles`,
//!   `primary_motivation`, `goals` and `aliases` (entities keyed by type and folded name,
//!   since sources give one actor different ids); a report asserts what the objects it cites
//!   assert.
//!
//! The engine is built from the store per command (it is incremental, `Engine::add`, for a
//! long-running process; the benchmark measures both).

use std::collections::{BTreeSet, HashMap, HashSet};

use liaison_grading::{
    track_record, Assessment, Claim, ClaimChange, Echo, Engine, Framing, Graded, Item, Outcome,
    OutcomeEvent, Period, Property, Signature, TrackRecord,
};
use liaison_labels::{Grading, Label, Party};
use liaison_stix::{parse_document, StixObject, Timestamp};
use liaison_store::prelude::*;
use liaison_store::Stored;
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::error::ReleaseError;
use crate::fingerprint::is_marked;
use crate::ingest::IngestOptions;
use crate::node::Node;
use crate::queue::Holdings;
use liaison_policy::Markings;

/// The property an analyst's grading travels in, on an `opinion` of ours.
pub const GRADING_PROPERTY: &str = "x_liaison_grading";

/// The curation engine over a node's holdings, with the gradings and contradictions that
/// partners' track records are made of.
pub struct Curated {
    /// The engine: assessments, corroboration, echoes, framing.
    pub engine: Engine,
    /// Each partner's items as graded, by the partner they came from.
    graded: Vec<(Party, Graded)>,
    /// Items an opinion of ours disagrees with.
    contradicted: Vec<OutcomeEvent>,
}

impl std::fmt::Debug for Curated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Curated")
            .field("items", &self.engine.len())
            .finish_non_exhaustive()
    }
}

impl Curated {
    /// `partner`'s track record per `period`: its items' gradings, and when each was first
    /// corroborated by an independent source or contradicted by us.
    pub fn record(&self, partner: &Party, period: Period) -> TrackRecord {
        let graded: Vec<Graded> = self
            .graded
            .iter()
            .filter(|(from, _)| from == partner)
            .map(|(_, g)| g.clone())
            .collect();
        let theirs: HashSet<&str> = graded.iter().map(|g| g.item.as_str()).collect();
        let mut outcomes: Vec<OutcomeEvent> = graded
            .iter()
            .filter_map(|g| {
                self.engine
                    .corroborated_by(&g.item)
                    .map(|(_, at)| OutcomeEvent {
                        item: g.item.clone(),
                        at,
                        outcome: Outcome::Corroborated,
                    })
            })
            .collect();
        outcomes.extend(
            self.contradicted
                .iter()
                .filter(|c| theirs.contains(c.item.as_str()))
                .cloned(),
        );
        track_record(partner.clone(), &graded, &outcomes, period)
    }
}

/// `liaison assess ID`: the engine's assessment of one object, with its partner's record.
#[derive(Debug, Clone, Serialize)]
pub struct AssessReport {
    /// Grading, independent sources per claim (with each item's reason code), echo flag.
    pub assessment: Assessment,
    /// The track record of the partner it came from (none for our own).
    pub track_record: Option<TrackRecord>,
}

fn text_of(props: &Map<String, Value>) -> String {
    ["name", "description", "abstract", "content", "explanation"]
        .iter()
        .filter_map(|k| props.get(*k).and_then(Value::as_str))
        .collect::<Vec<_>>()
        .join("\n")
}

fn entity_key(props: &Map<String, Value>) -> Option<String> {
    let ty = props.get("type")?.as_str()?;
    let name = props.get("name")?.as_str()?;
    let folded: String = name
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    Some(format!("{ty}:{folded}"))
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.trim().to_lowercase()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(|s| s.trim().to_lowercase())
            .collect(),
        _ => Vec::new(),
    }
}

/// What one object asserts by itself (reports assert what they cite: see [`claims_of`]).
fn own_claims(props: &Map<String, Value>, key_of: &dyn Fn(&str) -> String) -> Vec<Claim> {
    let ty = props.get("type").and_then(Value::as_str).unwrap_or("");
    match ty {
        "indicator" => props
            .get("pattern")
            .and_then(Value::as_str)
            .map(|p| Claim::Indicator {
                value: p.split_whitespace().collect::<Vec<_>>().join(" "),
            })
            .into_iter()
            .collect(),
        "relationship"
            if props.get("relationship_type").and_then(Value::as_str) == Some("attributed-to") =>
        {
            match (
                props.get("source_ref").and_then(Value::as_str),
                props.get("target_ref").and_then(Value::as_str),
            ) {
                (Some(from), Some(to)) => vec![Claim::Attribution {
                    from: key_of(from),
                    to: key_of(to),
                }],
                _ => Vec::new(),
            }
        }
        "threat-actor" | "identity" | "intrusion-set" => {
            let Some(entity) = entity_key(props) else {
                return Vec::new();
            };
            Property::ALL
                .iter()
                .flat_map(|p| {
                    let entity = entity.clone();
                    strings(props.get(p.as_str()))
                        .into_iter()
                        .map(move |value| Claim::Characterisation {
                            entity: entity.clone(),
                            property: *p,
                            value,
                        })
                })
                .collect()
        }
        _ => Vec::new(),
    }
}

/// Every id an object references (`*_ref`, `*_refs`, nested), its own id aside.
fn references(props: &Map<String, Value>, out: &mut Vec<String>) {
    for (k, v) in props {
        if k == "id" {
            continue;
        }
        match v {
            Value::String(s) if k.ends_with("_ref") => out.push(s.clone()),
            Value::Array(a) if k.ends_with("_refs") => {
                out.extend(a.iter().filter_map(Value::as_str).map(str::to_owned));
            }
            Value::Object(m) => references(m, out),
            Value::Array(a) => {
                for x in a {
                    if let Value::Object(m) = x {
                        references(m, out);
                    }
                }
            }
            _ => {}
        }
    }
}

impl<S: Store> Node<S> {
    fn held_objects(&self) -> Result<Vec<Stored>, ReleaseError> {
        let mut out = Vec::new();
        self.store.scan_latest(&mut |stored| {
            out.push(stored);
            Ok(())
        })?;
        Ok(out)
    }

    /// Every held object as a curation item (see the module's notes), in the order received.
    fn items(&self, held: &[Stored]) -> Result<Vec<Item>, ReleaseError> {
        let markings = self.markings()?;
        let by_id: HashMap<&str, &Stored> =
            held.iter().map(|s| (s.object.id().as_str(), s)).collect();
        let key_of = |id: &str| -> String {
            by_id
                .get(id)
                .and_then(|s| entity_key(s.object.props()))
                .unwrap_or_else(|| id.to_owned())
        };
        // `derived-from` parents, and our analysts' gradings (newest wins).
        let mut parents: HashMap<String, Vec<String>> = HashMap::new();
        let mut graded: HashMap<String, (String, Grading)> = HashMap::new();
        for s in held {
            let p = s.object.props();
            match s.object.object_type() {
                "relationship"
                    if p.get("relationship_type").and_then(Value::as_str)
                        == Some("derived-from") =>
                {
                    if let (Some(a), Some(b)) = (
                        p.get("source_ref").and_then(Value::as_str),
                        p.get("target_ref").and_then(Value::as_str),
                    ) {
                        parents.entry(a.to_owned()).or_default().push(b.to_owned());
                    }
                }
                "opinion" if s.source == "local" => {
                    let grading = p
                        .get(GRADING_PROPERTY)
                        .and_then(Value::as_str)
                        .and_then(|g| g.parse::<Grading>().ok());
                    let at = p
                        .get("modified")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned();
                    if let Some(g) = grading {
                        for target in strings_raw(p.get("object_refs")) {
                            let newer = graded.get(&target).is_none_or(|(t, _)| *t <= at);
                            if newer {
                                graded.insert(target, (at.clone(), g));
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        // What each partner received from us under a fingerprinted id.
        let mut marked_for: HashMap<String, HashSet<String>> = HashMap::new();
        let world = self.world()?;
        for partner in self.store.partners()? {
            let Ok(p) = Party::parse(&partner.party) else {
                continue;
            };
            let got: HashSet<String> = self
                .store
                .releases(p.as_str())?
                .into_iter()
                .map(|(id, _, _)| id)
                .filter(|id| is_marked(&world, id))
                .collect();
            marked_for.insert(p.to_string(), got);
        }

        let mut items = Vec::with_capacity(held.len());
        for s in held {
            let o = &s.object;
            if skipped(o) {
                continue;
            }
            let source = if s.source == "local" {
                self.party.clone()
            } else {
                Party::parse(&s.source).map_err(|e| ReleaseError::Party(e.to_string()))?
            };
            let label = label_of(&markings, o, s.assigned_label.as_ref());
            let originator = label
                .as_ref()
                .map_or_else(|| source.clone(), |l| l.originator.clone());
            let id = o.id().to_string();
            let mut refs = Vec::new();
            references(o.props(), &mut refs);
            let our_marks = (source != self.party)
                .then(|| marked_for.get(source.as_str()))
                .flatten()
                .and_then(|got| refs.iter().find(|r| got.contains(*r)))
                .map(|r| marks_note(r, &source));
            let claims = claims_of(o.props(), &by_id, &key_of);
            items.push(Item {
                grading: graded
                    .get(&id)
                    .map(|(_, g)| *g)
                    .or_else(|| label.as_ref().and_then(|l| l.grading)),
                derived_from: parents.get(&id).cloned().unwrap_or_default(),
                signature: Signature::of_text(&text_of(o.props())),
                our_marks,
                time: s.date_added.clone(),
                id,
                originator,
                source,
                claims,
            });
        }
        Ok(items)
    }

    /// The curation engine over everything held, computed from scratch, with what partners'
    /// track records need beside it: built once, asked many times.
    pub fn curation(&self) -> Result<Curated, ReleaseError> {
        let held = self.held_objects()?;
        let items = self.items(&held)?;
        let graded: Vec<(Party, Graded)> = items
            .iter()
            .filter(|i| i.source != self.party)
            .map(|i| {
                (
                    i.source.clone(),
                    Graded {
                        item: i.id.clone(),
                        at: i.time.clone(),
                        grading: i.grading,
                    },
                )
            })
            .collect();
        // Contradicted: an opinion of ours that disagrees with an item.
        let mut contradicted = Vec::new();
        for s in &held {
            let p = s.object.props();
            let disagrees = s.object.object_type() == "opinion"
                && s.source == "local"
                && matches!(
                    p.get("opinion").and_then(Value::as_str),
                    Some("disagree" | "strongly-disagree")
                );
            if disagrees {
                for target in strings_raw(p.get("object_refs")) {
                    contradicted.push(OutcomeEvent {
                        item: target,
                        at: s.date_added.clone(),
                        outcome: Outcome::Contradicted,
                    });
                }
            }
        }
        let engine = Engine::from_items(self.party.clone(), items)
            .map_err(|e| ReleaseError::Curation(e.to_string()))?;
        Ok(Curated {
            engine,
            graded,
            contradicted,
        })
    }

    /// Brings `curated` (built with [`Node::curation`]) up to the objects `ids`, which
    /// changed since: a new id is added with `Engine::add`; a new version, or a deletion
    /// that leaves an older version or none, takes the old item out with `Engine::remove`
    /// first. Returns every held item whose corroboration or echo flag may have changed
    /// (the changed ones among them); `None` when following cannot give what a build gives,
    /// and `curated` is then left as it was: an object something held refers to (a report's
    /// claims, a relationship's entity keys, an opinion's grading rest on what they cite), a
    /// relationship, opinion or marking-definition removed or replaced, a `derived-from`
    /// relationship or an opinion arriving (they change other items), or a
    /// marking-definition. `held` must be current.
    pub fn curation_add(
        &mut self,
        curated: &mut Curated,
        held: &Holdings,
        ids: &BTreeSet<String>,
    ) -> Result<Option<Vec<String>>, ReleaseError> {
        self.refresh_refs(held.through())?;
        let list: Vec<String> = ids.iter().cloned().collect();
        if self
            .store
            .referrers(&list)?
            .iter()
            .any(|r| !ids.contains(r))
        {
            return Ok(None);
        }
        let world = held.world();
        let mut news = Vec::with_capacity(ids.len());
        let mut gone = Vec::new();
        for id in ids {
            // Only an item that changes nothing else can be taken out: not a relationship
            // (a `derived-from` one ties other items), nor an opinion (a grading), nor a
            // marking-definition. The id names the type of every version.
            let held_now = curated.engine.holds(id);
            let kind = id.split_once("--").map_or("", |(t, _)| t);
            if held_now && matches!(kind, "relationship" | "opinion" | "marking-definition") {
                return Ok(None);
            }
            if held_now {
                gone.push(id.clone());
            }
            let Some(s) = self.store.latest(id)? else {
                continue;
            };
            let p = s.object.props();
            let derivation = s.object.object_type() == "relationship"
                && p.get("relationship_type").and_then(Value::as_str) == Some("derived-from");
            if derivation || matches!(s.object.object_type(), "opinion" | "marking-definition") {
                return Ok(None);
            }
            news.push(s);
        }
        news.sort_by_key(|s| s.seq);
        // What the new objects cite, for their claims and entity keys.
        let mut cited: HashMap<String, Stored> = HashMap::new();
        for s in &news {
            let mut refs = Vec::new();
            references(s.object.props(), &mut refs);
            refs.extend(strings_raw(s.object.props().get("object_refs")));
            for r in refs {
                if let std::collections::hash_map::Entry::Vacant(v) = cited.entry(r) {
                    if let Some(c) = self.store.latest(v.key())? {
                        v.insert(c);
                    }
                }
            }
        }
        let by_id: HashMap<&str, &Stored> = cited.iter().map(|(k, v)| (k.as_str(), v)).collect();
        let key_of = |id: &str| -> String {
            by_id
                .get(id)
                .and_then(|s| entity_key(s.object.props()))
                .unwrap_or_else(|| id.to_owned())
        };
        let markings = world.markings();
        let mut items = Vec::new();
        for s in &news {
            let o = &s.object;
            if skipped(o) {
                continue;
            }
            let source = if s.source == "local" {
                self.party.clone()
            } else {
                Party::parse(&s.source).map_err(|e| ReleaseError::Party(e.to_string()))?
            };
            let mut refs = Vec::new();
            references(o.props(), &mut refs);
            // As a build finds them: the first cited id of ours, fingerprinted, that this
            // partner received.
            let mut ours: Vec<&str> = Vec::new();
            if source != self.party {
                ours = refs
                    .iter()
                    .map(String::as_str)
                    .filter(|r| is_marked(world, r))
                    .collect();
                ours.sort_unstable();
                ours.dedup();
            }
            let our_marks = match ours.is_empty() {
                true => None,
                false => {
                    let got = self.store.received_among(&[source.as_str()], &ours)?;
                    let got: HashSet<&str> = got
                        .first()
                        .into_iter()
                        .flatten()
                        .map(|&i| ours[i])
                        .collect();
                    refs.iter()
                        .find(|r| got.contains(r.as_str()))
                        .map(|r| marks_note(r, &source))
                }
            };
            let label = label_of(markings, o, s.assigned_label.as_ref());
            items.push(Item {
                grading: label.as_ref().and_then(|l| l.grading),
                derived_from: Vec::new(),
                signature: Signature::of_text(&text_of(o.props())),
                our_marks,
                time: s.date_added.clone(),
                id: o.id().to_string(),
                originator: label
                    .as_ref()
                    .map_or_else(|| source.clone(), |l| l.originator.clone()),
                source,
                claims: claims_of(o.props(), &by_id, &key_of),
            });
        }
        let mut changed = Vec::new();
        for id in &gone {
            let update = curated
                .engine
                .remove(id)
                .map_err(|e| ReleaseError::Curation(e.to_string()))?;
            curated.graded.retain(|(_, g)| g.item != *id);
            changed.extend(update.rechecked);
            changed.extend(update.echoes.into_iter().map(|e| e.item));
            corroboration_changed(&curated.engine, update.claims, &mut changed);
        }
        for item in items {
            if item.source != self.party {
                curated.graded.push((
                    item.source.clone(),
                    Graded {
                        item: item.id.clone(),
                        at: item.time.clone(),
                        grading: item.grading,
                    },
                ));
            }
            let update = curated
                .engine
                .add(item)
                .map_err(|e| ReleaseError::Curation(e.to_string()))?;
            changed.extend(update.rechecked);
            changed.extend(update.echoes.into_iter().map(|e| e.item));
            corroboration_changed(&curated.engine, update.claims, &mut changed);
        }
        changed.sort_unstable();
        changed.dedup();
        Ok(Some(changed))
    }

    /// `liaison assess ID`: how much one held object is worth and why.
    pub fn assess(&self, id: &str) -> Result<AssessReport, ReleaseError> {
        let curated = self.curation()?;
        let assessment = curated
            .engine
            .assess(id)
            .ok_or_else(|| ReleaseError::UnknownObject(id.to_owned()))?;
        let track_record = (assessment.from != self.party)
            .then(|| curated.record(&assessment.from, Period::Month));
        Ok(AssessReport {
            assessment,
            track_record,
        })
    }

    /// Circular reporting: every item flagged, with its evidence.
    pub fn echoes(&self) -> Result<Vec<Echo>, ReleaseError> {
        let mut e: Vec<Echo> = self.curation()?.engine.echoes().collect();
        e.sort_by(|a, b| a.item.cmp(&b.item));
        Ok(e)
    }

    /// `liaison partner record P`: how `partner`'s reporting was graded per `period`, and how
    /// often it was later corroborated by an independent source or contradicted by us.
    pub fn partner_record(
        &self,
        partner: &Party,
        period: Period,
    ) -> Result<TrackRecord, ReleaseError> {
        self.agreement(partner)?;
        Ok(self.curation()?.record(partner, period))
    }

    /// `liaison framing --partner P`: where `partner`'s characterisation of entities diverges
    /// from every independent other source's and ours.
    pub fn framing(&self, partner: &Party) -> Result<Framing, ReleaseError> {
        self.agreement(partner)?;
        Ok(self.curation()?.engine.framing(partner))
    }

    /// An analyst grades (or re-grades) held object `id`: an `opinion` of ours citing it, with
    /// the Admiralty grading in `x_liaison_grading`, `opinion` (`agree` … `strongly-disagree`)
    /// and an explanation, under `label` (kept as ours: it goes to a partner only if the
    /// policy releases it like anything else). Returns the opinion's id.
    pub fn grade(
        &mut self,
        id: &str,
        grading: Grading,
        opinion: &str,
        explanation: Option<&str>,
        label: &Label,
    ) -> Result<String, ReleaseError> {
        const OPINIONS: [&str; 5] = [
            "strongly-disagree",
            "disagree",
            "neutral",
            "agree",
            "strongly-agree",
        ];
        if !OPINIONS.contains(&opinion) {
            return Err(ReleaseError::Curation(format!(
                "opinion `{opinion}` is not one of {}",
                OPINIONS.join(", ")
            )));
        }
        if self.store.latest(id)?.is_none() {
            return Err(ReleaseError::UnknownObject(id.to_owned()));
        }
        let now = Timestamp::now().to_string();
        let opinion_id = format!("opinion--{}", uuid::Uuid::new_v4());
        let marking = label.to_marking_definition(&now);
        let mut o = json!({
            "type": "opinion", "spec_version": "2.1", "id": opinion_id,
            "created": now, "modified": now,
            "opinion": opinion,
            "object_refs": [id],
            "object_marking_refs": [label.marking_id().to_string()],
            GRADING_PROPERTY: grading.to_string(),
        });
        if let (Some(text), Value::Object(m)) = (explanation, &mut o) {
            m.insert("explanation".into(), Value::String(text.to_owned()));
        }
        let bundle = json!({
            "type": "bundle", "id": format!("bundle--{}", uuid::Uuid::new_v4()),
            "objects": [Value::Object(marking), o],
        });
        let doc = parse_document(&bundle.to_string())?;
        self.ingest(&doc, &IngestOptions::default(), &mut |_| {})?;
        Ok(opinion_id)
    }
}

/// Objects that are no item of their own: definitions, opinions and notes, relationships
/// other than attributions.
/// Adds to `changed` every item whose "corroborated" flag `claims` may have turned: an item
/// is corroborated when a claim of it has two independent sources or more.
fn corroboration_changed(engine: &Engine, claims: Vec<ClaimChange>, changed: &mut Vec<String>) {
    for c in claims {
        if (c.before >= 2) != (c.after >= 2) {
            if let Some(all) = engine.corroboration(&c.claim) {
                changed.extend(
                    all.clusters
                        .into_iter()
                        .flat_map(|k| k.members.into_iter().map(|m| m.id)),
                );
            }
        }
    }
}

/// What an item built on our fingerprinted copy says of it.
fn marks_note(cited: &str, source: &Party) -> String {
    format!("cites our `{cited}`, which {source} received only under the id fingerprinted for it")
}

fn skipped(o: &StixObject) -> bool {
    let ty = o.object_type();
    matches!(
        ty,
        "marking-definition" | "extension-definition" | "opinion" | "note"
    ) || (ty == "relationship"
        && o.props().get("relationship_type").and_then(Value::as_str) != Some("attributed-to"))
}

/// An object's label: its first marking that is a readable liaison label, else the label
/// assigned on ingest.
fn label_of(
    markings: &Markings,
    o: &StixObject,
    assigned: Option<&liaison_stix::StixId>,
) -> Option<Label> {
    o.props()
        .get("object_marking_refs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .chain(assigned.map(|a| a.to_string()))
        .find_map(|m| markings.get(&m).and_then(|l| l.as_ref().ok()).cloned())
}

fn strings_raw(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

/// What an object asserts: its own claims, and for a report those of the objects it cites.
fn claims_of(
    props: &Map<String, Value>,
    by_id: &HashMap<&str, &Stored>,
    key_of: &dyn Fn(&str) -> String,
) -> Vec<Claim> {
    let mut claims = own_claims(props, key_of);
    if props.get("type").and_then(Value::as_str) == Some("report") {
        for r in strings_raw(props.get("object_refs")) {
            if let Some(s) = by_id.get(r.as_str()) {
                claims.extend(own_claims(s.object.props(), key_of));
            }
        }
    }
    claims.sort();
    claims.dedup();
    claims
}
