//! Reading a `fetch` request: how many activities the client wants.

use super::store::{DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT};
use super::validation::{FieldError, ValidationErrors};

/// The limit asked for by a `fetch` payload such as `{"limit": 25}`.
///
/// A null payload, no `limit` key or `"limit": null` mean [`DEFAULT_LIST_LIMIT`]; a
/// whole number from 1 up is accepted and capped at [`MAX_LIST_LIMIT`] (asking for more
/// is not an error, the reply is just bounded); anything else (0, negative, fractional,
/// a string) is an error naming `limit`.
pub fn fetch_limit(payload: &serde_json::Value) -> Result<usize, ValidationErrors> {
    let limit = match payload {
        serde_json::Value::Null => return Ok(DEFAULT_LIST_LIMIT),
        serde_json::Value::Object(object) => object.get("limit"),
        _ => {
            return Err(ValidationErrors::from(vec![FieldError::new(
                "payload",
                "must be a JSON object such as {\"limit\": 20}",
            )]));
        }
    };
    match limit {
        None | Some(serde_json::Value::Null) => Ok(DEFAULT_LIST_LIMIT),
        Some(value) => match value.as_u64() {
            Some(n) if n >= 1 => Ok(usize::try_from(n).unwrap_or(usize::MAX).min(MAX_LIST_LIMIT)),
            _ => Err(ValidationErrors::from(vec![FieldError::new(
                "limit",
                format!("must be a whole number from 1 (at most {MAX_LIST_LIMIT} are returned)"),
            )])),
        },
    }
}
