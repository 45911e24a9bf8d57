//! The `next` pagination value (sections 3.4 and 3.5): opaque to clients, here a MAC'd record of
//! where the next page starts, bound to the caller it was issued to, to the filters of the
//! query and to an expiry, so that a partner can neither forge a position nor replay another
//! partner's token nor reuse it with other filters.
//!
//! Layout, before base64url without padding:
//! `format (1) | position (8, BE) | expires_at (8, BE) | caller tag (16) | query tag (16) |
//! mac (32)`, where the tags are truncated HMAC-SHA256 of the caller and of the query
//! fingerprint and `mac` is HMAC-SHA256 over everything before it. All comparisons go through
//! `hmac`'s constant-time verification.

mod error;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

pub use error::TokenError;

type HmacSha256 = Hmac<Sha256>;

const FORMAT: u8 = 1;
const TAG_LEN: usize = 16;
const MAC_LEN: usize = 32;
const BODY_LEN: usize = 1 + 8 + 8 + TAG_LEN + TAG_LEN;
const TOKEN_LEN: usize = BODY_LEN + MAC_LEN;

/// Domain separation between the three uses of the key.
const DOMAIN_CALLER: &[u8] = b"liaison-taxii next caller\0";
const DOMAIN_QUERY: &[u8] = b"liaison-taxii next query\0";
const DOMAIN_TOKEN: &[u8] = b"liaison-taxii next token\0";

/// Issues and checks `next` tokens.
#[derive(Debug, Clone, Copy)]
pub struct NextToken;

impl NextToken {
    /// A token saying the next page for `caller`, under the filters `query_fingerprint` (see
    /// [`crate::Query::fingerprint`], with the collection mixed in), starts at the storage
    /// position `position`, valid until `expires_at_unix` (seconds since the epoch).
    pub fn issue(
        key: &[u8; 32],
        caller: &str,
        query_fingerprint: &str,
        position: u64,
        expires_at_unix: i64,
    ) -> String {
        let mut raw = Vec::with_capacity(TOKEN_LEN);
        raw.push(FORMAT);
        raw.extend_from_slice(&position.to_be_bytes());
        raw.extend_from_slice(&expires_at_unix.to_be_bytes());
        raw.extend_from_slice(&tag(key, DOMAIN_CALLER, caller));
        raw.extend_from_slice(&tag(key, DOMAIN_QUERY, query_fingerprint));
        let mac = mac(key)
            .chain_update(DOMAIN_TOKEN)
            .chain_update(&raw)
            .finalize();
        raw.extend_from_slice(&mac.into_bytes());
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// The position `token` carries, if it was issued with `key` to `caller` for
    /// `query_fingerprint` and has not expired at `now_unix`. The checks run in that order:
    /// integrity first, so nothing is read from a forged token.
    pub fn check(
        key: &[u8; 32],
        token: &str,
        caller: &str,
        query_fingerprint: &str,
        now_unix: i64,
    ) -> Result<u64, TokenError> {
        // The length is known before decoding, so an oversized value costs nothing.
        if token.len() != URL_SAFE_NO_PAD_LEN {
            return Err(TokenError::Malformed);
        }
        let raw = URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| TokenError::Malformed)?;
        if raw.len() != TOKEN_LEN || raw.first() != Some(&FORMAT) {
            return Err(TokenError::Malformed);
        }
        let (body, their_mac) = raw.split_at(BODY_LEN);
        mac(key)
            .chain_update(DOMAIN_TOKEN)
            .chain_update(body)
            .verify_slice(their_mac)
            .map_err(|_| TokenError::Forged)?;
        let field =
            |from: usize, len: usize| body.get(from..from + len).ok_or(TokenError::Malformed);
        let position = u64::from_be_bytes(array8(field(1, 8)?)?);
        let expires = i64::from_be_bytes(array8(field(9, 8)?)?);
        verify_tag(key, DOMAIN_CALLER, caller, field(17, TAG_LEN)?)
            .map_err(|_| TokenError::OtherCaller)?;
        verify_tag(
            key,
            DOMAIN_QUERY,
            query_fingerprint,
            field(17 + TAG_LEN, TAG_LEN)?,
        )
        .map_err(|_| TokenError::OtherQuery)?;
        if now_unix >= expires {
            return Err(TokenError::Expired);
        }
        Ok(position)
    }
}

/// The length of a token in base64url without padding.
const URL_SAFE_NO_PAD_LEN: usize = (TOKEN_LEN * 4).div_ceil(3);

