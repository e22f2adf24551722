//! `escape-room-server backup --to FILE`: a copy of a SQLite database that is safe to take while
//! a server serves writes on it.
//!
//! `VACUUM INTO`, not the online backup API: it is one statement that reads the database in one
//! read transaction, so the copy is the snapshot of one instant (every write committed before it
//! began, none after) and, in WAL mode, never blocks the writer nor waits for it. The online
//! backup API copies page by page and, when another process writes between its steps, starts
//! again from the first page: under a steady write load it may never finish unless it copies
//! everything in one step, which is what `VACUUM INTO` does anyway, and it needs rusqlite's
//! `backup` feature. `VACUUM INTO` also writes a compacted file (no free pages) in rollback mode,
//! a single file to move around.
//!
//! SQLite does not sync the file it writes, so the copy is written beside the target as
//! `<FILE>.partial`, synced, then renamed into place (and the directory synced): `FILE` either
//! does not exist or is a whole backup, even after a power cut. The partial file is created
//! empty first with mode 0600 (`VACUUM INTO` accepts an empty file), so the copy of the players'
//! bookings is readable by the server's user only, from its first byte.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use crate::error::Error;

/// What a backup wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backup {
    /// The file written.
    pub path: PathBuf,
    /// Its size.
    pub bytes: u64,
}

/// Copies the database at `db` into the new file `to` (refused if it exists) as one consistent
/// snapshot, while other connections or processes go on writing to `db`.
pub fn backup(db: &Path, to: &Path) -> Result<Backup, Error> {
    let failed = |what: &str, e: &dyn std::fmt::Display| {
        Error::Internal(format!("backup of {}: {what}: {e}", db.display()))
    };
    if to.exists() {
        return Err(Error::Validation(format!(
            "{} exists; a backup never overwrites a file",
            to.display()
        )));
    }
    let mut partial = to.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    if partial.exists() {
        std::fs::remove_file(&partial).map_err(|e| failed("removing an old partial copy", &e))?;
    }
    {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&partial)
            .map_err(|e| failed("creating the copy", &e))?;
    }
    // Read-write (to take part in the WAL's locking), never creating: a missing file is an error.
    let conn = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| failed("opening the database", &e))?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(|e| failed("setting busy_timeout", &e))?;
    let target = partial
        .to_str()
        .ok_or_else(|| Error::Validation("the backup's path is not valid UTF-8".into()))?;
    conn.execute("VACUUM INTO ?1", [target])
        .map_err(|e| failed("VACUUM INTO", &e))?;
    drop(conn);
    std::fs::File::open(&partial)
        .and_then(|f| f.sync_all())
        .map_err(|e| failed("syncing the copy", &e))?;
    std::fs::rename(&partial, to).map_err(|e| failed("renaming the copy into place", &e))?;
    if let Some(dir) = to.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| failed("syncing the directory", &e))?;
    }
    let bytes = std::fs::metadata(to)
        .map_err(|e| failed("reading the copy's size", &e))?
        .len();
    Ok(Backup {
        path: to.to_owned(),
        bytes,
    })
}
