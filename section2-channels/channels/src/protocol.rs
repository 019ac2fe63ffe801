//! The Phoenix Channels v2 wire format: one WebSocket text frame is one JSON array,
//! `[join_ref, ref, topic, event, payload]`.
//!
//! Who fills which field tells the client what a frame is:
//!
//! | frame | join_ref | ref | event |
//! |---|---|---|---|
//! | client push (and join) | the channel's join ref | a fresh ref | any |
//! | reply | the request's join ref | the request's ref | `phx_reply` |
//! | server push | the channel's join ref | null | any |
//! | broadcast | null | null | any |
//! | close / error | the join ref | the join ref | `phx_close` / `phx_error` |
//!
//! Decoding is strict about what the server relies on (a string topic and event, an
//! object payload) and reports what it could still read, so the socket can answer a
//! broken frame with an error reply instead of dropping it in silence.

use serde_json::{Map, Value, json};

/// A channel message's payload: Phoenix requires a JSON object.
pub type Payload = Map<String, Value>;

/// The client joins a topic with this event.
pub const JOIN: &str = "phx_join";
/// The client leaves a topic with this event.
pub const LEAVE: &str = "phx_leave";
/// Every answer to a client message carries this event.
pub const REPLY: &str = "phx_reply";
/// The server closed a channel gracefully (left, stopped, replaced by a duplicate join).
pub const CLOSE: &str = "phx_close";
/// A channel crashed; the client rejoins.
pub const ERROR: &str = "phx_error";
/// Socket-level messages (heartbeats) use this topic and need no join.
pub const PHOENIX_TOPIC: &str = "phoenix";
/// The client's keep-alive on [`PHOENIX_TOPIC`].
pub const HEARTBEAT: &str = "heartbeat";
/// The only serializer version this server speaks.
pub const VSN: &str = "2.0.0";

/// One frame of the protocol, in either direction.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// The ref of the `phx_join` that opened the channel; null for broadcasts.
    pub join_ref: Option<String>,
    /// The client's ref for a request; replies echo it; null for pushes and broadcasts.
    pub msg_ref: Option<String>,
    /// The topic, e.g. `feed` or `user:42`.
    pub topic: String,
    /// The event, e.g. `ping`, `phx_join`, `activity.created`.
    pub event: String,
    /// A JSON object for client frames; any JSON value in what the server sends.
    pub payload: Value,
}

/// The outcome of a request, as `phx_reply` spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// `"ok"`: the request succeeded.
    Ok,
    /// `"error"`: the request was refused; the response says why.
    Error,
}

impl Status {
    /// The string on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Error => "error",
        }
    }
}

impl Frame {
    /// A reply to the request `(join_ref, msg_ref)` on `topic`.
    pub fn reply(
        join_ref: Option<&str>,
        msg_ref: Option<&str>,
        topic: &str,
        status: Status,
        response: Value,
    ) -> Frame {
        Frame {
            join_ref: join_ref.map(str::to_owned),
            msg_ref: msg_ref.map(str::to_owned),
            topic: topic.to_owned(),
            event: REPLY.to_owned(),
            payload: json!({ "status": status.as_str(), "response": response }),
        }
    }

    /// A server push to one channel (no ref: the client did not ask for it).
    pub fn push(join_ref: &str, topic: &str, event: &str, payload: Value) -> Frame {
        Frame {
            join_ref: Some(join_ref.to_owned()),
            msg_ref: None,
            topic: topic.to_owned(),
            event: event.to_owned(),
            payload,
        }
    }

    /// A broadcast: no join ref and no ref, so the same bytes fit every subscriber.
    pub fn broadcast(topic: &str, event: &str, payload: Value) -> Frame {
        Frame {
            join_ref: None,
            msg_ref: None,
            topic: topic.to_owned(),
            event: event.to_owned(),
            payload,
        }
    }

    /// `phx_close` or `phx_error` for the channel joined with `join_ref`: both refs are
    /// the join ref, which is how phoenix.js tells a current channel from an old one.
    pub fn lifecycle(join_ref: &str, topic: &str, event: &str, payload: Value) -> Frame {
        Frame {
            join_ref: Some(join_ref.to_owned()),
            msg_ref: Some(join_ref.to_owned()),
            topic: topic.to_owned(),
            event: event.to_owned(),
            payload,
        }
    }

    /// The payload as an object, if it is one (client frames always are).
    pub fn payload_object(&self) -> Option<&Payload> {
        self.payload.as_object()
    }

