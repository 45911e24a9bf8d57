//! Back-off for failed logins, so that Argon2 does not run at full speed for anyone guessing.
//!
//! Two counters, both decaying after `auth_failure_window` without a failure:
//!
//! - **per source address** (first, and the one that blocks): after `auth_free_failures`
//!   failures, each further failure blocks the address for `auth_backoff_base` doubled per
//!   failure, up to `auth_backoff_max`. A blocked address is answered 429 with `Retry-After`
//!   without running Argon2. A success does not clear it (a partner could otherwise clear
//!   its own address by logging in as itself between guesses at others). Attempts from one
//!   address are checked one at a time, so a burst of concurrent guesses cannot all pass
//!   the check before the first failure is counted.
//! - **per party** (only slows; never a lockout of the partner): after
//!   `auth_party_free_failures` failures for a party from anywhere, attempts for it wait
//!   their turn, one per `auth_backoff_base` doubled per failure, at most
//!   `auth_party_backoff_max`. The addresses from which the party has logged in before are
//!   exempt, so a guesser spread over many addresses cannot keep the partner out from its
//!   own address; from a new address the partner is at most slowed by that much.
//!
//! Decision: the per-party counter is keyed by the party code as sent (an unknown party is
//! counted like a known one, so the answer does not tell which partners exist). The maps are
//! bounded (`MAX_TRACKED`); when one is full, expired entries go first, then the whole map
//! (forgetting is the safe side for availability, and an attacker who can fill it pays an
//! Argon2 run per entry).

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::config::Config;

/// The most sources, parties or known addresses tracked at once.
const MAX_TRACKED: usize = 65_536;
/// The most addresses remembered per party as ones it logged in from.
const MAX_KNOWN_PER_PARTY: usize = 64;

#[derive(Debug, Clone, Copy)]
struct Count {
    failures: u32,
    last: Instant,
    blocked_until: Instant,
}

/// The back-off state of a server.
pub(crate) struct Throttle {
    enabled: bool,
    free: u32,
    party_free: u32,
    base: Duration,
    max: Duration,
    party_max: Duration,
    window: Duration,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    sources: HashMap<IpAddr, Count>,
    parties: HashMap<String, Count>,
    known: HashMap<String, HashSet<IpAddr>>,
    /// One lock per source with an attempt in progress: attempts from a source take turns.
    turns: HashMap<IpAddr, Arc<tokio::sync::Mutex<()>>>,
}

fn delay(base: Duration, over: u32, max: Duration) -> Duration {
    let factor = 1u32.checked_shl(over.min(30)).unwrap_or(u32::MAX);
    base.checked_mul(factor).unwrap_or(max).min(max)
}

