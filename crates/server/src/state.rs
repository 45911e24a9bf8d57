//! What the handlers share: the node behind a mutex (every call to it is blocking and runs on
//! the blocking pool), partners' outbound views read page by page from the rows the store
//! keeps for them (maintained in the background, see `maintain_in_background`), inbound
//! views cached per partner on the store's generation, verified secrets, status resources,
//! the key of `next` tokens and the metrics.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use liaison_labels::Party;
use liaison_release::{Node, View, ViewEntry};
use liaison_store::prelude::*;
use liaison_taxii::{Query, Status};

use crate::config::Config;
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::throttle::Throttle;

/// The shared state of a server over a node whose store is `S`.
pub struct AppState<S: Store> {
    pub(crate) inner: Arc<Inner<S>>,
}

impl<S: Store> Clone for AppState<S> {
    fn clone(&self) -> Self {
        AppState {
            inner: Arc::clone(&self.inner),
        }
    }
}

pub(crate) struct Inner<S: Store> {
    pub(crate) node: Arc<Mutex<Node<S>>>,
    pub(crate) party: Party,
    pub(crate) config: Config,
    /// Whether a background task maintains the stored views (else requests catch them up).
    pub(crate) background: AtomicBool,
    /// Between requests and that task: which views are wanted, and when a round ends.
    pub(crate) views: Arc<ViewSignals>,
    pub(crate) inbound: Mutex<HashMap<Party, (u64, Arc<Indexed>)>>,
    /// Each partner's private-matching set for the current epoch (see `matching.rs`).
    pub(crate) match_sets: Mutex<HashMap<Party, Arc<liaison_release::EpochPublication>>>,
    pub(crate) auth: Mutex<HashMap<(Party, [u8; 32]), Instant>>,
    pub(crate) statuses: Mutex<Statuses>,
    pub(crate) token_key: [u8; 32],
    pub(crate) metrics: Metrics,
    pub(crate) throttle: Throttle,
    /// An Argon2 hash of a random secret, with the parameters partners' secrets are hashed
    /// with: a login as an unknown party is checked against it, so that it costs the same
    /// time as a wrong secret for a real partner (no timing oracle for who is a partner).
    pub(crate) dummy_phc: String,
}

/// The most verified secrets remembered at once.
pub(crate) const MAX_AUTH_CACHE: usize = 4096;

