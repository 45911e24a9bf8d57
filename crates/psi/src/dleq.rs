//! RFC 9497's batch DLEQ proof (§2.2), with the composites computed by multiscalar
//! multiplication, plus the client's `Blind` and `Finalize` (§3.3.2) around it.
//!
//! **Why not `voprf`'s own.** `voprf` 0.5 computes the composites `M = Σ dᵢ·Cᵢ` and
//! `Z = Σ dᵢ·Dᵢ` one variable-base multiplication at a time, and re-serialises every element
//! it was given as bytes. Over a request of 2^15 elements that is 3 of the 7 multiplications
//! per selector of a whole exchange (issue 11's benchmark). Here the same sums are
//! curve25519-dalek's Pippenger multiscalar multiplication (a few point additions per term,
//! split over the cores), and the elements' wire bytes are hashed as they arrived. The
//! client's blinding scalar is not readable from `voprf`'s client state, so `Blind` and
//! `Finalize` are here too.
//!
//! **What stays `voprf`'s and dalek's.** All group arithmetic is curve25519-dalek's; hashing to
//! the group and to scalars is `voprf`'s (`Group::hash_to_curve`, `Group::hash_to_scalar`:
//! RFC 9380 `expand_message_xmd`), as are key derivation, element and scalar parsing and the
//! holder's direct evaluation of its own set. This module is only the protocol's sequence of
//! those calls, and it is held to `voprf` by tests: the RFC's batch vector (same proof from
//! the same random scalar), proofs of each accepted by the other, and identical outputs.

use curve25519_dalek::constants::RISTRETTO_BASEPOINT_TABLE;
use curve25519_dalek::ristretto::{RistrettoBasepointTable, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{Identity, VartimeMultiscalarMul};
use sha2::{Digest, Sha512};
use voprf::Group;
use zeroize::Zeroizing;

use crate::messages::{Element, Proof};
use crate::{parallel, PsiError, Suite};

/// RFC 9497 §3.1 `contextString` for VOPRF mode (0x01) and ristretto255-SHA512.
const CONTEXT: &[u8] = b"OPRFV1-\x01-ristretto255-SHA512";
/// `I2OSP(Ne, 2)`: every serialised element is 32 bytes.
const ELEMENT_LEN: [u8; 2] = 32u16.to_be_bytes();

/// `G.HashToScalar` with the default DST `"HashToScalar-" ‖ contextString`.
/// Fails only on an empty input or a DST over 255 bytes, which ours never are.
fn hash_to_scalar(input: &[&[u8]]) -> Result<Scalar, PsiError> {
    Suite::hash_to_scalar::<Sha512>(input, &[b"HashToScalar-", CONTEXT])
        .map_err(|_| PsiError::Malformed("hash to scalar: input out of range".to_owned()))
}

/// `G.HashToGroup` with the DST `"HashToGroup-" ‖ contextString`.
fn hash_to_group(input: &[u8]) -> Option<RistrettoPoint> {
    Suite::hash_to_curve::<Sha512>(&[input], &[b"HashToGroup-", CONTEXT]).ok()
}

/// The serialised form of a point (one field inversion).
fn bytes(point: &RistrettoPoint) -> [u8; 32] {
    point.compress().to_bytes()
}

/// Parses one element as `voprf` does (`DeserializeElement`: canonical encoding, not the
/// identity), naming its position on failure.
pub(crate) fn parse_elements(elements: &[Element]) -> Result<Vec<RistrettoPoint>, PsiError> {
    parallel::map_chunks(elements, |offset, chunk| {
        chunk
            .iter()
            .enumerate()
            .map(|(i, element)| {
                Suite::deserialize_elem(&element.0)
                    .map_err(|_| PsiError::MalformedElement { index: offset + i })
            })
            .collect()
    })
}

/// The weights `dᵢ` of `ComputeComposites` (§2.2.1) for the pairs (`Cᵢ`, `Dᵢ`) as serialised,
/// under the public key `B` as serialised.
fn weights(public_key: &[u8; 32], cs: &[Element], ds: &[Element]) -> Result<Vec<Scalar>, PsiError> {
    if cs.len() != ds.len() || cs.len() > usize::from(u16::MAX) {
        return Err(PsiError::LengthMismatch {
            sent: cs.len(),
            got: ds.len(),
        });
    }
    let seed_dst = [b"Seed-".as_slice(), CONTEXT].concat();
    let seed = Sha512::new()
        .chain_update(ELEMENT_LEN)
        .chain_update(public_key)
        .chain_update((seed_dst.len() as u16).to_be_bytes())
        .chain_update(&seed_dst)
        .finalize();
    let seed_len = (seed.len() as u16).to_be_bytes();
    parallel::map_chunks(cs, |offset, chunk| {
        chunk
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let index = (offset + i) as u16;
                hash_to_scalar(&[
                    &seed_len,
                    &seed,
                    &index.to_be_bytes(),
                    &ELEMENT_LEN,
                    &c.0,
                    &ELEMENT_LEN,
                    &ds[offset + i].0,
                    b"Composite",
                ])
            })
            .collect()
    })
}

