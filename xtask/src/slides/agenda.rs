//! The two-day agenda (`slides/src/agenda.md`), and the check that each day fits.
//!
//! A training day has [`DAY_MINUTES`] of teaching (6 h 30 min) between 09:00 and
//! about 17:00, with a morning break, lunch and an afternoon break. The agenda puts
//! the course's **core** content on [`DAYS`]: every slide page in `SUMMARY.md` order,
//! each followed by the exercise it introduces. Minutes come from `course.toml`
//! (`minutes`, `kind`) and from each page's minutes line:
//!
//! ```text
//! > minutes: 6            a core page: 6 minutes of talk (and demo, and discussion)
//! > minutes: 6 · extra    an extra page: a deep dive, a hard mode, measured results
//! ```
//!
//! The line sits near the top of every hand-written page; the book shows it, so a
//! learner sees which pages are self-study. A slide of an `extra` exercise is extra
//! too, and a slide of a core exercise is core (the build says so when they
//! disagree). Building the agenda fails, naming the day and the minutes over, when a
//! day's core takes more than [`DAY_MINUTES`]: the fit is checked, not claimed.

use std::collections::HashMap;

use crate::manifest::{Exercise, Kind, Manifest};

use super::{GENERATED, SRC_DIR};

/// The generated page, relative to the workspace root.
pub const PAGE: &str = "slides/src/agenda.md";
/// Teaching minutes in a training day: 6 h 30 min.
pub const DAY_MINUTES: u32 = 390;
/// The sections each day covers, by id. Pages before the first section (the
/// introduction) open the first day; pages after the last close the last day.
pub const DAYS: &[&[&str]] = &[&["s1", "s2"], &["s3", "s4"]];
/// The word after the minutes that marks a page as extra.
pub const EXTRA: &str = "extra";

/// 09:00, in minutes after midnight.
const START: u32 = 9 * 60;

/// The breaks of a day, in order: the name, how long, and the clock time it aims
/// for. Each goes at the boundary between two items nearest its time.
const BREAKS: [(&str, u32, u32); 3] = [
    ("Morning break", 15, 10 * 60 + 30),
    ("Lunch", 60, 12 * 60 + 30),
    ("Afternoon break", 15, 15 * 60),
];

/// A page's minutes line: how long it takes, and whether it is extra.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageMinutes {
    pub minutes: u32,
    pub extra: bool,
}

/// Reads the `> minutes: N` (or `> minutes: N · extra`) line among a page's first
/// lines. `None`: the page has no such line; `Some(Err)`: it has one that is wrong.
pub fn page_minutes(text: &str) -> Option<Result<PageMinutes, String>> {
    let line = text
        .lines()
        .take(12)
        .find_map(|line| line.trim().strip_prefix("> minutes:"))?;
    let mut parts = line.split('·').map(str::trim);
    let number = parts.next().unwrap_or("");
    let Ok(minutes) = number.parse::<u32>() else {
        return Some(Err(format!(
            "its minutes line says `{}`: write `> minutes: N` or `> minutes: N · {EXTRA}`",
            line.trim()
        )));
    };
    let mut extra = false;
    for word in parts {
        if word == EXTRA {
            extra = true;
        } else {
            return Some(Err(format!(
                "its minutes line has `{word}` after the minutes; the only mark is `· {EXTRA}`"
            )));
        }
    }
    Some(Ok(PageMinutes { minutes, extra }))
}

/// One link of `SUMMARY.md`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryEntry {
    /// The link's text.
    pub title: String,
    /// The page, relative to `slides/src`.
    pub link: String,
    /// The `# ` part heading above it (pages above the first heading get the first one).
    pub heading: String,
    /// The top-level entry it is nested under (itself when it has children), or its
    /// heading when it stands alone: the part a day's table names.
    pub group: String,
}

