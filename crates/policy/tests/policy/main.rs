//! The policy's integration tests, one binary (STYLE.md): a scenario per reason code, the
//! cuts, and the properties (no released copy holds what the policy withholds; incremental
//! upserts equal a batch build).

mod cuts;
mod decisions;
mod properties;
