//! One broadcast as it travels between nodes.

use serde::{Deserialize, Serialize};

use channels::Payload;

/// A broadcast on its way to the other nodes.
///
/// Redis delivers a published message to every subscriber, **including the node
/// that published it**; `from_node` is how that node recognises its own message.
/// It also tells a receiving channel where an event came from (the training's
/// `from_node`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// The name of the node that broadcast it (`app@127.0.0.1`).
    pub from_node: String,
    /// The topic (`feed`, `user:42`).
    pub topic: String,
    /// The event (`activity.created`).
    pub event: String,
    /// The event's payload.
    pub payload: Payload,
}

impl Envelope {
    /// The JSON bytes published to Redis.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("an envelope of JSON values always serializes")
    }

    /// Reads an envelope from what Redis delivered; another program publishing on
    /// the channel, or a node of an incompatible version, gets an error, not a panic.
    pub fn decode(bytes: &[u8]) -> Result<Envelope, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}
