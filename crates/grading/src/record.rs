//! A partner's track record: how its reporting was graded period by period, and how much of
//! it was later corroborated by an independent source or contradicted. Every rate carries
//! the counts it is made of, so a figure can always be checked by hand.

use std::collections::BTreeMap;

use liaison_labels::{Grading, Party};
use liaison_stix::Timestamp;
use serde::{Serialize, Serializer};

/// The length of a track record's periods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    /// `2026-11`.
    Month,
    /// `2026-Q4`.
    Quarter,
    /// `2026`.
    Year,
}

impl Period {
    /// The period a timestamp falls in.
    pub fn of(self, at: &Timestamp) -> String {
        let s = at.as_str();
        let year = s.get(..4).unwrap_or(s);
        let month: u32 = s.get(5..7).and_then(|m| m.parse().ok()).unwrap_or(1);
        match self {
            Period::Month => s.get(..7).unwrap_or(s).to_owned(),
            Period::Quarter => format!("{year}-Q{}", (month.clamp(1, 12) - 1) / 3 + 1),
            Period::Year => year.to_owned(),
        }
    }
}

/// A grading given to one of the partner's items (by its label on arrival, or by one of our
/// analysts later: the latest grading of an item is the one counted).
#[derive(Debug, Clone, PartialEq)]
pub struct Graded {
    /// The item.
    pub item: String,
    /// When it was graded.
    pub at: Timestamp,
    /// The grading (`None`: ungraded).
    pub grading: Option<Grading>,
}

/// What later became of an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// An independent source asserted one of its claims.
    Corroborated,
    /// An `opinion` of disagree, or a newer assessment of ours, contradicted it.
    Contradicted,
}

/// An outcome for one item.
#[derive(Debug, Clone, PartialEq)]
pub struct OutcomeEvent {
    /// The item.
    pub item: String,
    /// When.
    pub at: Timestamp,
    /// What.
    pub outcome: Outcome,
}

/// `count` of `of`, and the rate when `of` is not zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rate {
    /// How many.
    pub count: u64,
    /// Out of how many.
    pub of: u64,
}

impl Rate {
    /// `count / of`; `None` when `of` is zero (no rate, not a rate of zero).
    pub fn value(self) -> Option<f64> {
        (self.of > 0).then(|| self.count as f64 / self.of as f64)
    }
}

impl Serialize for Rate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Rate", 3)?;
        st.serialize_field("count", &self.count)?;
        st.serialize_field("of", &self.of)?;
        st.serialize_field("rate", &self.value())?;
        st.end()
    }
}

/// The record of one period (or of all of them).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct PeriodRecord {
    /// The period (`all` for the total).
    pub period: String,
    /// Items first graded in it.
    pub items: u64,
    /// Items by current reliability (`A`..`F`; F: cannot be judged).
    pub reliability: BTreeMap<String, u64>,
    /// Items by current credibility (`1`..`6`; 6: cannot be judged).
    pub credibility: BTreeMap<String, u64>,
    /// Items without a grading.
    pub ungraded: u64,
    /// Of the items, those later corroborated by an independent source.
    pub corroborated: Rate,
    /// Of the items, those later contradicted.
    pub contradicted: Rate,
}

/// A partner's track record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrackRecord {
    /// The partner.
    pub partner: Party,
    /// The period length.
    pub period: Period,
    /// Period by period, oldest first; an item counts in the period it was first graded in.
    pub periods: Vec<PeriodRecord>,
    /// Over all periods.
    pub total: PeriodRecord,
}

