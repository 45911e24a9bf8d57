//! End to end between an asker and a holder in memory: the intersection equals the plain
//! set intersection, and each misuse is refused with its own error.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use liaison_psi::{Budget, EpochId, EpochSet, HolderKey, Limits, MasterSecret, PsiError, Query};
use proptest::prelude::*;
use rand_core::OsRng;

const VERSION: u32 = 1;
const LIMITS: Limits = Limits {
    max_request: 1024,
    normaliser_version: VERSION,
};

fn holder(asker: &str) -> HolderKey {
    HolderKey::derive(&MasterSecret([7; 32]), EpochId(1), asker).unwrap()
}

fn keys(values: &[u16]) -> Vec<Vec<u8>> {
    values
        .iter()
        .map(|v| format!("phone/1/exact:+4420{v:05}").into_bytes())
        .collect()
}

fn publish(key: &HolderKey, held: &[Vec<u8>]) -> EpochSet {
    key.precompute(held.iter().map(Vec::as_slice), VERSION, &mut OsRng)
        .unwrap()
}

fn intersect(asked: &[Vec<u8>], held: &[Vec<u8>]) -> BTreeSet<Vec<u8>> {
    let key = holder("USA");
    let set = publish(&key, held);
    let (query, request) = Query::new(&set, asked, VERSION, &mut OsRng).unwrap();
    assert_eq!(request.blinded.len(), liaison_psi::bucket(asked.len()));
    let mut budget = Budget::new(1 << 20);
    let response = key
        .evaluate(&request, &mut budget, &LIMITS, &mut OsRng)
        .unwrap();
    assert_eq!(budget.used, request.blinded.len() as u64);
    query
        .finish(&response, &set)
        .unwrap()
        .into_iter()
        .map(|i| asked[i].clone())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn intersection_equals_the_plain_set_intersection(
        asked in proptest::collection::vec(0u16..80, 0..40),
        held in proptest::collection::vec(0u16..80, 0..60),
    ) {
        let (asked, held) = (keys(&asked), keys(&held));
        let plain: BTreeSet<_> = asked.iter().filter(|a| held.contains(a)).cloned().collect();
        prop_assert_eq!(intersect(&asked, &held), plain);
    }
}

#[test]
fn empty_disjoint_identical_and_duplicate_sets() {
    let a = keys(&[1, 2, 3, 4, 5]);
    assert!(intersect(&[], &a).is_empty());
    assert!(intersect(&a, &[]).is_empty());
    assert!(intersect(&a, &keys(&[6, 7, 8])).is_empty());
    assert_eq!(intersect(&a, &a).len(), 5);
    assert_eq!(intersect(&keys(&[1, 1, 2, 9]), &keys(&[1, 2, 2])).len(), 2);
}

#[test]
fn a_proof_under_another_askers_key_is_refused() {
    let held = keys(&[1, 2]);
    let theirs = holder("RUS");
    let set = publish(&holder("USA"), &held);
    let (query, request) = Query::new(&set, &held, VERSION, &mut OsRng).unwrap();
    let response = theirs
        .evaluate(&request, &mut Budget::new(8), &LIMITS, &mut OsRng)
        .unwrap();
    assert_eq!(
        query.finish(&response, &set).unwrap_err(),
        PsiError::ProofInvalid
    );
}

#[test]
fn a_tampered_proof_or_element_is_refused() {
    let key = holder("USA");
    let held = keys(&[1, 2, 3]);
    let set = publish(&key, &held);
    for tamper in 0..2 {
        let (query, request) = Query::new(&set, &held, VERSION, &mut OsRng).unwrap();
        let mut response = key
            .evaluate(&request, &mut Budget::new(8), &LIMITS, &mut OsRng)
            .unwrap();
        if tamper == 0 {
            response.proof.s[0] ^= 1;
        } else {
            response.evaluated.swap(0, 1);
        }
        assert_eq!(
            query.finish(&response, &set).unwrap_err(),
            PsiError::ProofInvalid
        );
    }
}

#[test]
fn oversized_unpadded_and_wrong_epoch_requests_are_refused_and_not_charged() {
    let key = holder("USA");
    let set = publish(&key, &keys(&[1]));
    let (_, mut request) = Query::new(&set, &keys(&[1, 2, 3]), VERSION, &mut OsRng).unwrap();
    let mut budget = Budget::new(1000);
    let small = Limits {
        max_request: 2,
        ..LIMITS
    };
    assert_eq!(
        key.evaluate(&request, &mut budget, &small, &mut OsRng)
            .unwrap_err(),
        PsiError::Oversized { len: 4, max: 2 }
    );
    request.blinded.pop();
    assert_eq!(
        key.evaluate(&request, &mut budget, &LIMITS, &mut OsRng)
            .unwrap_err(),
        PsiError::NotPadded { len: 3 }
    );
    request.epoch = EpochId(2);
    assert!(matches!(
        key.evaluate(&request, &mut budget, &LIMITS, &mut OsRng)
            .unwrap_err(),
        PsiError::WrongEpoch {
            expected: 1,
            got: 2
        }
    ));
    assert_eq!(budget.used, 0);
}

#[test]
fn an_exhausted_budget_is_refused_and_counts_selectors_not_requests() {
    let key = holder("USA");
    let set = publish(&key, &keys(&[1]));
    let mut budget = Budget::new(6);
    let (_, four) = Query::new(&set, &keys(&[1, 2, 3, 4]), VERSION, &mut OsRng).unwrap();
    key.evaluate(&four, &mut budget, &LIMITS, &mut OsRng)
        .unwrap();
    assert_eq!(
        key.evaluate(&four, &mut budget, &LIMITS, &mut OsRng)
            .unwrap_err(),
        PsiError::BudgetExhausted {
            requested: 4,
            remaining: 2
        }
    );
    assert_eq!(budget.used, 4);
}

#[test]
fn a_normaliser_version_mismatch_is_refused_on_both_sides() {
    let key = holder("USA");
    let set = publish(&key, &keys(&[1]));
    assert_eq!(
        Query::new(&set, &keys(&[1]), VERSION + 1, &mut OsRng).unwrap_err(),
        PsiError::NormaliserMismatch {
            ours: VERSION + 1,
            theirs: VERSION
        }
    );
    let (_, mut request) = Query::new(&set, &keys(&[1]), VERSION, &mut OsRng).unwrap();
    request.normaliser_version = VERSION + 1;
    let err = key
        .evaluate(&request, &mut Budget::new(8), &LIMITS, &mut OsRng)
        .unwrap_err();
    assert_eq!(
        err,
        PsiError::NormaliserMismatch {
            ours: VERSION,
            theirs: VERSION + 1
        }
    );
    assert!(err.to_string().contains("same normaliser"));
}

#[test]
fn messages_round_trip_through_json() {
    let key = holder("USA");
    let set = publish(&key, &keys(&[1, 2]));
    let set: EpochSet = serde_json::from_str(&serde_json::to_string(&set).unwrap()).unwrap();
    let (query, request) = Query::new(&set, &keys(&[2, 3]), VERSION, &mut OsRng).unwrap();
    let request = serde_json::from_str(&serde_json::to_string(&request).unwrap()).unwrap();
    let response = key
        .evaluate(&request, &mut Budget::new(8), &LIMITS, &mut OsRng)
        .unwrap();
    let response = serde_json::from_str(&serde_json::to_string(&response).unwrap()).unwrap();
    assert_eq!(query.finish(&response, &set).unwrap(), vec![0]);
}
