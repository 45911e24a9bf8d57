//! What a partner would receive: a decision for every object, and the cut copies that go.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};

use liaison_fingerprint::Recipient;
use liaison_labels::{extension_definition, liaison_identity, Banner, Label, Party, Tlp};
use liaison_policy::{cut_for, Agreement, Judge, Reason, ReasonCode, Verdict, World};
use liaison_stix::{bundle_json, with_property, StixObject, LIAISON_EXTENSION_ID};
use liaison_store::prelude::*;
use liaison_store::Stored;
use serde::Serialize;
use serde_json::Value;

use crate::error::ReleaseError;
use crate::fingerprint::{is_marked, mark_text};
use crate::node::Node;
use crate::view::Head;

/// One object's decision for a partner, as `release preview` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// The object.
    pub object: String,
    /// Its type.
    #[serde(rename = "type")]
    pub object_type: String,
    /// `release`, `tearline` or `withhold`.
    pub decision: Verdict,
    /// Every reason that applied, in the design's order.
    pub reasons: Vec<Reason>,
    /// Field selectors and reference ids removed from the copy that goes.
    pub cut: Vec<String>,
    /// For `tearline`, the tear line that goes instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tearline: Option<String>,
    /// The id the partner receives what goes under (the object's, or its tear line's), when
    /// fingerprinting remaps it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivered_as: Option<String>,
}

/// A partner's bundle and the decisions behind it.
#[derive(Debug, Clone)]
pub struct Export {
    /// The STIX bundle, as it would be sent.
    pub bundle: String,
    /// Every decision.
    pub entries: Vec<Entry>,
    /// How many intelligence objects the bundle carries (markings aside).
    pub delivered: usize,
}

pub(crate) fn is_meta(ty: &str) -> bool {
    matches!(ty, "marking-definition" | "extension-definition")
}

/// One object's copy for a partner.
struct Copy {
    /// The copy as JSON text: the object exactly as received when nothing was cut (with only
    /// `object_marking_refs` written anew when it was relabelled).
    text: String,
    /// The marking-definitions it refers to.
    marks: Vec<String>,
    reasons: Vec<Reason>,
    cut: Vec<String>,
    /// The effective label written for it, when it differs from its own.
    label: Option<Label>,
    /// The copy as parsed, when it was built anew (cut or relabelled); else the object's own
    /// properties are the copy's.
    built: Option<serde_json::Map<String, Value>>,
}

/// Everything one pass yields for a partner.
pub(crate) struct Run {
    pub(crate) entries: Vec<Entry>,
    pub(crate) copies: Vec<Delivered>,
    pub(crate) labels: Vec<Label>,
}

/// One object as it leaves the node.
pub(crate) struct Delivered {
    /// The copy as JSON text (fingerprinted for its recipient when it is a delivery).
    pub(crate) text: String,
    /// Our id of the object (the copy's own id may be remapped).
    pub(crate) original: String,
    /// The marking-definitions it refers to.
    pub(crate) marks: Vec<String>,
    /// What it is (read off the object it copies), when known without parsing the text.
    pub(crate) head: Option<Head>,
}

/// When computed labels are written out, they get this `created`: their id is a function of
/// their content, so every copy of one label must be the same object.
pub(crate) const COMPUTED_LABEL_CREATED: &str = "2026-01-01T00:00:00.000Z";

