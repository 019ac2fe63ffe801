//! The floor: what the kernel alone costs to deliver one message to every
//! subscriber, with no WebSocket library and no task per message.
//!
//! Each broadcast is encoded once into the bytes of one WebSocket text frame
//! (server frames are not masked, so the same bytes suit every connection), and the
//! publishing task writes them to every `TcpStream` itself: one `write` system call
//! per connection, in a plain loop, without waking any task. Only a connection
//! whose kernel buffer is full gets the rest queued for its own task to write when
//! the socket is writable again (never in the broadcast scenario, whose messages
//! are small and one at a time).
//!
//! The handshake and the join are answered by hand, just enough for the same
//! clients (tokio-tungstenite, which still parses every frame) to drive this
//! server as they drive the others. Nothing here is a server to copy: it checks
//! nothing a real server must (no frame validation, no bounds on what a client
//! sends, no close handshake).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use super::server::{KeepAlive, Publisher, TOPIC, frame};

/// Bytes a connection that does not read may have queued before it is dropped.
const MAX_PENDING: usize = 1 << 20;

/// One subscriber's socket, shared by its task and the publisher.
struct Conn {
    stream: TcpStream,
    /// What the kernel did not take yet, in order; written by the connection's task.
    pending: Mutex<Vec<u8>>,
    /// Something was queued in `pending`.
    wake: Notify,
    gone: AtomicBool,
}

impl Conn {
    /// Writes `bytes` now if the kernel takes them, or queues what it does not.
    fn send(&self, bytes: &[u8]) {
        if self.gone.load(Ordering::Relaxed) {
            return;
        }
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        if !pending.is_empty() {
            // Behind already: keep the order.
            if pending.len() + bytes.len() > MAX_PENDING {
                self.gone.store(true, Ordering::Relaxed);
            } else {
                pending.extend_from_slice(bytes);
            }
            return;
        }
        match self.stream.try_write(bytes) {
            Ok(n) if n == bytes.len() => {}
            Ok(n) => {
                pending.extend_from_slice(&bytes[n..]);
                self.wake.notify_one();
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                pending.extend_from_slice(bytes);
                self.wake.notify_one();
            }
            Err(_) => self.gone.store(true, Ordering::Relaxed),
        }
    }
}

struct FloorPublisher {
    conns: Arc<RwLock<Vec<Arc<Conn>>>>,
    size: usize,
}

impl Publisher for FloorPublisher {
    fn publish(&self, seq: u64) {
        let bytes = text_frame(frame(seq, self.size).as_bytes());
        let conns = self.conns.read().unwrap_or_else(|e| e.into_inner());
        for conn in conns.iter() {
            conn.send(&bytes);
        }
    }
}

/// The bytes of one unmasked WebSocket text frame carrying `payload`.
pub fn text_frame(payload: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(payload.len() + 10);
    bytes.push(0x81); // FIN, text
    match payload.len() {
        n if n < 126 => bytes.push(n as u8),
        n if n <= 0xffff => {
            bytes.push(126);
            bytes.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            bytes.push(127);
            bytes.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    bytes.extend_from_slice(payload);
    bytes
}

/// Serves the floor on 127.0.0.1 (any port), messages of about `size` bytes.
pub async fn start(size: usize) -> anyhow::Result<(SocketAddr, Arc<dyn Publisher>, KeepAlive)> {
    // The same listen backlog as the endpoint's, so a burst of connections meets
    // the same queue on both sides of a comparison.
    let listener = channels::endpoint::listen(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))?;
    let addr = listener.local_addr()?;
    let conns: Arc<RwLock<Vec<Arc<Conn>>>> = Arc::default();
    let registry = conns.clone();
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream, registry.clone()));
        }
    });
    Ok((
        addr,
        Arc::new(FloorPublisher { conns, size }),
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

/// Handshake, join, then: discard what the client sends, and write what the
/// publisher could not.
async fn serve(mut stream: TcpStream, conns: Arc<RwLock<Vec<Arc<Conn>>>>) {
    let Ok(join_ref) = handshake_and_join(&mut stream).await else {
        return;
    };
    let conn = Arc::new(Conn {
        stream,
        pending: Mutex::new(Vec::new()),
        wake: Notify::new(),
        gone: AtomicBool::new(false),
    });
    // Registered before the reply, like the endpoint subscribes before its ok.
    conns
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .push(conn.clone());
    let reply = format!(
        r#"["{join_ref}","{join_ref}","{TOPIC}","phx_reply",{{"response":{{}},"status":"ok"}}]"#
    );
    conn.send(&text_frame(reply.as_bytes()));
    let mut discard = [0u8; 1024];
    while !conn.gone.load(Ordering::Relaxed) {
        tokio::select! {
            readable = conn.stream.readable() => {
                if readable.is_err() {
                    break;
                }
                match conn.stream.try_read(&mut discard) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(_) => break,
                }
            }
            () = conn.wake.notified() => {
                if flush(&conn).await.is_err() {
                    break;
                }
            }
        }
    }
    conn.gone.store(true, Ordering::Relaxed);
}

/// Writes `pending` until it is empty (the publisher appends meanwhile).
async fn flush(conn: &Conn) -> std::io::Result<()> {
    loop {
        conn.stream.writable().await?;
        let mut pending = conn.pending.lock().unwrap_or_else(|e| e.into_inner());
        if pending.is_empty() {
            return Ok(());
        }
        match conn.stream.try_write(&pending) {
            Ok(n) => {
                pending.drain(..n);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
}

/// Answers the HTTP upgrade, reads the join frame and returns its ref.
async fn handshake_and_join(stream: &mut TcpStream) -> anyhow::Result<String> {
    let mut request = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk).await?;
        anyhow::ensure!(n > 0 && request.len() < 8192, "bad upgrade request");
        request.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8_lossy(&request);
    let key = text
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("sec-websocket-key")
                .then(|| value.trim().to_owned())
        })
        .ok_or_else(|| anyhow::anyhow!("no Sec-WebSocket-Key"))?;
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        derive_accept_key(key.as_bytes())
    );
    stream.write_all(response.as_bytes()).await?;
    // The join: one masked text frame from the client.
    let mut head = [0u8; 2];
    stream.read_exact(&mut head).await?;
    let len = match head[1] & 0x7f {
        126 => u64::from(stream.read_u16().await?),
        127 => stream.read_u64().await?,
        n => u64::from(n),
    };
    anyhow::ensure!(len <= 4096, "join frame too large");
    let mut mask = [0u8; 4];
    if head[1] & 0x80 != 0 {
        stream.read_exact(&mut mask).await?;
    }
    let mut payload = vec![0u8; len as usize];
    stream.read_exact(&mut payload).await?;
    for (i, byte) in payload.iter_mut().enumerate() {
        *byte ^= mask[i % 4];
    }
    let join = String::from_utf8_lossy(&payload);
    Ok(join
        .split('"')
        .nth(1)
        .unwrap_or("1")
        .chars()
        .filter(char::is_ascii_digit)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_carry_their_length_in_the_header() {
        assert_eq!(text_frame(b"hi"), [0x81, 2, b'h', b'i']);
        let medium = text_frame(&[b'x'; 200]);
        assert_eq!(&medium[..4], [0x81, 126, 0, 200]);
        assert_eq!(medium.len(), 204);
        let large = text_frame(&vec![b'x'; 70_000]);
        assert_eq!(&large[..2], [0x81, 127]);
        assert_eq!(large.len(), 70_010);
    }
}