impl<S: Store + Send + 'static> AppState<S> {
    /// A state over `node`, with a fresh random key for `next` tokens (tokens do not outlive
    /// the process).
    pub fn new(node: Arc<Mutex<Node<S>>>, config: Config) -> std::io::Result<AppState<S>> {
        let party = node
            .lock()
            .map_err(|_| std::io::Error::other("the node's lock is poisoned"))?
            .party()
            .clone();
        let mut token_key = [0u8; 32];
        getrandom::fill(&mut token_key)
            .map_err(|e| std::io::Error::other(format!("no randomness for the token key: {e}")))?;
        let dummy_phc = dummy_hash()?;
        Ok(AppState {
            inner: Arc::new(Inner {
                throttle: Throttle::new(&config),
                dummy_phc,
                node,
                party,
                config,
                background: AtomicBool::new(false),
                views: Arc::new(ViewSignals::default()),
                inbound: Mutex::new(HashMap::new()),
                match_sets: Mutex::new(HashMap::new()),
                auth: Mutex::new(HashMap::new()),
                statuses: Mutex::new(Statuses::default()),
                token_key,
                metrics: Metrics::new(),
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Runs `f` on the node on the blocking pool.
    pub(crate) async fn with_node<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Node<S>) -> Result<T, ApiError> + Send + 'static,
    {
        let node = Arc::clone(&self.inner.node);
        tokio::task::spawn_blocking(move || {
            let mut guard = node
                .lock()
                .map_err(|_| ApiError::internal("node lock poisoned"))?;
            f(&mut guard)
        })
        .await
        .map_err(ApiError::internal)?
    }

    /// Brings partner `p`'s stored view up to date as a request must: recomputed first when
    /// its basis changed (fail closed). Without a background task, here, with object changes
    /// caught up too. With one, the view is never computed here: the task is asked for it
    /// and the request waits for it without holding the node, so that requests of other
    /// partners go on meanwhile; past [`Config::view_wait`] the answer is 503 with
    /// `Retry-After`.
    pub(crate) async fn ensure_outbound(&self, p: &Party) -> Result<(), ApiError> {
        if !self.inner.background.load(Ordering::Relaxed) {
            let p = p.clone();
            return self
                .with_node(move |node| {
                    node.ensure_view(&p, true)
                        .map(|_| ())
                        .map_err(ApiError::internal)
                })
                .await;
        }
        let deadline = Instant::now() + self.inner.config.view_wait;
        let mut first = true;
        loop {
            if !std::mem::take(&mut first) {
                // A round ended and the view is still not current (another process may be
                // computing it): look again shortly rather than at once.
                let pause = deadline.saturating_duration_since(Instant::now());
                tokio::time::sleep(pause.min(Duration::from_millis(250))).await;
            }
            // Listening before looking, so that a round ending in between is not missed.
            let done = self.inner.views.done.notified();
            tokio::pin!(done);
            done.as_mut().enable();
            let q = p.clone();
            let current = self
                .with_node(move |node| node.view_is_current(&q).map_err(ApiError::internal))
                .await?;
            if current {
                return Ok(());
            }
            self.inner.views.want(p);
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || tokio::time::timeout(left, done).await.is_err() {
                return Err(not_ready(&self.inner.config));
            }
        }
    }

    /// The part of partner `p`'s outbound view a page needs, read from its stored rows: the
    /// entry received under `only_id`, or the first `limit + 1` entries after `after`
    /// (microseconds) that `q` selects. Reads as many rows as the page needs, not the view.
    pub(crate) async fn outbound_window(
        &self,
        p: &Party,
        q: &Query,
        after: Option<u64>,
        only_id: Option<&str>,
        limit: usize,
    ) -> Result<Arc<Indexed>, ApiError> {
        // Read at once when the view is current (one hold of the node, the usual case); else
        // brought up to date (or waited for) first, and read again.
        let background = self.inner.background.load(Ordering::Relaxed);
        for first in [true, false] {
            if !first || !background {
                self.ensure_outbound(p).await?;
            }
            let (p, q, only_id) = (p.clone(), q.clone(), only_id.map(str::to_owned));
            let read = self
                .with_node(move |node| {
                    // Checked under the same hold of the node as the read (fail closed).
                    if !node.view_is_current(&p).map_err(ApiError::internal)? {
                        return Ok(None);
                    }
                    read_window(node, p, &q, after, only_id, limit).map(Some)
                })
                .await?;
            if let Some(window) = read {
                return Ok(window);
            }
        }
        Err(not_ready(&self.inner.config))
    }

    /// Maintains every partner's stored view from `maintainer` (a node of its own over the
    /// same store, so that upkeep never holds the lock requests take) on a thread, every
    /// `every` once the store changed. Requests then serve the stored rows as they are
    /// (after checking the basis), and no longer catch up object changes themselves. The
    /// thread ends when the state is dropped.
    pub fn maintain_in_background(
        &self,
        mut maintainer: Node<S>,
        every: Duration,
    ) -> std::io::Result<()> {
        self.inner.background.store(true, Ordering::Relaxed);
        let alive = Arc::downgrade(&self.inner);
        let views = Arc::clone(&self.inner.views);
        std::thread::Builder::new()
            .name("liaison-views".into())
            .spawn(move || {
                let mut seen: Option<u64> = None;
                // The policy's world, kept between rounds and followed through the change
                // feed rather than built from every object's labels each time.
                let mut held = None;
                let mut wanted: Vec<Party> = Vec::new();
                loop {
                    // What requests are waiting for is done first; it goes on being wanted
                    // until a round ends without error.
                    wanted.extend(views.wait(every));
                    wanted.sort();
                    wanted.dedup();
                    if alive.upgrade().is_none() {
                        break;
                    }
                    let generation = match maintainer.generation() {
                        Ok(g) => g,
                        Err(e) => {
                            tracing::warn!(error = %e, "views: cannot read the store's generation");
                            continue;
                        }
                    };
                    if seen == Some(generation) && wanted.is_empty() {
                        continue;
                    }
                    let started = Instant::now();
                    let mut report = |p: &Party, b: liaison_release::Built| {
                        // About every tenth, and the end: a view of millions takes minutes.
                        let step = (b.total / 10).max(1);
                        if b.decided % step < liaison_release::VIEW_SLICE as u64
                            || b.decided >= b.total
                        {
                            tracing::info!(partner = %p, decided = b.decided, of = b.total, "views: computing a view whole");
                        }
                    };
                    let round = maintainer.maintain_views_for(&mut held, &wanted, &mut report);
                    views.done.notify_waiters();
                    match round {
                        Ok(done) => {
                            seen = Some(generation);
                            wanted.clear();
                            let busy: Vec<_> = done
                                .iter()
                                .filter(|(_, u)| *u != liaison_release::Upkeep::Current)
                                .collect();
                            if !busy.is_empty() {
                                tracing::info!(views = ?busy, ms = started.elapsed().as_millis() as u64, "views maintained");
                            }
                        }
                        Err(e) => tracing::warn!(error = %e, "views: upkeep failed"),
                    }
                }
            })?;
        Ok(())
    }

    /// What partner `p` sent us, every version, from the cache while the generation holds.
    pub(crate) async fn inbound(&self, p: &Party) -> Result<Arc<Indexed>, ApiError> {
        let state = self.clone();
        let p = p.clone();
        self.with_node(move |node| {
            let generation = node.generation().map_err(ApiError::internal)?;
            if let Some(hit) = cached(&state.inner.inbound, &p, generation)? {
                return Ok(hit);
            }
            let view = node.inbound_view(&p).map_err(ApiError::internal)?;
            store(&state.inner.inbound, &p, generation, view)
        })
        .await
    }
}

/// The entries of `p`'s stored view a page needs: the one received under `only_id`, or the
/// first `limit + 1` after `after` (microseconds) that `q` selects.
fn read_window<S: Store>(
    node: &Node<S>,
    p: Party,
    q: &Query,
    after: Option<u64>,
    only_id: Option<String>,
    limit: usize,
) -> Result<Arc<Indexed>, ApiError> {
    let mut entries = Vec::new();
    match only_id {
        Some(id) => entries.extend(node.view_entry(&p, &id).map_err(ApiError::internal)?),
        None => {
            let mut at = i64::try_from(after.unwrap_or(0)).unwrap_or(i64::MAX);
            let chunk = (limit + 1).clamp(64, 10_000);
            'read: loop {
                let rows = node.view_page(&p, at, chunk).map_err(ApiError::internal)?;
                let Some(last) = rows.last() else { break };
                at = i64::try_from(micros(&last.date_added)?).unwrap_or(i64::MAX);
                let short = rows.len() < chunk;
                for e in rows {
                    if crate::paging::matches_alone(q, &e) {
                        entries.push(e);
                        if entries.len() > limit {
                            break 'read;
                        }
                    }
                }
                if short {
                    break;
                }
            }
        }
    }
    Ok(Arc::new(Indexed::new(View {
        partner: p,
        entries,
        decisions: Vec::new(),
        delivered: 0,
    })?))
}

/// An Argon2 hash (default parameters, as `Node::set_secret` uses) of a random secret.
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

/// What a partner whose view is not ready is told, and when to ask again
/// (`Config::view_retry_after`). Nothing of our holdings (not how many objects are being
/// decided) is in it.
fn not_ready(config: &Config) -> ApiError {
    ApiError::unavailable(
        "your view is being prepared after a change on our side; ask again shortly".into(),
        config.view_retry_after,
    )
}

/// Between requests and the upkeep thread: the partners whose requests wait for a view the
/// thread must compute, and a signal at the end of each round.
#[derive(Default)]
pub(crate) struct ViewSignals {
    wanted: Mutex<Vec<Party>>,
    wake: std::sync::Condvar,
    pub(crate) done: tokio::sync::Notify,
}

impl ViewSignals {
    /// Asks the upkeep thread for `p`'s view, waking it.
    fn want(&self, p: &Party) {
        let mut w = self
            .wanted
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !w.contains(p) {
            w.push(p.clone());
        }
        self.wake.notify_one();
    }

    /// Waits up to `every` for a view to be wanted; returns (and forgets) those wanted.
    fn wait(&self, every: Duration) -> Vec<Party> {
        let w = self
            .wanted
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (mut w, _) = self
            .wake
            .wait_timeout_while(w, every, |w| w.is_empty())
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        std::mem::take(&mut *w)
    }
}

type ViewCache = Mutex<HashMap<Party, (u64, Arc<Indexed>)>>;

fn lock<T>(m: &Mutex<T>) -> Result<MutexGuard<'_, T>, ApiError> {
    m.lock()
        .map_err(|_| ApiError::internal("cache lock poisoned"))
}

fn cached(cache: &ViewCache, p: &Party, generation: u64) -> Result<Option<Arc<Indexed>>, ApiError> {
    Ok(lock(cache)?
        .get(p)
        .filter(|(g, _)| *g == generation)
        .map(|(_, v)| Arc::clone(v)))
}

fn store(
    cache: &ViewCache,
    p: &Party,
    generation: u64,
    view: View,
) -> Result<Arc<Indexed>, ApiError> {
    let indexed = Arc::new(Indexed::new(view)?);
    lock(cache)?.insert(p.clone(), (generation, Arc::clone(&indexed)));
    Ok(indexed)
}

/// A view with what paging needs: each entry's `date_added` in microseconds (the position
/// `next` tokens carry) and the entries of each object.
pub(crate) struct Indexed {
    pub(crate) entries: Vec<ViewEntry>,
    pub(crate) added_micros: Vec<u64>,
    pub(crate) by_id: HashMap<String, Vec<usize>>,
}

impl Indexed {
    fn new(view: View) -> Result<Indexed, ApiError> {
        let mut entries = view.entries;
        // The pipeline gives strictly increasing `date_added`; sorting again costs little and
        // keeps paging correct should that ever change.
        entries.sort_by(|a, b| {
            a.date_added
                .cmp(&b.date_added)
                .then_with(|| a.id.cmp(&b.id))
        });
        let mut added_micros = Vec::with_capacity(entries.len());
        let mut by_id: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            added_micros.push(micros(&e.date_added)?);
            by_id.entry(e.id.clone()).or_default().push(i);
        }
        Ok(Indexed {
            entries,
            added_micros,
            by_id,
        })
    }
}

