//! A server binary run as an operator runs it: a child process whose address is read
//! from the line it prints, stopped with SIGTERM, judged by how it exits.
//!
//! ```no_run
//! # use std::time::Duration;
//! use testkit::process::ServerProcess;
//!
//! // In a test: `env!("CARGO_BIN_EXE_section1-pipelines")`.
//! let mut server = ServerProcess::start("target/debug/section1-pipelines", &["serve", "--port", "0"]);
//! assert_eq!(server.get("/healthz").0, 200);
//! server.terminate();
//! let status = server.wait_exit(Duration::from_secs(5)).expect("exits within the drain deadline");
//! assert!(status.success());
//! ```

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// The variables a deployment sets: removed from the child's environment, so a test
/// gets the same server on every machine (generated secrets, the default database).
pub const DEPLOYMENT_ENV: [&str; 4] = [
    "COURSE_TOKEN_SECRET",
    "COURSE_LIVE_SECRET",
    "COURSE_DATABASE_URL",
    "COURSE_REDIS_URL",
];

/// How long a server may take to print its address (a first build of its SQLite
/// file, a slow CI machine).
const START_LIMIT: Duration = Duration::from_secs(60);

/// A running server process, killed when dropped.
pub struct ServerProcess {
    child: Child,
    /// Where it listens, from the first line it printed with `scheme://host:port`.
    pub addr: SocketAddr,
    stdout: mpsc::Receiver<String>,
    stderr: Arc<Mutex<String>>,
    /// Joined once the process exits, so its last log lines are in `stderr`.
    stderr_reader: Option<std::thread::JoinHandle<()>>,
}

impl ServerProcess {
    /// Starts `program` with `args` (logs at `info`, none of [`DEPLOYMENT_ENV`]) and
    /// waits for the line that names its address. Panics, with what it printed, if
    /// it exits or prints no address within a minute.
    pub fn start(program: &str, args: &[&str]) -> ServerProcess {
        Self::start_with_env(program, args, &[])
    }

