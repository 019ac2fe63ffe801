//! What a live view sends, in bytes: the first (static) page, the join's full render,
//! the diff after the slow load, and the diff after a click, against what re-sending
//! the whole render would cost. The walkthrough (solutions/section4/part2.md) quotes
//! its output.
//!
//! `cargo run -p section4-tracker-live --example live_bytes`

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use activity::{ActivityStore, seed_store};
use channels::client::ChannelClient;
use channels::{Frame, LocalPubSub, PubSub};
use live::feed::{FeedDeps, feed_page};
use section4_tracker_live::Implementation;
use section4_tracker_live::live_app;
use serde_json::json;

/// The next frame with `event`, skipping others.
async fn next(client: &mut ChannelClient, event: &str) -> Frame {
    loop {
        let frame = client.next_frame().await;
        if frame.event == event {
            return frame;
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let store = ActivityStore::open("sqlite::memory:").await?;
    seed_store(&store, 30, 7).await?;
    let pubsub: Arc<dyn PubSub> = Arc::new(LocalPubSub::named("cluster"));
    let pages = live_app::live_routes(Implementation::Solution, "a measurement secret key base")
        .state(FeedDeps {
            store: store.clone(),
            pubsub,
        })
        .build();
    let page = pages
        .render("/feed", &HashMap::new())
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let mut client = pages
        .endpoint()
        .connect_in_memory(&[("_csrf_token", &page.csrf_token)])
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    client.set_timeout(Duration::from_secs(10));
    let topic = format!("lv:{}", page.id);
    let join = client
        .join(
            &topic,
            json!({"url": "http://localhost/feed", "params": {"_csrf_token": page.csrf_token},
                   "session": page.session, "static": null}),
        )
        .await;
    let loaded = next(&mut client, "diff").await;
    let click = client
        .call(
            &topic,
            "event",
            json!({"type": "click", "event": "create", "value": {"value": ""}}),
        )
        .await;
    let created = next(&mut client, "diff").await;
    // What the click would cost without diffs: the whole page again (26 activities),
    // as a full render (statics and dynamics) and as HTML.
    let all = store.list_newest(26).await?;
    let whole = feed_page(&all, false);
    let full_json = whole.to_json().to_string().len();
    let full_html = whole.to_html().len();

    println!("| what | bytes |");
    println!("|---|---|");
    println!(
        "| first response: the static HTML page (3 activities) | {} |",
        page.html.len()
    );
    println!(
        "| join reply: statics + dynamics (3 activities) | {} |",
        join.encode().len()
    );
    println!(
        "| `diff` after the slow load (25 activities, no statics) | {} |",
        loaded.encode().len()
    );
    println!(
        "| reply to the Create click (`{{\"diff\": {{}}}}`) | {} |",
        click.encode().len()
    );
    println!(
        "| `diff` after the click (1 new entry + 25 moves + status) | {} |",
        created.encode().len()
    );
    println!("| without diffs: the full render after the click, as JSON | {full_json} |");
    println!("| without diffs: the view's HTML after the click | {full_html} |");
    Ok(())
}
