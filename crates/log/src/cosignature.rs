//! C2SP tlog-cosignature, Ed25519 type (signature type 0x04), written here because neither
//! azul crate has it. A cosigner states that, as of `timestamp`, this is the largest
//! consistent tree head it has seen for the origin. The signed message is
//! `cosignature/v1\ntime <timestamp>\n` followed by the whole checkpoint note text, and the
//! signature is `timestamp (u64, big-endian) || Ed25519 signature` ("Format" and "Ed25519
//! signed message").

use std::fmt;
use std::str::FromStr;

use base64::prelude::{Engine as _, BASE64_STANDARD};
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};

use crate::checkpoint::{SignedCheckpoint, COSIGNATURE_HEADER};
use crate::error::{CosignatureError, KeyError};
use crate::key::{check_name, encode_vkey, key_id, parse_vkey, random_seed};

/// C2SP tlog-cosignature, "Format": the key ID and vkey signature type of Ed25519
/// cosignatures.
pub const COSIGNATURE_TYPE: u8 = 0x04;

/// C2SP tlog-cosignature, "Format": "It MUST NOT exceed 2^63 - 1".
const MAX_TIMESTAMP: u64 = (1 << 63) - 1;

/// Bytes after the key ID: the u64 timestamp and the 64-byte Ed25519 signature.
const SIGNATURE_LEN: usize = 8 + 64;

/// The message a cosigner signs over a checkpoint note text.
pub(crate) fn cosigned_message(body: &[u8], timestamp: u64) -> Vec<u8> {
    let mut msg = format!("{COSIGNATURE_HEADER}time {timestamp}\n").into_bytes();
    msg.extend_from_slice(body);
    msg
}

/// A cosigner's secret key (a partner's node, cosigning our checkpoints). Keep it apart from
/// the node key that signs its own log.
#[derive(Clone)]
pub struct Cosigner {
    name: String,
    key: SigningKey,
}

impl fmt::Debug for Cosigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cosigner")
            .field("vkey", &self.cosigner_key().to_string())
            .finish_non_exhaustive()
    }
}

