//! Small text files that let a restart skip work: the recovery point, the log start offset and
//! the clean-shutdown marker.
//!
//! Each is written to a temporary file, synced, renamed over the old one and the directory
//! synced, so a crash leaves either the old or the new value, never a torn one.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{IoContext, IoOp, Result, StorageError};

pub(crate) const RECOVERY_POINT: &str = "recovery-point-checkpoint";
pub(crate) const LOG_START: &str = "log-start-offset-checkpoint";
pub(crate) const CLEAN_SHUTDOWN: &str = ".clean-shutdown";

pub(crate) fn write_offset(dir: &Path, name: &str, offset: i64) -> Result<()> {
    write_atomically(dir, name, format!("0\n{offset}\n").as_bytes())
}

/// `Ok(None)` if the file does not exist; a file that exists but does not parse is an error the
/// caller treats as "no checkpoint" after logging it.
pub(crate) fn read_offset(dir: &Path, name: &str) -> Result<Option<i64>> {
    let path = dir.join(name);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StorageError::io(IoOp::Read, path, e)),
    };
    let corrupt = |reason: &str| StorageError::CorruptCheckpoint {
        path: path.clone(),
        reason: reason.to_owned(),
    };
    let mut lines = text.lines();
    if lines.next() != Some("0") {
        return Err(corrupt("unknown version"));
    }
    let value = lines.next().ok_or_else(|| corrupt("missing offset"))?;
    value
        .trim()
        .parse::<i64>()
        .map(Some)
        .map_err(|_| corrupt("offset is not an integer"))
}

pub(crate) fn mark_clean(dir: &Path) -> Result<()> {
    write_atomically(dir, CLEAN_SHUTDOWN, b"clean\n")
}

/// The marker, written and renamed into place without any sync: durable after the caller's
/// next file-system sync (see `log::close`). A crash before it leaves no marker or an empty one;
/// either way the log recovers on its next open, as the marker's presence is all that counts and
/// it only appears once the data is durable.
pub(crate) fn mark_clean_unsynced(dir: &Path) -> Result<()> {
    let tmp = dir.join(format!("{CLEAN_SHUTDOWN}.tmp"));
    let path = dir.join(CLEAN_SHUTDOWN);
    fs::write(&tmp, b"clean\n").ctx(IoOp::Write, &tmp)?;
    fs::rename(&tmp, &path).ctx(IoOp::Rename, &path)
}

/// Returns whether the marker was there, and removes it durably: from now on a crash must be
/// treated as one.
pub(crate) fn take_clean_marker(dir: &Path) -> Result<bool> {
    let path = dir.join(CLEAN_SHUTDOWN);
    match fs::remove_file(&path) {
        Ok(()) => {
            sync_dir(dir)?;
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(StorageError::io(IoOp::Delete, path, e)),
    }
}

fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let tmp: PathBuf = dir.join(format!("{name}.tmp"));
    let path = dir.join(name);
    let mut file = File::create(&tmp).ctx(IoOp::Create, &tmp)?;
    file.write_all(bytes).ctx(IoOp::Write, &tmp)?;
    file.sync_all().ctx(IoOp::Sync, &tmp)?;
    fs::rename(&tmp, &path).ctx(IoOp::Rename, &path)?;
    sync_dir(dir)
}

pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .ctx(IoOp::Sync, dir)
}
