//! Where each partner is and how far the last pull got: one small TOML file per partner,
//! `remotes/<PARTY>.toml` in the node's home, written atomically after every page so that an
//! interrupted pull resumes where it stopped.

use std::path::{Path, PathBuf};

use liaison_client::Remote;
use liaison_labels::Party;
use serde::{Deserialize, Serialize};

use crate::error::ExchangeError;

/// What is remembered of one partner's server.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RemoteState {
    pub(crate) url: String,
    pub(crate) fingerprint: Option<String>,
    /// `X-TAXII-Date-Added-Last` of the last page taken.
    pub(crate) added_after: Option<String>,
}

/// The remote-state files of one node.
#[derive(Debug, Clone)]
pub struct Remotes {
    dir: PathBuf,
}

impl Remotes {
    /// The remote-state files of the node whose home is `home` (in `home/remotes/`).
    pub fn in_home(home: &Path) -> Self {
        Remotes {
            dir: home.join("remotes"),
        }
    }

    fn path(&self, partner: &Party) -> PathBuf {
        self.dir.join(format!("{partner}.toml"))
    }

    /// The saved state for `partner`, if any.
    pub(crate) fn load(&self, partner: &Party) -> Result<Option<RemoteState>, ExchangeError> {
        let path = self.path(partner);
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text)
                .map(Some)
                .map_err(|e| ExchangeError::RemoteFile {
                    path,
                    detail: e.to_string(),
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(ExchangeError::RemoteFile {
                path,
                detail: format!("cannot read: {e}"),
            }),
        }
    }

    /// Writes the state for `partner` atomically (a temporary file renamed over the old).
    pub(crate) fn save(&self, partner: &Party, state: &RemoteState) -> Result<(), ExchangeError> {
        let path = self.path(partner);
        let failed = |detail: String| ExchangeError::RemoteFile {
            path: path.clone(),
            detail,
        };
        std::fs::create_dir_all(&self.dir).map_err(|e| failed(format!("cannot write: {e}")))?;
        let text = toml::to_string(state).map_err(|e| failed(e.to_string()))?;
        let mut tmp = tempfile::NamedTempFile::new_in(&self.dir)
            .map_err(|e| failed(format!("cannot write: {e}")))?;
        std::io::Write::write_all(&mut tmp, text.as_bytes())
            .map_err(|e| failed(format!("cannot write: {e}")))?;
        tmp.persist(&path)
            .map_err(|e| failed(format!("cannot write: {}", e.error)))?;
        Ok(())
    }

    /// The partner's server as the last pull left it, to be reached as party `us` with
    /// `secret`.
    pub fn remote(
        &self,
        us: &Party,
        partner: &Party,
        secret: &str,
    ) -> Result<Remote, ExchangeError> {
        let saved = self
            .load(partner)?
            .filter(|r| !r.url.is_empty())
            .ok_or_else(|| ExchangeError::NoAddress(partner.clone()))?;
        Ok(Remote::new(
            &saved.url,
            saved.fingerprint.as_deref(),
            us.as_str(),
            secret,
        )?)
    }
}
