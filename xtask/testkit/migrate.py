#!/usr/bin/env python3
"""Converts a test file from its own `macro_rules! exercise` to `#[exercise(<crate>)]`.

    python3 xtask/testkit/migrate.py <crate_ident> <file.rs> [<file.rs> ...]

e.g. `python3 xtask/testkit/migrate.py section1_pipelines section1-pipelines/tests/part1.rs`.
It edits the files in place; then run `cargo fmt -p <pkg>` and fix the imports the
compiler reports (see xtask/testkit/README.md).
"""
import re
import sys


def convert(text: str, krate: str) -> str:
    lines = text.split("\n")
    out = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("macro_rules! exercise"):
            # Drop the doc comment right above it, then the macro up to its closing `}`.
            while out and out[-1].startswith("///"):
                out.pop()
            while lines[i] != "}":
                i += 1
            i += 1
            # And one blank line after it.
            if i < len(lines) and lines[i] == "" and out and out[-1] == "":
                i += 1
            continue
        m = re.match(r"^exercise! \{ *(\w+):\s*$", line)
        if m:
            out.append(f"#[exercise({krate})]")
            out.append(f"mod {m.group(1)} {{")
            out.append("    use super::*;")
            out.append("")
            i += 1
            continue
        out.append(line)
        i += 1
    text = "\n".join(out)
    if "use testkit::exercise;" not in text:
        # After the last top-level `use` of the file's first import block.
        uses = [m.end() for m in re.finditer(r"(?m)^use [^\n]*;\n", text)]
        at = uses[-1] if uses else 0
        text = text[:at] + "use testkit::exercise;\n" + text[at:]
    return text


if __name__ == "__main__":
    krate, files = sys.argv[1], sys.argv[2:]
    for path in files:
        with open(path) as f:
            text = f.read()
        if "macro_rules! exercise" not in text:
            print(f"{path}: no macro_rules! exercise, left alone")
            continue
        with open(path, "w") as f:
            f.write(convert(text, krate))
        print(f"{path}: converted")
