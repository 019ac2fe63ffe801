//! The [`LiveView`] trait you implement, and the [`LiveContext`] its callbacks get.
//!
//! A live view is a channel that renders. It lives twice:
//!
//! 1. **static render**: the first HTTP request runs [`LiveView::mount`] with
//!    `ctx.connected() == false`, then [`LiveView::render`], and sends plain HTML (the
//!    page works without JavaScript, and search engines see content). The view is then
//!    dropped.
//! 2. **connected mount**: the browser's JavaScript joins `lv:<id>` over the WebSocket;
//!    `mount` runs again, now connected, and the view stays alive as that channel's
//!    state: events from the page go to [`LiveView::handle_event`], messages from
//!    PubSub, timers and background work to [`LiveView::handle_info`]. After each
//!    callback the framework renders and sends the client only what changed.
//!
//! Subscribing and slow work belong in the connected mount only: the static render
//! would subscribe for nothing and make the first byte wait.

use std::any::Any;
use std::collections::BTreeMap;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use axum::http::Extensions;
use channels::PubSub;
use channels::channel::ChannelAddr;
use channels::pubsub::{Broadcast, Subscriber, Subscription};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use super::Rendered;

// ANCHOR: live_view_trait
/// A live view: the state of one page for one browser tab, and its callbacks.
pub trait LiveView: Sized + Send + 'static {
    /// The messages [`LiveView::handle_info`] receives (PubSub broadcasts mapped by
    /// [`LiveContext::subscribe`], timers, results of [`LiveContext::start_async`]).
    type Info: Send + 'static;

    /// Builds the view's state: once for the static render (not connected), once more
    /// when the browser connects.
    fn mount(
        session: &Session,
        ctx: &mut LiveContext<Self>,
    ) -> impl Future<Output = Result<Self, MountError>> + Send;

    /// The page for the current state. Cheap and pure: it runs after every callback.
    fn render(&self) -> Rendered;

    /// The page sent an event (`phx-click="create"`, a `phx-submit` form...). `value`
    /// is the element's values (`phx-value-*`), or the form's fields as an object.
    fn handle_event(
        &mut self,
        event: &str,
        value: Value,
        ctx: &mut LiveContext<Self>,
    ) -> impl Future<Output = ()> + Send;

    /// A message from PubSub, a timer or background work. The default ignores it.
    fn handle_info(
        &mut self,
        message: Self::Info,
        ctx: &mut LiveContext<Self>,
    ) -> impl Future<Output = ()> + Send {
        let _ = (message, ctx);
        std::future::ready(())
    }
}
// ANCHOR_END: live_view_trait

/// Why a view could not mount; the static render answers 500 with it, a connected
/// mount an error reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountError(pub String);

impl std::fmt::Display for MountError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for MountError {}

/// What the page was opened with (its URL query), carried from the static render to
/// the connected mount in the signed session token.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Session {
    /// The query parameters of the page's URL (`/presence?name=Ada`).
    pub params: BTreeMap<String, String>,
}

impl Session {
    /// A query parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }
}

/// A message on its way to a view's `handle_info`, typed by the view that sent it.
pub struct LiveMsg(pub(crate) Box<dyn Any + Send>);

/// How many broadcasts may wait for one view before new ones are dropped (with a
/// warning): a view that falls that far behind shows a stale page, it does not grow
/// the server's memory.
pub const FORWARD_CAPACITY: usize = 256;

/// Everything a view's callbacks may do besides changing their own state.
pub struct LiveContext<V: LiveView> {
    connected: bool,
    shared: Arc<Extensions>,
    addr: Option<ChannelAddr<LiveMsg>>,
    forward: Option<mpsc::Sender<LiveMsg>>,
    subscriptions: Vec<Subscription>,
    tasks: Vec<AbortHandle>,
    _view: PhantomData<fn() -> V>,
}

impl<V: LiveView> LiveContext<V> {
    pub(crate) fn new(shared: Arc<Extensions>, addr: Option<ChannelAddr<LiveMsg>>) -> Self {
        LiveContext {
            connected: addr.is_some(),
            shared,
            addr,
            forward: None,
            subscriptions: Vec::new(),
            tasks: Vec::new(),
            _view: PhantomData,
        }
    }

