//! Who gets a connection: the bounds that keep idle or slow clients from starving partners.
//!
//! Anyone can open a TCP connection and start a TLS handshake; only after both, and after a
//! request head, does the server learn who is asking (HTTP Basic). So capacity is held back
//! for the partner that has not authenticated yet:
//!
//! - the accept loop always accepts (a full listen queue would keep a partner's SYN behind
//!   an attacker's), and refuses with a close what exceeds the bounds below;
//! - a source address holds at most `max_connections_per_ip` connections (handshaking or
//!   established) and at most `max_handshakes_per_ip` unfinished handshakes: one source
//!   cannot fill the server;
//! - handshakes in progress have their own budget (`max_handshakes`), apart from the
//!   established connections (`max_connections`): when it is full, the *oldest* unfinished
//!   handshake is dropped to make room. A real client finishes its handshake within a round
//!   trip or two, so it is almost never the oldest; an attacker who opens connections and
//!   says nothing is;
//! - every handshake is bounded by `handshake_timeout`, and every request head (the first
//!   one and each one on a kept-alive connection) by `request_head_timeout`: nothing idle
//!   holds a slot for longer.
//!
//! Decision: limits are per source IP address (the whole address, IPv6 included), so a
//! partner behind the same NAT as an attacker shares the attacker's share; partners from
//! their own addresses always get in.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use crate::config::Config;

/// The bounds and the connections counted against them.
pub(crate) struct Admission {
    max_handshakes: usize,
    max_handshakes_per_ip: usize,
    max_connections_per_ip: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Connections (handshaking or established) per source.
    open: HashMap<IpAddr, usize>,
    /// Unfinished handshakes per source.
    handshaking: HashMap<IpAddr, usize>,
    /// Unfinished handshakes by age (lower id is older), with the means to drop each.
    pending: BTreeMap<u64, oneshot::Sender<()>>,
    next_id: u64,
}

/// A connection counted against its source's bound; released when dropped.
pub(crate) struct OpenSlot {
    admission: Arc<Admission>,
    ip: IpAddr,
}

/// An unfinished handshake; released when dropped. `evicted` completes when the handshake
/// is dropped to make room for a newer one.
pub(crate) struct HandshakeSlot {
    admission: Arc<Admission>,
    ip: IpAddr,
    id: u64,
    pub(crate) evicted: oneshot::Receiver<()>,
}

fn decrement(map: &mut HashMap<IpAddr, usize>, ip: IpAddr) {
    if let Some(n) = map.get_mut(&ip) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            map.remove(&ip);
        }
    }
}

impl Admission {
    pub(crate) fn new(config: &Config) -> Arc<Admission> {
        Arc::new(Admission {
            max_handshakes: config.max_handshakes.max(1),
            max_handshakes_per_ip: config.max_handshakes_per_ip.max(1),
            max_connections_per_ip: config.max_connections_per_ip.max(1),
            state: Mutex::new(State::default()),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // The counters stay consistent under every operation, so a poisoned lock (a panic
        // elsewhere while holding it) still holds usable counts.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A connection from `ip`, unless that source already holds its share.
    pub(crate) fn open(self: &Arc<Self>, ip: IpAddr) -> Option<OpenSlot> {
        let mut s = self.state();
        let n = s.open.entry(ip).or_insert(0);
        if *n >= self.max_connections_per_ip {
            return None;
        }
        *n += 1;
        Some(OpenSlot {
            admission: Arc::clone(self),
            ip,
        })
    }

    /// A handshake from `ip`, unless that source already has its share of unfinished ones;
    /// when all handshake slots are taken, the oldest unfinished handshake is dropped.
    pub(crate) fn handshake(self: &Arc<Self>, ip: IpAddr) -> Option<HandshakeSlot> {
        let mut s = self.state();
        if s.handshaking.get(&ip).copied().unwrap_or(0) >= self.max_handshakes_per_ip {
            return None;
        }
        while s.pending.len() >= self.max_handshakes {
            match s.pending.pop_first() {
                // The evicted task ends and releases its own counts.
                Some((_, drop_it)) => {
                    let _ = drop_it.send(());
                }
                None => break,
            }
        }
        *s.handshaking.entry(ip).or_insert(0) += 1;
        let id = s.next_id;
        s.next_id += 1;
        let (tx, rx) = oneshot::channel();
        s.pending.insert(id, tx);
        Some(HandshakeSlot {
            admission: Arc::clone(self),
            ip,
            id,
            evicted: rx,
        })
    }
}

impl Drop for OpenSlot {
    fn drop(&mut self) {
        decrement(&mut self.admission.state().open, self.ip);
    }
}

impl Drop for HandshakeSlot {
    fn drop(&mut self) {
        let mut s = self.admission.state();
        s.pending.remove(&self.id);
        decrement(&mut s.handshaking, self.ip);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn config() -> Config {
        Config {
            max_handshakes: 3,
            max_handshakes_per_ip: 2,
            max_connections_per_ip: 3,
            ..Config::default()
        }
    }

    #[test]
    fn a_source_gets_its_share_and_no_more_and_gets_it_back() {
        let a = Admission::new(&config());
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        let slots: Vec<_> = (0..3).map(|_| a.open(ip).unwrap()).collect();
        assert!(a.open(ip).is_none());
        assert!(a.open(other).is_some());
        drop(slots);
        assert!(a.open(ip).is_some());
        let h1 = a.handshake(ip).unwrap();
        let _h2 = a.handshake(ip).unwrap();
        assert!(a.handshake(ip).is_none());
        drop(h1);
        assert!(a.handshake(ip).is_some());
    }

    #[test]
    fn a_full_handshake_budget_drops_the_oldest() {
        let a = Admission::new(&config());
        let ips: Vec<IpAddr> = (1..=4)
            .map(|i| format!("192.0.2.{i}").parse().unwrap())
            .collect();
        let mut oldest = a.handshake(ips[0]).unwrap();
        let mut second = a.handshake(ips[1]).unwrap();
        let _third = a.handshake(ips[2]).unwrap();
        assert!(oldest.evicted.try_recv().is_err());
        let _fourth = a.handshake(ips[3]).unwrap();
        assert!(oldest.evicted.try_recv().is_ok(), "the oldest is dropped");
        assert!(second.evicted.try_recv().is_err(), "and only the oldest");
    }
}