/// `Σ scalarsᵢ·pointsᵢ`, Pippenger's method on each core's share, the shares added.
fn sum_of_products(scalars: &[Scalar], points: &[RistrettoPoint]) -> RistrettoPoint {
    let shares = parallel::map_chunks(points, |offset, chunk| {
        Ok::<_, std::convert::Infallible>(vec![RistrettoPoint::vartime_multiscalar_mul(
            &scalars[offset..offset + chunk.len()],
            chunk,
        )])
    });
    let Ok(shares) = shares;
    shares
        .into_iter()
        .fold(RistrettoPoint::identity(), |sum, share| sum + share)
}

/// The challenge `c` of §2.2.1/§2.2.2 over `B`, `M`, `Z`, `t2`, `t3`.
fn challenge(public_key: &[u8; 32], points: [&RistrettoPoint; 4]) -> Result<Scalar, PsiError> {
    let [m, z, t2, t3] = points.map(bytes);
    hash_to_scalar(&[
        &ELEMENT_LEN,
        public_key,
        &ELEMENT_LEN,
        &m,
        &ELEMENT_LEN,
        &z,
        &ELEMENT_LEN,
        &t2,
        &ELEMENT_LEN,
        &t3,
        b"Challenge",
    ])
}

/// `GenerateProof(k, G, B, C, D)` (§2.2.1) with `ComputeCompositesFast`, from the proof's
/// random scalar `r` (the caller draws it; the RFC's vectors fix it).
pub(crate) fn prove(
    key: &Scalar,
    public_key: &[u8; 32],
    blinded: &[RistrettoPoint],
    blinded_bytes: &[Element],
    evaluated_bytes: &[Element],
    r: &Scalar,
) -> Result<Proof, PsiError> {
    let d = weights(public_key, blinded_bytes, evaluated_bytes)?;
    let m = sum_of_products(&d, blinded);
    let z = m * key;
    let t2 = r * RISTRETTO_BASEPOINT_TABLE;
    let t3 = m * r;
    let c = challenge(public_key, [&m, &z, &t2, &t3])?;
    let s = r - c * key;
    Ok(Proof {
        c: c.to_bytes(),
        s: s.to_bytes(),
    })
}

/// `VerifyProof(G, B, C, D, proof)` (§2.2.2). A proof whose scalars are not canonical is
/// refused as `voprf` refuses it.
pub(crate) fn verify(
    public_key: &RistrettoPoint,
    public_key_bytes: &[u8; 32],
    blinded: &[RistrettoPoint],
    blinded_bytes: &[Element],
    evaluated: &[RistrettoPoint],
    evaluated_bytes: &[Element],
    proof: &Proof,
) -> Result<(), PsiError> {
    let canonical = |bytes: [u8; 32]| Option::<Scalar>::from(Scalar::from_canonical_bytes(bytes));
    let (Some(c), Some(s)) = (canonical(proof.c), canonical(proof.s)) else {
        return Err(PsiError::ProofInvalid);
    };
    let d = weights(public_key_bytes, blinded_bytes, evaluated_bytes)?;
    let m = sum_of_products(&d, blinded);
    let z = sum_of_products(&d, evaluated);
    let t2 = RistrettoPoint::vartime_double_scalar_mul_basepoint(&c, public_key, &s);
    let t3 = RistrettoPoint::vartime_multiscalar_mul([s, c], [m, z]);
    if challenge(public_key_bytes, [&m, &z, &t2, &t3])? == c {
        Ok(())
    } else {
        Err(PsiError::ProofInvalid)
    }
}

