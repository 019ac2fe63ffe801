//! Graceful shutdown: SIGTERM and Ctrl-C alike, then a bounded drain.
//!
//! An orchestrator (systemd, Kubernetes, `docker stop`) asks a process to stop with
//! SIGTERM and kills it with SIGKILL a grace period later (30 s by default in
//! Kubernetes, 10 s for `docker stop`); a developer presses Ctrl-C (SIGINT). Either
//! way the server should stop taking new work, let the work in flight finish, and
//! exit on its own **before** the kill: a killed process drops its clients'
//! connections mid-message and leaves its presences to be timed out by the others.
//!
//! So a [`Shutdown`] has two halves:
//!
//! - a [`CancellationToken`], cancelled at the first signal: everything that must
//!   react holds a clone ([`Shutdown::token`]): axum's `with_graceful_shutdown`
//!   (stop accepting, finish the requests in flight), and the WebSocket side, which
//!   closes its sockets with 1001 "going away";
//! - a drain deadline, [`Shutdown::drain_timeout`] after the signal: [`Shutdown::drain`]
//!   waits for each piece of open work until then and no longer, so a client that
//!   never lets go cannot keep the process alive until the SIGKILL.
//!
//! A second signal during the drain exits at once: whoever presses Ctrl-C twice does
//! not want to wait.
//!
//! ## The hook for WebSockets
//!
//! axum's graceful shutdown does not wait for upgraded connections: a WebSocket
//! leaves hyper's hands when it is upgraded. A server with sockets therefore does,
//! after [`Shutdown::triggered`]: tell its endpoints to close every socket with 1001
//! (today `channels::Endpoint::shutdown`), then
//! `shutdown.drain("WebSocket connections", all_closed).await` so the close frames
//! (and what was queued before them) are written before the process exits. A
//! framework that takes the token itself (`shutdown.token()`, a
//! [`CancellationToken`]) can do the first step on its own; the drain stays.

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How long the drain waits unless told otherwise: well inside the grace period of
/// `docker stop` (10 s) and Kubernetes (30 s), long enough for a slow request.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// The process's shutdown: whether it was asked to stop, and until when it may drain.
///
/// Cheap to clone; every clone sees the same signal and the same deadline.
#[derive(Clone, Debug)]
pub struct Shutdown {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    token: CancellationToken,
    drain_timeout: Duration,
    /// Set once, by the first [`Shutdown::trigger`]: every drain shares one deadline,
    /// so sockets and then HTTP requests cannot each take the whole timeout.
    deadline: OnceLock<Instant>,
}

impl Shutdown {
    /// A shutdown that only [`Shutdown::trigger`] starts (tests, and code that stops
    /// for reasons of its own).
    pub fn new(drain_timeout: Duration) -> Shutdown {
        Shutdown {
            inner: Arc::new(Inner {
                token: CancellationToken::new(),
                drain_timeout,
                deadline: OnceLock::new(),
            }),
        }
    }

    /// A shutdown started by SIGTERM or Ctrl-C (SIGINT), whichever comes first; a
    /// second one exits the process at once (status 130).
    ///
    /// Call it first thing in `main`, before printing the address: the handlers are
    /// installed when this returns, so a SIGTERM sent the moment the address is known
    /// is handled, not fatal. Must run inside a tokio runtime.
    pub fn on_signals(drain_timeout: Duration) -> std::io::Result<Shutdown> {
        let shutdown = Shutdown::new(drain_timeout);
        let mut signals = Signals::install()?;
        let first = shutdown.clone();
        tokio::spawn(async move {
            let which = signals.next().await;
            first.trigger(which);
            let again = signals.next().await;
            tracing::warn!(
                signal = again,
                "second signal: exiting now, without draining"
            );
            std::process::exit(130);
        });
        Ok(shutdown)
    }

    /// Starts the shutdown, saying why (`"SIGTERM"`). Later calls change nothing:
    /// the first one fixed the deadline.
    pub fn trigger(&self, reason: &str) {
        let drain_timeout = self.inner.drain_timeout;
        if self
            .inner
            .deadline
            .set(Instant::now() + drain_timeout)
            .is_ok()
        {
            tracing::info!(
                reason,
                ?drain_timeout,
                "shutting down: no new connections; open work has until the drain deadline"
            );
        }
        self.inner.token.cancel();
    }

    /// Whether the shutdown has started.
    pub fn is_triggered(&self) -> bool {
        self.inner.token.is_cancelled()
    }

    /// Completes when the shutdown starts (at once if it has).
    pub async fn triggered(&self) {
        self.inner.token.cancelled().await
    }

    /// The token cancelled when the shutdown starts: hand a clone to whatever must
    /// stop with the process (a WebSocket endpoint, a background loop). Cancelling
    /// it yourself starts the shutdown without a reason logged; prefer
    /// [`Shutdown::trigger`].
    pub fn token(&self) -> CancellationToken {
        self.inner.token.clone()
    }

    /// How long the drain may take, counted from the signal.
    pub fn drain_timeout(&self) -> Duration {
        self.inner.drain_timeout
    }

    /// Waits for `work` (sockets to close, requests to finish) until the drain
    /// deadline, logging which way it went. `Some(output)` if it finished in time,
    /// `None` if the deadline passed first (the work is dropped, unfinished).
    ///
    /// Before the shutdown starts there is no deadline yet: it waits for the signal
    /// first, so calling it early is not a way to wait forever.
    pub async fn drain<F: Future>(&self, what: &str, work: F) -> Option<F::Output> {
        self.triggered().await;
        let deadline = *self
            .inner
            .deadline
            .get_or_init(|| Instant::now() + self.inner.drain_timeout);
        let started = Instant::now();
        match tokio::time::timeout_at(deadline, work).await {
            Ok(output) => {
                tracing::info!(what, took = ?started.elapsed(), "drained");
                Some(output)
            }
            Err(_) => {
                tracing::warn!(
                    what,
                    drain_timeout = ?self.inner.drain_timeout,
                    "still open at the drain deadline; exiting without them"
                );
                None
            }
        }
    }
}

