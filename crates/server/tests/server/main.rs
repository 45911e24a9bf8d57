//! The server's integration tests, one binary (STYLE.md): TAXII 2.1 endpoints, the
//! transparency log beside them, and consents over the liaison API. Each module builds a real
//! node in a temporary directory and drives the real router.

mod attack;
mod consent;
mod log;
mod taxii;
