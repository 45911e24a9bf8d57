//! Countersigning the terms a partner applies to us: fetched with the pull
//! (`GET /liaison/agreement`), checked against the partner's log key and the text's hash,
//! signed by us too, kept and logged on our side, and sent back (`POST /liaison/agreement`).
//! The countersignature acknowledges the terms; it is not a veto.

use liaison_client::{ClientError, Session};
use liaison_labels::Party;
use liaison_release::Node;
use liaison_store::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::ExchangeError;

/// The terms a partner applies to us, as a pull found them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AgreementCheck {
    /// SHA-256 of the agreement text.
    pub sha256: String,
    /// Whether the partner took our countersignature (it had it already, or took it now).
    pub countersigned: bool,
    /// Why it did not, if it did not.
    pub problem: Option<String>,
}

/// Fetches the terms `partner` applies to us, checks its signature and the text's hash,
/// countersigns them (kept and logged on our side) and sends the countersigned note back.
/// `None` when the partner has signed no agreement for us.
pub(crate) async fn countersign_terms<S: Store>(
    node: &mut Node<S>,
    session: &mut Session,
    partner: &Party,
) -> Result<Option<AgreementCheck>, ExchangeError> {
    let body = match session.get_bytes("/liaison/agreement").await {
        Ok(b) => b,
        Err(ClientError::Taxii { status: 404, .. }) => {
            tracing::warn!(partner = %partner, "the partner has signed no agreement for us");
            return Ok(None);
        }
        Err(e) => return Err(e.into()),
    };
    #[derive(Deserialize)]
    struct Offered {
        text: String,
        note: String,
    }
    let offered: Offered = serde_json::from_slice(&body).map_err(|e| ExchangeError::Protocol {
        partner: partner.clone(),
        what: "/liaison/agreement".into(),
        detail: format!("not the expected JSON: {e}"),
    })?;
    let both = node
        .countersign_agreement(partner, &offered.text, &offered.note)
        .map_err(|source| ExchangeError::Terms {
            partner: partner.clone(),
            source,
        })?;
    let mut check = AgreementCheck {
        sha256: liaison_release::sha256_hex(offered.text.as_bytes()),
        countersigned: true,
        problem: None,
    };
    if both != offered.note {
        // Kept and logged on our side already; if the partner refuses it (e.g. it has not
        // registered our log key yet), the pull still stands and the next one sends it again.
        if let Err(e) = session
            .post_bytes("/liaison/agreement", both.into_bytes())
            .await
        {
            tracing::warn!(partner = %partner, "the partner did not take our countersignature of its terms: {e}");
            check.countersigned = false;
            check.problem = Some(e.to_string());
        }
    }
    Ok(Some(check))
}
