//! The client side of TAXII 2.1 for `liaison pull`: finds the collection a partner releases
//! to us and fetches it page by page, following `next`, from where the last pull stopped.
//! TLS is pinned to the partner's certificate fingerprint (partners run self-signed
//! certificates and exchange fingerprints out of band); there is no trust in public CAs.
#![deny(missing_docs)]

mod error;
mod pin;
mod remote;

pub use error::ClientError;
pub use remote::{Page, Remote, Session, Timeouts};
