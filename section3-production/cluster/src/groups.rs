//! Named groups of processes across the cluster (Erlang's `pg`), and a request to
//! one member on any node. Exercise s3.e11 writes the call on top of it: choosing a
//! member, the deadline, and telling a timeout from a node that is gone.
//!
//! **Groups.** A "process" here is a task that owns a bounded mailbox
//! ([`Member`]); it joins a group by name (`"pricing"`) on its node. Every node
//! tells the others which groups it hosts in its heartbeat (`hello`, with the group
//! names), so every node knows, per group, the nodes that host a member: the
//! registry is eventually consistent, like `pg`'s. A node that stops on purpose says
//! `goodbye` ([`Groups::leave`]) and is forgotten at once; one that crashes is
//! forgotten when its heartbeat expires.
//!
//! **Requests.** [`Groups::request`] publishes a `call` addressed to one node; that
//! node hands it to a local member of the group (round robin) and publishes the
//! outcome addressed back to the caller, which finds its waiting call by id. A call
//! to this node itself never touches Redis. What the transport does **not** do is
//! wait: a [`PendingCall`] completes when an outcome arrives, and if the node died
//! or Redis lost the message, never. Bounding that wait, and noticing that the node
//! is gone ([`Groups::gone`]), is the caller's job (s3.e11).
//!
//! **The deadline travels with the call.** The caller gives up at its deadline; the
//! node it called should too, or a member busy with old requests keeps working for
//! callers that left (and a backlog never drains). So a call carries what is left
//! of its time, as a duration (the nodes' clocks need not agree), and the called
//! node turns it into a deadline of its own on arrival: later than the caller's by
//! the one hop through Redis. [`Member::recv`] skips a request whose deadline passed
//! while it waited in the mailbox, and [`Request::deadline`] lets a member bound its
//! own work.
//!
//! Everything is bounded: each mailbox (a full one refuses with
//! [`Refusal::Busy`]), the calls waiting for an outcome ([`MAX_IN_FLIGHT`]), and the
//! publish queue of the link underneath.

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use crate::RedisLink;
use crate::queries::Membership;

/// The Redis channel group heartbeats, calls and their outcomes travel on.
pub const GROUPS_CHANNEL: &str = "rts:groups";

/// Calls waiting for an outcome on one node; beyond this a new call is refused at
/// once ([`Refusal::Busy`]) instead of growing the table without end.
pub const MAX_IN_FLIGHT: usize = 10_000;

/// Why a node did not hand a call to a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// The node hosts no member of the group (any more): it left between the
    /// caller's look at the registry and the call's arrival.
    NoMember,
    /// Every queue on the way was full: the member's mailbox, or the caller's own
    /// table of calls in flight. Try later or elsewhere.
    Busy,
    /// The member took the request and dropped it unanswered (it stopped, or
    /// crashed), or this node stopped while the call waited.
    Dropped,
    /// The call's deadline passed before a member took it: nobody waits for the
    /// answer any more, so it was not run. (The caller's own deadline has passed
    /// too, or is about to: to the caller it is a timeout.)
    Expired,
}

