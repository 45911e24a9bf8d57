//! Result rows into records, written once for both backends. [`Row`] is what a mapping needs
//! of a row (a column by position, owned or borrowed), for `rusqlite::Row` and
//! `postgres::Row`; each function below reads the columns of one SELECT list, in the order its
//! doc gives, which both backends' queries keep. A column that does not read as asked is the
//! backend's own error, as if read directly.

use rusqlite::types::{FromSqlError, Type};

use crate::error::StoreError;
use crate::record::{
    AgreementNoteRecord, AuditRecord, ConsentRecord, ForkRecord, HoldRecord, IndexRow, LogOpening,
    MatchUsage, OperatorRecord, PartnerRecord, RefusalRecord, Stored, ViewRow, ViewState,
};

/// A value both backends read from a column: text, integers, flags, bytes, or NULL.
pub(crate) trait Column:
    rusqlite::types::FromSql + for<'a> ::postgres::types::FromSql<'a>
{
}

impl<T> Column for T where T: rusqlite::types::FromSql + for<'a> ::postgres::types::FromSql<'a> {}

/// One result row of either backend, read by column position.
pub(crate) trait Row {
    /// Column `i`.
    fn column<T: Column>(&self, i: usize) -> Result<T, StoreError>;
    /// Column `i` as text, borrowed from the row.
    fn text(&self, i: usize) -> Result<&str, StoreError>;
    /// Column `i` as text or NULL, borrowed from the row.
    fn opt_text(&self, i: usize) -> Result<Option<&str>, StoreError>;
}

impl Row for rusqlite::Row<'_> {
    fn column<T: Column>(&self, i: usize) -> Result<T, StoreError> {
        Ok(self.get(i)?)
    }

    fn text(&self, i: usize) -> Result<&str, StoreError> {
        let v = self.get_ref(i)?;
        Ok(v.as_str()
            .map_err(|e| sqlite_error(self, i, v.data_type(), e))?)
    }

    fn opt_text(&self, i: usize) -> Result<Option<&str>, StoreError> {
        let v = self.get_ref(i)?;
        Ok(v.as_str_or_null()
            .map_err(|e| sqlite_error(self, i, v.data_type(), e))?)
    }
}

/// The error `rusqlite::Row::get` gives for column `i` of type `ty` that did not convert: the
/// borrowed reads fail as the owned ones do.
fn sqlite_error(r: &rusqlite::Row<'_>, i: usize, ty: Type, e: FromSqlError) -> rusqlite::Error {
    match e {
        FromSqlError::InvalidType => rusqlite::Error::InvalidColumnType(
            i,
            r.as_ref()
                .column_name(i)
                .map(str::to_owned)
                .unwrap_or_default(),
            ty,
        ),
        FromSqlError::OutOfRange(n) => rusqlite::Error::IntegralValueOutOfRange(i, n),
        FromSqlError::Other(err) => rusqlite::Error::FromSqlConversionFailure(i, ty, err),
        other => rusqlite::Error::FromSqlConversionFailure(i, ty, Box::new(other)),
    }
}

impl Row for ::postgres::Row {
    fn column<T: Column>(&self, i: usize) -> Result<T, StoreError> {
        Ok(self.try_get(i)?)
    }

    fn text(&self, i: usize) -> Result<&str, StoreError> {
        Ok(self.try_get(i)?)
    }

    fn opt_text(&self, i: usize) -> Result<Option<&str>, StoreError> {
        Ok(self.try_get(i)?)
    }
}

/// The columns [`stored`] reads, of `objects o`.
pub(crate) const STORED_COLUMNS: &str =
    "o.seq, o.body, o.date_added, o.source, o.assigned_label, o.upgrades";

/// A stored version, from [`STORED_COLUMNS`]: the body parsed, the label and upgrades read back.
pub(crate) fn stored(r: &impl Row) -> Result<Stored, StoreError> {
    let seq: i64 = r.column(0)?;
    let body = r.text(1)?;
    let date_added = r.text(2)?;
    let source: String = r.column(3)?;
    let assigned = r.opt_text(4)?;
    let upgrades = r.opt_text(5)?;
    let doc = liaison_stix::parse_document(body)
        .map_err(|e| StoreError::Damaged(format!("row {seq}: {e}")))?;
    let object = doc
        .objects
        .into_iter()
        .next()
        .ok_or_else(|| StoreError::Damaged(format!("row {seq}: empty body")))?;
    let date_added = liaison_stix::Timestamp::parse(date_added)
        .map_err(|e| StoreError::Damaged(format!("row {seq}: {e}")))?;
    let assigned_label = match assigned {
        None => None,
        Some(s) => Some(
            liaison_stix::StixId::parse(s)
                .map_err(|e| StoreError::Damaged(format!("row {seq}: {e}")))?,
        ),
    };
    Ok(Stored {
        seq,
        object,
        date_added,
        source,
        assigned_label,
        upgrades: crate::record::upgrades_of(seq, upgrades)?,
    })
}

