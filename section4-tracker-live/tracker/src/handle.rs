//! The tracker's public face: configuration, the handle that routes calls to shards by a
//! stable hash of the topic, owners whose end untracks their presences, diffs and events.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use super::replica::{ReplicaRef, Status};
use super::shard::{Command, Shard};
use super::state::{Key, OwnerId, Topic};
use super::transport::Transport;

/// What is stored for each presence: the application's meta plus a unique reference
/// (`phx_ref`), and after an update the reference it replaced (`phx_ref_prev`), so clients
/// can tell an update from a second device joining.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tracked<M> {
    /// Application metadata (a name, a status, when they came online...).
    pub meta: M,
    /// Unique per track or update.
    pub phx_ref: Arc<str>,
    /// The reference this update replaced.
    pub phx_ref_prev: Option<Arc<str>>,
}

/// Joins and leaves of one topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicDiff<M> {
    /// Presences that appeared.
    pub joins: Vec<(Key, Tracked<M>)>,
    /// Presences that went away.
    pub leaves: Vec<(Key, Tracked<M>)>,
}

impl<M> Default for TopicDiff<M> {
    fn default() -> Self {
        Self {
            joins: Vec::new(),
            leaves: Vec::new(),
        }
    }
}

/// Joins and leaves per topic, as handed to [`DiffHandler::handle_diff`].
pub type Diff<M> = BTreeMap<Topic, TopicDiff<M>>;

// ANCHOR: diff_handler
/// Told about every visible change, on the node where it becomes visible: local tracks,
/// merged remote changes, replicas going down (leaves) or coming back (joins).
///
/// Called inside the shard task: keep it quick and never block (send to a channel).
pub trait DiffHandler<M>: Send + Sync + 'static {
    /// One batch of changes.
    fn handle_diff(&self, diff: &Diff<M>);
}

impl<M, F: Fn(&Diff<M>) + Send + Sync + 'static> DiffHandler<M> for F {
    fn handle_diff(&self, diff: &Diff<M>) {
        self(diff)
    }
}
// ANCHOR_END: diff_handler

/// Replica liveness as seen by one node (for tests and dashboards).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrackerEvent {
    /// `observer` started (or resumed) hearing `replica`.
    ReplicaUp {
        /// The node that noticed.
        observer: Arc<str>,
        /// The replica.
        replica: ReplicaRef,
    },
    /// `observer` stopped hearing `replica` for longer than the down period.
    ReplicaDown {
        /// The node that noticed.
        observer: Arc<str>,
        /// The replica.
        replica: ReplicaRef,
    },
    /// `observer` dropped `replica` for good.
    ReplicaPermdown {
        /// The node that noticed.
        observer: Arc<str>,
        /// The replica.
        replica: ReplicaRef,
    },
}

/// Errors of `track` and `update`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrackError {
    /// This owner already tracks this key in this topic.
    AlreadyTracked,
    /// `update` of a presence this owner does not track.
    NoPresence,
    /// The shard stopped (graceful permdown, or the transport went away).
    Stopped,
}

impl fmt::Display for TrackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TrackError::AlreadyTracked => "this owner already tracks this key in this topic",
            TrackError::NoPresence => "no presence of this owner for this topic and key",
            TrackError::Stopped => "the tracker shard has stopped",
        })
    }
}

impl std::error::Error for TrackError {}

/// An invalid [`TrackerConfig`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError(pub &'static str);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for ConfigError {}

// ANCHOR: config
/// Timings and sizes. The defaults are Phoenix.Tracker's; tests use shorter ones.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackerConfig {
    /// Number of shards (topics are spread over them by a stable hash).
    pub pool_size: usize,
    /// Heartbeat tick.
    pub broadcast_period: Duration,
    /// Ticks without changes before a bare heartbeat is sent anyway.
    pub max_silent_periods: u32,
    /// Silence after which a replica is down (its presences hidden).
    pub down_period: Duration,
    /// Silence after which a replica is dropped for good.
    pub permdown_period: Duration,
    /// Ticks between decisions about whom to ask for a transfer.
    pub clock_sample_periods: u32,
    /// Size limits of the delta generations, ascending.
    pub max_delta_sizes: Vec<usize>,
}
// ANCHOR_END: config

impl Default for TrackerConfig {
    fn default() -> Self {
        Self::with_periods(Duration::from_millis(1500), 10)
    }
}

impl TrackerConfig {
    /// A config with this period and silence, the down period derived as Phoenix does
    /// (`period * max_silent_periods * 2`) and a 20 minute permdown period.
    pub fn with_periods(broadcast_period: Duration, max_silent_periods: u32) -> Self {
        Self {
            pool_size: 1,
            broadcast_period,
            max_silent_periods,
            down_period: broadcast_period * max_silent_periods * 2,
            permdown_period: Duration::from_secs(20 * 60),
            clock_sample_periods: 2,
            max_delta_sizes: vec![100, 1000, 10_000],
        }
    }

