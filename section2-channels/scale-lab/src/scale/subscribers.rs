//! The load side of the broadcast scenarios: the server child process and its
//! control pipe, and N subscriber connections in this process that count what
//! they receive and timestamp the last arrival of a broadcast.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::server::{Kind, TOPIC, seq_of};
use crate::lab::WsFlags;

/// The server under test in its own process, and the pipe that drives it.
pub struct ServerChild {
    child: Child,
    stdin: Arc<tokio::sync::Mutex<ChildStdin>>,
    stdout: Lines<BufReader<ChildStdout>>,
    /// Its process id (for `/proc/<pid>/...`).
    pub pid: u32,
    /// `host:port`.
    pub addr: String,
    watchdog: tokio::task::JoinHandle<()>,
}

impl ServerChild {
    /// Starts `server --kind <kind>` (this binary) with `ws`'s settings and
    /// messages of `size` bytes; it is killed after `limit` if still running.
    pub async fn start(
        kind: Kind,
        ws: &WsFlags,
        size: usize,
        limit: Duration,
    ) -> anyhow::Result<ServerChild> {
        let mut child = tokio::process::Command::new(std::env::current_exe()?)
            .args(["server", "--kind", kind.name()])
            .args(["--size", &size.to_string()])
            .args(ws.to_args())
            .env("RUST_LOG", "warn")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("starting the server child")?;
        let pid = child.id().context("the server has a pid")?;
        let stdin = child.stdin.take().context("stdin")?;
        let mut stdout = BufReader::new(child.stdout.take().context("stdout")?).lines();
        let first = tokio::time::timeout(Duration::from_secs(30), stdout.next_line())
            .await
            .context("the server did not start within 30 s")??
            .context("the server printed nothing")?;
        let addr = first
            .split("http://")
            .nth(1)
            .with_context(|| format!("no address in {first:?}"))?
            .trim()
            .to_owned();
        let watchdog = tokio::spawn(async move {
            tokio::time::sleep(limit).await;
            eprintln!("watchdog: the scenario overran {limit:?}; killing server {pid}");
            // SAFETY: kill only sends a signal, to our own child.
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGKILL);
            }
        });
        Ok(ServerChild {
            child,
            stdin: Arc::new(tokio::sync::Mutex::new(stdin)),
            stdout,
            pid,
            addr,
            watchdog,
        })
    }

    /// The WebSocket URL of its socket.
    pub fn url(&self) -> String {
        format!("ws://{}/socket/websocket?vsn=2.0.0", self.addr)
    }

    /// A handle that sends control lines (cheap to clone into a task).
    pub fn control(&self) -> Control {
        Control(self.stdin.clone())
    }

    /// Waits for the `done <seq>` line that ends a `run`.
    pub async fn done(&mut self, within: Duration) -> anyhow::Result<u64> {
        let line = tokio::time::timeout(within, self.stdout.next_line())
            .await
            .context("the server did not finish its run")??
            .context("the server exited during a run")?;
        line.strip_prefix("done ")
            .and_then(|n| n.trim().parse().ok())
            .with_context(|| format!("expected `done <seq>`, got {line:?}"))
    }

    /// CPU time the server has used (user + system), in seconds.
    pub fn cpu_secs(&self) -> f64 {
        cpu_secs(&format!("/proc/{}/stat", self.pid))
    }

    /// Resident set size, in KiB.
    pub fn rss_kib(&self) -> u64 {
        crate::lab::rss_kib(self.pid).unwrap_or(0)
    }

    /// Ends the child (closing its input, then killing it).
    pub async fn stop(mut self) {
        self.watchdog.abort();
        drop(self.stdin);
        let _ = self.child.kill().await;
    }
}

/// Sends control lines to the server child.
#[derive(Clone)]
pub struct Control(Arc<tokio::sync::Mutex<ChildStdin>>);

impl Control {
    /// Sends one line (a [`super::server::Command`]).
    pub async fn send(&self, line: &str) -> anyhow::Result<()> {
        let mut stdin = self.0.lock().await;
        stdin.write_all(line.as_bytes()).await?;
        stdin.write_all(b"\n").await?;
        stdin.flush().await?;
        Ok(())
    }
}

/// CPU seconds (utime + stime) of the process whose stat file is `path`
/// (`/proc/self/stat` for this one); 0 if unreadable.
pub fn cpu_secs(path: &str) -> f64 {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    // The command name may hold spaces; fields count from after its ')'.
    let Some(rest) = stat.rsplit_once(')').map(|(_, rest)| rest) else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of stat (1-based), 11 and 12 after ')'.
    // SAFETY: sysconf only reads a constant.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    (ticks(11) + ticks(12)) as f64 / hz
}

/// What every subscriber connection shares with the measuring code.
#[derive(Default)]
struct Shared {
    /// Messages each connection received.
    counts: Vec<AtomicU64>,
    /// The latest seq each connection received.
    last: Vec<AtomicU64>,
    /// The seq whose last arrival is being waited for (0: none).
    target: AtomicU64,
    /// Connections that have not received `target` yet.
    remaining: AtomicUsize,
    /// When the last one did.
    completed_at: Mutex<Option<Instant>>,
    completed: Notify,
}

