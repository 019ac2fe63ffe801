//! The live view framework itself (not an exercise): the diff the client merges gives
//! the same page as a full render, bad input gets clear errors, forms are decoded, and
//! the page carries what the official client needs.

use std::collections::HashMap;
use std::time::Duration;

use channels::client::{reply_response, reply_status};
use live::rendered;
use live::{Comprehension, LivePages, LiveRoutes, PageError, Rendered, StaticPage};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const SECRET: &str = "a framework test secret key base";

#[path = "support/guestbook.rs"]
mod guestbook;
use guestbook::Guestbook;

fn pages() -> LivePages {
    LiveRoutes::new(SECRET)
        .view::<Guestbook>("/guestbook", "Guest book")
        .build()
}

async fn render(pages: &LivePages, query: &[(&str, &str)]) -> Result<StaticPage, PageError> {
    let query: HashMap<String, String> = query
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    pages.render("/guestbook", &query).await
}

fn join_payload(page: &StaticPage, session: &str) -> Value {
    json!({"url": "http://localhost/guestbook", "params": {"_csrf_token": page.csrf_token},
           "session": session, "static": null})
}

#[test]
fn the_served_client_is_the_version_the_server_names() {
    let package = std::path::Path::new(live::routes::ASSETS_NPM_DIR).join("package.json");
    let package: Value = serde_json::from_str(&std::fs::read_to_string(package).unwrap()).unwrap();
    assert_eq!(
        package["dependencies"]["phoenix_live_view"],
        live::LIVEVIEW_JS_VERSION,
        "the join reply names the client version; keep LIVEVIEW_JS_VERSION in step with section4-tracker-live/tests/live/package.json"
    );
}

#[tokio::test]
async fn the_page_carries_the_container_tokens_and_clients() {
    let pages = pages();
    let page = render(&pages, &[]).await.unwrap();
    for needle in [
        "<meta name=\"csrf-token\" content=\"",
        &format!(
            "<div id=\"{}\" data-phx-main data-phx-session=\"{}\" data-phx-static=\"\">",
            page.id, page.session
        ),
        "<script src=\"/assets/phoenix.js\"></script>",
        "<script src=\"/assets/phoenix_live_view.js\"></script>",
        "new LiveView.LiveSocket(\"/live\", Phoenix.Socket",
    ] {
        assert!(
            page.html.contains(needle),
            "the page lacks {needle}:\n{}",
            page.html
        );
    }
    assert!(page.id.starts_with("phx-"));
    assert_eq!(
        render(&pages, &[("fail", "1")]).await.unwrap_err(),
        PageError::Mount("asked to fail".into())
    );
    let too_many: Vec<(String, String)> = (0..9).map(|i| (format!("k{i}"), "v".into())).collect();
    let too_many: Vec<(&str, &str)> = too_many
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert!(matches!(
        render(&pages, &too_many).await,
        Err(PageError::BadParams(_))
    ));
    assert_eq!(
        pages.render("/nowhere", &HashMap::new()).await.unwrap_err(),
        PageError::NotFound
    );
}

#[tokio::test]
async fn the_socket_wants_a_csrf_token_and_the_join_a_genuine_session() {
    let pages = pages();
    let page = render(&pages, &[]).await.unwrap();
    assert!(
        pages.endpoint().connect_in_memory(&[]).is_err(),
        "no csrf token: refused"
    );
    assert!(
        pages
            .endpoint()
            .connect_in_memory(&[("_csrf_token", "forged")])
            .is_err(),
        "a forged csrf token: refused"
    );
    let mut client = pages
        .endpoint()
        .connect_in_memory(&[("_csrf_token", &page.csrf_token)])
        .unwrap();
    let topic = format!("lv:{}", page.id);
    let tampered = format!("{}x", page.session);
    let reply = client.join(&topic, join_payload(&page, &tampered)).await;
    assert_eq!(
        (reply_status(&reply), reply_response(&reply)),
        (Some("error"), &json!({"reason": "stale"})),
        "a tampered session is stale (the client reloads the page)"
    );
    let other = render(&pages, &[]).await.unwrap();
    let reply = client
        .join(&topic, join_payload(&page, &other.session))
        .await;
    assert_eq!(
        reply_response(&reply),
        &json!({"reason": "stale"}),
        "another page's session"
    );
    let reply = client
        .join(&topic, join_payload(&page, &page.session))
        .await;
    assert_eq!(reply_status(&reply), Some("ok"), "{}", client.transcript());
    let rendered = &reply_response(&reply)["rendered"];
    assert_eq!(rendered["t"], "Guest book");
    assert_eq!(
        reply_response(&reply)["liveview_version"],
        live::LIVEVIEW_JS_VERSION
    );

    let unknown = client.call(&topic, "shout", json!({})).await;
    assert_eq!(
        reply_response(&unknown),
        &json!({"reason": "unknown event \"shout\""})
    );
    let nameless = client.call(&topic, "event", json!({"type": "click"})).await;
    assert_eq!(reply_status(&nameless), Some("error"));
}

