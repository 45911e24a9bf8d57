//! Checkpoints (C2SP tlog-checkpoint) signed as notes (C2SP signed-note) by the node key.
//! A [`SignedCheckpoint`] exists only after its log signature verified, so code holding one
//! may trust its origin, size and root; extra signature lines (cosignatures) ride along and
//! are checked separately.

use tlog_tiles::Hash;

use crate::error::{CheckpointError, ProofError};
use crate::key::{NodeKey, NoteSigner, NoteVerifier, VerifierKey};
use crate::tree::{leaf_hash, verify_inclusion, MAX_TREE_SIZE};

/// The largest signed checkpoint note this crate reads (origin, size, root and up to a few
/// dozen signature lines fit easily).
pub const MAX_CHECKPOINT_BYTES: usize = 16 * 1024;

/// The first line of a cosignature message (C2SP tlog-cosignature, "Ed25519 signed message").
/// A node key refuses to sign a note starting with it, so a note signature can never be read
/// as a cosignature even if one key were used for both.
pub(crate) const COSIGNATURE_HEADER: &str = "cosignature/v1\n";

/// A tree head: origin line, tree size, root hash (C2SP tlog-checkpoint, "Note text").
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    origin: String,
    size: u64,
    root: Hash,
}

impl Checkpoint {
    /// A checkpoint of the log `origin` at `size` leaves with root `root`.
    ///
    /// # Errors
    /// [`CheckpointError::Malformed`] for an empty origin, one with a newline, or a size
    /// above [`MAX_TREE_SIZE`].
    pub fn new(origin: &str, size: u64, root: Hash) -> Result<Self, CheckpointError> {
        if origin.is_empty() || origin.chars().any(char::is_control) || size > MAX_TREE_SIZE {
            return Err(CheckpointError::Malformed);
        }
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
        })
    }

    /// The origin line: the log's name.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The tree size.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The root hash.
    pub fn root(&self) -> Hash {
        self.root
    }

    /// The note text: `<origin>\n<size>\n<base64 root>\n` (C2SP tlog-checkpoint). This crate
    /// writes no extension lines.
    pub fn body(&self) -> Vec<u8> {
        format!("{}\n{}\n{}\n", self.origin, self.size, self.root).into_bytes()
    }

    /// Parses a note text. Extension lines are refused: liaison checkpoints have none, and a
    /// cosigner would sign text it cannot judge (C2SP tlog-cosignature, "Ed25519 signed
    /// message").
    ///
    /// # Errors
    /// [`CheckpointError::Malformed`].
    pub fn parse_body(text: &[u8]) -> Result<Self, CheckpointError> {
        let cp =
            tlog_tiles::Checkpoint::from_bytes(text).map_err(|_| CheckpointError::Malformed)?;
        if !cp.extension().is_empty() {
            return Err(CheckpointError::Malformed);
        }
        Self::new(cp.origin(), cp.size(), *cp.hash())
    }
}

impl NodeKey {
    /// Signs a note text with this key (C2SP signed-note): returns the text, a blank line
    /// and the signature line.
    ///
    /// # Errors
    /// [`CheckpointError::MalformedNote`] for text that is not a valid note text, and
    /// [`CheckpointError::CosignaturePrefix`] for text starting with `cosignature/v1`.
    pub fn sign_note(&self, text: &[u8]) -> Result<Vec<u8>, CheckpointError> {
        if text.starts_with(COSIGNATURE_HEADER.as_bytes()) {
            return Err(CheckpointError::CosignaturePrefix);
        }
        let mut note =
            signed_note::Note::new(text, &[]).map_err(|_| CheckpointError::MalformedNote)?;
        let id = self.verifier_key().key_id();
        note.add_sigs(&[&NoteSigner(self, id)])
            .map_err(|_| CheckpointError::Signing)?;
        Ok(note.to_bytes())
    }

