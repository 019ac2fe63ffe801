//! Terminal output: colour only when someone is looking.
//!
//! Colour is on for a terminal, off when piped (CI logs, `| less`), off with
//! `NO_COLOR`, on with `CLICOLOR_FORCE`. The symbols (✓ ✗ ·) carry the meaning
//! on their own, so nothing is lost without colour.

use std::io::IsTerminal;
use std::sync::OnceLock;

pub fn color_enabled() -> bool {
    static ENABLED: OnceLock<bool> = OnceLock::new();
    *ENABLED.get_or_init(|| {
        let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0");
        if set("NO_COLOR") {
            false
        } else if set("CLICOLOR_FORCE") {
            true
        } else {
            std::io::stdout().is_terminal() && std::env::var("TERM").map_or(true, |t| t != "dumb")
        }
    })
}

fn paint(code: &str, text: &str) -> String {
    if color_enabled() {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

pub fn green(text: &str) -> String {
    paint("32", text)
}

pub fn red(text: &str) -> String {
    paint("31", text)
}

pub fn yellow(text: &str) -> String {
    paint("33", text)
}

pub fn dim(text: &str) -> String {
    paint("2", text)
}

pub fn bold(text: &str) -> String {
    paint("1", text)
}

pub fn cyan(text: &str) -> String {
    paint("36", text)
}

/// A section header line, e.g. `── s1.e2: The serial handler ──`.
pub fn rule(title: &str) -> String {
    bold(&format!("── {title} ──"))
}

/// Removes ANSI escape sequences, for matching on coloured cargo output.
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' && chars.peek() == Some(&'[') {
            chars.next();
            // CSI sequences end with a byte in '@'..='~'.
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Pads `text` to `width` characters (not bytes: titles may hold non-ASCII).
pub fn pad(text: &str, width: usize) -> String {
    let len = text.chars().count();
    format!("{text}{}", " ".repeat(width.saturating_sub(len)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_colour_codes() {
        assert_eq!(strip_ansi("\x1b[1m\x1b[38;5;9merror\x1b[0m: x"), "error: x");
        assert_eq!(strip_ansi("plain ✓"), "plain ✓");
    }
}
