//! The tracker-gated pipeline (exercise s4.e4): sensor readings that each need an
//! expensive call before they can be pushed to `sensor:<id>`, and a worker that asks the
//! tracker first whether anyone watches that topic.
//!
//! Provided here, to read: the reading, the stage a worker gets (tracker, resource,
//! pubsub, counters), the worker pool (bounded queue, at most N readings in flight, as
//! section 1's pipeline), the `sensor:*` channel that tracks whoever watches, and a node
//! putting them together. The decision and the processing are the exercise's
//! (`section4-tracker-live/src/start/part1/e04_gated_pipeline.rs`): the pool runs whatever
//! [`HandleReading`] it is given.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use channels::{Channel, ChannelContext, ChannelRouter, Endpoint, HandleIn, Join, Payload, PubSub};
use futures::FutureExt;
use pipeline::mock_resource::MockResource;
use serde_json::{Value, json};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::{JoinHandle, JoinSet};

use crate::presence::{PresenceTracker, RoomUser, UserMeta, now_unix, user_key};
use crate::pubsub_transport::PubSubTransport;
use crate::{ConfigError, Owner, Tracker, TrackerConfig};

/// One reading from a sensor, to enrich (the expensive call) and push to its watchers.
#[derive(Clone, Debug, PartialEq)]
pub struct SensorReading {
    /// Unique per reading, so a test can tell which ones arrived.
    pub id: u64,
    /// The sensor: its readings go to topic `sensor:<sensor>`.
    pub sensor: u32,
    /// The raw value.
    pub celsius: f64,
}

impl SensorReading {
    /// The topic whose watchers want this reading.
    pub fn topic(&self) -> String {
        sensor_topic(self.sensor)
    }
}

/// `sensor:<id>`: the topic a dashboard joins to watch one sensor.
pub fn sensor_topic(sensor: u32) -> String {
    format!("sensor:{sensor}")
}

/// What the workers did so far. Cheap to clone; clones share the counters.
#[derive(Clone, Debug, Default)]
pub struct GateStats {
    inner: Arc<Counters>,
}

#[derive(Debug, Default)]
struct Counters {
    events: AtomicU64,
    delivered: AtomicU64,
    skipped: AtomicU64,
    failed: AtomicU64,
}

/// A reading of [`GateStats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GateCounts {
    /// Readings the workers finished with, whatever the outcome.
    pub events: u64,
    /// Readings enriched and pushed ([`Outcome::Delivered`]).
    pub delivered: u64,
    /// Readings nobody watched ([`Outcome::Skipped`]).
    pub skipped: u64,
    /// Readings whose handling panicked (a `todo!()` left in, a bug).
    pub failed: u64,
}

impl GateStats {
    /// The counters now.
    pub fn counts(&self) -> GateCounts {
        let c = &self.inner;
        GateCounts {
            events: c.events.load(Ordering::Relaxed),
            delivered: c.delivered.load(Ordering::Relaxed),
            skipped: c.skipped.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
        }
    }

