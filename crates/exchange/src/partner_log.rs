//! Checking a partner's transparency log during a pull: its checkpoint verified with its
//! registered key (C2SP signed-note), proved consistent with the last checkpoint we accepted
//! (RFC 6962 §2.1.2, the proof computed from its tiles, C2SP tlog-tiles), kept, and cosigned
//! (C2SP tlog-cosignature). A checkpoint that is not consistent is a fork: both checkpoints
//! and the failed proof are kept as evidence, nothing is cosigned.

use liaison_client::Session;
use liaison_labels::Party;
use liaison_log::{
    check_consistency, prove_consistency, Consistency, Hash, SignedCheckpoint, TiledTree,
};
use liaison_release::Node;
use liaison_store::prelude::*;
use serde::Serialize;
use serde_json::json;

use crate::error::ExchangeError;

/// What checking a partner's log found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LogCheck {
    /// The partner's checkpoint size now.
    pub size: u64,
    /// The size we had accepted before, if any.
    pub previous: Option<u64>,
    /// Whether we sent our cosignature.
    pub cosigned: bool,
}

/// How many rounds of tile fetching a consistency proof may take; a proof needs a handful.
const MAX_TILE_ROUNDS: usize = 16;

/// The consistency proof from size `old` to the partner's checkpoint `cp`, computed from the
/// partner's tiles: only the few tiles the proof needs are fetched, and each is checked
/// against `cp`'s root before it is used.
async fn consistency_from_tiles(
    session: &mut Session,
    partner: &Party,
    old: u64,
    cp: &SignedCheckpoint,
) -> Result<Vec<Hash>, ExchangeError> {
    let size = cp.checkpoint().size();
    let tree = TiledTree::new(size, cp.checkpoint().root())?;
    let tiles = |detail: String| ExchangeError::Tiles {
        partner: partner.clone(),
        size,
        detail,
    };
    // Each round fetches what the last one lacked.
    for _ in 0..MAX_TILE_ROUNDS {
        match prove_consistency(old, size, &tree) {
            Ok(proof) => return Ok(proof),
            Err(e) => {
                let need = tree.take_missing();
                if need.is_empty() {
                    return Err(tiles(e.to_string()));
                }
                for t in need {
                    let data = session.get_bytes(&format!("/log/{}", t.path())).await?;
                    tree.add_tile(t, data)
                        .map_err(|e| tiles(format!("tile {}: {e}", t.path())))?;
                }
            }
        }
    }
    Err(tiles(format!("no consistency proof from size {old}")))
}

/// Fetches the partner's checkpoint, verifies it with its registered log key, checks it is
/// consistent with the last one we accepted (the proof computed from its tiles), keeps it,
/// and (when `cosign`) cosigns it and sends the cosignature back. A fork is kept as
/// evidence and refused with [`ExchangeError::Forked`].
pub(crate) async fn check_partner_log<S: Store>(
    node: &mut Node<S>,
    session: &mut Session,
    partner: &Party,
    cosign: bool,
) -> Result<LogCheck, ExchangeError> {
    let key = node.partner_log_key(partner)?;
    let note = session.get_bytes("/log/checkpoint").await?;
    let cp = SignedCheckpoint::verify(&note, &key).map_err(|source| ExchangeError::Checkpoint {
        partner: partner.clone(),
        source,
    })?;
    let size = cp.checkpoint().size();
    let previous = node.partner_checkpoint(partner)?;
    if let Some(prev) = &previous {
        let old = prev.checkpoint().size();
        let proof = if old > 0 && old < size {
            Some(consistency_from_tiles(session, partner, old, &cp).await?)
        } else {
            None
        };
        if let Consistency::Inconsistent(ev) = check_consistency(prev, &cp, proof.as_deref())? {
            let evidence = json!({
                "partner": partner.as_str(),
                "previous": String::from_utf8_lossy(ev.previous().as_bytes()),
                "current": String::from_utf8_lossy(ev.current().as_bytes()),
                "proof": ev.proof().map(|p| p.iter().map(ToString::to_string).collect::<Vec<_>>()),
                "failure": ev.failure().to_string(),
                "conclusive": ev.is_conclusive(),
            });
            node.record_fork(partner, &evidence)?;
            return Err(ExchangeError::Forked {
                partner: partner.clone(),
                size,
                previous: old,
                failure: ev.failure().to_string(),
            });
        }
    }
    node.accept_partner_checkpoint(partner, &cp)?;
    let mut check = LogCheck {
        size,
        previous: previous.map(|p| p.checkpoint().size()),
        cosigned: false,
    };
    if cosign {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let line = node.log_keys().cosigner.cosign(&cp, now)?.to_line();
        session
            .post_bytes(&format!("/log/cosignature?size={size}"), line.into_bytes())
            .await
            .map_err(|source| ExchangeError::Send {
                what: "our cosignature",
                partner: partner.clone(),
                source,
            })?;
        check.cosigned = true;
    }
    Ok(check)
}