    /// Adds this key's signature to a signed note (its other signature lines are kept, a
    /// previous line by this key is replaced): how a second party signs the same text.
    /// The caller verifies the existing signatures it relies on first.
    ///
    /// # Errors
    /// [`CheckpointError::TooLarge`], [`CheckpointError::MalformedNote`] (not a signed
    /// note), [`CheckpointError::CosignaturePrefix`].
    pub fn countersign_note(&self, note: &[u8]) -> Result<Vec<u8>, CheckpointError> {
        if note.len() > MAX_CHECKPOINT_BYTES {
            return Err(CheckpointError::TooLarge(note.len()));
        }
        let mut parsed =
            signed_note::Note::from_bytes(note).map_err(|_| CheckpointError::MalformedNote)?;
        if parsed.text().starts_with(COSIGNATURE_HEADER.as_bytes()) {
            return Err(CheckpointError::CosignaturePrefix);
        }
        let id = self.verifier_key().key_id();
        parsed
            .add_sigs(&[&NoteSigner(self, id)])
            .map_err(|_| CheckpointError::Signing)?;
        Ok(parsed.to_bytes())
    }

    /// Signs a checkpoint of this node's log. The origin must be the key name.
    ///
    /// # Errors
    /// [`CheckpointError::OriginMismatch`]; signing failures.
    pub fn sign_checkpoint(&self, cp: &Checkpoint) -> Result<SignedCheckpoint, CheckpointError> {
        if cp.origin != self.name() {
            return Err(CheckpointError::OriginMismatch {
                origin: cp.origin.clone(),
                key: self.name().to_owned(),
            });
        }
        Ok(SignedCheckpoint {
            checkpoint: cp.clone(),
            note: self.sign_note(&cp.body())?,
        })
    }
}

/// Verifies a signed note against one key and returns its text (C2SP signed-note,
/// "Verifying"). Signature lines by other keys are allowed and ignored.
///
/// # Errors
/// [`CheckpointError::TooLarge`], [`CheckpointError::MalformedNote`],
/// [`CheckpointError::NotSignedByKey`] (no line by this key: another key signed it),
/// [`CheckpointError::BadSignature`] (a line by this key that does not verify: the text
/// or the signature was changed).
pub fn verify_note(note: &[u8], key: &VerifierKey) -> Result<Vec<u8>, CheckpointError> {
    if note.len() > MAX_CHECKPOINT_BYTES {
        return Err(CheckpointError::TooLarge(note.len()));
    }
    let parsed = signed_note::Note::from_bytes(note).map_err(|_| CheckpointError::MalformedNote)?;
    let verifier: Box<dyn signed_note::Verifier + '_> = Box::new(NoteVerifier(key));
    // `VerifierList` wants 'static verifiers; ours borrows, so look the key up by hand.
    struct One<'a>(Box<dyn signed_note::Verifier + 'a>);
    impl signed_note::Verifiers for One<'_> {
        fn verifier(
            &self,
            name: &str,
            id: u32,
        ) -> Result<&dyn signed_note::Verifier, signed_note::VerificationError> {
            if name == self.0.name() && id == self.0.key_id() {
                Ok(&*self.0)
            } else {
                Err(signed_note::VerificationError::UnknownKey {
                    name: name.to_owned(),
                    id,
                })
            }
        }
    }
    match parsed.verify(&One(verifier)) {
        Ok(_) => Ok(parsed.text().to_vec()),
        Err(signed_note::NoteError::UnverifiedNote) => {
            Err(CheckpointError::NotSignedByKey(key.to_string()))
        }
        Err(signed_note::NoteError::InvalidSignature { .. }) => {
            Err(CheckpointError::BadSignature(key.name().to_owned()))
        }
        Err(_) => Err(CheckpointError::MalformedNote),
    }
}

/// A checkpoint whose log signature has been verified, with its note as received
/// (including any cosignature lines).
#[derive(Debug, Clone, PartialEq)]
pub struct SignedCheckpoint {
    checkpoint: Checkpoint,
    note: Vec<u8>,
}

