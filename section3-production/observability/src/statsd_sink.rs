//! A development StatsD server: receives UDP datagrams and hands back each line.
//!
//! Real StatsD aggregates lines per flush interval and forwards them to a backend;
//! this one only shows them, so you can watch measurements arrive while you click.
//! `cargo run -p section3-production -- statsd-sink` prints them; tests use it to
//! read what the exporter sent.

use std::net::SocketAddr;

use tokio::net::UdpSocket;

/// The largest datagram we accept; a batched exporter sends at most 512 bytes, a
/// misconfigured one might send more, so leave room (UDP's own limit is ~64 KiB).
const MAX_DATAGRAM: usize = 65_536;

/// A bound StatsD sink.
pub struct StatsdSink {
    socket: UdpSocket,
    buffer: Vec<u8>,
    pending: std::collections::VecDeque<String>,
}

impl StatsdSink {
    /// Binds the sink on `addr` (port 0 picks a free one: see [`StatsdSink::addr`]).
    pub async fn bind(addr: SocketAddr) -> std::io::Result<StatsdSink> {
        Ok(StatsdSink {
            socket: UdpSocket::bind(addr).await?,
            buffer: vec![0; MAX_DATAGRAM],
            pending: Default::default(),
        })
    }

    /// The address the sink listens on.
    pub fn addr(&self) -> SocketAddr {
        self.socket
            .local_addr()
            .expect("a bound socket has an address")
    }

    /// The next line received. One datagram may carry several lines (a batching
    /// exporter packs them, separated by `\n`); they come out one by one.
    pub async fn next_line(&mut self) -> std::io::Result<String> {
        loop {
            if let Some(line) = self.pending.pop_front() {
                return Ok(line);
            }
            let len = self.socket.recv(&mut self.buffer).await?;
            // StatsD lines are ASCII; anything else is shown, not trusted.
            let text = String::from_utf8_lossy(&self.buffer[..len]);
            self.pending.extend(
                text.split('\n')
                    .filter(|line| !line.is_empty())
                    .map(str::to_owned),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn splits_batched_datagrams_into_lines() {
        let mut sink = StatsdSink::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let sender = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        sender
            .send_to(b"rts.orders:1|c\nrts.carts:3|g\n", sink.addr())
            .await
            .unwrap();
        sender
            .send_to(b"rts.orders:1|c", sink.addr())
            .await
            .unwrap();
        let mut lines = Vec::new();
        for _ in 0..3 {
            lines.push(sink.next_line().await.unwrap());
        }
        assert_eq!(lines, ["rts.orders:1|c", "rts.carts:3|g", "rts.orders:1|c"]);
    }
}
