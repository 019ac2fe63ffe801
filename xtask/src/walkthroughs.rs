//! The walkthroughs (`solutions/sectionN/partM.md`) quote measured figures only inside
//! blocks that a command writes (`<!-- experiment:<name>:begin -->` ... `end`, see the
//! `figures` crate's `walkthrough` module). `verify` checks that every walkthrough has
//! at least one such block, well-formed, naming the `cargo ...` command that writes it;
//! whether the prose around it quotes figures of its own is for review to judge.

use std::path::Path;

use figures::walkthrough;

/// What is wrong with the walkthroughs under `root/solutions`, one line each.
pub fn problems(root: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let Ok(sections) = std::fs::read_dir(root.join("solutions")) else {
        return vec!["solutions/ cannot be read".into()];
    };
    let mut files: Vec<_> = sections
        .flatten()
        .filter(|s| s.file_name().to_string_lossy().starts_with("section"))
        .filter_map(|s| std::fs::read_dir(s.path()).ok())
        .flat_map(|entries| entries.flatten().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|e| e == "md")
                && p.file_stem()
                    .is_some_and(|s| s.to_string_lossy().starts_with("part"))
        })
        .collect();
    files.sort();
    for file in files {
        let shown = file
            .strip_prefix(root)
            .unwrap_or(&file)
            .display()
            .to_string();
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        match walkthrough::blocks(&text) {
            Ok(blocks) if blocks.is_empty() => problems.push(format!(
                "{shown}: no generated block (<!-- experiment:<name>:begin --> ... end) holds \
                 its figures"
            )),
            Ok(_) => {}
            Err(e) => problems.push(format!("{shown}: {e}")),
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_walkthrough_of_the_course_has_its_blocks() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        assert_eq!(super::problems(&root), Vec::<String>::new());
    }
}