    /// Encodes the frame as the JSON array the client expects.
    pub fn encode(&self) -> String {
        // A tuple serialises as a JSON array, with `None` as null.
        serde_json::to_string(&(
            &self.join_ref,
            &self.msg_ref,
            &self.topic,
            &self.event,
            &self.payload,
        ))
        .expect("a JSON value always serialises")
    }

    /// Decodes one text frame from a client.
    pub fn decode(text: &str) -> Result<Frame, DecodeError> {
        let value: Value = serde_json::from_str(text).map_err(|e| DecodeError {
            kind: DecodeErrorKind::InvalidJson(e.to_string()),
            msg_ref: None,
            topic: None,
        })?;
        let Value::Array(mut items) = value else {
            return Err(DecodeError::bare(DecodeErrorKind::NotAnArray));
        };
        if items.len() < 5 {
            return Err(DecodeError::bare(DecodeErrorKind::WrongLength(items.len())));
        }
        // Phoenix ignores elements after the fifth; so do we.
        items.truncate(5);
        let payload = items.pop().expect("five items");
        let event = items.pop().expect("five items");
        let topic = items.pop().expect("five items");
        let msg_ref = items.pop().expect("five items");
        let join_ref = items.pop().expect("five items");

        // Read what identifies the request first, so later errors can be answered.
        let msg_ref = optional_string(msg_ref, "ref")?;
        let topic = match topic {
            Value::String(topic) if !topic.is_empty() => topic,
            _ => {
                return Err(DecodeError {
                    kind: DecodeErrorKind::BadField("topic"),
                    msg_ref,
                    topic: None,
                });
            }
        };
        let recoverable = |kind| DecodeError {
            kind,
            msg_ref: msg_ref.clone(),
            topic: Some(topic.clone()),
        };
        let join_ref =
            optional_string(join_ref, "join_ref").map_err(|e| recoverable(e.kind.clone()))?;
        let Value::String(event) = event else {
            return Err(recoverable(DecodeErrorKind::BadField("event")));
        };
        if !payload.is_object() {
            return Err(recoverable(DecodeErrorKind::PayloadNotAnObject));
        }
        Ok(Frame {
            join_ref,
            msg_ref,
            topic,
            event,
            payload,
        })
    }
}

fn optional_string(value: Value, field: &'static str) -> Result<Option<String>, DecodeError> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        _ => Err(DecodeError::bare(DecodeErrorKind::BadField(field))),
    }
}

/// Why a client frame could not be decoded, with what could still be read from it.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodeError {
    /// What was wrong.
    pub kind: DecodeErrorKind,
    /// The request's ref, when it was readable.
    pub msg_ref: Option<String>,
    /// The topic, when it was readable.
    pub topic: Option<String>,
}

impl DecodeError {
    fn bare(kind: DecodeErrorKind) -> Self {
        DecodeError {
            kind,
            msg_ref: None,
            topic: None,
        }
    }

    /// The ref and topic to answer with an error reply; `None` when the frame is too
    /// broken to answer, and the socket must close instead.
    pub fn reply_to(&self) -> Option<(&str, &str)> {
        Some((self.msg_ref.as_deref()?, self.topic.as_deref()?))
    }
}

