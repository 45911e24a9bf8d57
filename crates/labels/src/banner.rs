//! The banner line: a label's human-readable form, e.g. `SECRET//ORCON//REL TO USA, GBR`.
//!
//! Grammar (segments separated by `//`, whitespace at segment edges ignored, words in any
//! case): the classification (full name or abbreviation), then in this order, each optional
//! and at most once: compartments (`SI/TK`), controls (`ORCON/NOFORN`), `REL TO A, B, C`
//! (commas, spaces optional), `TLP:<level>`, `PAP:<level>`. A segment is the controls
//! segment when every `/`-separated word in it is a known control word, the compartments
//! segment otherwise; compartments are words of the compartment table
//! ([`crate::Compartments`]), and any other word (a misspelt control, an unknown compartment)
//! is refused with the word named, as is a known control word in the compartments segment. Printing is canonical: uppercase, sets sorted, except that `REL TO` puts
//! USA first (the CAPCO habit), so that printing and parsing round-trip.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use crate::compartment::{unknown_compartment, unknown_word, Compartments};
use crate::control::Control;
use crate::error::{shown, LabelError};
use crate::level::{strip_prefix_ci, Classification, Pap, Tlp};
use crate::party::Party;

/// The longest banner line accepted, in bytes: partner input is capped before it is read.
pub const MAX_BANNER_BYTES: usize = 4096;

/// The banner part of a label: what a banner line says.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Banner {
    /// The classification level.
    pub classification: Classification,
    /// Compartments, uppercase words of the compartment table ([`crate::Compartments`]),
    /// e.g. `SI`, `HCS-P`.
    pub compartments: BTreeSet<String>,
    /// Dissemination controls.
    pub controls: BTreeSet<Control>,
    /// The parties it may be released to, as written (group tokens not expanded). `None`
    /// means owner only; an empty set is not a valid banner (`REL TO` must name someone).
    pub rel_to: Option<BTreeSet<Party>>,
    /// TLP level, if marked.
    pub tlp: Option<Tlp>,
    /// PAP level, if marked.
    pub pap: Option<Pap>,
}

impl Banner {
    /// A banner with only a classification: no compartments or controls, owner only, no TLP
    /// or PAP.
    pub fn new(classification: Classification) -> Banner {
        Banner {
            classification,
            compartments: BTreeSet::new(),
            controls: BTreeSet::new(),
            rel_to: None,
            tlp: None,
            pap: None,
        }
    }
}

/// Checks a compartment word (any case, surrounding whitespace ignored) and returns it
/// uppercase. A known control word is refused (a control must not pass for a compartment),
/// and so is a word that is not in the compartment table ([`crate::Compartments`]).
pub fn parse_compartment(s: &str) -> Result<String, LabelError> {
    let token = s.trim().to_ascii_uppercase();
    let mut bytes = token.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    let rest_ok = bytes.all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-');
    if !(first_ok && rest_ok) {
        return Err(LabelError::BadCompartment(shown(s.trim())));
    }
    if token.parse::<Control>().is_ok() {
        return Err(LabelError::ControlAsCompartment(token));
    }
    if !Compartments::current().contains(&token) {
        return Err(unknown_compartment(&token));
    }
    Ok(token)
}

/// The parties of a `REL TO` in print order: USA first if present, then the rest sorted.
pub(crate) fn rel_to_print_order(parties: &BTreeSet<Party>) -> Vec<&Party> {
    let (usa, rest): (Vec<&Party>, Vec<&Party>) = parties.iter().partition(|p| p.as_str() == "USA");
    usa.into_iter().chain(rest).collect()
}

/// Which segment a piece of a banner line is, in the order they must appear.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Segment {
    Compartments,
    Controls,
    RelTo,
    Tlp,
    Pap,
}

/// The party list of a `REL TO` segment, if `seg` is one.
fn rel_to_list(seg: &str) -> Option<&str> {
    let rest = strip_prefix_ci(seg, "REL")?;
    let rest = rest.strip_prefix(char::is_whitespace)?.trim_start();
    let rest = strip_prefix_ci(rest, "TO")?;
    if rest.is_empty() || rest.starts_with(char::is_whitespace) {
        Some(rest.trim())
    } else {
        None
    }
}

fn classify(seg: &str) -> Segment {
    if rel_to_list(seg).is_some() {
        Segment::RelTo
    } else if strip_prefix_ci(seg, "TLP:").is_some() {
        Segment::Tlp
    } else if strip_prefix_ci(seg, "PAP:").is_some() {
        Segment::Pap
    } else if seg.split('/').all(|w| w.parse::<Control>().is_ok()) {
        Segment::Controls
    } else {
        Segment::Compartments
    }
}

impl FromStr for Banner {
    type Err = LabelError;