    fn record(&self, outcome: Option<Outcome>) {
        let c = &self.inner;
        c.events.fetch_add(1, Ordering::Relaxed);
        let counter = match outcome {
            Some(Outcome::Delivered { .. }) => &c.delivered,
            Some(Outcome::Skipped) => &c.skipped,
            None => &c.failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

// ANCHOR: outcome
/// What a worker did with one reading. Every reading ends as one of these, and the
/// pool counts them: a skipped reading is a decision on record, not a lost one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Enriched (one resource call) and broadcast to `reached` subscribers of this node.
    Delivered {
        /// What the pubsub's `broadcast` returned.
        reached: usize,
    },
    /// Nobody watched the topic: no resource call, nothing sent.
    Skipped,
}
// ANCHOR_END: outcome

/// Everything a worker needs for one reading. Shared by every worker of a node.
pub struct Stage {
    /// This node's tracker: who watches which `sensor:*` topic, cluster-wide.
    pub tracker: PresenceTracker,
    /// The expensive dependency (section 1's mock: each call holds it for 500 ms).
    pub resource: MockResource,
    /// Where enriched readings go (the endpoint's pubsub: its channels subscribe to it).
    pub pubsub: Arc<dyn PubSub>,
    /// What the workers did.
    pub stats: GateStats,
}

impl Stage {
    // ANCHOR: enrich
    /// The expensive call: one use of the resource, then the payload watchers get.
    pub async fn enrich(&self, reading: &SensorReading) -> Payload {
        self.resource.use_resource().await;
        let fahrenheit = reading.celsius * 9.0 / 5.0 + 32.0;
        let Value::Object(payload) = json!({
            "id": reading.id,
            "sensor": reading.sensor,
            "celsius": reading.celsius,
            "fahrenheit": fahrenheit,
        }) else {
            unreachable!("json! of an object literal is an object")
        };
        payload
    }
    // ANCHOR_END: enrich
}

/// How a worker handles one reading. The section crate implements it with the
/// exercise's `handle_reading` (yours or the reference); [`Ungated`] is the baseline.
pub trait HandleReading: Copy + Send + Sync + 'static {
    /// Handles `reading` with what `stage` gives; every reading ends as an [`Outcome`].
    fn handle(self, stage: &Stage, reading: SensorReading) -> impl Future<Output = Outcome> + Send;
}

/// No gate: every reading is enriched and broadcast (the experiment's baseline).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ungated;

impl HandleReading for Ungated {
    async fn handle(self, stage: &Stage, reading: SensorReading) -> Outcome {
        let payload = stage.enrich(&reading).await;
        let reached = stage.pubsub.broadcast(channels::Broadcast::new(
            reading.topic(),
            READING_EVENT,
            payload,
        ));
        Outcome::Delivered { reached }
    }
}

/// The event enriched readings are pushed as.
pub const READING_EVENT: &str = "reading";

/// A running worker pool: push readings in, then [`GatedPipeline::finish`].
pub struct GatedPipeline {
    queue: mpsc::Sender<SensorReading>,
    dispatcher: JoinHandle<()>,
    stats: GateStats,
}

impl GatedPipeline {
    /// Starts a pool handling readings with `handler`, at most `workers` at once, with
    /// up to `capacity` readings waiting (a full queue makes [`GatedPipeline::push`] wait:
    /// back-pressure, as in section 1).
    pub fn spawn(
        stage: Arc<Stage>,
        handler: impl HandleReading,
        workers: usize,
        capacity: usize,
    ) -> Self {
        let (queue, mut readings) = mpsc::channel::<SensorReading>(capacity.max(1));
        let stats = stage.stats.clone();
        let permits = Arc::new(Semaphore::new(workers.max(1)));
        let dispatcher = tokio::spawn(async move {
            let mut running = JoinSet::new();
            while let Some(reading) = readings.recv().await {
                let Ok(permit) = permits.clone().acquire_owned().await else {
                    break; // never closed; a closed semaphore would only mean shutdown
                };
                let stage = stage.clone();
                running.spawn(async move {
                    // A panic in the handler (a `todo!()`) fails this reading, counted,
                    // instead of killing the pool.
                    let outcome = std::panic::AssertUnwindSafe(handler.handle(&stage, reading))
                        .catch_unwind()
                        .await
                        .ok();
                    stage.stats.record(outcome);
                    drop(permit);
                });
                // Reap finished workers as we go so the set stays at most `workers` long.
                while running.try_join_next().is_some() {}
            }
            while running.join_next().await.is_some() {}
        });
        GatedPipeline {
            queue,
            dispatcher,
            stats,
        }
    }

    /// Queues a reading, waiting while the queue is full.
    pub async fn push(&self, reading: SensorReading) {
        // The dispatcher only stops after `finish` closed the queue, so this cannot fail.
        let _ = self.queue.send(reading).await;
    }

    /// The counters so far.
    pub fn counts(&self) -> GateCounts {
        self.stats.counts()
    }