/// The partner's record from the gradings of its items and their later outcomes. Outcomes
/// of items not graded here are ignored; each item counts once per outcome.
pub fn track_record(
    partner: Party,
    graded: &[Graded],
    outcomes: &[OutcomeEvent],
    period: Period,
) -> TrackRecord {
    // item -> (first graded, latest (time, grading)).
    let mut items: BTreeMap<&str, (&Timestamp, (&Timestamp, Option<Grading>))> = BTreeMap::new();
    for g in graded {
        let e = items
            .entry(g.item.as_str())
            .or_insert((&g.at, (&g.at, g.grading)));
        if g.at < *e.0 {
            e.0 = &g.at;
        }
        if g.at >= *e.1 .0 {
            e.1 = (&g.at, g.grading);
        }
    }
    let mut outcome_of: BTreeMap<&str, (bool, bool)> = BTreeMap::new();
    for o in outcomes {
        let e = outcome_of.entry(o.item.as_str()).or_default();
        match o.outcome {
            Outcome::Corroborated => e.0 = true,
            Outcome::Contradicted => e.1 = true,
        }
    }
    let mut periods: BTreeMap<String, PeriodRecord> = BTreeMap::new();
    let mut total = PeriodRecord {
        period: "all".to_owned(),
        ..PeriodRecord::default()
    };
    for (item, (first, (_, grading))) in &items {
        let key = period.of(first);
        let (corroborated, contradicted) = outcome_of.get(item).copied().unwrap_or_default();
        let rec = periods.entry(key.clone()).or_insert_with(|| PeriodRecord {
            period: key,
            ..PeriodRecord::default()
        });
        for r in [&mut *rec, &mut total] {
            r.items += 1;
            match grading {
                Some(g) => {
                    *r.reliability.entry(g.reliability.to_string()).or_default() += 1;
                    *r.credibility.entry(g.credibility.to_string()).or_default() += 1;
                }
                None => r.ungraded += 1,
            }
            r.corroborated.of += 1;
            r.contradicted.of += 1;
            r.corroborated.count += u64::from(corroborated);
            r.contradicted.count += u64::from(contradicted);
        }
    }
    TrackRecord {
        partner,
        period,
        periods: periods.into_values().collect(),
        total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    #[test]
    fn counts_behind_every_rate() {
        let g = |item: &str, at: &str, grading: Option<&str>| Graded {
            item: item.into(),
            at: t(at),
            grading: grading.map(|s| s.parse().unwrap()),
        };
        let graded = [
            g("a", "2026-01-05T00:00:00Z", Some("B2")),
            g("b", "2026-01-20T00:00:00Z", Some("F6")),
            g("c", "2026-02-01T00:00:00Z", None),
            // Re-graded by our analyst: counted once, in January, as C3.
            g("a", "2026-03-01T00:00:00Z", Some("C3")),
        ];
        let o = |item: &str, outcome| OutcomeEvent {
            item: item.into(),
            at: t("2026-04-01T00:00:00Z"),
            outcome,
        };
        let outcomes = [
            o("a", Outcome::Corroborated),
            o("a", Outcome::Corroborated),
            o("b", Outcome::Contradicted),
            o("zzz", Outcome::Contradicted),
        ];
        let rec = track_record(
            Party::parse("RUS").unwrap(),
            &graded,
            &outcomes,
            Period::Month,
        );
        assert_eq!(rec.periods.len(), 2);
        let jan = &rec.periods[0];
        assert_eq!((jan.period.as_str(), jan.items), ("2026-01", 2));
        assert_eq!(jan.reliability.get("C"), Some(&1));
        assert_eq!(jan.reliability.get("F"), Some(&1));
        assert_eq!(jan.corroborated, Rate { count: 1, of: 2 });
        assert_eq!(jan.contradicted, Rate { count: 1, of: 2 });
        assert_eq!(rec.total.items, 3);
        assert_eq!(rec.total.ungraded, 1);
        assert_eq!(rec.total.corroborated.value(), Some(1.0 / 3.0));
        assert_eq!(Rate::default().value(), None);
        assert_eq!(Period::Quarter.of(&t("2026-11-30T00:00:00Z")), "2026-Q4");
        let json = serde_json::to_value(&rec.total).unwrap();
        assert_eq!(json["corroborated"]["count"], 1);
        assert_eq!(json["corroborated"]["of"], 3);
    }
}