    fn from_str(s: &str) -> Result<Self, LabelError> {
        if s.len() > MAX_BANNER_BYTES {
            return Err(LabelError::banner(
                s,
                format!("longer than {MAX_BANNER_BYTES} bytes"),
            ));
        }
        let mut segments = s.split("//").map(str::trim);
        let first = segments.next().unwrap_or_default();
        if first.is_empty() {
            return Err(LabelError::banner(s, "no classification"));
        }
        let mut banner = Banner::new(first.parse()?);
        let mut last: Option<Segment> = None;
        for seg in segments {
            if seg.is_empty() {
                return Err(LabelError::banner(s, "empty segment"));
            }
            let kind = classify(seg);
            if kind == Segment::Compartments {
                // A word that is neither a compartment nor a control is named before any
                // other fault: in `SI/NOFRON` or `SECRET//SI//ORCN` the misspelt control is
                // the mistake, not the compartment beside it or the segment order.
                let table = Compartments::current();
                if let Some(unknown) = seg.split('/').map(str::trim).find(|w| {
                    let up = w.to_ascii_uppercase();
                    !table.contains(&up) && up.parse::<Control>().is_err()
                }) {
                    return Err(unknown_word(unknown));
                }
            }
            if last.is_some_and(|l| kind <= l) {
                return Err(LabelError::banner(
                    s,
                    format!(
                        "segment `{}` is repeated or out of order (the order is classification, \
                         compartments, controls, REL TO, TLP, PAP)",
                        shown(seg)
                    ),
                ));
            }
            last = Some(kind);
            match kind {
                Segment::Compartments => {
                    for word in seg.split('/') {
                        banner.compartments.insert(parse_compartment(word)?);
                    }
                }
                Segment::Controls => {
                    for word in seg.split('/') {
                        banner.controls.insert(word.parse()?);
                    }
                }
                Segment::RelTo => {
                    let list = rel_to_list(seg).unwrap_or_default();
                    if list.is_empty() {
                        return Err(LabelError::EmptyRelTo);
                    }
                    let mut parties = BTreeSet::new();
                    for p in list.split(',') {
                        if p.trim().is_empty() {
                            return Err(LabelError::banner(s, "empty party in `REL TO`"));
                        }
                        parties.insert(Party::parse(p)?);
                    }
                    banner.rel_to = Some(parties);
                }
                Segment::Tlp => banner.tlp = Some(seg.parse()?),
                Segment::Pap => banner.pap = Some(seg.parse()?),
            }
        }
        Ok(banner)
    }
}