/// The copy of `object` for the partner, and any label written for it.
///
/// The copy carries the object's *effective* label: when it is derived from material more
/// restricted than its own label says, the recipient must see the joined label (with ORCON
/// kept), or it could pass the material on further than its sources allow.
fn deliver(
    judge: &mut Judge<'_>,
    world: &World,
    object: &StixObject,
    assigned: Option<&str>,
) -> Result<Copy, Reason> {
    let ix = world.lookup(object.id().as_str()).ok_or_else(|| Reason {
        code: ReasonCode::InvalidLabel,
        detail: "object not indexed".into(),
    })?;
    let delivered = cut_for(judge, ix, object)?;
    let reasons = delivered.reasons();
    let cut: Vec<String> = delivered.cuts.iter().map(|c| c.what.clone()).collect();

    let liaison_refs: Vec<String> = object
        .object_marking_refs()
        .iter()
        .filter(|m| matches!(world.markings().get(m.as_str()), Some(Ok(_))))
        .map(ToString::to_string)
        .collect();
    let own_label: Option<Label> = liaison_refs
        .first()
        .or(assigned.map(str::to_owned).as_ref())
        .and_then(|m| {
            world
                .markings()
                .get(m)
                .and_then(|l| l.as_ref().ok())
                .cloned()
        });
    let mut label_id: Option<String> = if liaison_refs.is_empty() {
        assigned.map(str::to_owned)
    } else {
        None
    };
    let mut computed = None;
    if let (Ok(eff), Ok(own), Some(own_label)) = (world.effective(ix), world.own(ix), &own_label) {
        if eff != own {
            let label = Label {
                banner: Banner {
                    classification: eff.classification,
                    compartments: eff.compartments.clone(),
                    controls: eff.controls.clone(),
                    rel_to: Some(eff.rel_to.clone()),
                    tlp: eff.tlp,
                    pap: eff.pap,
                },
                originator: own_label.originator.clone(),
                grading: own_label.grading,
                duty_to_warn: own_label.duty_to_warn,
            };
            label_id = Some(label.marking_id().to_string());
            computed = Some(label);
        }
    }
    let uncut = matches!(delivered.object, Cow::Borrowed(_));
    // Nothing cut, nothing relabelled: the object goes exactly as it was received.
    if uncut && label_id.is_none() {
        let marks = object
            .object_marking_refs()
            .iter()
            .map(ToString::to_string)
            .chain(
                object
                    .granular_markings()
                    .iter()
                    .filter_map(|g| g.marking_ref.as_ref().map(ToString::to_string)),
            )
            .collect();
        return Ok(Copy {
            text: object.raw().to_owned(),
            marks,
            reasons,
            cut,
            label: None,
            built: None,
        });
    }
    let mut copy = delivered.object.into_owned();
    if computed.is_some() {
        if let Some(Value::Array(refs)) = copy.get_mut("object_marking_refs") {
            refs.retain(|r| {
                r.as_str()
                    .is_none_or(|r| !liaison_refs.iter().any(|l| l == r))
            });
        }
    }
    if let Some(id) = label_id {
        let refs = copy
            .entry("object_marking_refs")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(a) = refs {
            a.push(Value::String(id));
        }
    }
    let mut marks: Vec<String> = Vec::new();
    if let Some(Value::Array(a)) = copy.get("object_marking_refs") {
        marks.extend(a.iter().filter_map(Value::as_str).map(str::to_owned));
    }
    if let Some(Value::Array(gms)) = copy.get("granular_markings") {
        for gm in gms {
            if let Some(m) = gm.get("marking_ref").and_then(Value::as_str) {
                marks.push(m.to_owned());
            }
        }
    }
    // Uncut and only relabelled: the bytes received, with only `object_marking_refs`
    // written anew (re-serialising would rewrite escapes such as `\u2019`, and so the bytes
    // the recipient hashes and the feed's publisher signed).
    let kept = if uncut {
        copy.get("object_marking_refs")
            .and_then(|refs| with_property(object.raw(), "object_marking_refs", refs))
    } else {
        None
    };
    let text = match kept {
        Some(k) => k,
        None => Value::Object(copy.clone()).to_string(),
    };
    Ok(Copy {
        text,
        marks,
        reasons,
        cut,
        label: computed,
        built: Some(copy),
    })
}

/// Deciding, cutting and marking object after object for one partner: what one pass over
/// the holdings (or, when a view is maintained, over the objects a change can affect) is
/// made of. Objects must be given in storage order (`seq`), as [`Store::scan_latest`] gives
/// them: which decision a tear line's delivery leaf names depends on it.
pub(crate) struct Pass<'w> {
    to: Party,
    world: &'w World,
    judge: Judge<'w>,
    recipient: Recipient,
    embedder: liaison_fingerprint::Embedder,
    mark_copies: bool,
    pub(crate) entries: Vec<Entry>,
    pub(crate) copies: Vec<Delivered>,
    pub(crate) labels: Vec<Label>,
    sent: BTreeSet<String>,
    pending: Vec<Result<(), ReleaseError>>,
}