impl Cosigner {
    /// The cosigner `name` from a 32-byte Ed25519 seed.
    ///
    /// # Errors
    /// An invalid name.
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Self, KeyError> {
        check_name(name)?;
        Ok(Self {
            name: name.to_owned(),
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// A new random cosigner key.
    ///
    /// # Errors
    /// An invalid name or a failing random source.
    pub fn generate(name: &str) -> Result<Self, KeyError> {
        Self::from_seed(name, random_seed()?)
    }

    /// The secret seed, to store.
    pub fn seed(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// The cosigner name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The public key to give the log being cosigned.
    pub fn cosigner_key(&self) -> CosignerKey {
        let key = self.key.verifying_key();
        CosignerKey {
            name: self.name.clone(),
            id: key_id(&self.name, COSIGNATURE_TYPE, &key),
            key,
        }
    }

    /// Cosigns a checkpoint at `timestamp` (POSIX seconds). The caller has checked the
    /// checkpoint is consistent with the last one it cosigned for that origin.
    ///
    /// # Errors
    /// [`CosignatureError::TimestampOutOfRange`] above 2^63 - 1.
    pub fn cosign(
        &self,
        checkpoint: &SignedCheckpoint,
        timestamp: u64,
    ) -> Result<Cosignature, CosignatureError> {
        if timestamp > MAX_TIMESTAMP {
            return Err(CosignatureError::TimestampOutOfRange(timestamp));
        }
        let msg = cosigned_message(&checkpoint.checkpoint().body(), timestamp);
        Ok(Cosignature {
            name: self.name.clone(),
            id: key_id(&self.name, COSIGNATURE_TYPE, &self.key.verifying_key()),
            timestamp,
            signature: self.key.sign(&msg).to_bytes(),
        })
    }
}

/// A cosigner's public key as a C2SP vkey of type 0x04 (`<name>+<id>+base64(0x04 || key)`).
#[derive(Clone, PartialEq, Eq)]
pub struct CosignerKey {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl CosignerKey {
    /// Parses a type 0x04 vkey.
    ///
    /// # Errors
    /// [`KeyError`] if malformed, of another type, or with a wrong key ID.
    pub fn parse(s: &str) -> Result<Self, KeyError> {
        let raw = parse_vkey(s, COSIGNATURE_TYPE)?;
        Ok(Self {
            name: raw.name,
            id: raw.id,
            key: raw.key,
        })
    }

    /// The cosigner name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID: `SHA-256(name || 0x0A || 0x04 || public key)[:4]`.
    pub fn key_id(&self) -> u32 {
        self.id
    }

    /// Verifies a cosignature over a checkpoint.
    ///
    /// # Errors
    /// [`CosignatureError::KeyMismatch`] if it names another cosigner or key ID,
    /// [`CosignatureError::BadSignature`] if it does not verify over this checkpoint,
    /// [`CosignatureError::TimestampOutOfRange`].
    pub fn verify(
        &self,
        checkpoint: &SignedCheckpoint,
        cosignature: &Cosignature,
    ) -> Result<(), CosignatureError> {
        if cosignature.name != self.name || cosignature.id != self.id {
            return Err(CosignatureError::KeyMismatch {
                got: format!("{}+{:08x}", cosignature.name, cosignature.id),
                expected: format!("{}+{:08x}", self.name, self.id),
            });
        }
        if cosignature.timestamp > MAX_TIMESTAMP {
            return Err(CosignatureError::TimestampOutOfRange(cosignature.timestamp));
        }
        let msg = cosigned_message(&checkpoint.checkpoint().body(), cosignature.timestamp);
        let sig = ed25519_dalek::Signature::from_bytes(&cosignature.signature);
        self.key
            .verify_strict(&msg, &sig)
            .map_err(|_| CosignatureError::BadSignature(self.name.clone()))
    }

    /// Finds this cosigner's line on a checkpoint note and verifies it.
    ///
    /// # Errors
    /// [`CosignatureError::Missing`] if no line has this name and key ID; otherwise those of
    /// [`CosignerKey::verify`] for the line found.
    pub fn verify_on(
        &self,
        checkpoint: &SignedCheckpoint,
    ) -> Result<Cosignature, CosignatureError> {
        let mut found = None;
        for line in checkpoint.signature_lines() {
            // Lines of other keys (the log's own signature, other cosigners) may have other
            // shapes; only ours must parse.
            let Ok(sig) = signed_note::Signature::from_bytes(line) else {
                continue;
            };
            if sig.name() == self.name && sig.id() == self.id {
                found = Some(Cosignature::from_note_signature(&sig)?);
                break;
            }
        }
        let cosig = found.ok_or_else(|| CosignatureError::Missing(self.name.clone()))?;
        self.verify(checkpoint, &cosig)?;
        Ok(cosig)
    }
}

impl fmt::Display for CosignerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&encode_vkey(&self.name, COSIGNATURE_TYPE, &self.key))
    }
}

impl fmt::Debug for CosignerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CosignerKey({self})")
    }
}

impl FromStr for CosignerKey {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        Self::parse(s)
    }
}

/// One cosignature: a note signature line `— <name> base64(key ID || timestamp ||
/// signature)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cosignature {
    name: String,
    id: u32,
    timestamp: u64,
    signature: [u8; 64],
}

impl Cosignature {
    /// The cosigner name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID on the line.
    pub fn key_id(&self) -> u32 {
        self.id
    }

    /// When it was made (POSIX seconds), as the cosigner claims.
    pub fn timestamp(&self) -> u64 {
        self.timestamp
    }

    /// The note signature line, with its final newline.
    pub fn to_line(&self) -> String {
        let mut bytes = Vec::with_capacity(4 + SIGNATURE_LEN);
        bytes.extend_from_slice(&self.id.to_be_bytes());
        bytes.extend_from_slice(&self.timestamp.to_be_bytes());
        bytes.extend_from_slice(&self.signature);
        format!("— {} {}\n", self.name, BASE64_STANDARD.encode(bytes))
    }

