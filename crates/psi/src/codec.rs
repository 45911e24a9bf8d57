//! The wire form of the protocol's messages: compact binary, because an epoch set for 10^7
//! selectors is tens of megabytes of 16-bit fingerprints that JSON would triple.
//!
//! Every message starts with the magic `LPS1` and a kind byte; integers are little-endian;
//! nothing may follow the last field. Decoding is the edge where a partner's bytes become
//! typed values, so it checks every length against what is left before reading or
//! allocating, and refuses a filter whose descriptor would index outside its fingerprints
//! (xorf's `contains` indexes without checking: a hostile descriptor would panic the asker).

use xorf::{BinaryFuse16, Descriptor};

use crate::messages::{
    Element, EpochId, EpochSet, EvaluationRequest, EvaluationResponse, Proof, PublicKey,
};
use crate::{PsiError, MAX_REQUEST};

const MAGIC: &[u8; 4] = b"LPS1";

#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Kind {
    EpochSet = 1,
    Request = 2,
    Response = 3,
}

fn malformed(what: &str) -> PsiError {
    PsiError::Malformed(what.to_owned())
}

struct Writer(Vec<u8>);

impl Writer {
    fn new(kind: Kind, capacity: usize) -> Self {
        let mut bytes = Vec::with_capacity(capacity + 5);
        bytes.extend_from_slice(MAGIC);
        bytes.push(kind as u8);
        Self(bytes)
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn bytes(&mut self, v: &[u8]) {
        self.0.extend_from_slice(v);
    }
    /// A count as u32; every count we write is bounded far below that (filters hold at most
    /// a few times 2^32 bits' worth only if the holder had billions of selectors).
    fn len(&mut self, n: usize) {
        self.u32(u32::try_from(n).unwrap_or(u32::MAX));
    }
    fn filter(&mut self, filter: &BinaryFuse16) {
        let d = &filter.descriptor;
        self.u64(d.seed);
        self.u32(d.segment_length);
        self.u32(d.segment_length_mask);
        self.u32(d.segment_count_length);
        self.len(filter.fingerprints.len());
        for f in filter.fingerprints.iter() {
            self.0.extend_from_slice(&f.to_le_bytes());
        }
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn open(bytes: &'a [u8], kind: Kind, name: &str) -> Result<Self, PsiError> {
        let mut reader = Self(bytes);
        let magic = reader.take(4, name)?;
        if magic != MAGIC {
            return Err(malformed(&format!("{name}: not a liaison-psi/1 message")));
        }
        let got = reader.take(1, name)?;
        if got != [kind as u8] {
            return Err(malformed(&format!("{name}: another kind of message")));
        }
        Ok(reader)
    }
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], PsiError> {
        let (head, rest) = self
            .0
            .split_at_checked(n)
            .ok_or_else(|| malformed(&format!("{what}: truncated")))?;
        self.0 = rest;
        Ok(head)
    }
    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], PsiError> {
        let bytes = self.take(N, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }
    fn u32(&mut self, what: &str) -> Result<u32, PsiError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }
    fn u64(&mut self, what: &str) -> Result<u64, PsiError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }
    /// A count of items `size` bytes each, checked against what is left before anything is
    /// allocated for them.
    fn count(&mut self, size: usize, what: &str) -> Result<usize, PsiError> {
        let n = self.u32(what)? as usize;
        if n.saturating_mul(size) > self.0.len() {
            return Err(malformed(&format!(
                "{what}: {n} items announced, fewer present"
            )));
        }
        Ok(n)
    }
    fn elements(&mut self, n: usize, what: &str) -> Result<Vec<Element>, PsiError> {
        (0..n).map(|_| Ok(Element(self.array(what)?))).collect()
    }
    fn filter(&mut self, what: &str) -> Result<BinaryFuse16, PsiError> {
        let descriptor = Descriptor {
            seed: self.u64(what)?,
            segment_length: self.u32(what)?,
            segment_length_mask: self.u32(what)?,
            segment_count_length: self.u32(what)?,
        };
        let n = self.count(2, what)?;
        let fingerprints = self
            .take(n * 2, what)?
            .chunks_exact(2)
            .map(|pair| u16::from_le_bytes(pair.try_into().unwrap_or([0; 2])))
            .collect::<Box<[u16]>>();
        check_descriptor(&descriptor, fingerprints.len())
            .map_err(|why| malformed(&format!("{what}: {why}")))?;
        Ok(BinaryFuse16 {
            descriptor,
            fingerprints,
        })
    }
    fn end(&self, what: &str) -> Result<(), PsiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(malformed(&format!(
                "{what}: {} bytes after the end",
                self.0.len()
            )))
        }
    }
}

