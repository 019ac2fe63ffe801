//! A tiny hand-written argument parser.
//!
//! Each command takes its flags out first, then its positionals, then calls
//! [`Args::finish`] so a typo (`--soltion`) is an error instead of being ignored.

use std::collections::VecDeque;

pub struct Args {
    items: VecDeque<String>,
}

impl Args {
    /// The process arguments after the program name.
    pub fn from_env() -> Self {
        Self::from_vec(std::env::args().skip(1).collect())
    }

    pub fn from_vec(items: Vec<String>) -> Self {
        Self {
            items: items.into(),
        }
    }

    /// Removes `--name` wherever it is; true if it was there.
    pub fn flag(&mut self, name: &str) -> bool {
        let before = self.items.len();
        self.items.retain(|item| item != name);
        self.items.len() != before
    }

    /// Removes `--name VALUE` or `--name=VALUE`.
    pub fn value(&mut self, name: &str) -> Result<Option<String>, String> {
        let prefix = format!("{name}=");
        if let Some(index) = self.items.iter().position(|item| item.starts_with(&prefix)) {
            let item = self.items.remove(index).unwrap_or_default();
            return Ok(Some(item[prefix.len()..].to_string()));
        }
        let Some(index) = self.items.iter().position(|item| item == name) else {
            return Ok(None);
        };
        self.items.remove(index);
        match self.items.remove(index) {
            Some(value) if !value.starts_with("--") => Ok(Some(value)),
            _ => Err(format!("`{name}` needs a value")),
        }
    }

    /// The next argument that is not a flag.
    pub fn next_positional(&mut self) -> Option<String> {
        let index = self.items.iter().position(|item| !item.starts_with('-'))?;
        self.items.remove(index)
    }

    /// Fails on anything the command did not take.
    pub fn finish(self) -> Result<(), String> {
        match self.items.front() {
            None => Ok(()),
            Some(item) => Err(format!("unexpected argument `{item}`")),
        }
    }
}

/// Prints a usage error the same way for every command, and returns exit code 2.
pub fn usage_error(message: &str, usage: &str) -> u8 {
    eprintln!("error: {message}");
    eprintln!("usage: {usage}");
    crate::exit::USAGE
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(items: &[&str]) -> Args {
        Args::from_vec(items.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn flags_values_and_positionals_in_any_order() {
        let mut a = args(&["--level", "2", "s1.e2", "--solution"]);
        assert!(a.flag("--solution"));
        assert_eq!(a.value("--level").unwrap().as_deref(), Some("2"));
        assert_eq!(a.next_positional().as_deref(), Some("s1.e2"));
        assert!(a.finish().is_ok());

        let mut a = args(&["--level=3"]);
        assert_eq!(a.value("--level").unwrap().as_deref(), Some("3"));
    }

    #[test]
    fn leftovers_and_missing_values_are_errors() {
        let mut a = args(&["--level"]);
        assert!(a.value("--level").is_err());
        let a = args(&["--soltion"]);
        assert_eq!(a.finish().unwrap_err(), "unexpected argument `--soltion`");
    }
}