/// How the asker hides an input's point `P = HashToGroup(input)` from the holder. Both give
/// the holder a uniformly random element and give the asker the same `N = k·P`, so the outputs
/// are RFC 9497's either way; the holder cannot tell which was used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BlindKind {
    /// RFC 9497 §3.3.2 `Blind`: `C = r·P`, unblinded as `N = r⁻¹·D`. Two variable-base
    /// multiplications per input. Kept for the RFC's vectors, which fix `r`.
    #[cfg_attr(not(test), allow(dead_code, reason = "the RFC's vectors, in tests"))]
    Multiply,
    /// Additive blinding: `C = P + r·G`, unblinded as `N = D − r·B` with the holder's public
    /// key `B = k·G`. Both multiplications have a fixed base (`G`'s precomputed table, and
    /// one table of `B` per response), a few times cheaper than a variable base. It is sound
    /// only because `B` is checked: the DLEQ proof binds every `D = k·C` to the same `k` as
    /// `B`, and the proof is verified before unblinding (an unverified `B` would let a holder
    /// skew the result). Earlier drafts of RFC 9497 (draft-irtf-cfrg-voprf up to -06) described
    /// this as the verifiable mode's optimisation; the wire and the holder are unchanged.
    Add,
}

/// The blinded element of each input under its blinding scalar, as a point and as bytes.
/// An input that hashes to the identity (or cannot be hashed) is refused by position.
pub(crate) fn blind(
    inputs: &[Vec<u8>],
    blinds: &[Scalar],
    kind: BlindKind,
) -> Result<Vec<(RistrettoPoint, Element)>, PsiError> {
    parallel::map_chunks(inputs, |offset, chunk| {
        chunk
            .iter()
            .enumerate()
            .map(|(i, input)| {
                let index = offset + i;
                let point = hash_to_group(input)
                    .filter(|p| *p != RistrettoPoint::identity())
                    .ok_or(PsiError::BadInput { index })?;
                let blinded = match kind {
                    BlindKind::Multiply => point * blinds[index],
                    BlindKind::Add => point + &blinds[index] * RISTRETTO_BASEPOINT_TABLE,
                };
                if blinded == RistrettoPoint::identity() {
                    // P = −r·G: the holder would refuse it; as likely as guessing the key.
                    return Err(PsiError::BadInput { index });
                }
                Ok((blinded, Element(bytes(&blinded))))
            })
            .collect()
    })
}

/// `Hash(I2OSP(len(input), 2) ‖ input ‖ I2OSP(Ne, 2) ‖ N ‖ "Finalize")` (§3.3.2), the output
/// both `Finalize` and the holder's direct `Evaluate` end with.
fn finalize_hash(input: &[u8], element: &[u8; 32], index: usize) -> Result<Vec<u8>, PsiError> {
    let len = u16::try_from(input.len()).map_err(|_| PsiError::BadInput { index })?;
    Ok(Sha512::new()
        .chain_update(len.to_be_bytes())
        .chain_update(input)
        .chain_update(ELEMENT_LEN)
        .chain_update(element)
        .chain_update(b"Finalize")
        .finalize()
        .to_vec())
}

/// `Finalize` (§3.3.2) after a verified proof: unblinds each evaluated element as `kind`
/// says and hashes it with its input. `public_key` is `B`, used by additive unblinding.
pub(crate) fn unblind(
    inputs: &[Vec<u8>],
    blinds: &[Scalar],
    kind: BlindKind,
    evaluated: &[RistrettoPoint],
    public_key: &RistrettoPoint,
) -> Result<Vec<Vec<u8>>, PsiError> {
    let (inverses, table) = match kind {
        BlindKind::Multiply => {
            let mut inverses = blinds.to_vec();
            Scalar::batch_invert(&mut inverses);
            (inverses, None)
        }
        BlindKind::Add => (
            Vec::new(),
            Some(RistrettoBasepointTable::create(public_key)),
        ),
    };
    parallel::map_chunks(inputs, |offset, chunk| {
        chunk
            .iter()
            .enumerate()
            .map(|(i, input)| {
                let index = offset + i;
                let unblinded = match &table {
                    None => evaluated[index] * inverses[index],
                    Some(table) => evaluated[index] - &blinds[index] * table,
                };
                finalize_hash(input, &bytes(&unblinded), index)
            })
            .collect()
    })
}

/// Points serialised together by `double_and_compress_batch`: enough to make the shared
/// inversion negligible, few enough to stay in cache.
const COMPRESS_BATCH: usize = 256;

