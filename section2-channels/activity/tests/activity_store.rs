//! The activity store, one suite run against both databases.
//!
//! Every test in `store_tests!` runs twice: on SQLite (a fresh file in a temp dir) and
//! on Postgres (a fresh schema in the database named by `SECTION2_POSTGRES_URL`, so
//! tests run in parallel without seeing each other's rows). Without that variable the
//! Postgres copies report a skip (`testkit::postgres`); in CI (`CI` set) they fail, because CI
//! (`.ci/run`) installs and starts Postgres and a skip there would hide a broken setup.

use std::collections::HashSet;

use activity::{
    Activity, ActivityGenerator, ActivityKind, ActivityStore, CustomerTier, DEFAULT_LIST_LIMIT,
    MAX_LIST_LIMIT, MAX_WHAT_LEN, MAX_WHO_LEN, ManualClock, NewActivity, StoreError, StoreOptions,
    SystemClock, fetch_limit, seed_store,
};
use serde_json::json;
use time::{Duration, OffsetDateTime};

/// 2026-01-05 09:00:00 UTC: every test's clock starts here.
fn t0() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_767_603_600).unwrap()
}

fn purchase(who: &str) -> NewActivity {
    NewActivity::new(
        who,
        "bought 1 × standing desk",
        ActivityKind::Purchase,
        CustomerTier::Business,
    )
}

/// One test's private database and how to reach it again.
struct TestDb {
    store: ActivityStore,
    clock: ManualClock,
    options: StoreOptions,
    /// Keeps the SQLite file alive until the test ends.
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("a temp dir for the SQLite file");
        let url = format!("sqlite://{}", dir.path().join("activities.db").display());
        Self::open(StoreOptions::new(url), Some(dir)).await
    }

    /// `None` (after a skip the xtask sees) when no Postgres is configured outside CI.
    async fn postgres(test: &str) -> Option<TestDb> {
        let url = testkit::postgres::url_or_skip(test)?;
        let schema = testkit::postgres::schema_for(test);
        let options = StoreOptions::new(url)
            .postgres_schema(schema)
            .max_connections(4);
        Some(Self::open(options, None).await)
    }

    async fn open(options: StoreOptions, dir: Option<tempfile::TempDir>) -> TestDb {
        let clock = ManualClock::new(t0());
        let store = ActivityStore::open_with(options.clone())
            .await
            .unwrap_or_else(|e| panic!("opening the store at {:?} failed: {e}", options.url))
            .with_clock(clock.clone());
        TestDb {
            store,
            clock,
            options,
            _dir: dir,
        }
    }

    /// A second, independent handle on the same database (a restarted server).
    async fn reopen(&self) -> ActivityStore {
        ActivityStore::open_with(self.options.clone())
            .await
            .expect("reopening the same database")
    }

    /// Drops the test's Postgres schema; SQLite's temp dir goes away on its own.
    async fn cleanup(self) {
        self.store.close().await;
        if let Some(schema) = &self.options.postgres_schema {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&self.options.url)
                .await
                .expect("connecting to drop the test schema");
            sqlx::raw_sql(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
                .execute(&mut conn)
                .await
                .expect("dropping the test schema");
        }
    }
}

/// Writes each test once; it runs as `sqlite::NAME` and `postgres::NAME`.
macro_rules! store_tests {
    ($(async fn $name:ident($db:ident: &TestDb) $body:block)*) => {
        mod sqlite {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = TestDb::sqlite().await;
                    {
                        let $db = &db;
                        $body
                    }
                    db.cleanup().await;
                }
            )*
        }
        mod postgres {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = TestDb::postgres(stringify!($name)).await else { return };
                    {
                        let $db = &db;
                        $body
                    }
                    db.cleanup().await;
                }
            )*
        }
    };
}