impl fmt::Display for Banner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.classification.as_str())?;
        if !self.compartments.is_empty() {
            let words: Vec<&str> = self.compartments.iter().map(String::as_str).collect();
            write!(f, "//{}", words.join("/"))?;
        }
        if !self.controls.is_empty() {
            let words: Vec<&str> = self.controls.iter().map(|c| c.as_str()).collect();
            write!(f, "//{}", words.join("/"))?;
        }
        if let Some(rel_to) = &self.rel_to {
            let words: Vec<&str> = rel_to_print_order(rel_to)
                .into_iter()
                .map(Party::as_str)
                .collect();
            write!(f, "//REL TO {}", words.join(", "))?;
        }
        if let Some(tlp) = self.tlp {
            write!(f, "//{tlp}")?;
        }
        if let Some(pap) = self.pap {
            write!(f, "//{pap}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parties(tokens: &[&str]) -> Option<BTreeSet<Party>> {
        Some(tokens.iter().map(|t| Party::parse(t).unwrap()).collect())
    }

    fn words(ws: &[&str]) -> BTreeSet<String> {
        ws.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn secret_orcon_rel_to() {
        let b: Banner = "SECRET//ORCON//REL TO USA, GBR".parse().unwrap();
        assert_eq!(
            b,
            Banner {
                controls: [Control::Orcon].into(),
                rel_to: parties(&["USA", "GBR"]),
                ..Banner::new(Classification::Secret)
            }
        );
        assert_eq!(b.to_string(), "SECRET//ORCON//REL TO USA, GBR");
    }

    #[test]
    fn top_secret_compartments_noforn() {
        let b: Banner = "TOP SECRET//SI/TK//NOFORN".parse().unwrap();
        assert_eq!(
            b,
            Banner {
                compartments: words(&["SI", "TK"]),
                controls: [Control::Noforn].into(),
                ..Banner::new(Classification::TopSecret)
            }
        );
        assert_eq!(b.to_string(), "TOP SECRET//SI/TK//NOFORN");
    }

    #[test]
    fn unclassified_tlp_clear() {
        let b: Banner = "UNCLASSIFIED//TLP:CLEAR".parse().unwrap();
        assert_eq!(
            b,
            Banner {
                tlp: Some(Tlp::Clear),
                ..Banner::new(Classification::Unclassified)
            }
        );
        assert_eq!(b.to_string(), "UNCLASSIFIED//TLP:CLEAR");
    }

    #[test]
    fn confidential_rel_to_group_tlp_pap() {
        let b: Banner = "CONFIDENTIAL//REL TO FVEY, ISR//TLP:AMBER//PAP:GREEN"
            .parse()
            .unwrap();
        assert_eq!(
            b,
            Banner {
                rel_to: parties(&["FVEY", "ISR"]),
                tlp: Some(Tlp::Amber),
                pap: Some(Pap::Green),
                ..Banner::new(Classification::Confidential)
            }
        );
        assert_eq!(
            b.to_string(),
            "CONFIDENTIAL//REL TO FVEY, ISR//TLP:AMBER//PAP:GREEN"
        );
    }

    #[test]
    fn tolerant_parsing_canonical_printing() {
        let b: Banner =
            " s // hcs-p/si // noforn/orcon // rel to gbr,usa,ISR // tlp:amber+strict // pap:red "
                .parse()
                .unwrap();
        assert_eq!(b.compartments, words(&["HCS-P", "SI"]));
        assert_eq!(b.controls, [Control::Noforn, Control::Orcon].into());
        assert_eq!(
            b.to_string(),
            "SECRET//HCS-P/SI//NOFORN/ORCON//REL TO USA, GBR, ISR//TLP:AMBER+STRICT//PAP:RED"
        );
        assert_eq!(b.to_string().parse::<Banner>(), Ok(b));
    }

    #[test]
    fn words_outside_the_tables_are_refused_never_taken_as_compartments() {
        assert_eq!(
            err("SECRET//NOFRON"),
            "unknown compartment or control `NOFRON` (did you mean `NOFORN`?)"
        );
        assert_eq!(
            err("SECRET//SI//ORCN//REL TO USA"),
            "unknown compartment or control `ORCN` (did you mean `ORCON`?)"
        );
        assert_eq!(
            err("SECRET//si/nofron"),
            "unknown compartment or control `nofron` (did you mean `NOFORN`?)"
        );
        let bogus = err("SECRET//BOGUS//REL TO USA, GBR");
        assert!(
            bogus.starts_with(
                "unknown compartment or control `BOGUS` (compartments of table 2026-11: "
            ),
            "{bogus}"
        );
        assert!(err("SECRET//NOFORNX").contains("`NOFORNX`"));
        assert!(err("SECRET//SI/XYZZY").contains("`XYZZY`"));
        assert_eq!(
            parse_compartment("bogus").map_err(|e| e.to_string()),
            Err("unknown compartment `BOGUS` (compartments of table 2026-11: BUR, CT, G, HCS, HCS-O, HCS-P, KDK, RSV, SI, SI-G, TK)".to_owned())
        );
        assert_eq!(parse_compartment(" hcs-p "), Ok("HCS-P".to_owned()));
    }

    fn err(s: &str) -> String {
        match s.parse::<Banner>() {
            Ok(b) => format!("accepted as {b}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn errors_name_the_bad_token() {
        assert_eq!(err("SEKRET//NOFORN"), "unknown classification `SEKRET`");
        assert_eq!(
            err("SECRET//REL TO USA, XYZ"),
            "`XYZ` is not an ISO 3166 trigraph or a known group"
        );
        assert_eq!(err("SECRET//REL TO"), "`REL TO` names no party");
        assert_eq!(err("SECRET//REL TO  "), "`REL TO` names no party");
        assert_eq!(err("SECRET//TLP:BLUE"), "unknown TLP level `TLP:BLUE`");
        assert_eq!(
            err("SECRET//PAP:AMBER+STRICT"),
            "unknown PAP level `PAP:AMBER+STRICT`"
        );
        assert_eq!(
            err("SECRET//SI/NOFORN"),
            "`NOFORN` is a dissemination control, not a compartment"
        );
        assert!(err("SECRET//SI TK").contains("`SI TK`"));
        assert!(err("SECRET//REL TO USA,,GBR").contains("empty party"));
    }

    #[test]
    fn garbage_is_refused() {
        for bad in [
            "",
            "//",
            "SECRET//",
            "SECRET////NOFORN",
            "SECRET//NOFORN//SI",
            "SECRET//TLP:RED//REL TO USA",
            "SECRET//NOFORN//ORCON",
            "SECRET//TLP:RED//TLP:RED",
            "<script>",
            "SECRET//-SI",
            "SECRET//REL TOUSA",
        ] {
            assert!(bad.parse::<Banner>().is_err(), "{bad} accepted");
        }
        assert!(err("SECRET//NOFORN//SI").contains("out of order"));
        let long = format!("SECRET//{}", "A/".repeat(3000));
        assert!(err(&long).contains("longer than"));
    }
}
