//! The memory lab: what does one idle, joined connection cost the server?
//!
//! `measure-idle` starts the server as a child process (the release build of this
//! binary, `serve`: section 2's reference app), reads its resident set size from
//! `/proc/<pid>/status`, opens N WebSocket connections from this process over
//! loopback, joins one topic on each, waits for the server to settle, and reads the
//! RSS again. The difference divided by N is the cost of one idle joined
//! connection, everything included: the TCP stream, the WebSocket buffers, the
//! socket and writer tasks, the outbox, the channel task and its mailbox, the pubsub
//! entry.
//!
//! [`measure_idle_server`] is the general form: any program that serves this
//! section's channels with the WebSocket settings given as [`WsFlags`] (section 3's
//! `conn-cost` compares tungstenite's defaults with tuned buffers through it).
//!
//! Linux only (it reads /proc). Every connection uses a file descriptor on each
//! side; keep N below the process limit (`ulimit -n`).

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use channels::SocketConfig;
pub use section2_reference::serve::WsFlags;

/// What the kernel reports for the whole machine (both ends of every loopback
/// connection, and anything else running): `/proc/net/sockstat`'s TCP buffer pages
/// and `/proc/meminfo`'s slab (where socket structures live).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KernelMemory {
    /// Pages holding TCP socket buffers (`TCP: ... mem N`).
    pub tcp_buffer_pages: u64,
    /// Kernel slab memory, KiB (`Slab:`).
    pub slab_kib: u64,
    /// Bytes in the slab caches a TCP socket uses (`TCP`, `sock_inode_cache`,
    /// `filp`, `dentry`, `eventpoll_epi`), from `/proc/slabinfo` (0 if unreadable:
    /// it needs root on most systems).
    pub socket_slab_bytes: u64,
}

impl KernelMemory {
    /// Reads both figures now; zeros where they cannot be read.
    pub fn now() -> Self {
        let field = |text: &str, line_start: &str, key: &str| -> Option<u64> {
            let line = text.lines().find(|l| l.starts_with(line_start))?;
            let mut words = line.split_whitespace();
            words.find(|w| *w == key)?;
            words.next()?.parse().ok()
        };
        let sockstat = std::fs::read_to_string("/proc/net/sockstat").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        KernelMemory {
            tcp_buffer_pages: field(&sockstat, "TCP:", "mem").unwrap_or(0),
            slab_kib: field(&meminfo, "Slab:", "Slab:").unwrap_or(0),
            socket_slab_bytes: socket_slab_bytes(
                &std::fs::read_to_string("/proc/slabinfo").unwrap_or_default(),
            ),
        }
    }
}

/// The bytes of the slab caches a TCP socket uses, from `/proc/slabinfo`'s text:
/// active objects times object size, summed over the caches named there.
pub fn socket_slab_bytes(slabinfo: &str) -> u64 {
    const CACHES: [&str; 5] = ["TCP", "sock_inode_cache", "filp", "dentry", "eventpoll_epi"];
    slabinfo
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let name = words.next()?;
            if !CACHES.contains(&name) {
                return None;
            }
            let active: u64 = words.next()?.parse().ok()?;
            let _total = words.next()?;
            let size: u64 = words.next()?.parse().ok()?;
            Some(active * size)
        })
        .sum()
}

/// Raises this process's soft limit on open files to `wanted` (at most the hard
/// limit; children inherit it) and returns the limit now in force. Many desktops
/// start shells at 1,024, fewer than a thousand connections and their server need.
pub fn raise_open_files_limit(wanted: u64) -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct we pass.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 0;
        }
        if limit.rlim_cur < wanted {
            let raised = libc::rlimit {
                rlim_cur: wanted.min(limit.rlim_max),
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
    }
    limit.rlim_cur
}

/// Resident set size of `pid`, in KiB.
pub fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .context("no VmRSS line")?;
    line.split_whitespace()
        .nth(1)
        .context("no VmRSS value")?
        .parse()
        .context("VmRSS is not a number")
}

/// What [`measure_idle`] found.
#[derive(Debug, Clone, Copy)]
pub struct IdleMeasurement {
    /// Idle joined connections opened (besides the warm-up one).
    pub connections: usize,
    /// The server's read buffer per connection, in bytes.
    pub read_buffer: usize,
    /// Server RSS with one connection, KiB.
    pub baseline_kib: u64,
    /// Server RSS with all of them, KiB.
    pub loaded_kib: u64,
    /// How long opening and joining took, seconds.
    pub opening_secs: f64,
    /// The kernel's figures with one connection.
    pub kernel_before: KernelMemory,
    /// The kernel's figures with all of them.
    pub kernel_after: KernelMemory,
}

impl IdleMeasurement {
    /// Bytes per idle joined connection above the baseline.
    pub fn per_connection_bytes(&self) -> f64 {
        self.loaded_kib.saturating_sub(self.baseline_kib) as f64 * 1024.0 / self.connections as f64
    }

