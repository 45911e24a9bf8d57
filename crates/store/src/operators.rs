//! What the operators' console keeps: operator accounts (an Argon2 hash, never the password)
//! and the audit list of what operators changed. Apart from [`Store`](crate::Store) because it
//! has one consumer (the console) and no bearing on what partners see: writing here never
//! changes [`Store::generation`](crate::Store::generation).

use crate::error::StoreError;

/// An operator account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorRecord {
    /// The login name.
    pub name: String,
    /// The role (`analyst` or `officer`; the console reads it, the store does not).
    pub role: String,
    /// The password's Argon2 PHC string.
    pub phc: String,
    /// When the account was created.
    pub created: String,
    /// When the account was last changed.
    pub updated: String,
}

/// One audited action: who did what, when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Position in the audit list (assigned by the store; ignored when adding).
    pub seq: i64,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// The operator (or `cli` for a change made at the command line).
    pub operator: String,
    /// What was done, a stable code (`login`, `consent`, `operator_add`, ...).
    pub action: String,
    /// What it was done to (an object id, a partner, an operator), or empty.
    pub target: String,
    /// Anything else worth keeping, for people.
    pub detail: String,
}

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
