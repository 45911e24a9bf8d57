//! The URL query parameters of TAXII 2.1 section 3.4 (`added_after`, `limit`, `next`,
//! `match[<field>]`), parsed once into a typed [`Query`] for one endpoint.
//!
//! Parsing fails closed: a parameter the endpoint does not define, a repeated parameter, an
//! empty value or a malformed one is an error naming the parameter (the server answers 400).
//! Section 3.4 lets servers ignore unknown `match` fields; liaison refuses them instead, so a
//! partner never receives more than the filter it believes it sent.

mod error;
mod version;

use liaison_stix::Timestamp;
use serde_json::Value;

pub use error::QueryError;
pub use version::{select_versions, VersionFilter, VersionSelector};

use error::clip;

/// The most values one `match[...]` parameter may list.
pub const MAX_VALUES_PER_FIELD: usize = 1000;

/// The endpoint a query is addressed to, which decides the parameters it may carry and the
/// default of `match[version]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// Get Object Manifests (section 5.3): every filter; versions default to `last`.
    Manifest,
    /// Get Objects (section 5.4): every filter; versions default to `last`.
    Objects,
    /// Get an Object (section 5.6): no `match[id]` or `match[type]`; versions default to
    /// `last`.
    Object,
    /// Get Object Versions (section 5.8): only `match[spec_version]` among the match fields;
    /// every version is listed.
    Versions,
}

impl Endpoint {
    /// The version filter when the request names none: `last` (section 3.4.1), except on the
    /// versions endpoint, which lists them all (section 5.8).
    pub fn default_version(self) -> VersionFilter {
        match self {
            Endpoint::Versions => VersionFilter::All,
            _ => VersionFilter::last(),
        }
    }

    fn allows(self, p: Param) -> bool {
        matches!(
            (self, p),
            (
                _,
                Param::AddedAfter | Param::Limit | Param::Next | Param::SpecVersion
            ) | (Endpoint::Manifest | Endpoint::Objects, _)
                | (Endpoint::Object, Param::Version)
        )
    }
}

/// The parameters section 3.4 defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Param {
    AddedAfter,
    Limit,
    Next,
    Id,
    Type,
    Version,
    SpecVersion,
}

impl Param {
    const ALL: [Param; 7] = [
        Param::AddedAfter,
        Param::Limit,
        Param::Next,
        Param::Id,
        Param::Type,
        Param::Version,
        Param::SpecVersion,
    ];

    fn name(self) -> &'static str {
        match self {
            Param::AddedAfter => "added_after",
            Param::Limit => "limit",
            Param::Next => "next",
            Param::Id => "match[id]",
            Param::Type => "match[type]",
            Param::Version => "match[version]",
            Param::SpecVersion => "match[spec_version]",
        }
    }

    fn from_name(name: &str) -> Option<Param> {
        Param::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// The filters of one request (section 3.4).
///
/// Match lists are ORs within a field and ANDs across fields; an empty list means the field
/// was not given (no constraint). `match_spec_version` empty means "the latest spec version
/// the server has of each object" (section 3.4.1), which the server applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// `added_after`: only entries whose `date_added` is strictly later.
    pub added_after: Option<Timestamp>,
    /// `limit`: the most objects the client wants in this response (positive).
    pub limit: Option<usize>,
    /// `next`: the pagination token from the previous page, still to be checked with
    /// [`crate::NextToken::check`].
    pub next: Option<String>,
    /// `match[id]`.
    pub match_id: Vec<String>,
    /// `match[type]`.
    pub match_type: Vec<String>,
    /// `match[version]`, or the endpoint's default.
    pub match_version: VersionFilter,
    /// `match[spec_version]`.
    pub match_spec_version: Vec<String>,
}

/// What [`Query::matches_entry`] reads of one stored version of one object.
#[derive(Debug, Clone, Copy)]
pub struct EntryMeta<'a> {
    /// The object's `id`.
    pub id: &'a str,
    /// The object's `type`.
    pub object_type: &'a str,
    /// The version: `modified`, else `created`.
    pub version: &'a Timestamp,
    /// The STIX `spec_version` (`2.1`, or `2.0` for objects without the property).
    pub spec_version: &'a str,
    /// When this version was added to the collection.
    pub date_added: &'a Timestamp,
}

