//! The binary as a learner runs it: `statsd-sink --port 0` prints where it listens and
//! every line it receives; `serve --port 0` prints where it serves and reports the
//! process to StatsD.

use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A child process whose stdout lines arrive on a channel; killed when dropped.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Running {
    fn start(args: &[&str]) -> Running {
        let mut child = Command::new(env!("CARGO_BIN_EXE_section3-production"))
            .args(args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("run section3-production");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running { child, lines }
    }

    fn line(&self) -> String {
        self.lines
            .recv_timeout(Duration::from_secs(10))
            .expect("a line on stdout within 10 s")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `udp://127.0.0.1:PORT` or `ws://127.0.0.1:PORT/...` in a line -> PORT.
fn port_in(line: &str) -> u16 {
    let after = line
        .split("127.0.0.1:")
        .nth(1)
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    after
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap()
}

#[test]
fn statsd_sink_prints_its_port_and_every_line() {
    let sink = Running::start(&["statsd-sink", "--port", "0"]);
    let banner = sink.line();
    let port = port_in(&banner);
    assert_ne!(port, 0, "--port 0 must print the port it picked: {banner}");
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    sender
        .send_to(
            b"rts.shop.orders.placed:1|c\nrts.shop.carts.open:12|g",
            ("127.0.0.1", port),
        )
        .unwrap();
    assert_eq!(sink.line(), "rts.shop.orders.placed:1|c");
    assert_eq!(sink.line(), "rts.shop.carts.open:12|g");
}

#[test]
fn serve_reports_the_process_and_the_demo_shop_to_statsd() {
    let sink = Running::start(&["statsd-sink", "--port", "0"]);
    let statsd = format!("127.0.0.1:{}", port_in(&sink.line()));
    let node = Running::start(&["serve", "--solution", "--port", "0", "--statsd", &statsd]);
    let banner = node.line();
    assert_ne!(
        port_in(&banner),
        0,
        "--port 0 must print the port it picked: {banner}"
    );
    // At start the poller samples once (two gauges) and the demo shop places its
    // first order (three lines), in either order.
    let mut names: Vec<String> = (0..5)
        .map(|_| sink.line().split(':').next().unwrap().to_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "rts.process.live_tasks",
            "rts.process.rss_bytes",
            "rts.shop.carts.open",
            "rts.shop.orders.placed",
            "rts.shop.revenue_cents",
        ]
    );
}
