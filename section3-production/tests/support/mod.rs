//! Helpers shared by the exercise tests: a StatsD listener on a port of the test's
//! own, a recorder that captures every measurement, and a real `redis-server`.

#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder,
    SharedString, Unit,
};
use section3_production::statsd_sink::StatsdSink;
use section3_production::telemetry::{Delivery, statsd_recorder};

/// The prefix test recorders put before every metric name.
pub const PREFIX: &str = "test";

/// A StatsD listener bound on `127.0.0.1:0`, and a recorder sending to it.
pub struct StatsdCapture {
    pub sink: StatsdSink,
    pub recorder: metrics_exporter_statsd::StatsdRecorder,
}

impl StatsdCapture {
    pub async fn new() -> StatsdCapture {
        let sink = StatsdSink::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("bind a UDP port for the test's StatsD listener");
        let recorder = statsd_recorder(sink.addr(), Some(PREFIX), Delivery::Immediate)
            .expect("build a StatsD recorder");
        StatsdCapture { sink, recorder }
    }

    /// Runs `record` with this capture's recorder as the one `metrics`' macros use.
    pub fn record<T>(&self, record: impl FnOnce() -> T) -> T {
        metrics::with_local_recorder(&self.recorder, record)
    }

    /// The lines received, waiting up to a second for each of `expected`, then a
    /// little longer for any extra line (a duplicate must show up too).
    pub async fn lines(&mut self, expected: usize) -> Vec<String> {
        let mut lines = Vec::new();
        while lines.len() < expected {
            match tokio::time::timeout(Duration::from_secs(1), self.sink.next_line()).await {
                Ok(line) => lines.push(line.expect("read from the UDP socket")),
                Err(_) => return lines,
            }
        }
        while let Ok(line) =
            tokio::time::timeout(Duration::from_millis(100), self.sink.next_line()).await
        {
            lines.push(line.expect("read from the UDP socket"));
        }
        lines
    }
}

/// `name:VALUE|type|#tags` with the value replaced by `[value]`: what a snapshot pins
/// (names, types, tags) without the numbers.
pub fn redact_value(line: &str) -> String {
    match (line.find(':'), line.find('|')) {
        (Some(colon), Some(bar)) if colon < bar => {
            format!("{}:[value]{}", &line[..colon], &line[bar..])
        }
        _ => line.to_owned(),
    }
}

/// One measurement as the recorder saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub kind: &'static str,
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

/// A recorder that keeps every measurement in order (the `metrics` crate allows one
/// global recorder per process; tests install this one locally, per thread).
#[derive(Clone, Default)]
pub struct CaptureRecorder {
    recorded: Arc<Mutex<Vec<Recorded>>>,
}

impl CaptureRecorder {
    pub fn recorded(&self) -> Vec<Recorded> {
        self.recorded.lock().unwrap().clone()
    }

    /// The values set on the gauge `name`, in order.
    pub fn gauge_values(&self, name: &str) -> Vec<f64> {
        self.recorded()
            .into_iter()
            .filter(|r| r.kind == "gauge.set" && r.name == name)
            .map(|r| r.value)
            .collect()
    }

    fn handle(&self, kind: &'static str, key: &Key) -> Arc<Handle> {
        Arc::new(Handle {
            kind,
            name: key.name().to_owned(),
            labels: key
                .labels()
                .map(|l| (l.key().to_owned(), l.value().to_owned()))
                .collect(),
            recorded: self.recorded.clone(),
        })
    }
}

struct Handle {
    kind: &'static str,
    name: String,
    labels: Vec<(String, String)>,
    recorded: Arc<Mutex<Vec<Recorded>>>,
}

impl Handle {
    fn push(&self, op: &'static str, value: f64) {
        let kind = match (self.kind, op) {
            ("gauge", "set") => "gauge.set",
            ("gauge", "increment") => "gauge.increment",
            ("gauge", "decrement") => "gauge.decrement",
            ("counter", "absolute") => "counter.absolute",
            (kind, _) => kind,
        };
        self.recorded.lock().unwrap().push(Recorded {
            kind,
            name: self.name.clone(),
            labels: self.labels.clone(),
            value,
        });
    }
}