impl Query {
    /// The query that filters nothing, for `endpoint`.
    pub fn empty(endpoint: Endpoint) -> Query {
        Query {
            added_after: None,
            limit: None,
            next: None,
            match_id: Vec::new(),
            match_type: Vec::new(),
            match_version: endpoint.default_version(),
            match_spec_version: Vec::new(),
        }
    }

    /// Parses the raw query string of a request to `endpoint` (the part after `?`; a leading
    /// `?` is tolerated). Keys and values are percent-decoded (`+` is a space, as in form
    /// encoding); list values are split on `,` (section 3.4).
    pub fn parse(raw: &str, endpoint: Endpoint) -> Result<Query, QueryError> {
        let raw = raw.strip_prefix('?').unwrap_or(raw);
        let mut q = Query::empty(endpoint);
        let mut seen: Vec<Param> = Vec::new();
        for pair in raw.split('&').filter(|p| !p.is_empty()) {
            let (raw_key, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
            let key = decode(raw_key).ok_or_else(|| QueryError::Encoding(clip(raw_key)))?;
            let Some(param) = Param::from_name(&key) else {
                return Err(QueryError::Unknown(clip(&key)));
            };
            let name = param.name();
            if !endpoint.allows(param) {
                return Err(QueryError::NotSupportedHere(name.to_owned()));
            }
            if seen.contains(&param) {
                return Err(QueryError::Repeated(name.to_owned()));
            }
            seen.push(param);
            let value = decode(raw_value).ok_or_else(|| QueryError::Encoding(name.to_owned()))?;
            if value.is_empty() {
                return Err(QueryError::Empty(name.to_owned()));
            }
            match param {
                Param::AddedAfter => {
                    q.added_after =
                        Some(Timestamp::parse(&value).map_err(|_| QueryError::Timestamp {
                            param: name.to_owned(),
                            value: clip(&value),
                        })?);
                }
                Param::Limit => q.limit = Some(parse_limit(&value)?),
                Param::Next => q.next = Some(value),
                Param::Id => q.match_id = split_list(name, &value)?,
                Param::Type => q.match_type = split_list(name, &value)?,
                Param::SpecVersion => q.match_spec_version = split_list(name, &value)?,
                Param::Version => q.match_version = parse_version(&split_list(name, &value)?)?,
            }
        }
        Ok(q)
    }

    /// Whether one stored version of an object passes `added_after`, `match[id]`,
    /// `match[type]` and `match[spec_version]`.
    ///
    /// `match[version]` is not checked here: `first` and `last` depend on the object's other
    /// versions. Apply [`select_versions`] with [`Query::match_version`] to the versions that
    /// pass. Neither does this apply the default "latest spec version" rule of an empty
    /// `match_spec_version`.
    pub fn matches_entry(&self, entry: &EntryMeta<'_>) -> bool {
        let listed = |list: &[String], v: &str| list.is_empty() || list.iter().any(|x| x == v);
        self.added_after
            .as_ref()
            .is_none_or(|after| entry.date_added > after)
            && listed(&self.match_id, entry.id)
            && listed(&self.match_type, entry.object_type)
            && listed(&self.match_spec_version, entry.spec_version)
    }

    /// A canonical text of every filter except `next` and `limit`, to bind a pagination token
    /// to the filters it was issued for: a client may change `limit` between pages, not the
    /// filters. Lists are sorted and deduplicated and timestamps written as instants, so
    /// equivalent queries give the same text.
    ///
    /// The path is not in it: bind the collection (and object id) by including them in the
    /// fingerprint passed to [`crate::NextToken`], e.g. `format!("{collection}/{}", ...)`.
    pub fn fingerprint(&self) -> String {
        let sorted = |list: &[String]| {
            let mut v: Vec<&str> = list.iter().map(String::as_str).collect();
            v.sort_unstable();
            v.dedup();
            Value::from(v)
        };
        let version = match &self.match_version {
            VersionFilter::All => Value::from("all"),
            VersionFilter::Select(items) => {
                let mut v: Vec<String> = items
                    .iter()
                    .map(|i| match i {
                        VersionSelector::First => "first".to_owned(),
                        VersionSelector::Last => "last".to_owned(),
                        VersionSelector::Exact(t) => t.sort_key(),
                    })
                    .collect();
                v.sort_unstable();
                Value::from(v)
            }
        };
        Value::Array(vec![
            Value::from("taxii-query-1"),
            self.added_after
                .as_ref()
                .map_or(Value::Null, |t| Value::from(t.sort_key())),
            sorted(&self.match_id),
            sorted(&self.match_type),
            version,
            sorted(&self.match_spec_version),
        ])
        .to_string()
    }
}

/// `limit` (section 3.4): a positive integer, digits only.
fn parse_limit(value: &str) -> Result<usize, QueryError> {
    value
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| value.parse::<usize>().ok())
        .flatten()
        .filter(|n| *n > 0)
        .ok_or_else(|| QueryError::Limit(clip(value)))
}

