//! The holder's side: a key per asker and epoch (RFC 9497 §3.2.1 `DeriveKeyPair`), its own
//! set evaluated directly (§3.3.2 `Evaluate`) into filters, and blind evaluation of an
//! asker's request with a batch DLEQ proof (§3.3.2 `BlindEvaluate`).

use curve25519_dalek::constants::RISTRETTO_BASEPOINT_TABLE;
use curve25519_dalek::scalar::Scalar;
use rand_core::{CryptoRng, RngCore};
use voprf::{Group, VoprfServer};
use zeroize::Zeroize;

use crate::dleq;
use crate::filter::{self, Label};
use crate::messages::{EpochId, EpochSet, EvaluationRequest, EvaluationResponse, PublicKey};
use crate::{bucket, holder_bucket, Budget, Limits, PsiError, Suite, MAX_REQUEST};

/// The holder's master secret, from which every asker's epoch key is derived. Kept by the
/// node, never sent.
#[derive(Clone)]
pub struct MasterSecret(pub [u8; 32]);

impl std::fmt::Debug for MasterSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterSecret(..)")
    }
}

/// The holder's VOPRF key for one asker in one epoch: `voprf`'s server (its own set's direct
/// evaluation) and the same key as a scalar, for the batch proof [`dleq`] computes.
pub struct HolderKey {
    server: VoprfServer<Suite>,
    key: Scalar,
    epoch: EpochId,
}

impl Drop for HolderKey {
    fn drop(&mut self) {
        self.key.zeroize();
    }
}

impl std::fmt::Debug for HolderKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HolderKey")
            .field("epoch", &self.epoch)
            .finish_non_exhaustive()
    }
}

impl HolderKey {
    /// The key for `asker` (its party name) in `epoch`: `DeriveKeyPair(master,
    /// "liaison-psi/1" ‖ epoch as 8 bytes big-endian ‖ asker)`.
    pub fn derive(master: &MasterSecret, epoch: EpochId, asker: &str) -> Result<Self, PsiError> {
        let mut info = b"liaison-psi/1".to_vec();
        info.extend_from_slice(&epoch.0.to_be_bytes());
        info.extend_from_slice(asker.as_bytes());
        Self::from_seed(&master.0, &info, epoch)
    }

    pub(crate) fn from_seed(seed: &[u8], info: &[u8], epoch: EpochId) -> Result<Self, PsiError> {
        let server =
            VoprfServer::<Suite>::new_from_seed(seed, info).map_err(|_| PsiError::KeyDerivation)?;
        // The same DeriveKeyPair, as a scalar: `voprf` keeps its server's key private.
        let key = voprf::derive_key::<Suite>(seed, info, voprf::Mode::Voprf)
            .map_err(|_| PsiError::KeyDerivation)?;
        if &key * RISTRETTO_BASEPOINT_TABLE != server.get_public_key() {
            return Err(PsiError::KeyDerivation);
        }
        Ok(Self { server, key, epoch })
    }

    /// The epoch this key is for.
    pub fn epoch(&self) -> EpochId {
        self.epoch
    }

    /// The public key the asker verifies proofs against (and the log records).
    pub fn public_key(&self) -> PublicKey {
        let bytes = Suite::serialize_elem(self.server.get_public_key());
        let mut key = [0u8; 32];
        key.copy_from_slice(&bytes);
        PublicKey(key)
    }

    /// The OPRF output of one of the holder's own selector keys, by `voprf`'s own `Evaluate`:
    /// the independent implementation [`dleq::evaluate_direct`] is tested against.
    #[cfg(test)]
    pub(crate) fn output(&self, input: &[u8], index: usize) -> Result<Vec<u8>, PsiError> {
        self.server
            .evaluate(input)
            .map(|output| output.to_vec())
            .map_err(|_| PsiError::BadInput { index })
    }

    /// Evaluates the holder's own selector keys and publishes them as padded filters.
    /// The evaluations are independent, so they are spread over the cores
    /// ([`dleq::evaluate_direct`]): at 10^7 selectors they are the whole cost of an epoch.
    pub fn precompute<'a>(
        &self,
        selectors: impl IntoIterator<Item = &'a [u8]>,
        normaliser_version: u32,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<EpochSet, PsiError> {
        let selectors: Vec<&[u8]> = selectors.into_iter().collect();
        let prints = dleq::evaluate_direct(&self.key, &selectors, |output| {
            (
                filter::fingerprint(Label::Filter, output),
                filter::fingerprint(Label::Confirm, output),
            )
        })?;
        let (filter_prints, confirm_prints): (Vec<u64>, Vec<u64>) = prints.into_iter().unzip();
        let mut distinct = filter_prints.clone();
        distinct.sort_unstable();
        distinct.dedup();
        let padded = holder_bucket(distinct.len());
        Ok(EpochSet {
            epoch: self.epoch,
            normaliser_version,
            public_key: self.public_key(),
            padded_size: padded as u64,
            filter: filter::build(filter_prints, padded, rng)?,
            confirm: filter::build(confirm_prints, padded, rng)?,
        })
    }

