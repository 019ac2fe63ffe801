//! The figures of part 3's cluster exercises, measured through a real Redis on the
//! reference answers: `remote-call` (s3.e11: how long a call to another node takes,
//! and how long each failure takes to be reported) and `cluster-portal` (s3.e12:
//! upstream fetches for a crowd asking every node for one page, before and after
//! its owner dies).
//!
//! Each command writes its table between its own markers in the part's walkthrough
//! (`solutions/section3/part3.md`), so several exercises share the file.

use std::sync::Arc;
use std::time::Duration;

use cluster::groups::{Groups, Member};
use cluster::queries::Membership;
use serde_json::json;
use tokio::time::Instant;

use crate::solution::part3::e11_remote_call::{CallError, call};
use crate::solution::part3::e12_cluster_portal::{CACHE_TTL, ClusterPortal, Upstream};

/// Writes `body` into block `name` of the part 3 walkthrough, as written by `command`.
pub fn write_walkthrough(name: &str, command: &str, body: &str) -> anyhow::Result<()> {
    let path = figures::walkthrough::path("section3/part3.md");
    figures::walkthrough::rewrite(&path, name, command, body)?;
    println!("wrote the figures into {}", path.display());
    Ok(())
}

/// Heartbeats every 100 ms, forgotten after 500 ms: what the measurements run with.
pub const FAST: Membership = Membership {
    heartbeat: Duration::from_millis(100),
    expiry: Duration::from_millis(500),
};

async fn node(url: &str, name: &str) -> anyhow::Result<Arc<Groups>> {
    let groups = Groups::connect(url, name, FAST).await?;
    tokio::time::timeout(Duration::from_secs(5), groups.ready())
        .await
        .map_err(|_| anyhow::anyhow!("{name} did not hear its own heartbeat in 5 s"))?;
    Ok(Arc::new(groups))
}

fn answering(mut member: Member) {
    tokio::spawn(async move {
        while let Some(request) = member.recv().await {
            let body = request.body.clone();
            request.reply(body);
        }
    });
}

/// Takes requests and never answers; it tells `taken` each time.
fn stuck(mut member: Member, taken: tokio::sync::mpsc::Sender<()>) {
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Some(request) = member.recv().await {
            held.push(request);
            let _ = taken.try_send(());
        }
    });
}

