//! The shard task: owns one [`State`], applies local commands, gossips every broadcast
//! period, merges what peers send, and watches peers' liveness.
//!
//! Everything that changes the set goes through this one task, so the pure layers need no
//! locks. `handle_diff` is called from inside it: it must not block.

use std::collections::HashSet;
use std::pin::Pin;
use std::sync::Arc;

use futures::stream::{FuturesUnordered, StreamExt};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::time::{Instant, sleep_until};

use super::clock;
use super::delta_generation::{DeltaGenerations, Transfer};
use super::replica::{ReplicaEvent, ReplicaRef, Replicas, Status};
use super::state::{Changes, Key, OwnerId, State, Topic, VClock};
use super::transport::{Gossip, Transport};
use super::{Diff, DiffHandler, TrackError, Tracked, TrackerConfig, TrackerEvent};

/// An update function for [`Command::Update`].
pub(crate) type UpdateFn<M> = Box<dyn FnOnce(&M) -> M + Send>;

/// Requests from the [`Tracker`](super::Tracker) handle to a shard.
pub(crate) enum Command<M> {
    Track {
        owner: OwnerId,
        alive: watch::Receiver<()>,
        topic: Topic,
        key: Key,
        meta: M,
        reply: oneshot::Sender<Result<Arc<str>, TrackError>>,
    },
    Untrack {
        owner: OwnerId,
        topic: Topic,
        key: Key,
        reply: oneshot::Sender<()>,
    },
    UntrackAll {
        owner: OwnerId,
        reply: oneshot::Sender<()>,
    },
    Update {
        owner: OwnerId,
        topic: Topic,
        key: Key,
        update: UpdateFn<M>,
        reply: oneshot::Sender<Result<Arc<str>, TrackError>>,
    },
    List {
        topic: Topic,
        dirty: bool,
        reply: oneshot::Sender<Vec<(Key, Tracked<M>)>>,
    },
    Count {
        topic: Topic,
        reply: oneshot::Sender<usize>,
    },
    GetByKey {
        topic: Topic,
        key: Key,
        reply: oneshot::Sender<Vec<(OwnerId, Tracked<M>)>>,
    },
    Replicas {
        reply: oneshot::Sender<(ReplicaRef, Vec<(ReplicaRef, Status)>)>,
    },
    GracefulPermdown {
        reply: oneshot::Sender<()>,
    },
}

type OwnerWatch = Pin<Box<dyn Future<Output = OwnerId> + Send>>;

pub(crate) struct Shard<M, T> {
    index: usize,
    topic: String,
    replica: ReplicaRef,
    config: TrackerConfig,
    state: State<Tracked<M>>,
    replicas: Replicas,
    generations: DeltaGenerations<Tracked<M>>,
    pending_clockset: Vec<(ReplicaRef, VClock)>,
    silent_periods: u32,
    ticks: u64,
    refs: u64,
    transport: Arc<T>,
    handler: Arc<dyn DiffHandler<M>>,
    events: broadcast::Sender<TrackerEvent>,
    watched: HashSet<OwnerId>,
    watches: FuturesUnordered<OwnerWatch>,
}

