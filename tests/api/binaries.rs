//! The executables the tests start as child processes: the local server and the function
//! binaries. They are built once, before `cargo test`, by `scripts/test-binaries` (which
//! `./scripts/test` runs first), and found through the variables it prints:
//!
//! - `ESCAPE_ROOM_SERVER_BIN`: `escape-room-server`, with the `dynamodb` feature (SQLite is always
//!   in).
//! - `ESCAPE_ROOM_FUNCTIONS_DIR`: the directory of the function binaries (one per crate under
//!   `functions/`), built with `--features shared/sqlite` so that they run on both stores.
//!
//! To run the tests on their own: `eval "$(scripts/test-binaries)"`, then `cargo test …`. Run it
//! again after changing the code: the tests start whatever binaries those variables name.

use std::path::PathBuf;

const HOW: &str = "build them first and point the tests at them: \
    `eval \"$(scripts/test-binaries)\"` in the repository root (./scripts/test does this), \
    then run `cargo test` again";

fn from_env(variable: &str) -> PathBuf {
    let value = std::env::var_os(variable).unwrap_or_else(|| {
        panic!("{variable} is not set: the tests start prebuilt binaries; {HOW}")
    });
    let path = PathBuf::from(value);
    assert!(
        path.is_absolute(),
        "{variable}={} is not an absolute path; {HOW}",
        path.display()
    );
    path
}

fn existing(path: PathBuf, variable: &str) -> PathBuf {
    assert!(
        path.is_file(),
        "{} (from {variable}) does not exist; {HOW}",
        path.display()
    );
    path
}

/// The local server's executable (`ESCAPE_ROOM_SERVER_BIN`).
pub fn server() -> PathBuf {
    existing(from_env("ESCAPE_ROOM_SERVER_BIN"), "ESCAPE_ROOM_SERVER_BIN")
}

/// The executable of the function crate `name` (in `ESCAPE_ROOM_FUNCTIONS_DIR`).
pub fn function(name: &str) -> PathBuf {
    let dir = from_env("ESCAPE_ROOM_FUNCTIONS_DIR");
    existing(dir.join(name), "ESCAPE_ROOM_FUNCTIONS_DIR")
}