/// Whole seconds to wait, at least one (for `Retry-After`).
fn seconds(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

fn bounded<K: std::hash::Hash + Eq, V>(map: &mut HashMap<K, V>, keep: impl Fn(&V) -> bool) {
    if map.len() >= MAX_TRACKED {
        map.retain(|_, v| keep(v));
        if map.len() >= MAX_TRACKED {
            map.clear();
        }
    }
}

impl Throttle {
    pub(crate) fn new(config: &Config) -> Throttle {
        Throttle {
            enabled: config.auth_backoff,
            free: config.auth_free_failures,
            party_free: config.auth_party_free_failures,
            base: config.auth_backoff_base,
            max: config.auth_backoff_max,
            party_max: config.auth_party_backoff_max,
            window: config.auth_failure_window,
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Every operation leaves the maps consistent: a poisoned lock still holds good data.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for the turn of `source` (attempts from one source run one after another).
    pub(crate) async fn turn(&self, source: IpAddr) -> Turn<'_> {
        let lock = {
            let mut s = self.state();
            if s.turns.len() >= MAX_TRACKED {
                s.turns.retain(|_, l| Arc::strong_count(l) > 1);
            }
            Arc::clone(s.turns.entry(source).or_default())
        };
        let guard = Arc::clone(&lock).lock_owned().await;
        Turn {
            throttle: self,
            source,
            _guard: guard,
            lock,
        }
    }

    /// How long `source` must wait before trying `party`, if it must.
    pub(crate) fn check(&self, source: IpAddr, party: &str, now: Instant) -> Option<u64> {
        if !self.enabled {
            return None;
        }
        let s = self.state();
        let live = |c: &&Count| now.duration_since(c.last) < self.window;
        if let Some(c) = s.sources.get(&source).filter(live) {
            if c.blocked_until > now {
                return Some(seconds(c.blocked_until - now));
            }
        }
        let known = s.known.get(party).is_some_and(|k| k.contains(&source));
        if !known {
            if let Some(c) = s.parties.get(party).filter(live) {
                if c.blocked_until > now {
                    return Some(seconds(c.blocked_until - now));
                }
            }
        }
        None
    }

    /// Counts a failed login by `source` as `party`.
    pub(crate) fn failed(&self, source: IpAddr, party: &str, now: Instant) {
        if !self.enabled {
            return;
        }
        let (free, party_free, base, max, party_max, window) = (
            self.free,
            self.party_free,
            self.base,
            self.max,
            self.party_max,
            self.window,
        );
        let bump = |c: &mut Count, free: u32, max: Duration| {
            if now.duration_since(c.last) >= window {
                c.failures = 0;
            }
            c.failures = c.failures.saturating_add(1);
            c.last = now;
            if c.failures > free {
                c.blocked_until = now + delay(base, c.failures - free - 1, max);
            }
        };
        let fresh = Count {
            failures: 0,
            last: now,
            blocked_until: now,
        };
        let mut s = self.state();
        let alive = |c: &Count| now.duration_since(c.last) < window;
        bounded(&mut s.sources, alive);
        bump(s.sources.entry(source).or_insert(fresh), free, max);
        bounded(&mut s.parties, alive);
        bump(
            s.parties.entry(party.to_owned()).or_insert(fresh),
            party_free,
            party_max,
        );
    }

    /// Remembers that `party` logged in from `source`.
    pub(crate) fn succeeded(&self, source: IpAddr, party: &str) {
        if !self.enabled {
            return;
        }
        let mut s = self.state();
        if !s.known.contains_key(party) {
            bounded(&mut s.known, |_| false);
        }
        let known = s.known.entry(party.to_owned()).or_default();
        if known.len() >= MAX_KNOWN_PER_PARTY {
            known.clear();
        }
        known.insert(source);
    }
}

/// A source's turn to try; the next attempt from it waits until this is dropped.
pub(crate) struct Turn<'a> {
    throttle: &'a Throttle,
    source: IpAddr,
    _guard: tokio::sync::OwnedMutexGuard<()>,
    lock: Arc<tokio::sync::Mutex<()>>,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut s = self.throttle.state();
        // Ours, the map's and the guard's: nobody else waits, the entry can go.
        if Arc::strong_count(&self.lock) <= 3 {
            s.turns.remove(&self.source);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn throttle() -> Throttle {
        Throttle::new(&Config {
            auth_free_failures: 3,
            auth_party_free_failures: 5,
            auth_backoff_base: Duration::from_secs(1),
            auth_backoff_max: Duration::from_secs(60),
            auth_party_backoff_max: Duration::from_secs(4),
            ..Config::default()
        })
    }

    #[test]
    fn a_source_is_blocked_after_its_free_failures_for_longer_each_time() {
        let t = throttle();
        let now = Instant::now();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(t.check(ip, "RUS", now), None);
            t.failed(ip, "RUS", now);
        }
        assert_eq!(t.check(ip, "RUS", now), None);
        t.failed(ip, "RUS", now);
        assert_eq!(t.check(ip, "RUS", now), Some(1));
        assert_eq!(t.check(ip, "GBR", now), Some(1), "whatever party it tries");
        assert_eq!(
            t.check(other, "GBR", now),
            None,
            "other sources are not slowed"
        );
        t.failed(ip, "RUS", now);
        assert_eq!(t.check(ip, "RUS", now), Some(2));
        // The window passes: forgotten.
        let later = now + Duration::from_secs(16 * 60);
        assert_eq!(t.check(ip, "RUS", later), None);
    }

    #[test]
    fn a_party_under_attack_is_only_slowed_and_never_from_its_own_address() {
        let t = throttle();
        let now = Instant::now();
        let home: IpAddr = "198.51.100.7".parse().unwrap();
        t.succeeded(home, "RUS");
        // Six guessers, one failure each: no source is blocked, the party is.
        for i in 1..=6u8 {
            t.failed(IpAddr::from([203, 0, 113, i]), "RUS", now);
        }
        let fresh: IpAddr = "203.0.113.99".parse().unwrap();
        assert_eq!(t.check(fresh, "RUS", now), Some(1));
        assert_eq!(t.check(home, "RUS", now), None, "RUS from its own address");
        assert_eq!(
            t.check(fresh, "GBR", now),
            None,
            "other parties are not slowed"
        );
        for i in 7..=40u8 {
            t.failed(IpAddr::from([203, 0, 113, i]), "RUS", now);
        }
        assert_eq!(t.check(fresh, "RUS", now), Some(4), "capped: it only slows");
    }

    #[test]
    fn disabled_it_never_throttles() {
        let t = Throttle::new(&Config {
            auth_backoff: false,
            ..Config::default()
        });
        let now = Instant::now();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..100 {
            t.failed(ip, "RUS", now);
        }
        assert_eq!(t.check(ip, "RUS", now), None);
    }
}
