//! The node's operators (the people at the console) and the audit list of what they changed.
//! Passwords are kept only as Argon2 hashes, with the parameters partners' secrets use; the
//! audit list is append-only through this API.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::Argon2;
use liaison_stix::Timestamp;
use liaison_store::prelude::*;
use liaison_store::{AuditRecord, OperatorRecord};

use crate::error::ReleaseError;
use crate::node::Node;

/// The shortest password an operator may have.
pub const MIN_PASSWORD: usize = 12;
/// The longest password read (Argon2 takes any length; this bounds the work of a login).
pub const MAX_PASSWORD: usize = 256;

/// What an operator may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Reads everything the node holds and every decision; changes nothing that leaves.
    Analyst,
    /// An analyst who also acts on releases: records our own consents.
    Officer,
}

impl Role {
    /// The role's name, as stored and typed (`analyst`, `officer`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Analyst => "analyst",
            Role::Officer => "officer",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = ReleaseError;
    fn from_str(s: &str) -> Result<Role, ReleaseError> {
        match s {
            "analyst" => Ok(Role::Analyst),
            "officer" => Ok(Role::Officer),
            other => Err(ReleaseError::Party(format!(
                "unknown role `{other}` (analyst or officer)"
            ))),
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An operator account as the console reads it.
#[derive(Debug, Clone)]
pub struct Operator {
    /// The login name.
    pub name: String,
    /// The role.
    pub role: Role,
    /// The password's Argon2 PHC string.
    pub phc: String,
}

/// Whether `name` may be an operator's login name: 1 to 64 of `a-z 0-9 . _ -`, starting with
/// a letter (so that it never reads as anything else on a page or in the audit list).
pub fn valid_operator_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
}

impl<S: Store> Node<S> {
    /// Adds an operator, or gives an existing one a new role and password; recorded in the
    /// audit list as done by `by`.
    pub fn add_operator(
        &mut self,
        name: &str,
        role: Role,
        password: &str,
        by: &str,
    ) -> Result<(), ReleaseError> {
        if !valid_operator_name(name) {
            return Err(ReleaseError::Party(format!(
                "`{name}` is not a valid operator name (1 to 64 of a-z, 0-9, `.`, `_`, `-`, starting with a letter)"
            )));
        }
        let chars = password.chars().count();
        if chars < MIN_PASSWORD || password.len() > MAX_PASSWORD {
            return Err(ReleaseError::Party(format!(
                "an operator's password must be {MIN_PASSWORD} to {MAX_PASSWORD} bytes long"
            )));
        }
        let salt = SaltString::generate(&mut OsRng);
        let phc = Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map_err(|e| ReleaseError::Party(format!("cannot hash the password: {e}")))?
            .to_string();
        let now = Timestamp::now().to_string();
        let existed = self.store.operator(name)?.is_some();
        self.store.put_operator(&OperatorRecord {
            name: name.to_owned(),
            role: role.as_str().to_owned(),
            phc,
            created: now.clone(),
            updated: now,
        })?;
        let detail = if existed {
            format!("role {role}, new password")
        } else {
            format!("role {role}")
        };
        self.record_audit(by, "operator_add", name, &detail)?;
        tracing::info!(operator = name, %role, "operator set");
        Ok(())
    }

    /// One operator; `None` for an unknown name, and for a stored role this build does not
    /// know (such an account cannot log in).
    pub fn operator(&self, name: &str) -> Result<Option<Operator>, ReleaseError> {
        let Some(record) = self.store.operator(name)? else {
            return Ok(None);
        };
        let Ok(role) = record.role.parse::<Role>() else {
            tracing::warn!(operator = name, role = %record.role, "operator with an unknown role");
            return Ok(None);
        };
        Ok(Some(Operator {
            name: record.name,
            role,
            phc: record.phc,
        }))
    }

    /// Every operator: (name, role as stored), by name.
    pub fn operators(&self) -> Result<Vec<(String, String)>, ReleaseError> {
        Ok(self
            .store
            .operators()?
            .into_iter()
            .map(|o| (o.name, o.role))
            .collect())
    }

    /// Records that `operator` did `action` to `target`, now.
    pub fn record_audit(
        &mut self,
        operator: &str,
        action: &str,
        target: &str,
        detail: &str,
    ) -> Result<i64, ReleaseError> {
        Ok(self.store.add_audit(&AuditRecord {
            seq: 0,
            at: Timestamp::now().to_string(),
            operator: operator.to_owned(),
            action: action.to_owned(),
            target: target.to_owned(),
            detail: detail.to_owned(),
        })?)
    }

    /// The audit list, newest first, below `before` (a `seq`), at most `limit`.
    pub fn audit(
        &self,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, ReleaseError> {
        Ok(self.store.audit(before, limit)?)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn operator_names() {
        for ok in ["alice", "a", "j.doe-2", "x_y"] {
            assert!(valid_operator_name(ok), "{ok}");
        }
        for bad in ["", "Alice", "1abc", "a b", "a<b", "é", &"a".repeat(65)] {
            assert!(!valid_operator_name(bad), "{bad}");
        }
    }
}