    /// Parses a note signature line (with or without its final newline).
    ///
    /// # Errors
    /// [`CosignatureError::Malformed`]; [`CosignatureError::TimestampOutOfRange`].
    pub fn parse_line(line: &str) -> Result<Self, CosignatureError> {
        let line = line.strip_suffix('\n').unwrap_or(line);
        if line.len() > 512 {
            return Err(CosignatureError::Malformed);
        }
        let sig = signed_note::Signature::from_bytes(line.as_bytes())
            .map_err(|_| CosignatureError::Malformed)?;
        Self::from_note_signature(&sig)
    }

    fn from_note_signature(sig: &signed_note::Signature) -> Result<Self, CosignatureError> {
        let bytes = sig.signature();
        if bytes.len() != SIGNATURE_LEN {
            return Err(CosignatureError::Malformed);
        }
        let (ts, signature) = bytes.split_at(8);
        let timestamp = u64::from_be_bytes(ts.try_into().map_err(|_| CosignatureError::Malformed)?);
        if timestamp > MAX_TIMESTAMP {
            return Err(CosignatureError::TimestampOutOfRange(timestamp));
        }
        Ok(Self {
            name: sig.name().to_owned(),
            id: sig.id(),
            timestamp,
            signature: signature
                .try_into()
                .map_err(|_| CosignatureError::Malformed)?,
        })
    }
}

