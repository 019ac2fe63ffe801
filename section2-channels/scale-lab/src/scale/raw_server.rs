//! The baseline: a broadcast server written directly on tokio-tungstenite, with none
//! of the framework (no channels, no pubsub registry, no outbox).
//!
//! One task per connection reads a `tokio::sync::broadcast` of pre-encoded frames
//! and writes them; frames already waiting are written together and flushed once,
//! as a careful hand-written server would. The "join" is answered with the same
//! reply frame the course's endpoint sends, so the same clients drive both.

use std::net::SocketAddr;
use std::sync::Arc;

use futures::{SinkExt, StreamExt};
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use super::server::{KeepAlive, Publisher, frame};
use channels::SocketConfig;

/// Messages the broadcast channel keeps for a receiver that falls behind (above the
/// flow-control window, so a receiver never lags in the sustained scenario).
pub const CAPACITY: usize = 1024;

struct RawPublisher {
    tx: broadcast::Sender<Utf8Bytes>,
    size: usize,
}

impl Publisher for RawPublisher {
    fn publish(&self, seq: u64) {
        // Encoded once; each receiver gets a reference-counted clone.
        let _ = self.tx.send(Utf8Bytes::from(frame(seq, self.size)));
    }
}

/// Serves the baseline on 127.0.0.1 (any port) with `config`'s WebSocket buffers.
pub async fn start(
    config: SocketConfig,
    size: usize,
) -> anyhow::Result<(SocketAddr, Arc<dyn Publisher>, KeepAlive)> {
    // The same listen backlog as the endpoint's, so a burst of connections meets
    // the same queue on both sides of a comparison.
    let listener = channels::endpoint::listen(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))?;
    let addr = listener.local_addr()?;
    let (tx, _) = broadcast::channel(CAPACITY);
    let ws_config = WebSocketConfig::default()
        .read_buffer_size(config.read_buffer_size)
        .write_buffer_size(config.write_buffer_size)
        .max_write_buffer_size(config.max_write_buffer_size)
        .max_message_size(Some(config.max_message_size))
        .max_frame_size(Some(config.max_frame_size));
    let accepting = tx.clone();
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let rx = accepting.subscribe();
            tokio::spawn(serve(stream, rx, ws_config));
        }
    });
    Ok((
        addr,
        Arc::new(RawPublisher { tx, size }),
        Box::new(AbortOnDrop(task)),
    ))
}

/// Stops accepting when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn serve(
    stream: tokio::net::TcpStream,
    mut rx: broadcast::Receiver<Utf8Bytes>,
    config: WebSocketConfig,
) {
    // Nagle stays on, as on the endpoint (axum::serve does not set TCP_NODELAY).
    let Ok(ws) = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await else {
        return;
    };
    let (mut sink, mut stream) = ws.split();
    // The join: answer it like the endpoint does.
    let Some(Ok(Message::Text(join))) = stream.next().await else {
        return;
    };
    let join_ref = join
        .split('"')
        .nth(1)
        .unwrap_or("1")
        .chars()
        .filter(char::is_ascii_digit)
        .collect::<String>();
    let reply = format!(
        r#"["{join_ref}","{join_ref}","{}","phx_reply",{{"response":{{}},"status":"ok"}}]"#,
        super::server::TOPIC
    );
    if sink.send(Message::text(reply)).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            received = rx.recv() => {
                let text = match received {
                    Ok(text) => text,
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                if sink.feed(Message::Text(text)).await.is_err() {
                    return;
                }
                // Write what else is ready with it, then flush once.
                while let Ok(text) = rx.try_recv() {
                    if sink.feed(Message::Text(text)).await.is_err() {
                        return;
                    }
                }
                if sink.flush().await.is_err() {
                    return;
                }
            }
            incoming = stream.next() => match incoming {
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
        }
    }
}
