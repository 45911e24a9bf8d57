//! Content negotiation (TAXII 2.1 section 1.6.8, RFC 7231 sections 3.1.1.1 and 5.3.2).
//!
//! A header that cannot be parsed accepts nothing: an unreadable `Accept` element is skipped,
//! an unreadable `Content-Type` is refused. Only version 2.1 is spoken; a media range without
//! a `version` parameter means "the latest the server supports" (section 1.6.8.2), that is 2.1.

/// The TAXII media type with the version this crate speaks (sections 1.6.8.1 and 1.6.8.2).
pub const TAXII_MEDIA_TYPE: &str = "application/taxii+json;version=2.1";

/// The TAXII media type without a version parameter: "the latest version the server supports".
pub const TAXII_MEDIA_TYPE_UNVERSIONED: &str = "application/taxii+json";

/// The STIX 2.1 media type, listed in a collection's `media_types` (section 5.2.1).
pub const STIX_MEDIA_TYPE: &str = "application/stix+json;version=2.1";

/// The only protocol version spoken here (section 1.6.8.2).
const VERSION: &str = "2.1";

/// A parsed media type or media range: lowercase type and subtype, parameters with lowercase
/// names and unquoted values.
struct MediaRange {
    kind: String,
    subtype: String,
    params: Vec<(String, String)>,
    /// The weight in thousandths (`q=0.5` is 500); 1000 when absent.
    q: u16,
}

impl MediaRange {
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// How specific a range is (RFC 7231 section 5.3.2: more specific ranges override less
    /// specific ones): `*/*` < `type/*` < `type/subtype` < `type/subtype;param`.
    fn specificity(&self) -> usize {
        match (self.kind.as_str(), self.subtype.as_str()) {
            ("*", _) => 0,
            (_, "*") => 1,
            _ => 2 + self.params.len(),
        }
    }

    /// Whether this range (from an `Accept` header) covers the concrete media type `offered`.
    fn covers(&self, offered: &MediaRange) -> bool {
        let kind_ok = self.kind == "*" || self.kind == offered.kind;
        let subtype_ok = self.subtype == "*" || (kind_ok && self.subtype == offered.subtype);
        if !(kind_ok && subtype_ok) || (self.kind == "*" && self.subtype != "*") {
            return false;
        }
        // A range's parameters must all hold for the offered type. `version` is the one TAXII
        // defines; a range without it accepts 2.1 (section 1.6.8.2). Other parameters
        // (`charset=utf-8` and the like) do not select between the types offered here.
        match (self.param("version"), offered.param("version")) {
            (Some(asked), Some(have)) => asked == have,
            (Some(_), None) => false,
            (None, _) => true,
        }
    }
}

/// Whether the `Accept` header value `accept` accepts the media type `offered` (for instance
/// [`TAXII_MEDIA_TYPE`]).
///
/// Handles lists, `q` weights (`q=0` refuses), `*/*`, `type/*`, parameters, quoted values and
/// optional whitespace. The most specific range that covers `offered` decides (RFC 7231
/// section 5.3.2), so `application/taxii+json;q=0, */*` refuses TAXII. A range naming
/// `application/taxii+json` without a version accepts 2.1; naming another version refuses it.
/// An empty or wholly unreadable header accepts nothing.
pub fn accepts(accept: &str, offered: &str) -> bool {
    weight(accept, offered).is_some_and(|q| q > 0)
}

/// Of the media types `offers` (in the server's order of preference), the one the `Accept`
/// header value weighs highest; ties go to the earlier offer. `None` when none is acceptable
/// (the server answers 406).
pub fn preferred<'a>(accept: &str, offers: &[&'a str]) -> Option<&'a str> {
    let mut best: Option<(&'a str, u16)> = None;
    for offer in offers {
        if let Some(q) = weight(accept, offer).filter(|q| *q > 0) {
            if best.is_none_or(|(_, b)| q > b) {
                best = Some((offer, q));
            }
        }
    }
    best.map(|(o, _)| o)
}