/// What came back for one call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", content = "value", rename_all = "snake_case")]
pub enum Outcome {
    /// The member's answer.
    Answer(Value),
    /// The node did not hand the call to a member, or the member dropped it.
    Refused(Refusal),
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Message {
    /// A heartbeat, with the groups the sender hosts a member of.
    Hello {
        from_node: String,
        groups: BTreeSet<String>,
    },
    /// The sender is stopping: forget it and its members now.
    Goodbye { from_node: String },
    Call {
        id: u64,
        from_node: String,
        to_node: String,
        group: String,
        body: Value,
        /// What was left of the caller's time when it sent the call, in ms.
        budget_ms: u64,
    },
    Reply {
        id: u64,
        to_node: String,
        outcome: Outcome,
    },
}

/// What a node knows about another one.
struct Peer {
    seen: Instant,
    groups: BTreeSet<String>,
}

/// A local member's mailbox, as the registry holds it.
struct Mailbox {
    id: u64,
    sender: mpsc::Sender<Request>,
}

struct Shared {
    node: String,
    membership: Membership,
    link: OnceLock<RedisLink>,
    /// The other nodes (and this one, by its own echo), by last heartbeat.
    peers: Mutex<HashMap<String, Peer>>,
    /// This node's members, by group. Held while a hello is built and queued, so
    /// hellos leave in the order of the changes they describe.
    local: Mutex<HashMap<String, Vec<Mailbox>>>,
    /// Calls from this node waiting for their outcome, by id.
    pending: Mutex<HashMap<u64, oneshot::Sender<Outcome>>>,
    /// Bumped whenever membership may have changed (a hello, a goodbye, each
    /// heartbeat period for the expiries): what [`Groups::gone`] waits on.
    changed: watch::Sender<u64>,
    next_id: AtomicU64,
    /// Round robin over a group's local members.
    turn: AtomicU64,
    /// Set by `leave`: no hello may follow the goodbye on the wire.
    left: Mutex<bool>,
}

impl Shared {
    fn publish(&self, message: &Message) -> bool {
        match self.link.get() {
            Some(link) => link.publish(serde_json::to_vec(message).expect("messages serialize")),
            None => false,
        }
    }

    fn bump(&self) {
        self.changed.send_modify(|version| *version += 1);
    }

    /// Publishes a hello with the groups hosted here now (unless the node left).
    fn announce(&self) {
        let local = self.local.lock().unwrap();
        if *self.left.lock().unwrap() {
            return;
        }
        let groups = local
            .iter()
            .filter(|(_, members)| members.iter().any(|m| !m.sender.is_closed()))
            .map(|(group, _)| group.clone())
            .collect();
        self.publish(&Message::Hello {
            from_node: self.node.clone(),
            groups,
        });
    }

    fn is_live(&self, node: &str) -> bool {
        node == self.node
            || self
                .peers
                .lock()
                .unwrap()
                .get(node)
                .is_some_and(|peer| peer.seen.elapsed() <= self.membership.expiry)
    }

    /// Hands a call to a local member of `group`, or says why not. Never waits: it
    /// runs on the subscriber task.
    fn deliver(
        self: &Arc<Self>,
        group: &str,
        from_node: String,
        body: Value,
        deadline: Instant,
        reply: Reply,
    ) {
        if Instant::now() >= deadline {
            reply.send(Outcome::Refused(Refusal::Expired));
            return;
        }
        let mut local = self.local.lock().unwrap();
        let Some(members) = local.get_mut(group) else {
            reply.send(Outcome::Refused(Refusal::NoMember));
            return;
        };
        // A member whose task ended has a closed mailbox: forget it on the way.
        members.retain(|m| !m.sender.is_closed());
        if members.is_empty() {
            local.remove(group);
            reply.send(Outcome::Refused(Refusal::NoMember));
            return;
        }
        let turn = self.turn.fetch_add(1, Ordering::Relaxed) as usize;
        let mailbox = &members[turn % members.len()];
        let request = Request {
            from_node,
            body,
            deadline,
            reply: Some(reply),
        };
        // Bounded: a member that cannot keep up refuses, it does not queue forever.
        if let Err(full) = mailbox.sender.try_send(request) {
            let request = match full {
                mpsc::error::TrySendError::Full(r) | mpsc::error::TrySendError::Closed(r) => r,
            };
            request.refuse(Refusal::Busy);
        }
    }