/// A comma-separated list (section 3.4: "separated by a comma without any spaces"), none of
/// its items empty.
fn split_list(name: &str, value: &str) -> Result<Vec<String>, QueryError> {
    let mut out = Vec::new();
    for item in value.split(',') {
        if item.is_empty() {
            return Err(QueryError::Empty(name.to_owned()));
        }
        if out.len() == MAX_VALUES_PER_FIELD {
            return Err(QueryError::TooManyValues {
                param: name.to_owned(),
                max: MAX_VALUES_PER_FIELD,
            });
        }
        out.push(item.to_owned());
    }
    Ok(out)
}

/// `match[version]` (section 3.4.1): `all` alone, or `first`, `last` and timestamps, each at
/// most once.
fn parse_version(items: &[String]) -> Result<VersionFilter, QueryError> {
    let mut selected: Vec<VersionSelector> = Vec::new();
    let mut all = false;
    for item in items {
        let sel = match item.as_str() {
            "all" => {
                if all {
                    return Err(repeated_version(item));
                }
                all = true;
                continue;
            }
            "first" => VersionSelector::First,
            "last" => VersionSelector::Last,
            other => VersionSelector::Exact(
                Timestamp::parse(other).map_err(|_| QueryError::Version(clip(other)))?,
            ),
        };
        if selected.contains(&sel) {
            return Err(repeated_version(item));
        }
        selected.push(sel);
    }
    match (all, selected.is_empty()) {
        (true, true) => Ok(VersionFilter::All),
        (true, false) => Err(QueryError::AllWithOthers),
        (false, _) => Ok(VersionFilter::Select(selected)),
    }
}

fn repeated_version(item: &str) -> QueryError {
    QueryError::RepeatedValue {
        param: Param::Version.name().to_owned(),
        value: clip(item),
    }
}

