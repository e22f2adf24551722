//! The map of `shared/src/lib.rs`, enforced: imports run one way, `domain` ← `error` ← `store` ← `horizon` ←
//! `http` ← `app`; the leaves import nothing of the crate but `domain` (`seed`, `schedule`) or nothing at all
//! (`route`, `config`, `clock`, `telemetry`); nothing imports `app`.

use std::collections::BTreeMap;
use std::path::Path;

/// Each top-level module of `shared` with its layer, and what it may import (`crate::<module>`).
fn allowed() -> BTreeMap<&'static str, Vec<&'static str>> {
    let layers = ["domain", "error", "store", "horizon", "http", "app"];
    let leaves = [
        "route",
        "config",
        "clock",
        "telemetry",
        "pages",
        "seed",
        "schedule",
    ];
    let mut allowed = BTreeMap::new();
    for (rank, module) in layers.iter().enumerate() {
        // A layer may import the layers below it and every leaf.
        let mut may: Vec<&str> = layers[..rank].to_vec();
        may.extend(leaves);
        allowed.insert(*module, may);
    }
    for leaf in ["route", "config", "clock", "telemetry", "pages"] {
        allowed.insert(leaf, vec![]);
    }
    allowed.insert("seed", vec!["domain", "schedule"]);
    allowed.insert("schedule", vec!["domain"]);
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

#[test]
fn no_module_of_shared_imports_one_above_it_in_the_map() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/src");
    let allowed = allowed();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut checked = 0;
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
        let text = std::fs::read_to_string(&file).unwrap();
        for (at, _) in text.match_indices("crate::") {
            let used: String = text[at + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
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
}
