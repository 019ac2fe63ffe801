//! Publish/subscribe by topic: how one event reaches every channel joined to it.
//!
//! The [`PubSub`] trait is what channels and the endpoint use; [`LocalPubSub`] is the
//! in-process implementation. A cluster implementation (section 3 puts Redis behind
//! this trait) publishes to the other nodes and hands what it receives to a
//! `LocalPubSub` for local delivery, so channels never know which one they run on.
//!
//! A [`Broadcast`] is encoded **once**, when it is created: every subscriber gets a
//! cheap clone of the same bytes (a reference count), not a fresh `serde_json` run.
//! Delivery never waits: a [`Subscriber`] queues or drops, so one slow client cannot
//! hold up a broadcast to ten thousand others.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use axum::extract::ws::Utf8Bytes;
use serde_json::Value;

use crate::outbox::Outbox;
use crate::protocol::{Frame, Payload};

/// Identifies one subscription, so `broadcast_from` can skip the sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SubscriberId(u64);

impl SubscriberId {
    /// A process-wide unique id.
    pub fn next() -> SubscriberId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        SubscriberId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

/// One event for every subscriber of a topic, encoded once.
#[derive(Debug)]
pub struct Broadcast {
    topic: String,
    event: String,
    payload: Payload,
    frame: Utf8Bytes,
    from: Option<SubscriberId>,
}

impl Broadcast {
    /// A broadcast of `event` on `topic`; the wire frame is encoded here, once.
    pub fn new(topic: impl Into<String>, event: impl Into<String>, payload: Payload) -> Self {
        let topic = topic.into();
        let event = event.into();
        let frame = Frame::broadcast(&topic, &event, Value::Object(payload.clone())).encode();
        Broadcast {
            topic,
            event,
            payload,
            frame: frame.into(),
            from: None,
        }
    }

    /// The same broadcast, not delivered to `sender` (Phoenix's `broadcast_from`).
    pub fn from_subscriber(mut self, sender: SubscriberId) -> Self {
        self.from = Some(sender);
        self
    }

    /// The topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The event.
    pub fn event(&self) -> &str {
        &self.event
    }

    /// The payload, for subscribers that intercept the event.
    pub fn payload(&self) -> &Payload {
        &self.payload
    }

    /// The encoded frame `[null, null, topic, event, payload]`, shared by all.
    pub fn frame(&self) -> &Utf8Bytes {
        &self.frame
    }

    /// The subscriber that must not receive it, if any.
    pub fn sender(&self) -> Option<SubscriberId> {
        self.from
    }
}

/// Something that receives broadcasts: a joined channel, a socket waiting for its
/// `disconnect`, a test probe.
///
/// `deliver` runs on the broadcaster's task, under the topic's read lock: it must not
/// block or await. Queue the message (`try_send`) or drop it and say so.
pub trait Subscriber: Send + Sync + 'static {
    /// Hands one broadcast to the subscriber.
    fn deliver(&self, broadcast: &Arc<Broadcast>);

    /// The socket outbox this subscriber forwards broadcasts to unchanged, if it does
    /// (a joined channel). A shortcut for the tuned subscriber table
    /// ([`crate::tuning::FastLaneMap`]: Phoenix's "fastlane"), which then queues the
    /// shared frame there itself and calls [`Subscriber::deliver`] only for the
    /// events in [`FastLane::intercepts`]. The plain [`SubscriberMap`] never asks.
    /// The default, `None`, is always correct.
    fn fastlane(&self) -> Option<FastLane> {
        None
    }
}

/// Where a subscriber's broadcasts go when nothing has to look at them first (see
/// [`Subscriber::fastlane`]).
#[derive(Debug, Clone)]
pub struct FastLane {
    /// The connection's outbox: the shared, pre-encoded frame is queued there.
    pub outbox: Outbox,
    /// Events that still go through [`Subscriber::deliver`] (a channel's
    /// `INTERCEPTS`).
    pub intercepts: &'static [&'static str],
}

