//! Closing a log, alone or together with many others.
//!
//! A clean close seals the active segment and leaves the clean-shutdown marker, so the next open
//! trusts every segment. Closing one log makes each step durable itself (a few fsyncs). A broker
//! that closes thousands of partitions at shutdown would spend most of its stop timeout waiting
//! on those fsyncs one journal commit at a time, so it may instead seal every log without syncing
//! ([`PartitionLog::close_deferred`]), sync the file system once
//! ([`PartitionLog::sync_file_system`], for any one log on it), write
//! every marker ([`PartitionLog::commit_close`]) and sync once more. The order is what makes it
//! safe: no marker exists before the data it vouches for is durable, and a crash anywhere in
//! between leaves logs without a marker, which the next open recovers.

use std::sync::atomic::Ordering;

use tracing::info;

use super::PartitionLog;
use crate::checkpoint;
use crate::error::{IoContext, IoOp, Result};

/// Whether a seal syncs its files itself or leaves that to one sync of the whole file system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Durability {
    Now,
    Deferred,
}

impl PartitionLog {
    /// Flushes, seals the active segment, writes checkpoints and the clean-shutdown marker.
    /// Later appends fail with `Closed`. Dropping a log without closing it is a crash as far as
    /// the next open is concerned.
    pub fn close(&self) -> Result<()> {
        if self.seal_for_close(Durability::Now)? {
            checkpoint::mark_clean(self.fs.as_ref(), &self.dir)?;
            info!(dir = %self.dir.display(), log_end_offset = self.log_end_offset(), "log closed cleanly");
        }
        Ok(())
    }

    /// The first half of a batched close: seals the active segment without syncing anything.
    /// Later appends fail with `Closed`. The data is durable only after a file-system sync; then
    /// [`PartitionLog::commit_close`] leaves the marker.
    pub fn close_deferred(&self) -> Result<()> {
        self.seal_for_close(Durability::Deferred).map(|_| ())
    }

    /// The second half of a batched close, after the file system was synced: writes the
    /// clean-shutdown marker (durable after the next file-system sync). Does nothing for a log
    /// whose close failed or that is poisoned.
    pub fn commit_close(&self) -> Result<()> {
        let state = self.read_state();
        if !state.closed || !state.sealed_for_close || self.is_poisoned() {
            return Ok(());
        }
        checkpoint::mark_clean_unsynced(self.fs.as_ref(), &self.dir)
    }

    /// Seals the active segment for a close; whether the log may be marked clean.
    fn seal_for_close(&self, durability: Durability) -> Result<bool> {
        let mut state = self.write_state();
        if state.closed {
            return Ok(false);
        }
        state.closed = true;
        if self.is_poisoned() {
            // Data may be missing: leave no marker, so the next open recovers.
            return Ok(false);
        }
        if let Err(error) = state.active_mut().seal_with(durability) {
            // The segment stays readable where it is; no clean marker: the next open recovers.
            return Err(self.poison(error));
        }
        state.sealed_for_close = true;
        state.sealed_unsynced = durability == Durability::Deferred;
        if durability == Durability::Now {
            self.flushed_offset
                .store(state.log_end_offset(), Ordering::Release);
        }
        // No checkpoint to write: the log start checkpoint is written whenever the start moves
        // (retention), and the recovery point already names the segment just sealed (the roll
        // or the open that made it active wrote it), which is all a later crash recovery needs.
        // Each checkpoint costs two fsyncs, and a shutdown closes every partition.
        Ok(true)
    }
}

impl PartitionLog {
    /// Makes everything written to the file system holding this log durable (`syncfs`): one
    /// call for every log of a batched close that lives there, instead of a sync per file.
    pub fn sync_file_system(&self) -> Result<()> {
        self.fs
            .sync_file_system(&self.dir)
            .ctx(IoOp::Sync, &self.dir)
    }
}