/// N connections joined to the scenario's topic, each counting what it receives.
pub struct Subscribers {
    shared: Arc<Shared>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Subscribers {
    /// Opens `n` connections to `url` (100 at a time, source addresses rotating over
    /// 127.0.0.2..9) and joins each to the topic.
    pub async fn open(url: &str, n: usize) -> anyhow::Result<Subscribers> {
        let shared = Arc::new(Shared {
            counts: (0..n).map(|_| AtomicU64::new(0)).collect(),
            last: (0..n).map(|_| AtomicU64::new(0)).collect(),
            ..Shared::default()
        });
        let mut tasks = Vec::with_capacity(n);
        let mut next = 0;
        while next < n {
            let batch = (next..(next + 100).min(n)).map(|i| open_joined(url, i));
            for (i, ws) in (next..).zip(futures::future::try_join_all(batch).await?) {
                tasks.push(tokio::spawn(subscriber(ws, i, shared.clone())));
            }
            next = (next + 100).min(n);
            if next % 2000 == 0 {
                eprintln!("{next} subscribers joined");
            }
        }
        Ok(Subscribers { shared, tasks })
    }

    /// How many connections.
    pub fn len(&self) -> usize {
        self.shared.counts.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Messages received by all connections so far.
    pub fn delivered(&self) -> u64 {
        self.shared
            .counts
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .sum()
    }

    /// The highest seq every connection has received.
    pub fn min_last(&self) -> u64 {
        self.shared
            .last
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .min()
            .unwrap_or(0)
    }

    /// Connections whose task ended (closed by the server, or an error).
    pub fn closed(&self) -> usize {
        self.tasks.iter().filter(|t| t.is_finished()).count()
    }

    /// Arms the wait for `seq`: call before asking for its broadcast.
    pub fn expect(&self, seq: u64) {
        *self.shared.completed_at.lock().unwrap() = None;
        self.shared.remaining.store(self.len(), Ordering::Release);
        self.shared.target.store(seq, Ordering::Release);
    }

    /// Waits until every connection has received the seq armed by
    /// [`Subscribers::expect`]; returns when the last one did, or `None` after
    /// `within`.
    pub async fn last_arrival(&self, within: Duration) -> Option<Instant> {
        let deadline = Instant::now() + within;
        loop {
            let notified = self.shared.completed.notified();
            if let Some(at) = *self.shared.completed_at.lock().unwrap() {
                return Some(at);
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            let _ = tokio::time::timeout(left, notified).await;
        }
    }

    /// Closes every connection.
    pub fn close(self) {
        for task in self.tasks {
            task.abort();
        }
    }
}

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

async fn open_joined(url: &str, i: usize) -> anyhow::Result<Ws> {
    let host = url
        .strip_prefix("ws://")
        .and_then(|rest| rest.split('/').next())
        .context("a ws:// URL")?;
    let server: std::net::SocketAddr = host.parse().context("the server's address")?;
    let stream = super::bound_socket(i)?
        .connect(server)
        .await
        .with_context(|| format!("connecting subscriber {i} to {server}"))?;
    // Frames of a few hundred bytes: a small read buffer still takes many per read.
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let (mut ws, _) = tokio_tungstenite::client_async_with_config(url, stream, Some(config))
        .await
        .with_context(|| format!("upgrading subscriber {i}"))?;
    ws.send(Message::text(format!(
        r#"["1","1","{TOPIC}","phx_join",{{}}]"#
    )))
    .await?;
    match ws.next().await {
        Some(Ok(Message::Text(reply))) if reply.contains(r#""status":"ok""#) => Ok(ws),
        other => bail!("subscriber {i}: join failed: {other:?}"),
    }
}

async fn subscriber(ws: Ws, i: usize, shared: Arc<Shared>) {
    let (mut sink, mut stream) = ws.split();
    // The server closes connections silent for its idle timeout (60 s by default).
    let mut heartbeat = tokio::time::interval(Duration::from_secs(20));
    heartbeat.tick().await;
    loop {
        tokio::select! {
            message = stream.next() => {
                let Some(Ok(message)) = message else { return };
                let Message::Text(text) = message else { continue };
                let Some(seq) = seq_of(&text) else { continue };
                shared.counts[i].fetch_add(1, Ordering::Relaxed);
                shared.last[i].store(seq, Ordering::Relaxed);
                if seq == shared.target.load(Ordering::Acquire)
                    && shared.remaining.fetch_sub(1, Ordering::AcqRel) == 1
                {
                    *shared.completed_at.lock().unwrap() = Some(Instant::now());
                    shared.completed.notify_one();
                }
            }
            _ = heartbeat.tick() => {
                let beat = Message::text(r#"[null,"hb","phoenix","heartbeat",{}]"#);
                if sink.send(beat).await.is_err() {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_seconds_of_this_process_are_read() {
        // Burn a little CPU so the figure is above zero on any clock tick.
        let started = Instant::now();
        let mut x = 0u64;
        while started.elapsed() < Duration::from_millis(30) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        assert!(cpu_secs("/proc/self/stat") > 0.0);
        assert_eq!(cpu_secs("/nonexistent/stat"), 0.0);
    }
}
