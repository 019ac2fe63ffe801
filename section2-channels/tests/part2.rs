//! Exercise tests for section 2, part 2 (s2.e8 to s2.e10): an authenticated socket,
//! a channel only its own user may join, and a channel that pushes on a timer.
//!
//! Written once, instantiated for your code (`start`, run by `cargo xtask check`)
//! and the reference (`solution`). Timers run on tokio's paused clock.

use std::time::Duration;

use section2_channels::activity::ActivityStore;
use section2_channels::app::{self, App, Implementation};
use section2_channels::client::{ChannelClient, ConnectError, reply_response, reply_status};
use section2_channels::endpoint::Refused;
use section2_channels::token::TokenSigner;
use section2_channels::{Endpoint, Server};
use serde_json::json;

/// Writes each test of an exercise once, for both implementations.
macro_rules! exercise {
    ($exercise:ident: $( $(#[$attr:meta])* async fn $test:ident() $body:block )*) => {
        mod $exercise {
            #[allow(unused_imports)]
            use super::*;

            mod start {
                #[allow(unused_imports)]
                use super::*;
                #[allow(dead_code)]
                const IMPLEMENTATION: Implementation = Implementation::Start;
                $( $(#[$attr])* #[ignore = "exercise: run cargo xtask check"] async fn $test() $body )*
            }

            mod solution {
                #[allow(unused_imports)]
                use super::*;
                #[allow(dead_code)]
                const IMPLEMENTATION: Implementation = Implementation::Solution;
                $( $(#[$attr])* async fn $test() $body )*
            }
        }
    };
}

const USER: i64 = 7;
const DAY_MS: i64 = 86_400_000;

async fn app(implementation: Implementation) -> App {
    let store = ActivityStore::open("sqlite::memory:")
        .await
        .expect("an in-memory store");
    App::new(implementation, "app@127.0.0.1", store)
}

fn now_ms() -> i64 {
    section2_channels::token::now_ms()
}

/// An endpoint with `implementation`'s part 2 channels behind the *reference*
/// `connect`, so s2.e9 and s2.e10 do not depend on your s2.e8.
fn channels_endpoint(implementation: Implementation, signer: &TokenSigner) -> Endpoint {
    Endpoint::builder(app::auth_channels(implementation, signer.clone()))
        .handler(app::auth_handler(Implementation::Solution, signer.clone()))
        .build()
}

fn connect_as(endpoint: &Endpoint, signer: &TokenSigner, user: i64) -> ChannelClient {
    let token = signer.sign(&user).unwrap();
    endpoint
        .connect_in_memory(&[("token", &token)])
        .expect("the reference connect accepts a fresh token")
}

fn refused(result: Result<ChannelClient, Refused>) -> String {
    match result {
        Err(Refused(reason)) => reason,
        Ok(_) => "accepted".into(),
    }
}

exercise! { s2_e8:
    #[tokio::test]
    async fn a_valid_token_connects_as_auth_socket_user() {
        let app = app(IMPLEMENTATION).await;
        let token = app.signer.sign(&USER).unwrap();
        let mut client = app
            .auth_endpoint
            .connect_in_memory(&[("token", &token)])
            .unwrap_or_else(|e| panic!("a fresh token for user {USER} must connect, got {e}"));
        assert_eq!(reply_status(&client.heartbeat().await), Some("ok"));
        // The socket id names the user: disconnecting it closes this connection.
        app.auth_endpoint.disconnect(&format!("auth_socket:{USER}"));
        let closed = client.closed().await;
        assert_eq!(
            closed.code, 1001,
            "disconnect(\"auth_socket:{USER}\") should close the socket: its id must be \
             auth_socket:<user id>, got {closed:?}"
        );
    }

    #[tokio::test]
    async fn missing_invalid_and_expired_tokens_are_refused_distinctly() {
        let app = app(IMPLEMENTATION).await;
        let endpoint = &app.auth_endpoint;
        let expired = app.signer.sign_at(&USER, now_ms() - 2 * DAY_MS, 86_400).unwrap();
        let other_key = TokenSigner::new("another secret key base, 20+ bytes", "user socket")
            .unwrap()
            .sign(&USER)
            .unwrap();
        let cases = [
            ("no token param", vec![], "token missing"),
            ("a garbage token", vec![("token", "not-a-token")], "token invalid"),
            ("a token signed with another key", vec![("token", other_key.as_str())], "token invalid"),
            ("a token signed two days ago", vec![("token", expired.as_str())], "token expired"),
        ];
        for (case, params, expected) in cases {
            let reason = refused(endpoint.connect_in_memory(&params));
            assert_eq!(
                reason, expected,
                "{case}: connect must refuse with Refused({expected:?}), got {reason:?}"
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn refused_connections_get_403_over_http() {
        let app = app(IMPLEMENTATION).await;
        let server = Server::bind(0, app.router()).await.unwrap();
        let url = |token: &str| server.socket_url("/auth_socket", &[("token", token)]);
        for token in ["", "garbage"] {
            match ChannelClient::connect(&url(token)).await {
                Err(ConnectError::Status(403)) => {}
                Err(e) => panic!("token {token:?}: expected 403, got {e}"),
                Ok(_) => panic!("token {token:?}: expected 403, the socket was accepted"),
            }
        }
        let token = app.signer.sign(&USER).unwrap();
        let mut client = ChannelClient::connect(&url(&token)).await.expect("a valid token connects");
        assert_eq!(reply_status(&client.heartbeat().await), Some("ok"));
        server.stop().await;
    }
}

exercise! { s2_e9:
    #[tokio::test]
    async fn only_the_sockets_own_user_joins_its_channel() {
        let app = app(IMPLEMENTATION).await;
        let endpoint = channels_endpoint(IMPLEMENTATION, &app.signer);
        let mut client = connect_as(&endpoint, &app.signer, USER);
        let reply = client.join(&format!("user:{USER}"), json!({})).await;
        assert_eq!(
            reply_status(&reply),
            Some("ok"),
            "user {USER} joining user:{USER} must succeed, got {}",
            reply_response(&reply)
        );
        for topic in ["user:8", "user:70", "user:abc", "user:"] {
            let reply = client.join(topic, json!({})).await;
            assert_eq!(
                (reply_status(&reply), reply_response(&reply)),
                (Some("error"), &json!({"reason": "unauthorized"})),
                "user {USER} joining {topic} must get an error reply {{\"reason\": \"unauthorized\"}}"
            );
        }
        let whoami = client.call(&format!("user:{USER}"), "whoami", json!({})).await;
        assert_eq!(reply_response(&whoami), &json!({"user_id": USER}));
    }
}

exercise! { s2_e10:
    #[tokio::test]
    async fn pushes_a_fresh_token_for_the_user_every_five_seconds() {
        let app = app(IMPLEMENTATION).await;
        let endpoint = channels_endpoint(IMPLEMENTATION, &app.signer);
        tokio::time::pause();
        let mut client = connect_as(&endpoint, &app.signer, USER);
        client.set_timeout(Duration::from_secs(60));
        let reply = client.join("recurring", json!({})).await;
        assert_eq!(reply_status(&reply), Some("ok"), "joining recurring: {reply:?}");
        let joined = tokio::time::Instant::now();
        for n in 1..=3u32 {
            let frame = client.next_frame().await;
            assert_eq!(
                frame.event, "new_token",
                "the recurring channel pushes \"new_token\"; got {frame:?}. A phx_error means \
                 your handle_info panicked (is the todo!() still there?)"
            );
            let expected = Duration::from_secs(5) * n;
            let elapsed = joined.elapsed();
            assert!(
                elapsed >= expected && elapsed < expected + Duration::from_millis(100),
                "push #{n} should come {} s after the join (every 5 s), it came after {elapsed:?}",
                5 * n
            );
            let token = frame.payload["token"].as_str().expect("{\"token\": \"...\"}");
            assert_eq!(
                app.signer.verify::<i64>(Some(token)),
                Ok(USER),
                "each pushed token must verify for the socket's user"
            );
        }
        // Leaving stops the timer: nothing more arrives.
        client.leave("recurring").await;
        client.next_frame().await; // phx_close
        client.set_timeout(Duration::from_secs(20));
        assert!(client.next().await.is_none(), "no token after the channel left");
    }
}
