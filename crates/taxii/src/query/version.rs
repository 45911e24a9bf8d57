//! `match[version]` (section 3.4.1): which versions of each object a request selects.

use liaison_stix::Timestamp;

/// One item of a `match[version]` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionSelector {
    /// `last`: the latest version.
    Last,
    /// `first`: the earliest version.
    First,
    /// A timestamp: the version whose `modified` (or `created`) is that instant.
    Exact(Timestamp),
}

/// The versions a request selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionFilter {
    /// `all`: every version.
    All,
    /// Any combination of `first`, `last` and timestamps, each at most once (the list is never
    /// empty); a version is selected when any item selects it.
    Select(Vec<VersionSelector>),
}

impl VersionFilter {
    /// `last`: the default of the object and manifest endpoints (section 3.4.1).
    pub fn last() -> VersionFilter {
        VersionFilter::Select(vec![VersionSelector::Last])
    }

    /// `first`.
    pub fn first() -> VersionFilter {
        VersionFilter::Select(vec![VersionSelector::First])
    }
}

/// Of `versions`, all versions of one object, those `filter` selects, in the order given.
/// `version_of` reads an item's version (STIX `modified`, else `created`).
///
/// `first` and `last` are the earliest and latest instants among `versions` (the slice need
/// not be sorted); items sharing that instant (the same version in two spec versions, say)
/// are all selected. Pass only the versions the caller may see, so that `last` means the
/// latest visible version.
pub fn select_versions<'a, T>(
    filter: &VersionFilter,
    versions: &'a [T],
    version_of: impl Fn(&T) -> &Timestamp,
) -> Vec<&'a T> {
    let items = match filter {
        VersionFilter::All => return versions.iter().collect(),
        VersionFilter::Select(items) => items,
    };
    let first = versions.iter().map(&version_of).min();
    let last = versions.iter().map(&version_of).max();
    versions
        .iter()
        .filter(|v| {
            let at = version_of(v);
            items.iter().any(|item| match item {
                VersionSelector::First => Some(at) == first,
                VersionSelector::Last => Some(at) == last,
                VersionSelector::Exact(t) => at == t,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    fn versions() -> Vec<Timestamp> {
        [
            "2016-01-01T00:00:00.000Z",
            "2017-01-01T00:00:00.000Z",
            "2018-01-01T00:00:00.000Z",
        ]
        .into_iter()
        .map(ts)
        .collect()
    }

    fn pick(filter: &VersionFilter, vs: &[Timestamp]) -> Vec<String> {
        select_versions(filter, vs, |t| t)
            .into_iter()
            .map(|t| t.as_str().to_owned())
            .collect()
    }

    #[test]
    fn keywords() {
        let vs = versions();
        assert_eq!(
            pick(&VersionFilter::last(), &vs),
            ["2018-01-01T00:00:00.000Z"]
        );
        assert_eq!(
            pick(&VersionFilter::first(), &vs),
            ["2016-01-01T00:00:00.000Z"]
        );
        assert_eq!(pick(&VersionFilter::All, &vs).len(), 3);
        let both = VersionFilter::Select(vec![VersionSelector::Last, VersionSelector::First]);
        assert_eq!(
            pick(&both, &vs),
            ["2016-01-01T00:00:00.000Z", "2018-01-01T00:00:00.000Z"]
        );
    }

    #[test]
    fn exact_compares_instants_not_text() {
        let vs = versions();
        let f = VersionFilter::Select(vec![VersionSelector::Exact(ts("2017-01-01T00:00:00Z"))]);
        assert_eq!(pick(&f, &vs), ["2017-01-01T00:00:00.000Z"]);
        let none = VersionFilter::Select(vec![VersionSelector::Exact(ts("2017-01-01T00:00:01Z"))]);
        assert!(pick(&none, &vs).is_empty());
        let mixed = VersionFilter::Select(vec![
            VersionSelector::First,
            VersionSelector::Exact(ts("2017-01-01T00:00:00.000Z")),
        ]);
        assert_eq!(pick(&mixed, &vs).len(), 2);
    }

    #[test]
    fn unsorted_input_and_single_and_empty() {
        let mut vs = versions();
        vs.reverse();
        assert_eq!(
            pick(&VersionFilter::last(), &vs),
            ["2018-01-01T00:00:00.000Z"]
        );
        let one = vec![ts("2016-01-01T00:00:00Z")];
        assert_eq!(
            pick(&VersionFilter::first(), &one),
            pick(&VersionFilter::last(), &one)
        );
        assert!(pick(&VersionFilter::last(), &[]).is_empty());
    }
}
