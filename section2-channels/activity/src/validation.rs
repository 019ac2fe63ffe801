//! Field-named validation errors, shaped for a channel's error reply.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Serialize, Serializer};

/// One problem with one field of a client's input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field as the client named it (`who`, `what`, `type`, `customer_tier`, or
    /// `payload` when the input isn't an object at all).
    pub field: &'static str,
    /// What is wrong, in words a person can act on ("can't be blank").
    pub message: String,
}

impl FieldError {
    /// A problem with `field`.
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

// ANCHOR: validation_errors
/// Every problem found in one input, in the order found. Never empty when returned as an
/// error.
///
/// Serializes as a map from field to messages, the shape form libraries expect:
/// `{"who": ["can't be blank"], "type": ["must be one of: signup, login, ..."]}`.
/// [`ValidationErrors::reply_payload`] wraps it as `{"errors": {...}}` for a channel reply.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ValidationErrors(Vec<FieldError>);
// ANCHOR_END: validation_errors

impl ValidationErrors {
    /// The problems, in the order found.
    pub fn errors(&self) -> &[FieldError] {
        &self.0
    }

    /// The problems, by value.
    pub fn into_vec(self) -> Vec<FieldError> {
        self.0
    }

    /// The names of the fields with problems, sorted, each once.
    pub fn fields(&self) -> Vec<&'static str> {
        let mut fields: Vec<_> = self.0.iter().map(|e| e.field).collect();
        fields.sort_unstable();
        fields.dedup();
        fields
    }

    /// The messages for one field (empty when it has none).
    pub fn messages_for(&self, field: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|e| e.field == field)
            .map(|e| e.message.as_str())
            .collect()
    }

    /// True when no problem was found.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `{"errors": {"field": ["message", ...], ...}}`: the payload of an error reply.
    pub fn reply_payload(&self) -> serde_json::Value {
        serde_json::json!({ "errors": self })
    }
}

impl From<Vec<FieldError>> for ValidationErrors {
    fn from(errors: Vec<FieldError>) -> Self {
        Self(errors)
    }
}

impl Serialize for ValidationErrors {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // A BTreeMap keeps the key order stable, so replies and snapshots are deterministic.
        let mut by_field: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for e in &self.0 {
            by_field.entry(e.field).or_default().push(&e.message);
        }
        by_field.serialize(serializer)
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid activity: ")?;
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{} {}", e.field, e.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}
