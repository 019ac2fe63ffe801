//! s3.e12: one owner per id across the cluster, on two and three nodes through a
//! real `redis-server` (started on a free loopback port by the test kit). The
//! nodes share one upstream, as the nodes of a real cluster share one service, so
//! its fetch counter counts cluster-wide.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use cluster::groups::Groups;
use cluster::portal::PORTAL_GROUP;
use cluster::queries::Membership;
use testkit::exercise;
use testkit::redis::RedisServer;
use tokio::time::Instant;

/// Heartbeats every 100 ms, forgotten after 2 s of silence: a burst of 1,000
/// requests on a loaded machine can delay a heartbeat by a few hundred ms, and a
/// live owner taken for dead would be replaced (a second fetch).
const MEMBERSHIP: Membership = Membership {
    heartbeat: Duration::from_millis(100),
    expiry: Duration::from_secs(2),
};

const NAMES: [&str; 3] = ["app@127.0.0.1", "backend@127.0.0.1", "worker@127.0.0.1"];

fn names(nodes: &[&str]) -> BTreeSet<String> {
    nodes.iter().map(|n| n.to_string()).collect()
}

/// `count` nodes on `redis`, each with its own Redis connections.
async fn groups(redis: &RedisServer, count: usize) -> Vec<Arc<Groups>> {
    let mut nodes = Vec::new();
    for name in &NAMES[..count] {
        let groups = Groups::connect(&redis.url(), *name, MEMBERSHIP)
            .await
            .expect("connect to our redis-server");
        tokio::time::timeout(Duration::from_secs(5), groups.ready())
            .await
            .expect("a node hears its own heartbeat within 5 s");
        nodes.push(Arc::new(groups));
    }
    nodes
}

