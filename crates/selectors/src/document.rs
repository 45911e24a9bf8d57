//! Document numbers as `STATE:TYPE:NUMBER` (`:` or `/` between fields): the issuing state as
//! ISO 3166-1 alpha-3 (or an ICAO Doc 9303 code such as `UNO` or `XXA`; `D` reads as `DEU`),
//! the ICAO document type (`P`, `I`, `V`, … or a word such as `passport`), and the number,
//! upper-cased with spaces, dashes and MRZ fillers (`<`) removed.

use crate::{KeyStrength, SelectorError};

/// ISO 3166-1 alpha-3 codes, and the ICAO Doc 9303 part 3 codes that appear on documents.
const STATES: &str = "ABW AFG AGO AIA ALA ALB AND ARE ARG ARM ASM ATA ATF ATG AUS AUT AZE BDI \
BEL BEN BES BFA BGD BGR BHR BHS BIH BLM BLR BLZ BMU BOL BRA BRB BRN BTN BVT BWA CAF CAN CCK \
CHE CHL CHN CIV CMR COD COG COK COL COM CPV CRI CUB CUW CXR CYM CYP CZE DEU DJI DMA DNK DOM \
DZA ECU EGY ERI ESH ESP EST ETH FIN FJI FLK FRA FRO FSM GAB GBR GEO GGY GHA GIB GIN GLP GMB \
GNB GNQ GRC GRD GRL GTM GUF GUM GUY HKG HMD HND HRV HTI HUN IDN IMN IND IOT IRL IRN IRQ ISL \
ISR ITA JAM JEY JOR JPN KAZ KEN KGZ KHM KIR KNA KOR KWT LAO LBN LBR LBY LCA LIE LKA LSO LTU \
LUX LVA MAC MAF MAR MCO MDA MDG MDV MEX MHL MKD MLI MLT MMR MNE MNG MNP MOZ MRT MSR MTQ MUS \
MWI MYS MYT NAM NCL NER NFK NGA NIC NIU NLD NOR NPL NRU NZL OMN PAK PAN PCN PER PHL PLW PNG \
POL PRI PRK PRT PRY PSE PYF QAT REU ROU RUS RWA SAU SDN SEN SGP SGS SHN SJM SLB SLE SLV SMR \
SOM SPM SRB SSD STP SUR SVK SVN SWE SWZ SXM SYC SYR TCA TCD TGO THA TJK TKL TKM TLS TON TTO \
TUN TUR TUV TWN TZA UGA UKR UMI URY USA UZB VAT VCT VEN VGB VIR VNM VUT WLF WSM YEM ZAF ZMB \
ZWE GBD GBN GBO GBP GBS EUE UNO UNA UNK XBA XIM XCC XCO XEC XPO XES XMP XOM XDC XXA XXB XXC \
XXX RKS";

/// Words for document types, mapped to their ICAO type letter.
const TYPE_WORDS: &[(&str, &str)] = &[
    ("PASSPORT", "P"),
    ("PP", "P"),
    ("ID", "I"),
    ("IDCARD", "I"),
    ("IDENTITYCARD", "I"),
    ("NATIONALID", "I"),
    ("VISA", "V"),
];

pub(crate) fn normalise(raw: &str) -> Result<Vec<(KeyStrength, String)>, SelectorError> {
    let error = |reason: String| SelectorError::Document {
        input: raw.to_owned(),
        reason,
    };
    let fields: Vec<&str> = raw.trim().split([':', '/']).collect();
    let [state, doc_type, number] = fields.as_slice() else {
        return Err(error(
            "expected three fields `STATE:TYPE:NUMBER`, as `RUS:P:75 1234567`".to_owned(),
        ));
    };
    let state = state.trim().to_uppercase();
    let state = if state == "D" {
        "DEU".to_owned()
    } else {
        state
    };
    if state.len() != 3 || !STATES.split_ascii_whitespace().any(|s| s == state) {
        return Err(error(format!(
            "`{state}` is not an ISO 3166 alpha-3 or ICAO issuing state"
        )));
    }
    let doc_type: String = doc_type
        .to_uppercase()
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '_' | '<'))
        .collect();
    let doc_type = TYPE_WORDS
        .iter()
        .find(|(word, _)| *word == doc_type)
        .map_or(doc_type.clone(), |(_, letter)| (*letter).to_owned());
    if doc_type.is_empty()
        || doc_type.len() > 2
        || !doc_type.chars().all(|c| c.is_ascii_alphanumeric())
    {
        return Err(error(format!(
            "`{doc_type}` is not an ICAO document type (one or two letters, or `passport`, `id`, `visa`)"
        )));
    }
    let number: String = crate::ascii_digits(number)?
        .to_uppercase()
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '<' | '\u{2010}'..='\u{2015}' | '\u{00A0}'))
        .collect();
    if number.is_empty() {
        return Err(error("the number is empty".to_owned()));
    }
    if let Some(c) = number.chars().find(|c| !c.is_ascii_alphanumeric()) {
        return Err(error(format!(
            "the number holds `{c}`; only Latin letters and digits are kept"
        )));
    }
    Ok(vec![(
        KeyStrength::Exact,
        format!("{state}:{doc_type}:{number}"),
    )])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(raw: &str) -> String {
        normalise(raw).unwrap().remove(0).1
    }

    #[test]
    fn case_spaces_and_dashes_are_removed() {
        assert_eq!(key("rus:p:75 123-4567"), "RUS:P:751234567");
        assert_eq!(key("RUS / passport / 751234567"), "RUS:P:751234567");
        assert_eq!(key("D:P:c01x00t47"), "DEU:P:C01X00T47");
        assert_eq!(key("GBR:ID:AB<12<34"), "GBR:I:AB1234");
    }

    #[test]
    fn unknown_states_types_and_characters_are_refused() {
        for bad in [
            "RUS:P",
            "ZZZ:P:123",
            "RUS:PASSPORTX:1",
            "RUS:P:",
            "RUS:P:12№3",
            "RUS:P:АБ12",
        ] {
            let err = normalise(bad).unwrap_err();
            assert!(err.to_string().contains(&format!("`{bad}`")), "{err}");
        }
    }
}
