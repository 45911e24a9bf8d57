//! Identifier remapping, the first mark family: the id of an object delivered to recipient P
//! is `type--UUID` where UUID = HMAC(remap key, (P, original id)) with the RFC 9562 version 4
//! and variant bits set. The same pair always gives the same id, so P can update and
//! reference what it received across deliveries and versions, and a leaked id names its
//! recipient exactly (given a [`RemapIndex`] over the ids delivered).
//!
//! Why version 4: STIX 2.1 section 2.9 says the UUID of an SDO, SRO, bundle, language-content
//! or marking SHOULD be version 4 (random); the OASIS validator warns on other versions for
//! these types. A keyed PRF output is indistinguishable from random without the key, so it is
//! a version 4 UUID in every sense a recipient can check.
//!
//! Some ids must never be remapped ([`keeps_id`]):
//! - cyber-observables (STIX 2.1 section 6): their ids are deterministic version 5 UUIDs over
//!   their contributing properties, so that every producer names the same IP address or file
//!   hash with the same id and recipients deduplicate by it; remapping would split one
//!   observable into one per recipient in everyone's store;
//! - marking-definitions (TLP 1 and 2, liaison labels): recipients recognise markings by id
//!   (the TLP ids are fixed by the standard; liaison label ids are named by their content);
//! - extension-definitions: a recipient's tooling looks extensions up by id;
//! - liaison's own identity, which the markings and extension-definitions name as creator.
//!
//! Public reference content (ATT&CK and other TLP:CLEAR feeds) must also keep its ids; which
//! objects are public is a property of the object's source, not of its id, so that decision is
//! the caller's (the release step), which simply does not call [`remap`] for them.

use std::collections::HashMap;

use liaison_labels::LIAISON_IDENTITY_ID;
use liaison_stix::{is_sco_type, StixId};

use crate::key::Prf;
use crate::{FingerprintError, FingerprintKey, Recipient};

/// The subkey label of identifier remapping (versioned: a change of construction is a new
/// label, never a silent change of every delivered id).
const REMAP_LABEL: &[u8] = b"liaison-fingerprint/v1/remap";

/// Whether `id` must be delivered as it is, never remapped (see the module documentation).
pub fn keeps_id(id: &StixId) -> bool {
    let ty = id.object_type();
    is_sco_type(ty)
        || ty == "marking-definition"
        || ty == "extension-definition"
        || id.as_str() == LIAISON_IDENTITY_ID
}

/// The id under which `recipient` receives the object `id`: same type, keyed version 4 UUID.
///
/// This remaps every id it is given; call [`deliver_id`] to leave [`keeps_id`] ids alone.
pub fn remap(
    key: &FingerprintKey,
    recipient: &Recipient,
    id: &StixId,
) -> Result<StixId, FingerprintError> {
    Remapper::new(key).remap(recipient, id)
}

/// The id `recipient` receives for `id`: itself when [`keeps_id`], else [`remap`].
pub fn deliver_id(
    key: &FingerprintKey,
    recipient: &Recipient,
    id: &StixId,
) -> Result<StixId, FingerprintError> {
    if keeps_id(id) {
        Ok(id.clone())
    } else {
        remap(key, recipient, id)
    }
}

/// The remap key schedule done once, for remapping many ids.
#[derive(Clone)]
pub(crate) struct Remapper(Prf);

impl Remapper {
    pub(crate) fn new(key: &FingerprintKey) -> Remapper {
        Remapper(key.derive(REMAP_LABEL))
    }

    pub(crate) fn remap(
        &self,
        recipient: &Recipient,
        id: &StixId,
    ) -> Result<StixId, FingerprintError> {
        let out = self
            .0
            .eval(&[recipient.as_str().as_bytes(), id.as_str().as_bytes()]);
        let mut uuid = [0u8; 16];
        uuid.copy_from_slice(&out[..16]);
        uuid[6] = (uuid[6] & 0x0f) | 0x40; // version 4
        uuid[8] = (uuid[8] & 0x3f) | 0x80; // variant 10 (RFC 9562)
        let text = format!("{}--{}", id.object_type(), hyphenated(&uuid));
        StixId::parse(&text).map_err(FingerprintError::InvalidId)
    }
}

