//! Small text files that let a restart skip work: the recovery point, the log start offset and
//! the clean-shutdown marker.
//!
//! Each is written to a temporary file, synced, renamed over the old one and the directory
//! synced, so a crash leaves either the old or the new value, never a torn one.

use std::path::{Path, PathBuf};

use crate::backend::Backend;
use crate::error::{IoContext, IoOp, Result, StorageError};

pub(crate) const RECOVERY_POINT: &str = "recovery-point-checkpoint";
pub(crate) const LOG_START: &str = "log-start-offset-checkpoint";
pub(crate) const CLEAN_SHUTDOWN: &str = ".clean-shutdown";

/// A checkpoint is a few bytes; anything much larger is not one of ours.
const MAX_CHECKPOINT_BYTES: u64 = 4096;

pub(crate) fn write_offset(fs: &dyn Backend, dir: &Path, name: &str, offset: i64) -> Result<()> {
    write_atomically(fs, dir, name, format!("0\n{offset}\n").as_bytes())
}

/// `Ok(None)` if the file does not exist; a file that exists but does not parse is an error the
/// caller treats as "no checkpoint" after logging it.
pub(crate) fn read_offset(fs: &dyn Backend, dir: &Path, name: &str) -> Result<Option<i64>> {
    let path = dir.join(name);
    let file = match fs.open_read(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StorageError::io(IoOp::Open, path, e)),
    };
    let corrupt = |reason: &str| StorageError::CorruptCheckpoint {
        path: path.clone(),
        reason: reason.to_owned(),
    };
    let len = file.size().ctx(IoOp::Read, &path)?;
    if len > MAX_CHECKPOINT_BYTES {
        return Err(corrupt("too large"));
    }
    let mut bytes = vec![0u8; len as usize];
    file.read_exact_at(&mut bytes, 0).ctx(IoOp::Read, &path)?;
    let text = String::from_utf8(bytes).map_err(|_| corrupt("not UTF-8"))?;
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

pub(crate) fn mark_clean(fs: &dyn Backend, dir: &Path) -> Result<()> {
    write_atomically(fs, dir, CLEAN_SHUTDOWN, b"clean\n")
}

/// The marker, written and renamed into place without any sync: durable after the caller's
/// next file-system sync (see `log::close`). A crash before it leaves no marker or an empty one;
/// either way the log recovers on its next open, as the marker's presence is all that counts and
/// it only appears once the data is durable.
pub(crate) fn mark_clean_unsynced(fs: &dyn Backend, dir: &Path) -> Result<()> {
    write_then_rename(fs, dir, CLEAN_SHUTDOWN, b"clean\n", false)
}

/// Returns whether the marker was there, and removes it durably: from now on a crash must be
/// treated as one.
pub(crate) fn take_clean_marker(fs: &dyn Backend, dir: &Path) -> Result<bool> {
    let path = dir.join(CLEAN_SHUTDOWN);
    match fs.remove_file(&path) {
        Ok(()) => {
            sync_dir(fs, dir)?;
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(StorageError::io(IoOp::Delete, path, e)),
    }
}

fn write_atomically(fs: &dyn Backend, dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    write_then_rename(fs, dir, name, bytes, true)
}

/// Writes `bytes` to `<name>.tmp` and renames it over `name`; with `sync`, the file before the
/// rename and the directory after it.
fn write_then_rename(
    fs: &dyn Backend,
    dir: &Path,
    name: &str,
    bytes: &[u8],
    sync: bool,
) -> Result<()> {
    let tmp: PathBuf = dir.join(format!("{name}.tmp"));
    let path = dir.join(name);
    let file = fs.open(&tmp).ctx(IoOp::Create, &tmp)?;
    file.set_len(0).ctx(IoOp::Create, &tmp)?;
    file.write_all_at(bytes, 0).ctx(IoOp::Write, &tmp)?;
    if sync {
        file.sync_all().ctx(IoOp::Sync, &tmp)?;
    }
    drop(file);
    fs.rename(&tmp, &path).ctx(IoOp::Rename, &path)?;
    if sync {
        sync_dir(fs, dir)?;
    }
    Ok(())
}

pub(crate) fn sync_dir(fs: &dyn Backend, dir: &Path) -> Result<()> {
    fs.sync_dir(dir).ctx(IoOp::Sync, dir)
}
