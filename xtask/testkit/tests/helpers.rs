//! The kit's helpers against the real tools, where this machine has them (CI has all).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use testkit::redis::RedisServer;

/// `PING` on a fresh connection; `None` when nothing answers in time.
fn ping(port: u16) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_millis(500)))
        .ok()?;
    stream.write_all(b"PING\r\n").ok()?;
    let mut reply = [0u8; 16];
    let read = stream.read(&mut reply).ok()?;
    Some(String::from_utf8_lossy(&reply[..read]).into_owned())
}

#[test]
fn redis_server_starts_freezes_and_restarts_on_its_port() {
    let Some(mut redis) = RedisServer::start("testkit: RedisServer") else {
        return;
    };
    assert_eq!(redis.url(), format!("redis://127.0.0.1:{}", redis.port));
    assert_eq!(ping(redis.port).as_deref(), Some("+PONG\r\n"));

    redis.freeze();
    assert_eq!(ping(redis.port), None, "a frozen server answers nothing");
    redis.thaw();
    assert_eq!(ping(redis.port).as_deref(), Some("+PONG\r\n"));

    redis.stop();
    assert_eq!(ping(redis.port), None, "a stopped server answers nothing");
    redis.restart();
    assert_eq!(ping(redis.port).as_deref(), Some("+PONG\r\n"));
}

#[test]
fn a_missing_npm_package_is_named_with_its_install_command() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let Some(missing) = testkit::node::missing(&dir, &["no-such-package"]) else {
        panic!("tests/node_modules/no-such-package does not exist");
    };
    // Without node the reason is node itself; both say how to install.
    if missing.tool == "node" {
        assert_eq!(missing.enable, "sudo apt-get install nodejs npm");
    } else {
        assert_eq!(missing.tool, "npm packages");
        assert_eq!(
            missing.reason,
            "the no-such-package npm package is not installed"
        );
        assert_eq!(missing.enable, format!("npm ci --prefix {}", dir.display()));
    }
}

#[test]
fn the_browser_is_chromium_unless_told_otherwise() {
    let chromium = testkit::browser::chromium();
    match std::env::var("CHROMIUM") {
        Ok(told) => assert_eq!(chromium, told),
        Err(_) => assert_eq!(chromium, "/usr/bin/chromium"),
    }
}