impl<'w> Pass<'w> {
    /// A pass for `to` over `world`, under `agreement` (with `mark_copies`, copies are
    /// fingerprinted for it). It does not hold `node`: a view computed in slices records each
    /// slice between the objects it takes.
    pub(crate) fn new<S: Store>(
        node: &Node<S>,
        to: &Party,
        world: &'w World,
        agreement: &'w Agreement,
        mark_copies: bool,
    ) -> Result<Pass<'w>, ReleaseError> {
        Ok(Pass {
            to: to.clone(),
            world,
            judge: node.judge(world, agreement)?,
            recipient: Recipient::new(to.as_str()),
            embedder: node.embedder(node.store.partners()?.len())?,
            mark_copies,
            entries: Vec::new(),
            copies: Vec::new(),
            labels: Vec::new(),
            sent: BTreeSet::new(),
            pending: Vec::new(),
        })
    }

    /// Decides one object (the newest version of it), and cuts and marks what goes (`node`
    /// gives the tear lines' texts).
    pub(crate) fn take<S: Store>(&mut self, node: &Node<S>, stored: &Stored) {
        let o = &stored.object;
        let world = self.world;
        let to = &self.to;
        // Markings travel with what they mark; what a partner gave us, it already has.
        if is_meta(o.object_type()) || stored.source == to.as_str() {
            return;
        }
        let Some(ix) = world.lookup(o.id().as_str()) else {
            return;
        };
        let d = self.judge.decide(ix);
        let mut entry = Entry {
            object: o.id().to_string(),
            object_type: o.object_type().to_owned(),
            decision: d.verdict,
            reasons: d.reasons,
            cut: Vec::new(),
            tearline: d.tearline.map(|t| world.id(t).to_owned()),
            delivered_as: None,
        };
        let goes = match d.verdict {
            Verdict::Release => Some((
                o.clone(),
                stored.assigned_label.as_ref().map(|l| l.to_string()),
            )),
            Verdict::Tearline => match d.tearline.map(|t| node.store.latest(world.id(t))) {
                Some(Ok(Some(t))) => Some((t.object, t.assigned_label.map(|l| l.to_string()))),
                Some(Err(e)) => {
                    self.pending.push(Err(e.into()));
                    None
                }
                _ => None,
            },
            Verdict::Withhold => None,
        };
        if let Some((obj, assigned)) = goes {
            match deliver(&mut self.judge, world, &obj, assigned.as_deref()) {
                Ok(Copy {
                    text,
                    marks,
                    reasons,
                    cut,
                    label,
                    built,
                }) => {
                    entry.reasons.extend(reasons);
                    entry.cut = cut;
                    if let Some(label) = label {
                        if !self.labels.contains(&label) {
                            self.labels.push(label);
                        }
                    }
                    let marked = is_marked(world, obj.id().as_str());
                    if marked {
                        match self.embedder.deliver_id(&self.recipient, obj.id()) {
                            Ok(id) => entry.delivered_as = Some(id.to_string()),
                            Err(e) => self.pending.push(Err(ReleaseError::Log(e.to_string()))),
                        }
                    }
                    if self.sent.insert(obj.id().to_string()) {
                        let text = if self.mark_copies && marked {
                            let props = built.as_ref().unwrap_or_else(|| obj.props());
                            mark_text(&self.embedder, &self.recipient, world, props, &text)
                        } else {
                            Ok((text, None))
                        };
                        match text {
                            Ok((text, id)) => self.copies.push(Delivered {
                                text,
                                original: obj.id().to_string(),
                                marks,
                                // What the copy is, known here: it need not be parsed again.
                                head: Some(Head {
                                    id: id.unwrap_or_else(|| obj.id().to_string()),
                                    object_type: obj.object_type().to_owned(),
                                    version: obj.version().cloned(),
                                    spec_version: obj.spec_version().unwrap_or("2.1").to_owned(),
                                }),
                            }),
                            Err(err) => self.pending.push(Err(err)),
                        }
                    }
                }
                Err(reason) => {
                    entry.decision = Verdict::Withhold;
                    entry.tearline = None;
                    entry.reasons.push(reason);
                }
            }
        }
        self.entries.push(entry);
    }

    /// The first error met on the way (a copy that could not be marked fails the pass).
    pub(crate) fn finish(mut self) -> Result<Run, ReleaseError> {
        self.drain()
    }

    /// What the objects taken since the last drain yielded (or the first error met on the
    /// way), leaving the pass ready for more: what it has sent stays sent (a tear line goes
    /// once) and its judge keeps the reciprocity gate as it was read at the start.
    pub(crate) fn drain(&mut self) -> Result<Run, ReleaseError> {
        std::mem::take(&mut self.pending)
            .into_iter()
            .collect::<Result<Vec<()>, _>>()?;
        Ok(Run {
            entries: std::mem::take(&mut self.entries),
            copies: std::mem::take(&mut self.copies),
            labels: std::mem::take(&mut self.labels),
        })
    }
}

