//! What does the store add on top of the database? `ActivityStore::create` and
//! `list_newest` against the same SQL run raw through sqlx on an identical SQLite file
//! (same pool, WAL, synchronous=NORMAL): the difference is validation, stamping and
//! decoding rows into `Activity`, which must stay small next to the database's own work.
//!
//! `cargo bench -p activity --bench activity_store`
//! With `SECTION2_POSTGRES_URL` set, `create` and `list_newest` on Postgres are measured
//! too (absolute figures only).

use std::hint::black_box;
use std::time::{Duration, Instant};

use activity::{ActivityGenerator, ActivityStore, NewActivity, seed_store};
use criterion::{Criterion, criterion_group, criterion_main};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

/// Rows in the table when listing: a feed with some history.
const ROWS: usize = 10_000;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

/// The baseline: the same table and index as the store's SQLite backend, used raw.
async fn raw_pool(path: &std::path::Path) -> SqlitePool {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(5));
    let pool = SqlitePoolOptions::new()
        .max_connections(5)
        .connect_with(options)
        .await
        .expect("raw pool");
    sqlx::raw_sql(
        "CREATE TABLE activities (
             id INTEGER PRIMARY KEY AUTOINCREMENT, who TEXT NOT NULL, what TEXT NOT NULL,
             kind TEXT NOT NULL, occurred_at_us INTEGER NOT NULL, customer_tier TEXT NOT NULL);
         CREATE INDEX activities_newest ON activities (occurred_at_us DESC, id DESC);",
    )
    .execute(&pool)
    .await
    .expect("raw schema");
    pool
}

async fn raw_insert(pool: &SqlitePool, new: &NewActivity, at_us: i64) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO activities (who, what, kind, occurred_at_us, customer_tier)
         VALUES (?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(&new.who)
    .bind(&new.what)
    .bind(new.kind.as_str())
    .bind(at_us)
    .bind(new.customer_tier.as_str())
    .fetch_one(pool)
    .await
    .expect("raw insert")
}

async fn raw_list(pool: &SqlitePool, limit: i64) -> usize {
    let rows: Vec<(i64, String, String, String, i64, String)> = sqlx::query_as(
        "SELECT id, who, what, kind, occurred_at_us, customer_tier FROM activities
         ORDER BY occurred_at_us DESC, id DESC LIMIT ?",
    )
    .bind(limit)
    .fetch_all(pool)
    .await
    .expect("raw list");
    rows.len()
}

fn per_call(n: u32, mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        f();
    }
    start.elapsed() / n
}

fn bench(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("temp dir");
    let store = rt
        .block_on(ActivityStore::open(
            dir.path().join("store.db").to_str().unwrap(),
        ))
        .expect("store");
    let raw = rt.block_on(raw_pool(&dir.path().join("raw.db")));
    let mut generator = ActivityGenerator::seeded(1);
    let sample = generator.next_activity();
    let mut at_us = 1_767_603_600_000_000i64;

    let mut group = c.benchmark_group("sqlite");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(3));
    group.bench_function("baseline: raw INSERT", |b| {
        b.iter(|| {
            at_us += 1;
            rt.block_on(raw_insert(&raw, black_box(&sample), at_us))
        })
    });
    group.bench_function("store.create", |b| {
        b.iter(|| {
            rt.block_on(store.create(black_box(sample.clone())))
                .unwrap()
        })
    });

    // Fill both to ROWS so listing reads from a table with some history.
    let have = rt.block_on(store.count()).unwrap() as usize;
    rt.block_on(seed_store(&store, ROWS.saturating_sub(have), 2))
        .unwrap();
    let have_raw: i64 = rt
        .block_on(sqlx::query_scalar("SELECT COUNT(*) FROM activities").fetch_one(&raw))
        .unwrap();
    for new in ActivityGenerator::seeded(2).take(ROWS.saturating_sub(have_raw as usize)) {
        at_us += 1;
        rt.block_on(raw_insert(&raw, &new, at_us));
    }
    for limit in [20usize, 100] {
        group.bench_function(format!("baseline: raw SELECT LIMIT {limit}"), |b| {
            b.iter(|| rt.block_on(raw_list(&raw, black_box(limit as i64))))
        });
        group.bench_function(format!("store.list_newest({limit})"), |b| {
            b.iter(|| rt.block_on(store.list_newest(black_box(limit))).unwrap())
        });
    }
    group.finish();

    // Criterion reports each figure; the ratios are what this bench is about.
    let n = 2_000;
    let raw_create = per_call(n, || {
        at_us += 1;
        rt.block_on(raw_insert(&raw, &sample, at_us));
    });
    let store_create = per_call(n, || {
        rt.block_on(store.create(sample.clone())).unwrap();
    });
    println!(
        "sqlite create: store {store_create:?} vs raw INSERT {raw_create:?} per call: ratio {:.2}",
        store_create.as_secs_f64() / raw_create.as_secs_f64()
    );
    for limit in [20usize, 100] {
        let raw_list_t = per_call(n, || {
            rt.block_on(raw_list(&raw, limit as i64));
        });
        let store_list = per_call(n, || {
            rt.block_on(store.list_newest(limit)).unwrap();
        });
        println!(
            "sqlite list {limit}: store {store_list:?} vs raw SELECT {raw_list_t:?} per call: ratio {:.2}",
            store_list.as_secs_f64() / raw_list_t.as_secs_f64()
        );
    }

    if let Ok(url) = std::env::var("SECTION2_POSTGRES_URL") {
        let schema = format!("bench_{}", std::process::id());
        let options = activity::StoreOptions::new(url.clone()).postgres_schema(&schema);
        let pg = rt
            .block_on(ActivityStore::open_with(options))
            .expect("postgres store");
        let pg_create = per_call(n, || {
            rt.block_on(pg.create(sample.clone())).unwrap();
        });
        let pg_list = per_call(n, || {
            rt.block_on(pg.list_newest(20)).unwrap();
        });
        println!("postgres: create {pg_create:?}, list_newest(20) {pg_list:?} per call ({n} rows)");
        rt.block_on(async {
            pg.close().await;
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&url)
                .await
                .expect("cleanup connection");
            sqlx::raw_sql(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
                .execute(&mut conn)
                .await
                .expect("drop bench schema");
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