/// `k·Pᵢ` for each point, serialised, on the calling thread. Computed as `2·((k/2)·Pᵢ)`, so
/// that dalek's `double_and_compress_batch` serialises a batch with one shared field
/// inversion instead of one per point.
fn multiply_and_compress(half_key: &Scalar, points: &[RistrettoPoint]) -> Vec<[u8; 32]> {
    let mut out = Vec::with_capacity(points.len());
    for batch in points.chunks(COMPRESS_BATCH) {
        let halves: Vec<RistrettoPoint> = batch.iter().map(|p| p * half_key).collect();
        out.extend(
            RistrettoPoint::double_and_compress_batch(&halves)
                .into_iter()
                .map(|c| c.to_bytes()),
        );
    }
    out
}

/// Half the key, for [`multiply_and_compress`]: as secret as the key, so wiped when dropped.
fn half(key: &Scalar) -> Zeroizing<Scalar> {
    Zeroizing::new(key * Scalar::from(2u8).invert())
}

/// `BlindEvaluate`'s element-wise half (§3.3.2): `Dᵢ = k·Cᵢ`, serialised, over the cores.
pub(crate) fn evaluate_blinded(key: &Scalar, blinded: &[RistrettoPoint]) -> Vec<Element> {
    let half = half(key);
    let out = parallel::map_chunks(blinded, |_, chunk| {
        Ok::<_, std::convert::Infallible>(
            multiply_and_compress(&half, chunk)
                .into_iter()
                .map(Element)
                .collect(),
        )
    });
    let Ok(out) = out;
    out
}

/// The holder's direct `Evaluate` (§3.3.2) of its own inputs, over the cores:
/// `HashToGroup`, times the key, finalized; then `f` of each output, so that a caller keeping
/// only fingerprints never holds every output. An input that hashes to the identity is
/// refused by position, as `voprf` refuses it.
pub(crate) fn evaluate_direct<R: Send>(
    key: &Scalar,
    inputs: &[&[u8]],
    f: impl Fn(&[u8]) -> R + Sync,
) -> Result<Vec<R>, PsiError> {
    let half = half(key);
    parallel::map_chunks(inputs, |offset, chunk| {
        let mut out = Vec::with_capacity(chunk.len());
        for (b, batch) in chunk.chunks(COMPRESS_BATCH).enumerate() {
            let start = offset + b * COMPRESS_BATCH;
            let points = batch
                .iter()
                .enumerate()
                .map(|(i, input)| {
                    hash_to_group(input)
                        .filter(|p| *p != RistrettoPoint::identity())
                        .ok_or(PsiError::BadInput { index: start + i })
                })
                .collect::<Result<Vec<_>, _>>()?;
            for (i, (input, element)) in batch
                .iter()
                .zip(multiply_and_compress(&half, &points))
                .enumerate()
            {
                out.push(f(&finalize_hash(input, &element, start + i)?));
            }
        }
        Ok(out)
    })
}

#[cfg(test)]
mod tests {
    use rand_core::{CryptoRng, OsRng, RngCore};
    use voprf::{BlindedElement, EvaluationElement, VoprfClient, VoprfServer};

    use super::*;
    use crate::asker::{finalize, Blinding};
    use crate::messages::EvaluationResponse;
    use crate::EpochId;

    fn hex32(s: &str) -> [u8; 32] {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    fn scalar(s: &str) -> Scalar {
        Scalar::from_canonical_bytes(hex32(s)).unwrap()
    }

    fn element(point: &RistrettoPoint) -> Element {
        Element(bytes(point))
    }

    /// A deterministic "random" source, so that `voprf` and this module draw the same proof
    /// scalar. Tests only.
    struct Counter(u64);
    impl RngCore for Counter {
        fn next_u32(&mut self) -> u32 {
            self.next_u64() as u32
        }
        fn next_u64(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            self.0
        }
        fn fill_bytes(&mut self, dest: &mut [u8]) {
            for chunk in dest.chunks_mut(8) {
                let word = self.next_u64().to_le_bytes();
                chunk.copy_from_slice(&word[..chunk.len()]);
            }
        }
        fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
            self.fill_bytes(dest);
            Ok(())
        }
    }
    impl CryptoRng for Counter {}

