//! The asker's side: blind its selector keys padded with dummies (RFC 9497 §3.3.2 `Blind`),
//! verify the holder's proof and unblind (`Finalize`), and look outputs up in the filters.

use rand_core::{CryptoRng, RngCore};
use voprf::{EvaluationElement, Group, VoprfClient};

use crate::filter::{self, Label};
use crate::messages::{Element, EpochSet, EvaluationRequest, EvaluationResponse};
use crate::{bucket, PsiError, Suite};

/// An asker's query in flight: the blinding state of each selector and each dummy.
pub struct Query {
    epoch_set_key: crate::PublicKey,
    epoch: crate::EpochId,
    inputs: Vec<Vec<u8>>,
    clients: Vec<VoprfClient<Suite>>,
    real: usize,
}

impl std::fmt::Debug for Query {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Query")
            .field("epoch", &self.epoch)
            .field("padded", &self.inputs.len())
            .finish_non_exhaustive()
    }
}

impl Query {
    /// Blinds `selectors` (canonical key bytes) for the holder's `epoch_set`, padded with
    /// random dummies to a power of two. Refuses an epoch set from another normaliser.
    pub fn new(
        epoch_set: &EpochSet,
        selectors: &[Vec<u8>],
        normaliser_version: u32,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<(Self, EvaluationRequest), PsiError> {
        if epoch_set.normaliser_version != normaliser_version {
            return Err(PsiError::NormaliserMismatch {
                ours: normaliser_version,
                theirs: epoch_set.normaliser_version,
            });
        }
        let real = selectors.len();
        let mut inputs = selectors.to_vec();
        while inputs.len() < bucket(real) {
            // A dummy is 32 random bytes with a prefix no normalised key has.
            let mut dummy = b"dummy/".to_vec();
            let mut random = [0u8; 32];
            rng.fill_bytes(&mut random);
            dummy.extend_from_slice(&random);
            inputs.push(dummy);
        }
        let mut clients = Vec::with_capacity(inputs.len());
        let mut blinded = Vec::with_capacity(inputs.len());
        for (index, input) in inputs.iter().enumerate() {
            let result = VoprfClient::<Suite>::blind(input, rng)
                .map_err(|_| PsiError::BadInput { index })?;
            let mut bytes = [0u8; 32];
            bytes.copy_from_slice(&result.message.serialize());
            blinded.push(Element(bytes));
            clients.push(result.state);
        }
        let request = EvaluationRequest {
            epoch: epoch_set.epoch,
            normaliser_version,
            blinded,
        };
        Ok((
            Self {
                epoch_set_key: epoch_set.public_key,
                epoch: epoch_set.epoch,
                inputs,
                clients,
                real,
            },
            request,
        ))
    }

    /// Verifies the holder's proof against the epoch set's public key, unblinds, and returns
    /// the positions (in the order given to [`Query::new`]) of the selectors the holder has.
    pub fn finish(
        self,
        response: &EvaluationResponse,
        epoch_set: &EpochSet,
    ) -> Result<Vec<usize>, PsiError> {
        if response.epoch != self.epoch || epoch_set.epoch != self.epoch {
            return Err(PsiError::WrongEpoch {
                expected: self.epoch.0,
                got: if response.epoch == self.epoch {
                    epoch_set.epoch.0
                } else {
                    response.epoch.0
                },
            });
        }
        if epoch_set.public_key != self.epoch_set_key {
            return Err(PsiError::ProofInvalid);
        }
        let outputs = finalize(
            &self.inputs,
            &self.clients,
            response,
            &epoch_set.public_key.0,
        )?;
        Ok(outputs
            .iter()
            .take(self.real)
            .enumerate()
            .filter(|(_, output)| {
                filter::contains(
                    &epoch_set.filter,
                    filter::fingerprint(Label::Filter, output),
                ) && filter::contains(
                    &epoch_set.confirm,
                    filter::fingerprint(Label::Confirm, output),
                )
            })
            .map(|(index, _)| index)
            .collect())
    }
}

/// RFC 9497 `Finalize` over a batch: verifies the DLEQ proof, unblinds, hashes.
#[allow(clippy::ptr_arg)] // `batch_finalize` takes `&Vec`: it iterates `&II` for a sized `II`
pub(crate) fn finalize(
    inputs: &Vec<Vec<u8>>,
    clients: &Vec<VoprfClient<Suite>>,
    response: &EvaluationResponse,
    public_key: &[u8; 32],
) -> Result<Vec<Vec<u8>>, PsiError> {
    if response.evaluated.len() != clients.len() {
        return Err(PsiError::LengthMismatch {
            sent: clients.len(),
            got: response.evaluated.len(),
        });
    }
    let pk = Suite::deserialize_elem(public_key).map_err(|_| PsiError::MalformedKey)?;
    let messages = response
        .evaluated
        .iter()
        .enumerate()
        .map(|(index, element)| {
            EvaluationElement::<Suite>::deserialize(&element.0)
                .map_err(|_| PsiError::MalformedElement { index })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let proof = voprf::Proof::<Suite>::deserialize(&response.proof.to_bytes())
        .map_err(|_| PsiError::ProofInvalid)?;
    let outputs = VoprfClient::batch_finalize(inputs, clients, &messages, &proof, pk)
        .map_err(|_| PsiError::ProofInvalid)?;
    outputs
        .enumerate()
        .map(|(index, output)| {
            output
                .map(|o| o.to_vec())
                .map_err(|_| PsiError::BadInput { index })
        })
        .collect()
}
