//! A slow piece of work for the slow-vs-parallel exercises: building a sales report
//! takes [`REPORT_TIME`] (on tokio's clock, so tests can pause it).

use std::time::Duration;

use serde_json::{Value, json};

/// How long one report takes to build.
pub const REPORT_TIME: Duration = Duration::from_secs(1);

/// Builds the report `name`: waits [`REPORT_TIME`], then returns it.
pub async fn build_report(name: &str) -> Value {
    tokio::time::sleep(REPORT_TIME).await;
    json!({ "report": name, "status": "ready" })
}

/// The report name a request asks for (`{"name": "..."}`), `"daily"` by default.
pub fn report_name(payload: &channels::Payload) -> String {
    payload
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("daily")
        .to_owned()
}