store_tests! {
    async fn create_returns_the_stored_activity_stamped_by_the_server(db: &TestDb) {
        let created = db.store.create(purchase("Grace H.")).await.unwrap();
        assert!(created.id > 0, "the database assigns a positive id, got {}", created.id);
        assert_eq!(created.who, "Grace H.");
        assert_eq!(created.kind, ActivityKind::Purchase);
        assert_eq!(created.customer_tier, CustomerTier::Business);
        assert_eq!(created.occurred_at, t0(), "occurred_at comes from the store's clock");
        let listed = db.store.list_newest(10).await.unwrap();
        assert_eq!(
            listed,
            vec![created],
            "what create returns must equal what list_newest reads back (same precision)"
        );
    }

    async fn the_real_clock_stamps_microsecond_utc_times(db: &TestDb) {
        let store = db.store.clone().with_clock(SystemClock);
        let before = OffsetDateTime::now_utc() - Duration::microseconds(1);
        let created = store.create(purchase("Linus T.")).await.unwrap();
        let after = OffsetDateTime::now_utc();
        assert!(
            before <= created.occurred_at && created.occurred_at <= after,
            "occurred_at {} should lie between {before} and {after}",
            created.occurred_at
        );
        assert_eq!(created.occurred_at.nanosecond() % 1_000, 0, "cut to microseconds");
        assert_eq!(store.list_newest(1).await.unwrap(), vec![created]);
    }

    async fn newest_first_by_occurred_at_not_by_insertion(db: &TestDb) {
        db.clock.set(t0() + Duration::hours(1));
        let ten = db.store.create(purchase("at 10:00")).await.unwrap();
        db.clock.set(t0());
        let nine = db.store.create(purchase("at 09:00")).await.unwrap();
        db.clock.set(t0() + Duration::hours(2));
        let eleven = db.store.create(purchase("at 11:00")).await.unwrap();
        let order: Vec<_> = db.store.list_newest(10).await.unwrap().into_iter().map(|a| a.who).collect();
        assert_eq!(
            order,
            vec![eleven.who, ten.who, nine.who],
            "list_newest must order by occurred_at descending, whatever the insertion order"
        );
    }

    async fn equal_timestamps_break_ties_on_id_descending(db: &TestDb) {
        let mut ids = Vec::new();
        for who in ["Ada L.", "Barbara L.", "Ken T.", "Radia P.", "Tim B."] {
            ids.push(db.store.create(purchase(who)).await.unwrap().id);
        }
        let listed: Vec<i64> = db.store.list_newest(10).await.unwrap().iter().map(|a| a.id).collect();
        ids.reverse();
        assert_eq!(listed, ids, "same occurred_at: the higher id (created later) comes first");
    }

    async fn limit_is_clamped_and_zero_returns_nothing(db: &TestDb) {
        seed_store(&db.store, MAX_LIST_LIMIT + 5, 1).await.unwrap();
        assert_eq!(db.store.count().await.unwrap(), (MAX_LIST_LIMIT + 5) as u64);
        assert_eq!(db.store.list_newest(3).await.unwrap().len(), 3);
        assert_eq!(
            db.store.list_newest(usize::MAX).await.unwrap().len(),
            MAX_LIST_LIMIT,
            "a fetch never returns more than MAX_LIST_LIMIT activities"
        );
        assert!(db.store.list_newest(0).await.unwrap().is_empty());
    }

    async fn invalid_input_names_every_bad_field_and_writes_nothing(db: &TestDb) {
        let bad = NewActivity::new(
            "   ",
            "x".repeat(MAX_WHAT_LEN + 1),
            ActivityKind::Review,
            CustomerTier::Free,
        );
        let Err(StoreError::Invalid(errors)) = db.store.create(bad).await else {
            panic!("a blank who and an oversized what must be rejected as invalid");
        };
        assert_eq!(errors.fields(), vec!["what", "who"]);
        assert_eq!(errors.messages_for("who"), vec!["can't be blank"]);
        assert_eq!(db.store.count().await.unwrap(), 0, "a rejected create writes nothing");
    }

    async fn longest_allowed_fields_round_trip(db: &TestDb) {
        // Multi-byte characters: the limits count characters, and the database keeps them.
        let who = "é".repeat(MAX_WHO_LEN);
        let what = "✓".repeat(MAX_WHAT_LEN);
        let created = db
            .store
            .create(NewActivity::new(who.clone(), what.clone(), ActivityKind::Login, CustomerTier::Pro))
            .await
            .unwrap();
        let listed = db.store.list_newest(1).await.unwrap();
        assert_eq!(listed[0].who, who);
        assert_eq!(listed[0].what, what);
        assert_eq!(listed, vec![created]);
    }

    async fn concurrent_creates_all_land_with_unique_ids(db: &TestDb) {
        const WRITERS: usize = 40;
        let mut tasks = tokio::task::JoinSet::new();
        for (i, new) in ActivityGenerator::seeded(9).take(WRITERS).enumerate() {
            let store = db.store.clone();
            let clock = db.clock.clone();
            tasks.spawn(async move {
                if i % 2 == 0 {
                    clock.advance(Duration::milliseconds(1));
                }
                store.create(new).await
            });
        }
        let mut ids = HashSet::new();
        while let Some(result) = tasks.join_next().await {
            let created = result.unwrap().unwrap_or_else(|e| panic!("a concurrent create failed: {e}"));
            assert!(ids.insert(created.id), "id {} was handed out twice", created.id);
        }
        assert_eq!(db.store.count().await.unwrap(), WRITERS as u64);
        let listed = db.store.list_newest(MAX_LIST_LIMIT).await.unwrap();
        assert_eq!(listed.len(), WRITERS);
        assert!(
            listed.windows(2).all(|w| (w[0].occurred_at, w[0].id) > (w[1].occurred_at, w[1].id)),
            "list_newest must stay ordered by (occurred_at, id) descending under concurrent writes"
        );
    }

    async fn reopening_keeps_the_data_and_migrates_once(db: &TestDb) {
        let created = db.store.create(purchase("Hedy L.")).await.unwrap();
        // A second server starting on the same database: the migration must not re-run.
        let again = db.reopen().await;
        assert_eq!(again.list_newest(5).await.unwrap(), vec![created]);
        let next = again.create(purchase("Alan T.")).await.unwrap();
        assert_eq!(db.store.count().await.unwrap(), 2, "both handles see one table");
        assert!(next.id > 0);
        again.close().await;
    }

    async fn ping_answers_until_the_pool_is_closed(db: &TestDb) {
        // A handle of its own: closing it leaves the test's store (and its cleanup) be.
        let probe = db.reopen().await;
        probe.ping().await.expect("an open database answers the probe");
        probe.close().await;
        assert!(
            matches!(probe.ping().await, Err(StoreError::Database(_))),
            "a closed pool must fail the readiness probe"
        );
        db.store.ping().await.expect("other handles keep working");
    }

    async fn seeding_goes_through_the_store_and_is_reproducible(db: &TestDb) {
        let seeded = seed_store(&db.store, 12, 2026).await.unwrap();
        let expected: Vec<NewActivity> = ActivityGenerator::seeded(2026).take(12).collect();
        let got: Vec<NewActivity> = seeded
            .iter()
            .map(|a| NewActivity::new(a.who.clone(), a.what.clone(), a.kind, a.customer_tier))
            .collect();
        assert_eq!(got, expected, "seed_store stores exactly what the seeded generator yields");
        assert_eq!(db.store.count().await.unwrap(), 12);
    }
}