/// The columns [`index_row`] reads, of `objects o`.
pub(crate) const INDEX_COLUMNS: &str = "o.seq, o.id, o.markings, o.assigned_label, o.tearline_of, \
     o.derived_src, o.derived_dst, o.tags, o.source, o.ends";

/// What the label engine needs of a version, from [`INDEX_COLUMNS`]: markings and ends are
/// space-separated (NULL ends: none), tags a JSON list (NULL: none).
pub(crate) fn index_row(r: &impl Row) -> Result<IndexRow, StoreError> {
    let seq: i64 = r.column(0)?;
    let markings = r.text(2)?;
    let src: Option<String> = r.column(5)?;
    let dst: Option<String> = r.column(6)?;
    let tags = match r.opt_text(7)? {
        None => Vec::new(),
        Some(t) => serde_json::from_str(t)
            .map_err(|e| StoreError::Damaged(format!("row {seq}: tags: {e}")))?,
    };
    Ok(IndexRow {
        seq,
        id: r.column(1)?,
        markings: markings.split_whitespace().map(str::to_owned).collect(),
        assigned_label: r.column(3)?,
        tearline_of: r.column(4)?,
        derivation: src.zip(dst),
        ends: r
            .opt_text(9)?
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
        tags,
        source: r.column(8)?,
    })
}

/// A partner, from `party, agreement, updated`.
pub(crate) fn partner(r: &impl Row) -> Result<PartnerRecord, StoreError> {
    Ok(PartnerRecord {
        party: r.column(0)?,
        agreement: r.column(1)?,
        updated: r.column(2)?,
    })
}

/// A consent, from `id, object, to_party, by_party, created`.
pub(crate) fn consent(r: &impl Row) -> Result<ConsentRecord, StoreError> {
    Ok(ConsentRecord {
        id: r.column(0)?,
        object: r.column(1)?,
        to: r.column(2)?,
        by: r.column(3)?,
        created: r.column(4)?,
    })
}

/// A hold, from `object, partner, by_operator, created, reason`.
pub(crate) fn hold(r: &impl Row) -> Result<HoldRecord, StoreError> {
    Ok(HoldRecord {
        object: r.column(0)?,
        partner: r.column(1)?,
        by: r.column(2)?,
        created: r.column(3)?,
        reason: r.column(4)?,
    })
}

/// A refusal, from `seq, created, sender, id, version, reason, body`.
pub(crate) fn refusal(r: &impl Row) -> Result<RefusalRecord, StoreError> {
    Ok(RefusalRecord {
        seq: r.column(0)?,
        created: r.column(1)?,
        sender: r.column(2)?,
        id: r.column(3)?,
        version: r.column(4)?,
        reason: r.column(5)?,
        body: r.column(6)?,
    })
}

/// Fork evidence, from `party, created, evidence`.
pub(crate) fn fork(r: &impl Row) -> Result<ForkRecord, StoreError> {
    Ok(ForkRecord {
        party: r.column(0)?,
        created: r.column(1)?,
        evidence: r.column(2)?,
    })
}

/// An operator, from `name, role, phc, created, updated`.
pub(crate) fn operator(r: &impl Row) -> Result<OperatorRecord, StoreError> {
    Ok(OperatorRecord {
        name: r.column(0)?,
        role: r.column(1)?,
        phc: r.column(2)?,
        created: r.column(3)?,
        updated: r.column(4)?,
    })
}

/// An audit entry, from `seq, at, operator, action, target, detail`.
pub(crate) fn audit(r: &impl Row) -> Result<AuditRecord, StoreError> {
    Ok(AuditRecord {
        seq: r.column(0)?,
        at: r.column(1)?,
        operator: r.column(2)?,
        action: r.column(3)?,
        target: r.column(4)?,
        detail: r.column(5)?,
    })
}

/// The agreement note kept for `partner` and `side`, from `sha256, text, note, updated`.
pub(crate) fn agreement_note(
    r: &impl Row,
    partner: &str,
    side: &str,
) -> Result<AgreementNoteRecord, StoreError> {
    Ok(AgreementNoteRecord {
        partner: partner.to_owned(),
        side: side.to_owned(),
        sha256: r.column(0)?,
        text: r.column(1)?,
        note: r.column(2)?,
        updated: r.column(3)?,
    })
}