/// The links of `SUMMARY.md`, in order, with their headings and groups.
pub fn summary_entries(text: &str) -> Vec<SummaryEntry> {
    let mut entries: Vec<(SummaryEntry, usize)> = Vec::new();
    let mut heading = String::new();
    let mut first_heading = None;
    for line in text.lines() {
        if let Some(title) = line.strip_prefix("# ") {
            // mdBook's optional title line is not a part of the book.
            if title.trim() != "Summary" {
                heading = title.trim().to_string();
                first_heading.get_or_insert_with(|| heading.clone());
            }
            continue;
        }
        let depth = (line.len() - line.trim_start().len()) / 2;
        let item = line.trim_start().trim_start_matches("- ");
        let Some(rest) = item.strip_prefix('[') else {
            continue;
        };
        let Some((title, rest)) = rest.split_once("](") else {
            continue;
        };
        let Some((link, _)) = rest.split_once(')') else {
            continue;
        };
        entries.push((
            SummaryEntry {
                title: title.to_string(),
                link: link.trim().to_string(),
                heading: heading.clone(),
                group: String::new(),
            },
            depth,
        ));
    }
    let first_heading = first_heading.unwrap_or_default();
    let mut out = Vec::with_capacity(entries.len());
    let mut parent = String::new();
    for index in 0..entries.len() {
        let (entry, depth) = &entries[index];
        let mut entry = entry.clone();
        if entry.heading.is_empty() {
            entry.heading = first_heading.clone();
        }
        let has_children = entries.get(index + 1).is_some_and(|(_, d)| d > depth);
        if *depth == 0 {
            parent = if has_children {
                entry.title.clone()
            } else {
                entry.heading.clone()
            };
        }
        entry.group = parent.clone();
        out.push(entry);
    }
    out
}

/// A slide page on the agenda.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slide {
    pub title: String,
    /// Relative to `slides/src`.
    pub link: String,
    pub heading: String,
    pub group: String,
    pub minutes: u32,
    pub extra: bool,
}

/// One thing on the agenda: a slide page, or the exercise it introduces.
#[derive(Debug, Clone, Copy)]
pub enum Item<'a> {
    Slide(&'a Slide),
    Exercise(&'a Exercise),
}

impl Item<'_> {
    pub fn minutes(&self) -> u32 {
        match self {
            Item::Slide(s) => s.minutes,
            Item::Exercise(e) => e.minutes,
        }
    }

    fn extra(&self) -> bool {
        match self {
            Item::Slide(s) => s.extra,
            Item::Exercise(e) => e.kind == Kind::Extra,
        }
    }
}

/// A break placed before `before` (an index into the day's items).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Break {
    pub before: usize,
    pub name: &'static str,
    pub minutes: u32,
}

/// One training day.
#[derive(Debug)]
pub struct Day<'a> {
    pub number: usize,
    pub sections: Vec<String>,
    pub items: Vec<Item<'a>>,
    pub breaks: Vec<Break>,
}

impl Day<'_> {
    pub fn teaching(&self) -> u32 {
        self.items.iter().map(Item::minutes).sum()
    }

    pub fn talk(&self) -> u32 {
        self.items
            .iter()
            .filter(|i| matches!(i, Item::Slide(_)))
            .map(Item::minutes)
            .sum()
    }

    /// When the day ends, in minutes after midnight.
    pub fn end(&self) -> u32 {
        START + self.teaching() + self.breaks.iter().map(|b| b.minutes).sum::<u32>()
    }
}

/// The days, and what is left for self-study.
#[derive(Debug)]
pub struct Plan<'a> {
    pub days: Vec<Day<'a>>,
    pub extras: Vec<Item<'a>>,
}