    /// Kernel slab growth per connection, in bytes: the socket structures of *both*
    /// ends (client and server run on this machine), plus whatever else ran.
    pub fn kernel_slab_per_connection_bytes(&self) -> f64 {
        self.kernel_after
            .slab_kib
            .saturating_sub(self.kernel_before.slab_kib) as f64
            * 1024.0
            / self.connections as f64
    }

    /// Growth of the TCP socket slab caches per connection, in bytes (both ends,
    /// like [`Self::kernel_slab_per_connection_bytes`]); 0 if `/proc/slabinfo` could
    /// not be read.
    pub fn socket_slab_per_connection_bytes(&self) -> f64 {
        self.kernel_after
            .socket_slab_bytes
            .saturating_sub(self.kernel_before.socket_slab_bytes) as f64
            / self.connections as f64
    }
}

/// Runs the measurement with `connections` idle clients joined to `topic`, against
/// this binary's `serve` (the reference app) with a `read_buffer`-byte read buffer.
pub async fn measure_idle(
    connections: usize,
    topic: &str,
    read_buffer: usize,
) -> anyhow::Result<IdleMeasurement> {
    let config = SocketConfig {
        read_buffer_size: read_buffer,
        ..SocketConfig::default()
    };
    measure_idle_server(
        &std::env::current_exe()?,
        &crate::scale::SERVE_ARGS,
        &config,
        connections,
        topic,
    )
    .await
}

/// Runs the measurement against `program args.. <config's WsFlags>`, which must serve
/// this section's channels at `/socket` and print its address (`http://host:port`)
/// in its first line of output.
pub async fn measure_idle_server(
    program: &Path,
    args: &[&str],
    config: &SocketConfig,
    connections: usize,
    topic: &str,
) -> anyhow::Result<IdleMeasurement> {
    measure_steps(program, args, config, &[connections], topic, None)
        .await?
        .pop()
        .context("one step measured")
}

/// The same, but each client also sends one `message_bytes`-byte message (a padded
/// heartbeat) after joining and waits for its reply before going idle: what a
/// connection keeps after its first large message.
pub async fn measure_after_message(
    program: &Path,
    args: &[&str],
    config: &SocketConfig,
    connections: usize,
    topic: &str,
    message_bytes: usize,
) -> anyhow::Result<IdleMeasurement> {
    measure_steps(
        program,
        args,
        config,
        &[connections],
        topic,
        Some(message_bytes),
    )
    .await?
    .pop()
    .context("one step measured")
}

/// A server under test, started as a child process so its memory is its own.
pub struct ServerChild {
    /// The child; dropping it kills the server (`kill_on_drop`).
    pub child: tokio::process::Child,
    /// Its process id, for `/proc/<pid>/status`.
    pub pid: u32,
    /// `host:port` it listens on.
    pub addr: String,
}

impl ServerChild {
    /// Starts `program args.. <config's WsFlags>` and reads its address from the
    /// first line it prints (`... http://host:port ...`).
    pub async fn start(
        program: &Path,
        args: &[&str],
        config: &SocketConfig,
    ) -> anyhow::Result<ServerChild> {
        let mut child = tokio::process::Command::new(program)
            .args(args)
            .args(WsFlags::from_config(config).to_args())
            .env("RUST_LOG", "warn")
            // A pipe kept open as long as the child lives: a server that reads
            // commands from stdin (`server --kind raw`) must not see it end.
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting the server {}", program.display()))?;
        let pid = child.id().context("the server has a pid")?;
        let mut lines = BufReader::new(child.stdout.take().context("stdout")?).lines();
        let first = lines
            .next_line()
            .await?
            .context("the server printed nothing")?;
        let addr = first
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .with_context(|| format!("no address in {first:?}"))?
            .to_owned();
        // Keep reading (and dropping) what it prints: a closed pipe would make its
        // later log lines fail with "Broken pipe".
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(ServerChild { child, pid, addr })
    }

    /// The channels socket's URL.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/socket/websocket?vsn=2.0.0", self.addr)
    }
}

/// The idle measurement at several sizes against one server: the connections of
/// each step stay open while the next step adds to them, so `steps` must grow.
/// One [`IdleMeasurement`] per step, all against the same one-connection baseline.
pub async fn measure_idle_steps(
    program: &Path,
    args: &[&str],
    config: &SocketConfig,
    steps: &[usize],
    topic: &str,
) -> anyhow::Result<Vec<IdleMeasurement>> {
    measure_steps(program, args, config, steps, topic, None).await
}