/// HMAC-SHA256 keyed with `key`. HMAC pads keys shorter than the block to the block size with
/// zeros (RFC 2104 section 2), so padding here gives the same MAC as keying with the 32 bytes
/// and needs no fallible constructor.
fn mac(key: &[u8; 32]) -> HmacSha256 {
    let mut block = [0u8; 64];
    for (b, k) in block.iter_mut().zip(key) {
        *b = *k;
    }
    HmacSha256::new(&block.into())
}

fn tag(key: &[u8; 32], domain: &[u8], value: &str) -> [u8; TAG_LEN] {
    let full = mac(key)
        .chain_update(domain)
        .chain_update(value)
        .finalize()
        .into_bytes();
    let mut out = [0u8; TAG_LEN];
    for (o, f) in out.iter_mut().zip(full.iter()) {
        *o = *f;
    }
    out
}

fn verify_tag(
    key: &[u8; 32],
    domain: &[u8],
    value: &str,
    tag: &[u8],
) -> Result<(), hmac::digest::MacError> {
    mac(key)
        .chain_update(domain)
        .chain_update(value)
        .verify_truncated_left(tag)
}

fn array8(s: &[u8]) -> Result<[u8; 8], TokenError> {
    s.try_into().map_err(|_| TokenError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [7; 32];
    const NOW: i64 = 1_700_000_000;

    fn issue() -> String {
        NextToken::issue(&KEY, "partner-a", "[\"q\"]", 42, NOW + 300)
    }

    #[test]
    fn round_trip() {
        let t = issue();
        assert_eq!(t.len(), URL_SAFE_NO_PAD_LEN);
        assert!(t
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(
            NextToken::check(&KEY, &t, "partner-a", "[\"q\"]", NOW),
            Ok(42)
        );
        let big = NextToken::issue(&KEY, "", "", u64::MAX, i64::MAX);
        assert_eq!(NextToken::check(&KEY, &big, "", "", NOW), Ok(u64::MAX));
    }

    #[test]
    fn each_refusal_is_distinct() {
        let t = issue();
        let check =
            |t: &str, caller: &str, q: &str, now: i64| NextToken::check(&KEY, t, caller, q, now);
        // Flip one bit in each decoded byte in turn: always caught by the MAC (or the format).
        let raw = URL_SAFE_NO_PAD.decode(&t).unwrap();
        for i in 0..raw.len() {
            let mut bad = raw.clone();
            bad[i] ^= 0x01;
            let bad = URL_SAFE_NO_PAD.encode(bad);
            let want = if i == 0 {
                TokenError::Malformed
            } else {
                TokenError::Forged
            };
            assert_eq!(
                check(&bad, "partner-a", "[\"q\"]", NOW),
                Err(want),
                "byte {i}"
            );
        }
        assert_eq!(
            check(&t, "partner-b", "[\"q\"]", NOW),
            Err(TokenError::OtherCaller)
        );
        assert_eq!(
            check(&t, "partner-a", "[\"r\"]", NOW),
            Err(TokenError::OtherQuery)
        );
        assert_eq!(
            check(&t, "partner-a", "[\"q\"]", NOW + 300),
            Err(TokenError::Expired)
        );
        assert_eq!(
            NextToken::check(&[8; 32], &t, "partner-a", "[\"q\"]", NOW),
            Err(TokenError::Forged)
        );
        for junk in [
            "",
            "abc",
            "!!!!",
            &format!("{t}A"),
            &t[1..],
            &"A".repeat(t.len()),
        ] {
            assert!(check(junk, "partner-a", "[\"q\"]", NOW).is_err(), "{junk}");
        }
        assert_eq!(
            check(&"A".repeat(t.len()), "partner-a", "[\"q\"]", NOW),
            Err(TokenError::Malformed)
        );
    }

    #[test]
    fn caller_and_query_do_not_run_together() {
        // Domain separation: the caller's tag is not valid as a query tag for the same text.
        let t = NextToken::issue(&KEY, "x", "y", 1, NOW + 1);
        assert_eq!(
            NextToken::check(&KEY, &t, "y", "x", NOW),
            Err(TokenError::OtherCaller)
        );
    }

    #[test]
    fn padded_key_equals_rfc_2104_keying() {
        let mut a = mac(&KEY);
        a.update(b"message");
        let mut b = <HmacSha256 as KeyInit>::new_from_slice(&KEY).unwrap();
        b.update(b"message");
        assert_eq!(a.finalize().into_bytes(), b.finalize().into_bytes());
    }

    #[test]
    fn hmac_sha256_matches_rfc_4231_case_2() {
        // Key "Jefe" zero-padded to 32 bytes is the same HMAC key as "Jefe" itself.
        let mut key = [0u8; 32];
        key[..4].copy_from_slice(b"Jefe");
        let out = mac(&key)
            .chain_update(b"what do ya want for nothing?")
            .finalize()
            .into_bytes();
        let hex: String = out.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