impl<M, T> Shard<M, T>
where
    M: Clone + Send + Sync + 'static,
    T: Transport<M>,
{
    pub(crate) fn new(
        index: usize,
        topic: String,
        config: TrackerConfig,
        transport: Arc<T>,
        handler: Arc<dyn DiffHandler<M>>,
        events: broadcast::Sender<TrackerEvent>,
    ) -> Self {
        let replica = ReplicaRef::new(transport.node());
        Self {
            index,
            topic,
            state: State::new(replica.clone()),
            replica,
            generations: DeltaGenerations::new(config.max_delta_sizes.clone()),
            config,
            replicas: Replicas::new(),
            pending_clockset: Vec::new(),
            silent_periods: 0,
            ticks: 0,
            refs: 0,
            transport,
            handler,
            events,
            watched: HashSet::new(),
            watches: FuturesUnordered::new(),
        }
    }

    // ANCHOR: run
    pub(crate) async fn run(mut self, mut commands: mpsc::Receiver<Command<M>>) {
        let mut gossip = self.transport.subscribe(&self.topic);
        // Nodes started together should not all heartbeat in the same instant.
        let stutter = self
            .config
            .broadcast_period
            .mul_f64(rand::random::<f64>() * 0.25);
        let mut next_tick = Instant::now() + stutter;
        loop {
            tokio::select! {
                command = commands.recv() => match command {
                    Some(Command::GracefulPermdown { reply }) => {
                        self.broadcast(Gossip::GracefulPermdown { from: self.replica.clone() });
                        // Answered once the goodbye has left this node: the caller
                        // is about to exit, and a goodbye lost with the process
                        // leaves our presences listed for the whole down period.
                        self.transport.flush().await;
                        let _ = reply.send(());
                        return;
                    }
                    Some(command) => self.handle_command(command),
                    // Every handle is gone: stop like a crash (peers time us out).
                    None => return,
                },
                message = gossip.recv() => match message {
                    Some(message) => self.handle_gossip(&message),
                    None => return,
                },
                () = sleep_until(next_tick) => {
                    self.tick();
                    next_tick += self.config.broadcast_period;
                }
                Some(owner) = self.watches.next(), if !self.watches.is_empty() => {
                    self.watched.remove(&owner);
                    let left = self.state.leave_owner(owner);
                    self.report(Changes { joins: Vec::new(), leaves: left });
                }
            }
        }
    }
    // ANCHOR_END: run

    fn broadcast(&self, message: Gossip<M>) {
        self.transport
            .broadcast_from(&self.topic, Arc::new(message));
    }

    fn send_to(&self, to: &ReplicaRef, message: Gossip<M>) {
        self.transport
            .direct_send(&to.name, &self.topic, Arc::new(message));
    }

    fn next_ref(&mut self) -> Arc<str> {
        self.refs += 1;
        format!("{:x}-{}-{}", self.replica.vsn, self.index, self.refs).into()
    }

    fn report(&self, changes: Changes<Tracked<M>>) {
        if changes.is_empty() {
            return;
        }
        let mut diff = Diff::new();
        for e in changes.joins {
            diff.entry(e.topic).or_default().joins.push((e.key, e.meta));
        }
        for e in changes.leaves {
            diff.entry(e.topic)
                .or_default()
                .leaves
                .push((e.key, e.meta));
        }
        self.handler.handle_diff(&diff);
    }

    fn emit(&self, event: TrackerEvent) {
        // Nobody listening is fine: events are for tests and dashboards.
        let _ = self.events.send(event);
    }

    fn watch_owner(&mut self, owner: OwnerId, mut alive: watch::Receiver<()>) {
        if self.watched.insert(owner) {
            self.watches.push(Box::pin(async move {
                // `changed` fails once the owner's sender is dropped: the owner ended.
                while alive.changed().await.is_ok() {}
                owner
            }));
        }
    }

    fn handle_command(&mut self, command: Command<M>) {
        match command {
            Command::Track {
                owner,
                alive,
                topic,
                key,
                meta,
                reply,
            } => {
                let tracked = Tracked {
                    meta,
                    phx_ref: self.next_ref(),
                    phx_ref_prev: None,
                };
                let phx_ref = tracked.phx_ref.clone();
                let result = match self.state.join(owner, topic.clone(), key.clone(), tracked) {
                    Ok(tag) => {
                        self.watch_owner(owner, alive);
                        let entry = self
                            .state
                            .local_entry(&topic, owner, &key)
                            .cloned()
                            .expect("just joined");
                        debug_assert_eq!(tag.replica, self.replica);
                        self.report(Changes {
                            joins: vec![entry],
                            leaves: Vec::new(),
                        });
                        Ok(phx_ref)
                    }
                    Err(_) => Err(TrackError::AlreadyTracked),
                };
                let _ = reply.send(result);
            }
            Command::Untrack {
                owner,
                topic,
                key,
                reply,
            } => {
                if let Some(left) = self.state.leave(owner, &topic, &key) {
                    self.report(Changes {
                        joins: Vec::new(),
                        leaves: vec![left],
                    });
                }
                let _ = reply.send(());
            }
            Command::UntrackAll { owner, reply } => {
                let left = self.state.leave_owner(owner);
                self.report(Changes {
                    joins: Vec::new(),
                    leaves: left,
                });
                let _ = reply.send(());
            }
            Command::Update {
                owner,
                topic,
                key,
                update,
                reply,
            } => {
                let result = match self.state.local_entry(&topic, owner, &key) {
                    None => Err(TrackError::NoPresence),
                    Some(old) => {
                        let new = Tracked {
                            meta: update(&old.meta.meta),
                            phx_ref_prev: Some(old.meta.phx_ref.clone()),
                            phx_ref: self.next_ref(),
                        };
                        let phx_ref = new.phx_ref.clone();
                        let (old, _) = self
                            .state
                            .leave_join(owner, &topic, &key, new)
                            .expect("looked up above");
                        let joined = self.state.local_entry(&topic, owner, &key).cloned();
                        self.report(Changes {
                            joins: joined.into_iter().collect(),
                            leaves: vec![old],
                        });
                        Ok(phx_ref)
                    }
                };
                let _ = reply.send(result);
            }
            Command::List {
                topic,
                dirty,
                reply,
            } => {
                let list = if dirty {
                    self.state.dirty_list(&topic)
                } else {
                    self.state.list(&topic)
                };
                let _ = reply.send(list);
            }
            Command::Count { topic, reply } => {
                let _ = reply.send(self.state.count(&topic));
            }
            Command::GetByKey { topic, key, reply } => {
                let _ = reply.send(self.state.get_by_key(&topic, &key));
            }
            Command::Replicas { reply } => {
                let replicas = self
                    .replicas
                    .iter()
                    .map(|r| (r.replica.clone(), r.status))
                    .collect();
                let _ = reply.send((self.replica.clone(), replicas));
            }
            Command::GracefulPermdown { .. } => unreachable!("handled in run"),
        }
    }

    // ANCHOR: tick
    fn tick(&mut self) {
        self.ticks += 1;
        // 1. Gossip: the delta if there is one, else a bare clock every few silent periods.
        if self.state.has_delta() {
            let delta = self.state.take_delta();
            self.generations.push(&delta);
            self.broadcast(Gossip::Heartbeat {
                from: self.replica.clone(),
                delta: Some(delta),
                clocks: self.state.clocks(),
            });
            self.silent_periods = 0;
        } else if self.silent_periods >= self.config.max_silent_periods {
            self.broadcast(Gossip::Heartbeat {
                from: self.replica.clone(),
                delta: None,
                clocks: self.state.clocks(),
            });
            self.silent_periods = 0;
        } else {
            self.silent_periods += 1;
        }
        // ANCHOR: catch_up
        // 2. Catch up: ask only the replicas whose clocks add something to ours.
        if self.ticks % u64::from(self.config.clock_sample_periods) == 0 {
            let mut clockset = std::mem::take(&mut self.pending_clockset);
            clock::append_clock(&mut clockset, self.replica.clone(), self.state.clocks());
            for (replica, _) in clockset {
                if replica != self.replica {
                    self.send_to(
                        &replica,
                        Gossip::TransferReq {
                            from: self.replica.clone(),
                            to: replica.clone(),
                            clocks: self.state.clocks(),
                        },
                    );
                }
            }
        }
        // ANCHOR_END: catch_up
        // 3. Liveness.
        let events = self.replicas.detect_down(
            Instant::now().into_std(),
            self.config.down_period,
            self.config.permdown_period,
        );
        self.apply_replica_events(events);
    }
    // ANCHOR_END: tick

    fn apply_replica_events(&mut self, events: Vec<ReplicaEvent>) {
        let observer: Arc<str> = self.replica.name.clone();
        for event in events {
            match event {
                ReplicaEvent::Up(replica) => {
                    let joins = self.state.replica_up(&replica);
                    self.report(Changes {
                        joins,
                        leaves: Vec::new(),
                    });
                    self.emit(TrackerEvent::ReplicaUp {
                        observer: observer.clone(),
                        replica,
                    });
                }
                ReplicaEvent::Down(replica) => {
                    let leaves = self.state.replica_down(&replica);
                    self.report(Changes {
                        joins: Vec::new(),
                        leaves,
                    });
                    self.emit(TrackerEvent::ReplicaDown {
                        observer: observer.clone(),
                        replica,
                    });
                }
                ReplicaEvent::Permdown(replica) => {
                    // No diff: its presences left when it went down.
                    self.state.remove_down_replica(&replica);
                    self.generations.remove_replica(&replica);
                    self.pending_clockset.retain(|(r, _)| *r != replica);
                    self.emit(TrackerEvent::ReplicaPermdown {
                        observer: observer.clone(),
                        replica,
                    });
                }
            }
        }
    }

    /// Records a remote clock for the next sampling, limited to replicas we know are up:
    /// entries about replicas we cannot see would make us ask for data we would ignore.
    fn record_clock(&mut self, from: &ReplicaRef, clocks: &VClock) {
        let known: VClock = clocks
            .iter()
            .filter(|(r, _)| **r == self.replica || self.state.is_up(r))
            .map(|(r, &n)| (r.clone(), n))
            .collect();
        clock::append_clock(&mut self.pending_clockset, from.clone(), known);
    }

    // ANCHOR: handle_gossip
    fn handle_gossip(&mut self, message: &Gossip<M>) {
        let from = message.from();
        if from.name == self.replica.name {
            return; // an earlier incarnation of this node, still in flight
        }
        match message {
            Gossip::Heartbeat { delta, clocks, .. } => {
                let events = self.replicas.put_heartbeat(from, Instant::now().into_std());
                self.apply_replica_events(events);
                if let Some(delta) = delta {
                    let changes = self.state.merge_delta(delta);
                    self.report(changes);
                    self.generations.push(delta);
                }
                self.record_clock(from, clocks);
            }
            Gossip::TransferReq { to, clocks, .. } if *to == self.replica => {
                let transfer = self.generations.extract(&self.state, from, clocks);
                self.send_to(
                    from,
                    Gossip::TransferAck {
                        from: self.replica.clone(),
                        to: from.clone(),
                        transfer,
                    },
                );
            }
            Gossip::TransferAck { to, transfer, .. } if *to == self.replica => {
                let changes = match transfer {
                    Transfer::Delta(delta) => self.state.merge_delta(delta),
                    Transfer::Snapshot(snapshot) => {
                        // Our generations describe a past the snapshot supersedes.
                        self.generations.clear();
                        self.state.merge_snapshot(snapshot)
                    }
                };
                self.report(changes);
            }
            Gossip::TransferReq { .. } | Gossip::TransferAck { .. } => {}
            Gossip::GracefulPermdown { from } => {
                let events = self.replicas.remove(from);
                self.apply_replica_events(events);
            }
        }
    }
    // ANCHOR_END: handle_gossip
}