    /// RFC 9497 Appendix A.1.2.3: ristretto255-SHA512, VOPRF mode, test vector 3 (batch of 2).
    #[test]
    fn rfc9497_batch_vector() {
        let seed = [0xa3; 32];
        let server = VoprfServer::<Suite>::new_from_seed(&seed, b"test key").unwrap();
        let key = voprf::derive_key::<Suite>(&seed, b"test key", voprf::Mode::Voprf).unwrap();
        assert_eq!(
            key,
            scalar("e6f73f344b79b379f1a0dd37e07ff62e38d9f71345ce62ae3a9bc60b04ccd909")
        );
        let pk = server.get_public_key();
        let pk_bytes = bytes(&pk);
        let inputs = vec![vec![0x00], vec![0x5a; 17]];
        let blinds = vec![
            scalar("64d37aed22a27f5191de1c1d69fadb899d8862b58eb4220029e036ec4c1f6706"),
            scalar("222a5e897cf59db8145db8d16e597e8facb80ae7d4e26d9881aa6f61d645fc0e"),
        ];
        let blinding =
            Blinding::with_blinds(inputs.clone(), blinds.clone(), BlindKind::Multiply).unwrap();
        let expected_blinded = [
            "863f330cc1a1259ed5a5998a23acfd37fb4351a793a5b3c090b642ddc439b945",
            "90a0145ea9da29254c3a56be4fe185465ebb3bf2a1801f7124bbbadac751e654",
        ];
        let expected_evaluated = [
            "aa8fa048764d5623868679402ff6108d2521884fa138cd7f9c7669a9a014267e",
            "cc5ac221950a49ceaa73c8db41b82c20372a4c8d63e5dded2db920b7eee36a2a",
        ];
        let blinded = parse_elements(&blinding.elements).unwrap();
        for (i, expected) in expected_blinded.iter().enumerate() {
            assert_eq!(blinding.elements[i].0, hex32(expected));
        }
        let evaluated: Vec<Element> = blinded.iter().map(|c| element(&(c * key))).collect();
        for (i, expected) in expected_evaluated.iter().enumerate() {
            assert_eq!(evaluated[i].0, hex32(expected));
        }
        let r = scalar("419c4f4f5052c53c45f3da494d2b67b220d02118e0857cdbcf037f9ea84bbe0c");
        let proof = prove(
            &key,
            &pk_bytes,
            &blinded,
            &blinding.elements,
            &evaluated,
            &r,
        )
        .unwrap();
        let rfc_proof = hex::decode(
            "cc203910175d786927eeb44ea847328047892ddf8590e723c37205cb74600b0a\
             5ab5337c8eb4ceae0494c2cf89529dcf94572ed267473d567aeed6ab873dee08",
        )
        .unwrap();
        assert_eq!([proof.c, proof.s].concat(), rfc_proof);
        let response = EvaluationResponse {
            epoch: EpochId(1),
            evaluated,
            proof,
        };
        let outputs = finalize(&blinding, &response, &pk_bytes).unwrap();
        let expected_outputs = [
            "b58cfbe118e0cb94d79b5fd6a6dafb98764dff49c14e1770b566e42402da1a7da4d8527693914139caee5bd03903af43a491351d23b430948dd50cde10d32b3c",
            "8a9a2f3c7f085b65933594309041fc1898d42d0858e59f90814ae90571a6df60356f4610bf816f27afdd84f47719e480906d27ecd994985890e5f539e7ea74b6",
        ];
        for (output, expected) in outputs.iter().zip(expected_outputs) {
            assert_eq!(hex::encode(output), expected);
        }
    }