    fn on_message(self: &Arc<Self>, bytes: &[u8]) {
        let Ok(message) = serde_json::from_slice::<Message>(bytes) else {
            tracing::warn!("ignoring a malformed group message");
            return;
        };
        match message {
            Message::Hello { from_node, groups } => {
                self.peers.lock().unwrap().insert(
                    from_node,
                    Peer {
                        seen: Instant::now(),
                        groups,
                    },
                );
                self.bump();
            }
            Message::Goodbye { from_node } => {
                self.peers.lock().unwrap().remove(&from_node);
                self.bump();
            }
            Message::Call {
                id,
                from_node,
                to_node,
                group,
                body,
                budget_ms,
            } if to_node == self.node => {
                let reply = Reply::Remote {
                    shared: self.clone(),
                    id,
                    to_node: from_node.clone(),
                };
                // This node's own deadline for it: the caller's budget from now.
                let deadline = Instant::now() + Duration::from_millis(budget_ms);
                self.deliver(&group, from_node, body, deadline, reply);
            }
            Message::Reply {
                id,
                to_node,
                outcome,
            } if to_node == self.node => {
                if let Some(waiting) = self.pending.lock().unwrap().remove(&id) {
                    let _ = waiting.send(outcome);
                }
            }
            // Addressed to another node.
            Message::Call { .. } | Message::Reply { .. } => {}
        }
    }
}

/// Where a request's outcome goes: to a caller on this node, or back over Redis.
enum Reply {
    Local(oneshot::Sender<Outcome>),
    Remote {
        shared: Arc<Shared>,
        id: u64,
        to_node: String,
    },
}

impl Reply {
    fn send(self, outcome: Outcome) {
        match self {
            Reply::Local(waiting) => {
                let _ = waiting.send(outcome);
            }
            Reply::Remote {
                shared,
                id,
                to_node,
            } => {
                // If Redis loses it, the caller's deadline covers the loss.
                shared.publish(&Message::Reply {
                    id,
                    to_node,
                    outcome,
                });
            }
        }
    }
}

/// One request in a member's mailbox. Answer it with [`Request::reply`]; dropping it
/// unanswered tells the caller [`Refusal::Dropped`] at once ([`Refusal::Expired`]
/// once its deadline has passed).
pub struct Request {
    /// The node that called.
    pub from_node: String,
    /// What it asked.
    pub body: Value,
    deadline: Instant,
    reply: Option<Reply>,
}

impl Request {
    /// When the caller stops waiting, on this node's clock (for a call from another
    /// node, one hop through Redis later than the caller's own deadline). Bound
    /// slow work by it: an answer after it reaches nobody.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Sends `answer` to the caller (over Redis if it is on another node).
    pub fn reply(mut self, answer: Value) {
        if let Some(reply) = self.reply.take() {
            reply.send(Outcome::Answer(answer));
        }
    }

    fn refuse(mut self, why: Refusal) {
        if let Some(reply) = self.reply.take() {
            reply.send(Outcome::Refused(why));
        }
    }
}

impl Drop for Request {
    fn drop(&mut self) {
        if let Some(reply) = self.reply.take() {
            // Past its deadline, the member let it go because nobody waits: say so.
            let why = if Instant::now() >= self.deadline {
                Refusal::Expired
            } else {
                Refusal::Dropped
            };
            reply.send(Outcome::Refused(why));
        }
    }
}

/// A member of a group on this node: a bounded mailbox of requests. Dropping it
/// leaves the group (the other nodes learn it from the hello sent at once).
pub struct Member {
    group: String,
    id: u64,
    mailbox: mpsc::Receiver<Request>,
    shared: Arc<Shared>,
}

impl Member {
    /// The next request whose caller still waits, or `None` once the node is gone.
    /// A request that waited in the mailbox past its deadline is answered
    /// [`Refusal::Expired`] and skipped: running it would only delay the next one.
    pub async fn recv(&mut self) -> Option<Request> {
        loop {
            let request = self.mailbox.recv().await?;
            if Instant::now() < request.deadline {
                return Some(request);
            }
            request.refuse(Refusal::Expired);
        }
    }