/// A binary fuse filter looks a key up at `h0 < segment_count_length`, and at `h0 + s` and
/// `h0 + 2s` with bits below the segment length `s` replaced; so every index stays below
/// `segment_count_length + 2s` when `s` is a power of two, the mask is `s - 1` and the
/// segment count length is a non-zero multiple of `s`. Anything else could index out of
/// bounds: with a segment count length of 0, `h0` is 0 rather than below it, and `h0 + 2s`
/// with its low bits set reaches `3s - 1` (found by the `psi_messages` fuzz target).
fn check_descriptor(d: &Descriptor, len: usize) -> Result<(), &'static str> {
    let s = d.segment_length;
    if s == 0 || !s.is_power_of_two() {
        return Err("segment length is not a power of two");
    }
    if d.segment_length_mask != s - 1 {
        return Err("segment mask does not match the segment length");
    }
    if d.segment_count_length == 0 || d.segment_count_length % s != 0 {
        return Err("segment count length is not a whole, non-zero number of segments");
    }
    let reach = u64::from(d.segment_count_length) + 2 * u64::from(s);
    if reach > u64::from(u32::MAX) || reach > len as u64 {
        return Err("descriptor reaches past the fingerprints");
    }
    Ok(())
}

impl EpochSet {
    /// The wire form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new(
            Kind::EpochSet,
            64 + 2 * (self.filter.fingerprints.len() + self.confirm.fingerprints.len()),
        );
        w.u64(self.epoch.0);
        w.u32(self.normaliser_version);
        w.bytes(&self.public_key.0);
        w.u64(self.padded_size);
        w.filter(&self.filter);
        w.filter(&self.confirm);
        w.0
    }

    /// Reads the wire form, refusing anything malformed.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PsiError> {
        let what = "epoch set";
        let mut r = Reader::open(bytes, Kind::EpochSet, what)?;
        let set = Self {
            epoch: EpochId(r.u64(what)?),
            normaliser_version: r.u32(what)?,
            public_key: PublicKey(r.array(what)?),
            padded_size: r.u64(what)?,
            filter: r.filter("epoch set filter")?,
            confirm: r.filter("epoch set confirm filter")?,
        };
        r.end(what)?;
        Ok(set)
    }
}

impl EvaluationRequest {
    /// The wire form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new(Kind::Request, 16 + 32 * self.blinded.len());
        w.u64(self.epoch.0);
        w.u32(self.normaliser_version);
        w.len(self.blinded.len());
        for e in &self.blinded {
            w.bytes(&e.0);
        }
        w.0
    }

    /// Reads the wire form, refusing anything malformed or over [`MAX_REQUEST`] elements.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PsiError> {
        let what = "evaluation request";
        let mut r = Reader::open(bytes, Kind::Request, what)?;
        let epoch = EpochId(r.u64(what)?);
        let normaliser_version = r.u32(what)?;
        let n = r.count(32, what)?;
        if n > MAX_REQUEST {
            return Err(PsiError::Oversized {
                len: n,
                max: MAX_REQUEST,
            });
        }
        let blinded = r.elements(n, what)?;
        r.end(what)?;
        Ok(Self {
            epoch,
            normaliser_version,
            blinded,
        })
    }
}

impl EvaluationResponse {
    /// The wire form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new(Kind::Response, 80 + 32 * self.evaluated.len());
        w.u64(self.epoch.0);
        w.len(self.evaluated.len());
        for e in &self.evaluated {
            w.bytes(&e.0);
        }
        w.bytes(&self.proof.c);
        w.bytes(&self.proof.s);
        w.0
    }

    /// Reads the wire form, refusing anything malformed.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PsiError> {
        let what = "evaluation response";
        let mut r = Reader::open(bytes, Kind::Response, what)?;
        let epoch = EpochId(r.u64(what)?);
        let n = r.count(32, what)?;
        let evaluated = r.elements(n, what)?;
        let proof = Proof {
            c: r.array(what)?,
            s: r.array(what)?,
        };
        r.end(what)?;
        Ok(Self {
            epoch,
            evaluated,
            proof,
        })
    }
}

#[cfg(test)]
mod tests {
    use rand_core::OsRng;
    use xorf::Filter;

    use super::*;
    use crate::{HolderKey, MasterSecret};

    fn set(n: usize) -> EpochSet {
        let key = HolderKey::derive(&MasterSecret([3; 32]), EpochId(9), "RUS").unwrap();
        let held: Vec<Vec<u8>> = (0..n).map(|i| format!("k{i}").into_bytes()).collect();
        key.precompute(held.iter().map(Vec::as_slice), 1, &mut OsRng)
            .unwrap()
    }

