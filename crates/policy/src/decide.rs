//! The release decision (DESIGN.md, "The release decision"): for one partner, every rule is
//! checked and every reason that applies is kept, in the design's order. The label-level
//! part of a decision depends only on the effective label, so it is computed once per
//! distinct label and partner; the rest is per object.

use std::collections::BTreeSet;
use std::sync::Arc;

use liaison_labels::{Control, Party, Restriction, Tlp};
use serde::Serialize;

use crate::agreement::Agreement;
use crate::reason::{Reason, ReasonCode};
use crate::world::{Fault, Ix, World};

/// The three outcomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The object goes to the partner (after cuts).
    Release,
    /// The object is withheld and the owner's tear line goes instead.
    Tearline,
    /// Nothing goes.
    Withhold,
}

impl Verdict {
    /// The verdict as written on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Release => "release",
            Verdict::Tearline => "tearline",
            Verdict::Withhold => "withhold",
        }
    }
}

/// A decision about one object for one partner: the verdict and every reason that applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The object decided on.
    pub object: Ix,
    /// What happens to it.
    pub verdict: Verdict,
    /// Why, in the order of DESIGN.md's rules.
    pub reasons: Vec<Reason>,
    /// For [`Verdict::Tearline`], the tear line that goes instead.
    pub tearline: Option<Ix>,
}

/// The label-level part of a decision, shared by every object with the same effective label.
#[derive(Debug, Clone)]
struct LabelVerdict {
    reasons: Arc<[Reason]>,
    /// Originators other than us whose consent is needed, each with the reason to give
    /// when it is missing.
    consent_from: Arc<[(Party, Reason)]>,
    /// Rule 4 for the label's TLP, when it is above the agreement's.
    tlp: Option<Reason>,
}

/// Decides for one partner. Holds caches, so keep one per partner for a batch of decisions.
pub struct Judge<'w> {
    world: &'w World,
    agreement: &'w Agreement,
    by_label: Vec<Option<LabelVerdict>>,
    type_allowed: Vec<Option<bool>>,
    visible: Vec<u8>,
    /// Per originator whose consent is needed: for each object seen, (consent at or above it,
    /// its ORCON sources all covered, it rests on an ORCON source at all).
    /// Dense, one byte per object: `DONE`, `ABOVE`, `COVERED`, `HAS_SOURCE` bits.
    coverage: Vec<(Party, Vec<u8>)>,
    /// A closed reciprocity gate: the reason, and what was delivered before it closed.
    gate: Option<(Reason, rustc_hash::FxHashSet<Ix>)>,
    /// Officers' holds reaching each object for this partner, once looked for (`None` while
    /// nothing is held from it): dense, `HOLD_UNKNOWN`, `HOLD_NONE`, or the held object's
    /// index plus `HOLD_ROOT`.
    held: Option<Vec<u32>>,
}

const HOLD_UNKNOWN: u32 = 0;
const HOLD_NONE: u32 = 1;
const HOLD_ROOT: u32 = 2;

const DONE: u8 = 1;
const ABOVE: u8 = 2;
const COVERED: u8 = 4;
const HAS_SOURCE: u8 = 8;

const UNKNOWN: u8 = 0;
const VISIBLE: u8 = 1;
const HIDDEN: u8 = 2;
const DECIDING: u8 = 3;

