//! The activity store: one API over SQLite (the default) or Postgres.
//!
//! Why sqlx: one async, pooled API for both databases, pure Rust except the bundled
//! SQLite, and its runtime query functions (`sqlx::query`, no compile-time-checked
//! macros) build without a database or the network. Its macros are off, which also
//! keeps the build lighter on a 2-core machine. The alternative, rusqlite plus
//! tokio-postgres, means two APIs, a blocking SQLite to push onto `spawn_blocking`, and
//! a separate pool crate. Each backend keeps its own SQL (see `sqlite.rs` and
//! `postgres.rs`): the two dialects differ in types and placeholders, and one honest
//! file per database reads better than a lowest-common-denominator `Any` driver.

use std::sync::Arc;
use std::time::Duration;

use super::clock::{Clock, SystemClock, stamp};
use super::model::{Activity, NewActivity};
use super::validation::ValidationErrors;
use super::{postgres, sqlite};

/// The most activities one `list_newest` returns, whatever the caller asks for: a fetch
/// is one reply frame, and a client asking for a million rows must not get them.
pub const MAX_LIST_LIMIT: usize = 100;

/// What a feed shows when the client names no limit.
pub const DEFAULT_LIST_LIMIT: usize = 20;

/// The URL used when none is given: a SQLite file under `target/` (relative to the
/// working directory, created if missing), so a learner's runs never leave a database
/// in the repository.
pub const DEFAULT_URL: &str = "sqlite://target/section2/activities.db";

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The input was rejected; nothing was written. Reply with
    /// [`ValidationErrors::reply_payload`].
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
    /// The URL names no database this store can open.
    #[error(
        "unsupported database URL {0:?}: use sqlite://PATH, a plain file path, sqlite::memory: or postgres://..."
    )]
    UnsupportedUrl(String),
    /// The Postgres schema name is not a plain lowercase identifier.
    #[error("invalid Postgres schema name {0:?}: use lowercase letters, digits and _")]
    InvalidSchema(String),
    /// A stored row no longer reads as an activity (edited by hand, or a newer schema).
    #[error("activity {id} has an unreadable {column}: {value:?}")]
    Corrupt {
        /// The row's id.
        id: i64,
        /// The column that didn't read.
        column: &'static str,
        /// What it held.
        value: String,
    },
    /// The database failed or couldn't be reached; the operation did not happen (a
    /// `create` is one statement, so it is all or nothing).
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// How to open a store. [`ActivityStore::open`] covers the common case.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// `sqlite://PATH`, `sqlite:PATH`, a plain path, `sqlite::memory:`, or `postgres://...`.
    pub url: String,
    /// Pool size (file SQLite and Postgres; an in-memory SQLite always uses one
    /// connection, since each connection would otherwise see its own empty database).
    pub max_connections: u32,
    /// How long a call waits for a pooled connection before failing.
    pub acquire_timeout: Duration,
    /// Postgres only: keep the tables in this schema (created if missing) instead of
    /// `public`. Tests give each test its own schema so they can run in parallel.
    pub postgres_schema: Option<String>,
}

impl StoreOptions {
    /// Defaults for `url`: 5 connections, 5 s acquire timeout, the default schema.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 5,
            acquire_timeout: Duration::from_secs(5),
            postgres_schema: None,
        }
    }

    /// Uses a dedicated Postgres schema (ignored for SQLite).
    pub fn postgres_schema(mut self, schema: impl Into<String>) -> Self {
        self.postgres_schema = Some(schema.into());
        self
    }

    /// Sets the pool size.
    pub fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = n.max(1);
        self
    }
}

#[derive(Debug, Clone)]
enum Backend {
    Sqlite(sqlite::SqliteBackend),
    Postgres(postgres::PgBackend),
}

// ANCHOR: store
/// A handle to the activity store. Cloning is cheap (a pool handle and a clock), so
/// every channel can hold its own copy; all clones share one pool.
///
/// The store, not any channel, is the source of truth: a channel that crashes or a
/// client that reconnects loses nothing, it just calls [`ActivityStore::list_newest`]
/// again.
#[derive(Debug, Clone)]
pub struct ActivityStore {
    backend: Backend,
    clock: Arc<dyn Clock>,
}
// ANCHOR_END: store

