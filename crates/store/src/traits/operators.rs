//! What the operators' console keeps: operator accounts (an Argon2 hash, never the password)
//! and the audit list of what operators changed. Apart from the rest because it has one
//! consumer (the console) and no bearing on what partners see: writing here never changes
//! [`ObjectStore::generation`](crate::ObjectStore::generation).

use crate::error::StoreError;
use crate::record::{AuditRecord, OperatorRecord};

/// Operator accounts and the audit list.
pub trait OperatorStore {
    /// Adds an operator, or replaces the role and password of one with the same name.
    fn put_operator(&mut self, operator: &OperatorRecord) -> Result<(), StoreError>;

    /// One operator.
    fn operator(&self, name: &str) -> Result<Option<OperatorRecord>, StoreError>;

    /// Every operator, by name.
    fn operators(&self) -> Result<Vec<OperatorRecord>, StoreError>;

    /// Appends to the audit list; returns the entry's `seq`.
    fn add_audit(&mut self, entry: &AuditRecord) -> Result<i64, StoreError>;

    /// Audit entries, newest first, with `seq` below `before` (all when `None`), at most
    /// `limit`.
    fn audit(&self, before: Option<i64>, limit: usize) -> Result<Vec<AuditRecord>, StoreError>;
}