/// A `date_added` as microseconds since the epoch.
pub(crate) fn micros(t: &liaison_stix::Timestamp) -> Result<u64, ApiError> {
    u64::try_from(t.unix_nanos() / 1000).map_err(|_| ApiError::internal("date_added before 1970"))
}

/// Status resources by id, each readable only by the partner whose request made it; kept
/// `status_ttl`, at most `max_statuses_per_partner` per partner.
#[derive(Default)]
pub(crate) struct Statuses {
    by_id: HashMap<String, (Party, Instant, Arc<Status>)>,
    order: HashMap<Party, VecDeque<String>>,
}

impl Statuses {
    pub(crate) fn insert(&mut self, owner: &Party, status: Status, config: &Config) {
        let now = Instant::now();
        self.expire(now, config);
        let queue = self.order.entry(owner.clone()).or_default();
        while queue.len() >= config.max_statuses_per_partner.max(1) {
            match queue.pop_front() {
                Some(old) => {
                    self.by_id.remove(&old);
                }
                None => break,
            }
        }
        queue.push_back(status.id.clone());
        self.by_id
            .insert(status.id.clone(), (owner.clone(), now, Arc::new(status)));
    }

    pub(crate) fn get(&mut self, owner: &Party, id: &str, config: &Config) -> Option<Arc<Status>> {
        self.expire(Instant::now(), config);
        self.by_id
            .get(id)
            .filter(|(o, _, _)| o == owner)
            .map(|(_, _, s)| Arc::clone(s))
    }

    fn expire(&mut self, now: Instant, config: &Config) {
        for queue in self.order.values_mut() {
            while let Some(front) = queue.front() {
                let old = self
                    .by_id
                    .get(front)
                    .is_none_or(|(_, at, _)| now.duration_since(*at) > config.status_ttl);
                if !old {
                    break;
                }
                if let Some(id) = queue.pop_front() {
                    self.by_id.remove(&id);
                }
            }
        }
        self.order.retain(|_, q| !q.is_empty());
    }
}