fn hyphenated(uuid: &[u8; 16]) -> String {
    let mut s = String::with_capacity(36);
    for (i, b) in uuid.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        const HEX: &[u8; 16] = b"0123456789abcdef";
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    s
}

/// What a remapped id stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmapped {
    /// The recipient the id was delivered to.
    pub recipient: Recipient,
    /// Our id for the object.
    pub original: StixId,
}

/// Remapped ids back to (recipient, original id), built by the caller from what it delivered
/// (the delivery log holds the pairs). Answers both "whose copy is this" for a leaked id and
/// "which of our objects does this partner's reference name".
#[derive(Debug, Clone, Default)]
pub struct RemapIndex {
    by_remapped: HashMap<StixId, Unmapped>,
}

impl RemapIndex {
    /// The index of every id in `originals` as delivered to every one of `recipients` (ids that
    /// [`keeps_id`] are left out: they name no recipient).
    pub fn build<'a>(
        key: &FingerprintKey,
        recipients: &[Recipient],
        originals: impl IntoIterator<Item = &'a StixId>,
    ) -> Result<RemapIndex, FingerprintError> {
        let remapper = Remapper::new(key);
        let mut index = RemapIndex::default();
        for original in originals {
            if keeps_id(original) {
                continue;
            }
            for recipient in recipients {
                index.insert_with(&remapper, recipient, original)?;
            }
        }
        Ok(index)
    }

    /// Adds one delivered (recipient, original id) pair.
    pub fn insert(
        &mut self,
        key: &FingerprintKey,
        recipient: &Recipient,
        original: &StixId,
    ) -> Result<(), FingerprintError> {
        if keeps_id(original) {
            return Ok(());
        }
        self.insert_with(&Remapper::new(key), recipient, original)
    }

    fn insert_with(
        &mut self,
        remapper: &Remapper,
        recipient: &Recipient,
        original: &StixId,
    ) -> Result<(), FingerprintError> {
        let remapped = remapper.remap(recipient, original)?;
        let entry = Unmapped {
            recipient: recipient.clone(),
            original: original.clone(),
        };
        match self.by_remapped.get(&remapped) {
            Some(existing) if *existing == entry => Ok(()),
            Some(existing) => Err(FingerprintError::RemapCollision {
                remapped,
                first: existing.recipient.clone(),
                second: recipient.clone(),
            }),
            None => {
                self.by_remapped.insert(remapped, entry);
                Ok(())
            }
        }
    }

    /// The recipient and original id behind `id`, when it is one of the indexed remapped ids.
    pub fn unmap(&self, id: &StixId) -> Option<&Unmapped> {
        self.by_remapped.get(id)
    }

    /// How many remapped ids the index holds.
    pub fn len(&self) -> usize {
        self.by_remapped.len()
    }

    /// Whether the index holds no id.
    pub fn is_empty(&self) -> bool {
        self.by_remapped.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key() -> FingerprintKey {
        FingerprintKey::from_bytes([42; 32])
    }

    fn id(s: &str) -> StixId {
        StixId::parse(s).unwrap()
    }

    const INDICATOR: &str = "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f";

    #[test]
    fn remap_keeps_type_and_sets_version_4() {
        let r = remap(&key(), &Recipient::new("RUS"), &id(INDICATOR)).unwrap();
        assert_eq!(r.object_type(), "indicator");
        assert_ne!(r.as_str(), INDICATOR);
        let uuid = r.as_str().split_once("--").unwrap().1;
        assert_eq!(&uuid[14..15], "4", "{uuid}");
        assert!(matches!(&uuid[19..20], "8" | "9" | "a" | "b"), "{uuid}");
    }

    #[test]
    fn remap_differs_per_recipient_and_key() {
        let i = id(INDICATOR);
        let rus = remap(&key(), &Recipient::new("RUS"), &i).unwrap();
        let isr = remap(&key(), &Recipient::new("ISR"), &i).unwrap();
        let other_key = remap(
            &FingerprintKey::from_bytes([1; 32]),
            &Recipient::new("RUS"),
            &i,
        );
        assert_ne!(rus, isr);
        assert_ne!(rus, other_key.unwrap());
    }

    #[test]
    fn keeps_observables_markings_extensions_and_liaison() {
        for kept in [
            "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd",
            "domain-name--dd686e37-6889-53bd-8ae1-b1a503452613",
            "file--66156fad-2a7d-5237-bbb4-ba1912887cfe",
            // TLP:RED, TLP 1.0 (STIX 2.1 section 7.2.1.4).
            "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
            "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d",
            LIAISON_IDENTITY_ID,
        ] {
            let i = id(kept);
            assert!(keeps_id(&i), "{kept}");
            assert_eq!(deliver_id(&key(), &Recipient::new("RUS"), &i).unwrap(), i);
        }
        for remapped in [INDICATOR, "identity--0c7b5f0e-6a51-4d2e-9c1f-3b8e2d7a4f10"] {
            let i = id(remapped);
            assert!(!keeps_id(&i), "{remapped}");
            assert_ne!(deliver_id(&key(), &Recipient::new("RUS"), &i).unwrap(), i);
        }
    }

    #[test]
    fn index_names_the_recipient_of_a_leaked_id() {
        let recipients: Vec<Recipient> = ["RUS", "ISR", "GBR"].map(Recipient::new).into();
        let ids = [
            id(INDICATOR),
            id("ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd"),
        ];
        let index = RemapIndex::build(&key(), &recipients, &ids).unwrap();
        assert_eq!(index.len(), 3, "observable ids are left out");
        let leaked = remap(&key(), &recipients[1], &ids[0]).unwrap();
        let found = index.unmap(&leaked).unwrap();
        assert_eq!(found.recipient, recipients[1]);
        assert_eq!(found.original, ids[0]);
        assert_eq!(index.unmap(&ids[0]), None, "an original id names no one");
    }

    fn arb_id() -> impl Strategy<Value = StixId> {
        (
            prop::sample::select(vec!["indicator", "report", "threat-actor", "relationship"]),
            any::<u128>(),
        )
            .prop_map(|(ty, u)| {
                let mut b = u.to_be_bytes();
                b[6] = (b[6] & 0x0f) | 0x40;
                b[8] = (b[8] & 0x3f) | 0x80;
                id(&format!("{ty}--{}", hyphenated(&b)))
            })
    }

    proptest! {
        #[test]
        fn remap_is_stable_and_injective_per_recipient(
            ids in prop::collection::btree_set(arb_id(), 1..40),
            name in "[A-Z]{3}",
            key_byte in any::<u8>(),
        ) {
            let key = FingerprintKey::from_bytes([key_byte; 32]);
            let recipient = Recipient::new(name);
            let mut seen = std::collections::HashSet::new();
            for i in &ids {
                let a = remap(&key, &recipient, i).unwrap();
                prop_assert_eq!(&a, &remap(&key, &recipient, i).unwrap());
                prop_assert_eq!(a.object_type(), i.object_type());
                prop_assert!(StixId::parse(a.as_str()).is_ok());
                prop_assert!(seen.insert(a), "two ids remapped to one");
            }
            let index = RemapIndex::build(&key, std::slice::from_ref(&recipient), &ids).unwrap();
            for i in &ids {
                let back = index.unmap(&remap(&key, &recipient, i).unwrap()).unwrap();
                prop_assert_eq!(&back.original, i);
            }
        }
    }
}
