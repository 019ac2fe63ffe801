//! A channel's mailbox: `tokio::sync::mpsc`'s bounded channel, minus the memory it
//! takes while empty.
//!
//! tokio's channel allocates its first block of 32 slots when it is created; with one
//! mailbox per joined channel, times ten thousand idle connections, that block was
//! the biggest item after the WebSocket buffers (see the figures in `tuning/mod.rs`).
//! This queue is a `VecDeque` behind a lock: it costs what it holds.
//!
//! It has the part of tokio's API the framework uses, with tokio's own error types,
//! so that `use crate::tuning::mailbox as mpsc;` and `use tokio::sync::mpsc;` are
//! interchangeable in `channel.rs` and `router.rs`: bounded `try_send`, `send` that
//! waits for room, weak senders that do not keep the channel open, and `recv` that
//! ends when the last strong sender is gone.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::Notify;

/// tokio's own error types, so callers match on the same variants either way.
pub(crate) mod error {
    pub(crate) use tokio::sync::mpsc::error::{SendError, TrySendError};
}
use error::{SendError, TrySendError};

struct Shared<T> {
    queue: Mutex<VecDeque<T>>,
    capacity: usize,
    /// Wakes the receiver: a message arrived, or the last sender left.
    ready: Notify,
    /// Wakes senders waiting for room.
    room: Notify,
    senders: AtomicUsize,
    receiver_gone: AtomicBool,
}

impl<T> Shared<T> {
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<T>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A bounded mailbox of at most `capacity` messages (like `tokio::sync::mpsc::channel`,
/// which panics on 0).
pub(crate) fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(capacity > 0, "mpsc bounded channel requires buffer > 0");
    let shared = Arc::new(Shared {
        queue: Mutex::new(VecDeque::new()),
        capacity,
        ready: Notify::new(),
        room: Notify::new(),
        senders: AtomicUsize::new(1),
        receiver_gone: AtomicBool::new(false),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared },
    )
}

/// Keeps the mailbox open while it lives.
pub(crate) struct Sender<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.senders.fetch_add(1, Ordering::AcqRel);
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if self.shared.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            // The last one: the receiver must learn that nothing more will come.
            self.shared.ready.notify_one();
        }
    }
}

impl<T> Sender<T> {
    /// Queues `message` if there is room, without waiting.
    pub(crate) fn try_send(&self, message: T) -> Result<(), TrySendError<T>> {
        if self.shared.receiver_gone.load(Ordering::Acquire) {
            return Err(TrySendError::Closed(message));
        }
        {
            let mut queue = self.shared.lock();
            if queue.len() >= self.shared.capacity {
                return Err(TrySendError::Full(message));
            }
            queue.push_back(message);
        }
        self.shared.ready.notify_one();
        Ok(())
    }

    /// Queues `message`, waiting while the mailbox is full; `Err` if the receiver is gone.
    pub(crate) async fn send(&self, mut message: T) -> Result<(), SendError<T>> {
        loop {
            let room = self.shared.room.notified();
            match self.try_send(message) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Closed(m)) => return Err(SendError(m)),
                Err(TrySendError::Full(m)) => message = m,
            }
            room.await;
        }
    }

    /// The most messages the mailbox holds (tokio's name, so an inspector reads the
    /// depth the same way from either mailbox: `max_capacity() - capacity()`).
    pub(crate) fn max_capacity(&self) -> usize {
        self.shared.capacity
    }

    /// Room left in the mailbox now.
    pub(crate) fn capacity(&self) -> usize {
        self.shared
            .capacity
            .saturating_sub(self.shared.lock().len())
    }

    /// A handle that does not keep the mailbox open.
    pub(crate) fn downgrade(&self) -> WeakSender<T> {
        WeakSender {
            shared: Arc::downgrade(&self.shared),
        }
    }
}

/// Sends only while some strong [`Sender`] keeps the mailbox open.
pub(crate) struct WeakSender<T> {
    shared: Weak<Shared<T>>,
}

impl<T> Clone for WeakSender<T> {
    fn clone(&self) -> Self {
        WeakSender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> WeakSender<T> {
    /// A strong sender, if the mailbox is still open.
    pub(crate) fn upgrade(&self) -> Option<Sender<T>> {
        let shared = self.shared.upgrade()?;
        let mut senders = shared.senders.load(Ordering::Acquire);
        loop {
            if senders == 0 {
                // Closed for good: the receiver may already have seen the end.
                return None;
            }
            match shared.senders.compare_exchange_weak(
                senders,
                senders + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Some(Sender { shared }),
                Err(now) => senders = now,
            }
        }
    }
}

/// The channel task's end of the mailbox.
pub(crate) struct Receiver<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Receiver<T> {
    /// The next message; `None` once every strong sender is gone and the queue is empty.
    pub(crate) async fn recv(&mut self) -> Option<T> {
        loop {
            let ready = self.shared.ready.notified();
            let next = {
                let mut queue = self.shared.lock();
                let next = queue.pop_front();
                if queue.is_empty() && queue.capacity() > 8 {
                    // A burst grew it; an idle channel should not keep that memory.
                    queue.shrink_to(2);
                }
                next
            };
            if let Some(message) = next {
                self.shared.room.notify_one();
                return Some(message);
            }
            if self.shared.senders.load(Ordering::Acquire) == 0 {
                return None;
            }
            ready.await;
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.shared.receiver_gone.store(true, Ordering::Release);
        self.shared.room.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bounded_ordered_and_ends_with_the_last_strong_sender() {
        let (tx, mut rx) = channel::<u32>(2);
        let weak = tx.downgrade();
        tx.try_send(1).unwrap();
        tx.try_send(2).unwrap();
        assert!(matches!(tx.try_send(3), Err(TrySendError::Full(3))));
        assert_eq!(rx.recv().await, Some(1));
        let strong = weak.upgrade().expect("open while tx lives");
        strong.try_send(3).unwrap();
        drop(strong);
        drop(tx);
        assert_eq!(rx.recv().await, Some(2));
        assert_eq!(rx.recv().await, Some(3));
        assert_eq!(rx.recv().await, None);
        assert!(weak.upgrade().is_none(), "no upgrade once closed");
    }

    #[tokio::test]
    async fn send_waits_for_room_and_fails_once_the_receiver_is_gone() {
        let (tx, mut rx) = channel::<u32>(1);
        tx.try_send(1).unwrap();
        let tx2 = tx.clone();
        let waiting = tokio::spawn(async move { tx2.send(2).await });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "send waits while full");
        assert_eq!(rx.recv().await, Some(1));
        waiting.await.unwrap().unwrap();
        assert_eq!(rx.recv().await, Some(2));
        drop(rx);
        assert!(matches!(tx.send(3).await, Err(SendError(3))));
    }
}