async fn until(what: &str, condition: impl Fn() -> bool) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !condition() {
        anyhow::ensure!(Instant::now() < deadline, "waited 5 s for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// What `remote-call` measured.
#[derive(Debug)]
pub struct RemoteCallReport {
    /// Calls made one after another to a member on the other node.
    pub calls: usize,
    pub p50: Duration,
    pub p99: Duration,
    /// Concurrent calls, and how many were answered.
    pub concurrent: usize,
    pub concurrent_answered: usize,
    pub concurrent_elapsed: Duration,
    /// Time to `NoMember` for a group nobody joined.
    pub no_member: Duration,
    /// Time to `Timeout` with a 200 ms deadline and a stuck member.
    pub timeout: Duration,
    /// From a crash (no goodbye) to `NodeDown`, with a 500 ms expiry.
    pub crash_to_node_down: Duration,
    /// From a goodbye to `NodeDown`.
    pub goodbye_to_node_down: Duration,
    /// Calls left in the caller's table at the end (0: nothing leaked).
    pub in_flight_after: usize,
}

/// Measures s3.e11's reference call through the Redis at `url`.
pub async fn remote_call(
    url: &str,
    calls: usize,
    concurrent: usize,
) -> anyhow::Result<RemoteCallReport> {
    let app = node(url, "app@127.0.0.1").await?;
    let backend = node(url, "backend@127.0.0.1").await?;
    // Big enough for the concurrent burst: a full mailbox refuses (Busy).
    answering(backend.join("pricing", concurrent.max(16)));
    until("app to see backend in pricing", || {
        app.members_of("pricing").contains("backend@127.0.0.1")
    })
    .await?;

    let limit = Duration::from_secs(5);
    // Warm-up: connections, allocations.
    for _ in 0..calls / 10 {
        call(&app, "pricing", json!({"sku": 1}), limit, 0).await?;
    }
    let mut latencies = Vec::with_capacity(calls);
    for sku in 0..calls {
        let started = Instant::now();
        call(&app, "pricing", json!({ "sku": sku }), limit, 0).await?;
        latencies.push(started.elapsed());
    }
    latencies.sort();

    let started = Instant::now();
    let burst = futures_burst(&app, concurrent, limit).await;
    let concurrent_elapsed = started.elapsed();

    let started = Instant::now();
    let missing = call(&app, "invoices", json!({}), limit, 0).await;
    let no_member = started.elapsed();
    anyhow::ensure!(
        matches!(missing, Err(CallError::NoMember { .. })),
        "{missing:?}"
    );

    // A stuck member on a third node, then that node crashes.
    let (taken, mut took) = tokio::sync::mpsc::channel(8);
    let worker = node(url, "worker@127.0.0.1").await?;
    stuck(worker.join("reports", 16), taken.clone());
    until("app to see worker in reports", || {
        app.members_of("reports").contains("worker@127.0.0.1")
    })
    .await?;
    let started = Instant::now();
    let timed_out = call(&app, "reports", json!({}), Duration::from_millis(200), 0).await;
    let timeout = started.elapsed();
    anyhow::ensure!(
        matches!(timed_out, Err(CallError::Timeout { .. })),
        "{timed_out:?}"
    );

    let caller = app.clone();
    let pending = tokio::spawn(async move { call(&caller, "reports", json!({}), limit, 0).await });
    took.recv().await;
    took.recv().await;
    let crashed = Instant::now();
    drop(worker);
    let down = pending.await?;
    let crash_to_node_down = crashed.elapsed();
    anyhow::ensure!(matches!(down, Err(CallError::NodeDown { .. })), "{down:?}");

    // The same on a node that leaves on purpose.
    let (taken, mut took) = tokio::sync::mpsc::channel(8);
    let leaving = node(url, "leaving@127.0.0.1").await?;
    stuck(leaving.join("exports", 16), taken);
    until("app to see leaving in exports", || {
        app.members_of("exports").contains("leaving@127.0.0.1")
    })
    .await?;
    let caller = app.clone();
    let pending = tokio::spawn(async move { call(&caller, "exports", json!({}), limit, 0).await });
    took.recv().await;
    let left = Instant::now();
    leaving.leave().await;
    let down = pending.await?;
    let goodbye_to_node_down = left.elapsed();
    anyhow::ensure!(matches!(down, Err(CallError::NodeDown { .. })), "{down:?}");

    Ok(RemoteCallReport {
        calls,
        p50: percentile(&latencies, 0.50),
        p99: percentile(&latencies, 0.99),
        concurrent,
        concurrent_answered: burst,
        concurrent_elapsed,
        no_member,
        timeout,
        crash_to_node_down,
        goodbye_to_node_down,
        in_flight_after: app.calls_in_flight(),
    })
}

/// `concurrent` calls at once from `app`; how many were answered.
async fn futures_burst(app: &Arc<Groups>, concurrent: usize, limit: Duration) -> usize {
    let mut tasks = tokio::task::JoinSet::new();
    for sku in 0..concurrent {
        let app = app.clone();
        tasks.spawn(async move { call(&app, "pricing", json!({ "sku": sku }), limit, sku).await });
    }
    let mut answered = 0;
    while let Some(result) = tasks.join_next().await {
        if matches!(result, Ok(Ok(_))) {
            answered += 1;
        }
    }
    answered
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

impl RemoteCallReport {
    /// What was measured and its figure, one pair per line of the report.
    fn rows(&self) -> Vec<(String, String)> {
        vec![
            (
                format!("{} calls one at a time, app to backend", self.calls),
                format!("p50 {}, p99 {}", ms(self.p50), ms(self.p99)),
            ),
            (
                format!("{} concurrent calls", self.concurrent),
                format!(
                    "{} answered in {}",
                    self.concurrent_answered,
                    ms(self.concurrent_elapsed)
                ),
            ),
            (
                "a group with no member".into(),
                format!("`NoMember` after {}", ms(self.no_member)),
            ),
            (
                "a stuck member, 200 ms deadline".into(),
                format!("`Timeout` after {}", ms(self.timeout)),
            ),
            (
                "the called node crashes (heartbeat 100 ms, expiry 500 ms)".into(),
                format!("`NodeDown` {} after the crash", ms(self.crash_to_node_down)),
            ),
            (
                "the called node leaves (goodbye)".into(),
                format!(
                    "`NodeDown` {} after the goodbye",
                    ms(self.goodbye_to_node_down)
                ),
            ),
            (
                "calls left in the caller's table afterwards".into(),
                self.in_flight_after.to_string(),
            ),
        ]
    }

    /// The lines `remote-call` prints.
    pub fn summary(&self) -> String {
        let lines: Vec<String> = self
            .rows()
            .into_iter()
            .map(|(what, figure)| format!("{what}: {figure}"))
            .collect();
        lines.join("\n")
    }

    /// The walkthrough's table.
    pub fn table(&self, machine: &str) -> String {
        let mut table = String::from("| what | figure |\n|---|---|\n");
        for (what, figure) in self.rows() {
            table.push_str(&format!("| {what} | {figure} |\n"));
        }
        table.push_str(&format!("\nMeasured on {machine}.\n"));
        table
    }
}

/// One row of `cluster-portal`: a crowd of requests for one page.
#[derive(Debug)]
pub struct PortalRow {
    /// What happened before the crowd.
    pub when: String,
    /// Nodes serving the Portal.
    pub nodes: usize,
    /// Concurrent requests, spread round robin over the nodes.
    pub requests: usize,
    /// Requests answered with the page.
    pub answered: usize,
    /// Upstream fetches made by this crowd (cluster-wide: one upstream).
    pub fetches: u64,
    /// The owner of the page, as the first node saw it after the crowd.
    pub owner: String,
    /// From the first request to the last answer.
    pub elapsed: Duration,
}

async fn portal_crowd(
    portals: &[Arc<ClusterPortal>],
    upstream: &Upstream,
    when: &str,
    id: u64,
    requests: usize,
) -> PortalRow {
    let before = upstream.fetches();
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for request in 0..requests {
        let portal = portals[request % portals.len()].clone();
        tasks.spawn(async move { portal.get(id).await });
    }
    let mut answered = 0;
    while let Some(result) = tasks.join_next().await {
        if matches!(result, Ok(Ok(_))) {
            answered += 1;
        }
    }
    PortalRow {
        when: when.to_owned(),
        nodes: portals.len(),
        requests,
        answered,
        fetches: upstream.fetches() - before,
        owner: portals[0].owner_of(id).unwrap_or_default(),
        elapsed: started.elapsed(),
    }
}

/// Heartbeats every 100 ms, forgotten after 2 s (as in the s3.e12 tests).
const PORTAL_MEMBERSHIP: Membership = Membership {
    heartbeat: Duration::from_millis(100),
    expiry: Duration::from_secs(2),
};

/// Measures s3.e12's reference on three nodes through the Redis at `url`:
/// `requests` concurrent requests for one page, again once it is cached, and after
/// its owner crashed.
pub async fn cluster_portal(url: &str, requests: usize) -> anyhow::Result<Vec<PortalRow>> {
    const ID: u64 = 42;
    let upstream = Upstream::new(Duration::from_millis(200));
    let mut nodes = Vec::new();
    let mut portals = Vec::new();
    for name in ["app@127.0.0.1", "backend@127.0.0.1", "worker@127.0.0.1"] {
        let groups = Arc::new(Groups::connect(url, name, PORTAL_MEMBERSHIP).await?);
        portals.push(Arc::new(ClusterPortal::start(
            groups.clone(),
            upstream.clone(),
            CACHE_TTL,
        )));
        nodes.push(groups);
    }
    until("every node to see three portal members", || {
        nodes
            .iter()
            .all(|n| n.members_of(cluster::portal::PORTAL_GROUP).len() == 3)
    })
    .await?;
    let owners: std::collections::BTreeSet<_> = portals.iter().map(|p| p.owner_of(ID)).collect();
    anyhow::ensure!(
        owners.len() == 1,
        "the nodes disagree on the owner: {owners:?}"
    );

    let mut rows = Vec::new();
    rows.push(portal_crowd(&portals, &upstream, "cold cache", ID, requests).await);
    rows.push(portal_crowd(&portals, &upstream, "cached on the owner", ID, requests).await);

    let owner = portals[0].owner_of(ID).unwrap_or_default();
    let dead = portals
        .iter()
        .position(|p| p.node() == owner)
        .ok_or_else(|| anyhow::anyhow!("no node is the owner {owner}"))?;
    // The owner crashes (no goodbye): requests to it wait until its heartbeat
    // expires, then go to the new owner.
    drop(portals.remove(dead));
    drop(nodes.remove(dead));
    let when = format!("owner {owner} crashed just before");
    rows.push(portal_crowd(&portals, &upstream, &when, ID, requests).await);
    rows.push(portal_crowd(&portals, &upstream, "cached on the new owner", ID, requests).await);
    Ok(rows)
}

/// The lines `cluster-portal` prints, and the walkthrough's table.
pub fn portal_table(rows: &[PortalRow], machine: &str) -> String {
    let mut table = String::from(
        "\n| crowd | nodes | requests | answered | upstream fetches | owner after | all answered in |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for row in rows {
        table.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            row.when,
            row.nodes,
            row.requests,
            row.answered,
            row.fetches,
            row.owner,
            ms(row.elapsed)
        ));
    }
    table.push_str(&format!(
        "\nOne upstream shared by the nodes (200 ms per fetch), page 42, heartbeat 100 ms, \
         expiry 2 s. Measured on {machine}.\n"
    ));
    table
}
