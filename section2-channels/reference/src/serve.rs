//! The `serve` command: its flags and what it does, shared by the section's binary
//! (`cargo run -p section2-channels -- serve [--solution]`) and the scale lab's
//! server under test, so both serve the same app the same way.

use activity::{ActivityStore, DEFAULT_URL, seed_store};
use channels::SocketConfig;

use crate::{App, RouteTable};

/// How to serve: where, as which node, with which buffers and which database.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Port on 127.0.0.1; 0 picks a free one and prints it.
    #[arg(long, default_value_t = 4000)]
    pub port: u16,
    /// The node name channels report (the `from_node` of s2.e3).
    #[arg(long, default_value = "app@127.0.0.1")]
    pub node: String,
    /// The WebSocket's buffers and limits per connection.
    #[command(flatten)]
    pub ws: WsFlags,
    /// The activity database: a SQLite file (the default) or a postgres:// URL.
    #[arg(long, default_value = DEFAULT_URL)]
    pub database: String,
    /// Generated activities to add when the feed is empty.
    #[arg(long, default_value_t = 50)]
    pub seed: usize,
}

/// Serves `routes` as `args` say until Ctrl-C; `name` says whose code it is in the
/// first line printed, which carries the address (`http://host:port`): the processes
/// that start a server as a child read it from there.
pub async fn serve(routes: RouteTable, args: ServeArgs, name: &str) -> anyhow::Result<()> {
    let config = args.ws.apply(SocketConfig::default());
    let store = ActivityStore::open(&args.database).await?;
    if args.seed > 0 && store.count().await? == 0 {
        seed_store(&store, args.seed, 2026).await?;
        println!(
            "seeded the empty feed with {} generated activities",
            args.seed
        );
    }
    let app = App::from_routes(routes, &args.node, store, config);
    let server = app.serve(args.port).await?;
    println!(
        "serving the {name} implementation on http://{} (socket: ws://{}/socket/websocket?vsn=2.0.0, Ctrl-C to stop)",
        server.addr(),
        server.addr()
    );
    tokio::signal::ctrl_c().await?;
    app.endpoint.shutdown();
    app.auth_endpoint.shutdown();
    server.stop().await;
    Ok(())
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
