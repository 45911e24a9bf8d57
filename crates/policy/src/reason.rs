use std::fmt;
use std::sync::Arc;

use serde::Serialize;

/// The stable reason codes of DESIGN.md ("The release decision"). Tools and tests rely on
/// these strings; never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    /// The effective label carries NOFORN.
    Noforn,
    /// The partner is not in the effective `rel_to`.
    NotReleasableTo,
    /// The classification is above the agreement's ceiling.
    AboveCeiling,
    /// A compartment the partner is not cleared for.
    Compartment,
    /// Derived from another originator's ORCON material without its consent.
    ThirdPartyRule,
    /// Outside the agreement's scope (type, topic, TLP).
    OutOfScope,
    /// The reciprocity balance gate is closed.
    Reciprocity,
    /// A relationship or sighting whose end the partner may not see.
    EndpointWithheld,
    /// Held from the partner by a release officer (on the object or on what it rests on).
    HeldByOfficer,
    /// A label that cannot be evaluated.
    InvalidLabel,
    /// `derived-from` relationships that form a cycle.
    DerivationCycle,
    /// Released as the owner's tear line instead.
    Tearline,
    /// A field removed by its granular marking.
    FieldCut,
    /// A reference removed because its target is not visible.
    RefCut,
}

impl ReasonCode {
    /// The code as written on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ReasonCode::Noforn => "noforn",
            ReasonCode::NotReleasableTo => "not_releasable_to",
            ReasonCode::AboveCeiling => "above_ceiling",
            ReasonCode::Compartment => "compartment",
            ReasonCode::ThirdPartyRule => "third_party_rule",
            ReasonCode::OutOfScope => "out_of_scope",
            ReasonCode::Reciprocity => "reciprocity",
            ReasonCode::EndpointWithheld => "endpoint_withheld",
            ReasonCode::HeldByOfficer => "held_by_officer",
            ReasonCode::InvalidLabel => "invalid_label",
            ReasonCode::DerivationCycle => "derivation_cycle",
            ReasonCode::Tearline => "tearline",
            ReasonCode::FieldCut => "field_cut",
            ReasonCode::RefCut => "ref_cut",
        }
    }
}

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One reason that applied to a decision: its code and a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    /// The stable code.
    pub code: ReasonCode,
    /// What exactly, in words.
    pub detail: Arc<str>,
}

impl Reason {
    pub(crate) fn new(code: ReasonCode, detail: impl Into<Arc<str>>) -> Reason {
        Reason {
            code,
            detail: detail.into(),
        }
    }
}
