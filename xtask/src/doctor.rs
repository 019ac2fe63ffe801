//! `cargo xtask doctor`: is this machine ready for the training day?
//!
//! Most first-hour trouble at a workshop is setup, and the venue's wifi is the worst
//! place to discover it. Required problems (toolchain too old, dependencies not
//! downloaded) exit with 3; optional tools only print how to install them.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::args::{Args, usage_error};
use crate::slides::MDBOOK_INSTALL;
use crate::{exit, runner, ui, workspace};

const APT: &str = "sudo apt-get install";

/// Tools some parts of the course use, and how to get each (Debian/Ubuntu names).
const OPTIONAL: &[(&str, &str, &str)] = &[
    (
        "node",
        "JavaScript client tests (section 2)",
        "sudo apt-get install nodejs",
    ),
    (
        "npm",
        "installs the browser test driver",
        "sudo apt-get install npm",
    ),
    (
        "redis-server",
        "clustering and the tracker over Redis (sections 3 and 4)",
        "sudo apt-get install redis-server",
    ),
    (
        "chromium",
        "browser tests of the live pages (sections 1, 2 and 4)",
        "sudo apt-get install chromium",
    ),
    ("mdbook", "the slides (cargo xtask slides)", MDBOOK_INSTALL),
    (
        "wrk",
        "comparing the load generator with wrk",
        "sudo apt-get install wrk",
    ),
    (
        "ab",
        "comparing the load generator with ab",
        "sudo apt-get install apache2-utils",
    ),
];

pub fn command(args: Args) -> u8 {
    if let Err(message) = args.finish() {
        return usage_error(&message, "cargo xtask doctor");
    }
    let root = workspace::root();
    let mut problems = 0;

    println!("{}", ui::rule("required"));
    if !check_rustc(&root) {
        problems += 1;
    }
    if !check_fetched(&root) {
        problems += 1;
    }

    println!("\n{}", ui::rule("optional"));
    let mut missing = Vec::new();
    for (tool, used_for, install) in OPTIONAL {
        match workspace::find_program(tool) {
            Some(path) => {
                println!(
                    "{} {tool:<13} {}",
                    ui::green("✓"),
                    ui::dim(&path.display().to_string())
                )
            }
            None => {
                println!(
                    "{} {tool:<13} missing: needed for {used_for}",
                    ui::yellow("·")
                );
                println!("                install: {install}");
                missing.push(*tool);
            }
        }
    }
    check_npm_folders(&root);
    check_postgres();

    let apt: Vec<&str> = OPTIONAL
        .iter()
        .filter(|(tool, _, install)| missing.contains(tool) && install.starts_with(APT))
        .map(|(_, _, install)| install.trim_start_matches(APT).trim())
        .collect();
    if apt.len() > 1 {
        println!("\nall at once: {APT} {}", apt.join(" "));
    }

    println!();
    if problems == 0 {
        println!(
            "{}",
            ui::green("Ready: everything the exercises need is here.")
        );
        if !missing.is_empty() {
            println!("The missing optional tools only matter for the parts named above.");
        }
        exit::OK
    } else {
        println!(
            "{}",
            ui::red(&format!(
                "{problems} required problem(s): fix them before the day."
            ))
        );
        exit::ENVIRONMENT
    }
}

fn version_of(program: &str, arg: &str) -> Option<String> {
    let output = Command::new(program)
        .arg(arg)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

/// "1.85" or "1.85.0" -> (1, 85, 0).
fn parse_version(text: &str) -> Option<(u32, u32, u32)> {
    let mut parts = text.trim().split('.').map(|p| p.parse::<u32>());
    let major = parts.next()?.ok()?;
    let minor = parts.next().unwrap_or(Ok(0)).ok()?;
    let patch = parts.next().unwrap_or(Ok(0)).ok()?;
    Some((major, minor, patch))
}

/// The workspace's `rust-version` (the oldest toolchain the course supports).
fn required_rust(root: &Path) -> Option<String> {
    let text = std::fs::read_to_string(root.join("Cargo.toml")).ok()?;
    let table: toml::Table = toml::from_str(&text).ok()?;
    let version = table
        .get("workspace")?
        .get("package")?
        .get("rust-version")?;
    version.as_str().map(str::to_string)
}

fn check_rustc(root: &Path) -> bool {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let Some(output) = version_of(&rustc, "--version") else {
        println!(
            "{} rustc not found: install Rust from https://rustup.rs",
            ui::red("✗")
        );
        return false;
    };
    // "rustc 1.95.0 (59807616e 2026-04-14)"
    let found = output.split_whitespace().nth(1).unwrap_or("");
    let Some(required) = required_rust(root) else {
        println!(
            "{} rustc {found} (the workspace names no rust-version)",
            ui::green("✓")
        );
        return true;
    };
    match (
        parse_version(found.split('-').next().unwrap_or(found)),
        parse_version(&required),
    ) {
        (Some(have), Some(need)) if have >= need => {
            println!(
                "{} rustc {found} (the course needs {required} or newer)",
                ui::green("✓")
            );
            true
        }
        (Some(_), Some(_)) => {
            println!(
                "{} rustc {found} is older than the course's {required}: run `rustup update stable`",
                ui::red("✗")
            );
            false
        }
        _ => {
            println!(
                "{} could not compare rustc {found:?} with {required:?}",
                ui::yellow("?")
            );
            true
        }
    }
}

/// Can cargo build without the network? `cargo fetch --offline` fails on anything
/// not yet downloaded. Only the host's target is asked for: crates for other
/// platforms (Windows console support, say) are never needed here.
fn check_fetched(root: &Path) -> bool {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let host = version_of(&rustc, "-vV").and_then(|info| {
        info.lines()
            .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
    });
    let mut command = runner::cargo_command(root);
    command.args(["fetch", "--offline", "--locked"]);
    if let Some(host) = &host {
        command.args(["--target", host]);
    }
    let output = command.stdin(Stdio::null()).output();
    match output {
        Ok(output) if output.status.success() => {
            println!(
                "{} dependencies downloaded: the course builds offline",
                ui::green("✓")
            );
            true
        }
        Ok(output) => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let first = stderr
                .lines()
                .find(|l| l.starts_with("error"))
                .unwrap_or("");
            println!(
                "{} dependencies are not all downloaded ({first})\n  run `cargo fetch` before \
                 the training day, while you have a good connection",
                ui::red("✗")
            );
            false
        }
        Err(e) => {
            println!("{} could not run cargo: {e}", ui::red("✗"));
            false
        }
    }
}

