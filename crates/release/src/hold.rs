//! Release officers' holds (issue 13): our own, local decision not to release an object (and
//! what rests on it) to one partner for now. A hold is one more *restrictive* input to the
//! policy, beside consents: the policy withholds what it reaches with the reason
//! `held_by_officer`, naming the officer and the reason; it never releases anything, so it
//! cannot go around any other rule. Lifting it leaves the policy to decide as before.
//!
//! Only our operators place and lift holds (the CLI and the console); nothing on the TAXII or
//! ingest paths reaches this module, so a partner can neither create nor lift one. Holds are
//! not logged in the transparency log (they are nobody else's business, as a partner's view
//! shows only what it receives); each is written to the audit list.
//!
//! A partner's stored view has the holds for it in its basis ([`Node::request_basis`]), so a
//! hold or a lift recomputes that one view whole, before its next page is served (fail
//! closed: a request never serves rows decided without a hold that stands). That is cheap
//! (holds are rare officer actions, and only the partner concerned is recomputed) and
//! correct where a change-feed entry would not be: the feed is shared by every partner and is
//! caught up a round later, so a held object could be served in between.

use liaison_labels::Party;
use liaison_policy::Hold;
use liaison_stix::{StixId, Timestamp};
use liaison_store::prelude::*;
use liaison_store::HoldRecord;

use crate::error::ReleaseError;
use crate::node::Node;
use crate::operators::valid_operator_name;

/// The longest reason an officer may give (it is shown on every decision it causes).
pub const MAX_HOLD_REASON: usize = 500;

/// Who holds when the CLI is not told (`--by`): the command line, as in the audit list.
pub const CLI_OPERATOR: &str = "cli";

impl<S: Store> Node<S> {
    /// Holds `object` (and what rests on it) from partner `to`, as officer `by`, for
    /// `reason`; `actor` is who is written to the audit list (the console's operator, or
    /// `cli`). Refused, naming the field: an id that does not parse or is not held, a party
    /// that is not a partner, an officer name that is not an operator's form, an empty or
    /// over-long reason or one with control characters, a hold already standing.
    pub fn hold(
        &mut self,
        object: &str,
        to: &Party,
        by: &str,
        reason: &str,
        actor: &str,
    ) -> Result<HoldRecord, ReleaseError> {
        let id = StixId::parse(object)
            .map_err(|e| ReleaseError::Party(format!("field `object`: {e}")))?;
        if self.store.latest(id.as_str())?.is_none() {
            return Err(ReleaseError::UnknownObject(object.to_owned()));
        }
        self.agreement_text(to)?;
        if !valid_operator_name(by) {
            return Err(ReleaseError::Party(format!(
                "field `by`: `{by}` is not an operator's name (1 to 64 of a-z 0-9 . _ -, starting with a letter)"
            )));
        }
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(ReleaseError::Party(
                "field `reason`: a hold needs a reason".to_owned(),
            ));
        }
        if reason.chars().count() > MAX_HOLD_REASON {
            return Err(ReleaseError::Party(format!(
                "field `reason`: at most {MAX_HOLD_REASON} characters"
            )));
        }
        if reason.chars().any(char::is_control) {
            return Err(ReleaseError::Party(
                "field `reason`: one line, no control characters".to_owned(),
            ));
        }
        let record = HoldRecord {
            object: id.to_string(),
            partner: to.to_string(),
            by: by.to_owned(),
            created: Timestamp::now().to_string(),
            reason: reason.to_owned(),
        };
        if !self.store.add_hold(&record)? {
            let standing = self
                .store
                .holds(Some(to.as_str()))?
                .into_iter()
                .find(|h| h.object == record.object);
            return Err(ReleaseError::Party(format!(
                "field `object`: `{}` is already held from {to}{} (lift that hold first)",
                record.object,
                standing.map_or_else(String::new, |h| format!(" by {} since {}", h.by, h.created))
            )));
        }
        self.record_audit(
            actor,
            "hold",
            &record.object,
            &format!("from {to} by {by}: {reason}"),
        )?;
        tracing::info!(object = %record.object, to = %to, by, "hold placed");
        Ok(record)
    }

    /// Lifts the hold on `object` for `to` (the policy then decides as before), written to
    /// the audit list as done by `actor`. Refused if no hold stands.
    pub fn lift_hold(
        &mut self,
        object: &str,
        to: &Party,
        actor: &str,
    ) -> Result<HoldRecord, ReleaseError> {
        let id = StixId::parse(object)
            .map_err(|e| ReleaseError::Party(format!("field `object`: {e}")))?;
        self.agreement_text(to)?;
        let Some(lifted) = self.store.lift_hold(id.as_str(), to.as_str())? else {
            return Err(ReleaseError::Party(format!(
                "field `object`: no hold on `{id}` for {to}"
            )));
        };
        self.record_audit(
            actor,
            "hold_lift",
            &lifted.object,
            &format!(
                "from {to} (held by {} since {}: {})",
                lifted.by, lifted.created, lifted.reason
            ),
        )?;
        tracing::info!(object = %lifted.object, to = %to, "hold lifted");
        Ok(lifted)
    }

    /// The holds standing, for one partner or all.
    pub fn holds(&self, to: Option<&Party>) -> Result<Vec<HoldRecord>, ReleaseError> {
        Ok(self.store.holds(to.map(Party::as_str))?)
    }
}

/// A stored hold as the policy reads it (`None`: a partner that does not parse, which no
/// hold written by [`Node::hold`] has).
pub(crate) fn policy_hold(h: HoldRecord) -> Option<Hold> {
    Some(Hold {
        to: Party::parse(&h.partner).ok()?,
        object: h.object,
        by: h.by,
        at: h.created,
        reason: h.reason,
    })
}