/// Waits up to 5 s until every node sees exactly `expected` in the portal group.
async fn until_members(nodes: &[Arc<Groups>], expected: &BTreeSet<String>) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while nodes
        .iter()
        .any(|n| &n.members_of(PORTAL_GROUP) != expected)
    {
        assert!(
            Instant::now() < deadline,
            "waited 5 s for every node to see {expected:?} in the portal group; they see {:?}",
            nodes
                .iter()
                .map(|n| n.members_of(PORTAL_GROUP))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Provided code, not the exercise: a node's portal member stops serving a request
/// at its deadline, so callers that gave up do not hold the places live ones need,
/// and the fetch they started goes on for the next caller.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portal_member_lets_go_of_requests_nobody_waits_for() {
    use cluster::groups::{Outcome, Refusal};
    use cluster::portal::{CACHE_TTL, LocalPortal, Upstream, page_request, serve_at_most};

    let Some(redis) = RedisServer::start("portal: expired requests") else {
        return;
    };
    let nodes = groups(&redis, 1).await;
    let node = &nodes[0];
    let here = node.node().to_owned();
    let upstream = Upstream::new(Duration::from_secs(3));
    let cache = Arc::new(LocalPortal::new(upstream.clone(), CACHE_TTL));
    cache.get(9).await.expect("page 9 fetched");
    // Two requests served at once, at most.
    tokio::spawn(serve_at_most(node.join(PORTAL_GROUP, 16), cache.clone(), 2));

    // Two callers that wait 200 ms for pages 1 and 2 (3 s fetches) take both places.
    let impatient: Vec<_> = [1, 2]
        .map(|id| {
            let deadline = Instant::now() + Duration::from_millis(200);
            node.request(&here, PORTAL_GROUP, page_request(id), deadline)
        })
        .into_iter()
        .collect();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let asked = Instant::now();
    let cached = node
        .request(
            &here,
            PORTAL_GROUP,
            page_request(9),
            asked + Duration::from_secs(10),
        )
        .await;
    let waited = asked.elapsed();
    assert!(
        matches!(cached, Outcome::Answer(_)),
        "page 9 is cached: expected it, got {cached:?}"
    );
    assert!(
        waited < Duration::from_millis(1500),
        "page 9 is cached, yet it waited {waited:?} for a place: the two requests ahead of \
         it were given up on at 200 ms, and their places must be free from then on, not \
         when their 3 s fetches end"
    );
    for call in impatient {
        assert_eq!(call.await, Outcome::Refused(Refusal::Expired));
    }
    let page = cache.get(1).await.expect("page 1");
    assert_eq!(
        (upstream.fetches(), page.fetch_number <= 3),
        (3, true),
        "page 1's fetch, started for a caller who left, goes on: the next get finds it"
    );
}

#[exercise(section3_production)]
mod e12_cluster_portal {
    use super::*;
    use imp::part3::e12_cluster_portal::{
        CACHE_TTL, ClusterPortal, Page, PortalError, Upstream, owner, weight,
    };

    /// `requests` concurrent requests for `id`, spread round robin over `portals`.
    async fn crowd(
        portals: &[Arc<ClusterPortal>],
        id: u64,
        requests: usize,
    ) -> Vec<Result<Arc<Page>, PortalError>> {
        let mut tasks = tokio::task::JoinSet::new();
        for request in 0..requests {
            let portal = portals[request % portals.len()].clone();
            tasks.spawn(async move { portal.get(id).await });
        }
        let mut results = Vec::new();
        while let Some(result) = tasks.join_next().await {
            match result {
                Ok(result) => results.push(result),
                Err(crash) if crash.is_panic() => std::panic::resume_unwind(crash.into_panic()),
                Err(crash) => panic!("a request task was cancelled: {crash}"),
            }
        }
        results
    }

    async fn start(
        redis: &RedisServer,
        count: usize,
        upstream: &Upstream,
    ) -> (Vec<Arc<Groups>>, Vec<Arc<ClusterPortal>>) {
        let nodes = groups(redis, count).await;
        let portals: Vec<_> = nodes
            .iter()
            .map(|g| Arc::new(ClusterPortal::start(g.clone(), upstream.clone(), CACHE_TTL)))
            .collect();
        until_members(&nodes, &names(&NAMES[..count])).await;
        (nodes, portals)
    }

    fn assert_one_fetch(
        results: &[Result<Arc<Page>, PortalError>],
        upstream: &Upstream,
        nodes: usize,
    ) {
        for result in results {
            match result {
                Ok(page) => assert_eq!(page.id, 42, "a request for page 42 got page {}", page.id),
                Err(error) => panic!(
                    "a request for page 42 failed: {error:?}. Ask the owner: this node's \
                     cache when it owns the id, otherwise `groups.request(&owner, \
                     PORTAL_GROUP, page_request(id), deadline)` and `page_from_json`"
                ),
            }
        }
        assert_eq!(
            upstream.fetches(),
            1,
            "{} concurrent requests for page 42 over {nodes} nodes made {} upstream fetches; \
             the owner alone must fetch, once: every node must route to the same owner \
             (`owner(id, &members)`), and the owner's cache coalesces",
            results.len(),
            upstream.fetches()
        );
    }

    #[test]
    fn the_owner_is_the_highest_weight_and_only_its_ids_move() {
        assert_eq!(owner(7, &BTreeSet::new()), None, "no nodes, no owner");
        let three = names(&NAMES);
        let mut owned = [0usize; 3];
        for id in 0..3000u64 {
            let chosen = owner(id, &three).expect("three nodes, one owner");
            let best = NAMES
                .iter()
                .max_by_key(|n| weight(n, id))
                .unwrap()
                .to_string();
            assert_eq!(
                chosen, best,
                "page {id}: the owner must be the node with the highest `weight(node, id)`"
            );
            owned[NAMES.iter().position(|n| *n == chosen).unwrap()] += 1;
        }
        assert!(
            owned.iter().all(|&n| n > 800 && n < 1200),
            "3,000 ids over three nodes should spread about evenly; owned: {owned:?}"
        );
        // worker leaves: only the ids it owned move (rendezvous hashing's promise).
        let two = names(&NAMES[..2]);
        for id in 0..3000u64 {
            let before = owner(id, &three).unwrap();
            let after = owner(id, &two).unwrap();
            if before != NAMES[2] {
                assert_eq!(
                    before, after,
                    "page {id} moved from {before} to {after} when worker left: only \
                     worker's ids may move"
                );
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_fetch_for_a_thousand_concurrent_requests_on_two_nodes() {
        let Some(redis) = RedisServer::start("s3.e12 two nodes") else {
            return;
        };
        let upstream = Upstream::new(Duration::from_millis(300));
        let (_nodes, portals) = start(&redis, 2, &upstream).await;
        let results = crowd(&portals, 42, 1000).await;
        assert_one_fetch(&results, &upstream, 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_fetch_and_one_owner_on_three_nodes() {
        let Some(redis) = RedisServer::start("s3.e12 three nodes") else {
            return;
        };
        let upstream = Upstream::new(Duration::from_millis(300));
        let (_nodes, portals) = start(&redis, 3, &upstream).await;
        let owners: Vec<_> = portals.iter().map(|p| p.owner_of(42)).collect();
        assert!(
            owners[0].is_some() && owners.iter().all(|o| *o == owners[0]),
            "every node must name the same owner for page 42; they name {owners:?}"
        );
        let results = crowd(&portals, 42, 1000).await;
        assert_one_fetch(&results, &upstream, 3);
        // Later requests, from any node, are served from the owner's cache.
        let results = crowd(&portals, 42, 300).await;
        assert!(results.iter().all(|r| r.is_ok()));
        assert_eq!(upstream.fetches(), 1, "a cached page was fetched again");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn when_the_owner_dies_the_next_request_fetches_once_on_the_new_owner() {
        let Some(redis) = RedisServer::start("s3.e12 owner dies") else {
            return;
        };
        let upstream = Upstream::new(Duration::from_millis(100));
        let (mut nodes, mut portals) = start(&redis, 3, &upstream).await;
        let results = crowd(&portals, 42, 30).await;
        assert_one_fetch(&results, &upstream, 3);

        let first_owner = portals[0].owner_of(42).expect("an owner");
        let dead = portals
            .iter()
            .position(|p| p.node() == first_owner)
            .unwrap();
        // The owner crashes: no goodbye; the others notice when its heartbeat expires.
        drop(portals.remove(dead));
        drop(nodes.remove(dead));
        let page = tokio::time::timeout(Duration::from_secs(8), portals[0].get(42))
            .await
            .expect(
                "a request for page 42 after its owner crashed was still waiting after 8 s \
                 (its heartbeat expires after 2 s): race the call with `groups.gone(&owner)` and the deadline",
            );
        let page = page.unwrap_or_else(|error| {
            panic!(
                "page 42's owner {first_owner} crashed and the next request failed: \
                 {error:?}. When the owner is gone, compute the owner again (it is no \
                 longer a member) and ask the new one"
            )
        });
        assert_eq!(
            page.fetch_number, 2,
            "the new owner must fetch page 42 once (the upstream's second fetch)"
        );
        let survivors: BTreeSet<String> = portals.iter().map(|p| p.node().to_owned()).collect();
        until_members(&nodes, &survivors).await;
        let new_owner = portals[0].owner_of(42).expect("an owner");
        assert_ne!(new_owner, first_owner);
        assert_eq!(portals[1].owner_of(42), Some(new_owner));
        let results = crowd(&portals, 42, 300).await;
        assert!(results.iter().all(|r| r.is_ok()), "{results:?}");
        assert_eq!(
            upstream.fetches(),
            2,
            "after the owner died: one fetch on the new owner, then its cache"
        );
    }
}
