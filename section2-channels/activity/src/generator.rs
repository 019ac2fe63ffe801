//! Random but plausible activities, for seeding a feed and for load.
//!
//! Seeded and reproducible: the same seed gives the same activities on every machine
//! and every run, because the generator is ChaCha8 (a portable algorithm with a fixed
//! output), not `StdRng`, whose algorithm may change between `rand` releases.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::model::{Activity, ActivityKind, CustomerTier, NewActivity};
use super::store::{ActivityStore, StoreError};

const FIRST_NAMES: &[&str] = &[
    "Ada",
    "Grace",
    "Linus",
    "Margaret",
    "Dennis",
    "Barbara",
    "Ken",
    "Frances",
    "Edsger",
    "Radia",
    "Tim",
    "Hedy",
    "Alan",
    "Katherine",
    "Guido",
    "Sophie",
    "Yukihiro",
    "Anita",
    "Bjarne",
    "Joan",
];

const PRODUCTS: &[&str] = &[
    "trail running shoes",
    "espresso grinder",
    "standing desk",
    "noise-cancelling headphones",
    "mechanical keyboard",
    "cast-iron skillet",
    "e-reader",
    "rain jacket",
    "camping stove",
    "smart thermostat",
];

const SIGNUP_SOURCES: &[&str] = &[
    "the pricing page",
    "a friend's referral link",
    "the mobile app",
    "a newsletter",
];

const DEVICES: &[&str] = &[
    "an Android phone",
    "an iPhone",
    "a Linux laptop",
    "a Windows desktop",
    "a tablet",
];

const SUPPORT_TOPICS: &[&str] = &[
    "where is my order?",
    "the invoice shows the wrong address",
    "how do I change my plan?",
    "the app logs me out",
];

/// Relative weights of the tiers: most customers are on the free plan.
const TIER_WEIGHTS: &[(CustomerTier, u32)] = &[
    (CustomerTier::Free, 50),
    (CustomerTier::Pro, 30),
    (CustomerTier::Business, 15),
    (CustomerTier::Enterprise, 5),
];

/// An endless, reproducible stream of plausible [`NewActivity`] values.
///
/// ```
/// use activity::ActivityGenerator;
/// let a: Vec<_> = ActivityGenerator::seeded(7).take(3).collect();
/// let b: Vec<_> = ActivityGenerator::seeded(7).take(3).collect();
/// assert_eq!(a, b);
/// ```
#[derive(Debug, Clone)]
pub struct ActivityGenerator {
    rng: ChaCha8Rng,
}

impl ActivityGenerator {
    /// A generator whose output depends only on `seed`.
    pub fn seeded(seed: u64) -> Self {
        Self {
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// A generator seeded from the operating system (different every time).
    pub fn from_os_rng() -> Self {
        Self {
            rng: ChaCha8Rng::from_os_rng(),
        }
    }

    /// The next activity.
    pub fn next_activity(&mut self) -> NewActivity {
        let who = format!(
            "{} {}.",
            self.pick(FIRST_NAMES),
            char::from(b'A' + self.rng.random_range(0..26u8))
        );
        let kind = *self.pick(ActivityKind::ALL);
        let what = match kind {
            ActivityKind::Signup => format!("signed up from {}", self.pick(SIGNUP_SOURCES)),
            ActivityKind::Login => format!("logged in from {}", self.pick(DEVICES)),
            ActivityKind::Purchase => {
                let quantity = self.rng.random_range(1..=3);
                format!("bought {quantity} × {}", self.pick(PRODUCTS))
            }
            ActivityKind::Refund => format!("was refunded for a {}", self.pick(PRODUCTS)),
            ActivityKind::Review => {
                let stars = self.rng.random_range(1..=5);
                format!("gave {stars} stars to a {}", self.pick(PRODUCTS))
            }
            ActivityKind::SupportRequest => {
                format!("opened a ticket: {}", self.pick(SUPPORT_TOPICS))
            }
        };
        let customer_tier = self.weighted_tier();
        NewActivity::new(who, what, kind, customer_tier)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.rng.random_range(0..items.len())]
    }

    fn weighted_tier(&mut self) -> CustomerTier {
        let total: u32 = TIER_WEIGHTS.iter().map(|(_, w)| w).sum();
        let mut roll = self.rng.random_range(0..total);
        for &(tier, weight) in TIER_WEIGHTS {
            if roll < weight {
                return tier;
            }
            roll -= weight;
        }
        unreachable!("roll < total, and the weights sum to total")
    }
}

impl Iterator for ActivityGenerator {
    type Item = NewActivity;

    fn next(&mut self) -> Option<NewActivity> {
        Some(self.next_activity())
    }
}

/// The most activities [`seed_store`] creates in one call.
pub const MAX_SEED_COUNT: usize = 100_000;

// ANCHOR: seed_store
/// Creates `count` generated activities (at most [`MAX_SEED_COUNT`]) from `seed`, through
/// the store like any client's: the section binary uses it to fill an empty feed.
/// Returns the stored activities, oldest first.
pub async fn seed_store(
    store: &ActivityStore,
    count: usize,
    seed: u64,
) -> Result<Vec<Activity>, StoreError> {
    let mut created = Vec::with_capacity(count.min(MAX_SEED_COUNT));
    for new in ActivityGenerator::seeded(seed).take(count.min(MAX_SEED_COUNT)) {
        created.push(store.create(new).await?);
    }
    Ok(created)
}
// ANCHOR_END: seed_store
