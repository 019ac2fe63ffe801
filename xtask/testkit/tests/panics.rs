//! `testkit::panics`: a payload's text in every shape a panic takes, and the hook
//! that remembers the panics no payload brought back.

use std::time::Duration;

use testkit::panics;

fn payload_of(code: impl FnOnce() + std::panic::UnwindSafe) -> Box<dyn std::any::Any + Send> {
    std::panic::catch_unwind(code).expect_err("the code panics")
}

#[test]
fn a_payload_reads_as_its_text_whatever_its_shape() {
    panics::watch(); // keeps the expected panics below out of nobody's way
    let todo = payload_of(|| todo!("s1.e3: spawn the work"));
    assert_eq!(
        panics::message(&*todo),
        "not yet implemented: s1.e3: spawn the work"
    );
    let literal = payload_of(|| panic!("a literal"));
    assert_eq!(panics::message(&*literal), "a literal");
    let formatted = payload_of(|| panic!("event {} is poisoned", 3));
    assert_eq!(panics::message(&*formatted), "event 3 is poisoned");
    let unwrapped = payload_of(|| {
        let parsed: Result<u32, _> = "nope".parse::<u32>();
        parsed.expect("a number");
    });
    assert!(
        panics::message(&*unwrapped).starts_with("a number: ParseIntError"),
        "{}",
        panics::message(&*unwrapped)
    );
    let empty = payload_of(|| panic!(""));
    assert_eq!(panics::message(&*empty), "(a panic with an empty message)");
    let number = payload_of(|| std::panic::panic_any(42u32));
    assert!(
        panics::message(&*number).contains("not text"),
        "{}",
        panics::message(&*number)
    );
}

#[tokio::test]
async fn a_join_error_reads_as_its_panic_or_as_cancelled() {
    panics::watch();
    let crashed: Result<(), _> = tokio::spawn(async { todo!("s2.e7: the limiter") }).await;
    let error = crashed.expect_err("the task panics");
    assert_eq!(
        panics::join_error(error),
        "not yet implemented: s2.e7: the limiter"
    );
    let sleeping = tokio::spawn(tokio::time::sleep(Duration::from_secs(60)));
    sleeping.abort();
    let error = sleeping.await.expect_err("the task was aborted");
    assert!(
        panics::join_error(error).contains("cancelled"),
        "an aborted task says so"
    );
}

#[tokio::test]
async fn the_hook_remembers_a_spawned_tasks_panic_on_the_tests_thread() {
    panics::watch();
    let mark = panics::mark();
    // The code under test spawns a task and forgets it: its panic reaches nobody.
    let forgotten = tokio::spawn(async { todo!("s1.e3: inside the spawned task") });
    while !forgotten.is_finished() {
        tokio::task::yield_now().await;
    }
    let seen: Vec<_> = panics::since(mark)
        .into_iter()
        .filter(|s| s.on_this_thread())
        .collect();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(
        seen[0].message,
        "not yet implemented: s1.e3: inside the spawned task"
    );
    assert!(seen[0].location.contains("tests/panics.rs"), "{}", seen[0]);
    assert!(seen[0].is_todo());
    // A panic in a test file counts as the test's own assertion, not as the code
    // under test (here the "code under test" is in this test file, so it is left out).
    assert!(seen[0].in_a_test_file());
    assert!(panics::in_code_under_test_since(mark).is_empty());
    let note = panics::note(&seen);
    assert!(note.contains("inside the spawned task"), "{note}");
    assert!(note.contains("todo!()"), "{note}");
    assert_eq!(panics::note(&[]), "");
}

#[test]
fn panics_on_other_threads_are_told_apart() {
    panics::watch();
    let mark = panics::mark();
    let other = std::thread::spawn(|| panic!("on another thread")).join();
    assert!(other.is_err());
    let seen = panics::since(mark);
    let theirs: Vec<_> = seen
        .iter()
        .filter(|s| s.message == "on another thread")
        .collect();
    assert_eq!(theirs.len(), 1, "{seen:?}");
    assert!(!theirs[0].on_this_thread());
}

#[tokio::test]
async fn the_note_counts_the_same_panic_once() {
    panics::watch();
    let mark = panics::mark();
    for _ in 0..5 {
        let task = tokio::spawn(async { panic!("the same bug") });
        assert!(task.await.is_err());
    }
    let seen: Vec<_> = panics::since(mark)
        .into_iter()
        .filter(|s| s.on_this_thread())
        .collect();
    assert_eq!(seen.len(), 5);
    let note = panics::note(&seen);
    assert_eq!(note.matches("the same bug").count(), 1, "{note}");
    assert!(note.contains("(5 times)"), "{note}");
    assert!(!note.contains("todo!()"), "not a todo!(): {note}");
}

/// What axum's `CatchPanic` layer does to a handler's panic: a bare 500 whose body
/// does not carry the panic's text.
async fn behind_a_catch_panic_layer<F>(handler: F) -> (u16, &'static str)
where
    F: std::future::Future<Output = &'static str> + Send + 'static,
{
    match tokio::spawn(handler).await {
        Ok(body) => (200, body),
        Err(_) => (500, "Service panicked"),
    }
}

#[tokio::test]
async fn a_panic_behind_a_layer_that_answers_500_is_still_named() {
    panics::watch();
    let mark = panics::mark();
    let (status, body) =
        behind_a_catch_panic_layer(async { todo!("s1.e4: admit through the gate") }).await;
    assert_eq!((status, body), (500, "Service panicked"));
    let seen: Vec<_> = panics::since(mark)
        .into_iter()
        .filter(|s| s.on_this_thread())
        .collect();
    let note = panics::note(&seen);
    assert!(
        note.contains("not yet implemented: s1.e4: admit through the gate"),
        "the 500 lost the text, the hook kept it: {note}"
    );
}