impl CounterFn for Handle {
    fn increment(&self, value: u64) {
        self.push("increment", value as f64);
    }
    fn absolute(&self, value: u64) {
        self.push("absolute", value as f64);
    }
}

impl GaugeFn for Handle {
    fn increment(&self, value: f64) {
        self.push("increment", value);
    }
    fn decrement(&self, value: f64) {
        self.push("decrement", value);
    }
    fn set(&self, value: f64) {
        self.push("set", value);
    }
}

impl HistogramFn for Handle {
    fn record(&self, value: f64) {
        self.push("record", value);
    }
}

impl Recorder for CaptureRecorder {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.handle("counter", key))
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(self.handle("gauge", key))
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(self.handle("histogram", key))
    }
}

/// A real `redis-server` on a free loopback port, stopped when dropped.
pub struct RedisServer {
    pub port: u16,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts one, or says why it cannot: `None` after printing a skip line on a
    /// laptop without redis-server; a panic in CI (`CI` set), where a skip would
    /// hide a missing install.
    pub fn start(test: &str) -> Option<RedisServer> {
        if Command::new("redis-server")
            .arg("--version")
            .output()
            .is_err()
        {
            let reason = "redis-server is not installed (apt-get install redis-server)";
            assert!(
                std::env::var_os("CI").is_none(),
                "{test} cannot run in CI: {reason}"
            );
            eprintln!("skipped: {test}: {reason}");
            return None;
        }
        // A port that was free a moment ago can be taken by the time redis-server
        // binds it (parallel tests probe ports the same way). `launch` checks that the
        // server answering is ours; if not, try another port.
        for _ in 0..10 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("find a free port")
                .port();
            let mut server = RedisServer { port, child: None };
            if server.launch() {
                return Some(server);
            }
        }
        panic!("could not start a redis-server of our own on a free port in 10 tries");
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server (like a crash: no goodbye to the clients).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Freezes the server (SIGSTOP): connections stay open, nothing is answered, as
    /// with a Redis stuck on a slow disk or a long command.
    pub fn freeze(&self) {
        self.signal("-STOP");
    }

    /// Lets a frozen server run again (SIGCONT).
    pub fn thaw(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("a running server").id();
        let status = Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {signal} {pid} failed");
    }

    /// Starts it (again) on the same port and waits until it accepts connections.
    pub fn restart(&mut self) {
        assert!(
            self.launch(),
            "redis-server could not be restarted on port {}: another process holds it",
            self.port
        );
    }

    /// Starts redis-server on `self.port` and waits until *this* server answers.
    ///
    /// `false` when the port turned out to be someone else's: our server exited
    /// (it could not bind), or the server answering has another process id.
    fn launch(&mut self) -> bool {
        self.stop();
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            // Nothing on disk: each run starts empty and leaves nothing behind.
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        let pid = child.id();
        self.child = Some(child);
        for _ in 0..100 {
            let exited = self
                .child
                .as_mut()
                .is_some_and(|child| child.try_wait().ok().flatten().is_some());
            if exited {
                self.child = None;
                return false;
            }
            if let Some(answering) = redis_pid(self.port) {
                if answering == pid {
                    return true;
                }
                self.stop();
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "redis-server did not accept connections on port {} within 5 s",
            self.port
        );
    }
}

/// The process id of the Redis answering on `port` (from `INFO server`), if any.
fn redis_pid(port: u16) -> Option<u32> {
    use std::io::{Read, Write};
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    stream.write_all(b"INFO server\r\n").ok()?;
    let mut reply = Vec::new();
    let mut chunk = [0u8; 4096];
    // The bulk reply is a few KiB; read until the field we need has arrived.
    while reply.len() < 64 * 1024 {
        let read = stream.read(&mut chunk).ok()?;
        if read == 0 {
            break;
        }
        reply.extend_from_slice(&chunk[..read]);
        let text = String::from_utf8_lossy(&reply);
        // Parse only a complete line: the field may arrive split over two reads.
        if let Some(start) = text.find("process_id:") {
            let rest = &text[start + "process_id:".len()..];
            if let Some(end) = rest.find("\r\n") {
                return rest[..end].trim().parse().ok();
            }
        }
    }
    None
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