// Checks that need no database.

#[tokio::test]
async fn in_memory_sqlite_keeps_its_data_across_calls() {
    let store = ActivityStore::open("sqlite::memory:").await.unwrap();
    assert_eq!(store.backend_name(), "sqlite");
    seed_store(&store, 3, 5).await.unwrap();
    assert_eq!(store.list_newest(10).await.unwrap().len(), 3);
}

#[tokio::test]
async fn a_plain_path_opens_a_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feed.db");
    let store = ActivityStore::open(path.to_str().unwrap()).await.unwrap();
    store.create(purchase("Joan C.")).await.unwrap();
    store.close().await;
    assert!(
        path.exists(),
        "the SQLite file is created at the plain path"
    );
}

#[tokio::test]
async fn unsupported_urls_and_schema_names_are_refused_clearly() {
    let err = ActivityStore::open("mysql://localhost/feed")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::UnsupportedUrl(_)), "got {err}");
    assert!(
        err.to_string().contains("postgres://"),
        "the message lists what works: {err}"
    );

    let options =
        StoreOptions::new("postgres://u:p@127.0.0.1:1/db").postgres_schema("Robert'); DROP");
    let err = ActivityStore::open_with(options).await.unwrap_err();
    assert!(matches!(err, StoreError::InvalidSchema(_)), "got {err}");
}

#[test]
fn activity_json_uses_type_and_rfc3339() {
    let activity = Activity {
        id: 7,
        who: "Ada L.".into(),
        what: "gave 5 stars to a e-reader".into(),
        kind: ActivityKind::SupportRequest,
        occurred_at: t0() + Duration::microseconds(123_456),
        customer_tier: CustomerTier::Enterprise,
    };
    let json = serde_json::to_value(&activity).unwrap();
    assert_eq!(
        json,
        json!({
            "id": 7,
            "who": "Ada L.",
            "what": "gave 5 stars to a e-reader",
            "type": "support_request",
            "occurred_at": "2026-01-05T09:00:00.123456Z",
            "customer_tier": "enterprise",
        })
    );
    let back: Activity = serde_json::from_value(json).unwrap();
    assert_eq!(back, activity);
}

