//! A real `redis-server` for the tests that go through Redis: a port of its own,
//! checked by process id (parallel tests race for free ports); a skip line on a
//! laptop without redis-server, a failure in CI.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A real `redis-server` on a free loopback port, stopped when dropped.
pub struct RedisServer {
    /// The loopback port it listens on (kept across [`RedisServer::restart`]).
    pub port: u16,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts one for `test`, or says why it cannot: `None` after printing a skip
    /// line on a laptop without redis-server; a panic in CI (`CI` set), where a skip
    /// would hide a missing install.
    pub fn start(test: &str) -> Option<RedisServer> {
        if Command::new("redis-server")
            .arg("--version")
            .output()
            .is_err()
        {
            crate::skip_or_fail(
                test,
                &crate::Missing::new(
                    "redis-server",
                    "redis-server is not installed",
                    "sudo apt-get install redis-server",
                ),
            );
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
