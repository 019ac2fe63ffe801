//! The `lv:*` channel: a live view carried over a section 2 [`Channel`].
//!
//! | client sends | the channel |
//! |---|---|
//! | `phx_join` on `lv:<id>` with `{session, static, url, params}` | checks the signed session, mounts the view (connected), replies `{"rendered": <full render>}` |
//! | `event` with `{type, event, value}` | runs `handle_event`, replies `{"diff": <changes>}` |
//! | (a message reaches the view) | runs `handle_info`, pushes `diff` with the changes, if any |
//!
//! The channel keeps the last render; after each callback it renders again and sends
//! [`Rendered::diff`] against it. That is a full render per event and a comparison,
//! where Phoenix tracks which assigns changed at compile time: simpler, and still
//! only the changed dynamics go over the wire.

use std::sync::Arc;

use channels::{Channel, ChannelContext, HandleIn, Handled, Join, Payload};
use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::{Map, Value, json};

use super::routes::{LiveShared, SessionToken};
use super::view::{LiveContext, LiveMsg, LiveView, MountError, Session};
use super::{LIVEVIEW_JS_VERSION, Rendered};

/// A mounted view with its context, behind a type-erased interface: one channel type
/// serves every view of the app.
pub(crate) trait ErasedView: Send {
    fn render(&self) -> Rendered;
    fn event(&mut self, event: String, value: Value) -> BoxFuture<'_, ()>;
    fn info(&mut self, message: LiveMsg) -> BoxFuture<'_, ()>;
}

struct Mounted<V: LiveView> {
    view: V,
    ctx: LiveContext<V>,
}

impl<V: LiveView> ErasedView for Mounted<V> {
    fn render(&self) -> Rendered {
        self.view.render()
    }

    fn event(&mut self, event: String, value: Value) -> BoxFuture<'_, ()> {
        let Mounted { view, ctx } = self;
        Box::pin(async move { view.handle_event(&event, value, ctx).await })
    }

    fn info(&mut self, message: LiveMsg) -> BoxFuture<'_, ()> {
        let Mounted { view, ctx } = self;
        Box::pin(async move {
            match message.0.downcast::<V::Info>() {
                Ok(message) => view.handle_info(*message, ctx).await,
                Err(_) => tracing::warn!("a live view got a message of another view's type"),
            }
        })
    }
}

/// Mounts a view of type `V`: the function each route keeps (a plain `fn` pointer).
pub(crate) type MountFn = fn(
    Session,
    Arc<LiveShared>,
    Option<channels::channel::ChannelAddr<LiveMsg>>,
) -> BoxFuture<'static, Result<Box<dyn ErasedView>, MountError>>;

pub(crate) fn mount_fn<V: LiveView>() -> MountFn {
    |session, shared, addr| {
        Box::pin(async move {
            let mut ctx = LiveContext::<V>::new(shared.state.clone(), addr);
            // A panicking mount (an untouched `todo!()`) becomes an error the page
            // can show, not a dropped connection.
            let mounted = std::panic::AssertUnwindSafe(V::mount(&session, &mut ctx))
                .catch_unwind()
                .await
                .unwrap_or_else(|panic| Err(MountError(panic_text(panic.as_ref()))))?;
            Ok(Box::new(Mounted { view: mounted, ctx }) as Box<dyn ErasedView>)
        })
    }
}

pub(crate) fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    let text = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into());
    format!("the view panicked: {text}")
}

/// The channel serving `lv:*`: one mounted view and its last render.
pub struct LiveChannel {
    view: Box<dyn ErasedView>,
    last: Rendered,
}

impl LiveChannel {
    /// Renders, pushes the changes (if any) as `diff`, and keeps the new render.
    fn changes(&mut self) -> Map<String, Value> {
        let now = self.view.render();
        let diff = now.diff(&self.last);
        self.last = now;
        diff
    }
}

impl Channel for LiveChannel {
    type Info = LiveMsg;

    async fn join(topic: &str, payload: Payload, ctx: &mut ChannelContext<Self>) -> Join<Self> {
        let Some(shared) = ctx.state::<Arc<LiveShared>>().cloned() else {
            return Join::error(json!({"reason": "no live routes on this endpoint"}));
        };
        let token = payload.get("session").and_then(Value::as_str);
        let session: SessionToken = match shared.sessions.verify(token) {
            Ok(session) => session,
            Err(error) => {
                // The client reloads the page on "stale": a fresh static render brings
                // a fresh token.
                tracing::info!(%topic, reason = error.as_str(), "live view join refused");
                return Join::error(json!({"reason": "stale"}));
            }
        };
        if topic.strip_prefix("lv:") != Some(session.id.as_str()) {
            return Join::error(json!({"reason": "stale"}));
        }
        let Some(route) = shared.route(&session.path) else {
            return Join::error(json!({"reason": "stale"}));
        };
        let mounted = (route.mount)(session.session, shared.clone(), Some(ctx.addr())).await;
        let view = match mounted {
            Ok(view) => view,
            Err(error) => {
                tracing::warn!(%topic, %error, "live view mount failed");
                return Join::error(json!({"reason": error.0}));
            }
        };
        let last = view.render();
        let mut rendered = last.to_json();
        rendered["t"] = Value::String(route.title.clone());
        Join::ok_with(
            LiveChannel { view, last },
            json!({"rendered": rendered, "liveview_version": LIVEVIEW_JS_VERSION}),
        )
    }

    async fn handle_in(
        &mut self,
        event: &str,
        payload: Payload,
        _ctx: &mut ChannelContext<Self>,
    ) -> HandleIn {
        if event != "event" {
            return HandleIn::error(json!({"reason": format!("unknown event {event:?}")}));
        }
        let Some(name) = payload.get("event").and_then(Value::as_str) else {
            return HandleIn::error(json!({"reason": "an event needs a name (\"event\")"}));
        };
        let value = match (
            payload.get("type").and_then(Value::as_str),
            payload.get("value"),
        ) {
            // Forms arrive URL-encoded, as the browser would post them.
            (Some("form"), Some(Value::String(form))) => match decode_form(form) {
                Ok(fields) => fields,
                Err(reason) => return HandleIn::error(json!({ "reason": reason })),
            },
            (_, Some(value)) => value.clone(),
            (_, None) => Value::Object(Map::new()),
        };
        self.view.event(name.to_owned(), value).await;
        HandleIn::ok(json!({"diff": self.changes()}))
    }

    async fn handle_info(&mut self, message: LiveMsg, ctx: &mut ChannelContext<Self>) -> Handled {
        self.view.info(message).await;
        let diff = self.changes();
        if !diff.is_empty() {
            ctx.push("diff", Value::Object(diff));
        }
        Handled::Continue
    }
}

/// `a=1&b=x+y` as `{"a": "1", "b": "x y"}` (the last value wins for a repeated name).
fn decode_form(form: &str) -> Result<Value, String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(form)
        .map_err(|error| format!("the form's value is not URL-encoded: {error}"))?;
    Ok(Value::Object(
        pairs
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect(),
    ))
}
