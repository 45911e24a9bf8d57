//! What partners do to a node over the network: authenticate, read their views, send us
//! objects and take back what they sent. The server is a thin shell over these.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use liaison_labels::{Banner, Classification, Label, Party};
use liaison_stix::{Locator, StixObject, Timestamp};
use liaison_store::prelude::*;
use liaison_store::StoreError;
use serde_json::Value;

use crate::admit::{version_text, Entering, Refusal};
use crate::error::ReleaseError;
use crate::fingerprint::map_back;
use crate::node::Node;
use crate::view::{View, ViewEntry};

/// What became of the objects a partner sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Receipt {
    /// (id, version) of every object stored (or already held exactly as sent).
    pub successes: Vec<(String, String)>,
    /// Every object refused, and why.
    pub failures: Vec<ReceiptFailure>,
}

/// One refused object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptFailure {
    /// Its id, when it could be read.
    pub id: Option<String>,
    /// Its version, when it could be read.
    pub version: Option<String>,
    /// Why it was refused.
    pub message: String,
}

/// Whether `secret` matches a stored Argon2 credential. Slow by design.
pub fn verify_secret(phc: &str, secret: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(hash) => Argon2::default()
            .verify_password(secret.as_bytes(), &hash)
            .is_ok(),
        Err(_) => {
            tracing::error!("stored credential is not a valid Argon2 hash");
            false
        }
    }
}

impl<S: Store> Node<S> {
    /// Sets the secret a partner authenticates with; only its Argon2 hash is stored.
    pub fn set_secret(&mut self, party: &Party, secret: &str) -> Result<(), ReleaseError> {
        self.agreement(party)?;
        if secret.len() < 12 {
            return Err(ReleaseError::Party(
                "a partner's secret must be at least 12 characters".into(),
            ));
        }
        let salt = SaltString::generate(&mut OsRng);
        let phc = Argon2::default()
            .hash_password(secret.as_bytes(), &salt)
            .map_err(|e| ReleaseError::Party(format!("cannot hash the secret: {e}")))?
            .to_string();
        self.store.set_credential(party.as_str(), &phc)?;
        tracing::info!(partner = %party, "secret set");
        Ok(())
    }

    /// Whether `secret` is the partner's. False when no secret is set. Deliberately slow
    /// (Argon2): callers should remember successes for a while.
    pub fn check_secret(&self, party: &Party, secret: &str) -> Result<bool, ReleaseError> {
        Ok(self
            .credential(party)?
            .is_some_and(|phc| verify_secret(&phc, secret)))
    }

    /// The partner's stored credential (an Argon2 PHC string), to check with
    /// [`verify_secret`] without holding the node while Argon2 runs.
    pub fn credential(&self, party: &Party) -> Result<Option<String>, ReleaseError> {
        Ok(self.store.credential(party.as_str())?)
    }

    /// Changes whenever anything a view depends on changes.
    pub fn generation(&self) -> Result<u64, ReleaseError> {
        Ok(self.store.generation()?)
    }

    /// Everything `from` sent us, every version, as received, in the order we stored it.
    pub fn inbound_view(&self, from: &Party) -> Result<View, ReleaseError> {
        let mut entries = Vec::new();
        self.store.scan_source(from.as_str(), &mut |s| {
            let o = &s.object;
            entries.push(ViewEntry {
                id: o.id().to_string(),
                original: o.id().to_string(),
                object_type: o.object_type().to_owned(),
                version: o.version().cloned().unwrap_or_else(|| s.date_added.clone()),
                spec_version: o.spec_version().unwrap_or("2.1").to_owned(),
                date_added: s.date_added.clone(),
                json: o.raw().into(),
            });
            Ok(())
        })?;
        Ok(View {
            partner: from.clone(),
            delivered: entries.len(),
            entries,
            decisions: Vec::new(),
        })
    }