    /// Evaluates an asker's request: checks epoch, normaliser version, size and padding,
    /// parses every element, then charges the budget (only then, so a refused request costs
    /// nothing) and evaluates with a batch DLEQ proof.
    pub fn evaluate(
        &self,
        request: &EvaluationRequest,
        budget: &mut Budget,
        limits: &Limits,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<EvaluationResponse, PsiError> {
        if request.epoch != self.epoch {
            return Err(PsiError::WrongEpoch {
                expected: self.epoch.0,
                got: request.epoch.0,
            });
        }
        if request.normaliser_version != limits.normaliser_version {
            return Err(PsiError::NormaliserMismatch {
                ours: limits.normaliser_version,
                theirs: request.normaliser_version,
            });
        }
        let len = request.blinded.len();
        let max = limits.max_request.min(MAX_REQUEST);
        if len > max {
            return Err(PsiError::Oversized { len, max });
        }
        if len != bucket(len) {
            return Err(PsiError::NotPadded { len });
        }
        let blinded = dleq::parse_elements(&request.blinded)?;
        budget.charge(len as u64)?;
        // RFC 9497 BlindEvaluate: the per-element multiplications by the key are independent
        // and spread over the cores, their results serialised in batches
        // ([`dleq::evaluate_blinded`]); the batch DLEQ proof is one multiscalar multiplication
        // ([`dleq::prove`]).
        let evaluated = dleq::evaluate_blinded(&self.key, &blinded);
        let r = Suite::random_scalar(rng);
        let proof = dleq::prove(
            &self.key,
            &self.public_key().0,
            &blinded,
            &request.blinded,
            &evaluated,
            &r,
        )?;
        Ok(EvaluationResponse {
            epoch: self.epoch,
            evaluated,
            proof,
        })
    }
}

#[cfg(test)]
mod tests {
    use rand_core::OsRng;
    use voprf::VoprfClient;

    use super::*;
    use crate::asker::{finalize, Blinding};
    use crate::dleq::BlindKind;
    use crate::messages::Element;

    fn hex(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    /// RFC 9497 Appendix A.1.2 (ristretto255-SHA512, VOPRF mode), test vectors 1 and 2.
    #[test]
    fn rfc9497_ristretto255_voprf_vectors_pass_through_the_wrapper() {
        let seed = hex("a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3");
        let key = HolderKey::from_seed(&seed, b"test key", EpochId(7)).unwrap();
        assert_eq!(
            key.public_key().0.to_vec(),
            hex("c803e2cc6b05fc15064549b5920659ca4a77b2cca6f04f6b357009335476ad4e")
        );
        let blind = hex("64d37aed22a27f5191de1c1d69fadb899d8862b58eb4220029e036ec4c1f6706");
        let vectors = [
            (
                "00",
                "863f330cc1a1259ed5a5998a23acfd37fb4351a793a5b3c090b642ddc439b945",
                "aa8fa048764d5623868679402ff6108d2521884fa138cd7f9c7669a9a014267e",
                "ddef93772692e535d1a53903db24367355cc2cc78de93b3be5a8ffcc6985dd066d4346421d17bf5117a2a1ff0fcb2a759f58a539dfbe857a40bce4cf49ec600d",
                "b58cfbe118e0cb94d79b5fd6a6dafb98764dff49c14e1770b566e42402da1a7da4d8527693914139caee5bd03903af43a491351d23b430948dd50cde10d32b3c",
            ),
            (
                "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a",
                "cc0b2a350101881d8a4cba4c80241d74fb7dcbfde4a61fde2f91443c2bf9ef0c",
                "60a59a57208d48aca71e9e850d22674b611f752bed48b36f7a91b372bd7ad468",
                "401a0da6264f8cf45bb2f5264bc31e109155600babb3cd4e5af7d181a2c9dc0a67154fabf031fd936051dec80b0b6ae29c9503493dde7393b722eafdf5a50b02",
                "8a9a2f3c7f085b65933594309041fc1898d42d0858e59f90814ae90571a6df60356f4610bf816f27afdd84f47719e480906d27ecd994985890e5f539e7ea74b6",
            ),
        ];
        for (input, blinded, evaluated, proof, output) in vectors {
            let input = hex(input);
            // The holder's direct evaluation (its own set) gives the RFC's output.
            assert_eq!(key.output(&input, 0).unwrap(), hex(output));

            let scalar = Suite::deserialize_scalar(&blind).unwrap();
            let blind_result =
                VoprfClient::<Suite>::deterministic_blind_unchecked(&input, scalar).unwrap();
            assert_eq!(blind_result.message.serialize().to_vec(), hex(blinded));

            let request = EvaluationRequest {
                epoch: EpochId(7),
                normaliser_version: 1,
                blinded: vec![Element(hex(blinded).try_into().unwrap())],
            };
            let limits = Limits {
                max_request: 16,
                normaliser_version: 1,
            };
            let mut budget = Budget::new(10);
            let response = key
                .evaluate(&request, &mut budget, &limits, &mut OsRng)
                .unwrap();
            assert_eq!(response.evaluated[0].0.to_vec(), hex(evaluated));

            // The RFC's own proof verifies through the asker's finalize and gives its output.
            let rfc_response = EvaluationResponse {
                proof: crate::Proof::from_slice(&hex(proof)).unwrap(),
                ..response.clone()
            };
            let blinding =
                Blinding::with_blinds(vec![input.clone()], vec![scalar], BlindKind::Multiply)
                    .unwrap();
            assert_eq!(blinding.elements[0].0.to_vec(), hex(blinded));
            let outputs = finalize(&blinding, &rfc_response, &key.public_key().0).unwrap();
            assert_eq!(outputs, vec![hex(output)]);
            // So does the wrapper's own (randomised) proof.
            let outputs = finalize(&blinding, &response, &key.public_key().0).unwrap();
            assert_eq!(outputs, vec![hex(output)]);
        }
    }
}
