//! `course.toml`: the exercises in course order. See its header for the fields.

use std::fs;
use std::path::Path;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub course: Course,
    #[serde(rename = "section", default)]
    pub sections: Vec<Section>,
    #[serde(rename = "exercise", default)]
    pub exercises: Vec<Exercise>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Course {
    pub title: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    pub id: String,
    pub title: String,
    #[serde(rename = "crate")]
    pub krate: String,
    pub readme: Option<String>,
    /// Sections still being written are listed (so ids are reserved) but skipped.
    #[serde(default = "yes")]
    pub available: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exercise {
    pub id: String,
    pub section: String,
    pub part: String,
    pub title: String,
    #[serde(rename = "crate")]
    pub krate: String,
    pub test: String,
    pub filter: String,
    pub files: Vec<String>,
    pub solutions: Vec<String>,
    pub slide: String,
    pub minutes: u32,
    /// `core` (the two-day path) or `extra` (hard modes and deep dives).
    pub kind: Kind,
    pub hints: Vec<String>,
    #[serde(default)]
    pub snapshots: Vec<String>,
}

impl Exercise {
    /// The marker the start file carries beside its `todo!()`.
    pub fn marker(&self) -> String {
        format!("TODO({})", self.id)
    }

    /// The test-name prefix of one side (`s1_e2::start::`).
    pub fn test_prefix(&self, side: Side) -> String {
        format!("{}::{}::", self.filter, side.module())
    }

    /// The integration test file, relative to the workspace root.
    pub fn test_file(&self) -> String {
        format!("{}/tests/{}.rs", self.krate, self.test)
    }

    /// `s1-e02_serial`: the stem of its generated slide pages (the section, then
    /// the exercise's one name, so the pages list in course order).
    pub fn page_stem(&self) -> String {
        format!("{}-{}", self.section, self.filter)
    }
}

/// Whether an exercise is on the two-day core path or an optional extra.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// On the two-day agenda: a section is done when its core exercises pass.
    Core,
    /// Hard modes and deep dives: optional, never block "section done".
    Extra,
}

/// Which implementation the tests run against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Start,
    Solution,
}

impl Side {
    pub fn module(self) -> &'static str {
        match self {
            Side::Start => "start",
            Side::Solution => "solution",
        }
    }
}

/// What a command works on: everything, one section, or one exercise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    Section(String),
    Exercise(String),
}

impl Scope {
    /// Reads `s1`, `s1.e2` (also `s1-e2`, `s1_e2`, `S1.E2`: learners type all of them).
    pub fn parse(text: Option<&str>) -> Scope {
        let Some(text) = text else { return Scope::All };
        let normal = text.trim().to_lowercase().replace(['-', '_'], ".");
        if normal.contains('.') {
            Scope::Exercise(normal)
        } else {
            Scope::Section(normal)
        }
    }
}

impl Manifest {
    pub fn load(root: &Path) -> Result<Manifest, String> {
        let path = root.join("course.toml");
        let text = fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Self::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Manifest, String> {
        toml::from_str(text).map_err(|e| format!("course.toml is not valid: {e}"))
    }

    pub fn section(&self, id: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.id == id)
    }

    pub fn exercise(&self, id: &str) -> Result<&Exercise, String> {
        let normal = match Scope::parse(Some(id)) {
            Scope::Exercise(id) | Scope::Section(id) => id,
            Scope::All => unreachable!("parse(Some) is never All"),
        };
        self.exercises
            .iter()
            .find(|e| e.id == normal)
            .ok_or_else(|| {
                let known: Vec<&str> = self.exercises.iter().map(|e| e.id.as_str()).collect();
                format!(
                    "there is no exercise `{id}`; the exercises are: {}",
                    known.join(", ")
                )
            })
    }

    /// The exercises a scope covers, in course order. `All` skips unavailable sections;
    /// naming an unavailable section or exercise explicitly is an error that says so.
    pub fn select(&self, scope: &Scope) -> Result<Vec<&Exercise>, String> {
        let available = |e: &&Exercise| self.section(&e.section).is_none_or(|s| s.available);
        match scope {
            Scope::All => Ok(self.exercises.iter().filter(available).collect()),
            Scope::Section(id) => {
                let Some(section) = self.section(id) else {
                    let known: Vec<&str> = self.sections.iter().map(|s| s.id.as_str()).collect();
                    return Err(format!(
                        "there is no section `{id}`; the sections are: {}",
                        known.join(", ")
                    ));
                };
                if !section.available {
                    return Err(format!("{} is not available yet", section.title));
                }
                let chosen: Vec<_> = self.exercises.iter().filter(|e| &e.section == id).collect();
                if chosen.is_empty() {
                    return Err(format!("{} has no exercises yet", section.title));
                }
                Ok(chosen)
            }
            Scope::Exercise(id) => {
                let exercise = self.exercise(id)?;
                if !available(&exercise) {
                    return Err(format!(
                        "exercise {id} is in a section that is not available yet"
                    ));
                }
                Ok(vec![exercise])
            }
        }
    }

    /// Every section crate the course has, available or not (for watching and benches).
    pub fn crates(&self) -> Vec<&str> {
        let mut crates: Vec<&str> = self.sections.iter().map(|s| s.krate.as_str()).collect();
        crates.dedup();
        crates
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
        [course]
        title = "T"
        [[section]]
        id = "s1"
        title = "Section 1"
        crate = "section1"
        [[section]]
        id = "s2"
        title = "Section 2"
        crate = "section2"
        available = false
        [[exercise]]
        id = "s1.e1"
        section = "s1"
        part = "Part 1"
        title = "First"
        crate = "section1"
        test = "part1"
        filter = "s1_e1"
        files = ["a.rs"]
        solutions = ["b.rs"]
        slide = "slides/src/x.md"
        minutes = 5
        kind = "core"
        hints = ["one", "two"]
    "#;

    #[test]
    fn scopes_select_exercises() {
        let m = Manifest::parse(SAMPLE).unwrap();
        assert_eq!(m.select(&Scope::All).unwrap().len(), 1);
        assert_eq!(
            m.select(&Scope::parse(Some("S1_E1"))).unwrap()[0].id,
            "s1.e1"
        );
        assert!(
            m.select(&Scope::parse(Some("s2")))
                .unwrap_err()
                .contains("not available")
        );
        assert!(
            m.select(&Scope::parse(Some("s9")))
                .unwrap_err()
                .contains("no section")
        );
        assert!(
            m.select(&Scope::parse(Some("s1.e9")))
                .unwrap_err()
                .contains("s1.e1")
        );
    }

    #[test]
    fn unknown_fields_are_reported() {
        let bad = SAMPLE.replace("minutes = 5", "minutes = 5\nminuets = 4");
        assert!(Manifest::parse(&bad).unwrap_err().contains("minuets"));
    }
}