#[tokio::test]
async fn forms_arrive_decoded_and_diffs_carry_only_changes() {
    let pages = pages();
    let page = render(&pages, &[]).await.unwrap();
    let mut client = pages
        .endpoint()
        .connect_in_memory(&[("_csrf_token", &page.csrf_token)])
        .unwrap();
    client.set_timeout(Duration::from_secs(5));
    let topic = format!("lv:{}", page.id);
    client
        .join(&topic, join_payload(&page, &page.session))
        .await;
    let change = client
        .call(
            &topic,
            "event",
            json!({"type": "form", "event": "draft", "value": "_target=name&name=Grace+H%C3%A9"}),
        )
        .await;
    assert_eq!(reply_response(&change), &json!({"diff": {"0": "Grace Hé"}}));
    let submit = client
        .call(
            &topic,
            "event",
            json!({"type": "form", "event": "sign", "value": "name=Grace+%3Cb%3E"}),
        )
        .await;
    assert_eq!(
        reply_response(&submit),
        &json!({"diff": {"0": "", "1": {"s": ["<li class=\"name\">", "</li>"], "k": {"0": {"0": "Grace &lt;b&gt;"}, "kc": 1}}}}),
        "the first entry of an empty list brings the entry template, once"
    );
    let again = client
        .call(
            &topic,
            "event",
            json!({"type": "form", "event": "sign", "value": "name=Alan"}),
        )
        .await;
    assert_eq!(
        reply_response(&again),
        &json!({"diff": {"1": {"k": {"1": {"0": "Alan"}, "kc": 2}}}})
    );
    let bad = client
        .call(
            &topic,
            "event",
            json!({"type": "form", "event": "sign", "value": "name=%ZZ&&=="}),
        )
        .await;
    assert!(
        reply_status(&bad).is_some(),
        "a bad form gets an answer, not a crash"
    );
}

/// The client's merge, as `rendered.js` does it for what this framework sends.
fn merge(target: &mut Value, diff: &Value) {
    if diff.get("s").is_some() {
        *target = diff.clone();
        return;
    }
    let (Some(target_map), Some(diff_map)) = (target.as_object_mut(), diff.as_object()) else {
        *target = diff.clone();
        return;
    };
    for (key, value) in diff_map {
        if key == "k" {
            merge_keyed(target_map, value);
        } else if value.is_object()
            && value.get("s").is_none()
            && target_map.get(key).is_some_and(Value::is_object)
        {
            merge(target_map.get_mut(key).unwrap(), value);
        } else {
            target_map.insert(key.clone(), value.clone());
        }
    }
}

fn merge_keyed(target: &mut Map<String, Value>, source: &Value) {
    let old = target["k"].clone();
    let keyed = target.get_mut("k").unwrap().as_object_mut().unwrap();
    let source = source.as_object().unwrap();
    for (i, entry) in source {
        if i == "kc" || i == "km" {
            continue;
        }
        match entry {
            Value::Array(moved) => {
                let mut moved_entry = old[moved[0].as_u64().unwrap().to_string()].clone();
                merge(&mut moved_entry, &moved[1]);
                keyed.insert(i.clone(), moved_entry);
            }
            Value::Number(j) => {
                keyed.insert(i.clone(), old[j.to_string()].clone());
            }
            changes => {
                let slot = keyed.entry(i.clone()).or_insert_with(|| json!({}));
                merge(slot, changes);
            }
        }
    }
    let count = source["kc"].as_u64().unwrap();
    let old_count = keyed["kc"].as_u64().unwrap();
    for i in count..old_count {
        keyed.remove(&i.to_string());
    }
    keyed.insert("kc".into(), json!(count));
}

/// HTML from a merged tree, as the client builds it.
fn html(value: &Value, out: &mut String) {
    match value {
        Value::String(text) => out.push_str(text),
        Value::Object(map) => {
            let statics: Vec<&str> = map["s"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap())
                .collect();
            if let Some(keyed) = map.get("k") {
                for i in 0..keyed["kc"].as_u64().unwrap() {
                    interleave(&statics, &keyed[i.to_string()], out);
                }
            } else {
                interleave(&statics, value, out);
            }
        }
        other => panic!("unexpected {other}"),
    }
}

fn interleave(statics: &[&str], dynamics: &Value, out: &mut String) {
    for (i, piece) in statics.iter().enumerate() {
        out.push_str(piece);
        if i + 1 < statics.len() {
            html(&dynamics[i.to_string()], out);
        }
    }
}

fn page(items: &[(u8, u8)], title: &str) -> Rendered {
    let list: Comprehension = items
        .iter()
        .map(|(key, text)| {
            (
                key.to_string(),
                rendered!("<li>" { key.to_string() } ":" { text.to_string() } "</li>"),
            )
        })
        .collect();
    rendered!("<h1>" { title } "</h1><ul>" { list } "</ul>")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever the lists (moves, inserts, removals, changes, repeated keys), the
    /// client's page after merging the diff is the new full render.
    #[test]
    fn a_merged_diff_gives_the_new_page(
        old in proptest::collection::vec((0u8..12, 0u8..3), 0..10),
        new in proptest::collection::vec((0u8..12, 0u8..3), 0..10),
        retitle in any::<bool>(),
    ) {
        let before = page(&old, "feed");
        let after = page(&new, if retitle { "news" } else { "feed" });
        let mut client = before.to_json();
        let diff = Value::Object(after.diff(&before));
        merge(&mut client, &diff);
        let mut out = String::new();
        html(&client, &mut out);
        prop_assert_eq!(out, after.to_html(), "diff {}", diff);
    }
}