    /// A batch large enough to be split over the cores, with `voprf` on the other side:
    /// from the same random source both produce the same proof bytes; each accepts the
    /// other's proof; the outputs are `voprf`'s; a changed proof, element or key is refused.
    #[test]
    fn agrees_with_voprf_in_both_directions() {
        let seed = [0x42; 32];
        let server = VoprfServer::<Suite>::new_from_seed(&seed, b"k").unwrap();
        let key = voprf::derive_key::<Suite>(&seed, b"k", voprf::Mode::Voprf).unwrap();
        let pk = server.get_public_key();
        let pk_bytes = bytes(&pk);
        let inputs: Vec<Vec<u8>> = (0..1500u32)
            .map(|i| format!("phone/+7{i}").into_bytes())
            .collect();
        let blinds: Vec<Scalar> = inputs
            .iter()
            .map(|_| Suite::random_scalar(&mut OsRng))
            .collect();
        let blinding =
            Blinding::with_blinds(inputs.clone(), blinds.clone(), BlindKind::Multiply).unwrap();
        let clients: Vec<_> = inputs
            .iter()
            .zip(&blinds)
            .map(|(input, blind)| {
                VoprfClient::<Suite>::deterministic_blind_unchecked(input, *blind).unwrap()
            })
            .collect();
        for (ours, theirs) in blinding.elements.iter().zip(&clients) {
            assert_eq!(ours.0.as_slice(), theirs.message.serialize().as_slice());
        }

        // voprf evaluates and proves, from a fixed random source.
        let messages: Vec<BlindedElement<Suite>> =
            clients.iter().map(|c| c.message.clone()).collect();
        let theirs = server
            .batch_blind_evaluate(&mut Counter(9), &messages)
            .unwrap();
        let evaluated: Vec<Element> = theirs
            .messages
            .iter()
            .map(|m| Element(m.serialize().as_slice().try_into().unwrap()))
            .collect();
        let their_proof = crate::Proof::from_slice(&theirs.proof.serialize()).unwrap();

        // ... and we, from the same source, produce the same proof.
        let blinded = parse_elements(&blinding.elements).unwrap();
        let r = Suite::random_scalar(&mut Counter(9));
        let our_proof = prove(
            &key,
            &pk_bytes,
            &blinded,
            &blinding.elements,
            &evaluated,
            &r,
        )
        .unwrap();
        assert_eq!(our_proof, their_proof);

        // voprf's proof verifies here, and the outputs are voprf's.
        let response = EvaluationResponse {
            epoch: EpochId(1),
            evaluated: evaluated.clone(),
            proof: their_proof,
        };
        let outputs = finalize(&blinding, &response, &pk_bytes).unwrap();
        let states: Vec<_> = clients.into_iter().map(|c| c.state).collect();
        let their_outputs: Vec<Vec<u8>> =
            VoprfClient::batch_finalize(&inputs, &states, &theirs.messages, &theirs.proof, pk)
                .unwrap()
                .map(|o| o.unwrap().to_vec())
                .collect();
        assert_eq!(outputs, their_outputs);
        for (input, output) in inputs.iter().zip(&outputs).take(20) {
            assert_eq!(&server.evaluate(input).unwrap().to_vec(), output);
        }

        // A fresh proof of ours (another r) verifies with voprf.
        let r = Suite::random_scalar(&mut OsRng);
        let fresh = prove(
            &key,
            &pk_bytes,
            &blinded,
            &blinding.elements,
            &evaluated,
            &r,
        )
        .unwrap();
        let fresh_voprf = voprf::Proof::<Suite>::deserialize(&[fresh.c, fresh.s].concat()).unwrap();
        assert!(
            VoprfClient::batch_finalize(&inputs, &states, &theirs.messages, &fresh_voprf, pk)
                .is_ok()
        );

        // Anything changed is refused.
        let mut bad = response.clone();
        bad.proof.c[0] ^= 1;
        assert!(matches!(
            finalize(&blinding, &bad, &pk_bytes),
            Err(PsiError::ProofInvalid)
        ));
        let mut bad = response.clone();
        bad.proof.s[3] ^= 0x10;
        assert!(matches!(
            finalize(&blinding, &bad, &pk_bytes),
            Err(PsiError::ProofInvalid)
        ));
        let mut bad = response.clone();
        bad.evaluated.swap(0, 1);
        assert!(matches!(
            finalize(&blinding, &bad, &pk_bytes),
            Err(PsiError::ProofInvalid)
        ));
        let mut bad = response.clone();
        bad.evaluated[700] = bad.evaluated[701];
        assert!(matches!(
            finalize(&blinding, &bad, &pk_bytes),
            Err(PsiError::ProofInvalid)
        ));
        let other = VoprfServer::<Suite>::new_from_seed(&seed, b"another key").unwrap();
        assert!(matches!(
            finalize(&blinding, &response, &bytes(&other.get_public_key())),
            Err(PsiError::ProofInvalid)
        ));
        // A non-canonical scalar (the group order's bytes) is refused, as voprf refuses it.
        let mut bad = response;
        bad.proof.s = hex32("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010");
        assert!(matches!(
            finalize(&blinding, &bad, &pk_bytes),
            Err(PsiError::ProofInvalid)
        ));
    }