/// Lays the course out on `days` (section ids per day). Fails, with every reason at
/// once, when a day's core passes `day_minutes` or a slide and its exercise disagree
/// about being extra.
pub fn plan<'a>(
    manifest: &'a Manifest,
    slides: &'a [Slide],
    days: &[&[&str]],
    day_minutes: u32,
) -> Result<Plan<'a>, String> {
    let mut problems = Vec::new();
    // The slides' folders name their section (`section1/...` holds s1's slides): learn
    // which from the exercises' own slides.
    let mut folder_section: HashMap<&str, &str> = HashMap::new();
    for e in &manifest.exercises {
        let page = e
            .slide
            .strip_prefix(&format!("{SRC_DIR}/"))
            .unwrap_or(&e.slide);
        if let Some((folder, _)) = page.split_once('/') {
            folder_section.entry(folder).or_insert(e.section.as_str());
        }
    }
    let day_of = |section: &str| days.iter().position(|d| d.contains(&section));
    for section in &manifest.sections {
        if day_of(&section.id).is_none() {
            problems.push(format!(
                "{} is on no day of the agenda: add `{}` to DAYS in xtask/src/slides/agenda.rs",
                section.title, section.id
            ));
        }
    }

    // Course order, each slide tagged with its section (a page outside any section's
    // folder goes with the section around it).
    let mut sequence: Vec<(Item<'a>, Option<&'a str>)> = Vec::new();
    let mut placed = vec![false; manifest.exercises.len()];
    let mut current: Option<&str> = None;
    let mut before_first = 0;
    for slide in slides {
        let folder = slide.link.split_once('/').map(|(f, _)| f);
        if let Some(section) = folder.and_then(|f| folder_section.get(f)) {
            if current.is_none() {
                // The introduction belongs to the first section's day.
                for (_, s) in &mut sequence[..before_first] {
                    *s = Some(section);
                }
            }
            current = Some(section);
        }
        sequence.push((Item::Slide(slide), current));
        if current.is_none() {
            before_first = sequence.len();
        }
        let path = format!("{SRC_DIR}/{}", slide.link);
        for (index, e) in manifest.exercises.iter().enumerate() {
            if e.slide == path && !placed[index] {
                placed[index] = true;
                if slide.extra != (e.kind == Kind::Extra) {
                    problems.push(if slide.extra {
                        format!(
                            "{} is core but its slide {path} is marked `{EXTRA}`: a room needs \
                             the slide to do the exercise",
                            e.id
                        )
                    } else {
                        format!(
                            "{} is extra but its slide {path} is not: write `> minutes: {} · \
                             {EXTRA}`",
                            e.id, slide.minutes
                        )
                    });
                }
                sequence.push((Item::Exercise(e), Some(e.section.as_str())));
            }
        }
    }
    // An exercise whose slide is not in SUMMARY.md (the lint says so) still counts.
    for (index, e) in manifest.exercises.iter().enumerate() {
        if !placed[index] {
            sequence.push((Item::Exercise(e), Some(e.section.as_str())));
        }
    }

    let mut plan = Plan {
        days: Vec::new(),
        extras: Vec::new(),
    };
    for (index, sections) in days.iter().enumerate() {
        let items: Vec<Item<'a>> = sequence
            .iter()
            .filter(|(item, section)| {
                !item.extra()
                    && match section {
                        Some(section) => sections.contains(section),
                        None => index == 0,
                    }
            })
            .map(|(item, _)| *item)
            .collect();
        if items.is_empty() {
            continue;
        }
        let titles: Vec<String> = sections
            .iter()
            .filter_map(|id| manifest.section(id).map(|s| s.title.clone()))
            .collect();
        let day = Day {
            number: plan.days.len() + 1,
            sections: titles,
            breaks: place_breaks(&items),
            items,
        };
        let teaching = day.teaching();
        if teaching > day_minutes {
            problems.push(format!(
                "day {} ({}) does not fit: its core slides and exercises take {teaching} min, \
                 {} min more than the {day_minutes} min of teaching a day has; mark pages or \
                 exercises extra, or correct their minutes",
                day.number,
                day.sections.join(", "),
                teaching - day_minutes
            ));
        }
        plan.days.push(day);
    }
    plan.extras = sequence
        .iter()
        .filter(|(item, _)| item.extra())
        .map(|(item, _)| *item)
        .collect();
    if problems.is_empty() {
        Ok(plan)
    } else {
        Err(problems.join("\n"))
    }
}

