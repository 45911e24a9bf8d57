//! The asker's side: blind its selector keys padded with dummies (additively, which gives
//! RFC 9497's outputs at a lower cost: [`BlindKind::Add`]), verify the holder's proof and
//! unblind (`Finalize`), and look outputs up in the filters.
//! The protocol steps are in [`crate::dleq`].

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use rand_core::{CryptoRng, RngCore};
use voprf::Group;
use zeroize::Zeroize;

use crate::dleq::{self, BlindKind};
use crate::filter::{self, Label};
use crate::messages::{Element, EpochSet, EvaluationRequest, EvaluationResponse};
use crate::{bucket, PsiError, Suite};

/// An asker's query in flight: each selector's and each dummy's input and blinding.
pub struct Query {
    epoch_set_key: crate::PublicKey,
    epoch: crate::EpochId,
    blinding: Blinding,
    real: usize,
}

/// The inputs of a request, their blinding scalars (wiped when dropped) and how they were
/// applied, and the blinded elements sent, as points and as the bytes the proof hashes.
pub(crate) struct Blinding {
    pub(crate) inputs: Vec<Vec<u8>>,
    blinds: Vec<Scalar>,
    kind: BlindKind,
    points: Vec<RistrettoPoint>,
    pub(crate) elements: Vec<Element>,
}

impl Drop for Blinding {
    fn drop(&mut self) {
        self.blinds.zeroize();
    }
}

impl Blinding {
    /// Blinds `inputs` under the given scalars, as `kind` says (with `Multiply`, RFC 9497
    /// `Blind` with the blind fixed, as its vectors do).
    pub(crate) fn with_blinds(
        inputs: Vec<Vec<u8>>,
        blinds: Vec<Scalar>,
        kind: BlindKind,
    ) -> Result<Self, PsiError> {
        let (points, elements) = dleq::blind(&inputs, &blinds, kind)?.into_iter().unzip();
        Ok(Self {
            inputs,
            blinds,
            kind,
            points,
            elements,
        })
    }

    /// Blinds `inputs` additively under fresh random scalars (why additively:
    /// [`BlindKind::Add`]).
    fn new(inputs: Vec<Vec<u8>>, rng: &mut (impl RngCore + CryptoRng)) -> Result<Self, PsiError> {
        let blinds = inputs.iter().map(|_| Suite::random_scalar(rng)).collect();
        Self::with_blinds(inputs, blinds, BlindKind::Add)
    }
}

impl std::fmt::Debug for Query {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Query")
            .field("epoch", &self.epoch)
            .field("padded", &self.blinding.inputs.len())
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
        let blinding = Blinding::new(inputs, rng)?;
        let request = EvaluationRequest {
            epoch: epoch_set.epoch,
            normaliser_version,
            blinded: blinding.elements.clone(),
        };
        Ok((
            Self {
                epoch_set_key: epoch_set.public_key,
                epoch: epoch_set.epoch,
                blinding,
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
        let outputs = finalize(&self.blinding, response, &epoch_set.public_key.0)?;
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

/// RFC 9497 `Finalize` over a batch: verifies the DLEQ proof, then (only then: additive
/// unblinding trusts the key the proof checked) unblinds and hashes.
pub(crate) fn finalize(
    blinding: &Blinding,
    response: &EvaluationResponse,
    public_key: &[u8; 32],
) -> Result<Vec<Vec<u8>>, PsiError> {
    if response.evaluated.len() != blinding.elements.len() {
        return Err(PsiError::LengthMismatch {
            sent: blinding.elements.len(),
            got: response.evaluated.len(),
        });
    }
    let pk = Suite::deserialize_elem(public_key).map_err(|_| PsiError::MalformedKey)?;
    let evaluated = dleq::parse_elements(&response.evaluated)?;
    dleq::verify(
        &pk,
        public_key,
        &blinding.points,
        &blinding.elements,
        &evaluated,
        &response.evaluated,
        &response.proof,
    )?;
    dleq::unblind(
        &blinding.inputs,
        &blinding.blinds,
        blinding.kind,
        &evaluated,
        &pk,
    )
}
