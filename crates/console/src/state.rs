//! What the console's handlers share: the node behind the same mutex the TAXII server uses
//! (every call to it runs on the blocking pool), the sessions (in memory: a restart logs
//! every operator out), and the views and previews cached on the store's generation.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use liaison_labels::Party;
use liaison_release::{Entry, Node, Role, View};
use liaison_store::Store;
use tokio::sync::Semaphore;

use crate::error::Refusal;
use crate::pages::inbox::Row as InboxRow;

/// The console's bounds and settings.
#[derive(Debug, Clone)]
pub struct ConsoleConfig {
    /// Cookies carry `Secure` (set when the console is served over TLS).
    pub secure_cookies: bool,
    /// A session ends after this long without a request.
    pub session_idle: Duration,
    /// A session ends this long after login, whatever its use.
    pub session_max: Duration,
    /// The most sessions at once; a login past it is refused until one expires.
    pub max_sessions: usize,
    /// Rows per page of every list.
    pub page_size: usize,
    /// The largest request body (a leaked file pasted into the trace form).
    pub max_body: usize,
    /// The longest a request may take.
    pub request_timeout: Duration,
    /// Innocent codewords drawn for each p-value of a trace (as `liaison trace`).
    pub trace_trials: u32,
    /// Password checks (Argon2, slow by design) running at once; others wait.
    pub concurrent_logins: usize,
    /// Failed logins a source may make within `login_window` before its logins are refused
    /// (429) until the window has passed; a success clears its count.
    pub login_failures: u32,
    /// See `login_failures`.
    pub login_window: Duration,
}

impl Default for ConsoleConfig {
    fn default() -> ConsoleConfig {
        ConsoleConfig {
            secure_cookies: false,
            session_idle: Duration::from_secs(30 * 60),
            session_max: Duration::from_secs(8 * 3600),
            max_sessions: 1024,
            page_size: 50,
            max_body: 4 << 20,
            request_timeout: Duration::from_secs(120),
            trace_trials: 1000,
            concurrent_logins: 2,
            login_failures: 10,
            login_window: Duration::from_secs(15 * 60),
        }
    }
}

/// The shared state of a console over a node whose store is `S`.
pub struct ConsoleState<S: Store> {
    pub(crate) inner: Arc<Inner<S>>,
}

impl<S: Store> Clone for ConsoleState<S> {
    fn clone(&self) -> Self {
        ConsoleState {
            inner: Arc::clone(&self.inner),
        }
    }
}

pub(crate) struct Inner<S: Store> {
    pub(crate) node: Arc<Mutex<Node<S>>>,
    pub(crate) party: Party,
    pub(crate) config: ConsoleConfig,
    pub(crate) sessions: Mutex<HashMap<[u8; 32], Session>>,
    /// The Argon2 hash a login under an unknown name is checked against, so that it takes
    /// the time a wrong password takes.
    pub(crate) dummy_phc: String,
    pub(crate) logins: Semaphore,
    pub(crate) views: Cached<View>,
    pub(crate) previews: Cached<Vec<Entry>>,
    pub(crate) inbox: Mutex<Option<(u64, Arc<Vec<InboxRow>>)>>,
    /// Failed logins per source address: (count, first failure of the window).
    pub(crate) failures: Mutex<HashMap<std::net::IpAddr, (u32, Instant)>>,
}

/// A value per partner, with the store generation it was computed at.
pub(crate) type Cached<T> = Mutex<HashMap<Party, (u64, Arc<T>)>>;

/// One logged-in operator.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub(crate) operator: String,
    pub(crate) role: Role,
    /// SHA-256 of the operator's password hash at login: a new password ends the session.
    pub(crate) account: [u8; 32],
    /// The CSRF token every form of this session carries (hex).
    pub(crate) csrf: String,
    pub(crate) created: Instant,
    pub(crate) seen: Instant,
}

