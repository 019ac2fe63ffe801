//! Which implementation of the exercises runs: the learner's code in `src/start/`
//! or the reference compiled from `solutions/`.
//!
//! Every section crate answers the same question the same way (`serve --solution`,
//! the `IMPLEMENTATION` constant of each exercise test), so the type lives here once
//! and the section crates and the test kit re-export it.

use std::fmt;
use std::str::FromStr;

/// Which implementation of the exercises a server, a command or a test runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Implementation {
    /// The learner's code, in the section's `src/start/`.
    #[default]
    Start,
    /// The reference, in `solutions/sectionN/`, compiled into the section's `solution` module.
    Solution,
}

impl Implementation {
    /// Both, start first: the order `cargo xtask check` and the tests use.
    pub const ALL: [Implementation; 2] = [Implementation::Start, Implementation::Solution];

    /// `"start"` or `"solution"`: the module name, and what `/stats`, dashboards and
    /// logs show.
    pub fn name(self) -> &'static str {
        match self {
            Implementation::Start => "start",
            Implementation::Solution => "solution",
        }
    }

    /// The implementation a binary's `--solution` flag asks for.
    pub fn from_solution_flag(solution: bool) -> Self {
        if solution {
            Implementation::Solution
        } else {
            Implementation::Start
        }
    }

    /// `true` for [`Implementation::Solution`].
    pub fn is_solution(self) -> bool {
        self == Implementation::Solution
    }
}

impl fmt::Display for Implementation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error of parsing anything but `start` or `solution`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseImplementationError {
    input: String,
}

impl fmt::Display for ParseImplementationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown implementation {:?}: expected \"start\" or \"solution\"",
            self.input
        )
    }
}

impl std::error::Error for ParseImplementationError {}

impl FromStr for Implementation {
    type Err = ParseImplementationError;

    /// `start` or `solution`, as [`Implementation::name`] writes them (surrounding
    /// spaces and case are forgiven: the value often comes from a command line or an
    /// environment variable).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "start" => Ok(Implementation::Start),
            "solution" => Ok(Implementation::Solution),
            _ => Err(ParseImplementationError {
                input: s.to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_display_and_from_str() {
        for implementation in Implementation::ALL {
            let shown = implementation.to_string();
            assert_eq!(shown, implementation.name());
            assert_eq!(shown.parse::<Implementation>(), Ok(implementation));
        }
    }

    #[test]
    fn the_solution_flag_picks_the_reference() {
        assert_eq!(
            Implementation::from_solution_flag(true),
            Implementation::Solution
        );
        assert_eq!(
            Implementation::from_solution_flag(false),
            Implementation::Start
        );
        assert!(Implementation::Solution.is_solution());
        assert!(!Implementation::Start.is_solution());
    }

    #[test]
    fn parsing_forgives_case_and_spaces_but_nothing_else() {
        assert_eq!(" Solution ".parse(), Ok(Implementation::Solution));
        let error = "reference".parse::<Implementation>().unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown implementation \"reference\": expected \"start\" or \"solution\""
        );
    }
}