    /// Checks the relations the liveness detection relies on.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.down_period < self.broadcast_period * 2 {
            return Err(ConfigError(
                "down_period must be at least twice as large as the broadcast_period",
            ));
        }
        if self.permdown_period <= self.down_period {
            return Err(ConfigError(
                "permdown_period must be at least larger than the down_period",
            ));
        }
        if self.pool_size == 0 || self.clock_sample_periods == 0 {
            return Err(ConfigError(
                "pool_size and clock_sample_periods must be at least 1",
            ));
        }
        Ok(())
    }
}

// ANCHOR: shard_for
/// The shard of `topic`: FNV-1a, so every node (and every build) agrees, unlike std's
/// randomly keyed SipHash.
pub fn shard_for(topic: &str, pool_size: usize) -> usize {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in topic.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (hash % pool_size as u64) as usize
}
// ANCHOR_END: shard_for

// ANCHOR: owner
/// Something that owns presences: a channel, a connection. Dropping it (its task ended)
/// untracks all of its presences on every shard.
pub struct Owner {
    id: OwnerId,
    _alive: watch::Sender<()>,
    alive: watch::Receiver<()>,
}
// ANCHOR_END: owner

impl Owner {
    /// This owner's id.
    pub fn id(&self) -> OwnerId {
        self.id
    }
}

impl fmt::Debug for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Owner").field(&self.id.0).finish()
    }
}

/// Capacity of each shard's command queue: callers wait (back-pressure) when it is full.
const COMMAND_CAPACITY: usize = 1024;

/// A handle to a running tracker. Cheap to clone; when every clone is dropped the shards
/// stop without a goodbye, as a crashed node would.
pub struct Tracker<M> {
    name: Arc<str>,
    shards: Arc<Vec<mpsc::Sender<Command<M>>>>,
    events: broadcast::Sender<TrackerEvent>,
}

impl<M> Clone for Tracker<M> {
    fn clone(&self) -> Self {
        Self {
            name: self.name.clone(),
            shards: self.shards.clone(),
            events: self.events.clone(),
        }
    }
}