    /// The same, with the variables `env` set (after [`DEPLOYMENT_ENV`] is removed).
    pub fn start_with_env(program: &str, args: &[&str], env: &[(&str, &str)]) -> ServerProcess {
        let mut command = Command::new(program);
        command
            .args(args)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for var in DEPLOYMENT_ENV {
            command.env_remove(var);
        }
        command.envs(env.iter().copied());
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        let (tx, stdout) = mpsc::channel();
        let out = child.stdout.take().expect("piped stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let err = child.stderr.take().expect("piped stderr");
        let collected = stderr.clone();
        // Read to the end, always: a full pipe would block the server's logging.
        let stderr_reader = std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let mut collected = collected.lock().unwrap();
                collected.push_str(&line);
                collected.push('\n');
            }
        });
        let started = Instant::now();
        let mut printed = Vec::new();
        let addr = loop {
            let left = START_LIMIT.saturating_sub(started.elapsed());
            match stdout.recv_timeout(left) {
                Ok(line) => {
                    if let Some(addr) = address_in(&line) {
                        break addr;
                    }
                    printed.push(line);
                }
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "{program} {args:?} printed no address within {START_LIMIT:?}\n\
                         stdout:\n{}\nstderr:\n{}",
                        printed.join("\n"),
                        stderr.lock().unwrap()
                    );
                }
            }
        };
        ServerProcess {
            child,
            addr,
            stdout,
            stderr,
            stderr_reader: Some(stderr_reader),
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM, as `kill`, systemd, `docker stop` and Kubernetes do.
    pub fn terminate(&self) {
        self.signal("-TERM");
    }

    /// Sends SIGINT, as Ctrl-C in a terminal does.
    pub fn interrupt(&self) {
        self.signal("-INT");
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {signal} {} failed", self.pid());
    }

    /// Waits for the process to exit, up to `within`: its status, or `None` if it is
    /// still running. Once it returns a status, [`ServerProcess::stderr`] holds the
    /// whole log.
    pub fn wait_exit(&mut self, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("poll the child") {
                // The pipe ends with the process: the reader is at its last lines.
                if let Some(reader) = self.stderr_reader.take() {
                    let _ = reader.join();
                }
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// What it has logged so far (stderr).
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Whether its log (stderr) shows `text` within `within`: logs arrive on a pipe
    /// of their own, maybe after the address line.
    pub fn logged(&self, text: &str, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            if self.stderr.lock().unwrap().contains(text) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The stdout lines printed after the address line, so far.
    pub fn stdout_lines(&self) -> Vec<String> {
        self.stdout.try_iter().collect()
    }

    /// `GET path` over a fresh connection: the status code and the body.
    pub fn get(&self, path: &str) -> (u16, String) {
        http_get(self.addr, path)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What every `serve` promises for `--bind`: started with `args` plus `--bind
/// 127.0.0.2`, it listens there and answers `/healthz`, and not on 127.0.0.1. (All of
/// 127.0.0.0/8 is loopback on Linux: 127.0.0.2 is a second local address.)
pub fn assert_binds_only_where_told(program: &str, args: &[&str], env: &[(&str, &str)]) {
    let args = [args, &["--bind", "127.0.0.2"]].concat();
    let server = ServerProcess::start_with_env(program, &args, env);
    assert_eq!(server.addr.ip().to_string(), "127.0.0.2", "{args:?}");
    assert_eq!(server.get("/healthz"), (200, "ok".to_owned()));
    assert!(
        TcpStream::connect(("127.0.0.1", server.addr.port())).is_err(),
        "started with {args:?}, it also answers on 127.0.0.1: bound to every loopback \
         address instead of 127.0.0.2 only"
    );
}

/// What every secret promises: `program args` with `var` set to a 5-byte secret
/// refuses to start and says which variable is too short.
pub fn assert_short_secret_refused(program: &str, args: &[&str], var: &str) {
    let output = std::process::Command::new(program)
        .args(args)
        .env(var, "short")
        .output()
        .unwrap_or_else(|e| panic!("run {program}: {e}"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "{var}=short: the server started anyway with a 5-byte secret; it must refuse"
    );
    assert!(
        stderr.contains(&format!("{var} must be at least 20 bytes")),
        "{var}=short: refused, but the message does not name the variable and the \
         minimum; it printed: {stderr}"
    );
}

/// What every WebSocket `serve` promises for `--allowed-origin`: started with `args`,
/// a page from a foreign origin is refused (403) at each of the `sockets` of the
/// running server (paths with what their authentication wants, such as
/// `/socket/websocket?vsn=2.0.0`) and one from the server's own host is upgraded;
/// started with `--allowed-origin https://app.example.com` too, that origin is upgraded
/// and the server's own host is refused (a list replaces the same-host rule, as in
/// Phoenix); a client without `Origin` is upgraded either way. A pattern that cannot
/// be read stops the server at startup, naming it.
pub fn assert_allowed_origins_honoured(
    program: &str,
    args: &[&str],
    env: &[(&str, &str)],
    sockets: impl Fn(SocketAddr) -> Vec<String>,
) {
    const APP: &str = "https://app.example.com";
    const FOREIGN: &str = "https://evil.example";
    let expect = |server: &ServerProcess, origin: Option<&str>, status: u16, why: &str| {
        for path in sockets(server.addr) {
            let got = upgrade_status(server.addr, &path, origin);
            assert_eq!(
                got, status,
                "{program} {args:?}: the upgrade of {path} from {origin:?} answered {got}, \
                 expected {status}: {why}"
            );
        }
    };
    let plain = ServerProcess::start_with_env(program, args, env);
    let own = format!("http://{}", plain.addr);
    expect(
        &plain,
        Some(FOREIGN),
        403,
        "a foreign page may not connect by default",
    );
    expect(
        &plain,
        Some(&own),
        101,
        "a page this server served may connect",
    );
    expect(&plain, None, 101, "no Origin: not a browser, so allowed");
    drop(plain);

    let listed =
        ServerProcess::start_with_env(program, &[args, &["--allowed-origin", APP]].concat(), env);
    let own = format!("http://{}", listed.addr);
    expect(
        &listed,
        Some(APP),
        101,
        "the origin given with --allowed-origin may connect",
    );
    expect(
        &listed,
        Some(FOREIGN),
        403,
        "an origin not in the list may not",
    );
    expect(
        &listed,
        Some(&own),
        403,
        "a list replaces the same-host rule",
    );
    expect(&listed, None, 101, "no Origin: not a browser, so allowed");
    drop(listed);

    let output = Command::new(program)
        .args([args, &["--allowed-origin", "ftp:/nonsense"]].concat())
        .envs(env.iter().copied())
        .env_remove("COURSE_REDIS_URL")
        .output()
        .unwrap_or_else(|e| panic!("run {program}: {e}"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && stderr.contains("\"ftp:/nonsense\" is not an origin pattern"),
        "--allowed-origin ftp:/nonsense must stop the server at startup naming the pattern; \
         it {} and printed: {stderr}",
        if output.status.success() {
            "exited 0"
        } else {
            "failed"
        }
    );
}

/// The status of a WebSocket upgrade of `path` at `addr` sent with `origin`, read
/// from the response's status line (the connection is dropped right after).
fn upgrade_status(addr: SocketAddr, path: &str, origin: Option<&str>) -> u16 {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("connect to {addr}: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let origin = origin.map_or(String::new(), |o| format!("origin: {o}\r\n"));
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nhost: {addr}\r\nupgrade: websocket\r\n\
         connection: Upgrade\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         sec-websocket-version: 13\r\n{origin}\r\n"
    )
    .unwrap();
    let mut status_line = String::new();
    BufReader::new(stream)
        .read_line(&mut status_line)
        .unwrap_or_else(|e| panic!("read the answer to the upgrade of {path}: {e}"));
    status_line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status in {status_line:?}"))
}

/// The first `scheme://host:port` in `line`, as an address.
fn address_in(line: &str) -> Option<SocketAddr> {
    line.match_indices("://").find_map(|(at, sep)| {
        let rest = &line[at + sep.len()..];
        let end = rest
            .find(|c: char| c == '/' || c == ',' || c == ')' || c.is_whitespace())
            .unwrap_or(rest.len());
        rest[..end].parse().ok()
    })
}

/// A plain HTTP/1.1 `GET` (no keep-alive, 10 s timeouts): the status code and body.
/// Enough for health probes and small JSON; not a general client.
pub fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("connect to {addr}: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .unwrap_or_else(|e| panic!("read the answer to GET {path}: {e}"));
    let response = String::from_utf8_lossy(&response);
    let (head, body) = response
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_owned()
    };
    (status, body)
}

/// The body of a chunked response.
fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_address_in_each_binary_s_first_line() {
        for (line, addr) in [
            (
                "serving the start implementation on http://127.0.0.1:4000 (dashboards: ...",
                "127.0.0.1:4000",
            ),
            (
                "node app@127.0.0.1 serving the solution implementation: ws://127.0.0.2:39817/socket/websocket?vsn=2.0.0; ...",
                "127.0.0.2:39817",
            ),
            (
                "app@127.0.0.1: serving the start implementation, ws://127.0.0.1:4001/socket/websocket",
                "127.0.0.1:4001",
            ),
            ("serving on http://[::1]:8080", "[::1]:8080"),
        ] {
            assert_eq!(address_in(line), Some(addr.parse().unwrap()), "{line}");
        }
        assert_eq!(address_in("seeded the empty feed with 50 activities"), None);
    }

    #[test]
    fn reads_a_chunked_body() {
        assert_eq!(dechunk("4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n"), "Wikipedia");
    }
}
