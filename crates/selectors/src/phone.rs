//! Phone numbers to E.164 (ITU-T E.164, as libphonenumber formats them), read in the node's
//! default region when they carry no `+` country code. Unicode digits are made ASCII first.

use std::fmt;
use std::str::FromStr;

use phonenumber::country;

use crate::{ascii_digits, KeyStrength, SelectorError};

/// A region (ISO 3166 alpha-2, as libphonenumber knows it) in which national numbers are read.
#[derive(Clone, PartialEq, Eq)]
pub struct Region(country::Id);

impl FromStr for Region {
    type Err = SelectorError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        country::Id::from_str(&s.trim().to_ascii_uppercase())
            .map(Region)
            .map_err(|_| SelectorError::Region {
                input: s.to_owned(),
            })
    }
}

impl fmt::Debug for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Region({:?})", self.0)
    }
}

pub(crate) fn normalise(
    raw: &str,
    region: Option<&Region>,
) -> Result<Vec<(KeyStrength, String)>, SelectorError> {
    let error = |reason: &str| SelectorError::Phone {
        input: raw.to_owned(),
        reason: reason.to_owned(),
    };
    let ascii = ascii_digits(raw.trim())?;
    // A leading `00` is the international prefix of most regions; libphonenumber reads it only
    // when the default region uses it, so make it explicit.
    let ascii = match ascii.strip_prefix("00") {
        Some(rest) if !rest.starts_with('0') => format!("+{rest}"),
        _ => ascii,
    };
    if !ascii.chars().any(|c| c.is_ascii_digit()) {
        return Err(error("it holds no digits"));
    }
    if region.is_none() && !ascii.trim_start().starts_with('+') {
        return Err(error(
            "it has no `+` country code and this node has no default region (give `--region`)",
        ));
    }
    let number =
        phonenumber::parse(region.map(|r| r.0), &ascii).map_err(|e| error(&e.to_string()))?;
    if !phonenumber::is_valid(&number) {
        return Err(error(
            "libphonenumber does not hold it valid for any region",
        ));
    }
    let e164 = number.format().mode(phonenumber::Mode::E164).to_string();
    Ok(vec![(KeyStrength::Exact, e164)])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e164(raw: &str, region: &str) -> Result<String, SelectorError> {
        let region: Region = region.parse()?;
        Ok(normalise(raw, Some(&region))?.remove(0).1)
    }

    #[test]
    fn national_and_international_forms_meet() {
        assert_eq!(e164("07911 123456", "GB").unwrap(), "+447911123456");
        assert_eq!(e164("+44 7911 123456", "US").unwrap(), "+447911123456");
        assert_eq!(e164("0044 7911 123456", "US").unwrap(), "+447911123456");
        assert_eq!(e164("(202) 456-1111", "US").unwrap(), "+12024561111");
        assert_eq!(e164("8 (916) 123-45-67", "RU").unwrap(), "+79161234567");
    }

    #[test]
    fn persian_arabic_and_full_width_digits_meet_ascii() {
        assert_eq!(e164("۰۹۱۲ ۳۴۵ ۶۷۸۹", "IR").unwrap(), "+989123456789");
        assert_eq!(e164("+٩٧١ ٥٠ ١٢٣ ٤٥٦٧", "GB").unwrap(), "+971501234567");
        assert_eq!(
            e164("＋４４ ７９１１ １２３４５６", "GB").unwrap(),
            "+447911123456"
        );
    }

    #[test]
    fn invalid_numbers_are_refused_with_the_input_named() {
        let err = e164("12", "GB").unwrap_err();
        assert!(err.to_string().contains("`12`"), "{err}");
        assert!(e164("not a number", "GB").is_err());
        assert!(e164("+999 123", "GB").is_err());
        assert!("XX".parse::<Region>().is_err());
    }

    #[test]
    fn without_a_default_region_only_international_forms_are_read() {
        assert_eq!(
            normalise("+44 7911 123456", None).unwrap().remove(0).1,
            "+447911123456"
        );
        let err = normalise("07911 123456", None).unwrap_err().to_string();
        assert!(err.contains("default region"), "{err}");
    }
}