impl ActivityStore {
    /// Opens (creating if needed) the database at `url` and brings its schema up to date.
    ///
    /// `postgres://` and `postgresql://` URLs open Postgres; `sqlite://PATH`,
    /// `sqlite:PATH` or a plain path open (and create) a SQLite file; `sqlite::memory:`
    /// opens a private in-memory database, handy in tests.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        Self::open_with(StoreOptions::new(url)).await
    }

    /// Opens a store with explicit [`StoreOptions`].
    pub async fn open_with(options: StoreOptions) -> Result<Self, StoreError> {
        let url = options.url.trim();
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres(postgres::PgBackend::open(&options).await?)
        } else if url.starts_with("sqlite:") || (!url.is_empty() && !url.contains("://")) {
            Backend::Sqlite(sqlite::SqliteBackend::open(&options).await?)
        } else {
            return Err(StoreError::UnsupportedUrl(options.url.clone()));
        };
        Ok(Self {
            backend,
            clock: Arc::new(SystemClock),
        })
    }

    /// The same store, stamping `occurred_at` from `clock` (tests use a
    /// [`super::ManualClock`]).
    pub fn with_clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// `"sqlite"` or `"postgres"`: which database this store talks to.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    // ANCHOR: create
    /// Checks `new`, stamps it with the server's time and stores it.
    ///
    /// Returns the stored activity (with its id), or [`StoreError::Invalid`] naming every
    /// bad field, in which case nothing was written.
    pub async fn create(&self, new: NewActivity) -> Result<Activity, StoreError> {
        new.validate()?;
        // The server's clock, never the client's: clients' clocks drift and lie.
        let occurred_at = stamp(self.clock.now());
        let id = match &self.backend {
            Backend::Sqlite(db) => db.insert(&new, occurred_at).await?,
            Backend::Postgres(db) => db.insert(&new, occurred_at).await?,
        };
        Ok(Activity {
            id,
            who: new.who,
            what: new.what,
            kind: new.kind,
            occurred_at,
            customer_tier: new.customer_tier,
        })
    }
    // ANCHOR_END: create

    // ANCHOR: list_newest
    /// The newest activities first, at most `limit`, clamped to [`MAX_LIST_LIMIT`].
    ///
    /// Ordered by `occurred_at` descending, then `id` descending, so activities stamped
    /// in the same microsecond still come out in one stable order on both databases.
    /// A `limit` of 0 returns nothing.
    pub async fn list_newest(&self, limit: usize) -> Result<Vec<Activity>, StoreError> {
        let limit = limit.min(MAX_LIST_LIMIT);
        if limit == 0 {
            return Ok(Vec::new());
        }
        match &self.backend {
            Backend::Sqlite(db) => db.list_newest(limit).await,
            Backend::Postgres(db) => db.list_newest(limit).await,
        }
    }
    // ANCHOR_END: list_newest

    /// How many activities are stored.
    pub async fn count(&self) -> Result<u64, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.count().await,
            Backend::Postgres(db) => db.count().await,
        }
    }

    /// Whether the database answers: one trivial query (`SELECT 1`) on a pooled
    /// connection, what a readiness probe asks. Cheap on any table size, unlike
    /// [`ActivityStore::count`].
    pub async fn ping(&self) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.ping().await,
            Backend::Postgres(db) => db.ping().await,
        }
    }

    /// Closes the pool, waiting for connections in use to come back. Other clones stop
    /// working too.
    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite(db) => db.close().await,
            Backend::Postgres(db) => db.close().await,
        }
    }
}

/// One schema change, applied once, in order, inside a transaction.
pub(super) struct Migration {
    pub version: i64,
    pub description: &'static str,
    pub sql: &'static str,
}

/// Builds an [`Activity`] from a row's columns, reporting a value that no longer parses.
pub(super) fn activity_from_columns(
    id: i64,
    who: String,
    what: String,
    kind: String,
    occurred_at: time::OffsetDateTime,
    customer_tier: String,
) -> Result<Activity, StoreError> {
    let Ok(kind) = kind.parse() else {
        return Err(StoreError::Corrupt {
            id,
            column: "kind",
            value: kind,
        });
    };
    let Ok(customer_tier) = customer_tier.parse() else {
        return Err(StoreError::Corrupt {
            id,
            column: "customer_tier",
            value: customer_tier,
        });
    };
    Ok(Activity {
        id,
        who,
        what,
        kind,
        occurred_at,
        customer_tier,
    })
}
