//! The `serve` command: its flags and what it does, shared by the section's binary
//! (`cargo run -p section2-channels -- serve [--solution]`) and the scale lab's
//! server under test, so both serve the same app the same way.

use activity::{ActivityStore, DEFAULT_URL, seed_store};
use anyhow::Context;
use channels::endpoint::listen;
use channels::token::MIN_SECRET_KEY_BASE_LEN;
use channels::{CheckOrigin, Server, SocketConfig};
use serving::secret::TOKEN_SECRET_ENV;
use serving::{OriginFlags, Secret, ServeFlags, Shutdown};

use crate::app::token_signer;
use crate::{App, RouteTable};

/// How to serve: where, as which node, with which buffers and which database.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Port to listen on; 0 picks a free one and prints it.
    #[arg(long, default_value_t = 4000)]
    pub port: u16,
    /// Where to listen, and how long to drain on SIGTERM or Ctrl-C.
    #[command(flatten)]
    pub server: ServeFlags,
    /// Which web pages may open a socket (`--allowed-origin`, repeatable).
    #[command(flatten)]
    pub origins: OriginFlags,
    /// The node name channels report (the `from_node` of s2.e3).
    #[arg(long, default_value = "app@127.0.0.1")]
    pub node: String,
    /// The WebSocket's buffers and limits per connection.
    #[command(flatten)]
    pub ws: WsFlags,
    /// The activity database: a SQLite file (the default) or a postgres:// URL. From
    /// the environment, a password in it stays out of the process list.
    #[arg(
        long,
        env = "COURSE_DATABASE_URL",
        hide_env_values = true,
        default_value = DEFAULT_URL
    )]
    pub database: String,
    /// Generated activities to add when the feed is empty.
    #[arg(long, default_value_t = 50)]
    pub seed: usize,
}

/// Serves `routes` as `args` say until SIGTERM or Ctrl-C, then drains; `name` says
/// whose code it is in the line that carries the address (`http://host:port`): the
/// processes that start a server as a child read it from there.
///
/// The user-socket tokens are signed with `COURSE_TOKEN_SECRET`, or a secret
/// generated for this run (with a warning) when it is unset.
pub async fn serve(routes: RouteTable, args: ServeArgs, name: &str) -> anyhow::Result<()> {
    // First: a SIGTERM that comes as soon as the address is printed must be handled.
    let shutdown = Shutdown::on_signals(args.server.drain_timeout)?;
    let signer = token_signer(&Secret::from_env(TOKEN_SECRET_ENV)).with_context(|| {
        format!("{TOKEN_SECRET_ENV} must be at least {MIN_SECRET_KEY_BASE_LEN} bytes (use 64 random bytes)")
    })?;
    let check_origin = CheckOrigin::from_flags(&args.origins.allowed_origins)?;
    let config = args.ws.apply(SocketConfig::default());
    let store = ActivityStore::open(&args.database).await?;
    if args.seed > 0 && store.count().await? == 0 {
        seed_store(&store, args.seed, 2026).await?;
        println!(
            "seeded the empty feed with {} generated activities",
            args.seed
        );
    }
    let app = App::with_signer(routes, &args.node, store, config, signer, check_origin);
    let router = app.router_with(app.health().draining(&shutdown));
    let server = Server::spawn(listen(args.server.addr(args.port))?, router)?;
    println!(
        "serving the {name} implementation on http://{} (socket: ws://{}/socket/websocket?vsn=2.0.0, Ctrl-C to stop)",
        server.addr(),
        server.addr()
    );
    shutdown.triggered().await;
    close_sockets(&app, server, &shutdown).await;
    app.store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// The WebSocket half of the shutdown: every socket of both endpoints writes what it
/// has queued and closes with 1001 "going away" (phoenix.js reconnects to whatever
/// serves the address next); the server stops accepting and waits, until the drain
/// deadline, for every connection to end, the clients' own close frames included,
/// so no close is lost to a reset.
///
/// Meanwhile `/readyz` answers 503 (`serve` builds it with `Health::draining`) and a
/// new upgrade is refused with 503, so a balancer moves new clients elsewhere.
pub async fn close_sockets(app: &App, server: Server, shutdown: &Shutdown) {
    let open = app.connections();
    tracing::info!(open, "closing every WebSocket with 1001 going away");
    app.endpoint.shutdown();
    app.auth_endpoint.shutdown();
    shutdown.drain("connections", server.shutdown()).await;
}

/// The WebSocket settings of a [`SocketConfig`] as command-line flags, so a
/// measuring process can start a server with exactly the configuration it measures.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct WsFlags {
    /// WebSocket read buffer per connection, in bytes.
    #[arg(long, default_value_t = SocketConfig::default().read_buffer_size)]
    pub read_buffer: usize,
    /// Outgoing bytes gathered before a write (0: write each frame as it comes).
    #[arg(long, default_value_t = SocketConfig::default().write_buffer_size)]
    pub write_buffer: usize,
    /// Most outgoing bytes held while the client does not read.
    #[arg(long, default_value_t = SocketConfig::default().max_write_buffer_size)]
    pub max_write_buffer: usize,
    /// Largest message accepted from a client, in bytes.
    #[arg(long, default_value_t = SocketConfig::default().max_message_size)]
    pub max_message: usize,
    /// Largest frame accepted from a client, in bytes.
    #[arg(long, default_value_t = SocketConfig::default().max_frame_size)]
    pub max_frame: usize,
}

impl WsFlags {
    /// The WebSocket settings of `config`.
    pub fn from_config(config: &SocketConfig) -> Self {
        WsFlags {
            read_buffer: config.read_buffer_size,
            write_buffer: config.write_buffer_size,
            max_write_buffer: config.max_write_buffer_size,
            max_message: config.max_message_size,
            max_frame: config.max_frame_size,
        }
    }

    /// `base` with these WebSocket settings.
    pub fn apply(&self, base: SocketConfig) -> SocketConfig {
        SocketConfig {
            read_buffer_size: self.read_buffer,
            write_buffer_size: self.write_buffer,
            max_write_buffer_size: self.max_write_buffer,
            max_message_size: self.max_message,
            max_frame_size: self.max_frame,
            ..base
        }
    }

    /// The flags, as arguments for a child process.
    pub fn to_args(&self) -> Vec<String> {
        [
            ("--read-buffer", self.read_buffer),
            ("--write-buffer", self.write_buffer),
            ("--max-write-buffer", self.max_write_buffer),
            ("--max-message", self.max_message),
            ("--max-frame", self.max_frame),
        ]
        .iter()
        .flat_map(|(flag, value)| [flag.to_string(), value.to_string()])
        .collect()
    }
}