impl SignedCheckpoint {
    /// Parses a signed checkpoint and verifies it is signed by `key` and names `key`'s log
    /// as its origin.
    ///
    /// # Errors
    /// Those of [`verify_note`], then [`CheckpointError::Malformed`] and
    /// [`CheckpointError::OriginMismatch`].
    pub fn verify(note: &[u8], key: &VerifierKey) -> Result<Self, CheckpointError> {
        let text = verify_note(note, key)?;
        let checkpoint = Checkpoint::parse_body(&text)?;
        if checkpoint.origin != key.name() {
            return Err(CheckpointError::OriginMismatch {
                origin: checkpoint.origin,
                key: key.name().to_owned(),
            });
        }
        Ok(Self {
            checkpoint,
            note: note.to_vec(),
        })
    }

    /// The checkpoint.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// The signed note, as served at `<prefix>/checkpoint` (C2SP tlog-tiles, "Checkpoints").
    pub fn as_bytes(&self) -> &[u8] {
        &self.note
    }

    /// The signature lines after the note text, each without its newline.
    pub(crate) fn signature_lines(&self) -> impl Iterator<Item = &[u8]> {
        // The note was parsed by signed_note: text, one blank line, then signature lines.
        let start = self.checkpoint.body().len() + 1;
        self.note
            .get(start..)
            .unwrap_or_default()
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
    }

    pub(crate) fn from_parts(checkpoint: Checkpoint, note: Vec<u8>) -> Self {
        Self { checkpoint, note }
    }
}

/// What a recipient gets with a delivery: the leaf's index, the leaf hash the log committed
/// to, and the audit path to a checkpoint's root.
#[derive(Debug, Clone, PartialEq)]
pub struct InclusionProof {
    /// The leaf index.
    pub index: u64,
    /// The leaf hash in the log.
    pub leaf_hash: Hash,
    /// The audit path (RFC 6962, section 2.1.1).
    pub path: Vec<Hash>,
}

