//! Crash-safe small files: write a temporary file, fsync it, rename it over
//! the target, fsync the directory. A reader sees the old or the new
//! content, never a torn mix.

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

use crate::errors::BrokerError;

/// Replaces `path` with `bytes` atomically and durably.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), BrokerError> {
    let tmp = path.with_extension("tmp");
    {
        let mut file = File::create(&tmp).map_err(|e| BrokerError::io(&tmp, e))?;
        file.write_all(bytes)
            .map_err(|e| BrokerError::io(&tmp, e))?;
        file.sync_all().map_err(|e| BrokerError::io(&tmp, e))?;
    }
    fs::rename(&tmp, path).map_err(|e| BrokerError::io(path, e))?;
    if let Some(parent) = path.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}

/// Makes the entries of `dir` (creations, renames, removals) durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), BrokerError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| BrokerError::io(dir, e))
}
