//! Unicode decimal digits (general category Nd) to ASCII. libphonenumber maps only a few
//! scripts; a number typed with Persian or full-width digits must still meet its ASCII form.

use crate::SelectorError;

/// The code point of digit zero of each Nd block this normaliser maps (each block is ten
/// consecutive code points, zero to nine, per the Unicode Standard §4.6).
const ZEROS: &[u32] = &[
    0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6, 0x0D66,
    0x0DE6, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90,
    0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10,
    0x104A0, 0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1FBF0,
];

/// The ASCII digit a Unicode decimal digit stands for, if it is one this normaliser maps.
fn digit_value(c: char) -> Option<u32> {
    if let Some(d) = c.to_digit(10) {
        return Some(d);
    }
    let code = u32::from(c);
    ZEROS
        .iter()
        .find(|&&zero| (zero..zero + 10).contains(&code))
        .map(|zero| code - zero)
}

/// Replaces every Unicode decimal digit in `raw` by its ASCII digit; other characters are
/// kept. A numeric character this normaliser cannot map is an error, not a silent loss.
pub fn ascii_digits(raw: &str) -> Result<String, SelectorError> {
    raw.chars()
        .map(|c| match digit_value(c) {
            Some(d) => char::from_digit(d, 10).ok_or(c),
            None if c.is_numeric() && !is_non_decimal_numeric(c) => Err(c),
            None => Ok(c),
        })
        .collect::<Result<String, char>>()
        .map_err(|digit| SelectorError::UnmappedDigit {
            input: raw.to_owned(),
            digit,
        })
}

/// Numeric characters that are not decimal digits (fractions, Roman numerals, superscripts,
/// circled numbers): left for the parser to refuse, as they stand for no single digit.
fn is_non_decimal_numeric(c: char) -> bool {
    matches!(u32::from(c), 0x00B2..=0x00BE | 0x2070..=0x218B | 0x2460..=0x24FF | 0x2776..=0x2793 | 0x3007 | 0x3021..=0x3029 | 0x4E00..=0x9FFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arabic_indic_persian_and_full_width_digits_become_ascii() {
        assert_eq!(ascii_digits("٠١٢٣٤٥٦٧٨٩").unwrap(), "0123456789");
        assert_eq!(ascii_digits("۰۱۲۳۴۵۶۷۸۹").unwrap(), "0123456789");
        assert_eq!(ascii_digits("０１２３４５６７８９").unwrap(), "0123456789");
        assert_eq!(ascii_digits("+٩٧١ ٥٠").unwrap(), "+971 50");
        assert_eq!(ascii_digits("०१२ ๑๒").unwrap(), "012 12");
    }

    #[test]
    fn every_mapped_block_is_ten_numeric_characters() {
        for zero in ZEROS {
            for d in 0..10 {
                let c = char::from_u32(zero + d).unwrap();
                assert!(c.is_numeric(), "{c:?} is not numeric");
                assert_eq!(digit_value(c), Some(d));
            }
        }
    }
}