    /// Takes objects a partner sent (each the JSON text of one object). Each is checked on
    /// its own: bad ones are refused with the reason, good ones are stored together. Objects
    /// without a liaison label of their own get the partner's owner-only label: they go no
    /// further than back to the partner until someone relabels them.
    pub fn receive(&mut self, from: &Party, objects: &[&str]) -> Result<Receipt, ReleaseError> {
        if from == &self.party {
            return Err(ReleaseError::Party(format!(
                "`{from}` is this node's own party, not a partner"
            )));
        }
        self.agreement(from)?;
        let mut receipt = Receipt::default();
        let mut good: Vec<StixObject> = Vec::new();
        // What the STIX 2.0 upgrade added to each of `good`, aligned with it.
        let mut upgrades: Vec<Vec<liaison_stix::Upgrade>> = Vec::new();
        // The bytes received, aligned with `good`, for those whose ids were mapped back (the
        // log's receipt commits to what was sent, not to our rewriting of it).
        let mut as_sent: Vec<Option<String>> = Vec::new();
        // Ids it received from us come back as ours (its references to our objects included).
        let delivered = self.delivered_to(from, objects)?;
        let mut sent_as: std::collections::HashMap<String, String> = Default::default();
        for (index, &text) in objects.iter().enumerate() {
            let at = Locator {
                index: Some(index),
                id: None,
            };
            let mapped: String;
            let mut value: Value = match serde_json::from_str(text) {
                Ok(v) => v,
                Err(e) => {
                    receipt.failures.push(ReceiptFailure {
                        id: None,
                        version: None,
                        message: format!("object {index}: not valid JSON: {e}"),
                    });
                    continue;
                }
            };
            let sent_id = value.get("id").and_then(Value::as_str).map(str::to_owned);
            let received = text;
            let text = if !delivered.is_empty() && map_back(&mut value, &delivered) {
                if let (Some(sent), Some(ours)) = (sent_id, value.get("id").and_then(Value::as_str))
                {
                    if sent != ours {
                        sent_as.insert(ours.to_owned(), sent);
                    }
                }
                mapped = value.to_string();
                mapped.as_str()
            } else {
                text
            };
            let id = value.get("id").and_then(Value::as_str).map(str::to_owned);
            let version = value
                .get("modified")
                .or_else(|| value.get("created"))
                .and_then(Value::as_str)
                .map(str::to_owned);
            // A STIX 2.0 object is read as 2.1 (DESIGN.md: content as published goes in).
            match StixObject::from_parts_upgrading(value, text, &at) {
                Ok((o, added)) => {
                    if o.object_type() == "marking-definition" {
                        if let Err(e) = Label::from_marking_definition(&o) {
                            receipt.failures.push(ReceiptFailure {
                                id,
                                version,
                                message: format!("liaison label: {e}"),
                            });
                            continue;
                        }
                    }
                    good.push(o);
                    upgrades.push(added);
                    as_sent.push((received != text).then(|| received.to_owned()));
                }
                Err(e) => receipt.failures.push(ReceiptFailure {
                    id,
                    version,
                    message: e.to_string(),
                }),
            }
        }
        let label = Label {
            banner: Banner::new(Classification::Unclassified),
            originator: from.clone(),
            grading: None,
            duty_to_warn: false,
        };
        let label_id = label.marking_id();
        // Which referenced markings are liaison labels: those of the batch, and held ones looked
        // up one by one (a batch references few), not by reading every marking the node holds,
        // which would make each POST cost a scan of the holdings.
        let mut labels: std::collections::HashSet<String> = good
            .iter()
            .filter(|b| {
                b.object_type() == "marking-definition"
                    && b.extensions()
                        .is_some_and(|e| e.contains_key(liaison_stix::LIAISON_EXTENSION_ID))
            })
            .map(|b| b.id().to_string())
            .collect();
        let mut looked: std::collections::HashSet<String> = std::collections::HashSet::new();
        for o in &good {
            for m in o.object_marking_refs() {
                if labels.contains(m.as_str()) || !looked.insert(m.to_string()) {
                    continue;
                }
                if let Some(stored) = self.store.latest(m.as_str())? {
                    if matches!(Label::from_marking_definition(&stored.object), Ok(Some(_))) {
                        labels.insert(m.to_string());
                    }
                }
            }
        }
        let carries = |o: &StixObject| {
            o.object_marking_refs()
                .iter()
                .any(|m| labels.contains(m.as_str()))
        };
        // The partner's owner-only label is ours, not something the partner sent.
        if !good.is_empty() && self.store.latest(label_id.as_str())?.is_none() {
            let created = Timestamp::from_unix_nanos(Timestamp::now().unix_nanos(), 3)
                .unwrap_or_else(Timestamp::now);
            let made = StixObject::from_props(label.to_marking_definition(created.as_str()))?;
            self.admit(None, &[Entering::plain(&made, None)], &mut |_| {})?;
        }
        // Store the good ones through the trust boundary; a conflict with a stored version
        // refuses that object alone.
        let mut concealed: Vec<StixObject> = Vec::new();
        let admitted = loop {
            let batch: Vec<Entering<'_>> = good
                .iter()
                .zip(&upgrades)
                .map(|(o, added)| {
                    let meta = matches!(
                        o.object_type(),
                        "marking-definition" | "extension-definition"
                    );
                    Entering {
                        object: o,
                        assigned: (!meta && !carries(o)).then_some(&label_id),
                        upgrades: added,
                    }
                })
                .collect();
            match self.admit(Some(from), &batch, &mut |_| {}) {
                Ok(a) => break a,
                Err(ReleaseError::Store(StoreError::Conflict { index, also, .. })) => {
                    // Every conflicting object is taken out at once (the store names them all),
                    // so the rest goes through in one more pass.
                    let mut out: Vec<usize> = std::iter::once(index)
                        .chain(also)
                        .filter(|i| *i < good.len())
                        .collect();
                    if out.is_empty() {
                        return Err(ReleaseError::Log(
                            "the store named a conflict outside the batch".into(),
                        ));
                    }
                    out.sort_unstable();
                    out.dedup();
                    let mut bad = Vec::with_capacity(out.len());
                    for i in out.into_iter().rev() {
                        bad.push(good.remove(i));
                        if i < upgrades.len() {
                            upgrades.remove(i);
                        }
                        if i < as_sent.len() {
                            as_sent.remove(i);
                        }
                    }
                    bad.reverse();
                    let ids: Vec<&str> = bad.iter().map(|b| b.id().as_str()).collect();
                    let visible = self.visible_to(from, &ids)?;
                    for b in bad {
                        if visible.contains(b.id().as_str()) {
                            receipt.failures.push(ReceiptFailure {
                                id: Some(b.id().to_string()),
                                version: Some(version_text(&b)),
                                message:
                                    "a different object with this id and version is already held"
                                        .into(),
                            });
                        } else {
                            // The sender may not know we hold this id: answering "already
                            // held" would tell it. It is answered as stored; it is not.
                            tracing::warn!(
                                partner = %from,
                                id = %b.id(),
                                "a partner sent an object under the id and version of one it may not see; not stored (a probe?)"
                            );
                            concealed.push(b);
                        }
                    }
                }
                Err(e) => return Err(e),
            }
        };
        // Refusals: told to the partner only about what it may know we hold. Its copy of
        // what we delivered to it (cut, so not byte-equal) coming back is no error at all.
        let mut refused_at: std::collections::HashSet<usize> = Default::default();
        let mut tell: Vec<&crate::admit::Refused> = Vec::new();
        for r in &admitted.refused {
            refused_at.insert(r.index);
            let Some(o) = good.get(r.index) else { continue };
            let version = o.version().map(Timestamp::sort_key).unwrap_or_default();
            if self.store.was_released(from.as_str(), &r.id, &version)? {
                concealed.push(o.clone());
            } else {
                tell.push(r);
            }
        }
        let ids: Vec<&str> = tell
            .iter()
            .filter(|r| !matches!(r.reason, Refusal::ClaimsOurLabel { .. }))
            .map(|r| r.id.as_str())
            .collect();
        let visible = self.visible_to(from, &ids)?;
        for r in tell {
            if matches!(r.reason, Refusal::ClaimsOurLabel { .. }) || visible.contains(&r.id) {
                receipt.failures.push(ReceiptFailure {
                    id: Some(r.id.clone()),
                    version: Some(r.version.clone()),
                    message: format!("`{}`: {}", r.id, r.reason.for_partner()),
                });
            } else if let Some(o) = good.get(r.index) {
                tracing::warn!(
                    partner = %from,
                    id = %r.id,
                    "a partner sent a version of an object it may not see; refused and kept as a refusal (a probe?)"
                );
                concealed.push(o.clone());
            }
        }
        // A receipt is logged once: for the versions newly stored, not for duplicates.
        let leaves: Vec<crate::log::Leaf> = admitted
            .added
            .iter()
            .filter_map(|i| Some((good.get(*i)?, upgrades.get(*i)?, as_sent.get(*i)?)))
            .map(|(o, added, sent)| {
                // The hash of the bytes received: an upgraded object's text is those bytes
                // plus what the upgrade added; one whose ids were mapped back was kept as sent.
                let received = match sent {
                    Some(sent) => sent.clone(),
                    None => liaison_stix::text_before_upgrade(o.raw(), added)
                        .unwrap_or_else(|| o.raw().to_owned()),
                };
                crate::log::Leaf::Received {
                    from: from.to_string(),
                    id: o.id().to_string(),
                    version: version_text(o),
                    sha256: crate::log::sha256_hex(received.as_bytes()),
                }
            })
            .collect();
        self.log_append(&leaves)?;
        receipt.successes = good
            .iter()
            .enumerate()
            .filter(|(i, _)| !refused_at.contains(i))
            .map(|(_, o)| o)
            .chain(&concealed)
            .map(|o| (o.id().to_string(), version_text(o)))
            .collect();
        tracing::info!(
            partner = %from,
            stored = admitted.added.len(),
            refused = receipt.failures.len(),
            "received"
        );
        // The partner is answered in its own ids: ours behind them are not its to learn.
        if !sent_as.is_empty() {
            for (id, _) in &mut receipt.successes {
                if let Some(sent) = sent_as.get(id.as_str()) {
                    id.clone_from(sent);
                }
            }
            for f in &mut receipt.failures {
                if let Some(sent) = f.id.as_deref().and_then(|id| sent_as.get(id)) {
                    if let Some(id) = f.id.replace(sent.clone()) {
                        f.message = f.message.replace(&id, sent);
                    }
                }
            }
        }
        Ok(receipt)
    }

