use std::cmp::Ordering;
use std::fmt;

use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// A STIX timestamp (section 3.2): RFC 3339 in UTC with a literal `Z`, any number of
/// fractional digits. The text as received is kept, so that an object is written back
/// exactly; comparisons use the instant.
#[derive(Debug, Clone)]
pub struct Timestamp {
    at: OffsetDateTime,
    text: String,
}

impl Timestamp {
    /// Parses a STIX timestamp, refusing offsets other than `Z` and lowercase separators.
    pub fn parse(s: &str) -> Result<Timestamp, String> {
        let b = s.as_bytes();
        let shaped = b.len() >= 20
            && b.get(10) == Some(&b'T')
            && b.last() == Some(&b'Z')
            && b.get(19).is_some_and(|c| *c == b'.' || *c == b'Z')
            && (b.len() == 20
                || (b.len() > 21 && b[20..b.len() - 1].iter().all(u8::is_ascii_digit)));
        if !shaped {
            return Err(format!(
                "`{s}` is not a STIX timestamp (YYYY-MM-DDTHH:MM:SS[.s+]Z)"
            ));
        }
        let at = OffsetDateTime::parse(s, &Rfc3339)
            .map_err(|e| format!("`{s}` is not a valid timestamp: {e}"))?;
        Ok(Timestamp {
            at,
            text: s.to_owned(),
        })
    }

    /// The current time, at microsecond precision (the precision TAXII 2.1 asks of
    /// `date_added`).
    pub fn now() -> Timestamp {
        Timestamp::from_datetime(OffsetDateTime::now_utc(), 6)
    }

    /// A timestamp from seconds and nanoseconds since the Unix epoch, written with `digits`
    /// fractional digits (3 gives STIX's customary milliseconds).
    pub fn from_unix_nanos(nanos: i128, digits: usize) -> Option<Timestamp> {
        OffsetDateTime::from_unix_timestamp_nanos(nanos)
            .ok()
            .map(|at| Timestamp::from_datetime(at, digits))
    }

    fn from_datetime(at: OffsetDateTime, digits: usize) -> Timestamp {
        let at = at.to_offset(UtcOffset::UTC);
        let digits = digits.clamp(0, 9);
        let nanos = at.nanosecond();
        let scale = 10u32.pow(9 - digits as u32);
        let at = at.replace_nanosecond(nanos / scale * scale).unwrap_or(at);
        let text = render(at, digits);
        Timestamp { at, text }
    }

    /// The text as received (or as first written).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Nanoseconds since the Unix epoch.
    pub fn unix_nanos(&self) -> i128 {
        self.at.unix_timestamp_nanos()
    }

    /// A fixed-width form whose byte order is the time order (nanosecond precision), for
    /// storage keys.
    pub fn sort_key(&self) -> String {
        render(self.at, 9)
    }

    /// The same instant written with microsecond precision.
    pub fn to_micros(&self) -> String {
        render(self.at, 6)
    }
}

fn render(at: OffsetDateTime, digits: usize) -> String {
    let frac = format!("{:09}", at.nanosecond());
    let mut s = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    );
    if digits > 0 {
        s.push('.');
        s.push_str(frac.get(..digits).unwrap_or(&frac));
    }
    s.push('Z');
    s
}

impl PartialEq for Timestamp {
    fn eq(&self, other: &Self) -> bool {
        self.at == other.at
    }
}
impl Eq for Timestamp {}
impl PartialOrd for Timestamp {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Timestamp {
    fn cmp(&self, other: &Self) -> Ordering {
        self.at.cmp(&other.at)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stix_forms() {
        for ok in [
            "2016-01-20T12:31:12Z",
            "2016-01-20T12:31:12.1Z",
            "2016-01-20T12:31:12.123Z",
            "2016-01-20T12:31:12.123456Z",
        ] {
            let t = Timestamp::parse(ok).unwrap();
            assert_eq!(t.as_str(), ok);
        }
    }

    #[test]
    fn refuses_non_stix_forms() {
        for bad in [
            "2016-01-20 12:31:12Z",
            "2016-01-20t12:31:12Z",
            "2016-01-20T12:31:12+00:00",
            "2016-01-20T12:31:12.Z",
            "2016-13-20T12:31:12Z",
            "2016-01-20",
            "",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn orders_by_instant_not_text() {
        let a = Timestamp::parse("2016-01-20T12:31:12Z").unwrap();
        let b = Timestamp::parse("2016-01-20T12:31:12.000Z").unwrap();
        let c = Timestamp::parse("2016-01-20T12:31:12.001Z").unwrap();
        assert_eq!(a, b);
        assert!(b < c);
        assert!(a.sort_key() < c.sort_key());
        assert_eq!(c.to_micros(), "2016-01-20T12:31:12.001000Z");
    }
}
