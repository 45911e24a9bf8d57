//! Wallet addresses with their checksums checked: Bitcoin base58check P2PKH/P2SH (mainnet and
//! testnet version bytes), Bitcoin segwit bech32/bech32m (BIP-173, BIP-350), and Ethereum
//! (EIP-55: a mixed-case address must carry a valid checksum; all-lower or all-upper has
//! none to check). Keys: `btc:<address>` (base58 is case-sensitive, kept as is),
//! `btc:<lower-case bech32>`, `eth:0x<lower-case hex>`.

use sha3::{Digest, Keccak256};

use crate::{KeyStrength, SelectorError};

/// Base58check version bytes: P2PKH and P2SH on mainnet, then on testnet.
const BASE58_VERSIONS: [u8; 4] = [0x00, 0x05, 0x6f, 0xc4];

pub(crate) fn normalise(raw: &str) -> Result<Vec<(KeyStrength, String)>, SelectorError> {
    let error = |reason: &str| SelectorError::Wallet {
        input: raw.to_owned(),
        reason: reason.to_owned(),
    };
    let address = raw.trim();
    let canonical = if let Some(hex) = address
        .strip_prefix("0x")
        .or_else(|| address.strip_prefix("0X"))
    {
        ethereum(hex).map_err(error)?
    } else if address.len() > 3 && address[..3].eq_ignore_ascii_case("bc1")
        || address.len() > 3 && address[..3].eq_ignore_ascii_case("tb1")
    {
        segwit(address).map_err(error)?
    } else {
        base58(address).map_err(error)?
    };
    Ok(vec![(KeyStrength::Exact, canonical)])
}

fn ethereum(hex: &str) -> Result<String, &'static str> {
    if hex.len() != 40 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err("an Ethereum address is `0x` and 40 hex digits");
    }
    let lower = hex.to_ascii_lowercase();
    let has_lower = hex.chars().any(|c| c.is_ascii_lowercase());
    let has_upper = hex.chars().any(|c| c.is_ascii_uppercase());
    if has_lower && has_upper && eip55(&lower) != hex {
        return Err("its mixed case is not a valid EIP-55 checksum");
    }
    Ok(format!("eth:0x{lower}"))
}

/// EIP-55: a hex letter is upper-case where the matching nibble of keccak256(lower-case hex
/// as ASCII) is 8 or more.
fn eip55(lower: &str) -> String {
    let hash = Keccak256::digest(lower.as_bytes());
    lower
        .chars()
        .enumerate()
        .map(|(i, c)| {
            let byte = hash.get(i / 2).copied().unwrap_or(0);
            let nibble = if i % 2 == 0 { byte >> 4 } else { byte & 0x0f };
            if c.is_ascii_alphabetic() && nibble >= 8 {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect()
}

fn segwit(address: &str) -> Result<String, &'static str> {
    let has_lower = address.chars().any(|c| c.is_ascii_lowercase());
    let has_upper = address.chars().any(|c| c.is_ascii_uppercase());
    if has_lower && has_upper {
        return Err("a bech32 address is all lower-case or all upper-case");
    }
    let (hrp, _version, _program) = bech32::segwit::decode(address)
        .map_err(|_| "not a valid segwit address (bech32 checksum, witness version or length)")?;
    if hrp != bech32::hrp::BC && hrp != bech32::hrp::TB {
        return Err("a segwit address for Bitcoin starts `bc1` or `tb1`");
    }
    Ok(format!("btc:{}", address.to_ascii_lowercase()))
}

fn base58(address: &str) -> Result<String, &'static str> {
    let payload = bs58::decode(address)
        .with_check(None)
        .into_vec()
        .map_err(|_| {
            "not a Bitcoin base58check address with a valid checksum, nor `0x…` or bech32"
        })?;
    match payload.split_first() {
        Some((version, hash)) if BASE58_VERSIONS.contains(version) && hash.len() == 20 => {
            Ok(format!("btc:{address}"))
        }
        _ => Err("a base58check payload that is not a P2PKH or P2SH address"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(raw: &str) -> String {
        normalise(raw).unwrap().remove(0).1
    }

    #[test]
    fn bitcoin_base58check_addresses_are_checked() {
        // The genesis block's coinbase address and a BIP-13 P2SH example.
        assert_eq!(
            key(" 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa "),
            "btc:1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"
        );
        assert!(normalise("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy").is_ok());
        assert!(normalise("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb").is_err());
    }

    #[test]
    fn bech32_addresses_meet_across_case_and_bad_checksums_fail() {
        // BIP-173 and BIP-350 test vectors.
        let lower = key("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4");
        assert_eq!(lower, key("BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4"));
        assert!(
            normalise("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0").is_ok()
        );
        assert!(normalise("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5").is_err());
        assert!(normalise("bc1QW508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4").is_err());
    }

    #[test]
    fn ethereum_eip55_checksums_are_checked_when_mixed_case() {
        // EIP-55's own examples.
        let checked = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
        assert_eq!(
            key(checked),
            "eth:0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"
        );
        assert_eq!(key(&checked.to_lowercase()), key(checked));
        assert!(normalise("0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359").is_ok());
        assert!(normalise("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD").is_err());
        assert!(normalise("0x1234").is_err());
    }
}
