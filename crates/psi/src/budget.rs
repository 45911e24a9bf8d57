//! Budgets and limits from the agreement, as values. A budget counts evaluated selectors,
//! not requests: splitting a request buys nothing. Padding dummies count too, since the
//! holder cannot tell them apart.

use serde::{Deserialize, Serialize};

use crate::PsiError;

/// The largest request: RFC 9497 batch proofs in the `voprf` crate take at most 65535
/// elements, and padding to a power of two makes 2^15 the largest bucket below that.
pub const MAX_REQUEST: usize = 1 << 15;

/// A partner's budget of evaluated selectors for one epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Budget {
    /// Selectors the partner may have evaluated per epoch.
    pub per_epoch: u64,
    /// Selectors evaluated so far this epoch.
    pub used: u64,
}

impl Budget {
    /// A fresh budget for an epoch.
    pub fn new(per_epoch: u64) -> Self {
        Self { per_epoch, used: 0 }
    }

    /// Selectors left this epoch.
    pub fn remaining(&self) -> u64 {
        self.per_epoch.saturating_sub(self.used)
    }

    /// Spends `n` selectors, or refuses without spending any.
    pub fn charge(&mut self, n: u64) -> Result<(), PsiError> {
        if n > self.remaining() {
            return Err(PsiError::BudgetExhausted {
                requested: n,
                remaining: self.remaining(),
            });
        }
        self.used += n;
        Ok(())
    }
}

/// What a holder enforces on every request besides the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// The largest request (the agreement's maximum set size), at most [`MAX_REQUEST`].
    pub max_request: usize,
    /// The normaliser version this node runs (`liaison_selectors::NORMALISER_VERSION`).
    pub normaliser_version: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charge_counts_selectors_and_refuses_without_spending() {
        let mut budget = Budget::new(10);
        budget.charge(8).unwrap();
        let err = budget.charge(4).unwrap_err();
        assert_eq!(
            err,
            PsiError::BudgetExhausted {
                requested: 4,
                remaining: 2
            }
        );
        assert_eq!(budget.used, 8);
        budget.charge(2).unwrap();
        assert_eq!(budget.remaining(), 0);
    }
}
