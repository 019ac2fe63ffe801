//! Asking every node a question: heartbeats for membership, questions and answers
//! over one Redis channel. The gathering of the answers is exercise s3.e8.
//!
//! **Membership.** Every node publishes a heartbeat (`hello`) every period; a node
//! is a member while its last heartbeat is younger than the expiry. That is the
//! simplest service discovery there is, and a failure detector too: a node that
//! crashed stays a member until its heartbeat expires, and during that time a
//! question to the cluster names it as not answering. A node that stops on purpose
//! says `goodbye` first ([`ClusterQueries::leave`]), so the others drop it at once
//! instead of after the expiry.
//!
//! **Questions.** The asker publishes `ask` with an id; every node (the asker
//! included) answers on the same channel, addressed to the asker; the asker gathers
//! the answers by a deadline ([`Question`] holds what that needs; s3.e8's `gather`
//! does it). At-most-once like everything on Redis PubSub: a lost
//! answer is a missing node, never a wrong count.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::RedisLink;
use crate::scatter::Answer;

/// The Redis channel questions, answers and heartbeats travel on.
pub const QUERIES_CHANNEL: &str = "rts:queries";

/// How often nodes say hello, and how long one is a member without saying it.
#[derive(Debug, Clone, Copy)]
pub struct Membership {
    /// Heartbeat period.
    pub heartbeat: Duration,
    /// A node silent for longer than this is no longer a member.
    pub expiry: Duration,
}

