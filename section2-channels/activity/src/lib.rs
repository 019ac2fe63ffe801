//! # activity: the activity feed's store, and the feed's provided write path
//!
//! The activity feed's source of truth is a store on a real database.
//!
//! Channels are ephemeral: they hold what one connection needs for as long as it lives.
//! Everything that must survive a crash, a deploy or a reconnect lives here. A client
//! that reconnects asks the store again ([`ActivityStore::list_newest`]); nothing is
//! replayed from channel memory.
//!
//! - [`ActivityStore::open`] picks the database from the URL: SQLite by default (one
//!   file, nothing to install), Postgres for a `postgres://` URL. The schema is created
//!   or migrated on open.
//! - [`NewActivity::from_payload`] turns a client's JSON into a checked input, or
//!   [`ValidationErrors`] naming every bad field.
//! - [`ActivityStore::create`] stamps `occurred_at` with the server's [`Clock`].
//! - [`fetch_limit`] reads a `fetch` request's limit, bounded by [`MAX_LIST_LIMIT`].
//! - [`ActivityGenerator`] and [`seed_store`] make plausible, reproducible activities.
//!
//! Beside the store, for the channels built on it:
//!
//! - [`feed`]: the feed's write path (create, then broadcast on `feed`), provided for
//!   part 2 of section 2 and reused by the sections after it;
//! - [`reports`]: a slow piece of work for the slow-vs-parallel exercises.
//!
//! ```no_run
//! # async fn demo() -> Result<(), activity::StoreError> {
//! use activity::{ActivityStore, NewActivity};
//! let store = ActivityStore::open("sqlite://activities.db").await?;
//! let payload = serde_json::json!({
//!     "who": "Grace H.", "what": "bought 1 × standing desk",
//!     "type": "purchase", "customer_tier": "business",
//! });
//! let new = NewActivity::from_payload(&payload)?;
//! let stored = store.create(new).await?;
//! assert_eq!(store.list_newest(10).await?[0], stored);
//! # Ok(()) }
//! ```

mod clock;
pub mod feed;
mod fetch;
mod generator;
mod model;
mod postgres;
pub mod reports;
mod sqlite;
mod store;
mod validation;

pub use clock::{Clock, ManualClock, SystemClock};
pub use fetch::fetch_limit;
pub use generator::{ActivityGenerator, MAX_SEED_COUNT, seed_store};
pub use model::{
    Activity, ActivityKind, CustomerTier, MAX_WHAT_LEN, MAX_WHO_LEN, NewActivity, UnknownName,
};
pub use store::{
    ActivityStore, DEFAULT_LIST_LIMIT, DEFAULT_URL, MAX_LIST_LIMIT, StoreError, StoreOptions,
};
pub use validation::{FieldError, ValidationErrors};