    /// The group this member joined.
    pub fn group(&self) -> &str {
        &self.group
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        {
            let mut local = self.shared.local.lock().unwrap();
            if let Some(members) = local.get_mut(&self.group) {
                members.retain(|m| m.id != self.id);
                if members.is_empty() {
                    local.remove(&self.group);
                }
            }
        }
        // Requests still queued are dropped with the mailbox: each tells its caller.
        self.mailbox.close();
        self.shared.announce();
    }
}

/// A call on its way: completes with the [`Outcome`] once it arrives, which may be
/// never (the node died, Redis lost a message). Bound it with a deadline. Dropping
/// it forgets the call; an outcome arriving later is ignored.
pub struct PendingCall {
    id: u64,
    outcome: oneshot::Receiver<Outcome>,
    shared: Arc<Shared>,
}

impl Future for PendingCall {
    type Output = Outcome;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Outcome> {
        // The sender goes only when the call is answered or its node stops.
        Pin::new(&mut self.outcome)
            .poll(cx)
            .map(|received| received.unwrap_or(Outcome::Refused(Refusal::Dropped)))
    }
}

impl Drop for PendingCall {
    fn drop(&mut self) {
        // No leak: a call given up on leaves the table now, not when (if ever) its
        // outcome arrives.
        self.shared.pending.lock().unwrap().remove(&self.id);
    }
}

/// This node's part of the cluster's groups: its members, what it knows of the
/// other nodes' groups, and the calls it has made.
///
/// Dropping it stops the heartbeat and the subscription: to the others the node
/// goes silent, as if it had crashed.
pub struct Groups {
    shared: Arc<Shared>,
    heartbeat: tokio::task::JoinHandle<()>,
}

impl Groups {
    /// Joins the cluster's groups on the Redis at `url` as `node`.
    pub async fn connect(
        url: &str,
        node: impl Into<String>,
        membership: Membership,
    ) -> anyhow::Result<Groups> {
        let (changed, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            node: node.into(),
            membership,
            link: OnceLock::new(),
            peers: Mutex::new(HashMap::new()),
            local: Mutex::new(HashMap::new()),
            pending: Mutex::new(HashMap::new()),
            changed,
            next_id: AtomicU64::new(1),
            turn: AtomicU64::new(0),
            left: Mutex::new(false),
        });
        let receiver = shared.clone();
        let link = RedisLink::connect(url, GROUPS_CHANNEL, move |bytes| receiver.on_message(bytes))
            .await?;
        let _ = shared.link.set(link);
        let beating = shared.clone();
        let heartbeat = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(membership.heartbeat);
            loop {
                ticks.tick().await;
                if *beating.left.lock().unwrap() {
                    return;
                }
                beating.announce();
                // Expiry has no message of its own: wake whoever watches a node, so
                // they look again.
                beating.bump();
            }
        });
        Ok(Groups { shared, heartbeat })
    }

    /// This node's name.
    pub fn node(&self) -> &str {
        &self.shared.node
    }

    /// Joins `group` with a new member whose mailbox holds up to `capacity`
    /// requests. The other nodes learn it from the hello sent now.
    pub fn join(&self, group: &str, capacity: usize) -> Member {
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let (sender, mailbox) = mpsc::channel(capacity.max(1));
        self.shared
            .local
            .lock()
            .unwrap()
            .entry(group.to_owned())
            .or_default()
            .push(Mailbox { id, sender });
        self.shared.announce();
        Member {
            group: group.to_owned(),
            id,
            mailbox,
            shared: self.shared.clone(),
        }
    }

    /// The live nodes hosting a member of `group`: this one from its own registry
    /// (at once), the others from their last heartbeat within the expiry.
    pub fn members_of(&self, group: &str) -> BTreeSet<String> {
        let expiry = self.shared.membership.expiry;
        let mut nodes: BTreeSet<String> = self
            .shared
            .peers
            .lock()
            .unwrap()
            .iter()
            .filter(|(node, peer)| {
                **node != self.shared.node
                    && peer.seen.elapsed() <= expiry
                    && peer.groups.contains(group)
            })
            .map(|(node, _)| node.clone())
            .collect();
        let hosted_here = self
            .shared
            .local
            .lock()
            .unwrap()
            .get(group)
            .is_some_and(|members| members.iter().any(|m| !m.sender.is_closed()));
        if hosted_here {
            nodes.insert(self.shared.node.clone());
        }
        nodes
    }

    /// Whether `node` is a live member of the cluster (this node always is).
    pub fn is_live(&self, node: &str) -> bool {
        self.shared.is_live(node)
    }

    /// Completes once `node` is no longer a live member of the cluster: it said
    /// goodbye, or its heartbeat expired (noticed within one heartbeat period).
    /// Never completes for this node itself while it runs.
    pub async fn gone(&self, node: &str) {
        let mut changed = self.shared.changed.subscribe();
        while self.shared.is_live(node) {
            if changed.changed().await.is_err() {
                return;
            }
        }
    }

    /// Sends `body` to a member of `group` on `node`, to be answered by `deadline`.
    /// The returned call completes with the outcome when it arrives, which may be
    /// never: stop waiting at `deadline` yourself. The called node drops the request
    /// if its deadline passes before a member takes it ([`Refusal::Expired`]). A call
    /// to this node is handed over directly, without Redis.
    pub fn request(&self, node: &str, group: &str, body: Value, deadline: Instant) -> PendingCall {
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let (sender, outcome) = oneshot::channel();
        let call = PendingCall {
            id,
            outcome,
            shared: self.shared.clone(),
        };
        if node == self.shared.node {
            let from = self.shared.node.clone();
            self.shared
                .deliver(group, from, body, deadline, Reply::Local(sender));
            return call;
        }
        {
            let mut pending = self.shared.pending.lock().unwrap();
            if pending.len() >= MAX_IN_FLIGHT {
                let _ = sender.send(Outcome::Refused(Refusal::Busy));
                return call;
            }
            // Waiting before asking: the outcome cannot arrive before the call is known.
            pending.insert(id, sender);
        }
        let queued = self.shared.publish(&Message::Call {
            id,
            from_node: self.shared.node.clone(),
            to_node: node.to_owned(),
            group: group.to_owned(),
            body,
            // A duration, not an instant: the other node's clock is its own. Rounded
            // up, so a call with time left never arrives with a budget of 0.
            budget_ms: deadline
                .saturating_duration_since(Instant::now())
                .as_micros()
                .div_ceil(1000) as u64,
        });
        if !queued {
            // The link's queue is full: refused now rather than timed out later.
            if let Some(sender) = self.shared.pending.lock().unwrap().remove(&id) {
                let _ = sender.send(Outcome::Refused(Refusal::Busy));
            }
        }
        call
    }

    /// Calls from this node still waiting for an outcome: zero once every call has
    /// completed or been given up on (what the tests check for leaks).
    pub fn calls_in_flight(&self) -> usize {
        self.shared.pending.lock().unwrap().len()
    }

    /// Leaves on purpose (a graceful shutdown): stops the heartbeat and says
    /// goodbye, so every node drops this one and its members at once. Returns once
    /// the goodbye went to Redis. Local members still answer until dropped.
    pub async fn leave(&self) {
        {
            let _local = self.shared.local.lock().unwrap();
            let mut left = self.shared.left.lock().unwrap();
            if !*left {
                *left = true;
                self.shared.publish(&Message::Goodbye {
                    from_node: self.shared.node.clone(),
                });
            }
        }
        if let Some(link) = self.shared.link.get() {
            link.flush().await;
        }
    }

    /// Waits until the subscription is up and this node has heard its own
    /// heartbeat: from then on it sees the others' calls and groups.
    pub async fn ready(&self) {
        let mut changed = self.shared.changed.subscribe();
        while !self
            .shared
            .peers
            .lock()
            .unwrap()
            .contains_key(&self.shared.node)
        {
            if changed.changed().await.is_err() {
                return;
            }
        }
    }
}

impl Drop for Groups {
    fn drop(&mut self) {
        self.heartbeat.abort();
        // The link's callback holds `shared`, which holds the link: close it
        // explicitly, or the subscription would outlive this node.
        if let Some(link) = self.shared.link.get() {
            link.close();
        }
        // Calls still waiting complete now (as dropped) instead of never.
        self.shared.pending.lock().unwrap().clear();
    }
}