/// Percent-decoding (RFC 3986 section 2.1) with `+` as a space; `None` on a malformed escape
/// or a result that is not UTF-8.
fn decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'%' => {
                let hi = hex(*bytes.get(i + 1)?)?;
                let lo = hex(*bytes.get(i + 2)?)?;
                out.push(hi << 4 | lo);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

fn hex(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    fn objects(raw: &str) -> Result<Query, QueryError> {
        Query::parse(raw, Endpoint::Objects)
    }

    #[test]
    fn empty_query_takes_endpoint_defaults() {
        let q = objects("").unwrap();
        assert_eq!(q, Query::empty(Endpoint::Objects));
        assert_eq!(q.match_version, VersionFilter::last());
        assert_eq!(
            Query::parse("", Endpoint::Versions).unwrap().match_version,
            VersionFilter::All
        );
        assert_eq!(objects("?").unwrap(), q);
        assert_eq!(objects("&&").unwrap(), q);
    }

    #[test]
    fn parses_every_filter() {
        let q = objects(
            "added_after=2016-02-01T00:00:01.000000Z&limit=10&next=abc-123\
             &match[id]=indicator--3600ad1b-fff1-4c98-bcc9-4de3bc2e2ffb,sighting--4600ad1b-fff1-4c58-bcc9-4de3bc5e2ffd\
             &match[type]=campaign,malware,threat-actor\
             &match[version]=first,2018-03-02T01:01:01.123Z,last\
             &match[spec_version]=2.0,2.1",
        )
        .unwrap();
        assert_eq!(q.added_after, Some(ts("2016-02-01T00:00:01Z")));
        assert_eq!(q.limit, Some(10));
        assert_eq!(q.next.as_deref(), Some("abc-123"));
        assert_eq!(q.match_id.len(), 2);
        assert_eq!(q.match_type, ["campaign", "malware", "threat-actor"]);
        assert_eq!(
            q.match_version,
            VersionFilter::Select(vec![
                VersionSelector::First,
                VersionSelector::Exact(ts("2018-03-02T01:01:01.123Z")),
                VersionSelector::Last,
            ])
        );
        assert_eq!(q.match_spec_version, ["2.0", "2.1"]);
    }

    #[test]
    fn percent_decodes_keys_and_values() {
        let q = objects("match%5Btype%5D=indicator%2Cmalware&added_after=2016-01-01T00%3A00%3A00Z")
            .unwrap();
        assert_eq!(q.match_type, ["indicator", "malware"]);
        assert_eq!(q.added_after, Some(ts("2016-01-01T00:00:00Z")));
        assert_eq!(
            objects("match[version]=all").unwrap().match_version,
            VersionFilter::All
        );
    }

    #[test]
    fn refuses_each_malformed_form_by_name() {
        use QueryError as E;
        let cases: Vec<(&str, E)> = vec![
            ("foo=1", E::Unknown("foo".into())),
            ("match[name]=x", E::Unknown("match[name]".into())),
            ("MATCH[type]=x", E::Unknown("MATCH[type]".into())),
            ("limit=1&limit=2", E::Repeated("limit".into())),
            (
                "match[type]=a&match%5Btype%5D=b",
                E::Repeated("match[type]".into()),
            ),
            ("added_after", E::Empty("added_after".into())),
            ("next=", E::Empty("next".into())),
            ("match[id]=a,,b", E::Empty("match[id]".into())),
            ("match[type]=indicator,", E::Empty("match[type]".into())),
            ("match%ZZ=1", E::Encoding("match%ZZ".into())),
            ("next=%", E::Encoding("next".into())),
            ("next=%ff%fe", E::Encoding("next".into())),
            ("limit=0", E::Limit("0".into())),
            ("limit=-1", E::Limit("-1".into())),
            ("limit=%2B5", E::Limit("+5".into())),
            ("limit=+5", E::Limit(" 5".into())),
            ("limit=ten", E::Limit("ten".into())),
            (
                "limit=99999999999999999999999",
                E::Limit("99999999999999999999999".into()),
            ),
            ("match[version]=newest", E::Version("newest".into())),
            ("match[version]=2016-01-01", E::Version("2016-01-01".into())),
            ("match[version]=all,last", E::AllWithOthers),
            ("match[version]=first,all", E::AllWithOthers),
            (
                "match[version]=last,last",
                E::RepeatedValue {
                    param: "match[version]".into(),
                    value: "last".into(),
                },
            ),
            (
                "match[version]=2016-01-01T00:00:00Z,2016-01-01T00:00:00.000Z",
                E::RepeatedValue {
                    param: "match[version]".into(),
                    value: "2016-01-01T00:00:00.000Z".into(),
                },
            ),
            (
                "added_after=yesterday",
                E::Timestamp {
                    param: "added_after".into(),
                    value: "yesterday".into(),
                },
            ),
            (
                "added_after=2016-01-01T00:00:00+01:00",
                E::Timestamp {
                    param: "added_after".into(),
                    value: "2016-01-01T00:00:00 01:00".into(),
                },
            ),
        ];
        for (raw, want) in cases {
            assert_eq!(objects(raw), Err(want), "{raw}");
        }
        let many = format!(
            "match[id]={}",
            vec!["x"; MAX_VALUES_PER_FIELD + 1].join(",")
        );
        assert!(matches!(objects(&many), Err(E::TooManyValues { .. })));
    }

    #[test]
    fn endpoint_decides_which_filters_exist() {
        assert_eq!(
            Query::parse("match[type]=indicator", Endpoint::Object),
            Err(QueryError::NotSupportedHere("match[type]".into()))
        );
        assert_eq!(
            Query::parse("match[version]=all", Endpoint::Versions),
            Err(QueryError::NotSupportedHere("match[version]".into()))
        );
        assert!(Query::parse("match[version]=first", Endpoint::Object).is_ok());
        assert!(Query::parse("match[spec_version]=2.1&limit=5", Endpoint::Versions).is_ok());
        assert!(Query::parse("match[id]=a", Endpoint::Manifest).is_ok());
    }

    #[test]
    fn errors_are_lowercase_and_clip_input() {
        let long = "a".repeat(10_000);
        let err = objects(&format!("{long}=1")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("unknown query parameter `"));
        assert!(msg.len() < 200, "{msg}");
        assert_eq!(err.kind(), crate::ErrorKind::BadRequest);
    }

    #[test]
    fn matches_entry_ands_fields_and_ors_values() {
        let added = ts("2020-01-01T00:00:00.000000Z");
        let version = ts("2019-01-01T00:00:00.000Z");
        let e = EntryMeta {
            id: "indicator--3600ad1b-fff1-4c98-bcc9-4de3bc2e2ffb",
            object_type: "indicator",
            version: &version,
            spec_version: "2.1",
            date_added: &added,
        };
        assert!(objects("").unwrap().matches_entry(&e));
        assert!(objects("match[type]=malware,indicator")
            .unwrap()
            .matches_entry(&e));
        assert!(!objects("match[type]=malware").unwrap().matches_entry(&e));
        assert!(!objects("match[type]=indicator&match[spec_version]=2.0")
            .unwrap()
            .matches_entry(&e));
        assert!(
            !objects("match[id]=indicator--00000000-0000-4000-8000-000000000000")
                .unwrap()
                .matches_entry(&e)
        );
        // `added_after` is strict: the entry added at that instant was on the previous page.
        assert!(!objects("added_after=2020-01-01T00:00:00Z")
            .unwrap()
            .matches_entry(&e));
        assert!(objects("added_after=2019-12-31T23:59:59.999999Z")
            .unwrap()
            .matches_entry(&e));
    }

    #[test]
    fn fingerprint_ignores_paging_and_order_but_not_filters() {
        let a = objects("match[type]=malware,indicator&limit=5&next=x").unwrap();
        let b = objects("limit=50&match[type]=indicator,malware").unwrap();
        assert_eq!(a.fingerprint(), b.fingerprint());
        let c = objects("match[type]=indicator").unwrap();
        assert_ne!(a.fingerprint(), c.fingerprint());
        // The default `last` and an explicit `last` are the same filter.
        assert_eq!(
            objects("").unwrap().fingerprint(),
            objects("match[version]=last").unwrap().fingerprint()
        );
        assert_ne!(
            objects("").unwrap().fingerprint(),
            objects("match[version]=all").unwrap().fingerprint()
        );
        // The same instant written two ways.
        assert_eq!(
            objects("added_after=2016-01-01T00:00:00Z")
                .unwrap()
                .fingerprint(),
            objects("added_after=2016-01-01T00:00:00.000000Z")
                .unwrap()
                .fingerprint()
        );
        // A value cannot forge a field boundary.
        assert_ne!(
            objects("match[id]=a%22,%22b").unwrap().fingerprint(),
            objects("match[id]=a,b").unwrap().fingerprint()
        );
    }
}
