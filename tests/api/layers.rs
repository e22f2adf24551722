//! The map of `shared/src/lib.rs`, enforced: imports run one way, `domain` ← `error` ← `store` ← `horizon` ←
//! `http` ← `app`; the leaves import nothing of the crate but `domain` (`seed`, `schedule`) or nothing at all
//! (`route`, `config`, `clock`, `telemetry`); nothing imports `app`.
//!
//! Every `.rs` file under `shared/src` is read, a module's folder (`domain/`, `schedule/`, `http/`,
//! `store/`) included, and counts as its top-level module. An import is a `crate::<module>` path,
//! or a `super::` path whose `super`s climb out of the file's own module to the crate root.

use std::collections::BTreeMap;
use std::path::Path;

/// Each top-level module of `shared` with its layer, and what it may import (`crate::<module>`).
fn allowed() -> BTreeMap<&'static str, Vec<&'static str>> {
    let layers = [
        "domain", "error", "store", "delivery", "horizon", "http", "app",
    ];
    let leaves = [
        "route",
        "config",
        "clock",
        "telemetry",
        "pages",
        "ics",
        "mail",
        "seed",
        "schedule",
        "events",
    ];
    let mut allowed = BTreeMap::new();
    for (rank, module) in layers.iter().enumerate() {
        // A layer may import the layers below it and every leaf.
        let mut may: Vec<&str> = layers[..rank].to_vec();
        may.extend(leaves);
        allowed.insert(*module, may);
    }
    for leaf in ["route", "config", "clock", "telemetry", "pages", "ics"] {
        allowed.insert(leaf, vec![]);
    }
    allowed.insert("seed", vec!["domain", "schedule"]);
    allowed.insert("mail", vec!["ics", "config", "events", "domain"]);
    allowed.insert("schedule", vec!["domain"]);
    allowed.insert("events", vec!["domain"]);
    allowed
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// How deep a file's module is: `error.rs` and `domain/mod.rs` are 1, `domain/ids.rs` is 2.
fn module_depth(relative: &Path) -> usize {
    let components = relative.components().count();
    if relative.file_name().is_some_and(|name| name == "mod.rs") {
        components - 1
    } else {
        components
    }
}

/// The crate-level modules a file names: `crate::<module>`, and `super::…::<module>` with as many
/// `super`s as the file is deep (so they climb to the crate root) and a module of the map after
/// them, or `Error` (a chain in an inline `mod tests` climbs one step less, so only those count).
fn crate_level_names(text: &str, depth: usize, modules: &[&str]) -> Vec<String> {
    let ident = |rest: &str| -> String {
        rest.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut names: Vec<String> = text
        .match_indices("crate::")
        .map(|(at, _)| ident(&text[at + "crate::".len()..]))
        .collect();
    for (at, _) in text.match_indices("super::") {
        if text[..at].ends_with("super::") {
            continue; // the middle of a chain, counted from its first `super`
        }
        let mut rest = &text[at..];
        let mut climbs = 0;
        while let Some(after) = rest.strip_prefix("super::") {
            rest = after;
            climbs += 1;
        }
        let name = ident(rest);
        // Not checked: `super::*` / `super::{…}` at the root (too rare to be worth a parser).
        if climbs == depth && (modules.contains(&name.as_str()) || name == "Error") {
            names.push(name);
        }
    }
    names
}

#[test]
fn no_module_of_shared_imports_one_above_it_in_the_map() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/src");
    let allowed = allowed();
    let modules: Vec<&str> = allowed.keys().copied().collect();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut checked = 0;
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for file in files {
        let relative = file.strip_prefix(&src).unwrap();
        let top = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_owned();
        if top == "lib" {
            continue;
        }
        let may = allowed
            .get(top.as_str())
            .unwrap_or_else(|| panic!("{top} is not in the map of shared/src/lib.rs"));
        *seen.entry(top.clone()).or_insert(0) += 1;
        let text = std::fs::read_to_string(&file).unwrap();
        for used in crate_level_names(&text, module_depth(relative), &modules) {
            let used = used.as_str();
            if used == top || used == "Error" {
                // `crate::Error` is the re-export of `error::Error`.
                assert!(
                    used == top || top != "domain",
                    "{}: domain imports crate::Error",
                    relative.display()
                );
                continue;
            }
            assert!(
                may.contains(&used),
                "{} imports crate::{used}, which is above it in the map (may import {may:?})",
                relative.display()
            );
            checked += 1;
        }
    }
    assert!(checked > 20, "the check saw the imports ({checked})");
    let read: Vec<&str> = seen.keys().map(String::as_str).collect();
    assert_eq!(read, modules, "every module of the map was read");
    for folder in ["domain", "schedule", "http", "store"] {
        assert!(
            seen[folder] > 1,
            "{folder}/ was read file by file ({} files)",
            seen[folder]
        );
    }
}

/// The size targets of the house: every source file of `shared/src`, `server/src` and
/// `functions/` reads in one sitting (at most 600 lines, unit tests included). The other half,
/// no function over 80 lines, is clippy's `too_many_lines` (threshold in `clippy.toml`, denied in
/// the workspace's lints), which CI runs with `-D warnings`.
#[test]
fn every_source_file_of_the_service_is_at_most_600_lines() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for dir in ["shared/src", "server/src", "functions"] {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(
        files.len() > 40,
        "the check saw the sources ({})",
        files.len()
    );
    let long: Vec<String> = files
        .iter()
        .filter_map(|file| {
            let lines = std::fs::read_to_string(file).unwrap().lines().count();
            (lines > 600).then(|| format!("{}: {lines} lines", file.display()))
        })
        .collect();
    assert!(long.is_empty(), "split these by concern: {long:?}");
}