impl Default for Membership {
    fn default() -> Self {
        // Three missed heartbeats: one lost datagram or a GC-like pause must not
        // drop a healthy node from the cluster.
        Membership {
            heartbeat: Duration::from_secs(1),
            expiry: Duration::from_secs(3),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Message {
    Hello {
        from_node: String,
    },
    /// The sender is stopping: forget it now, not at the expiry.
    Goodbye {
        from_node: String,
    },
    Ask {
        id: u64,
        from_node: String,
        question: String,
    },
    Answer {
        id: u64,
        to_node: String,
        from_node: String,
        value: Value,
    },
}

/// What a node answers to a question (`"connected_users"` -> a number).
pub type Answerer = Arc<dyn Fn(&str) -> Value + Send + Sync>;

struct Shared {
    node: String,
    link: OnceLock<RedisLink>,
    answerer: Answerer,
    last_seen: Mutex<HashMap<String, Instant>>,
    pending: Mutex<HashMap<u64, mpsc::Sender<Answer<Value>>>>,
    /// Set by `leave`. Held while a heartbeat is published, so no hello can follow
    /// the goodbye on the wire (the others would take the node back until expiry).
    left: Mutex<bool>,
}

impl Shared {
    fn publish(&self, message: &Message) {
        if let Some(link) = self.link.get() {
            link.publish(serde_json::to_vec(message).expect("messages serialize"));
        }
    }

    fn on_message(&self, bytes: &[u8]) {
        let Ok(message) = serde_json::from_slice::<Message>(bytes) else {
            tracing::warn!("ignoring a malformed cluster query message");
            return;
        };
        match message {
            Message::Hello { from_node } => {
                self.last_seen
                    .lock()
                    .unwrap()
                    .insert(from_node, Instant::now());
            }
            Message::Goodbye { from_node } => {
                self.last_seen.lock().unwrap().remove(&from_node);
            }
            Message::Ask {
                id,
                from_node,
                question,
            } => {
                let value = (self.answerer)(&question);
                self.publish(&Message::Answer {
                    id,
                    to_node: from_node,
                    from_node: self.node.clone(),
                    value,
                });
            }
            Message::Answer {
                id,
                to_node,
                from_node,
                value,
            } if to_node == self.node => {
                if let Some(waiting) = self.pending.lock().unwrap().get(&id) {
                    // Bounded: a flood of answers to one question is dropped, the
                    // gathering already has what it needs from each node.
                    let _ = waiting.try_send(Answer {
                        node: from_node,
                        value,
                    });
                }
            }
            Message::Answer { .. } => {}
        }
    }
}

/// A node's membership in the cluster and its way to ask every node a question.
///
/// Dropping it stops the heartbeat and the subscription: to the others, the node
/// goes silent, as if it had crashed.
pub struct ClusterQueries {
    shared: Arc<Shared>,
    membership: Membership,
    next_id: AtomicU64,
    heartbeat: tokio::task::JoinHandle<()>,
}

impl ClusterQueries {
    /// Joins the cluster on the Redis at `url` as `node`, answering questions with
    /// `answerer`.
    pub async fn connect(
        url: &str,
        node: impl Into<String>,
        membership: Membership,
        answerer: Answerer,
    ) -> anyhow::Result<ClusterQueries> {
        let shared = Arc::new(Shared {
            node: node.into(),
            link: OnceLock::new(),
            answerer,
            last_seen: Mutex::new(HashMap::new()),
            pending: Mutex::new(HashMap::new()),
            left: Mutex::new(false),
        });
        let receiver = shared.clone();
        let link = RedisLink::connect(url, QUERIES_CHANNEL, move |bytes| {
            receiver.on_message(bytes)
        })
        .await?;
        let _ = shared.link.set(link);
        let beating = shared.clone();
        let heartbeat = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(membership.heartbeat);
            loop {
                ticks.tick().await;
                let left = beating.left.lock().unwrap();
                if *left {
                    return;
                }
                beating.publish(&Message::Hello {
                    from_node: beating.node.clone(),
                });
            }
        });
        Ok(ClusterQueries {
            shared,
            membership,
            next_id: AtomicU64::new(1),
            heartbeat,
        })
    }

    /// Leaves the cluster on purpose (a graceful shutdown): stops the heartbeat and
    /// tells every node `goodbye`, so their member lists drop this node at once and
    /// no question waits for it. Returns once the goodbye went to Redis (or the link
    /// is down: then the others wait for the expiry, as after a crash). Idempotent;
    /// the node still answers questions until it is dropped.
    pub async fn leave(&self) {
        {
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

    /// The nodes heard from within the membership expiry (this one included, once
    /// its first heartbeat came back).
    pub fn members(&self) -> BTreeSet<String> {
        let now = Instant::now();
        self.shared
            .last_seen
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, seen)| now.duration_since(**seen) <= self.membership.expiry)
            .map(|(node, _)| node.clone())
            .collect()
    }

    /// Whether this node's subscription to Redis is up right now: while it is down
    /// the node hears no heartbeat, question or answer (what `/readyz` reports).
    pub fn is_linked(&self) -> bool {
        self.shared.link.get().is_some_and(RedisLink::is_subscribed)
    }

    /// Asks every member `question`. The returned [`Question`] names the members
    /// expected to answer and receives their answers as they arrive; gathering them
    /// by a deadline is exercise s3.e8:
    ///
    /// ```ignore
    /// let mut question = queries.ask("connected_users");
    /// let gathered = gather(&question.expected, &mut question.replies, limit).await;
    /// ```
    pub fn ask(&self, question: &str) -> Question {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        // Bounded: a flood of answers cannot grow the asker's memory.
        let (tx, replies) = mpsc::channel(256);
        // Listening before asking: an answer cannot arrive before its question is known.
        self.shared.pending.lock().unwrap().insert(id, tx);
        let expected = self.members();
        self.shared.publish(&Message::Ask {
            id,
            from_node: self.shared.node.clone(),
            question: question.to_owned(),
        });
        Question {
            expected,
            replies,
            id,
            shared: self.shared.clone(),
        }
    }
}

/// A question on its way to every member: who was asked, and where the answers
/// arrive. Dropping it stops listening; later answers to it are ignored.
pub struct Question {
    /// The members when the question went out: the nodes expected to answer.
    pub expected: BTreeSet<String>,
    /// The answers as they arrive. A node may answer twice (its first answer
    /// counts), and one that joined after the question went out may answer too.
    pub replies: mpsc::Receiver<Answer<Value>>,
    id: u64,
    shared: Arc<Shared>,
}

impl Drop for Question {
    fn drop(&mut self) {
        self.shared.pending.lock().unwrap().remove(&self.id);
    }
}

impl Drop for ClusterQueries {
    fn drop(&mut self) {
        self.heartbeat.abort();
        // The link's callback holds `shared`, which holds the link: close it
        // explicitly, or the subscription would outlive this node.
        if let Some(link) = self.shared.link.get() {
            link.close();
        }
    }
}