    #[test]
    fn every_message_round_trips() {
        for n in [0, 1, 5, 300] {
            let set = set(n);
            let back = EpochSet::from_bytes(&set.to_bytes()).unwrap();
            assert_eq!(back.public_key, set.public_key);
            assert_eq!(back.to_bytes(), set.to_bytes());
            assert_eq!(back.filter.descriptor, set.filter.descriptor);
            assert_eq!(back.confirm.fingerprints, set.confirm.fingerprints);
            assert_eq!(back.padded_size, set.padded_size);
        }
        let request = EvaluationRequest {
            epoch: EpochId(4),
            normaliser_version: 1,
            blinded: vec![Element([7; 32]), Element([8; 32])],
        };
        assert_eq!(
            EvaluationRequest::from_bytes(&request.to_bytes()).unwrap(),
            request
        );
        let response = EvaluationResponse {
            epoch: EpochId(4),
            evaluated: vec![Element([1; 32])],
            proof: Proof {
                c: [2; 32],
                s: [3; 32],
            },
        };
        assert_eq!(
            EvaluationResponse::from_bytes(&response.to_bytes()).unwrap(),
            response
        );
    }

    #[test]
    fn every_truncation_and_any_trailing_byte_is_refused() {
        let bytes = set(40).to_bytes();
        for cut in 0..bytes.len() {
            assert!(EpochSet::from_bytes(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(EpochSet::from_bytes(&longer).is_err());
        // A request is not an epoch set.
        let request = EvaluationRequest {
            epoch: EpochId(4),
            normaliser_version: 1,
            blinded: vec![],
        };
        assert!(EpochSet::from_bytes(&request.to_bytes()).is_err());
    }

    #[test]
    fn a_descriptor_that_reaches_past_the_fingerprints_is_refused() {
        let good = set(40);
        let mut bad = good.clone();
        bad.filter.descriptor.segment_count_length += bad.filter.descriptor.segment_length;
        assert!(EpochSet::from_bytes(&bad.to_bytes()).is_err());
        let mut bad = good.clone();
        bad.confirm.descriptor.segment_length = 3;
        assert!(EpochSet::from_bytes(&bad.to_bytes()).is_err());
        let mut bad = good;
        bad.filter.descriptor.segment_length_mask = 0;
        assert!(EpochSet::from_bytes(&bad.to_bytes()).is_err());
    }

    #[test]
    fn a_filter_with_no_segments_is_refused() {
        // The fuzz target's crash: segment length 2, mask 1, no segments, 4 fingerprints.
        let mut bad = set(40);
        bad.confirm.descriptor.segment_length = 2;
        bad.confirm.descriptor.segment_length_mask = 1;
        bad.confirm.descriptor.segment_count_length = 0;
        bad.confirm.fingerprints = vec![1; 4].into_boxed_slice();
        assert!(EpochSet::from_bytes(&bad.to_bytes()).is_err());
    }

    proptest::proptest! {
        /// Whatever descriptor a partner sends, a filter that decodes answers every key
        /// without indexing out of bounds.
        #[test]
        fn any_decoded_descriptor_is_safe_for_every_key(
            seed: u64,
            shift in 0u32..6,
            mask: u32,
            segments in 0u32..4,
            skew in 0u32..2,
            spare in 0u32..4,
            keys in proptest::collection::vec(proptest::prelude::any::<u64>(), 64),
        ) {
            // Descriptors near the edge: a few segments, lengths around what they reach.
            let s = 1u32 << shift;
            let count_length = segments * s + skew;
            let len = ((segments + 2) * s + spare).saturating_sub(2) as usize;
            let mut candidate = set(0);
            candidate.confirm.descriptor = Descriptor {
                seed,
                segment_length: s,
                segment_length_mask: if mask % 4 != 0 { s - 1 } else { mask },
                segment_count_length: count_length,
            };
            candidate.confirm.fingerprints = vec![7; len].into_boxed_slice();
            if let Ok(back) = EpochSet::from_bytes(&candidate.to_bytes()) {
                for key in keys {
                    let _ = back.confirm.contains(&key);
                }
            }
        }
    }

    #[test]
    fn a_decoded_filter_answers_any_key_without_panicking() {
        // The checks make `contains` safe for every key, whatever the seed says.
        let mut set = set(100);
        set.filter.descriptor.seed ^= 0xdead_beef;
        let back = EpochSet::from_bytes(&set.to_bytes()).unwrap();
        for key in (0..100_000u64).map(|k| k.wrapping_mul(0x9e37_79b9_7f4a_7c15)) {
            let _ = back.filter.contains(&key);
        }
    }

    #[test]
    fn an_announced_count_larger_than_the_body_allocates_nothing() {
        let mut bytes = MAGIC.to_vec();
        bytes.push(Kind::Request as u8);
        bytes.extend_from_slice(&1u64.to_le_bytes());
        bytes.extend_from_slice(&1u32.to_le_bytes());
        bytes.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            EvaluationRequest::from_bytes(&bytes),
            Err(PsiError::Malformed(_))
        ));
    }
}
