//! Sending a signed consent to a partner's liaison API (`POST /liaison/consents/`): the
//! partner checks the signature against the originator's registered log key.

use liaison_labels::Party;
use liaison_release::Node;
use liaison_store::prelude::*;

use crate::error::ExchangeError;
use crate::remotes::Remotes;

/// Sends the signed consent `note` to `partner`, reached where the last pull left it.
pub async fn send_consent<S: Store>(
    node: &Node<S>,
    remotes: &Remotes,
    partner: &Party,
    secret: &str,
    note: &str,
) -> Result<(), ExchangeError> {
    node.agreement(partner)?;
    let remote = remotes.remote(node.party(), partner, secret)?;
    let send = async {
        let mut session = remote.connect().await?;
        session
            .post_bytes("/liaison/consents/", note.as_bytes().to_vec())
            .await
    };
    send.await.map_err(|source| ExchangeError::Send {
        what: "the consent",
        partner: partner.clone(),
        source,
    })
}