/// Every consent, then those given for one partner (`$1`, or `?1`: both backends read either
/// form), as [`consent`] reads them: two statements rather than one with an `IS NULL` test,
/// which neither planner would answer from the `consents_to` index.
pub(crate) const CONSENTS: [&str; 2] = [
    "SELECT id, object, to_party, by_party, created FROM consents ORDER BY created, id",
    "SELECT id, object, to_party, by_party, created FROM consents
     WHERE to_party = $1 ORDER BY created, id",
];

/// The columns [`view_row`] reads, of `view_rows`.
pub(crate) const VIEW_COLUMNS: &str =
    "original, delivered, type, version, spec_version, date_added, added, json, meta";

/// A row of a partner's view, from [`VIEW_COLUMNS`]; its marks are read apart (empty here).
pub(crate) fn view_row(r: &impl Row) -> Result<ViewRow, StoreError> {
    Ok(ViewRow {
        original: r.column(0)?,
        delivered: r.column(1)?,
        object_type: r.column(2)?,
        version: r.column(3)?,
        spec_version: r.column(4)?,
        date_added: r.column(5)?,
        added_micros: r.column(6)?,
        // Copied once, from the row straight into its shared form.
        json: r.text(7)?.into(),
        marks: Vec::new(),
        meta: r.column(8)?,
    })
}

/// What a view is maintained through, from `basis, through`.
pub(crate) fn view_state(r: &impl Row) -> Result<ViewState, StoreError> {
    Ok(ViewState {
        basis: r.column(0)?,
        through: r.column(1)?,
    })
}

/// A checkpoint kept, from `size, note` (a negative size reads as 0).
pub(crate) fn sized_note(r: &impl Row) -> Result<(u64, String), StoreError> {
    Ok((r.column::<i64>(0)?.max(0) as u64, r.column(1)?))
}

/// A matching budget's use, from `sum(count), count(*), max(answered)` (negatives read as 0).
pub(crate) fn match_usage(r: &impl Row) -> Result<MatchUsage, StoreError> {
    Ok(MatchUsage {
        used: r.column::<i64>(0)?.max(0) as u64,
        queries: r.column::<i64>(1)?.max(0) as u64,
        last: r.column(2)?,
    })
}

/// An opening that concerns `party`, from `idx, leaf, salt`: (index, opening).
pub(crate) fn opening_for(r: &impl Row, party: &str) -> Result<(u64, LogOpening), StoreError> {
    let i = r.column::<i64>(0)?.max(0) as u64;
    let salt: Vec<u8> = r.column(2)?;
    Ok((
        i,
        LogOpening {
            leaf: r.column(1)?,
            salt: salt32(i, &salt)?,
            parties: vec![party.to_owned()],
        },
    ))
}

/// A stored salt, which must be 32 bytes.
pub(crate) fn salt32(index: u64, salt: &[u8]) -> Result<[u8; 32], StoreError> {
    <[u8; 32]>::try_from(salt)
        .map_err(|_| StoreError::Damaged(format!("the salt of log entry {index} is not 32 bytes")))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The borrowed reads of SQLite text fail with the error the owned ones give, so that
    /// reading a body borrowed (no copy) changes no error a damaged file reports.
    #[test]
    fn sqlite_borrowed_text_fails_as_owned_text_does() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let sql = "SELECT 7 AS n, x'ff' AS b, CAST(x'ff' AS TEXT) AS t, NULL AS z";
        conn.query_row(sql, [], |r| {
            for i in 0..4 {
                let owned = r.get::<_, String>(i).unwrap_err().to_string();
                assert_eq!(
                    Row::text(r, i).unwrap_err().to_string(),
                    format!("database error: {owned}")
                );
            }
            for i in 0..3 {
                let owned = r.get::<_, Option<String>>(i).unwrap_err().to_string();
                assert_eq!(
                    Row::opt_text(r, i).unwrap_err().to_string(),
                    format!("database error: {owned}")
                );
            }
            assert_eq!(Row::opt_text(r, 3).unwrap(), None);
            Ok(())
        })
        .unwrap();
    }

    /// A version whose `ends` is NULL (possible in a file migrated from schema 1) has no ends,
    /// on SQLite as on PostgreSQL.
    #[test]
    fn null_ends_read_as_none() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let sql = "SELECT 1 AS seq, 'indicator--a' AS id, 'm1 m2' AS markings, NULL, NULL, \
                   NULL, NULL, NULL AS tags, 'local' AS source, NULL AS ends";
        let row = conn
            .query_row(sql, [], |r| Ok(index_row(r)))
            .unwrap()
            .unwrap();
        assert_eq!(row.markings, ["m1", "m2"]);
        assert!(row.ends.is_empty() && row.tags.is_empty());
    }
}