/// Serves `router` on `listener` until the shutdown starts, then stops accepting and
/// waits for the requests in flight until the drain deadline (axum's
/// `with_graceful_shutdown`, bounded).
///
/// Returns when the server has drained or the deadline has passed, or at once with
/// the error if serving fails. WebSockets are not waited for here (see the module's
/// "hook for WebSockets").
pub async fn serve<L>(listener: L, router: axum::Router, shutdown: &Shutdown) -> std::io::Result<()>
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    let server = std::future::IntoFuture::into_future(
        axum::serve(listener, router).with_graceful_shutdown(shutdown.token().cancelled_owned()),
    );
    tokio::pin!(server);
    tokio::select! {
        // The signal first: once it came, the drain (and its log line) decides.
        biased;
        () = shutdown.triggered() => {}
        // Serving failed on its own (it does not end otherwise).
        ended = &mut server => return ended,
    }
    shutdown
        .drain("HTTP connections", server)
        .await
        .unwrap_or(Ok(()))
}

/// The signals that stop the process, installed when created.
struct Signals {
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> std::io::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            // Both registered now: `tokio::signal::ctrl_c()` would only register on
            // its first poll, leaving a window where SIGINT still kills outright.
            Ok(Signals {
                terminate: signal(SignalKind::terminate())?,
                interrupt: signal(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Signals {})
        }
    }

    /// The next stop signal's name.
    async fn next(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.terminate.recv() => "SIGTERM",
                _ = self.interrupt.recv() => "Ctrl-C (SIGINT)",
            }
        }
        #[cfg(not(unix))]
        {
            // Windows has no SIGTERM; a service manager sends Ctrl-C or Ctrl-Break.
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn drain_waits_for_the_work_until_the_deadline_and_no_longer() {
        let shutdown = Shutdown::new(Duration::from_secs(10));
        shutdown.trigger("test");
        let quick = shutdown
            .drain("quick work", tokio::time::sleep(Duration::from_secs(3)))
            .await;
        assert_eq!(quick, Some(()));
        // The deadline is shared: 7 s are left of the 10, not 10 again.
        let started = Instant::now();
        let stuck = shutdown
            .drain("stuck work", std::future::pending::<()>())
            .await;
        assert_eq!(stuck, None);
        assert_eq!(started.elapsed(), Duration::from_secs(7));
    }

    #[tokio::test(start_paused = true)]
    async fn drain_before_the_signal_waits_for_the_signal_first() {
        let shutdown = Shutdown::new(Duration::from_secs(1));
        let (done, finished) = tokio::sync::oneshot::channel::<()>();
        let drained = tokio::spawn({
            let shutdown = shutdown.clone();
            async move {
                shutdown
                    .drain("work", async move { finished.await.unwrap() })
                    .await
            }
        });
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert!(!drained.is_finished(), "no deadline before the signal");
        shutdown.trigger("test");
        done.send(()).unwrap();
        assert_eq!(drained.await.unwrap(), Some(()));
    }

    #[tokio::test]
    async fn serve_finishes_the_request_in_flight_then_returns() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        let shutdown = Shutdown::new(Duration::from_secs(5));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (started_tx, started) = tokio::sync::oneshot::channel::<()>();
        let started_tx = Arc::new(std::sync::Mutex::new(Some(started_tx)));
        let router = axum::Router::new().route(
            "/slow",
            axum::routing::get(move || {
                let started_tx = started_tx.clone();
                async move {
                    if let Some(tx) = started_tx.lock().unwrap().take() {
                        let _ = tx.send(());
                    }
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    "done"
                }
            }),
        );
        let server = tokio::spawn({
            let shutdown = shutdown.clone();
            async move { serve(listener, router, &shutdown).await }
        });
        let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
        client
            .write_all(b"GET /slow HTTP/1.1\r\nhost: test\r\n\r\n")
            .await
            .unwrap();
        started.await.unwrap();
        shutdown.trigger("test");
        let mut answer = Vec::new();
        client.read_to_end(&mut answer).await.unwrap();
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("done"), "{answer}");
        tokio::time::timeout(Duration::from_secs(2), server)
            .await
            .expect("serve returns once drained")
            .unwrap()
            .unwrap();
        assert!(
            tokio::net::TcpStream::connect(addr).await.is_err(),
            "no longer accepting"
        );
    }

    #[tokio::test]
    async fn serve_gives_up_on_a_request_at_the_drain_deadline() {
        use tokio::io::AsyncWriteExt;

        let shutdown = Shutdown::new(Duration::from_millis(200));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = axum::Router::new().route(
            "/forever",
            axum::routing::get(std::future::pending::<&'static str>),
        );
        let server = tokio::spawn({
            let shutdown = shutdown.clone();
            async move { serve(listener, router, &shutdown).await }
        });
        let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
        client
            .write_all(b"GET /forever HTTP/1.1\r\nhost: test\r\n\r\n")
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let triggered = Instant::now();
        shutdown.trigger("test");
        tokio::time::timeout(Duration::from_secs(2), server)
            .await
            .expect("serve returns at the drain deadline")
            .unwrap()
            .unwrap();
        assert!(triggered.elapsed() >= Duration::from_millis(200));
    }
}
