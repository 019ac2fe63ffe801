//! What an activity is, and what a client may ask to create.
//!
//! Two types on purpose: [`NewActivity`] is what a client controls (who, what, type, tier)
//! and [`Activity`] is what the store returns, with the `id` and `occurred_at` only the
//! server decides. A client can't backdate an activity or pick its id, because the input
//! type has no field for them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::validation::{FieldError, ValidationErrors};

/// Longest `who` accepted, in characters (Unicode scalar values, not bytes).
pub const MAX_WHO_LEN: usize = 64;
/// Longest `what` accepted, in characters (Unicode scalar values, not bytes).
pub const MAX_WHAT_LEN: usize = 280;

// ANCHOR: activity
/// One entry of the activity feed, as stored and as sent to clients.
///
/// JSON shape: `{"id": 7, "who": "Ada L.", "what": "bought 2 × espresso grinder",
/// "type": "purchase", "occurred_at": "2026-11-23T11:20:31.123456Z",
/// "customer_tier": "pro"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activity {
    /// Assigned by the database; breaks ties between equal timestamps.
    pub id: i64,
    /// The customer who did it (a display name).
    pub who: String,
    /// What they did, in words.
    pub what: String,
    /// The kind of activity; `type` on the wire (a Rust keyword, hence the rename).
    #[serde(rename = "type")]
    pub kind: ActivityKind,
    /// Stamped by the server when the store accepted it (UTC, microsecond precision).
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    /// The customer's plan when it happened.
    pub customer_tier: CustomerTier,
}
// ANCHOR_END: activity

/// Generates the string enums below: serde names, `as_str`, `FromStr`, `ALL`.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The name used on the wire and in the database.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// The accepted names, comma-separated (used in error messages).
            pub fn names() -> String {
                Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }
        }

        impl FromStr for $name {
            type Err = UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownName),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// A string that names no variant of [`ActivityKind`] or [`CustomerTier`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownName;

string_enum! {
    /// What kind of thing a customer did.
    ActivityKind {
        /// Created an account.
        Signup => "signup",
        /// Signed in.
        Login => "login",
        /// Bought something.
        Purchase => "purchase",
        /// Got money back.
        Refund => "refund",
        /// Rated a product.
        Review => "review",
        /// Asked support for help.
        SupportRequest => "support_request",
    }
}

string_enum! {
    /// The customer's plan: the feed highlights the bigger accounts.
    CustomerTier {
        /// No paid plan.
        Free => "free",
        /// A single-seat paid plan.
        Pro => "pro",
        /// A team plan.
        Business => "business",
        /// A negotiated contract.
        Enterprise => "enterprise",
    }
}

// ANCHOR: new_activity
/// What a client asks to create. The server adds `id` and `occurred_at`.
///
/// Build it from a channel payload with [`NewActivity::from_payload`], which checks every
/// field and reports all problems at once, or directly in Rust (the generator does).
/// [`crate::ActivityStore::create`] checks it again, so a value built by hand
/// can't smuggle an empty or oversized field into the database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewActivity {
    /// The customer who did it: 1 to [`MAX_WHO_LEN`] characters, no control characters.
    pub who: String,
    /// What they did: 1 to [`MAX_WHAT_LEN`] characters, no control characters.
    pub what: String,
    /// The kind of activity (`type` on the wire).
    #[serde(rename = "type")]
    pub kind: ActivityKind,
    /// The customer's plan.
    pub customer_tier: CustomerTier,
}
// ANCHOR_END: new_activity

impl NewActivity {
    /// A new activity from typed parts (not yet checked: see [`NewActivity::validate`]).
    pub fn new(
        who: impl Into<String>,
        what: impl Into<String>,
        kind: ActivityKind,
        customer_tier: CustomerTier,
    ) -> Self {
        Self {
            who: who.into(),
            what: what.into(),
            kind,
            customer_tier,
        }
    }

    // ANCHOR: from_payload
    /// Reads and checks a client's JSON payload, e.g. the body of a `create_activity` push.
    ///
    /// Expects an object with string fields `who`, `what`, `type` and `customer_tier`.
    /// Leading and trailing whitespace is trimmed. Other keys (such as a client-sent
    /// `occurred_at` or `id`) are ignored: the server decides those. Every problem is
    /// reported, each naming its field, so a form can highlight them all at once.
    pub fn from_payload(payload: &serde_json::Value) -> Result<Self, ValidationErrors> {
        let Some(object) = payload.as_object() else {
            return Err(ValidationErrors::from(vec![FieldError::new(
                "payload",
                "must be a JSON object with who, what, type and customer_tier",
            )]));
        };
        let mut errors = Vec::new();
        let mut text = |field: &'static str| match object.get(field) {
            None | Some(serde_json::Value::Null) => {
                errors.push(FieldError::new(field, "can't be blank"));
                None
            }
            Some(serde_json::Value::String(s)) => Some(s.trim().to_owned()),
            Some(_) => {
                errors.push(FieldError::new(field, "must be a string"));
                None
            }
        };
        let who = text("who");
        let what = text("what");
        let kind = text("type");
        let tier = text("customer_tier");

        let kind = kind.and_then(|k| parse_named::<ActivityKind>("type", &k, &mut errors));
        let tier = tier.and_then(|t| parse_named::<CustomerTier>("customer_tier", &t, &mut errors));
        // Length and character checks live in `validate`, the one place both paths share.
        let checked = NewActivity {
            who: who.clone().unwrap_or_default(),
            what: what.clone().unwrap_or_default(),
            kind: kind.unwrap_or(ActivityKind::Signup),
            customer_tier: tier.unwrap_or(CustomerTier::Free),
        };
        if let Err(more) = checked.validate() {
            // Skip fields already reported as missing or mistyped: one message each.
            for e in more.into_vec() {
                let reported = errors.iter().any(|r| r.field == e.field);
                if !reported {
                    errors.push(e);
                }
            }
        }
        if errors.is_empty() {
            Ok(checked)
        } else {
            Err(ValidationErrors::from(errors))
        }
    }
    // ANCHOR_END: from_payload

    /// Checks the text fields: not blank, not too long, no control characters.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = Vec::new();
        check_text("who", &self.who, MAX_WHO_LEN, &mut errors);
        check_text("what", &self.what, MAX_WHAT_LEN, &mut errors);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ValidationErrors::from(errors))
        }
    }
}

fn parse_named<T: FromStr + NamedEnum>(
    field: &'static str,
    value: &str,
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    match value.parse::<T>() {
        Ok(v) => Some(v),
        Err(_) if value.is_empty() => {
            errors.push(FieldError::new(field, "can't be blank"));
            None
        }
        Err(_) => {
            errors.push(FieldError::new(
                field,
                format!("must be one of: {}", T::names_list()),
            ));
            None
        }
    }
}

/// Lets `parse_named` list the accepted names of either enum.
trait NamedEnum {
    fn names_list() -> String;
}
impl NamedEnum for ActivityKind {
    fn names_list() -> String {
        Self::names()
    }
}
impl NamedEnum for CustomerTier {
    fn names_list() -> String {
        Self::names()
    }
}

fn check_text(field: &'static str, value: &str, max: usize, errors: &mut Vec<FieldError>) {
    if value.trim().is_empty() {
        errors.push(FieldError::new(field, "can't be blank"));
        return;
    }
    // Counting stops at max + 1: a megabyte-long field costs no more than a short one.
    if value.chars().take(max + 1).count() > max {
        errors.push(FieldError::new(
            field,
            format!("is too long (at most {max} characters)"),
        ));
    }
    if value.chars().any(char::is_control) {
        errors.push(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
}