impl<S: Store + Send + 'static> ConsoleState<S> {
    /// A console over `node` (shared with the TAXII server).
    pub fn new(node: Arc<Mutex<Node<S>>>, config: ConsoleConfig) -> std::io::Result<Self> {
        let party = node
            .lock()
            .map_err(|_| std::io::Error::other("the node's lock is poisoned"))?
            .party()
            .clone();
        Ok(ConsoleState {
            inner: Arc::new(Inner {
                node,
                party,
                dummy_phc: dummy_hash()?,
                logins: Semaphore::new(config.concurrent_logins.max(1)),
                config,
                sessions: Mutex::new(HashMap::new()),
                views: Mutex::new(HashMap::new()),
                previews: Mutex::new(HashMap::new()),
                inbox: Mutex::new(None),
                failures: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ConsoleConfig {
        &self.inner.config
    }

    /// Runs `f` on the node on the blocking pool.
    pub(crate) async fn with_node<T, F>(&self, f: F) -> Result<T, Refusal>
    where
        T: Send + 'static,
        F: FnOnce(&mut Node<S>) -> Result<T, Refusal> + Send + 'static,
    {
        let node = Arc::clone(&self.inner.node);
        tokio::task::spawn_blocking(move || {
            let mut guard = node
                .lock()
                .map_err(|_| Refusal::internal("node lock poisoned"))?;
            f(&mut guard)
        })
        .await
        .map_err(Refusal::internal)?
    }
}

impl<S: Store> Inner<S> {
    /// Partner `p`'s view as TAXII serves it (`Node::view`), cached while the generation
    /// holds. Called under the node lock.
    pub(crate) fn view(&self, node: &mut Node<S>, p: &Party) -> Result<Arc<View>, Refusal> {
        let generation = node.generation().map_err(Refusal::internal)?;
        if let Some((g, v)) = lock(&self.views)?.get(p) {
            if *g == generation {
                return Ok(Arc::clone(v));
            }
        }
        let view = Arc::new(node.view(p).map_err(Refusal::internal)?);
        lock(&self.views)?.insert(p.clone(), (generation, Arc::clone(&view)));
        Ok(view)
    }

    /// The inbox's rows (made by `make`), cached while the generation holds. Called under
    /// the node lock.
    pub(crate) fn inbox(
        &self,
        node: &Node<S>,
        make: impl FnOnce(&Node<S>) -> Result<Vec<InboxRow>, Refusal>,
    ) -> Result<Arc<Vec<InboxRow>>, Refusal> {
        let generation = node.generation().map_err(Refusal::internal)?;
        if let Some((g, rows)) = lock(&self.inbox)?.as_ref() {
            if *g == generation {
                return Ok(Arc::clone(rows));
            }
        }
        let rows = Arc::new(make(node)?);
        *lock(&self.inbox)? = Some((generation, Arc::clone(&rows)));
        Ok(rows)
    }

    /// `Node::preview` for `p`, cached while the generation holds. Called under the node lock.
    pub(crate) fn preview(&self, node: &Node<S>, p: &Party) -> Result<Arc<Vec<Entry>>, Refusal> {
        let generation = node.generation().map_err(Refusal::internal)?;
        if let Some((g, v)) = lock(&self.previews)?.get(p) {
            if *g == generation {
                return Ok(Arc::clone(v));
            }
        }
        let preview = Arc::new(node.preview(p).map_err(Refusal::internal)?);
        lock(&self.previews)?.insert(p.clone(), (generation, Arc::clone(&preview)));
        Ok(preview)
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> Result<MutexGuard<'_, T>, Refusal> {
    m.lock()
        .map_err(|_| Refusal::internal("console lock poisoned"))
}

/// An Argon2 hash (default parameters, as `Node::add_operator` uses) of a random secret.
fn dummy_hash() -> std::io::Result<String> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let mut bytes = [0u8; 48];
    getrandom::fill(&mut bytes)
        .map_err(|e| std::io::Error::other(format!("no randomness for the dummy hash: {e}")))?;
    let (salt, secret) = bytes.split_at(16);
    let salt = SaltString::encode_b64(salt).map_err(|e| std::io::Error::other(e.to_string()))?;
    argon2::Argon2::default()
        .hash_password(secret, &salt)
        .map(|h| h.to_string())
        .map_err(|e| std::io::Error::other(format!("cannot make the dummy hash: {e}")))
}
