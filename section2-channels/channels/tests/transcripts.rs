//! wscat-style transcripts over a real WebSocket: `>` is what the client sent, `<`
//! what it received. They pin the exact bytes of each kind of frame, so a change in
//! the wire format shows up as a snapshot diff.

mod support;

use channels::client::ChannelClient;
use channels::{Server, payload};
use serde_json::json;
use support::*;

async fn connect(server: &Server, user: &str) -> ChannelClient {
    ChannelClient::connect(&server.socket_url("/socket", &[("user", user)]))
        .await
        .expect("connect")
}

fn snapshot(name: &str, transcript: String) {
    insta::with_settings!({ prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!(name, transcript);
    });
}

#[tokio::test]
async fn transcripts() {
    let endpoint = endpoint();
    let server = Server::bind(0, endpoint.routes("/socket")).await.unwrap();

    // join, reply, heartbeat
    let mut ada = connect(&server, "ada").await;
    ada.heartbeat().await;
    ada.join("orders:berlin", json!({})).await;
    ada.call("orders:berlin", "echo", json!({"sku": "A-1", "qty": 2}))
        .await;
    snapshot("s2_transcript_join_and_reply", ada.transcript());

    // errors: refused join, unmatched topic, error reply, bad payload
    let mut bob = connect(&server, "bob").await;
    bob.join("orders:paris", json!({"refuse": "closed today"}))
        .await;
    bob.join("warehouse:1", json!({})).await;
    bob.push("orders:lyon", "echo", json!({})).await;
    frame(&mut bob).await;
    bob.join("orders:lyon", json!({})).await;
    bob.call("orders:lyon", "refuse", json!({})).await;
    bob.send_text(r#"["4","9","orders:lyon","echo","not an object"]"#)
        .await;
    frame(&mut bob).await;
    snapshot("s2_transcript_errors", bob.transcript());

    // broadcast: seen by both clients, with the same bytes
    let mut cy = connect(&server, "cy").await;
    cy.join("orders:berlin", json!({})).await;
    ada.call("orders:berlin", "place", json!({"id": 7})).await;
    frame(&mut cy).await;
    endpoint.broadcast("orders:berlin", "order.shipped", payload(json!({"id": 7})));
    frame(&mut cy).await;
    snapshot("s2_transcript_broadcast", cy.transcript());

    // close: leave, stop with a reply, crash, duplicate join, then disconnect
    let mut dee = connect(&server, "dee").await;
    dee.join("orders:berlin", json!({})).await;
    dee.leave("orders:berlin").await;
    frame(&mut dee).await;
    dee.join("orders:berlin", json!({})).await;
    dee.call("orders:berlin", "close", json!({})).await;
    frame(&mut dee).await;
    dee.join("orders:berlin", json!({})).await;
    dee.push("orders:berlin", "crash", json!({})).await;
    frame(&mut dee).await;
    dee.join("orders:berlin", json!({})).await;
    dee.send_text(r#"["9","9","orders:berlin","phx_join",{}]"#)
        .await;
    frame(&mut dee).await;
    frame(&mut dee).await;
    endpoint.disconnect("user_socket:dee");
    dee.closed().await;
    snapshot("s2_transcript_close", dee.transcript());

    server.stop().await;
}