impl<M: Clone + Send + Sync + 'static> Tracker<M> {
    /// Starts `config.pool_size` shards named after `name`, gossiping over `transport`.
    /// Must be called inside a tokio runtime (the shards are spawned on it).
    pub fn start<T: Transport<M>>(
        name: &str,
        transport: Arc<T>,
        handler: impl DiffHandler<M>,
        config: TrackerConfig,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        let handler: Arc<dyn DiffHandler<M>> = Arc::new(handler);
        let (events, _) = broadcast::channel(1024);
        let shards = (0..config.pool_size)
            .map(|index| {
                let (tx, rx) = mpsc::channel(COMMAND_CAPACITY);
                let shard = Shard::new(
                    index,
                    format!("tracker:{name}:shard{index}"),
                    config.clone(),
                    transport.clone(),
                    handler.clone(),
                    events.clone(),
                );
                tokio::spawn(shard.run(rx));
                tx
            })
            .collect();
        Ok(Self {
            name: name.into(),
            shards: Arc::new(shards),
            events,
        })
    }

    /// Receives replica up/down/permdown events from now on.
    pub fn events(&self) -> broadcast::Receiver<TrackerEvent> {
        self.events.subscribe()
    }

    /// A new owner for presences.
    pub fn owner(&self) -> Owner {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let (tx, rx) = watch::channel(());
        Owner {
            id: OwnerId(NEXT.fetch_add(1, Ordering::Relaxed)),
            _alive: tx,
            alive: rx,
        }
    }

    fn shard(&self, topic: &str) -> &mpsc::Sender<Command<M>> {
        &self.shards[shard_for(topic, self.shards.len())]
    }

    async fn ask<R>(
        &self,
        shard: &mpsc::Sender<Command<M>>,
        command: impl FnOnce(oneshot::Sender<R>) -> Command<M>,
    ) -> Option<R> {
        let (tx, rx) = oneshot::channel();
        shard.send(command(tx)).await.ok()?;
        rx.await.ok()
    }

    // ANCHOR: track
    /// Tracks `key` in `topic` for `owner`; returns its `phx_ref`.
    pub async fn track(
        &self,
        owner: &Owner,
        topic: &str,
        key: &str,
        meta: M,
    ) -> Result<Arc<str>, TrackError> {
        let (alive, id) = (owner.alive.clone(), owner.id);
        self.ask(self.shard(topic), |reply| Command::Track {
            owner: id,
            alive,
            topic: topic.into(),
            key: key.into(),
            meta,
            reply,
        })
        .await
        .unwrap_or(Err(TrackError::Stopped))
    }
    // ANCHOR_END: track

    /// Stops tracking `key` in `topic` for `owner` (nothing happens if it was not tracked).
    pub async fn untrack(&self, owner: &Owner, topic: &str, key: &str) {
        let id = owner.id;
        self.ask(self.shard(topic), |reply| Command::Untrack {
            owner: id,
            topic: topic.into(),
            key: key.into(),
            reply,
        })
        .await;
    }

    /// Stops tracking everything `owner` tracks, on every shard.
    pub async fn untrack_all(&self, owner: &Owner) {
        for shard in self.shards.iter() {
            self.ask(shard, |reply| Command::UntrackAll {
                owner: owner.id,
                reply,
            })
            .await;
        }
    }

    /// Replaces the meta of a tracked presence; returns the new `phx_ref`.
    pub async fn update(
        &self,
        owner: &Owner,
        topic: &str,
        key: &str,
        meta: M,
    ) -> Result<Arc<str>, TrackError> {
        self.update_with(owner, topic, key, move |_| meta).await
    }

    /// Replaces the meta of a tracked presence with `f(old meta)`.
    pub async fn update_with(
        &self,
        owner: &Owner,
        topic: &str,
        key: &str,
        f: impl FnOnce(&M) -> M + Send + 'static,
    ) -> Result<Arc<str>, TrackError> {
        let id = owner.id;
        self.ask(self.shard(topic), |reply| Command::Update {
            owner: id,
            topic: topic.into(),
            key: key.into(),
            update: Box::new(f),
            reply,
        })
        .await
        .unwrap_or(Err(TrackError::Stopped))
    }

    // ANCHOR: list
    /// Presences of `topic` on replicas that are up, answered by this node alone.
    pub async fn list(&self, topic: &str) -> Vec<(Key, Tracked<M>)> {
        self.ask(self.shard(topic), |reply| Command::List {
            topic: topic.into(),
            dirty: false,
            reply,
        })
        .await
        .unwrap_or_default()
    }
    // ANCHOR_END: list

    // ANCHOR: count
    /// How many presences [`Tracker::list`] would return, answered by this node alone
    /// and without copying them: the cheap "is anyone here?" a pipeline asks per event.
    pub async fn count(&self, topic: &str) -> usize {
        self.ask(self.shard(topic), |reply| Command::Count {
            topic: topic.into(),
            reply,
        })
        .await
        .unwrap_or(0)
    }
    // ANCHOR_END: count

    /// Like [`Tracker::list`], including presences of replicas currently down.
    pub async fn dirty_list(&self, topic: &str) -> Vec<(Key, Tracked<M>)> {
        self.ask(self.shard(topic), |reply| Command::List {
            topic: topic.into(),
            dirty: true,
            reply,
        })
        .await
        .unwrap_or_default()
    }

    /// `(owner, meta)` of every visible presence of `key` in `topic`.
    pub async fn get_by_key(&self, topic: &str, key: &str) -> Vec<(OwnerId, Tracked<M>)> {
        self.ask(self.shard(topic), |reply| Command::GetByKey {
            topic: topic.into(),
            key: key.into(),
            reply,
        })
        .await
        .unwrap_or_default()
    }

    /// Per shard: its own replica and the remote replicas it knows with their status.
    pub async fn replicas(&self) -> Vec<(ReplicaRef, Vec<(ReplicaRef, Status)>)> {
        let mut out = Vec::new();
        for shard in self.shards.iter() {
            if let Some(r) = self.ask(shard, |reply| Command::Replicas { reply }).await {
                out.push(r);
            }
        }
        out
    }

    /// Tells peers this node is leaving and stops: the graceful half of stopping a
    /// node (SIGTERM, Ctrl-C, a deploy). Each peer drops this node's presences as soon
    /// as the message arrives, within a broadcast period rather than the down period
    /// a crashed node is given, and reports them as leaves.
    ///
    /// Returns once the goodbye has left this node ([`Transport::flush`]), so the
    /// process may exit right after. Call it before closing the node's sockets: their
    /// channels' own untracks would only reach the peers at the next heartbeat. Bound
    /// it with the drain deadline (a transport whose network is down may not flush).
    /// Afterwards every call answers [`TrackError::Stopped`] or nothing.
    ///
    /// [`Transport::flush`]: crate::transport::Transport::flush
    pub async fn graceful_permdown(&self) {
        for shard in self.shards.iter() {
            self.ask(shard, |reply| Command::GracefulPermdown { reply })
                .await;
        }
    }
}
