//! The Postgres switch: tests that can run on Postgres do so when
//! `SECTION2_POSTGRES_URL` names a database, and skip their Postgres copy otherwise.
//! In CI (`CI` set) the variable must be there: `.ci/run` starts Postgres and exports
//! it, so a skip would hide a broken setup.

use std::time::{SystemTime, UNIX_EPOCH};

/// The variable naming the test database (`postgres://USER:PASS@HOST:PORT/DB`).
pub const POSTGRES_ENV: &str = "SECTION2_POSTGRES_URL";

/// The database URL for the Postgres copy of `test`, or `None` after a skip line
/// (a panic in CI) when [`POSTGRES_ENV`] is not set.
pub fn url_or_skip(test: &str) -> Option<String> {
    match std::env::var(POSTGRES_ENV) {
        Ok(url) => Some(url),
        Err(_) => {
            crate::skip_or_fail(&format!("Postgres copy of `{test}`"), &missing());
            None
        }
    }
}

/// What a Postgres copy lacks when [`POSTGRES_ENV`] is not set.
pub fn missing() -> crate::Missing {
    crate::Missing::new(
        "Postgres",
        format!("{POSTGRES_ENV} is not set"),
        format!(
            "export {POSTGRES_ENV}=postgres://USER:PASS@127.0.0.1:5432/DB (a running PostgreSQL)"
        ),
    )
}

/// A schema name of `test`'s own, so tests share one database in parallel without
/// seeing each other's rows: unique per process and moment, at most 63 bytes (the
/// Postgres limit for a name).
pub fn schema_for(test: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    // Unique part first: truncating a long test name must never make two schemas equal.
    let mut schema = format!("t_{}_{nanos}_", std::process::id());
    // Only what needs no quoting in SQL; a test name is an identifier already.
    schema.extend(test.chars().map(|c| {
        if c.is_ascii_alphanumeric() {
            c.to_ascii_lowercase()
        } else {
            '_'
        }
    }));
    schema.truncate(63);
    schema
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_are_short_distinct_and_plain() {
        let long = "a_test_name_long_enough_to_be_cut_by_the_sixty_three_byte_limit";
        let schema = schema_for(long);
        assert!(schema.len() <= 63, "{schema}");
        assert!(schema.starts_with(&format!("t_{}_", std::process::id())));
        assert!(
            schema_for("Odd Name!")
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        );
    }
}
