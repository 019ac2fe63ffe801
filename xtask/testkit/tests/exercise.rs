//! `#[exercise]` on a small module tree of this file: `fake::start` is unfinished
//! learner code (wrong answers), `fake::solution` the reference.
//!
//! `cargo test -p testkit` runs the solution copies (they pass) and ignores the start
//! copies; `cargo test -p testkit -- --ignored` runs the start copies, and the
//! answer tests fail there on purpose, as an untouched exercise does.

use std::time::Duration;

use testkit::{Implementation, exercise};

/// What the attribute points at: a section crate's `start` and `solution` modules.
mod fake {
    pub mod start {
        pub const NAME: &str = "start";

        pub fn answer() -> u32 {
            0
        }

        pub mod part2 {
            pub async fn late_answer() -> u32 {
                0
            }
        }
    }

    pub mod solution {
        pub const NAME: &str = "solution";

        pub fn answer() -> u32 {
            42
        }

        pub mod part2 {
            pub async fn late_answer() -> u32 {
                tokio::time::sleep(std::time::Duration::from_secs(60)).await;
                42
            }
        }
    }
}

/// Brought in by the file, seen inside both copies through `use super::*`.
fn expected() -> u32 {
    42
}

#[exercise(crate::fake)]
mod s0_e1 {
    use super::*;

    /// A helper beside the tests is copied too, and is no test.
    fn doubled(n: u32) -> u32 {
        n * 2
    }

    #[test]
    fn answers_forty_two() {
        assert_eq!(imp::answer(), expected(), "the answer is 42");
    }

    #[test]
    fn helpers_and_file_items_are_in_scope() {
        assert_eq!(doubled(imp::answer()), 84);
    }

    /// Passes in both copies (`--ignored` runs the start one): each names its own.
    #[test]
    fn implementation_names_its_module() {
        assert_eq!(IMPLEMENTATION.name(), imp::NAME);
    }

    #[test]
    #[ignore = "kept as written: already ignored"]
    fn an_ignored_test_stays_ignored() {
        panic!("never runs under a plain cargo test");
    }

    mod nested {
        use super::*;

        #[test]
        fn nested_tests_are_instantiated_too() {
            assert_eq!(imp::answer(), 42);
        }
    }
}

#[testkit::exercise(
    crate::fake,
    start = crate::fake::start::part2,
    solution = crate::fake::solution::part2,
)]
mod s0_e2 {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn answers_late_on_paused_time() {
        let answer = tokio::time::timeout(Duration::from_secs(120), imp::late_answer())
            .await
            .expect("answers within two (paused) minutes");
        assert_eq!(answer, 42);
    }
}

/// The selector as the section crates see it, through the kit.
#[test]
fn the_kit_reexports_the_selector() {
    assert_eq!(
        Implementation::from_solution_flag(true).to_string(),
        "solution"
    );
    assert_eq!("start".parse(), Ok(Implementation::Start));
}