impl<S: Store> Node<S> {
    /// One pass over the holdings for `to`: every decision, and the copies that go (with
    /// `mark_copies`, fingerprinted for it; a copy that cannot be marked fails the whole run,
    /// so no unmarked copy of a fingerprinted object ever goes).
    fn run(&self, to: &Party, mark_copies: bool) -> Result<Run, ReleaseError> {
        let agreement: Agreement = self.agreement(to)?;
        let world = self.world()?;
        let mut pass = Pass::new(self, to, &world, &agreement, mark_copies)?;
        self.store.scan_latest(&mut |stored| {
            pass.take(self, &stored);
            Ok(())
        })?;
        pass.finish()
    }

    /// The decision on every object this node holds, for partner `to`.
    pub fn preview(&self, to: &Party) -> Result<Vec<Entry>, ReleaseError> {
        Ok(self.run(to, false)?.entries)
    }

    /// The definitions that travel with copies referring to `marks`: each marking (a label
    /// computed for a copy, from `computed`, else as `earlier` delivered it, else as held,
    /// else a TLP definition), then liaison's identity and extension-definition when a
    /// liaison label is among them.
    pub(crate) fn meta_copies(
        &self,
        marks: &BTreeSet<String>,
        computed: &[Label],
        earlier: &HashMap<String, String>,
    ) -> Result<Vec<Delivered>, ReleaseError> {
        let mut out: Vec<Delivered> = Vec::new();
        let mut uses_liaison = false;
        let meta = |text: String, id: &str| Delivered {
            text,
            original: id.to_owned(),
            marks: Vec::new(),
            head: None,
        };
        for m in marks {
            if let Some(label) = computed.iter().find(|l| l.marking_id().as_str() == m) {
                uses_liaison = true;
                out.push(meta(
                    Value::Object(label.to_marking_definition(COMPUTED_LABEL_CREATED)).to_string(),
                    m,
                ));
            } else if let Some(text) = earlier.get(m) {
                uses_liaison |= serde_json::from_str::<Value>(text).is_ok_and(|v| {
                    v.get("extensions")
                        .and_then(Value::as_object)
                        .is_some_and(|e| e.contains_key(LIAISON_EXTENSION_ID))
                });
                out.push(meta(text.clone(), m));
            } else if let Some(stored) = self.store.latest(m)? {
                uses_liaison |= stored
                    .object
                    .extensions()
                    .is_some_and(|e| e.contains_key(LIAISON_EXTENSION_ID));
                out.push(meta(stored.object.raw().to_owned(), m));
            } else if let Some(t) = Tlp::marking_definition_for_id(m) {
                out.push(meta(Value::Object(t).to_string(), m));
            }
        }
        if uses_liaison {
            for o in [liaison_identity(), extension_definition()] {
                let id = o
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                out.push(meta(Value::Object(o).to_string(), &id));
            }
        }
        Ok(out)
    }

    /// Delivers partner `to`'s view as one bundle: the same copies TAXII serves, through the
    /// same step (decided, cut, fingerprinted for `to`, logged and counted). A bundle handed
    /// over out of band is as much a delivery as a TAXII page.
    pub fn export(&mut self, to: &Party) -> Result<Export, ReleaseError> {
        let view = self.view(to)?;
        let bundle = bundle_json(view.entries.iter().map(|e| &*e.json));
        Ok(Export {
            bundle,
            entries: view.decisions,
            delivered: view.delivered,
        })
    }
}