/// The kinds of [`DecodeError`].
#[derive(Debug, Clone, PartialEq)]
pub enum DecodeErrorKind {
    /// Not JSON at all.
    InvalidJson(String),
    /// JSON, but not an array.
    NotAnArray,
    /// An array with fewer than five elements.
    WrongLength(usize),
    /// A field of the wrong JSON type.
    BadField(&'static str),
    /// The payload is not a JSON object.
    PayloadNotAnObject,
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            DecodeErrorKind::InvalidJson(e) => write!(f, "invalid JSON: {e}"),
            DecodeErrorKind::NotAnArray => {
                f.write_str("a frame is a JSON array [join_ref, ref, topic, event, payload]")
            }
            DecodeErrorKind::WrongLength(n) => write!(
                f,
                "a frame has 5 elements [join_ref, ref, topic, event, payload], got {n}"
            ),
            DecodeErrorKind::BadField(field @ ("join_ref" | "ref")) => {
                write!(f, "{field} must be a string or null")
            }
            DecodeErrorKind::BadField(field) => write!(f, "{field} must be a non-empty string"),
            DecodeErrorKind::PayloadNotAnObject => f.write_str("payload must be a JSON object"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// A binary frame (v2 binary serializer) as a client sends it: kind 0 (push), then the
/// lengths of join_ref, ref, topic and event, then those strings, then raw bytes.
///
/// This server speaks JSON only; it reads the header to answer a well-formed binary
/// push with an error reply, and closes the socket on anything else.
#[derive(Debug, Clone, PartialEq)]
pub struct BinaryPush {
    /// The channel's join ref.
    pub join_ref: String,
    /// The request's ref.
    pub msg_ref: String,
    /// The topic.
    pub topic: String,
    /// The event.
    pub event: String,
    /// How many payload bytes followed the header.
    pub payload_len: usize,
}

impl BinaryPush {
    /// Parses the header of a client binary push; `None` if it is not one.
    pub fn parse(bytes: &[u8]) -> Option<BinaryPush> {
        let (&kind, rest) = bytes.split_first()?;
        if kind != 0 || rest.len() < 4 {
            return None;
        }
        let lens = [rest[0], rest[1], rest[2], rest[3]].map(usize::from);
        let mut body = &rest[4..];
        let mut fields = Vec::with_capacity(4);
        for len in lens {
            if body.len() < len {
                return None;
            }
            let (field, tail) = body.split_at(len);
            fields.push(std::str::from_utf8(field).ok()?.to_owned());
            body = tail;
        }
        let [join_ref, msg_ref, topic, event]: [String; 4] = fields.try_into().ok()?;
        if topic.is_empty() {
            return None;
        }
        Some(BinaryPush {
            join_ref,
            msg_ref,
            topic,
            event,
            payload_len: body.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_a_client_push() {
        let text = r#"["1","2","room:lobby","ping",{"n":1}]"#;
        let frame = Frame::decode(text).unwrap();
        assert_eq!(frame.join_ref.as_deref(), Some("1"));
        assert_eq!(frame.msg_ref.as_deref(), Some("2"));
        assert_eq!(frame.encode(), text);
    }

    #[test]
    fn encodes_each_kind_as_phoenix_does() {
        let reply = Frame::reply(Some("1"), Some("1"), "ping", Status::Ok, json!({}));
        assert_eq!(
            reply.encode(),
            r#"["1","1","ping","phx_reply",{"response":{},"status":"ok"}]"#
        );
        assert_eq!(
            Frame::push("3", "feed", "new", json!({"id": 1})).encode(),
            r#"["3",null,"feed","new",{"id":1}]"#
        );
        assert_eq!(
            Frame::broadcast("feed", "new", json!({})).encode(),
            r#"[null,null,"feed","new",{}]"#
        );
        assert_eq!(
            Frame::lifecycle("3", "feed", CLOSE, json!({})).encode(),
            r#"["3","3","feed","phx_close",{}]"#
        );
    }

    #[test]
    fn ignores_elements_after_the_fifth() {
        let frame = Frame::decode(r#"[null,"1","phoenix","heartbeat",{},"extra"]"#).unwrap();
        assert_eq!(frame.event, "heartbeat");
    }

    #[test]
    fn a_bad_payload_keeps_the_ref_and_topic_for_the_reply() {
        let err = Frame::decode(r#"["1","7","feed","fetch",[1,2]]"#).unwrap_err();
        assert_eq!(err.kind, DecodeErrorKind::PayloadNotAnObject);
        assert_eq!(err.reply_to(), Some(("7", "feed")));
    }

    #[test]
    fn broken_frames_cannot_be_answered() {
        for text in [
            "not json",
            "{}",
            r#"["1","2","t"]"#,
            r#"["1","2",5,"e",{}]"#,
        ] {
            let err = Frame::decode(text).unwrap_err();
            assert_eq!(err.reply_to(), None, "{text}: {err}");
        }
    }

    #[test]
    fn parses_a_binary_push_header() {
        let mut bytes = vec![0, 1, 1, 4, 4];
        bytes.extend_from_slice(b"12feedping");
        bytes.extend_from_slice(&[0xff, 0x00]);
        let push = BinaryPush::parse(&bytes).unwrap();
        assert_eq!(push.topic, "feed");
        assert_eq!(push.event, "ping");
        assert_eq!(push.payload_len, 2);
        assert_eq!(BinaryPush::parse(&[0, 9, 9, 9, 9, 1]), None);
        assert_eq!(BinaryPush::parse(&[2, 0]), None);
    }
}