    /// Which of `ids` partner `p` may know that we hold: it sent them to us, or the policy
    /// releases them to `p`. The policy's world and judge are built once for all of them: a
    /// partner sending many refused objects must not make us rebuild them for each.
    fn visible_to(
        &self,
        p: &Party,
        ids: &[&str],
    ) -> Result<std::collections::HashSet<String>, ReleaseError> {
        let mut visible = std::collections::HashSet::new();
        let mut rest = Vec::new();
        for id in ids {
            if self
                .store
                .versions(id)?
                .iter()
                .any(|v| v.source == p.as_str())
            {
                visible.insert((*id).to_owned());
            } else {
                rest.push(*id);
            }
        }
        if rest.is_empty() {
            return Ok(visible);
        }
        let agreement = self.agreement(p)?;
        let world = self.world()?;
        let mut judge = self.judge(&world, &agreement)?;
        for id in rest {
            if let Some(ix) = world.lookup(id) {
                if judge.decide(ix).verdict == liaison_policy::Verdict::Release {
                    visible.insert(id.to_owned());
                }
            }
        }
        Ok(visible)
    }

    /// Deletes versions of `id` that `from` sent us (all of them without `versions`).
    pub fn delete_received(
        &mut self,
        from: &Party,
        id: &str,
        versions: Option<&[Timestamp]>,
    ) -> Result<u64, ReleaseError> {
        let keys: Option<Vec<String>> =
            versions.map(|vs| vs.iter().map(Timestamp::sort_key).collect());
        Ok(self
            .store
            .delete_versions(from.as_str(), id, keys.as_deref())?)
    }
}
