//! Whatever a partner sends in a query string, header or token, the parsers answer without
//! panicking, and what they accept obeys the documented invariants.

use liaison_taxii::{
    accepts, content_type_ok, Endpoint, NextToken, Query, VersionFilter, TAXII_MEDIA_TYPE,
};
use proptest::prelude::*;

const ENDPOINTS: [Endpoint; 4] = [
    Endpoint::Manifest,
    Endpoint::Objects,
    Endpoint::Object,
    Endpoint::Versions,
];

/// Query-shaped strings: the parameter names and the characters that matter to the parser,
/// so that the generator reaches past the first error.
fn query_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("added_after=".to_owned()),
        Just("limit=".to_owned()),
        Just("next=".to_owned()),
        Just("match[id]=".to_owned()),
        Just("match[type]=".to_owned()),
        Just("match[version]=".to_owned()),
        Just("match%5Bspec_version%5D=".to_owned()),
        Just("first".to_owned()),
        Just("last".to_owned()),
        Just("all".to_owned()),
        Just("2016-01-01T00:00:00.000Z".to_owned()),
        "[&=,%+0-9a-fA-FzZ:.T\\-\\[\\]]{0,6}",
        "\\PC{0,4}",
    ];
    prop::collection::vec(piece, 0..12).prop_map(|v| v.concat())
}

proptest! {
    #[test]
    fn query_parser_never_panics_on_any_string(raw in any::<String>()) {
        for e in ENDPOINTS {
            let _ = Query::parse(&raw, e);
        }
    }

    #[test]
    fn query_parser_never_panics_on_query_like_strings(raw in query_like()) {
        for e in ENDPOINTS {
            if let Ok(q) = Query::parse(&raw, e) {
                prop_assert!(q.limit.is_none_or(|l| l > 0));
                prop_assert!(q.match_id.iter().all(|s| !s.is_empty()));
                if let VersionFilter::Select(items) = &q.match_version {
                    prop_assert!(!items.is_empty());
                }
                let _ = q.fingerprint();
            }
        }
    }

    #[test]
    fn headers_never_panic(h in any::<String>()) {
        let _ = accepts(&h, TAXII_MEDIA_TYPE);
        let _ = content_type_ok(&h);
    }

    #[test]
    fn tokens_never_panic_and_never_verify_by_chance(t in any::<String>()) {
        prop_assert!(NextToken::check(&[1; 32], &t, "c", "q", 0).is_err());
    }
}
