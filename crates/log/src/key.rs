//! Ed25519 node keys and their C2SP signed-note verifier keys ("vkeys",
//! `<name>+<hex key ID>+<base64(type || public key)>`, C2SP signed-note "Verifier keys").
//! A node key signs notes (checkpoints, consents) with signature type 0x01.

use std::fmt;
use std::str::FromStr;

use base64::prelude::{Engine as _, BASE64_STANDARD};
use ed25519_dalek::{SigningKey, VerifyingKey};

use crate::error::KeyError;

/// C2SP signed-note, "Signature types": Ed25519 note signatures.
pub(crate) const TYPE_ED25519: u8 = 0x01;

/// A parsed vkey, before its type is checked.
pub(crate) struct RawVkey {
    pub(crate) name: String,
    pub(crate) id: u32,
    pub(crate) key: VerifyingKey,
}

/// The key ID: `SHA-256(name || 0x0A || type || public key)[:4]`, big-endian (C2SP
/// signed-note, "Signatures"; C2SP tlog-cosignature, "Format", for type 0x04).
pub(crate) fn key_id(name: &str, sig_type: u8, key: &VerifyingKey) -> u32 {
    let mut material = Vec::with_capacity(33);
    material.push(sig_type);
    material.extend_from_slice(key.as_bytes());
    signed_note::key_id(name, &material)
}

pub(crate) fn check_name(name: &str) -> Result<(), KeyError> {
    // C2SP signed-note, "Format": non-empty, no Unicode spaces, no plus signs.
    if signed_note::is_key_name_valid(name) && name.len() <= 256 {
        Ok(())
    } else {
        Err(KeyError::InvalidName(name.chars().take(64).collect()))
    }
}

pub(crate) fn encode_vkey(name: &str, sig_type: u8, key: &VerifyingKey) -> String {
    let mut material = Vec::with_capacity(33);
    material.push(sig_type);
    material.extend_from_slice(key.as_bytes());
    format!(
        "{name}+{:08x}+{}",
        key_id(name, sig_type, key),
        BASE64_STANDARD.encode(material)
    )
}

/// Parses a vkey of signature type `want` with a 32-byte Ed25519 public key.
pub(crate) fn parse_vkey(s: &str, want: u8) -> Result<RawVkey, KeyError> {
    if s.len() > 512 {
        return Err(KeyError::Malformed);
    }
    let (name, rest) = s.split_once('+').ok_or(KeyError::Malformed)?;
    let (id_hex, key_b64) = rest.split_once('+').ok_or(KeyError::Malformed)?;
    check_name(name)?;
    if id_hex.len() != 8 || !id_hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(KeyError::Malformed);
    }
    let id = u32::from_str_radix(id_hex, 16).map_err(|_| KeyError::Malformed)?;
    let material = BASE64_STANDARD
        .decode(key_b64)
        .map_err(|_| KeyError::Malformed)?;
    let (&sig_type, key) = material.split_first().ok_or(KeyError::Malformed)?;
    if sig_type != want {
        return Err(KeyError::WrongType {
            got: sig_type,
            expected: want,
        });
    }
    let key: [u8; 32] = key.try_into().map_err(|_| KeyError::Malformed)?;
    let key = VerifyingKey::from_bytes(&key).map_err(|_| KeyError::Malformed)?;
    if key_id(name, sig_type, &key) != id {
        return Err(KeyError::IdMismatch);
    }
    Ok(RawVkey {
        name: name.to_owned(),
        id,
        key,
    })
}

pub(crate) fn random_seed() -> Result<[u8; 32], KeyError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| KeyError::Random(e.to_string()))?;
    Ok(seed)
}

/// A node's signing key: a key name (the log's origin) and an Ed25519 key. It signs
/// checkpoints and other notes. Use a different key for cosigning ([`crate::Cosigner`]):
/// C2SP tlog-cosignature asks for distinct keys per use.
#[derive(Clone)]
pub struct NodeKey {
    name: String,
    key: SigningKey,
}

impl fmt::Debug for NodeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeKey")
            .field("vkey", &self.verifier_key().to_string())
            .finish_non_exhaustive()
    }
}

