//! The Postgres backend, chosen by a `postgres://` URL.
//!
//! `occurred_at` is a `TIMESTAMPTZ` (microsecond precision, like the SQLite integer).

use std::str::FromStr;

use sqlx::Row;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use time::OffsetDateTime;

use super::model::{Activity, NewActivity};
use super::store::{Migration, StoreError, StoreOptions, activity_from_columns};

const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    description: "create activities",
    sql: "CREATE TABLE activities (
              id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
              who           TEXT        NOT NULL,
              what          TEXT        NOT NULL,
              kind          TEXT        NOT NULL,
              occurred_at   TIMESTAMPTZ NOT NULL,
              customer_tier TEXT        NOT NULL
          );
          CREATE INDEX activities_newest ON activities (occurred_at DESC, id DESC);",
}];

/// A pool of Postgres connections, optionally confined to one schema.
#[derive(Debug, Clone)]
pub(super) struct PgBackend {
    pool: PgPool,
}

impl PgBackend {
    pub(super) async fn open(options: &StoreOptions) -> Result<Self, StoreError> {
        let mut connect = PgConnectOptions::from_str(options.url.trim())?;
        if let Some(schema) = &options.postgres_schema {
            if !is_plain_identifier(schema) {
                return Err(StoreError::InvalidSchema(schema.clone()));
            }
            // Every connection resolves unqualified names in this schema only, so the
            // SQL below never names it and tests in separate schemas never meet.
            connect = connect.options([("search_path", schema.as_str())]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await?;
        let backend = Self { pool };
        backend.migrate(options.postgres_schema.as_deref()).await?;
        Ok(backend)
    }

    /// Applies the migrations this schema hasn't seen. An advisory lock serializes
    /// servers starting at once: `CREATE TABLE IF NOT EXISTS` alone races in Postgres.
    async fn migrate(&self, schema: Option<&str>) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let lock_name = format!("section2-activities-migrations:{}", schema.unwrap_or(""));
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
            .bind(lock_name)
            .execute(&mut *tx)
            .await?;
        if let Some(schema) = schema {
            // Checked by `is_plain_identifier`, so quoting it here is safe.
            sqlx::raw_sql(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version     BIGINT      PRIMARY KEY,
                 description TEXT        NOT NULL,
                 applied_at  TIMESTAMPTZ NOT NULL DEFAULT now()
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
            sqlx::query("INSERT INTO schema_migrations (version, description) VALUES ($1, $2)")
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
            "INSERT INTO activities (who, what, kind, occurred_at, customer_tier)
             VALUES ($1, $2, $3, $4, $5)
             RETURNING id",
        )
        .bind(&new.who)
        .bind(&new.what)
        .bind(new.kind.as_str())
        .bind(occurred_at)
        .bind(new.customer_tier.as_str())
        .fetch_one(&self.pool)
        .await?;
        Ok(id)
    }

    pub(super) async fn list_newest(&self, limit: usize) -> Result<Vec<Activity>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, who, what, kind, occurred_at, customer_tier
             FROM activities
             ORDER BY occurred_at DESC, id DESC
             LIMIT $1",
        )
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|row| {
                activity_from_columns(
                    row.try_get("id")?,
                    row.try_get("who")?,
                    row.try_get("what")?,
                    row.try_get("kind")?,
                    row.try_get("occurred_at")?,
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

/// A lowercase SQL identifier that needs no escaping: `[a-z_][a-z0-9_]*`, at most 63
/// bytes (Postgres' limit).
fn is_plain_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z' | '_'))
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
        && name.len() <= 63
}