#[test]
fn a_valid_payload_is_trimmed_and_client_times_are_ignored() {
    let payload = json!({
        "who": "  Grace H. ",
        "what": "opened a ticket: where is my order?",
        "type": "support_request",
        "customer_tier": "pro",
        "occurred_at": "1999-01-01T00:00:00Z",
        "id": 1,
    });
    let new = NewActivity::from_payload(&payload).unwrap();
    assert_eq!(
        new,
        NewActivity::new(
            "Grace H.",
            "opened a ticket: where is my order?",
            ActivityKind::SupportRequest,
            CustomerTier::Pro
        )
    );
}

#[test]
fn payload_errors_name_each_field_once() {
    let errors = NewActivity::from_payload(&json!({
        "who": 42,
        "what": "x".repeat(MAX_WHAT_LEN + 1),
        "type": "teleport",
    }))
    .unwrap_err();
    assert_eq!(
        errors.reply_payload(),
        json!({"errors": {
            "customer_tier": ["can't be blank"],
            "type": ["must be one of: signup, login, purchase, refund, review, support_request"],
            "what": [format!("is too long (at most {MAX_WHAT_LEN} characters)")],
            "who": ["must be a string"],
        }})
    );
    let all_blank = NewActivity::from_payload(&json!({"type": "", "who": null})).unwrap_err();
    assert_eq!(
        all_blank.fields(),
        vec!["customer_tier", "type", "what", "who"]
    );
    for field in all_blank.fields() {
        assert_eq!(
            all_blank.messages_for(field),
            vec!["can't be blank"],
            "field {field}"
        );
    }
    let control = NewActivity::from_payload(&json!({
        "who": "Ada\u{0}L.", "what": "logged in", "type": "login", "customer_tier": "free"
    }))
    .unwrap_err();
    assert_eq!(
        control.messages_for("who"),
        vec!["must not contain control characters"]
    );
}

#[test]
fn a_payload_that_is_not_an_object_is_refused() {
    for payload in [json!(null), json!("who"), json!([1, 2])] {
        let errors = NewActivity::from_payload(&payload).unwrap_err();
        assert_eq!(errors.fields(), vec!["payload"], "payload {payload}");
    }
}

#[test]
fn the_generator_is_reproducible_and_plausible() {
    let a: Vec<_> = ActivityGenerator::seeded(42).take(200).collect();
    let b: Vec<_> = ActivityGenerator::seeded(42).take(200).collect();
    let c: Vec<_> = ActivityGenerator::seeded(43).take(200).collect();
    assert_eq!(a, b, "the same seed must give the same activities");
    assert_ne!(a, c, "different seeds must give different activities");
    for new in &a {
        new.validate()
            .unwrap_or_else(|e| panic!("generated {new:?} is invalid: {e}"));
    }
    let kinds: HashSet<_> = a.iter().map(|n| n.kind).collect();
    assert_eq!(
        kinds.len(),
        ActivityKind::ALL.len(),
        "200 draws cover every kind"
    );
    let free = a
        .iter()
        .filter(|n| n.customer_tier == CustomerTier::Free)
        .count();
    let enterprise = a
        .iter()
        .filter(|n| n.customer_tier == CustomerTier::Enterprise)
        .count();
    assert!(
        free > enterprise,
        "tiers are weighted: free ({free}) beats enterprise ({enterprise})"
    );
}

#[test]
fn fetch_limits_default_cap_and_name_the_field() {
    assert_eq!(fetch_limit(&json!({})), Ok(DEFAULT_LIST_LIMIT));
    assert_eq!(fetch_limit(&json!(null)), Ok(DEFAULT_LIST_LIMIT));
    assert_eq!(fetch_limit(&json!({"limit": null})), Ok(DEFAULT_LIST_LIMIT));
    assert_eq!(fetch_limit(&json!({"limit": 3})), Ok(3));
    assert_eq!(
        fetch_limit(&json!({"limit": 1_000_000})),
        Ok(MAX_LIST_LIMIT)
    );
    assert_eq!(fetch_limit(&json!({"limit": u64::MAX})), Ok(MAX_LIST_LIMIT));
    for bad in [json!(0), json!(-5), json!(2.5), json!("10"), json!([10])] {
        let errors = fetch_limit(&json!({ "limit": bad })).unwrap_err();
        assert_eq!(errors.fields(), vec!["limit"], "limit {bad}");
    }
    assert_eq!(
        fetch_limit(&json!([1])).unwrap_err().fields(),
        vec!["payload"]
    );
}

#[tokio::test]
async fn a_sqlite_path_in_a_missing_directory_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/deeper/feed.db");
    let store = ActivityStore::open(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    store.create(purchase("Anita B.")).await.unwrap();
    store.close().await;
    assert!(path.exists(), "the directory and the file are created");
}