impl NodeKey {
    /// The key of `name` from a 32-byte Ed25519 seed (RFC 8032, section 5.1.5).
    ///
    /// # Errors
    /// An invalid key name.
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Self, KeyError> {
        check_name(name)?;
        Ok(Self {
            name: name.to_owned(),
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// A new random key of `name`, from the operating system's random source.
    ///
    /// # Errors
    /// An invalid key name or a failing random source.
    pub fn generate(name: &str) -> Result<Self, KeyError> {
        Self::from_seed(name, random_seed()?)
    }

    /// The secret seed, to store (keep it secret).
    pub fn seed(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The public verifier key to give partners.
    pub fn verifier_key(&self) -> VerifierKey {
        let key = self.key.verifying_key();
        VerifierKey {
            name: self.name.clone(),
            id: key_id(&self.name, TYPE_ED25519, &key),
            key,
        }
    }
}

/// A node's public key in the C2SP signed-note vkey form, type 0x01 (Ed25519). `Display`
/// gives the text to share; `FromStr` reads it back.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl VerifierKey {
    /// Parses a vkey.
    ///
    /// # Errors
    /// [`KeyError`] if malformed, of another type, or with a wrong key ID.
    pub fn parse(s: &str) -> Result<Self, KeyError> {
        let raw = parse_vkey(s, TYPE_ED25519)?;
        Ok(Self {
            name: raw.name,
            id: raw.id,
            key: raw.key,
        })
    }

    /// The key name (the log origin).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 32-bit key ID.
    pub fn key_id(&self) -> u32 {
        self.id
    }
}

/// `signed_note::Verifier` over a type 0x01 key. Strict Ed25519 verification (RFC 8032,
/// section 5.1.7, refusing non-canonical encodings and small-order keys).
pub(crate) struct NoteVerifier<'a>(pub(crate) &'a VerifierKey);

impl signed_note::Verifier for NoteVerifier<'_> {
    fn name(&self) -> &str {
        &self.0.name
    }
    fn key_id(&self) -> u32 {
        self.0.id
    }
    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        ed25519_dalek::Signature::from_slice(sig)
            .is_ok_and(|sig| self.0.key.verify_strict(msg, &sig).is_ok())
    }
}

/// `signed_note::Signer` over a node key, type 0x01.
pub(crate) struct NoteSigner<'a>(pub(crate) &'a NodeKey, pub(crate) u32);

impl signed_note::Signer for NoteSigner<'_> {
    fn name(&self) -> &str {
        &self.0.name
    }
    fn key_id(&self) -> u32 {
        self.1
    }
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, ed25519_dalek::SignatureError> {
        use ed25519_dalek::Signer as _;
        Ok(self.0.key.sign(msg).to_bytes().to_vec())
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&encode_vkey(&self.name, TYPE_ED25519, &self.key))
    }
}

impl fmt::Debug for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifierKey({self})")
    }
}

impl FromStr for VerifierKey {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vkey_matches_signed_note_for_the_go_example_key() {
        // The example key of Go's sumdb/note (quoted in signed_note's documentation):
        // PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz
        let seed: [u8; 32] = BASE64_STANDARD
            .decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")
            .unwrap()[1..]
            .try_into()
            .unwrap();
        let k = NodeKey::from_seed("PeterNeumann", seed).unwrap();
        assert_eq!(
            k.verifier_key().to_string(),
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
        );
        let v = VerifierKey::parse(
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        )
        .unwrap();
        assert_eq!(v, k.verifier_key());
        assert_eq!(v.key_id(), 0xc74f20a3);
    }

    #[test]
    fn bad_vkeys_are_refused() {
        let good = NodeKey::generate("node.example/log")
            .unwrap()
            .verifier_key()
            .to_string();
        assert!(VerifierKey::parse(&good).is_ok());
        assert_eq!(
            VerifierKey::parse(&good.replacen("node", "nodf", 1)),
            Err(KeyError::IdMismatch)
        );
        assert!(matches!(
            VerifierKey::parse("a b+00000000+AQ=="),
            Err(KeyError::InvalidName(_))
        ));
        assert_eq!(VerifierKey::parse("x+1234+AQ=="), Err(KeyError::Malformed));
        assert_eq!(VerifierKey::parse("nothing"), Err(KeyError::Malformed));
        assert!(NodeKey::from_seed("", [0; 32]).is_err());
        assert!(NodeKey::from_seed("a+b", [0; 32]).is_err());
    }
}