    /// Closes the queue, waits until every queued reading is handled, returns the counts.
    pub async fn finish(self) -> GateCounts {
        drop(self.queue);
        let _ = self.dispatcher.await;
        self.stats.counts()
    }
}

/// A dashboard watching one sensor: joining `sensor:<id>` with `{"user_id", "name"}`
/// tracks the watcher (the owner lives in the channel, so leaving untracks), and the
/// channel receives the `reading` broadcasts of its topic.
pub struct SensorChannel {
    _owner: Owner,
}

impl Channel for SensorChannel {
    type Info = ();

    async fn join(topic: &str, payload: Payload, ctx: &mut ChannelContext<Self>) -> Join<Self> {
        let Some(user) = RoomUser::from_payload(&payload) else {
            return Join::error(json!({"reason": "user_id and name are required"}));
        };
        let Some(tracker) = ctx.state::<PresenceTracker>() else {
            return Join::error(json!({"reason": "the tracker is not available"}));
        };
        let owner = tracker.owner();
        let meta = UserMeta {
            name: user.name,
            online_at: now_unix(),
        };
        match tracker
            .track(&owner, topic, &user_key(&user.user_id), meta)
            .await
        {
            Ok(_) => Join::ok(SensorChannel { _owner: owner }),
            Err(error) => Join::error(json!({"reason": error.to_string()})),
        }
    }

    async fn handle_in(
        &mut self,
        event: &str,
        _payload: Payload,
        _ctx: &mut ChannelContext<Self>,
    ) -> HandleIn {
        // Dashboards only listen; readings come from the pipeline.
        HandleIn::error(json!({"reason": format!("unknown event {event:?}")}))
    }
}

/// One node of the gated demo: an endpoint serving `sensor:*`, its tracker, and the
/// stage its workers share.
pub struct GatedNode {
    /// The socket endpoint (dashboards join `sensor:<id>` here).
    pub endpoint: Endpoint,
    /// This node's tracker.
    pub tracker: PresenceTracker,
    /// What this node's workers use.
    pub stage: Arc<Stage>,
}

impl GatedNode {
    /// Starts node `node`: its tracker gossips on `cluster`, its channels subscribe to
    /// `channels` (the same pubsub as `cluster` when the nodes share a Redis; a pubsub
    /// of its own for a node alone), and its workers use `resource`.
    pub fn start(
        cluster: Arc<dyn PubSub>,
        channels: Arc<dyn PubSub>,
        node: &str,
        config: TrackerConfig,
        resource: MockResource,
    ) -> Result<GatedNode, ConfigError> {
        let transport = Arc::new(PubSubTransport::new(cluster, node));
        // The gate needs no diffs: it asks the tracker when a reading comes.
        let tracker = Tracker::start("sensors", transport, |_: &_| {}, config)?;
        let router = ChannelRouter::new()
            .state(tracker.clone())
            .channel::<SensorChannel>("sensor:*");
        let endpoint = Endpoint::builder(router).pubsub(channels.clone()).build();
        let stage = Arc::new(Stage {
            tracker: tracker.clone(),
            resource,
            pubsub: channels,
            stats: GateStats::default(),
        });
        Ok(GatedNode {
            endpoint,
            tracker,
            stage,
        })
    }
}

/// One row of the savings table.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SavingsRow {
    /// Topics readings go to.
    pub topics: u32,
    /// Percentage of topics with at least one watcher.
    pub utilization: u32,
    /// Readings pushed in.
    pub events: u64,
    /// Resource calls made.
    pub calls: u64,
    /// Readings skipped.
    pub skipped: u64,
    /// Resource time not spent (skipped × hold).
    pub saved: Duration,
    /// Time to handle every reading with the gate (tokio's paused clock).
    pub drain_gated: Duration,
    /// The same without the gate.
    pub drain_ungated: Duration,
}

