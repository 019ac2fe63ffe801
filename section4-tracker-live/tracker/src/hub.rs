//! An in-memory "cluster network" for tests and demos: every node is a name, every
//! message is delivered through bounded queues, and the test decides what the network
//! does: cut links (a partition), drop a node's inbound gossip, or hold a node's traffic
//! (a suspended node) and release it later. It also logs who sent what to whom.
//!
//! A test tool: the log and the messages held for a suspended node grow with traffic
//! until cleared or released, which is what a test wants and a server must never do.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::mpsc;

use super::transport::{Gossip, GossipKind, Transport};

/// Capacity of each node's inbound gossip queue; beyond it messages are dropped (and
/// counted), as a real transport under load would.
pub const INBOX_CAPACITY: usize = 1024;

/// One logged delivery attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    /// Sending node.
    pub from: String,
    /// Receiving node.
    pub to: String,
    /// Message kind.
    pub kind: GossipKind,
    /// Whether it reached the node's queue (false: cut, dropped, or queue full).
    pub delivered: bool,
}

struct Held<M> {
    to: String,
    topic: String,
    message: Arc<Gossip<M>>,
}

struct Inner<M> {
    subscribers: HashMap<(String, String), mpsc::Sender<Arc<Gossip<M>>>>,
    cut: HashSet<(String, String)>,
    dropping: HashSet<String>,
    suspended: HashSet<String>,
    held: Vec<Held<M>>,
    log: Vec<Sent>,
}

/// The shared network. Cheap to clone.
pub struct Hub<M> {
    inner: Arc<Mutex<Inner<M>>>,
}

impl<M> Clone for Hub<M> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<M: Send + Sync + 'static> Default for Hub<M> {
    fn default() -> Self {
        Self::new()
    }
}

impl<M: Send + Sync + 'static> Hub<M> {
    /// A network with no nodes and no faults.
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner {
                subscribers: HashMap::new(),
                cut: HashSet::new(),
                dropping: HashSet::new(),
                suspended: HashSet::new(),
                held: Vec::new(),
                log: Vec::new(),
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<M>> {
        // A panicking test thread must not hide the original failure behind a poison error.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A transport for node `name`.
    pub fn node(&self, name: &str) -> Arc<HubNode<M>> {
        Arc::new(HubNode {
            hub: self.clone(),
            name: name.to_string(),
        })
    }

    /// Cuts every link between a node of `left` and a node of `right` (both directions).
    pub fn partition(&self, left: &[&str], right: &[&str]) {
        let mut inner = self.lock();
        for l in left {
            for r in right {
                inner.cut.insert((l.to_string(), r.to_string()));
                inner.cut.insert((r.to_string(), l.to_string()));
            }
        }
    }

    /// Restores every cut link.
    pub fn heal(&self) {
        self.lock().cut.clear();
    }

    /// Drops every message addressed to `node` until [`Hub::resume_gossips`].
    pub fn drop_gossips(&self, node: &str) {
        self.lock().dropping.insert(node.to_string());
    }

    /// Stops dropping messages addressed to `node`.
    pub fn resume_gossips(&self, node: &str) {
        self.lock().dropping.remove(node);
    }

    /// Holds every message to and from `node` (a frozen process) until [`Hub::resume`].
    pub fn suspend(&self, node: &str) {
        self.lock().suspended.insert(node.to_string());
    }

    /// Releases `node` and delivers what was held, in order.
    pub fn resume(&self, node: &str) {
        let held = {
            let mut inner = self.lock();
            inner.suspended.remove(node);
            std::mem::take(&mut inner.held)
        };
        for h in held {
            let from = h.message.from().name.to_string();
            self.deliver(&from, &h.to, &h.topic, h.message);
        }
    }

    /// Every delivery attempt so far.
    pub fn log(&self) -> Vec<Sent> {
        self.lock().log.clone()
    }

    /// Forgets the log.
    pub fn clear_log(&self) {
        self.lock().log.clear();
    }

    /// How many messages of `kind` went from `from` to `to` (delivered or not).
    pub fn count(&self, from: &str, to: &str, kind: GossipKind) -> usize {
        self.lock()
            .log
            .iter()
            .filter(|s| s.from == from && s.to == to && s.kind == kind)
            .count()
    }

    fn deliver(&self, from: &str, to: &str, topic: &str, message: Arc<Gossip<M>>) {
        let mut inner = self.lock();
        if inner.suspended.contains(from) || inner.suspended.contains(to) {
            inner.held.push(Held {
                to: to.to_string(),
                topic: topic.to_string(),
                message,
            });
            return;
        }
        let kind = message.kind();
        let blocked =
            inner.cut.contains(&(from.to_string(), to.to_string())) || inner.dropping.contains(to);
        let delivered = !blocked
            && inner
                .subscribers
                .get(&(to.to_string(), topic.to_string()))
                .is_some_and(|tx| tx.try_send(message).is_ok());
        inner.log.push(Sent {
            from: from.to_string(),
            to: to.to_string(),
            kind,
            delivered,
        });
    }
}

/// One node's view of the [`Hub`].
pub struct HubNode<M> {
    hub: Hub<M>,
    name: String,
}

impl<M: Send + Sync + 'static> Transport<M> for HubNode<M> {
    fn node(&self) -> &str {
        &self.name
    }

    fn subscribe(&self, topic: &str) -> mpsc::Receiver<Arc<Gossip<M>>> {
        let (tx, rx) = mpsc::channel(INBOX_CAPACITY);
        self.hub
            .lock()
            .subscribers
            .insert((self.name.clone(), topic.to_string()), tx);
        rx
    }

    fn broadcast_from(&self, topic: &str, message: Arc<Gossip<M>>) {
        let targets: Vec<String> = self
            .hub
            .lock()
            .subscribers
            .iter()
            .filter(|((node, t), tx)| t == topic && *node != self.name && !tx.is_closed())
            .map(|((node, _), _)| node.clone())
            .collect();
        for to in targets {
            self.hub.deliver(&self.name, &to, topic, message.clone());
        }
    }

    fn direct_send(&self, node: &str, topic: &str, message: Arc<Gossip<M>>) {
        self.hub.deliver(&self.name, node, topic, message);
    }
}
