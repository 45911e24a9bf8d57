//! The partner protocol of a liaison node, as the pulling side speaks it: pull what a
//! partner releases to us over TAXII 2.1, check its transparency log before taking anything
//! and cosign it after, countersign the terms it applies to us, verify that what it sent us
//! is in its log, and send it our signed consents.
//!
//! Not pure: it talks to partners through [`liaison_client`] and keeps what it learns in a
//! [`Node`](liaison_release::Node). It prints nothing; callers get typed values and
//! [`ExchangeError`]s, and progress through [`Progress`].
#![deny(missing_docs)]

mod consent;
mod error;
mod matching;
mod partner_log;
mod pull;
mod remotes;
mod terms;
mod verify;

pub use consent::send_consent;
pub use error::ExchangeError;
pub use matching::{match_selectors, Match, MatchReport, NotAsked, Selector};
pub use partner_log::LogCheck;
pub use pull::{pull, Progress, PullOptions, PullSummary, Refused};
pub use remotes::Remotes;
pub use terms::AgreementCheck;
pub use verify::{verifiable_partners, verify_log, VerifyReport};