/// Runs the gated and the ungated pipeline over `topics` sensors, `per_topic` readings
/// each, with `utilization`% of the topics watched, `workers` readings in flight.
///
/// Meant for a runtime with paused time (`start_paused`): the 500 ms holds then cost
/// no real time, and the drain times are exact.
pub async fn savings(
    handler: impl HandleReading,
    topics: u32,
    utilization: u32,
    per_topic: u32,
    workers: usize,
) -> anyhow::Result<SavingsRow> {
    let watched = (u64::from(topics) * u64::from(utilization.min(100))).div_ceil(100) as u32;
    let gated = drain(handler, topics, watched, per_topic, workers).await?;
    anyhow::ensure!(
        gated.counts.failed == 0,
        "{} readings failed: the handler panicked (a todo!() left in gate.rs?)",
        gated.counts.failed
    );
    let ungated = drain(Ungated, topics, watched, per_topic, workers).await?;
    Ok(SavingsRow {
        topics,
        utilization,
        events: gated.counts.events,
        calls: gated.calls,
        skipped: gated.counts.skipped,
        saved: gated.hold * gated.counts.skipped as u32,
        drain_gated: gated.took,
        drain_ungated: ungated.took,
    })
}

/// What one [`drain`] saw.
struct Drained {
    counts: GateCounts,
    /// Resource calls made.
    calls: u64,
    /// How long one resource call holds it.
    hold: Duration,
    /// Time to handle every reading.
    took: Duration,
}

/// One node alone, `watched` of its `topics` watched, `per_topic` readings each
/// through a pool of `workers` running `handler`.
async fn drain(
    handler: impl HandleReading,
    topics: u32,
    watched: u32,
    per_topic: u32,
    workers: usize,
) -> anyhow::Result<Drained> {
    let pubsub: Arc<dyn PubSub> = Arc::new(channels::LocalPubSub::named("lab"));
    let resource = MockResource::new();
    let node = GatedNode::start(
        pubsub.clone(),
        pubsub,
        "lab@127.0.0.1",
        TrackerConfig::default(),
        resource.clone(),
    )?;
    // Spread the watched topics over the range (every k-th sensor).
    let mut owners = Vec::new();
    for i in 0..watched {
        let sensor = (u64::from(i) * u64::from(topics) / u64::from(watched.max(1))) as u32;
        let owner = node.tracker.owner();
        let meta = UserMeta {
            name: format!("dashboard {i}"),
            online_at: 0,
        };
        node.tracker
            .track(
                &owner,
                &sensor_topic(sensor),
                &user_key(&i.to_string()),
                meta,
            )
            .await
            .map_err(|e| anyhow::anyhow!("track: {e}"))?;
        owners.push(owner);
    }
    let started = tokio::time::Instant::now();
    let pipeline = GatedPipeline::spawn(node.stage.clone(), handler, workers, 1024);
    let mut id = 0;
    for round in 0..per_topic {
        for sensor in 0..topics {
            id += 1;
            let celsius = 20.0 + f64::from((sensor + round) % 10);
            pipeline
                .push(SensorReading {
                    id,
                    sensor,
                    celsius,
                })
                .await;
        }
    }
    let counts = pipeline.finish().await;
    let took = started.elapsed();
    // The dashboards stay until every reading is handled.
    drop(owners);
    Ok(Drained {
        counts,
        calls: resource.usage().total,
        hold: resource.hold(),
        took,
    })
}

/// The savings table in Markdown.
pub fn savings_table(rows: &[SavingsRow], per_topic: u32, workers: usize) -> String {
    let mut out = String::from(
        "| topics | watched | readings | resource calls | skipped | resource time saved | drain, gated | drain, ungated |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        out.push_str(&format!(
            "| {} | {}% | {} | {} | {} | {:.1} s | {:.1} s | {:.1} s |\n",
            r.topics,
            r.utilization,
            r.events,
            r.calls,
            r.skipped,
            r.saved.as_secs_f64(),
            r.drain_gated.as_secs_f64(),
            r.drain_ungated.as_secs_f64(),
        ));
    }
    out.push_str(&format!(
        "\n{per_topic} readings per topic, {workers} in flight, 500 ms per resource call; \
         drain times on tokio's paused clock.\n"
    ));
    out
}
