//! `cargo xtask doctor`: is this machine ready for the training day?
//!
//! Most first-hour trouble at a workshop is setup, and the venue's wifi is the worst
//! place to discover it. Required problems (toolchain too old, dependencies not
//! downloaded) exit with 3; optional tools only print how to install them, and
//! `cargo xtask setup` installs them all. "Downloaded" means what `check` builds
//! (the workspace, default features, on this platform): a crate only an optional
//! feature uses is listed among the optional items, never a problem.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::args::{Args, usage_error};
use crate::slides::MDBOOK_INSTALL;
use crate::{exit, runner, setup, ui, workspace};

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
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).unwrap_or_default();
    let fetched = check_fetched(&root, &lock);
    if !fetched {
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
    let npm_stale = check_npm_folders(&root);
    let postgres_unset = check_postgres(&root);
    if fetched {
        check_extras(&root, &lock);
    }

    let apt: Vec<&str> = OPTIONAL
        .iter()
        .filter(|(tool, _, install)| missing.contains(tool) && install.starts_with(APT))
        .map(|(_, _, install)| install.trim_start_matches(APT).trim())
        .collect();
    if apt.len() > 1 {
        println!("\nall at once: {APT} {}", apt.join(" "));
    }
    if !missing.is_empty() || npm_stale > 0 || postgres_unset {
        println!(
            "\n{} installs what is missing above (system packages with apt-get when run \
             as root; otherwise it prints the exact commands)",
            ui::bold("cargo xtask setup")
        );
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

/// Can `check` build without the network? `cargo tree --offline` resolves exactly
/// what building the workspace needs on this platform (default features, tests
/// included, as `check` builds it) and fails on the first crate of that not yet
/// downloaded. `cargo fetch` asks for every crate in Cargo.lock, optional features
/// included (scale-lab's `mimalloc`), which no exercise builds: [`check_extras`].
fn check_fetched(root: &Path, lock: &str) -> bool {
    let output = runner::cargo_command(root)
        .args(["tree", "--offline", "--locked", "--workspace"])
        .args(["--edges", "normal,build,dev", "--prefix", "none"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .output();
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
            match missing_crate(&stderr) {
                Some((name, version)) => println!(
                    "{} dependencies not all downloaded: {name} v{version} is missing ({})",
                    ui::red("✗"),
                    used_by_text(lock, &name, &version)
                ),
                None => println!(
                    "{} cargo cannot resolve the dependencies offline ({})",
                    ui::red("✗"),
                    first_error(&stderr)
                ),
            }
            println!(
                "  run `cargo xtask setup` (or `cargo fetch`) before the training day, \
                 while you have a good connection"
            );
            false
        }
        Err(e) => {
            println!("{} could not run cargo: {e}", ui::red("✗"));
            false
        }
    }
}

/// The rest of Cargo.lock for this platform: crates only optional features use
/// (benchmarks' allocators, say). Nothing the exercises build, so never a problem.
fn check_extras(root: &Path, lock: &str) {
    match setup::fetch(root, true) {
        Ok(()) => println!(
            "{} {:<13} {}",
            ui::green("✓"),
            "extras",
            ui::dim("optional features' crates are downloaded too")
        ),
        Err(error) => {
            let what = match missing_crate(&error) {
                Some((name, version)) => format!(
                    "{name} v{version} is not downloaded ({})",
                    used_by_text(lock, &name, &version)
                ),
                None => format!("not all downloaded ({error})"),
            };
            println!(
                "{} extras        {what}: only an optional feature needs it, never check",
                ui::yellow("·")
            );
            println!("                install: cargo xtask setup (or: cargo fetch)");
        }
    }
}

fn first_error(stderr: &str) -> &str {
    stderr
        .lines()
        .find(|l| l.starts_with("error"))
        .unwrap_or("cargo failed")
}

/// "error: failed to download `mimalloc v0.1.52`" -> ("mimalloc", "0.1.52").
fn missing_crate(stderr: &str) -> Option<(String, String)> {
    let rest = stderr.split("failed to download `").nth(1)?;
    let quoted = rest.split('`').next()?;
    let (name, version) = quoted.split_once(" v")?;
    Some((name.to_string(), version.to_string()))
}

/// "used by scale-lab": the course's own crates that depend on `name` `version`,
/// directly or through other crates, read from Cargo.lock.
fn used_by_text(lock: &str, name: &str, version: &str) -> String {
    let users = used_by(lock, name, version);
    match users.len() {
        0 => "used by no course crate Cargo.lock names".to_string(),
        1..=3 => format!("used by {}", users.join(", ")),
        n => format!("used by {} and {} more", users[..3].join(", "), n - 3),
    }
}

/// The local (path) packages in Cargo.lock that reach `name` `version`, nearest first
/// along each path: a course crate's own dependents are not listed again.
fn used_by(lock: &str, name: &str, version: &str) -> Vec<String> {
    struct Package {
        name: String,
        version: String,
        local: bool,
        dependencies: Vec<String>,
    }
    let Ok(table) = toml::from_str::<toml::Table>(lock) else {
        return Vec::new();
    };
    let text = |value: &toml::Value, key: &str| {
        value
            .get(key)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string()
    };
    let packages: Vec<Package> = table
        .get("package")
        .and_then(|p| p.as_array())
        .into_iter()
        .flatten()
        .map(|p| Package {
            name: text(p, "name"),
            version: text(p, "version"),
            local: p.get("source").is_none(),
            dependencies: p
                .get("dependencies")
                .and_then(|d| d.as_array())
                .into_iter()
                .flatten()
                .filter_map(|d| d.as_str().map(str::to_string))
                .collect(),
        })
        .collect();
    // A dependency is "name", or "name version" when several versions are locked.
    let depends_on = |package: &Package, name: &str, version: &str| {
        package.dependencies.iter().any(|d| {
            let mut parts = d.split_whitespace();
            parts.next() == Some(name) && parts.next().is_none_or(|v| v == version)
        })
    };
    let mut users = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut pending = vec![(name.to_string(), version.to_string())];
    while let Some((name, version)) = pending.pop() {
        for package in packages.iter().filter(|p| depends_on(p, &name, &version)) {
            if !seen.insert((package.name.clone(), package.version.clone())) {
                continue;
            }
            if package.local {
                users.push(package.name.clone());
            } else {
                pending.push((package.name.clone(), package.version.clone()));
            }
        }
    }
    users.sort();
    users
}

/// Every folder with a `package-lock.json` (the same list `setup` installs).
/// Returns how many need `npm ci`.
fn check_npm_folders(root: &Path) -> usize {
    let mut stale = 0;
    for folder in setup::npm_folders(root) {
        let shown = workspace::display(root, &folder);
        if setup::npm_fresh(&folder) {
            println!("{} npm packages  {}", ui::green("✓"), ui::dim(&shown));
            continue;
        }
        stale += 1;
        if folder.join("node_modules").is_dir() {
            println!(
                "{} npm packages  out of date in {shown} (its package-lock.json changed)",
                ui::yellow("·")
            );
        } else {
            println!(
                "{} npm packages  missing in {shown}: its JavaScript tests are skipped",
                ui::yellow("·")
            );
        }
        println!(
            "                install: cargo xtask setup (or: {})",
            setup::npm_command(root, &folder)
        );
    }
    stale
}

/// Postgres is optional: the activity store runs on embedded SQLite by default, and
/// its tests run against Postgres too when `SECTION2_POSTGRES_URL` names one.
/// Returns true when nothing set one up (what `cargo xtask setup` does as root).
fn check_postgres(root: &Path) -> bool {
    const VAR: &str = setup::POSTGRES_ENV;
    let Ok(url) = std::env::var(VAR) else {
        if let Some(saved) = setup::saved_postgres_url(root) {
            println!(
                "{} postgres      set up by cargo xtask setup, but {VAR} is not set in this shell",
                ui::yellow("·")
            );
            println!(
                "                run: . {}   (it exports {VAR}={saved})",
                setup::ENV_FILE
            );
            return false;
        }
        println!(
            "{} postgres      not configured: the activity store uses SQLite (the default)",
            ui::dim("·")
        );
        println!(
            "                to test on Postgres too: cargo xtask setup (as root), or \
             export {VAR}=postgres://user:pass@127.0.0.1:5432/db"
        );
        return true;
    };
    match setup::postgres_address(&url) {
        Some(address) => {
            match std::net::TcpStream::connect_timeout(&address, std::time::Duration::from_secs(2))
            {
                Ok(_) => {
                    println!("{} postgres      {address} answers", ui::green("✓"));
                    false
                }
                Err(e) => {
                    println!(
                        "{} postgres      {VAR} names {address}, which does not answer ({e})",
                        ui::yellow("·")
                    );
                    println!(
                        "                start it (Debian: pg_ctlcluster <version> main start) or unset {VAR}"
                    );
                    false
                }
            }
        }
        None => {
            println!(
                "{} postgres      could not read a host and port in {VAR}",
                ui::yellow("·")
            );
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{missing_crate, parse_version, used_by, used_by_text};

    const LOCK: &str = r#"
version = 4

[[package]]
name = "activity"
version = "0.1.0"
dependencies = ["sqlx", "tokio"]

[[package]]
name = "libmimalloc-sys"
version = "0.1.49"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "mimalloc"
version = "0.1.52"
source = "registry+https://github.com/rust-lang/crates.io-index"
dependencies = ["libmimalloc-sys"]

[[package]]
name = "scale-lab"
version = "0.1.0"
dependencies = ["mimalloc", "tokio"]

[[package]]
name = "section2-channels"
version = "0.1.0"
dependencies = ["activity", "tokio"]

[[package]]
name = "sqlx"
version = "0.8.6"
source = "registry+https://github.com/rust-lang/crates.io-index"
dependencies = ["tokio 1.54.1"]

[[package]]
name = "tokio"
version = "1.54.1"
source = "registry+https://github.com/rust-lang/crates.io-index"
"#;

    #[test]
    fn a_missing_crate_is_read_from_cargos_error() {
        let stderr = "error: failed to download `mimalloc v0.1.52`\n\nCaused by:\n  \
                      attempting to make an HTTP request, but --offline was specified\n";
        assert_eq!(
            missing_crate(stderr),
            Some(("mimalloc".to_string(), "0.1.52".to_string()))
        );
        assert_eq!(
            missing_crate("error: the lock file needs to be updated"),
            None
        );
    }

    #[test]
    fn a_missing_crate_names_the_course_crates_that_use_it() {
        assert_eq!(used_by(LOCK, "mimalloc", "0.1.52"), ["scale-lab"]);
        // Through mimalloc; a course crate's own dependents are not listed again.
        assert_eq!(used_by(LOCK, "libmimalloc-sys", "0.1.49"), ["scale-lab"]);
        assert_eq!(
            used_by(LOCK, "tokio", "1.54.1"),
            ["activity", "scale-lab", "section2-channels"]
        );
        assert_eq!(used_by(LOCK, "scale-lab", "0.1.0"), Vec::<String>::new());
        assert_eq!(
            used_by_text(LOCK, "mimalloc", "0.1.52"),
            "used by scale-lab"
        );
    }

    #[test]
    fn versions_compare_numerically() {
        assert_eq!(parse_version("1.85"), Some((1, 85, 0)));
        assert!(parse_version("1.100.0").unwrap() > parse_version("1.85").unwrap());
        assert_eq!(parse_version("abc"), None);
    }
}
