//! The log crate against outside references: the transparency-dev/merkle RFC 6962 reference
//! vectors, the independent `ct-merkle` crate (differential), every pair of sizes, and the
//! tampering cases a partner must be able to tell apart.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ct_merkle::mem_backed_tree::MemoryBackedTree;
use ct_merkle::{ConsistencyProof, InclusionProof as CtInclusionProof, RootHash};
use liaison_log::{
    check_consistency, leaf_hash, prove_consistency, prove_inclusion, root, verify_consistency,
    verify_inclusion, Checkpoint, CheckpointError, Consistency, Cosigner, Hash, InclusionProof,
    MemoryTree, NodeKey, ProofError, SignedCheckpoint, TreeError, EMPTY_ROOT,
};
use proptest::prelude::*;
use sha2::Sha256;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn hash(s: &str) -> Hash {
    Hash(hex(s).try_into().unwrap())
}

fn flat(proof: &[Hash]) -> Vec<u8> {
    proof.iter().flat_map(|h| h.0).collect()
}

// transparency-dev/merkle testonly/reference_test.go (the RFC 6962 reference data, also
// used by ct-merkle's known-answer tests).
const LEAVES: &[&str] = &[
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];
const ROOTS: &[&str] = &[
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];
const INCLUSION: &[(u64, u64, &[&str])] = &[
    (1, 0, &[]),
    (
        2,
        0,
        &["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"],
    ),
    (
        2,
        1,
        &["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"],
    ),
    (
        3,
        2,
        &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
    ),
    (
        5,
        1,
        &[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        8,
        0,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        8,
        5,
        &[
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
];
const CONSISTENCY: &[(u64, u64, &[&str])] = &[
    (1, 1, &[]),
    (
        1,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        2,
        5,
        &[
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        8,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
];

fn reference_tree() -> MemoryTree {
    let mut t = MemoryTree::new();
    for l in LEAVES {
        t.append(&hex(l)).unwrap();
    }
    t
}

#[test]
fn rfc6962_reference_roots() {
    let t = reference_tree();
    assert_eq!(root(0, &t).unwrap(), EMPTY_ROOT);
    for (i, want) in ROOTS.iter().enumerate() {
        assert_eq!(
            root(i as u64 + 1, &t).unwrap(),
            hash(want),
            "size {}",
            i + 1
        );
    }
}

#[test]
fn rfc6962_reference_inclusion_proofs() {
    let t = reference_tree();
    for &(size, index, want) in INCLUSION {
        let want: Vec<Hash> = want.iter().map(|h| hash(h)).collect();
        let got = prove_inclusion(index, size, &t).unwrap();
        assert_eq!(got, want, "inclusion {index} in {size}");
        let leaf = leaf_hash(&hex(LEAVES[index as usize]));
        verify_inclusion(leaf, index, size, root(size, &t).unwrap(), &got).unwrap();
    }
}

#[test]
fn rfc6962_reference_consistency_proofs() {
    let t = reference_tree();
    for &(old, new, want) in CONSISTENCY {
        let want: Vec<Hash> = want.iter().map(|h| hash(h)).collect();
        let got = prove_consistency(old, new, &t).unwrap();
        assert_eq!(got, want, "consistency {old} -> {new}");
        verify_consistency(
            old,
            root(old, &t).unwrap(),
            new,
            root(new, &t).unwrap(),
            &got,
        )
        .unwrap();
    }
}

/// Every (index, size) inclusion proof and every (m, n) consistency proof up to `max`,
/// each verified, and with a hash flipped refused, up to 300 leaves (the workspace builds
/// SHA-256 and `tlog_tiles` optimised even in test builds, so this takes seconds).
#[test]
fn all_pairs_of_sizes() {
    let max: u64 = 300;
    let mut t = MemoryTree::new();
    let mut roots = vec![EMPTY_ROOT];
    for i in 0..max {
        t.append(&i.to_le_bytes()).unwrap();
        roots.push(root(i + 1, &t).unwrap());
    }
    for n in 1..=max {
        let rn = roots[n as usize];
        for i in 0..n {
            let leaf = leaf_hash(&i.to_le_bytes());
            let p = prove_inclusion(i, n, &t).unwrap();
            verify_inclusion(leaf, i, n, rn, &p).unwrap();
            if let Some(first) = p.first() {
                let mut bad = p.clone();
                bad[0] = node_flip(*first);
                assert_eq!(
                    verify_inclusion(leaf, i, n, rn, &bad),
                    Err(ProofError::InclusionMismatch { index: i, size: n })
                );
            }
        }
        for m in 1..=n {
            let p = prove_consistency(m, n, &t).unwrap();
            verify_consistency(m, roots[m as usize], n, rn, &p).unwrap();
            // Flip the first and the last hash (flipping each one costs 10x the time).
            for k in [0, p.len().saturating_sub(1)]
                .into_iter()
                .filter(|&k| k < p.len())
            {
                let mut bad = p.clone();
                bad[k] = node_flip(bad[k]);
                assert_eq!(
                    verify_consistency(m, roots[m as usize], n, rn, &bad),
                    Err(ProofError::ConsistencyMismatch { old: m, new: n }),
                    "{m} -> {n}, hash {k}"
                );
            }
            if m < n {
                // The proof is for these sizes only.
                assert!(
                    verify_consistency(m, roots[m as usize], n - 1, roots[n as usize - 1], &p)
                        .is_err()
                );
            }
        }
    }
}

fn node_flip(mut h: Hash) -> Hash {
    h.0[31] ^= 1;
    h
}

fn ct_tree(leaves: &[Vec<u8>]) -> MemoryBackedTree<Sha256, Vec<u8>> {
    let mut t = MemoryBackedTree::<Sha256, Vec<u8>>::new();
    for l in leaves {
        t.push(l.clone());
    }
    t
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(if cfg!(debug_assertions) { 48 } else { 256 }))]

    /// Roots, inclusion proofs and consistency proofs agree byte for byte with ct-merkle,
    /// and each side's proofs verify under the other side's verifier.
    #[test]
    fn differential_against_ct_merkle(
        leaves in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 1..300),
        i in any::<prop::sample::Index>(),
        m in any::<prop::sample::Index>(),
    ) {
        let n = leaves.len() as u64;
        let mut ours = MemoryTree::new();
        for l in &leaves {
            ours.append(l).unwrap();
        }
        let theirs = ct_tree(&leaves);
        let our_root = root(n, &ours).unwrap();
        prop_assert_eq!(theirs.root().as_bytes().to_vec(), our_root.0.to_vec());

        let i = i.index(leaves.len());
        let ours_p = prove_inclusion(i as u64, n, &ours).unwrap();
        let theirs_p = theirs.prove_inclusion(i);
        prop_assert_eq!(theirs_p.as_bytes().to_vec(), flat(&ours_p));
        theirs
            .root()
            .verify_inclusion(&leaves[i], i as u64, &CtInclusionProof::from_bytes(flat(&ours_p)))
            .unwrap();

        let m = m.index(leaves.len()) as u64 + 1;
        let ours_c = prove_consistency(m, n, &ours).unwrap();
        let old = ct_tree(&leaves[..m as usize]);
        let theirs_c = theirs.prove_consistency((n - m) as usize);
        prop_assert_eq!(theirs_c.as_bytes().to_vec(), flat(&ours_c));
        let their_old_root = RootHash::<Sha256>::new(*old.root().as_bytes(), m);
        theirs
            .root()
            .verify_consistency(&their_old_root, &ConsistencyProof::try_from_bytes(flat(&ours_c)).unwrap())
            .unwrap();
        let old_root = Hash(old.root().as_bytes().as_slice().try_into().unwrap());
        verify_consistency(m, old_root, n, our_root, &ours_c).unwrap();
    }
}

// The tampering cases: each detected, each with its own error.

struct Log {
    key: NodeKey,
    tree: MemoryTree,
}

impl Log {
    fn new(entries: u64) -> Self {
        let mut tree = MemoryTree::new();
        for i in 0..entries {
            tree.append(format!("delivery {i}").as_bytes()).unwrap();
        }
        Self {
            key: NodeKey::from_seed("rus.example/log", [5; 32]).unwrap(),
            tree,
        }
    }

    fn checkpoint(&self) -> SignedCheckpoint {
        let size = self.tree.size();
        let cp = Checkpoint::new("rus.example/log", size, root(size, &self.tree).unwrap()).unwrap();
        self.key.sign_checkpoint(&cp).unwrap()
    }

    fn proof(&self, index: u64) -> InclusionProof {
        InclusionProof {
            index,
            leaf_hash: leaf_hash(format!("delivery {index}").as_bytes()),
            path: prove_inclusion(index, self.tree.size(), &self.tree).unwrap(),
        }
    }
}

#[test]
fn a_delivery_verifies_and_a_tampered_leaf_is_named() {
    let log = Log::new(21);
    let cp = log.checkpoint();
    let proof = log.proof(7);
    proof.verify(b"delivery 7", cp.checkpoint()).unwrap();
    assert_eq!(
        proof.verify(b"delivery 7 (edited)", cp.checkpoint()),
        Err(ProofError::LeafMismatch { index: 7 })
    );
}

#[test]
fn a_tampered_proof_is_named() {
    let log = Log::new(21);
    let cp = log.checkpoint();
    let mut proof = log.proof(7);
    proof.path[1] = node_flip(proof.path[1]);
    assert_eq!(
        proof.verify(b"delivery 7", cp.checkpoint()),
        Err(ProofError::InclusionMismatch { index: 7, size: 21 })
    );
    // A leaf hash swapped for another leaf's, consistently with the entry, is a proof failure.
    let mut other = log.proof(7);
    other.leaf_hash = leaf_hash(b"delivery 8");
    assert_eq!(
        other.verify(b"delivery 8", cp.checkpoint()),
        Err(ProofError::InclusionMismatch { index: 7, size: 21 })
    );
}

#[test]
fn a_truncated_log_is_named() {
    let mut log = Log::new(30);
    let before = log.checkpoint();
    log.tree.truncate(20);
    // The storage no longer has what the old checkpoint covered.
    assert!(matches!(root(30, &log.tree), Err(TreeError::Storage(_))));
    // The truncated log's new checkpoint is refused as a rollback.
    let after = log.checkpoint();
    let Consistency::Inconsistent(ev) = check_consistency(&before, &after, None).unwrap() else {
        panic!("truncation accepted");
    };
    assert_eq!(ev.failure(), &ProofError::Truncated { old: 30, new: 20 });
    assert!(ev.is_conclusive());
}

#[test]
fn a_replaced_checkpoint_is_named() {
    let log = Log::new(10);
    let honest = log.checkpoint();
    // The same log key signs another root for the same size: a fork shown by signatures alone.
    let other = Checkpoint::new("rus.example/log", 10, leaf_hash(b"rewritten")).unwrap();
    let replaced = log.key.sign_checkpoint(&other).unwrap();
    let Consistency::Inconsistent(ev) = check_consistency(&honest, &replaced, None).unwrap() else {
        panic!("fork accepted");
    };
    assert_eq!(ev.failure(), &ProofError::RootMismatch { size: 10 });
    assert_eq!(ev.previous(), &honest);
    assert_eq!(ev.current(), &replaced);
    // Someone without the key replacing the root in the text: the signature fails.
    let text = String::from_utf8(honest.as_bytes().to_vec())
        .unwrap()
        .replace(
            &honest.checkpoint().root().to_string(),
            &other.root().to_string(),
        );
    assert_eq!(
        SignedCheckpoint::verify(text.as_bytes(), &log.key.verifier_key()),
        Err(CheckpointError::BadSignature("rus.example/log".into()))
    );
}

#[test]
fn a_wrong_key_is_named() {
    let log = Log::new(3);
    let cp = log.checkpoint();
    let impostor = NodeKey::from_seed("rus.example/log", [6; 32]).unwrap();
    assert!(matches!(
        SignedCheckpoint::verify(cp.as_bytes(), &impostor.verifier_key()),
        Err(CheckpointError::NotSignedByKey(_))
    ));
}

#[test]
fn growth_with_a_proof_is_consistent_and_a_forked_history_is_evidence() {
    let mut log = Log::new(40);
    let old = log.checkpoint();
    for i in 40..77u64 {
        log.tree.append(format!("delivery {i}").as_bytes()).unwrap();
    }
    let new = log.checkpoint();
    let proof = prove_consistency(40, 77, &log.tree).unwrap();
    assert_eq!(
        check_consistency(&old, &new, Some(&proof)).unwrap(),
        Consistency::Consistent
    );
    assert_eq!(
        check_consistency(&old, &old, None).unwrap(),
        Consistency::Consistent
    );

    // No proof for a grown tree: inconsistent until one is given, not conclusive.
    let Consistency::Inconsistent(ev) = check_consistency(&old, &new, None).unwrap() else {
        panic!("missing proof accepted");
    };
    assert_eq!(ev.failure(), &ProofError::ProofMissing { old: 40, new: 77 });
    assert!(!ev.is_conclusive());

    // A forked history: the first 40 entries rewritten, then grown to 77.
    let mut fork = MemoryTree::new();
    for i in 0..77u64 {
        let e = if i == 12 {
            "delivery 12 (rewritten)".to_string()
        } else {
            format!("delivery {i}")
        };
        fork.append(e.as_bytes()).unwrap();
    }
    let forked = log
        .key
        .sign_checkpoint(&Checkpoint::new("rus.example/log", 77, root(77, &fork).unwrap()).unwrap())
        .unwrap();
    let fork_proof = prove_consistency(40, 77, &fork).unwrap();
    let Consistency::Inconsistent(ev) =
        check_consistency(&old, &forked, Some(&fork_proof)).unwrap()
    else {
        panic!("fork accepted");
    };
    assert_eq!(
        ev.failure(),
        &ProofError::ConsistencyMismatch { old: 40, new: 77 }
    );
    assert_eq!(ev.proof(), Some(fork_proof.as_slice()));
    assert_eq!(ev.previous(), &old);
    assert_eq!(ev.current(), &forked);

    // Checkpoints of two different logs are a caller error, not evidence.
    let other = NodeKey::from_seed("usa.example/log", [8; 32]).unwrap();
    let theirs = other
        .sign_checkpoint(&Checkpoint::new("usa.example/log", 0, EMPTY_ROOT).unwrap())
        .unwrap();
    assert!(check_consistency(&old, &theirs, None).is_err());
}

#[test]
fn a_partner_cosigns_after_checking_consistency() {
    // The flow of issue 4: the puller verifies the partner's new checkpoint, checks it is
    // consistent with the last one, then cosigns; the partner verifies and stores it.
    let mut log = Log::new(5);
    let first = log.checkpoint();
    log.tree.append(b"delivery 5").unwrap();
    let second_note = log.checkpoint().as_bytes().to_vec();

    let nld = Cosigner::from_seed("nld.example/cosigner", [11; 32]).unwrap();
    let second = SignedCheckpoint::verify(&second_note, &log.key.verifier_key()).unwrap();
    let proof = prove_consistency(5, 6, &log.tree).unwrap();
    assert_eq!(
        check_consistency(&first, &second, Some(&proof)).unwrap(),
        Consistency::Consistent
    );
    let cosig = nld.cosign(&second, 1_750_000_000).unwrap();

    let stored = second
        .with_cosignature(&nld.cosigner_key(), &cosig)
        .unwrap();
    let reread = SignedCheckpoint::verify(stored.as_bytes(), &log.key.verifier_key()).unwrap();
    assert_eq!(
        nld.cosigner_key().verify_on(&reread).unwrap().timestamp(),
        1_750_000_000
    );
}
