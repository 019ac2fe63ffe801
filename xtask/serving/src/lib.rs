//! # serving: what every server binary of the course does the same way
//!
//! Each section's `serve` (and the scale lab's) listens, stops and reports its health
//! through this crate, so a deployment treats them all alike. Read it in this order:
//!
//! 1. [`flags`]: `--bind ADDR` (127.0.0.1 by default) and `--drain-timeout SECONDS`,
//!    and for WebSocket servers `--allowed-origin ORIGIN`;
//! 2. [`shutdown`]: SIGTERM and Ctrl-C alike start a [`Shutdown`]; [`serve`] stops
//!    accepting and lets the requests in flight finish, [`Shutdown::drain`] bounds
//!    every wait by one deadline, and [`Shutdown::token`] is the hook WebSocket
//!    endpoints use to close their sockets with 1001 "going away";
//! 3. [`secret`]: signing secrets from the environment, or generated for this run
//!    with a warning, never a constant in the source;
//! 4. [`health`]: `GET /healthz` (alive) and `GET /readyz` (each dependency, by name).
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use serving::{Health, ServeFlags, Shutdown};
//!
//! let flags = ServeFlags::default();
//! let shutdown = Shutdown::on_signals(flags.drain_timeout)?; // before the address is printed
//! let listener = tokio::net::TcpListener::bind(flags.addr(4000)).await?;
//! let app = axum::Router::new().merge(Health::new().draining(&shutdown).routes());
//! println!("serving on http://{}", listener.local_addr()?);
//! serving::serve(listener, app, &shutdown).await
//! # }
//! ```

pub mod flags;
pub mod health;
pub mod secret;
pub mod shutdown;

pub use flags::{OriginFlags, ServeFlags};
pub use health::Health;
pub use secret::Secret;
pub use shutdown::{DEFAULT_DRAIN_TIMEOUT, Shutdown, serve};
