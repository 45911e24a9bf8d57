/// Problems with the policy's own inputs (agreements, consents), found when they are read.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The agreement file does not parse or a field is wrong.
    #[error("agreement: {0}")]
    Agreement(String),
    /// A consent names something that is not a party or an object.
    #[error("consent: {0}")]
    Consent(String),
}