/// What [`PubSub::flush`] returns: a future that completes once the broadcasts made
/// before it have left the node.
pub type Flushing<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// The operations channels need from a publish/subscribe system.
pub trait PubSub: Send + Sync + 'static {
    /// Adds `subscriber` to `topic` under `id`.
    fn subscribe(&self, topic: &str, id: SubscriberId, subscriber: Arc<dyn Subscriber>);

    /// Removes the subscription `id` from `topic` (no-op if absent).
    fn unsubscribe(&self, topic: &str, id: SubscriberId);

    /// Delivers to every subscriber of the topic, on every node; returns how many
    /// local subscribers it reached.
    fn broadcast(&self, broadcast: Broadcast) -> usize;

    /// Delivers to this node's subscribers only.
    fn local_broadcast(&self, broadcast: Broadcast) -> usize;

    /// This node's name (Phoenix's `node()`); `"local"` for a single process.
    fn node_name(&self) -> &str;

    /// Completes once every broadcast made so far has left this node: for a node
    /// about to exit, whose last messages (a tracker's goodbye) must not die with it.
    /// A pubsub that publishes in the background (over Redis) waits for its queue;
    /// in-process delivery is done when `broadcast` returns, so the default is ready
    /// at once. A wrapper forwards it to what it wraps. Bound it with the drain
    /// deadline: a pubsub whose network is down may not finish.
    fn flush(&self) -> Flushing<'_> {
        Box::pin(std::future::ready(()))
    }
}

/// Subscribes for as long as it lives: dropping it unsubscribes, also when the task
/// holding it panics or is aborted.
pub struct Subscription {
    pubsub: Arc<dyn PubSub>,
    topic: String,
    id: SubscriberId,
}

impl Subscription {
    /// Subscribes `subscriber` to `topic` until the returned guard is dropped.
    pub fn new(
        pubsub: Arc<dyn PubSub>,
        topic: impl Into<String>,
        subscriber: Arc<dyn Subscriber>,
    ) -> Subscription {
        let topic = topic.into();
        let id = SubscriberId::next();
        pubsub.subscribe(&topic, id, subscriber);
        Subscription { pubsub, topic, id }
    }

    /// Subscribes under an id chosen by the caller (a channel knows its id before it
    /// subscribes, so `broadcast_from` works from its first callback).
    pub fn with_id(
        pubsub: Arc<dyn PubSub>,
        topic: impl Into<String>,
        id: SubscriberId,
        subscriber: Arc<dyn Subscriber>,
    ) -> Subscription {
        let topic = topic.into();
        pubsub.subscribe(&topic, id, subscriber);
        Subscription { pubsub, topic, id }
    }

    /// The id `broadcast_from` uses to skip this subscriber.
    pub fn id(&self) -> SubscriberId {
        self.id
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.pubsub.unsubscribe(&self.topic, self.id);
    }
}

/// One topic's subscribers, and how a broadcast reaches them: every subscriber but
/// the sender, one after the other, on the broadcaster's task.
#[derive(Default)]
pub struct SubscriberMap {
    subscribers: HashMap<SubscriberId, Arc<dyn Subscriber>>,
}

impl SubscriberMap {
    /// Adds (or replaces) the subscription `id`.
    pub fn insert(&mut self, id: SubscriberId, subscriber: Arc<dyn Subscriber>) {
        self.subscribers.insert(id, subscriber);
    }

    /// Removes the subscription `id` (no-op if absent).
    pub fn remove(&mut self, id: SubscriberId) {
        self.subscribers.remove(&id);
    }

    /// How many subscriptions there are.
    pub fn len(&self) -> usize {
        self.subscribers.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.subscribers.is_empty()
    }

    /// Hands `broadcast` to every subscriber but its sender; returns how many.
    pub fn broadcast(&self, broadcast: &Arc<Broadcast>) -> usize {
        let mut reached = 0;
        for (id, subscriber) in &self.subscribers {
            if Some(*id) == broadcast.sender() {
                continue;
            }
            subscriber.deliver(broadcast);
            reached += 1;
        }
        reached
    }
}

// The seam: how each topic keeps its subscribers. `SubscriberMap` above is the
// pattern; the framework runs `tuning::FastLaneMap`, which does the same (same
// methods, same tests) for less CPU per subscriber when a topic has thousands.
// Read `tuning/mod.rs` only after this file; swap this line for
// `type Subscribers = SubscriberMap;` and everything still works.
type Subscribers = crate::tuning::FastLaneMap;

/// In-process PubSub: a map from topic to subscribers behind a read/write lock.
///
/// Broadcasting takes the read lock, so broadcasts to different (or the same) topics
/// run in parallel; only (un)subscribing takes the write lock, briefly.
pub struct LocalPubSub {
    node: String,
    topics: RwLock<HashMap<String, Subscribers>>,
}