async fn measure_steps(
    program: &Path,
    args: &[&str],
    config: &SocketConfig,
    steps: &[usize],
    topic: &str,
    message_bytes: Option<usize>,
) -> anyhow::Result<Vec<IdleMeasurement>> {
    let connections = steps.iter().copied().max().unwrap_or(0);
    // One descriptor per connection on each side (the server inherits the limit).
    let wanted = connections as u64 + 256;
    let limit = raise_open_files_limit(wanted);
    if limit < wanted {
        bail!(
            "{connections} connections need {wanted} open files per process, the limit is \
             {limit}: raise it (`ulimit -n {wanted}`) or measure fewer connections"
        );
    }
    let mut server = ServerChild::start(program, args, config).await?;
    let pid = server.pid;
    let url = server.ws_url();
    let addr: std::net::SocketAddr = server
        .addr
        .parse()
        .with_context(|| format!("the server's address {:?}", server.addr))?;

    // One connection first, so the runtime, the router and the page are warm.
    let warm = open_joined(addr, &url, 0, topic, message_bytes).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let baseline = rss_kib(pid)?;
    let kernel_before = KernelMemory::now();

    let started = Instant::now();
    let mut clients = Vec::with_capacity(connections);
    let mut measured = Vec::with_capacity(steps.len());
    for &step in steps {
        open_joined_until(addr, &url, &mut clients, step, topic, message_bytes).await?;
        let opening = started.elapsed();
        // Let allocations settle (the writer tasks park, buffers shrink to steady state).
        tokio::time::sleep(Duration::from_secs(3)).await;
        measured.push(IdleMeasurement {
            connections: clients.len(),
            read_buffer: config.read_buffer_size,
            baseline_kib: baseline,
            loaded_kib: rss_kib(pid)?,
            opening_secs: opening.as_secs_f64(),
            kernel_before,
            kernel_after: KernelMemory::now(),
        });
    }
    drop(clients);
    drop(warm);
    server.child.kill().await.ok();
    Ok(measured)
}

/// Prints a measurement for a person.
pub fn print(m: &IdleMeasurement, topic: &str) {
    println!(
        "server RSS: {} KiB with 1 connection, {} KiB with {} joined to {topic:?} (opened in {:.1} s)",
        m.baseline_kib,
        m.loaded_kib,
        m.connections + 1,
        m.opening_secs
    );
    println!("server read buffer per connection: {} bytes", m.read_buffer);
    let per = m.per_connection_bytes();
    println!(
        "per idle joined connection: {per:.0} bytes ({:.2} KiB) above the baseline",
        per / 1024.0
    );
}

/// A client connection of the lab.
pub type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// Opens joined connections to `topic` until `clients` holds `count`, 100 at a
/// time, and says so every 2,000. They are numbered from `clients.len() + 1` (a
/// warm-up connection is 0), which picks each one's source address.
pub async fn open_joined_until(
    server: std::net::SocketAddr,
    url: &str,
    clients: &mut Vec<Ws>,
    count: usize,
    topic: &str,
    message_bytes: Option<usize>,
) -> anyhow::Result<()> {
    while clients.len() < count {
        let n = 100.min(count - clients.len());
        let first = clients.len() + 1;
        let opened = futures::future::try_join_all(
            (first..first + n).map(|i| open_joined(server, url, i, topic, message_bytes)),
        )
        .await?;
        clients.extend(opened);
        if clients.len() % 2000 == 0 {
            eprintln!("{} connections joined", clients.len());
        }
    }
    Ok(())
}

/// Opens client number `i` (from its source address of the rotation, so ports do
/// not run short) and joins `topic`; with `message_bytes`, also sends one padded
/// heartbeat of that size and waits for its reply.
pub async fn open_joined(
    server: std::net::SocketAddr,
    url: &str,
    i: usize,
    topic: &str,
    message_bytes: Option<usize>,
) -> anyhow::Result<Ws> {
    let stream = crate::scale::bound_socket(i)
        .with_context(|| format!("binding client {i} to {}", crate::scale::source_addr(i)))?
        .connect(server)
        .await
        .with_context(|| format!("connecting client {i} to {server}"))?;
    stream.set_nodelay(true)?;
    // The clients live in this process, not the measured one; a small read buffer
    // keeps 10,000 of them from costing this process 128 KiB each.
    let config = WebSocketConfig::default()
        .read_buffer_size(1024)
        .write_buffer_size(0);
    let (mut ws, _) = tokio_tungstenite::client_async_with_config(url, stream, Some(config))
        .await
        .with_context(|| format!("WebSocket handshake of client {i}"))?;
    ws.send(Message::text(format!(
        r#"["1","1","{topic}","phx_join",{{}}]"#
    )))
    .await?;
    match ws.next().await {
        Some(Ok(Message::Text(reply))) if reply.contains(r#""status":"ok""#) => {}
        other => bail!("join of {topic} failed: {other:?}"),
    }
    if let Some(bytes) = message_bytes {
        let pad = "x".repeat(bytes.saturating_sub(48));
        ws.send(Message::text(format!(
            r#"[null,"2","phoenix","heartbeat",{{"pad":"{pad}"}}]"#
        )))
        .await?;
        match ws.next().await {
            Some(Ok(Message::Text(reply))) if reply.contains(r#""status":"ok""#) => {}
            other => bail!("a {bytes}-byte heartbeat was not answered ok: {other:?}"),
        }
    }
    Ok(ws)
}