/// Each break at the boundary between two items nearest its clock time, in order. A
/// break never falls between a slide and the exercise it introduces, nor before the
/// first item or after the last.
fn place_breaks(items: &[Item<'_>]) -> Vec<Break> {
    let mut elapsed = vec![0u32; items.len() + 1];
    for (index, item) in items.iter().enumerate() {
        elapsed[index + 1] = elapsed[index] + item.minutes();
    }
    let splits_an_exercise = |k: usize| match (items[k - 1], items[k]) {
        (Item::Slide(slide), Item::Exercise(e)) => e.slide == format!("{SRC_DIR}/{}", slide.link),
        _ => false,
    };
    let mut breaks = Vec::new();
    let mut earliest = 1;
    let mut breaks_so_far = 0;
    for (name, minutes, clock) in BREAKS {
        let target = clock.saturating_sub(START + breaks_so_far);
        let best = (earliest..items.len())
            .filter(|&k| !splits_an_exercise(k))
            .min_by_key(|&k| (elapsed[k].abs_diff(target), k));
        let Some(before) = best else { break };
        breaks.push(Break {
            before,
            name,
            minutes,
        });
        breaks_so_far += minutes;
        earliest = before + 1;
    }
    breaks
}

/// `09:05`.
fn clock(minutes: u32) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// `6 h 25 min`.
fn duration(minutes: u32) -> String {
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

/// `Section 1`: a section's heading or title without its subtitle.
fn short(title: &str) -> &str {
    title.split_once(':').map_or(title, |(short, _)| short)
}

/// Where a page sits: `Section 1 · Part 2: a back-pressured pipeline`, or just the
/// heading for a page outside any part.
fn place(slide: &Slide) -> String {
    if slide.group == slide.heading {
        slide.heading.clone()
    } else {
        format!("{} · {}", short(&slide.heading), slide.group)
    }
}

/// Table cells cannot hold a `|`.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

fn exercise_link(e: &Exercise) -> String {
    format!("exercises/{}.md", e.page_stem())
}

/// The agenda page.
pub fn render(manifest: &Manifest, plan: &Plan<'_>, day_minutes: u32) -> String {
    let mut page = format!(
        "{GENERATED}\n\n\
         # Agenda: two days\n\n\
         Each training day has {} of teaching, 09:00 to about 17:00, with a morning \
         break, lunch and an afternoon break. The days hold the **core** path: the slides \
         and exercises a room needs for the ideas of the training. Hard modes, deep dives \
         and measured results are [extras](#extras-self-study-and-teams), for self-study, \
         for teams, or for a room that runs ahead.\n\n\
         | day | sections | talk | exercises | teaching | hours |\n|---|---|---|---|---|---|\n",
        duration(day_minutes)
    );
    for day in &plan.days {
        page.push_str(&format!(
            "| [Day {n}](#day-{n}) | {} | {} min | {} min | **{} min** of {day_minutes} | {} to {} |\n",
            cell(&day.sections.join(", ")),
            day.talk(),
            day.teaching() - day.talk(),
            day.teaching(),
            clock(START),
            clock(day.end()),
            n = day.number,
        ));
    }
    page.push_str(&format!(
        "\nMinutes come from `course.toml` (each exercise's `minutes` and `kind`) and from \
         each slide page's `> minutes: N` line (`> minutes: N · {EXTRA}` marks an extra \
         page). `cargo xtask slides` writes this page; `cargo xtask verify` fails when a \
         day's core passes {day_minutes} minutes. A \"talk\" row is the instructor's: \
         slides, demos and the room's discussion; an exercise row is everyone coding, \
         until `cargo xtask check` is green.\n"
    ));

    for day in &plan.days {
        page.push_str(&format!(
            "\n## Day {}\n\n*{}*: {} of teaching ({} min talk, {} min exercises), {} to {}.\n\n\
             | time | what | min |\n|---|---|---|\n",
            day.number,
            day.sections.join(" · "),
            duration(day.teaching()),
            day.talk(),
            day.teaching() - day.talk(),
            clock(START),
            clock(day.end()),
        ));
        let mut now = START;
        let mut heading = "";
        let mut group = "";
        let mut talk: Vec<&Slide> = Vec::new();
        // The part is named on its first talk row, not again after each exercise.
        let mut named = String::new();
        let mut flush = |talk: &mut Vec<&Slide>, now: &mut u32, page: &mut String, group: &str| {
            if talk.is_empty() {
                return;
            }
            let minutes: u32 = talk.iter().map(|s| s.minutes).sum();
            let slides: Vec<String> = talk
                .iter()
                .map(|s| format!("[{}]({}) {}", cell(&s.title), s.link, s.minutes))
                .collect();
            let label = if group == talk[0].heading || group == named.as_str() {
                "Talk".to_string()
            } else {
                format!("Talk, *{}*", cell(group))
            };
            named = group.to_string();
            page.push_str(&format!(
                "| {} | {label}: {} | {minutes} |\n",
                clock(*now),
                slides.join(" · ")
            ));
            *now += minutes;
            talk.clear();
        };
        for (index, item) in day.items.iter().enumerate() {
            if let Some(b) = day.breaks.iter().find(|b| b.before == index) {
                flush(&mut talk, &mut now, &mut page, group);
                page.push_str(&format!(
                    "| {} | ☕ **{}** | {} |\n",
                    clock(now),
                    b.name,
                    b.minutes
                ));
                now += b.minutes;
            }
            match item {
                Item::Slide(slide) => {
                    if slide.heading != heading {
                        flush(&mut talk, &mut now, &mut page, group);
                        heading = &slide.heading;
                        page.push_str(&format!("| | **{}** | |\n", cell(heading)));
                    }
                    if slide.group != group {
                        flush(&mut talk, &mut now, &mut page, group);
                        group = &slide.group;
                    }
                    talk.push(slide);
                }
                Item::Exercise(e) => {
                    flush(&mut talk, &mut now, &mut page, group);
                    page.push_str(&format!(
                        "| {} | ✍ Exercise **{}**: [{}]({}) | {} |\n",
                        clock(now),
                        e.id,
                        cell(&e.title),
                        exercise_link(e),
                        e.minutes
                    ));
                    now += e.minutes;
                }
            }
        }
        flush(&mut talk, &mut now, &mut page, group);
        page.push_str(&format!(
            "| {} | End of day {} | |\n",
            clock(now),
            day.number
        ));
    }

    page.push_str(
        "\n## Extras (self-study and teams)\n\n\
         Not on the two days. Each is marked where it lives: `kind = \"extra\"` in \
         `course.toml` (`cargo xtask check` shows those exercises as optional) and \
         `· extra` on the page's minutes line.\n\n\
         | exercise | part | min |\n|---|---|---|\n",
    );
    let mut exercise_minutes = 0;
    for item in &plan.extras {
        if let Item::Exercise(e) = item {
            let section = manifest
                .section(&e.section)
                .map_or(e.section.as_str(), |s| short(&s.title));
            page.push_str(&format!(
                "| **{}**: [{}]({}) | {} · {} | {} |\n",
                e.id,
                cell(&e.title),
                exercise_link(e),
                cell(section),
                cell(&e.part),
                e.minutes
            ));
            exercise_minutes += e.minutes;
        }
    }
    page.push_str(&format!(
        "| **total** | | **{exercise_minutes}** |\n\n| slide | part | min |\n|---|---|---|\n"
    ));
    let mut slide_minutes = 0;
    for item in &plan.extras {
        if let Item::Slide(s) = item {
            page.push_str(&format!(
                "| [{}]({}) | {} | {} |\n",
                cell(&s.title),
                s.link,
                cell(&place(s)),
                s.minutes
            ));
            slide_minutes += s.minutes;
        }
    }
    let total = exercise_minutes + slide_minutes;
    page.push_str(&format!(
        "| **total** | | **{slide_minutes}** |\n\n\
         In all, {total} min of extras (about {}): {exercise_minutes} min of exercises and \
         {slide_minutes} min of slides.\n",
        duration(total.div_ceil(15) * 15)
    ));
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_minutes_lines() {
        let page = |line: &str| format!("# Title\n\n{line}\n\nText.\n");
        assert_eq!(
            page_minutes(&page("> minutes: 6")),
            Some(Ok(PageMinutes {
                minutes: 6,
                extra: false
            }))
        );
        assert_eq!(
            page_minutes(&page("> minutes: 12 · extra")),
            Some(Ok(PageMinutes {
                minutes: 12,
                extra: true
            }))
        );
        assert_eq!(page_minutes("# Title\n\nNo line.\n"), None);
        let wrong = page_minutes(&page("> minutes: about 5")).unwrap();
        assert!(wrong.unwrap_err().contains("`about 5`"));
        let unknown = page_minutes(&page("> minutes: 5 · optional")).unwrap();
        assert!(unknown.unwrap_err().contains("`optional`"));
    }

    #[test]
    fn summary_entries_know_their_heading_and_part() {
        let text = "# Summary\n\n[Title](README.md)\n[Agenda](agenda.md)\n\n# Introduction\n\n\
                    - [Intro](intro/a.md)\n\n# Section 1\n\n- [Part 1](s1/p1/README.md)\n  \
                    - [Serial](s1/p1/serial.md)\n- [Alone](s1/alone.md)\n";
        let entries = summary_entries(text);
        let view: Vec<(&str, &str, &str)> = entries
            .iter()
            .map(|e| (e.link.as_str(), e.heading.as_str(), e.group.as_str()))
            .collect();
        assert_eq!(
            view,
            vec![
                ("README.md", "Introduction", "Introduction"),
                ("agenda.md", "Introduction", "Introduction"),
                ("intro/a.md", "Introduction", "Introduction"),
                ("s1/p1/README.md", "Section 1", "Part 1"),
                ("s1/p1/serial.md", "Section 1", "Part 1"),
                ("s1/alone.md", "Section 1", "Section 1"),
            ]
        );
    }

    /// Two sections, one a day: s1 has a long exercise, s2 a core and an extra one.
    const MANIFEST: &str = r#"
        [course]
        title = "T"
        [[section]]
        id = "s1"
        title = "Section 1: pipes"
        crate = "c"
        [[section]]
        id = "s2"
        title = "Section 2: channels"
        crate = "c"
        [[exercise]]
        id = "s1.e1"
        section = "s1"
        part = "Part 1"
        title = "Serial"
        crate = "c"
        test = "part1"
        filter = "e01_serial"
        files = ["c/a.rs"]
        solutions = ["s/a.rs"]
        slide = "slides/src/section1/e01_serial.md"
        minutes = 100
        kind = "core"
        hints = ["a", "b"]
        [[exercise]]
        id = "s2.e1"
        section = "s2"
        part = "Part 1"
        title = "Ping"
        crate = "c"
        test = "part1"
        filter = "e01_ping"
        files = ["c/b.rs"]
        solutions = ["s/b.rs"]
        slide = "slides/src/section2/e01_ping.md"
        minutes = 30
        kind = "core"
        hints = ["a", "b"]
        [[exercise]]
        id = "s2.e2"
        section = "s2"
        part = "Part 1"
        title = "Hard mode: bounded"
        crate = "c"
        test = "part1"
        filter = "e02_bounded"
        files = ["c/c.rs"]
        solutions = ["s/c.rs"]
        slide = "slides/src/section2/e02_bounded.md"
        minutes = 40
        kind = "extra"
        hints = ["a", "b"]
        "#;

    fn slide(link: &str, group: &str, minutes: u32, extra: bool) -> Slide {
        let heading = if link.starts_with("section2") {
            "Section 2: channels"
        } else if link.starts_with("section1") {
            "Section 1: pipes"
        } else {
            "Introduction"
        };
        Slide {
            title: link.to_string(),
            link: link.to_string(),
            heading: heading.to_string(),
            group: if group.is_empty() { heading } else { group }.to_string(),
            minutes,
            extra,
        }
    }

    fn slides() -> Vec<Slide> {
        vec![
            slide("intro/welcome.md", "", 20, false),
            slide("section1/README.md", "Part 1", 40, false),
            slide("section1/e01_serial.md", "Part 1", 30, false),
            slide("section1/more.md", "Part 1", 50, false),
            slide("section1/deep.md", "Part 1", 25, true),
            slide("section1/wrap.md", "Part 1", 60, false),
            slide("section2/e01_ping.md", "", 10, false),
            slide("section2/e02_bounded.md", "", 5, true),
            slide("where-next.md", "", 5, false),
        ]
    }

    fn ids(day: &Day<'_>) -> Vec<String> {
        day.items
            .iter()
            .map(|i| match i {
                Item::Slide(s) => s.link.clone(),
                Item::Exercise(e) => e.id.clone(),
            })
            .collect()
    }

    #[test]
    fn lays_out_days_breaks_and_extras() {
        let manifest = Manifest::parse(MANIFEST).unwrap();
        let slides = slides();
        let plan = plan(&manifest, &slides, &[&["s1"], &["s2"]], 390).unwrap();
        assert_eq!(plan.days.len(), 2);
        let day1 = &plan.days[0];
        // The introduction opens day 1; each exercise follows its slide; extras stay out.
        assert_eq!(
            ids(day1),
            [
                "intro/welcome.md",
                "section1/README.md",
                "section1/e01_serial.md",
                "s1.e1",
                "section1/more.md",
                "section1/wrap.md"
            ]
        );
        assert_eq!(day1.teaching(), 20 + 40 + 30 + 100 + 50 + 60);
        assert_eq!(day1.talk(), 200);
        // Elapsed teaching before each item: 0, 20, 60, 90, 190, 240. The morning break
        // aims at 90 (10:30) but must not split a slide from its exercise, so 60 (30
        // early) beats 190. Lunch aims at 195 (12:30, after 15 min of break): 190. The
        // afternoon break aims at 285 (15:00): 240, the last boundary.
        let breaks: Vec<(usize, &str)> = day1.breaks.iter().map(|b| (b.before, b.name)).collect();
        assert_eq!(
            breaks,
            [(2, "Morning break"), (4, "Lunch"), (5, "Afternoon break")]
        );
        assert_eq!(day1.end(), START + 300 + 90);
        // The closing page after the last section closes the last day.
        assert_eq!(
            ids(&plan.days[1]),
            ["section2/e01_ping.md", "s2.e1", "where-next.md"]
        );
        // Day 2 is 45 min: its only interior boundary without a split is before the
        // closing page, so it gets one break and no lunch.
        assert_eq!(plan.days[1].breaks.len(), 1);
        let extras: Vec<String> = plan
            .extras
            .iter()
            .map(|i| match i {
                Item::Slide(s) => s.link.clone(),
                Item::Exercise(e) => e.id.clone(),
            })
            .collect();
        assert_eq!(
            extras,
            ["section1/deep.md", "section2/e02_bounded.md", "s2.e2"]
        );

        let page = render(&manifest, &plan, 390);
        assert!(page.starts_with(GENERATED));
        assert!(page.contains(
            "| [Day 1](#day-1) | Section 1: pipes | 200 min | 100 min | **300 min** of 390 | \
             09:00 to 15:30 |"
        ));
        assert!(page.contains("| | **Introduction** | |\n| 09:00 | Talk: [intro/welcome.md](intro/welcome.md) 20 | 20 |"));
        assert!(page.contains(
            "| 09:20 | Talk, *Part 1*: [section1/README.md](section1/README.md) 40 | 40 |\n\
             | 10:00 | ☕ **Morning break** | 15 |\n\
             | 10:15 | Talk: [section1/e01_serial.md](section1/e01_serial.md) 30 | 30 |\n\
             | 10:45 | ✍ Exercise **s1.e1**: [Serial](exercises/s1-e01_serial.md) | 100 |\n\
             | 12:25 | ☕ **Lunch** | 60 |"
        ));
        assert!(page.contains("| 15:30 | End of day 1 | |"));
        assert!(page.contains(
            "| **s2.e2**: [Hard mode: bounded](exercises/s2-e02_bounded.md) | Section 2 · Part 1 | 40 |\n\
             | **total** | | **40** |"
        ));
        assert!(
            page.contains("| [section1/deep.md](section1/deep.md) | Section 1 · Part 1 | 25 |")
        );
        assert!(page.contains("In all, 70 min of extras (about 1 h 15 min)"));
        // Deterministic.
        assert_eq!(page, render(&manifest, &plan, 390));
    }

    #[test]
    fn a_day_that_does_not_fit_fails_naming_the_day_and_the_overflow() {
        let manifest = Manifest::parse(MANIFEST).unwrap();
        let slides = slides();
        let error = plan(&manifest, &slides, &[&["s1"], &["s2"]], 280).unwrap_err();
        assert!(
            error.starts_with("day 1 (Section 1: pipes) does not fit")
                && error.contains("take 300 min, 20 min more than the 280 min"),
            "{error}"
        );
        // Day 2 (45 min) fits: only the day that overflows is named.
        assert!(!error.contains("day 2"), "{error}");
    }

    #[test]
    fn slides_and_exercises_agree_on_extra_and_every_section_has_a_day() {
        let manifest = Manifest::parse(MANIFEST).unwrap();
        let mut slides = slides();
        slides[2].extra = true; // the slide of core s1.e1
        slides[7].extra = false; // the slide of extra s2.e2
        let error = plan(&manifest, &slides, &[&["s1"]], 390).unwrap_err();
        assert!(error.contains("s1.e1 is core but its slide"), "{error}");
        assert!(
            error.contains("s2.e2 is extra but its slide slides/src/section2/e02_bounded.md is not: write `> minutes: 5 · extra`"),
            "{error}"
        );
        assert!(
            error.contains("Section 2: channels is on no day"),
            "{error}"
        );
    }
}
