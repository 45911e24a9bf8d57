//! What the console's handlers share: the node behind the same mutex the TAXII server uses
//! (every call to it runs on the blocking pool), the sessions (in memory: a restart logs
//! every operator out), and what pages are read from, kept up to date from the store's
//! change feed rather than rebuilt after every change: the policy's world
//! ([`Holdings`]), each partner's release queue ([`Queue`]), the inbox's rows and the index
//! of each partner's stored view.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use liaison_labels::Party;
use liaison_release::{Holdings, Node, Queue, Role};
use liaison_store::prelude::*;
use liaison_store::ViewState;
use tokio::sync::Semaphore;

use crate::error::Refusal;
use crate::pages::inbox::{Inbox, Rows as InboxRows};
use crate::pages::view::Line as ViewLine;

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
    /// The world the queues and the inbox's flags are decided in, followed through the
    /// change feed.
    pub(crate) held: Mutex<Option<Holdings>>,
    /// Each partner's release queue, followed through the change feed.
    pub(crate) queues: Mutex<HashMap<Party, Arc<Queue>>>,
    pub(crate) inbox: Mutex<Option<Inbox>>,
    /// Each partner's stored view as the view page lists it, with the view state it was read
    /// at.
    pub(crate) views: Mutex<HashMap<Party, ViewLines>>,
    /// Failed logins per source address: (count, first failure of the window).
    pub(crate) failures: Mutex<HashMap<std::net::IpAddr, (u32, Instant)>>,
}

/// A partner's view as the view page lists it, with the view state it was read at.
pub(crate) type ViewLines = (ViewState, Arc<Vec<ViewLine>>);

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
                held: Mutex::new(None),
                queues: Mutex::new(HashMap::new()),
                inbox: Mutex::new(None),
                views: Mutex::new(HashMap::new()),
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
    /// The world brought up to the newest change. Called under the node lock.
    fn follow_holdings<'a>(
        &'a self,
        node: &mut Node<S>,
    ) -> Result<MutexGuard<'a, Option<Holdings>>, Refusal> {
        let mut held = lock(&self.held)?;
        node.follow_holdings(&mut held).map_err(Refusal::internal)?;
        Ok(held)
    }

    /// Partner `p`'s stored view (the rows TAXII pages are read from), brought up to date
    /// as a TAXII request brings it (`Node::ensure_view`, catching up object changes), as
    /// the view page lists it. Read again from the rows only when the view's state moved.
    /// Called under the node lock.
    pub(crate) fn view(
        &self,
        node: &mut Node<S>,
        p: &Party,
    ) -> Result<Arc<Vec<ViewLine>>, Refusal> {
        node.ensure_view(p, true).map_err(Refusal::internal)?;
        let state = node
            .store()
            .view_state(p.as_str())
            .map_err(Refusal::internal)?
            .ok_or_else(|| Refusal::internal("no stored view after it was computed"))?;
        if let Some((s, lines)) = lock(&self.views)?.get(p) {
            if *s == state {
                return Ok(Arc::clone(lines));
            }
        }
        let lines = Arc::new(crate::pages::view::lines(node, p)?);
        lock(&self.views)?.insert(p.clone(), (state, Arc::clone(&lines)));
        Ok(lines)
    }

    /// The inbox's rows, brought up to the newest change. Called under the node lock.
    pub(crate) fn inbox(
        &self,
        node: &mut Node<S>,
        partners: &[Party],
    ) -> Result<Arc<InboxRows>, Refusal> {
        let held = self.follow_holdings(node)?;
        let held = held
            .as_ref()
            .ok_or_else(|| Refusal::internal("no holdings after following them"))?;
        let mut inbox = lock(&self.inbox)?;
        crate::pages::inbox::follow(node, held, partners, &mut inbox)?;
        inbox
            .as_ref()
            .map(Inbox::rows)
            .ok_or_else(|| Refusal::internal("no inbox after following it"))
    }

    /// Partner `p`'s release queue (exactly `Node::preview`), brought up to the newest
    /// change. Called under the node lock.
    pub(crate) fn queue(&self, node: &mut Node<S>, p: &Party) -> Result<Arc<Queue>, Refusal> {
        let held = self.follow_holdings(node)?;
        let held = held
            .as_ref()
            .ok_or_else(|| Refusal::internal("no holdings after following them"))?;
        let mut queues = lock(&self.queues)?;
        if let Some(q) = queues.get(p) {
            if node
                .queue_is_current(p, held, q)
                .map_err(Refusal::internal)?
            {
                return Ok(Arc::clone(q));
            }
        }
        // Changed: followed in place, unless a page still reads it (then on a copy).
        let mut queue = queues
            .remove(p)
            .map(|q| Arc::try_unwrap(q).unwrap_or_else(|q| (*q).clone()));
        let followed = node.follow_queue(p, held, &mut queue);
        let queue =
            Arc::new(queue.ok_or_else(|| Refusal::internal("no queue after following it"))?);
        followed.map_err(Refusal::internal)?;
        queues.insert(p.clone(), Arc::clone(&queue));
        Ok(queue)
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