impl InclusionProof {
    /// Checks that `entry` (the bytes the recipient holds) is leaf `index` of the tree under
    /// `checkpoint`.
    ///
    /// # Errors
    /// [`ProofError::LeafMismatch`] if the entry does not hash to the committed leaf hash
    /// (the entry was changed), [`ProofError::InclusionMismatch`] if the path does not reach
    /// the root (the proof or the leaf hash was changed), and the bounds errors of
    /// [`verify_inclusion`].
    pub fn verify(&self, entry: &[u8], checkpoint: &Checkpoint) -> Result<(), ProofError> {
        if leaf_hash(entry) != self.leaf_hash {
            return Err(ProofError::LeafMismatch { index: self.index });
        }
        verify_inclusion(
            self.leaf_hash,
            self.index,
            checkpoint.size,
            checkpoint.root,
            &self.path,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::EMPTY_ROOT;

    fn key(name: &str, b: u8) -> NodeKey {
        NodeKey::from_seed(name, [b; 32]).unwrap()
    }

    #[test]
    fn body_matches_the_spec_example_format() {
        // C2SP tlog-checkpoint example, without its extension line.
        let text = b"example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        let cp = Checkpoint::parse_body(text).unwrap();
        assert_eq!(cp.origin(), "example.com/behind-the-sofa");
        assert_eq!(cp.size(), 20852163);
        assert_eq!(cp.body(), text);
        let with_ext = b"example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\nTimestamp: 1689748607742585419\n";
        assert_eq!(
            Checkpoint::parse_body(with_ext),
            Err(CheckpointError::Malformed)
        );
        for bad in [
            &b"example.com\n012\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"[..],
            b"example.com\n12\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n",
            b"\n12\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
            b"example.com\n12\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=",
        ] {
            assert!(Checkpoint::parse_body(bad).is_err());
        }
    }

    #[test]
    fn sign_then_verify_round_trips() {
        let k = key("rus.example/log", 1);
        let cp = Checkpoint::new("rus.example/log", 0, EMPTY_ROOT).unwrap();
        let signed = k.sign_checkpoint(&cp).unwrap();
        let back = SignedCheckpoint::verify(signed.as_bytes(), &k.verifier_key()).unwrap();
        assert_eq!(back.checkpoint(), &cp);
        assert_eq!(back, signed);
        let text = String::from_utf8(signed.as_bytes().to_vec()).unwrap();
        assert!(text.starts_with("rus.example/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n— rus.example/log "));
    }

    #[test]
    fn a_countersigned_note_verifies_under_both_keys_and_breaks_under_either_when_altered() {
        let a = NodeKey::from_seed("liaison.USA", [1; 32]).unwrap();
        let b = NodeKey::from_seed("liaison.RUS", [2; 32]).unwrap();
        let text = b"liaison agreement v1\nfrom USA\nto RUS\n";
        let one = a.sign_note(text).unwrap();
        assert!(matches!(
            verify_note(&one, &b.verifier_key()),
            Err(CheckpointError::NotSignedByKey(_))
        ));
        let both = b.countersign_note(&one).unwrap();
        assert_eq!(verify_note(&both, &a.verifier_key()).unwrap(), text);
        assert_eq!(verify_note(&both, &b.verifier_key()).unwrap(), text);
        // Countersigning again replaces the line rather than adding a second one.
        let again = b.countersign_note(&both).unwrap();
        assert_eq!(again.len(), both.len());
        let altered = String::from_utf8(both).unwrap().replace("to RUS", "to IRN");
        for k in [a.verifier_key(), b.verifier_key()] {
            assert!(matches!(
                verify_note(altered.as_bytes(), &k),
                Err(CheckpointError::BadSignature(_))
            ));
        }
        assert!(a.countersign_note(b"no signature here\n").is_err());
    }

    #[test]
    fn go_note_example_verifies() {
        // The signed note example of Go's sumdb/note, as quoted by signed_note.
        let vkey = VerifierKey::parse(
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        )
        .unwrap();
        let msg = "If you think cryptography is the answer to your problem,\n\
                   then you don't know what your problem is.\n\
                   \n\
                   — PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
        verify_note(msg.as_bytes(), &vkey).unwrap();
        let changed = msg.replace("answer", "Answer");
        assert_eq!(
            verify_note(changed.as_bytes(), &vkey),
            Err(CheckpointError::BadSignature("PeterNeumann".into()))
        );
    }

    #[test]
    fn wrong_key_origin_and_tampering_have_distinct_errors() {
        let a = key("rus.example/log", 1);
        let b = key("rus.example/log", 2);
        let cp = Checkpoint::new("rus.example/log", 5, EMPTY_ROOT).unwrap();
        let signed = a.sign_checkpoint(&cp).unwrap();
        assert!(matches!(
            SignedCheckpoint::verify(signed.as_bytes(), &b.verifier_key()),
            Err(CheckpointError::NotSignedByKey(_))
        ));
        // Same size, another root, the old signature kept: a replaced checkpoint.
        let other = Checkpoint::new("rus.example/log", 5, leaf_hash(b"x")).unwrap();
        let replaced = String::from_utf8(signed.as_bytes().to_vec())
            .unwrap()
            .replace(&EMPTY_ROOT.to_string(), &other.root().to_string());
        assert_eq!(
            SignedCheckpoint::verify(replaced.as_bytes(), &a.verifier_key()),
            Err(CheckpointError::BadSignature("rus.example/log".into()))
        );
        // A key of another name signing a checkpoint that names our log.
        let c = key("mallory.example/log", 3);
        assert!(matches!(
            c.sign_checkpoint(&cp),
            Err(CheckpointError::OriginMismatch { .. })
        ));
        let forged = c.sign_note(&cp.body()).unwrap();
        assert!(matches!(
            SignedCheckpoint::verify(&forged, &c.verifier_key()),
            Err(CheckpointError::OriginMismatch { .. })
        ));
        assert_eq!(
            SignedCheckpoint::verify(b"garbage", &a.verifier_key()),
            Err(CheckpointError::MalformedNote)
        );
        assert_eq!(
            SignedCheckpoint::verify(&vec![b'a'; MAX_CHECKPOINT_BYTES + 1], &a.verifier_key()),
            Err(CheckpointError::TooLarge(MAX_CHECKPOINT_BYTES + 1))
        );
        assert_eq!(
            a.sign_note(b"cosignature/v1\ntime 1\nx\n"),
            Err(CheckpointError::CosignaturePrefix)
        );
    }
}
