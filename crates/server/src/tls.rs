//! TLS: a rustls server configuration from PEM files, and a self-signed certificate made on
//! first start and reused afterwards, so a partner can pin its fingerprint. The private key
//! is written with mode 0600 before any byte of it is.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};

use crate::error::ServerError;

/// The file names of the generated certificate and key inside the directory given.
const CERT_FILE: &str = "tls-cert.pem";
const KEY_FILE: &str = "tls-key.pem";

/// A server configuration (TLS 1.2 and 1.3, ring, HTTP/1.1 by ALPN) for the certificate
/// chain and private key given as PEM.
pub fn tls_config(
    cert_pem: &[u8],
    key_pem: &[u8],
) -> Result<Arc<rustls::ServerConfig>, ServerError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| ServerError::Tls(format!("cannot read the certificate: {e}")))?;
    if certs.is_empty() {
        return Err(ServerError::Tls(
            "no certificate in the PEM given".to_owned(),
        ));
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem)
        .map_err(|e| ServerError::Tls(format!("cannot read the private key: {e}")))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ServerError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| ServerError::Tls(format!("certificate and key do not fit: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The SHA-256 fingerprint (lowercase hex) of the first certificate in `cert_pem`.
pub fn fingerprint(cert_pem: &[u8]) -> Result<String, ServerError> {
    let der = CertificateDer::from_pem_slice(cert_pem)
        .map_err(|e| ServerError::Tls(format!("cannot read the certificate: {e}")))?;
    Ok(Sha256::digest(der.as_ref())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// A self-signed certificate for `names` (DNS names or IP addresses; `localhost` and
/// `127.0.0.1` when empty) in `dir`: made on first use, reused after. Returns the
/// certificate's path, the key's path and the certificate's SHA-256 fingerprint in hex.
pub fn self_signed(
    dir: &Path,
    names: &[String],
) -> Result<(PathBuf, PathBuf, String), ServerError> {
    let cert_path = dir.join(CERT_FILE);
    let key_path = dir.join(KEY_FILE);
    if cert_path.exists() && key_path.exists() {
        let pem = fs::read(&cert_path)?;
        return Ok((cert_path, key_path, fingerprint(&pem)?));
    }
    fs::create_dir_all(dir)?;
    let names: Vec<String> = if names.is_empty() {
        vec!["localhost".to_owned(), "127.0.0.1".to_owned()]
    } else {
        names.to_vec()
    };
    let made = rcgen::generate_simple_self_signed(names)
        .map_err(|e| ServerError::Tls(format!("cannot make a certificate: {e}")))?;
    let cert_pem = made.cert.pem();
    write_new(
        &key_path,
        made.signing_key.serialize_pem().as_bytes(),
        0o600,
    )?;
    write_new(&cert_path, cert_pem.as_bytes(), 0o644)?;
    Ok((cert_path, key_path, fingerprint(cert_pem.as_bytes())?))
}

/// Writes `bytes` to `path` through a temporary file created with `mode`, then renames it
/// into place, so that a crash never leaves a half-written key.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), ServerError> {
    let tmp = path.with_extension("tmp");
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut f = options.open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    fs::rename(&tmp, path)?;
    Ok(())
}