    /// Additive blinding against `voprf`'s holder: the elements differ from multiplicative
    /// ones, yet `voprf`'s proof verifies and every output is `voprf`'s direct `Evaluate` of
    /// the input. Unblinding with another key than the one proved against is refused before
    /// anything is unblinded.
    #[test]
    fn additive_blinding_gives_voprfs_outputs() {
        let seed = [0x17; 32];
        let server = VoprfServer::<Suite>::new_from_seed(&seed, b"additive").unwrap();
        let pk = server.get_public_key();
        let pk_bytes = bytes(&pk);
        let inputs: Vec<Vec<u8>> = (0..1200u32)
            .map(|i| format!("email/user{i}@example.org").into_bytes())
            .collect();
        let blinds: Vec<Scalar> = inputs
            .iter()
            .map(|_| Suite::random_scalar(&mut OsRng))
            .collect();
        let additive =
            Blinding::with_blinds(inputs.clone(), blinds.clone(), BlindKind::Add).unwrap();
        let multiplied =
            Blinding::with_blinds(inputs.clone(), blinds, BlindKind::Multiply).unwrap();
        assert!(additive
            .elements
            .iter()
            .zip(&multiplied.elements)
            .all(|(a, m)| a != m));

        let messages: Vec<BlindedElement<Suite>> = additive
            .elements
            .iter()
            .map(|e| BlindedElement::deserialize(&e.0).unwrap())
            .collect();
        let theirs = server.batch_blind_evaluate(&mut OsRng, &messages).unwrap();
        let response = EvaluationResponse {
            epoch: EpochId(3),
            evaluated: theirs
                .messages
                .iter()
                .map(|m| Element(m.serialize().as_slice().try_into().unwrap()))
                .collect(),
            proof: crate::Proof::from_slice(&theirs.proof.serialize()).unwrap(),
        };
        let outputs = finalize(&additive, &response, &pk_bytes).unwrap();
        for (input, output) in inputs.iter().zip(&outputs) {
            assert_eq!(&server.evaluate(input).unwrap().to_vec(), output);
        }

        let other = VoprfServer::<Suite>::new_from_seed(&seed, b"other").unwrap();
        assert!(matches!(
            finalize(&additive, &response, &bytes(&other.get_public_key())),
            Err(PsiError::ProofInvalid)
        ));
        let mut bad = response;
        bad.evaluated[1000] = bad.evaluated[3];
        assert!(matches!(
            finalize(&additive, &bad, &pk_bytes),
            Err(PsiError::ProofInvalid)
        ));
    }

    /// The holder's batch-serialised evaluations equal one multiplication and one
    /// serialisation per element, and its direct evaluation equals `voprf`'s `Evaluate`,
    /// across the batch and thread boundaries.
    #[test]
    fn batched_evaluations_equal_the_plain_ones() {
        let seed = [0x29; 32];
        let server = VoprfServer::<Suite>::new_from_seed(&seed, b"batch").unwrap();
        let key = voprf::derive_key::<Suite>(&seed, b"batch", voprf::Mode::Voprf).unwrap();
        let inputs: Vec<Vec<u8>> = (0..1300u32)
            .map(|i| format!("passport/RUS/{i:09}").into_bytes())
            .collect();
        let refs: Vec<&[u8]> = inputs.iter().map(Vec::as_slice).collect();
        let outputs = evaluate_direct(&key, &refs, <[u8]>::to_vec).unwrap();
        assert_eq!(outputs.len(), inputs.len());
        for (input, output) in inputs.iter().zip(&outputs) {
            assert_eq!(&server.evaluate(input).unwrap().to_vec(), output);
        }

        let points: Vec<RistrettoPoint> = refs.iter().map(|i| hash_to_group(i).unwrap()).collect();
        let batched = evaluate_blinded(&key, &points);
        for (point, element) in points.iter().zip(&batched) {
            assert_eq!(element.0, bytes(&(point * key)));
        }
    }

    #[test]
    fn the_identity_is_refused_wherever_an_element_is_parsed() {
        let elements = vec![element(&RistrettoPoint::identity())];
        assert!(matches!(
            parse_elements(&elements),
            Err(PsiError::MalformedElement { index: 0 })
        ));
        // voprf says the same of it.
        assert!(EvaluationElement::<Suite>::deserialize(&elements[0].0).is_err());
    }
}