impl SignedCheckpoint {
    /// The same checkpoint with `cosignature` appended as a signature line, replacing an
    /// earlier line by the same name and key ID. The cosignature is verified first.
    ///
    /// # Errors
    /// Those of [`CosignerKey::verify`], or [`CosignatureError::Note`] if the note would
    /// grow past [`crate::MAX_CHECKPOINT_BYTES`].
    pub fn with_cosignature(
        &self,
        key: &CosignerKey,
        cosignature: &Cosignature,
    ) -> Result<SignedCheckpoint, CosignatureError> {
        key.verify(self, cosignature)?;
        let mut note = self.checkpoint().body();
        note.push(b'\n');
        for line in self.signature_lines() {
            let same = signed_note::Signature::from_bytes(line)
                .is_ok_and(|s| s.name() == key.name && s.id() == key.id);
            if !same {
                note.extend_from_slice(line);
                note.push(b'\n');
            }
        }
        note.extend_from_slice(cosignature.to_line().as_bytes());
        if note.len() > crate::checkpoint::MAX_CHECKPOINT_BYTES {
            return Err(CosignatureError::Note);
        }
        Ok(SignedCheckpoint::from_parts(
            self.checkpoint().clone(),
            note,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::Checkpoint;
    use crate::key::NodeKey;
    use crate::tree::leaf_hash;

    fn signed(size: u64) -> (NodeKey, SignedCheckpoint) {
        let log = NodeKey::from_seed("nld.example/log", [7; 32]).unwrap();
        let cp = Checkpoint::new("nld.example/log", size, leaf_hash(&size.to_be_bytes())).unwrap();
        let s = log.sign_checkpoint(&cp).unwrap();
        (log, s)
    }

    #[test]
    fn message_matches_the_spec_example() {
        // C2SP tlog-cosignature, "Ed25519 signed message", example message.
        let body = b"example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        assert_eq!(
            cosigned_message(body, 1679315147),
            b"cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
        );
    }

    #[test]
    fn the_spec_example_line_parses_to_its_timestamp() {
        // C2SP tlog-cosignature example cosignature line: key ID 8d66cf3f, and the
        // timestamp of the spec's example message, 1679315147.
        let line = "— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==";
        let c = Cosignature::parse_line(line).unwrap();
        assert_eq!(c.name(), "witness.example.com/w1");
        assert_eq!(c.key_id(), 0x8d66cf3f);
        assert_eq!(c.timestamp(), 1679315147);
        assert_eq!(c.to_line(), format!("{line}\n"));
    }

    #[test]
    fn key_id_uses_type_0x04() {
        let c = Cosigner::from_seed("rus.example/cosigner", [9; 32]).unwrap();
        let k = c.cosigner_key();
        let mut material = vec![0x04];
        material.extend_from_slice(k.key.as_bytes());
        assert_eq!(
            k.key_id(),
            signed_note::key_id("rus.example/cosigner", &material)
        );
        // The same Ed25519 key as a note key (type 0x01) has another ID.
        let n = NodeKey::from_seed("rus.example/cosigner", [9; 32]).unwrap();
        assert_ne!(n.verifier_key().key_id(), k.key_id());
        let text = k.to_string();
        assert_eq!(CosignerKey::parse(&text).unwrap(), k);
        let material = BASE64_STANDARD
            .decode(text.split('+').nth(2).unwrap())
            .unwrap();
        assert_eq!(material[0], 0x04, "{text}");
        assert_eq!(
            CosignerKey::parse(&n.verifier_key().to_string()),
            Err(KeyError::WrongType {
                got: 1,
                expected: 4
            })
        );
    }

    #[test]
    fn cosign_round_trip_through_the_note() {
        let (log, cp) = signed(42);
        let rus = Cosigner::from_seed("rus.example/cosigner", [1; 32]).unwrap();
        let cosig = rus.cosign(&cp, 1_700_000_000).unwrap();
        let parsed = Cosignature::parse_line(&cosig.to_line()).unwrap();
        assert_eq!(parsed, cosig);
        rus.cosigner_key().verify(&cp, &parsed).unwrap();

        let with = cp.with_cosignature(&rus.cosigner_key(), &cosig).unwrap();
        // The log signature still verifies on the cosigned note, and the line is found.
        let again = SignedCheckpoint::verify(with.as_bytes(), &log.verifier_key()).unwrap();
        assert_eq!(again.checkpoint(), cp.checkpoint());
        assert_eq!(rus.cosigner_key().verify_on(&again).unwrap(), cosig);
        // Cosigning again replaces the earlier line rather than adding one.
        let later = rus.cosign(&cp, 1_700_000_100).unwrap();
        let twice = again.with_cosignature(&rus.cosigner_key(), &later).unwrap();
        assert_eq!(twice.as_bytes().len(), with.as_bytes().len());
        assert_eq!(
            rus.cosigner_key().verify_on(&twice).unwrap().timestamp(),
            1_700_000_100
        );
        assert_eq!(
            rus.cosigner_key().verify_on(&cp),
            Err(CosignatureError::Missing("rus.example/cosigner".into()))
        );
    }

    #[test]
    fn a_cosignature_by_a_does_not_verify_under_b() {
        let (_, cp) = signed(3);
        let a = Cosigner::from_seed("rus.example/cosigner", [1; 32]).unwrap();
        let b = Cosigner::from_seed("usa.example/cosigner", [2; 32]).unwrap();
        // Same name, other key: the key ID differs.
        let b_same_name = Cosigner::from_seed("rus.example/cosigner", [2; 32]).unwrap();
        let cosig = a.cosign(&cp, 10).unwrap();
        assert!(matches!(
            b.cosigner_key().verify(&cp, &cosig),
            Err(CosignatureError::KeyMismatch { .. })
        ));
        assert!(matches!(
            b_same_name.cosigner_key().verify(&cp, &cosig),
            Err(CosignatureError::KeyMismatch { .. })
        ));
        // A line that claims B's name and key ID but carries A's signature.
        let mut forged = cosig.clone();
        forged.id = b_same_name.cosigner_key().key_id();
        assert_eq!(
            b_same_name.cosigner_key().verify(&cp, &forged),
            Err(CosignatureError::BadSignature(
                "rus.example/cosigner".into()
            ))
        );
    }

    #[test]
    fn a_cosignature_does_not_carry_over_to_another_checkpoint_or_time() {
        let (_, cp3) = signed(3);
        let (_, cp4) = signed(4);
        let a = Cosigner::from_seed("rus.example/cosigner", [1; 32]).unwrap();
        let cosig = a.cosign(&cp3, 10).unwrap();
        assert!(matches!(
            a.cosigner_key().verify(&cp4, &cosig),
            Err(CosignatureError::BadSignature(_))
        ));
        let mut moved = cosig.clone();
        moved.timestamp = 11;
        assert!(matches!(
            a.cosigner_key().verify(&cp3, &moved),
            Err(CosignatureError::BadSignature(_))
        ));
        assert_eq!(
            a.cosign(&cp3, 1 << 63),
            Err(CosignatureError::TimestampOutOfRange(1 << 63))
        );
        assert_eq!(
            Cosignature::parse_line("— a AAAA"),
            Err(CosignatureError::Malformed)
        );
    }
}
