//! `serve --console`: the node's tasks in tokio-console, without editing any code.
//!
//! tokio-console shows every task of the runtime: how long it ran, how long it
//! waited, how often it was woken. tokio records that only when built with its
//! unstable instrumentation (`--cfg tokio_unstable`, a compiler flag, so every crate
//! is rebuilt once), and the node has to install console-subscriber's layer beside
//! its log lines. The `console` feature brings the layer; this module installs it, or
//! says exactly which command builds a node that can.

use observability::telemetry::LogFormat;

/// The one command that runs a node tokio-console can attach to.
pub const COMMAND: &str = "RUSTFLAGS=\"--cfg tokio_unstable\" cargo run -p section3-production \
                           --features console -- serve --console";

/// Installs the log lines (`RUST_LOG`, `--log-format`) and tokio-console's layer,
/// which listens on 127.0.0.1:6669 (`TOKIO_CONSOLE_BIND` moves it) for
/// `tokio-console` to connect.
#[cfg(all(feature = "console", tokio_unstable))]
pub fn init_tracing(format: LogFormat) -> anyhow::Result<()> {
    use tracing_subscriber::EnvFilter;
    use tracing_subscriber::prelude::*;

    // The filter applies to the log lines only: the console layer needs tokio's
    // task events, at trace level, whatever RUST_LOG says.
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let lines = match format {
        LogFormat::Text => tracing_subscriber::fmt::layer().boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .boxed(),
    };
    tracing_subscriber::registry()
        .with(console_subscriber::spawn())
        .with(lines.with_filter(filter))
        .try_init()?;
    Ok(())
}

/// Without the feature or the cfg there is nothing to install: say what to run.
#[cfg(not(all(feature = "console", tokio_unstable)))]
pub fn init_tracing(_format: LogFormat) -> anyhow::Result<()> {
    let missing = match (cfg!(feature = "console"), cfg!(tokio_unstable)) {
        (false, false) => "without the `console` feature and without `--cfg tokio_unstable`",
        (false, true) => "without the `console` feature",
        _ => "without `--cfg tokio_unstable` (tokio records no task for the console)",
    };
    anyhow::bail!(
        "serve --console: this binary was built {missing}. Build and run it with:\n  {COMMAND}\n\
         then run `tokio-console` (once: `cargo install --locked tokio-console`)"
    )
}