impl LocalPubSub {
    /// A pubsub for a single process, named `"local"`.
    pub fn new() -> Self {
        Self::named("local")
    }

    /// A pubsub whose `node_name` is `node` (what a cluster node would report).
    pub fn named(node: impl Into<String>) -> Self {
        LocalPubSub {
            node: node.into(),
            topics: RwLock::new(HashMap::new()),
        }
    }

    /// How many subscribers `topic` has.
    pub fn subscriber_count(&self, topic: &str) -> usize {
        self.read().get(topic).map_or(0, Subscribers::len)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Subscribers>> {
        // A panic inside `deliver` must not take every broadcast down with it.
        self.topics.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Subscribers>> {
        self.topics.write().unwrap_or_else(|e| e.into_inner())
    }
}

impl Default for LocalPubSub {
    fn default() -> Self {
        Self::new()
    }
}

impl PubSub for LocalPubSub {
    fn subscribe(&self, topic: &str, id: SubscriberId, subscriber: Arc<dyn Subscriber>) {
        self.write()
            .entry(topic.to_owned())
            .or_default()
            .insert(id, subscriber);
    }

    fn unsubscribe(&self, topic: &str, id: SubscriberId) {
        let mut topics = self.write();
        if let Some(subscribers) = topics.get_mut(topic) {
            subscribers.remove(id);
            if subscribers.is_empty() {
                // Topics come and go with users (`user:42`): do not keep empty maps.
                topics.remove(topic);
            }
        }
    }

    fn broadcast(&self, broadcast: Broadcast) -> usize {
        // One process is the whole cluster.
        self.local_broadcast(broadcast)
    }

    fn local_broadcast(&self, broadcast: Broadcast) -> usize {
        let broadcast = Arc::new(broadcast);
        let topics = self.read();
        let Some(subscribers) = topics.get(broadcast.topic()) else {
            return 0;
        };
        subscribers.broadcast(&broadcast)
    }

    fn node_name(&self) -> &str {
        &self.node
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Probe(Mutex<Vec<String>>);

    impl Subscriber for Probe {
        fn deliver(&self, broadcast: &Arc<Broadcast>) {
            self.0.lock().unwrap().push(broadcast.frame().to_string());
        }
    }

    fn payload(value: Value) -> Payload {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn delivers_the_same_encoded_frame_to_every_subscriber() {
        let pubsub: Arc<dyn PubSub> = Arc::new(LocalPubSub::new());
        let a = Arc::new(Probe::default());
        let b = Arc::new(Probe::default());
        let _sa = Subscription::new(pubsub.clone(), "feed", a.clone());
        let _sb = Subscription::new(pubsub.clone(), "feed", b.clone());
        let _other = Subscription::new(pubsub.clone(), "orders", Arc::new(Probe::default()));
        let reached = pubsub.broadcast(Broadcast::new(
            "feed",
            "activity.created",
            payload(serde_json::json!({"id": 1})),
        ));
        assert_eq!(reached, 2);
        let expected = r#"[null,null,"feed","activity.created",{"id":1}]"#;
        assert_eq!(*a.0.lock().unwrap(), [expected]);
        assert_eq!(*b.0.lock().unwrap(), [expected]);
    }

    #[test]
    fn broadcast_from_skips_the_sender_and_drop_unsubscribes() {
        let local = Arc::new(LocalPubSub::new());
        let pubsub: Arc<dyn PubSub> = local.clone();
        let me = Arc::new(Probe::default());
        let other = Arc::new(Probe::default());
        let mine = Subscription::new(pubsub.clone(), "cart:1", me.clone());
        let theirs = Subscription::new(pubsub.clone(), "cart:1", other.clone());
        pubsub.broadcast(
            Broadcast::new("cart:1", "updated", Payload::new()).from_subscriber(mine.id()),
        );
        assert!(me.0.lock().unwrap().is_empty());
        assert_eq!(other.0.lock().unwrap().len(), 1);
        drop(mine);
        drop(theirs);
        assert_eq!(local.subscriber_count("cart:1"), 0);
        assert_eq!(
            pubsub.broadcast(Broadcast::new("cart:1", "x", Payload::new())),
            0
        );
    }
}
