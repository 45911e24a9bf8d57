//! Parties: who material may be released to. A party is an ISO 3166-1 alpha-3 code or a
//! group token of the tetragraph table; anything else is refused, so that a typo in a
//! `REL TO` can never name a party that does not exist. Parties are kept uppercase.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{shown, LabelError};
use crate::tetragraph::Tetragraphs;

/// A party: an ISO 3166-1 alpha-3 country code (`USA`, `ISR`) or a group token of the
/// current tetragraph table (`FVEY`, `NATO`, `EU`). Parsed in any case, kept uppercase;
/// serialized as the token.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Party(String);

impl Party {
    /// Checks `s` (surrounding whitespace ignored, any case) as a trigraph or a group token.
    pub fn parse(s: &str) -> Result<Party, LabelError> {
        let token = s.trim().to_ascii_uppercase();
        if is_iso_3166_alpha3(&token) || Tetragraphs::current().is_group_token(&token) {
            Ok(Party(token))
        } else {
            Err(LabelError::UnknownParty(shown(s.trim())))
        }
    }

    /// A party from a token known to be valid (the tables of this crate).
    pub(crate) fn known(token: &str) -> Party {
        Party(token.to_owned())
    }

    /// The token, e.g. `USA` or `FVEY`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is a country (an ISO 3166-1 alpha-3 code) rather than a group.
    pub fn is_country(&self) -> bool {
        is_iso_3166_alpha3(&self.0)
    }
}

impl fmt::Display for Party {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Party {
    type Error = LabelError;
    fn try_from(s: String) -> Result<Self, LabelError> {
        Party::parse(&s)
    }
}

impl From<Party> for String {
    fn from(p: Party) -> String {
        p.0
    }
}

/// Whether `code` (uppercase) is an officially assigned ISO 3166-1 alpha-3 code.
pub fn is_iso_3166_alpha3(code: &str) -> bool {
    ISO_3166_ALPHA3.binary_search(&code).is_ok()
}

/// The officially assigned ISO 3166-1 alpha-3 codes, sorted (249 codes, as in Debian
/// iso-codes 4.15.0). Data, not code: keep it sorted, the lookup is a binary search.
pub const ISO_3166_ALPHA3: [&str; 249] = [
    "ABW", "AFG", "AGO", "AIA", "ALA", "ALB", "AND", "ARE", "ARG", "ARM", "ASM", "ATA", "ATF",
    "ATG", "AUS", "AUT", "AZE", "BDI", "BEL", "BEN", "BES", "BFA", "BGD", "BGR", "BHR", "BHS",
    "BIH", "BLM", "BLR", "BLZ", "BMU", "BOL", "BRA", "BRB", "BRN", "BTN", "BVT", "BWA", "CAF",
    "CAN", "CCK", "CHE", "CHL", "CHN", "CIV", "CMR", "COD", "COG", "COK", "COL", "COM", "CPV",
    "CRI", "CUB", "CUW", "CXR", "CYM", "CYP", "CZE", "DEU", "DJI", "DMA", "DNK", "DOM", "DZA",
    "ECU", "EGY", "ERI", "ESH", "ESP", "EST", "ETH", "FIN", "FJI", "FLK", "FRA", "FRO", "FSM",
    "GAB", "GBR", "GEO", "GGY", "GHA", "GIB", "GIN", "GLP", "GMB", "GNB", "GNQ", "GRC", "GRD",
    "GRL", "GTM", "GUF", "GUM", "GUY", "HKG", "HMD", "HND", "HRV", "HTI", "HUN", "IDN", "IMN",
    "IND", "IOT", "IRL", "IRN", "IRQ", "ISL", "ISR", "ITA", "JAM", "JEY", "JOR", "JPN", "KAZ",
    "KEN", "KGZ", "KHM", "KIR", "KNA", "KOR", "KWT", "LAO", "LBN", "LBR", "LBY", "LCA", "LIE",
    "LKA", "LSO", "LTU", "LUX", "LVA", "MAC", "MAF", "MAR", "MCO", "MDA", "MDG", "MDV", "MEX",
    "MHL", "MKD", "MLI", "MLT", "MMR", "MNE", "MNG", "MNP", "MOZ", "MRT", "MSR", "MTQ", "MUS",
    "MWI", "MYS", "MYT", "NAM", "NCL", "NER", "NFK", "NGA", "NIC", "NIU", "NLD", "NOR", "NPL",
    "NRU", "NZL", "OMN", "PAK", "PAN", "PCN", "PER", "PHL", "PLW", "PNG", "POL", "PRI", "PRK",
    "PRT", "PRY", "PSE", "PYF", "QAT", "REU", "ROU", "RUS", "RWA", "SAU", "SDN", "SEN", "SGP",
    "SGS", "SHN", "SJM", "SLB", "SLE", "SLV", "SMR", "SOM", "SPM", "SRB", "SSD", "STP", "SUR",
    "SVK", "SVN", "SWE", "SWZ", "SXM", "SYC", "SYR", "TCA", "TCD", "TGO", "THA", "TJK", "TKL",
    "TKM", "TLS", "TON", "TTO", "TUN", "TUR", "TUV", "TWN", "TZA", "UGA", "UKR", "UMI", "URY",
    "USA", "UZB", "VAT", "VCT", "VEN", "VGB", "VIR", "VNM", "VUT", "WLF", "WSM", "YEM", "ZAF",
    "ZMB", "ZWE",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_table_is_sorted_and_well_formed() {
        assert!(ISO_3166_ALPHA3.windows(2).all(|w| w[0] < w[1]));
        assert!(ISO_3166_ALPHA3
            .iter()
            .all(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase())));
    }

    #[test]
    fn parses_countries_and_groups() {
        for (s, want) in [
            ("USA", "USA"),
            ("isr", "ISR"),
            (" rus ", "RUS"),
            ("fvey", "FVEY"),
            ("NATO", "NATO"),
            ("EU", "EU"),
            ("MKD", "MKD"),
            ("SSD", "SSD"),
        ] {
            assert_eq!(Party::parse(s).unwrap().as_str(), want);
        }
        assert!(Party::parse("USA").unwrap().is_country());
        assert!(!Party::parse("FVEY").unwrap().is_country());
    }

    #[test]
    fn refuses_unknown_codes() {
        for bad in [
            "XYZ", "US", "UK", "USAA", "", "ANT", "YUG", "U S", "FVEYS", "ÜSA",
        ] {
            assert!(Party::parse(bad).is_err(), "{bad} accepted");
        }
        assert_eq!(
            Party::parse("XYZ").map_err(|e| e.to_string()),
            Err("`XYZ` is not an ISO 3166 trigraph or a known group".to_owned())
        );
    }

    #[test]
    fn serde_checks() {
        let p: Party = serde_json::from_value(serde_json::Value::from("gbr")).unwrap();
        assert_eq!(p.as_str(), "GBR");
        assert!(serde_json::from_value::<Party>(serde_json::Value::from("XYZ")).is_err());
        assert_eq!(
            serde_json::to_value(&p).unwrap(),
            serde_json::Value::from("GBR")
        );
    }
}
