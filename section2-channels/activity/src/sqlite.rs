//! The SQLite backend: one file, zero set-up, the default.
//!
//! `occurred_at` is stored as whole microseconds since the Unix epoch (UTC) in an
//! INTEGER column. SQLite has no timestamp type; text timestamps sort correctly only
//! while every writer formats them identically, integers always do.

use std::str::FromStr;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Connection, Row};
use time::OffsetDateTime;

use super::model::{Activity, NewActivity};
use super::store::{Migration, StoreError, StoreOptions, activity_from_columns};

const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    description: "create activities",
    // AUTOINCREMENT: ids are never reused, even after deletes, so "higher id = created
    // later" holds for the tie-break.
    sql: "CREATE TABLE activities (
              id             INTEGER PRIMARY KEY AUTOINCREMENT,
              who            TEXT    NOT NULL,
              what           TEXT    NOT NULL,
              kind           TEXT    NOT NULL,
              occurred_at_us INTEGER NOT NULL,
              customer_tier  TEXT    NOT NULL
          );
          CREATE INDEX activities_newest ON activities (occurred_at_us DESC, id DESC);",
}];

/// A pool of SQLite connections to one database.
#[derive(Debug, Clone)]
pub(super) struct SqliteBackend {
    pool: SqlitePool,
}

impl SqliteBackend {
    pub(super) async fn open(options: &StoreOptions) -> Result<Self, StoreError> {
        let url = options.url.trim();
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let connect = if url.starts_with("sqlite:") {
            SqliteConnectOptions::from_str(url)?
        } else {
            SqliteConnectOptions::new().filename(url)
        };
        if !in_memory {
            // SQLite creates the file but not its directory: `sqlite://target/feed.db`
            // should work from a fresh checkout.
            let parent = connect.get_filename().parent();
            if let Some(dir) = parent.filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(sqlx::Error::Io)?;
            }
        }
        let connect = connect
            .create_if_missing(true)
            // WAL lets readers (fetches) run while one writer (a create) commits; NORMAL
            // sync is durable across application crashes and the usual choice with WAL.
            .journal_mode(if in_memory {
                SqliteJournalMode::Memory
            } else {
                SqliteJournalMode::Wal
            })
            .synchronous(SqliteSynchronous::Normal)
            // Writers queue for the file lock instead of failing at once with SQLITE_BUSY.
            .busy_timeout(std::time::Duration::from_secs(5));

        let mut pool = SqlitePoolOptions::new().acquire_timeout(options.acquire_timeout);
        pool = if in_memory {
            // Each in-memory connection is its own database: keep exactly one, forever.
            pool.max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            pool.max_connections(options.max_connections)
        };
        let pool = pool.connect_with(connect).await?;
        let backend = Self { pool };
        backend.migrate().await?;
        Ok(backend)
    }

    /// Applies the migrations this database hasn't seen, under SQLite's write lock
    /// (`BEGIN IMMEDIATE`), so two processes opening one file can't both apply them.
    async fn migrate(&self) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version     INTEGER PRIMARY KEY,
                 description TEXT    NOT NULL
             )",
        )
        .execute(&mut *tx)
        .await?;
        let current: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
                .fetch_one(&mut *tx)
                .await?;
        for m in MIGRATIONS.iter().filter(|m| m.version > current) {
            sqlx::raw_sql(m.sql).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO schema_migrations (version, description) VALUES (?, ?)")
                .bind(m.version)
                .bind(m.description)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn insert(
        &self,
        new: &NewActivity,
        occurred_at: OffsetDateTime,
    ) -> Result<i64, StoreError> {
        let id = sqlx::query_scalar(
            "INSERT INTO activities (who, what, kind, occurred_at_us, customer_tier)
             VALUES (?, ?, ?, ?, ?)
             RETURNING id",
        )
        .bind(&new.who)
        .bind(&new.what)
        .bind(new.kind.as_str())
        .bind(to_micros(occurred_at))
        .bind(new.customer_tier.as_str())
        .fetch_one(&self.pool)
        .await?;
        Ok(id)
    }

    pub(super) async fn list_newest(&self, limit: usize) -> Result<Vec<Activity>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, who, what, kind, occurred_at_us, customer_tier
             FROM activities
             ORDER BY occurred_at_us DESC, id DESC
             LIMIT ?",
        )
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|row| {
                let id: i64 = row.try_get("id")?;
                let micros: i64 = row.try_get("occurred_at_us")?;
                let occurred_at = from_micros(micros).ok_or(StoreError::Corrupt {
                    id,
                    column: "occurred_at_us",
                    value: micros.to_string(),
                })?;
                activity_from_columns(
                    id,
                    row.try_get("who")?,
                    row.try_get("what")?,
                    row.try_get("kind")?,
                    occurred_at,
                    row.try_get("customer_tier")?,
                )
            })
            .collect()
    }

    pub(super) async fn count(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM activities")
            .fetch_one(&self.pool)
            .await?;
        Ok(n as u64)
    }

    pub(super) async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub(super) async fn close(&self) {
        self.pool.close().await;
    }
}

fn to_micros(at: OffsetDateTime) -> i64 {
    // i64 microseconds reach beyond the year 292,000: no realistic clock overflows it.
    (at.unix_timestamp_nanos() / 1_000) as i64
}

fn from_micros(micros: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000).ok()
}