impl<'w> Judge<'w> {
    /// A judge for the partner of `agreement` over `world`.
    pub fn new(world: &'w World, agreement: &'w Agreement) -> Judge<'w> {
        Judge {
            world,
            agreement,
            by_label: Vec::new(),
            type_allowed: Vec::new(),
            visible: vec![UNKNOWN; world.len()],
            coverage: Vec::new(),
            gate: None,
            held: world
                .holds_anything_from(&agreement.party)
                .then(|| vec![HOLD_UNKNOWN; world.len()]),
        }
    }

    /// Closes the reciprocity gate (rule 5): objects not already `delivered` are withheld,
    /// except duty-to-warn and the agreement's small gestures, with `detail` as the reason.
    /// Call before deciding anything.
    pub fn pause(&mut self, detail: impl Into<Arc<str>>, delivered: impl IntoIterator<Item = Ix>) {
        self.gate = Some((
            Reason::new(ReasonCode::Reciprocity, detail),
            delivered.into_iter().collect(),
        ));
        self.visible.iter_mut().for_each(|v| *v = UNKNOWN);
    }

    /// The partner decided for.
    pub fn partner(&self) -> &Party {
        &self.agreement.party
    }

    /// The world decided over.
    pub fn world(&self) -> &'w World {
        self.world
    }

    /// Whether the partner may see the object itself (a `release` decision). Objects that
    /// are not held are never visible.
    pub fn visible(&mut self, ix: Ix) -> bool {
        match self.visible.get(ix as usize).copied() {
            Some(VISIBLE) => true,
            Some(HIDDEN) | Some(DECIDING) | None => false,
            Some(_) => {
                if let Some(v) = self.visible.get_mut(ix as usize) {
                    *v = DECIDING;
                }
                let ok = self.decide_own(ix).is_empty() && self.world.is_held(ix);
                if let Some(v) = self.visible.get_mut(ix as usize) {
                    *v = if ok { VISIBLE } else { HIDDEN };
                }
                ok
            }
        }
    }

    /// Whether the partner may see a field of object `ix` marked with the given marking (a
    /// liaison label or TLP): the label rules, and the originator's consent for the object
    /// when the marking is ORCON. `Err` says why not.
    pub fn field_visible(&mut self, ix: Ix, marking: &str) -> Result<(), Arc<str>> {
        if let Some(t) = Tlp::from_marking_id(marking) {
            return if t <= self.agreement.scope.max_tlp {
                Ok(())
            } else {
                Err(format!(
                    "{t} is above the agreement's {}",
                    self.agreement.scope.max_tlp
                )
                .into())
            };
        }
        match self.world.markings.get(marking) {
            Some(Ok(label)) => {
                let r = Restriction::of(label, liaison_labels::Tetragraphs::current());
                let lv = self.label_verdict_of(&r);
                if let Some(first) = lv.reasons.first() {
                    return Err(first.detail.clone());
                }
                if let Some(why) = &lv.tlp {
                    return Err(why.detail.clone());
                }
                for (x, _) in lv.consent_from.iter() {
                    let consented = self.world.consented(ix, x, &self.agreement.party)
                        || self
                            .world
                            .ancestors(ix)
                            .iter()
                            .any(|a| self.world.consented(*a, x, &self.agreement.party));
                    if !consented {
                        return Err(format!(
                            "marked ORCON by {x}, which has not consented to release to {}",
                            self.agreement.party
                        )
                        .into());
                    }
                }
                Ok(())
            }
            Some(Err(e)) => Err(format!("label `{marking}` cannot be evaluated: {e}").into()),
            // Statements and other markings that are not liaison labels restrict nothing.
            None if self.world.markings.is_other(marking) => Ok(()),
            None => Err(format!("label `{marking}` is not held").into()),
        }
    }

    /// Decides on one object.
    pub fn decide(&mut self, ix: Ix) -> Decision {
        let reasons = self.decide_own(ix);
        if reasons.is_empty() {
            if let Some(v) = self.visible.get_mut(ix as usize) {
                *v = VISIBLE;
            }
            return Decision {
                object: ix,
                verdict: Verdict::Release,
                reasons,
                tearline: None,
            };
        }
        let mut reasons = reasons;
        for t in self.world.tearlines(ix).to_vec() {
            if self.visible(t) {
                reasons.push(Reason::new(
                    ReasonCode::Tearline,
                    format!(
                        "the owner's tear line `{}` is released instead",
                        self.world.id(t)
                    ),
                ));
                return Decision {
                    object: ix,
                    verdict: Verdict::Tearline,
                    reasons,
                    tearline: Some(t),
                };
            }
        }
        Decision {
            object: ix,
            verdict: Verdict::Withhold,
            reasons,
            tearline: None,
        }
    }

    /// Every reason that withholds the object itself (empty: it may be released).
    fn decide_own(&mut self, ix: Ix) -> Vec<Reason> {
        let w = self.world;
        let mut reasons = Vec::new();
        match w.effective_id(ix) {
            Err(Fault::InvalidLabel(d)) => reasons.push(Reason::new(ReasonCode::InvalidLabel, d)),
            Err(Fault::Cycle) => reasons.push(Reason::new(
                ReasonCode::DerivationCycle,
                "derived-from relationships form a cycle through or above this object",
            )),
            Ok(label) => {
                let lv = self.label_verdict(label);
                reasons.extend(lv.reasons.iter().cloned());
                for (x, why) in lv.consent_from.iter() {
                    if !self.consent_covers(ix, x) {
                        reasons.push(why.clone());
                    }
                }
                // Reported under scope, after the consent rule, as DESIGN.md orders.
                reasons.extend(lv.tlp.clone());
            }
        }
        if !self.type_in_scope(ix) {
            reasons.push(Reason::new(
                ReasonCode::OutOfScope,
                format!(
                    "type `{}` is outside the agreement's scope",
                    w.object_type(ix)
                ),
            ));
        }
        // Topics gate intelligence; identities are context, and relationships and sightings
        // already need both ends visible.
        let topical = !matches!(w.object_type(ix), "identity" | "relationship" | "sighting");
        if let Some(topics) = self.agreement.scope.topics.as_ref().filter(|_| topical) {
            let hit = w
                .nodes
                .get(ix as usize)
                .is_some_and(|n| n.tags.iter().any(|t| topics.contains(&**t)));
            if !hit {
                reasons.push(Reason::new(
                    ReasonCode::OutOfScope,
                    "carries none of the agreement's topics".to_owned(),
                ));
            }
        }
        // Rule 5: a closed reciprocity gate holds back what was not delivered before,
        // except a warning of a threat to life and the agreed small gestures.
        if let Some((why, delivered)) = &self.gate {
            let gesture = self
                .agreement
                .reciprocity
                .small_gestures
                .contains(w.object_type(ix));
            if !delivered.contains(&ix) && !w.duty_to_warn(ix) && !gesture {
                reasons.push(why.clone());
            }
        }
        // An officer's hold: only ever one more withhold (never a release), on the object and
        // on what rests on it, as far as a consent would reach.
        if let Some(root) = self.held_root(ix) {
            if let Some(h) = w.hold_on(root, &self.agreement.party) {
                let detail = if root == ix {
                    format!(
                        "held from {} by officer {} at {}: {}",
                        h.to, h.by, h.at, h.reason
                    )
                } else {
                    format!(
                        "rests on `{}`, held from {} by officer {} at {}: {}",
                        w.id(root),
                        h.to,
                        h.by,
                        h.at,
                        h.reason
                    )
                };
                reasons.push(Reason::new(ReasonCode::HeldByOfficer, detail));
            }
        }
        let ends: &[Ix] = w.ends(ix);
        for &e in ends {
            if !self.visible(e) {
                reasons.push(Reason::new(
                    ReasonCode::EndpointWithheld,
                    format!(
                        "its end `{}` is not released to {}",
                        w.id(e),
                        self.agreement.party
                    ),
                ));
            }
        }
        reasons
    }

    fn type_in_scope(&mut self, ix: Ix) -> bool {
        let Some(types) = &self.agreement.scope.types else {
            return true;
        };
        let t = self
            .world
            .nodes
            .get(ix as usize)
            .map(|n| n.type_ix as usize)
            .unwrap_or(0);
        if self.type_allowed.len() <= t {
            self.type_allowed.resize(t + 1, None);
        }
        match self.type_allowed.get(t).copied().flatten() {
            Some(b) => b,
            None => {
                let b = types.contains(self.world.object_type(ix));
                if let Some(slot) = self.type_allowed.get_mut(t) {
                    *slot = Some(b);
                }
                b
            }
        }
    }

    /// The object whose hold (for this partner) reaches `ix`, if any: a hold reaches what a
    /// consent would, by the same rule (DESIGN.md "Label algebra"): the held object, what is
    /// derived from it (through [`World::inputs`], transitively) and the tear lines claiming
    /// it. Computed bottom-up once per object and remembered; the object's own hold first,
    /// then the nearest input's. An object on a derivation cycle is withheld for the cycle
    /// anyway; a hold above it is still found along the other inputs.
    fn held_root(&mut self, ix: Ix) -> Option<Ix> {
        let w = self.world;
        let to = &self.agreement.party;
        let memo = self.held.as_mut()?;
        let state = |memo: &Vec<u32>, n: Ix| memo.get(n as usize).copied().unwrap_or(HOLD_NONE);
        let lifted = |n: Ix| w.claimed_original(n).into_iter().chain(w.inputs(n));
        // `expanded`: its inputs have been pushed (they are settled, or on a cycle).
        let mut stack: Vec<(Ix, bool)> = vec![(ix, false)];
        let mut on_stack: rustc_hash::FxHashSet<Ix> = rustc_hash::FxHashSet::default();
        // A cycle cut short: "not held" found on the way is not trusted (fail closed).
        let mut cut = false;
        let mut settled_none = Vec::new();
        while let Some((n, expanded)) = stack.pop() {
            if state(memo, n) != HOLD_UNKNOWN {
                continue;
            }
            if !expanded {
                if w.hold_on(n, to).is_some() {
                    if let Some(slot) = memo.get_mut(n as usize) {
                        *slot = n + HOLD_ROOT;
                    }
                    continue;
                }
                if !on_stack.insert(n) {
                    cut = true;
                    continue;
                }
                stack.push((n, true));
                for p in lifted(n) {
                    if on_stack.contains(&p) && state(memo, p) == HOLD_UNKNOWN {
                        cut = true;
                    } else if state(memo, p) == HOLD_UNKNOWN {
                        stack.push((p, false));
                    }
                }
                continue;
            }
            let found = lifted(n)
                .map(|p| state(memo, p))
                .find(|s| *s >= HOLD_ROOT)
                .unwrap_or(HOLD_NONE);
            if found == HOLD_NONE {
                settled_none.push(n);
            }
            if let Some(slot) = memo.get_mut(n as usize) {
                *slot = found;
            }
        }
        if cut {
            // Rare (derivation cycles, which withhold anyway): forget what may be wrong and
            // look through everything `ix` rests on, without remembering.
            for n in settled_none {
                if let Some(slot) = memo.get_mut(n as usize) {
                    *slot = HOLD_UNKNOWN;
                }
            }
            let mut seen = rustc_hash::FxHashSet::default();
            let mut queue = std::collections::VecDeque::from([ix]);
            while let Some(n) = queue.pop_front() {
                if !seen.insert(n) {
                    continue;
                }
                if w.hold_on(n, to).is_some() {
                    return Some(n);
                }
                queue.extend(lifted(n));
            }
            return None;
        }
        match state(memo, ix) {
            s if s >= HOLD_ROOT => Some(s - HOLD_ROOT),
            _ => None,
        }
    }

    /// Whether every ORCON source of `x` that `ix` rests on has `x`'s consent for this
    /// partner (on the source itself or on something it is derived from).
    /// Whether every ORCON source of `x` that `ix` rests on is covered by `x`'s consent for
    /// this partner. A consent on an object covers it and what is derived from it, so a
    /// source is covered by a consent on itself or anything above it, or on a derivative of
    /// it on the way down to `ix`. Computed bottom-up once per object and remembered:
    ///   above(n)   = consent(n) or above(p) for some input p
    ///   covered(n) = consent(n) or (covered(p) for every input p, and n is not an
    ///                uncovered source: not a source of x, or above(n))
    fn consent_covers(&mut self, ix: Ix, x: &Party) -> bool {
        let w = self.world;
        let to = self.agreement.party.clone();
        let xi = match self.coverage.iter().position(|(p, _)| p == x) {
            Some(i) => i,
            None => {
                self.coverage.push((x.clone(), vec![0; w.len()]));
                self.coverage.len() - 1
            }
        };
        let Some((_, memo)) = self.coverage.get_mut(xi) else {
            return false;
        };
        let state = |memo: &Vec<u8>, n: Ix| memo.get(n as usize).copied().unwrap_or(DONE);
        let mut stack: Vec<(Ix, bool)> = vec![(ix, false)];
        while let Some((n, expanded)) = stack.pop() {
            if state(memo, n) & DONE != 0 {
                continue;
            }
            if !expanded {
                stack.push((n, true));
                stack.extend(
                    w.inputs(n)
                        .filter(|p| state(memo, *p) & DONE == 0)
                        .map(|p| (p, false)),
                );
                continue;
            }
            let consent = w.consented(n, x, &to);
            let source = w.nodes.get(n as usize).is_some_and(|node| node.meta.orcon)
                && w.originator(n) == Some(x);
            let (mut above, mut covered, mut has_source) = (consent, true, source);
            for p in w.inputs(n) {
                // An input still unresolved here would be on a cycle: not covered.
                let ps = state(memo, p);
                above |= ps & ABOVE != 0;
                covered &= ps & DONE != 0 && ps & COVERED != 0;
                has_source |= ps & HAS_SOURCE != 0;
            }
            covered = consent || (covered && (!source || above));
            let bits = DONE
                | if above { ABOVE } else { 0 }
                | if covered { COVERED } else { 0 }
                | if has_source { HAS_SOURCE } else { 0 };
            if let Some(slot) = memo.get_mut(n as usize) {
                *slot = bits;
            }
        }
        // Fail closed if the label asks for x's consent but no source of x is found.
        let s = state(memo, ix);
        s & COVERED != 0 && s & HAS_SOURCE != 0
    }

    fn label_verdict(&mut self, label: u32) -> LabelVerdict {
        let i = label as usize;
        if let Some(Some(v)) = self.by_label.get(i) {
            return v.clone();
        }
        let v = match self.world.labels.list.get(i) {
            Some(r) => self.label_verdict_of(r),
            None => LabelVerdict {
                reasons: vec![Reason::new(
                    ReasonCode::InvalidLabel,
                    "label table is inconsistent",
                )]
                .into(),
                consent_from: Arc::new([]),
                tlp: None,
            },
        };
        if self.by_label.len() <= i {
            self.by_label.resize(i + 1, None);
        }
        if let Some(slot) = self.by_label.get_mut(i) {
            *slot = Some(v.clone());
        }
        v
    }

    /// Rules 1 and 2 and the consent parties of rule 3, for a label.
    fn label_verdict_of(&self, r: &Restriction) -> LabelVerdict {
        let a = self.agreement;
        let p = &a.party;
        let mut reasons = Vec::new();
        if r.controls.contains(&Control::Noforn) {
            reasons.push(Reason::new(
                ReasonCode::Noforn,
                "NOFORN: never released to a foreign partner",
            ));
        } else if !r.rel_to.contains(p) {
            let list: Vec<&str> = r.rel_to.iter().map(|x| x.as_str()).collect();
            let to = if list.is_empty() {
                "nobody".to_owned()
            } else {
                list.join(", ")
            };
            reasons.push(Reason::new(
                ReasonCode::NotReleasableTo,
                format!("{p} is not among the parties it is releasable to ({to})"),
            ));
        }
        if r.classification > a.ceiling {
            reasons.push(Reason::new(
                ReasonCode::AboveCeiling,
                format!(
                    "{} is above the ceiling agreed with {p} ({})",
                    r.classification, a.ceiling
                ),
            ));
        }
        let missing: BTreeSet<&String> = r
            .compartments
            .iter()
            .filter(|c| !a.compartments.contains(*c))
            .collect();
        for c in missing {
            reasons.push(Reason::new(
                ReasonCode::Compartment,
                format!("{p} is not cleared for compartment {c}"),
            ));
        }
        // Neither we nor the originator itself need consent: the third-party rule governs
        // release to a third party, and an originator may always have its material back.
        let consent_from: Vec<(Party, Reason)> = r
            .consent_from
            .iter()
            .filter(|x| *x != self.world.us() && *x != p)
            .map(|x| {
                let why = Reason::new(
                    ReasonCode::ThirdPartyRule,
                    format!("derived from ORCON material of {x}, which has not consented to release to {p}"),
                );
                (x.clone(), why)
            })
            .collect();
        let tlp = r.tlp.filter(|t| *t > a.scope.max_tlp).map(|t| {
            Reason::new(
                ReasonCode::OutOfScope,
                format!("{t} is above the agreement's {}", a.scope.max_tlp),
            )
        });
        LabelVerdict {
            reasons: reasons.into(),
            consent_from: consent_from.into(),
            tlp,
        }
    }
}
