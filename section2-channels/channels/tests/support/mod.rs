//! A channel made for testing the framework: each event exercises one feature
//! (reply, push, broadcast, stop, crash, reply later, timers, intercepts), on rooms of
//! orders: `orders:<store>`.

#![allow(dead_code)]

use std::time::Duration;

use channels::client::{ChannelClient, Received, reply_response, reply_status};
use channels::endpoint::{ConnectParams, Refused};
use channels::{
    Channel, ChannelContext, ChannelRouter, Endpoint, Frame, HandleIn, Handled, Join, Payload,
    SocketConfig, SocketInfo, Status,
};
use serde_json::{Value, json};

/// A store's order room.
pub struct OrdersChannel {
    handled: u64,
}

/// Timer messages for the orders channel.
pub enum Tick {
    Remind(String),
}

impl Channel for OrdersChannel {
    type Info = Tick;
    const INTERCEPTS: &'static [&'static str] = &["order.priced"];

    async fn join(topic: &str, payload: Payload, _ctx: &mut ChannelContext<Self>) -> Join<Self> {
        if payload.get("crash").is_some() {
            panic!("the join of {topic} crashed on purpose");
        }
        if let Some(reason) = payload.get("refuse") {
            return Join::error(json!({ "reason": reason }));
        }
        Join::ok_with(OrdersChannel { handled: 0 }, json!({ "store": topic }))
    }

    async fn handle_in(
        &mut self,
        event: &str,
        payload: Payload,
        ctx: &mut ChannelContext<Self>,
    ) -> HandleIn {
        self.handled += 1;
        match event {
            "echo" => HandleIn::ok(Value::Object(payload)),
            "count" => HandleIn::ok(json!({ "handled": self.handled })),
            "refuse" => HandleIn::error(json!({ "reason": "refused" })),
            "place" => {
                ctx.broadcast("order.placed", payload);
                HandleIn::ok(json!({}))
            }
            "place_quietly" => {
                ctx.broadcast_from("order.placed", payload);
                HandleIn::ok(json!({}))
            }
            "price" => {
                ctx.broadcast("order.priced", payload);
                HandleIn::no_reply()
            }
            "push_me" => {
                ctx.push("pushed", json!({ "to": "you" }));
                HandleIn::no_reply()
            }
            "later" => {
                let socket_ref = ctx.socket_ref();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    socket_ref.reply(Status::Ok, json!({ "late": true }));
                });
                HandleIn::no_reply()
            }
            "remind" => {
                let text = payload.get("text").and_then(Value::as_str).unwrap_or("");
                ctx.send_after(Duration::from_secs(5), Tick::Remind(text.to_owned()));
                HandleIn::ok(json!({}))
            }
            "slow" => {
                tokio::time::sleep(Duration::from_secs(1)).await;
                HandleIn::ok(json!({}))
            }
            "silent" => HandleIn::no_reply(),
            "log_error" => {
                tracing::error!("could not price the order");
                HandleIn::ok(json!({}))
            }
            "close" => HandleIn::stop_with_reply(Status::Ok, json!({ "bye": true })),
            "crash" => panic!("the channel crashed on purpose"),
            _ => HandleIn::error(json!({ "reason": format!("unknown event {event}") })),
        }
    }

    async fn handle_out(
        &mut self,
        event: &str,
        payload: &Payload,
        ctx: &mut ChannelContext<Self>,
    ) -> Handled {
        let mut payload = payload.clone();
        payload.insert("seen_by".into(), json!(ctx.join_ref()));
        ctx.push(event, Value::Object(payload));
        Handled::Continue
    }

    async fn handle_info(&mut self, message: Tick, ctx: &mut ChannelContext<Self>) -> Handled {
        match message {
            Tick::Remind(text) if text == "stop" => Handled::Stop,
            Tick::Remind(text) => {
                ctx.push("reminder", json!({ "text": text }));
                Handled::Continue
            }
        }
    }
}

/// Who is connecting: `?user=<name>` is required, `?user=blocked` is refused.
pub fn connect(params: &ConnectParams) -> Result<SocketInfo, Refused> {
    match params.get("user").map(String::as_str) {
        None => Err(Refused("no user param".into())),
        Some("blocked") => Err(Refused("user blocked".into())),
        Some(user) => Ok(SocketInfo {
            id: Some(format!("user_socket:{user}")),
            ..SocketInfo::default()
        }),
    }
}

/// An endpoint serving `orders:*`, with `config`.
pub fn endpoint_with(config: SocketConfig) -> Endpoint {
    Endpoint::builder(ChannelRouter::new().channel::<OrdersChannel>("orders:*"))
        .handler(connect)
        .config(config)
        .build()
}

/// An endpoint with the default bounds.
pub fn endpoint() -> Endpoint {
    endpoint_with(SocketConfig::default())
}

/// An in-memory client as `user`.
pub fn client(endpoint: &Endpoint, user: &str) -> ChannelClient {
    endpoint
        .connect_in_memory(&[("user", user)])
        .expect("the test handler accepts every user but `blocked`")
}

/// Asserts a reply's status and response.
#[track_caller]
pub fn assert_reply(frame: &Frame, status: &str, response: Value) {
    assert_eq!(frame.event, "phx_reply", "expected a reply, got {frame:?}");
    assert_eq!(reply_status(frame), Some(status), "reply {frame:?}");
    assert_eq!(reply_response(frame), &response, "reply {frame:?}");
}

/// Asserts nothing arrives within `wait` (the client's timeout is set to it).
pub async fn assert_silent(client: &mut ChannelClient, wait: Duration) {
    client.set_timeout(wait);
    let next = client.next().await;
    client.set_timeout(channels::client::DEFAULT_TIMEOUT);
    assert!(
        next.is_none(),
        "expected nothing, got {next:?}; transcript:\n{}",
        client.transcript()
    );
}

/// The next frame, which must not be a close.
pub async fn frame(client: &mut ChannelClient) -> Frame {
    match client.next().await {
        Some(Received::Frame(frame)) => frame,
        other => panic!(
            "expected a frame, got {other:?}; transcript:\n{}",
            client.transcript()
        ),
    }
}
