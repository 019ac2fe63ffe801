//! A topic's subscribers, tuned for a broadcast to thousands: Phoenix's "fastlane",
//! and a prefetch.
//!
//! The plain table (`pubsub::SubscriberMap`) calls `deliver` on each subscriber; a
//! joined channel's `deliver` checks its intercepts and queues the frame into its
//! socket's outbox. For a broadcast to 10,000 connections that is 10,000 times two
//! pointers to follow (the subscriber, then its outbox), and the outbox is usually
//! a cache miss: its writer task last touched it, often on the other core. This
//! table differs in two ways:
//!
//! - **fastlane**: it asks each subscriber once, when it subscribes, for its outbox
//!   and intercepts ([`Subscriber::fastlane`]) and keeps them in the entry, so the
//!   loop goes from the table straight to the outbox;
//! - **prefetch**: the loop asks the CPU for the outbox [`PREFETCH_AHEAD`] entries
//!   ahead, so the misses overlap instead of being paid one after the other.

use std::collections::HashMap;
use std::sync::Arc;

use crate::outbox::Outbox;
use crate::pubsub::{Broadcast, FastLane, Subscriber, SubscriberId};

/// One subscription as the broadcast loop sees it: the fastlane, if any, right in
/// the entry.
struct Entry {
    lane: Option<FastLane>,
    subscriber: Arc<dyn Subscriber>,
}

/// How many entries ahead the broadcast loop asks for the outbox.
pub const PREFETCH_AHEAD: usize = 8;

/// One topic's subscribers: `pubsub::SubscriberMap`'s methods and behaviour, with
/// the fastlane and the prefetch.
#[derive(Default)]
pub struct FastLaneMap {
    entries: HashMap<SubscriberId, Entry>,
}

impl FastLaneMap {
    /// Adds (or replaces) the subscription `id`; asks the subscriber for its fastlane.
    pub fn insert(&mut self, id: SubscriberId, subscriber: Arc<dyn Subscriber>) {
        let lane = subscriber.fastlane();
        self.entries.insert(id, Entry { lane, subscriber });
    }

    /// Removes the subscription `id` (no-op if absent).
    pub fn remove(&mut self, id: SubscriberId) {
        self.entries.remove(&id);
    }

    /// How many subscriptions there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Hands `broadcast` to every subscriber but its sender; returns how many.
    pub fn broadcast(&self, broadcast: &Arc<Broadcast>) -> usize {
        let (sender, event) = (broadcast.sender(), broadcast.event());
        let mut ahead = self.entries.values();
        ahead
            .by_ref()
            .take(PREFETCH_AHEAD)
            .for_each(Entry::prefetch);
        let mut reached = 0;
        for (id, entry) in &self.entries {
            if let Some(next) = ahead.next() {
                next.prefetch();
            }
            if Some(*id) == sender {
                continue;
            }
            match &entry.lane {
                Some(lane) if !lane.intercepts.contains(&event) => {
                    lane.outbox.send_text(broadcast.frame().clone());
                }
                _ => entry.subscriber.deliver(broadcast),
            }
            reached += 1;
        }
        reached
    }
}

impl Entry {
    fn prefetch(&self) {
        if let Some(lane) = &self.lane {
            prefetch(&lane.outbox);
        }
    }
}

/// Asks the CPU to start loading `outbox`'s shared state into its cache, without
/// waiting for it. Only a hint; nothing on other architectures than x86-64.
#[allow(unsafe_code)]
fn prefetch(outbox: &Outbox) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: a prefetch never faults and changes nothing observable (it is not
        // even a read as far as the memory model goes); the pointer is to a live
        // allocation anyway, kept by the `Arc` inside `outbox`.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(outbox.addr().cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = outbox;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbox::OutboxReceiver;
    use crate::protocol::Payload;
    use crate::pubsub::SubscriberMap;
    use std::sync::Mutex;

    /// A joined channel that intercepts `"edited"`: other events take the fastlane.
    struct Channel {
        outbox: Outbox,
        intercepted: Mutex<Vec<String>>,
    }

    impl Subscriber for Channel {
        fn deliver(&self, broadcast: &Arc<Broadcast>) {
            if broadcast.event() == "edited" {
                self.intercepted
                    .lock()
                    .unwrap()
                    .push(broadcast.event().to_owned());
            } else {
                self.outbox.send_text(broadcast.frame().clone());
            }
        }

        fn fastlane(&self) -> Option<FastLane> {
            Some(FastLane {
                outbox: self.outbox.clone(),
                intercepts: &["edited"],
            })
        }
    }

    #[test]
    fn delivers_what_the_plain_table_delivers() {
        // The same subscriptions and broadcasts through both tables.
        let mut fast = FastLaneMap::default();
        let mut plain = SubscriberMap::default();
        let mut fast_ends: Vec<(Arc<Channel>, OutboxReceiver)> = Vec::new();
        let mut plain_ends: Vec<(Arc<Channel>, OutboxReceiver)> = Vec::new();
        let ids: Vec<SubscriberId> = (0..20).map(|_| SubscriberId::next()).collect();
        for (table_is_fast, ends) in [(true, &mut fast_ends), (false, &mut plain_ends)] {
            for id in &ids {
                let (outbox, rx) = Outbox::new(64);
                let channel = Arc::new(Channel {
                    outbox,
                    intercepted: Mutex::default(),
                });
                if table_is_fast {
                    fast.insert(*id, channel.clone());
                } else {
                    plain.insert(*id, channel.clone());
                }
                ends.push((channel, rx));
            }
        }
        fast.remove(ids[3]);
        plain.remove(ids[3]);
        assert_eq!(
            (fast.len(), fast.is_empty()),
            (plain.len(), plain.is_empty())
        );
        for (event, from) in [
            ("created", None),
            ("edited", None),
            ("created", Some(ids[5])),
        ] {
            let mut broadcast = Broadcast::new("feed", event, Payload::new());
            if let Some(sender) = from {
                broadcast = broadcast.from_subscriber(sender);
            }
            let broadcast = Arc::new(broadcast);
            assert_eq!(fast.broadcast(&broadcast), plain.broadcast(&broadcast));
        }
        let got = |ends: &[(Arc<Channel>, OutboxReceiver)]| -> Vec<(Vec<String>, Vec<String>)> {
            ends.iter()
                .map(|(channel, rx)| {
                    let frames = std::iter::from_fn(|| rx.try_recv())
                        .map(|text| text.to_string())
                        .collect();
                    (frames, channel.intercepted.lock().unwrap().clone())
                })
                .collect()
        };
        let fast_got = got(&fast_ends);
        assert_eq!(fast_got, got(&plain_ends));
        // Subscriber 3 left, 5 sent the last one, the others got both `created`.
        assert_eq!(fast_got[0].0.len(), 2);
        assert_eq!(fast_got[0].1, ["edited"]);
        assert_eq!(fast_got[3], (vec![], vec![]));
        assert_eq!(fast_got[5].0.len(), 1);
    }
}