/// The folders whose JavaScript tests need `npm ci` first: every `package-lock.json`
/// under a section's `tests/`. Found, not listed, so a new folder is checked too.
fn npm_folders(root: &Path) -> Vec<std::path::PathBuf> {
    let mut folders = Vec::new();
    let Ok(sections) = std::fs::read_dir(root) else {
        return folders;
    };
    for section in sections.flatten() {
        let tests = section.path().join("tests");
        if !section.file_name().to_string_lossy().starts_with("section") {
            continue;
        }
        let Ok(entries) = std::fs::read_dir(&tests) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.path().join("package-lock.json").is_file() {
                folders.push(entry.path());
            }
        }
    }
    folders.sort();
    folders
}

fn check_npm_folders(root: &Path) {
    for folder in npm_folders(root) {
        let shown = folder.strip_prefix(root).unwrap_or(&folder).display();
        if folder.join("node_modules").is_dir() {
            println!(
                "{} npm packages  {}",
                ui::green("✓"),
                ui::dim(&shown.to_string())
            );
        } else {
            println!(
                "{} npm packages  missing in {shown}: its JavaScript tests are skipped",
                ui::yellow("·")
            );
            println!("                install: npm ci --prefix {shown}");
        }
    }
}

/// Postgres is optional: the activity store runs on embedded SQLite by default, and
/// its tests run against Postgres too when `SECTION2_POSTGRES_URL` names one.
fn check_postgres() {
    const VAR: &str = "SECTION2_POSTGRES_URL";
    let Ok(url) = std::env::var(VAR) else {
        println!(
            "{} postgres      not configured: the activity store uses SQLite (the default)",
            ui::dim("·")
        );
        println!(
            "                to test on Postgres too: export {VAR}=postgres://user:pass@127.0.0.1:5432/db"
        );
        return;
    };
    match postgres_address(&url) {
        Some(address) => {
            match std::net::TcpStream::connect_timeout(&address, std::time::Duration::from_secs(2))
            {
                Ok(_) => println!("{} postgres      {address} answers", ui::green("✓")),
                Err(e) => {
                    println!(
                        "{} postgres      {VAR} names {address}, which does not answer ({e})",
                        ui::yellow("·")
                    );
                    println!(
                        "                start it (Debian: pg_ctlcluster <version> main start) or unset {VAR}"
                    );
                }
            }
        }
        None => println!(
            "{} postgres      could not read a host and port in {VAR}",
            ui::yellow("·")
        ),
    }
}

/// `postgres://user:pass@host:port/db` -> host:port (5432 when absent).
fn postgres_address(url: &str) -> Option<std::net::SocketAddr> {
    use std::net::ToSocketAddrs;
    let rest = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))?;
    let authority = rest.split(['/', '?']).next()?;
    let host_port = authority.rsplit('@').next()?;
    let with_port = if host_port.contains(':') {
        host_port.to_string()
    } else {
        format!("{host_port}:5432")
    };
    with_port.to_socket_addrs().ok()?.next()
}

#[cfg(test)]
mod tests {
    use super::{parse_version, postgres_address};

    #[test]
    fn postgres_urls_name_an_address() {
        assert_eq!(
            postgres_address("postgres://course:course@127.0.0.1:5433/course_test"),
            Some("127.0.0.1:5433".parse().unwrap())
        );
        assert_eq!(
            postgres_address("postgresql://127.0.0.1/db"),
            Some("127.0.0.1:5432".parse().unwrap())
        );
        assert_eq!(postgres_address("mysql://x"), None);
    }

    #[test]
    fn versions_compare_numerically() {
        assert_eq!(parse_version("1.85"), Some((1, 85, 0)));
        assert!(parse_version("1.100.0").unwrap() > parse_version("1.85").unwrap());
        assert_eq!(parse_version("abc"), None);
    }
}