    /// `false` during the static render (plain HTTP), `true` once the browser joined.
    pub fn connected(&self) -> bool {
        self.connected
    }

    /// Shared state the app gave the live routes (`LiveRoutes::state`), by type.
    pub fn state<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.shared.get::<T>()
    }

    /// Sends `message` to this view's `handle_info`, after the callback that is
    /// running now (and after whatever is already waiting). Does nothing when not
    /// connected: a static render has no mailbox.
    pub async fn send(&self, message: V::Info) {
        if let Some(addr) = &self.addr {
            // The view is running this callback, so it cannot be gone.
            let _ = addr.send(LiveMsg(Box::new(message))).await;
        }
    }

    /// Delivers `message` to `handle_info` after `delay` (tokio's clock). Does nothing
    /// when not connected.
    pub fn send_after(&mut self, delay: Duration, message: V::Info) {
        self.spawn(async move {
            tokio::time::sleep(delay).await;
            message
        });
    }

    /// Runs `work` in the background and delivers its result to `handle_info`; the
    /// view keeps answering events meanwhile. The work is cancelled if the view stops.
    /// Does nothing when not connected.
    pub fn start_async<F>(&mut self, work: F)
    where
        F: Future<Output = V::Info> + Send + 'static,
    {
        self.spawn(work);
    }

    fn spawn<F>(&mut self, work: F)
    where
        F: Future<Output = V::Info> + Send + 'static,
    {
        let Some(addr) = self.addr.clone() else {
            return;
        };
        // Forget the tasks that are done, so a long-lived view's list stays short.
        self.tasks.retain(|task| !task.is_finished());
        let task = tokio::spawn(async move {
            let message = work.await;
            let _ = addr.send(LiveMsg(Box::new(message))).await;
        });
        self.tasks.push(task.abort_handle());
    }

    /// Subscribes this view to `topic` on `pubsub` for as long as it lives; `map`
    /// turns each broadcast into a message for `handle_info` (or `None` to skip it).
    /// Returns `false` (and does nothing) when not connected.
    pub fn subscribe(
        &mut self,
        pubsub: &Arc<dyn PubSub>,
        topic: &str,
        map: fn(&Broadcast) -> Option<V::Info>,
    ) -> bool {
        let Some(addr) = self.addr.clone() else {
            return false;
        };
        let tx = match &self.forward {
            Some(tx) => tx.clone(),
            None => {
                // `deliver` runs on the broadcaster's task and must not wait, while the
                // mailbox is async: a bounded queue and one forwarding task bridge them.
                let (tx, mut rx) = mpsc::channel::<LiveMsg>(FORWARD_CAPACITY);
                let task = tokio::spawn(async move {
                    while let Some(message) = rx.recv().await {
                        if addr.send(message).await.is_err() {
                            break;
                        }
                    }
                });
                self.tasks.push(task.abort_handle());
                self.forward = Some(tx.clone());
                tx
            }
        };
        let subscriber = Arc::new(Forward::<V::Info> { map, tx });
        self.subscriptions
            .push(Subscription::new(pubsub.clone(), topic, subscriber));
        true
    }
}

impl<V: LiveView> Drop for LiveContext<V> {
    fn drop(&mut self) {
        // Timers and background work die with the view (the subscriptions unsubscribe
        // as they drop).
        for task in &self.tasks {
            task.abort();
        }
    }
}

struct Forward<I> {
    map: fn(&Broadcast) -> Option<I>,
    tx: mpsc::Sender<LiveMsg>,
}

impl<I: Send + 'static> Subscriber for Forward<I> {
    fn deliver(&self, broadcast: &Arc<Broadcast>) {
        let Some(message) = (self.map)(broadcast) else {
            return;
        };
        if let Err(mpsc::error::TrySendError::Full(_)) =
            self.tx.try_send(LiveMsg(Box::new(message)))
        {
            tracing::warn!(
                topic = broadcast.topic(),
                "a live view is {FORWARD_CAPACITY} broadcasts behind; dropped one"
            );
        }
    }
}