/// Whether the `Content-Type` of a POST (section 5.5) is one this server reads:
/// `application/taxii+json` with `version=2.1` or without a version. A `charset` parameter, if
/// any, must be UTF-8 (section 1.6.7 serialises TAXII as UTF-8 JSON).
pub fn content_type_ok(content_type: &str) -> bool {
    let Some(ct) = parse_range(content_type) else {
        return false;
    };
    if ct.kind != "application" || ct.subtype != "taxii+json" || ct.q != 1000 {
        return false;
    }
    let version_ok = ct.param("version").is_none_or(|v| v == VERSION);
    let charset_ok = ct
        .param("charset")
        .is_none_or(|c| c.eq_ignore_ascii_case("utf-8"));
    version_ok && charset_ok
}

/// The weight `accept` gives `offered`: `None` when no range covers it.
fn weight(accept: &str, offered: &str) -> Option<u16> {
    let offered = parse_range(offered)?;
    let mut best: Option<(usize, u16)> = None;
    for element in split_outside_quotes(accept, ',') {
        let Some(range) = parse_range(element) else {
            continue;
        };
        if !range.covers(&offered) {
            continue;
        }
        let s = range.specificity();
        best = match best {
            Some((bs, bq)) if bs > s || (bs == s && bq >= range.q) => Some((bs, bq)),
            _ => Some((s, range.q)),
        };
    }
    best.map(|(_, q)| q)
}

/// Parses one media range: `type "/" subtype *( OWS ";" OWS name "=" value )`, where a `q`
/// parameter ends the media parameters and starts the accept-params (RFC 7231 section 5.3.2).
fn parse_range(text: &str) -> Option<MediaRange> {
    let mut parts = split_outside_quotes(text, ';').into_iter();
    let (kind, subtype) = parts.next()?.trim().split_once('/')?;
    let (kind, subtype) = (kind.trim(), subtype.trim());
    if !is_token(kind) || !is_token(subtype) {
        return None;
    }
    let mut range = MediaRange {
        kind: kind.to_ascii_lowercase(),
        subtype: subtype.to_ascii_lowercase(),
        params: Vec::new(),
        q: 1000,
    };
    for p in parts {
        let p = p.trim();
        if p.is_empty() {
            // `type/sub;` is tolerated by most parsers; nothing to record.
            continue;
        }
        let (name, value) = p.split_once('=')?;
        let name = name.trim().to_ascii_lowercase();
        let value = unquote(value.trim())?;
        if !is_token(&name) {
            return None;
        }
        if name == "q" {
            range.q = parse_q(&value)?;
            // What follows `q` are accept-extensions, which do not describe the media type.
            break;
        }
        range.params.push((name, value));
    }
    Some(range)
}

/// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`, in thousandths.
fn parse_q(v: &str) -> Option<u16> {
    let (int, frac) = match v.split_once('.') {
        Some((i, f)) => (i, f),
        None => (v, ""),
    };
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut thousandths: u16 = 0;
    for (i, b) in frac.bytes().enumerate() {
        thousandths += u16::from(b - b'0') * [100, 10, 1].get(i).copied().unwrap_or(0);
    }
    match int {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// RFC 7230 `token`: visible ASCII without separators.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// A parameter value: a token, or a quoted-string with `\` escapes.
fn unquote(v: &str) -> Option<String> {
    let Some(inner) = v.strip_prefix('"') else {
        return is_token(v).then(|| v.to_owned());
    };
    let inner = inner.strip_suffix('"')?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next()?),
            '"' => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

/// Splits on `sep` where it is not inside a quoted-string.
fn split_outside_quotes(s: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if c == sep && !quoted {
            out.push(s.get(start..i).unwrap_or(""));
            start = i + c.len_utf8();
        }
    }
    out.push(s.get(start..).unwrap_or(""));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_taxii_forms() {
        for h in [
            "application/taxii+json;version=2.1",
            "application/taxii+json; version=2.1",
            "application/taxii+json ; version = 2.1",
            "application/taxii+json;version=\"2.1\"",
            "APPLICATION/TAXII+JSON;VERSION=2.1",
            "application/taxii+json",
            "application/taxii+json;charset=utf-8",
            "application/taxii+json;version=2.1;q=0.5",
            "application/taxii+json;version=2.1, application/stix+json;version=2.1",
            "text/html, application/taxii+json;q=0.1",
            "application/*",
            "application/*;q=0.2",
            "*/*",
            "*/*;q=0.001",
            "text/html,  */*",
            "application/json, application/taxii+json;version=2.1;q=1.0",
            "garbage, application/taxii+json",
            "application/taxii+json;version=2.1;q=1;ext=\"a,b\"",
        ] {
            assert!(accepts(h, TAXII_MEDIA_TYPE), "refused {h:?}");
        }
    }

    #[test]
    fn refuses_other_versions_types_and_zero_weight() {
        for h in [
            "",
            "   ",
            ",,,",
            "application/taxii+json;version=2.0",
            "application/taxii+json;version=\"2.0\"",
            "application/taxii+json;version=2.2",
            "application/taxii+json;version=2.1;q=0",
            "application/taxii+json;q=0.000",
            "application/taxii+json;q=0, */*",
            "application/taxii+json;version=2.1;q=0, application/*",
            "application/json",
            "application/stix+json;version=2.1",
            "text/*",
            "*/json",
            "application/taxii+json;version=2.1;q=2",
            "application/taxii+json;version=2.1;q=0.5555",
            "application/taxii+json;version=2.1;q=abc",
            "application/taxii+json;version",
            "application/taxii+json;version=\"2.1",
            "application /",
            "taxii+json",
        ] {
            assert!(!accepts(h, TAXII_MEDIA_TYPE), "accepted {h:?}");
        }
    }

    #[test]
    fn most_specific_range_decides() {
        // `*/*` does not rescue a type the client weighed at zero…
        assert!(!accepts(
            "*/*, application/taxii+json;q=0",
            TAXII_MEDIA_TYPE
        ));
        // …but a range for another version does not cover 2.1, so `*/*` still does.
        assert!(accepts(
            "application/taxii+json;version=2.0, */*",
            TAXII_MEDIA_TYPE
        ));
        assert!(accepts(
            "application/taxii+json;q=0, application/taxii+json;version=2.1",
            TAXII_MEDIA_TYPE
        ));
    }

    #[test]
    fn accepts_stix_when_listed() {
        assert!(accepts(
            "application/taxii+json;version=2.1,application/stix+json;version=2.1",
            STIX_MEDIA_TYPE
        ));
        assert!(accepts("application/stix+json", STIX_MEDIA_TYPE));
        assert!(!accepts("application/taxii+json", STIX_MEDIA_TYPE));
    }

    #[test]
    fn prefers_the_heaviest_then_the_first_offer() {
        let offers = [TAXII_MEDIA_TYPE, STIX_MEDIA_TYPE];
        assert_eq!(
            preferred("application/stix+json;q=0.9, */*;q=0.1", &offers),
            Some(STIX_MEDIA_TYPE)
        );
        assert_eq!(preferred("*/*", &offers), Some(TAXII_MEDIA_TYPE));
        assert_eq!(preferred("text/html", &offers), None);
    }

    #[test]
    fn content_type_for_post() {
        for ok in [
            "application/taxii+json;version=2.1",
            "application/taxii+json; version=2.1",
            "application/taxii+json;version=\"2.1\"",
            "Application/TAXII+json;Version=2.1",
            "application/taxii+json",
            "application/taxii+json; charset=utf-8",
            "application/taxii+json;version=2.1;charset=UTF-8",
        ] {
            assert!(content_type_ok(ok), "refused {ok:?}");
        }
        for bad in [
            "",
            "application/json",
            "application/stix+json;version=2.1",
            "application/taxii+json;version=2.0",
            "application/taxii+json;charset=latin1",
            "application/*",
            "*/*",
            "application/taxii+json, application/json",
            "application/taxii+json;version=2.1;q=0.5",
            "application/taxii+json;version=",
        ] {
            assert!(!content_type_ok(bad), "accepted {bad:?}");
        }
    }
}
