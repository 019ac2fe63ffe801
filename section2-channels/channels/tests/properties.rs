//! Property tests: random bytes and random frames never panic the decoder or the
//! socket, and every frame gets either a protocol answer or a clean close.

mod support;

use channels::Frame;
use channels::client::Received;
use proptest::prelude::*;
use serde_json::{Value, json};
use support::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn the_decoder_never_panics_on_random_text(text in any::<String>()) {
        let _ = Frame::decode(&text);
    }

    #[test]
    fn the_decoder_never_panics_on_json_shaped_text(text in "\\[(null|\"[0-9a-z:]{0,4}\"|[0-9]{1,3}|\\{\\}|\\[\\]|,| ){0,12}\\]?") {
        if let Err(error) = Frame::decode(&text) {
            // Every error can be put into words for the client.
            prop_assert!(!error.to_string().is_empty());
        }
    }

    #[test]
    fn what_decodes_encodes_back_to_the_same_frame(
        join_ref in proptest::option::of("[0-9]{1,3}"),
        msg_ref in proptest::option::of("[0-9]{1,3}"),
        topic in "[a-z]{1,6}(:[0-9]{1,3})?",
        event in "[a-z_.]{1,10}",
        n in any::<i64>(),
        s in any::<String>(),
    ) {
        let frame = Frame {
            join_ref, msg_ref, topic, event,
            payload: json!({ "n": n, "s": s }),
        };
        prop_assert_eq!(Frame::decode(&frame.encode()).unwrap(), frame);
    }
}

/// One message a random client sends.
#[derive(Debug, Clone)]
enum Input {
    Text(String),
    Binary(Vec<u8>),
}

fn json_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<i32>().prop_map(Value::from),
        "[a-z0-9 ]{0,8}".prop_map(Value::from),
        Just(json!({})),
        Just(json!({"refuse": "no"})),
        Just(json!({"text": "restock"})),
        Just(json!([1, 2])),
    ]
}

fn frame_text() -> impl Strategy<Value = String> {
    let refs = prop_oneof![
        Just(Value::Null),
        "[1-6]".prop_map(Value::from),
        Just(json!(3))
    ];
    let topic = prop_oneof![
        Just(json!("orders:berlin")),
        Just(json!("orders:paris")),
        Just(json!("phoenix")),
        Just(json!("warehouse:1")),
        Just(json!("")),
        Just(json!(42)),
    ];
    let event = prop_oneof![
        Just(json!("phx_join")),
        Just(json!("phx_leave")),
        Just(json!("heartbeat")),
        Just(json!("echo")),
        Just(json!("place")),
        Just(json!("price")),
        Just(json!("later")),
        Just(json!("remind")),
        Just(json!("close")),
        Just(json!("crash")),
        Just(json!("silent")),
        Just(json!("nope")),
        Just(Value::Null),
    ];
    (refs.clone(), refs, topic, event, json_value(), 3usize..=6).prop_map(
        |(join_ref, msg_ref, topic, event, payload, len)| {
            let items = [join_ref, msg_ref, topic, event, payload, json!("extra")];
            Value::Array(items[..len].to_vec()).to_string()
        },
    )
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        8 => frame_text().prop_map(Input::Text),
        1 => any::<String>().prop_map(Input::Text),
        1 => proptest::collection::vec(any::<u8>(), 0..24).prop_map(Input::Binary),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// After each random message the client sends a heartbeat with a fresh ref. The
    /// socket must answer it (it is still serving) or have closed cleanly with a code
    /// that names the problem. Channel crashes are allowed: they are protocol answers.
    #[test]
    fn the_socket_answers_or_closes_cleanly(inputs in proptest::collection::vec(input(), 1..24)) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap();
        runtime.block_on(async move {
            let endpoint = endpoint();
            let mut client = client(&endpoint, "fuzz");
            for (i, input) in inputs.iter().enumerate() {
                match input {
                    Input::Text(text) => client.send_text(text).await,
                    Input::Binary(bytes) => client.send_binary(bytes.clone()).await,
                }
                let probe = format!("probe{i}");
                client
                    .send_text(&format!(r#"[null,"{probe}","phoenix","heartbeat",{{}}]"#))
                    .await;
                loop {
                    match client.next().await {
                        Some(Received::Frame(frame)) => {
                            assert!(
                                frame.topic.is_empty() || !frame.event.is_empty(),
                                "a frame without an event: {frame:?}"
                            );
                            if frame.msg_ref.as_deref() == Some(probe.as_str()) {
                                break;
                            }
                        }
                        Some(Received::Closed(reason)) => {
                            assert!(
                                [1002, 1003].contains(&reason.code) && !reason.reason.is_empty(),
                                "an unclean close {reason:?}; transcript:\n{}",
                                client.transcript()
                            );
                            return;
                        }
                        None => panic!(
                            "the socket neither answered the heartbeat nor closed; transcript:\n{}",
                            client.transcript()
                        ),
                    }
                }
            }
        });
    }
}
