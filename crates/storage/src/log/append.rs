//! The append path: validate outside the lock, then copy in under it.

use std::sync::atomic::Ordering;
use std::time::Instant;

use sluice_record::{BatchHeader, validate_batch};
use tracing::{debug, info, warn};

use super::{LogState, PartitionLog};
use crate::checkpoint::{self, RECOVERY_POINT};
use crate::error::{Result, StorageError};
use crate::segment::Segment;

/// Where an append landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendInfo {
    /// Offset given to the first record of the first batch.
    pub base_offset: i64,
    /// Offset of the last record of the last batch.
    pub last_offset: i64,
    /// Largest batch max-timestamp among the appended batches.
    pub max_timestamp: i64,
    pub log_start_offset: i64,
    /// The `flush_messages` policy asks for a flush now, or the active segment holds more
    /// unsynced bytes than a roll should have to sync (`LogConfig::sync_ahead_bytes`). The log
    /// does not flush inside the append (that would put an `msync` on the caller's path); the
    /// caller runs [`PartitionLog::flush`] where blocking is cheap, e.g. on a blocking thread
    /// pool.
    pub flush_due: bool,
}

impl PartitionLog {
    /// Appends one batch; see [`PartitionLog::append_batches`].
    pub fn append(&self, batch: &[u8]) -> Result<AppendInfo> {
        self.append_batches(&[batch])
    }

    /// Validates every batch (size, magic, CRC, record count, not a control batch) and, only if
    /// all are valid, appends them in order, assigning offsets by rewriting each baseOffset. The
    /// batches are readable once this returns; they are durable after a flush covering
    /// `last_offset` (see [`PartitionLog::flush_to`]; `flush_due` in the result says when the
    /// message-count policy wants one).
    pub fn append_batches(&self, batches: &[&[u8]]) -> Result<AppendInfo> {
        let headers = self.validate(batches)?;
        let info = {
            let mut state = self.write_state();
            self.check_writable(&state)?;
            let base_offset = state.log_end_offset();
            let mut max_timestamp = -1;
            let mut written = Ok(());
            for (batch, header) in batches.iter().zip(&headers) {
                // A flush may poison the log between two batches of one request.
                written = self
                    .check_writable(&state)
                    .and_then(|()| self.roll_if_needed(&mut state, batch.len() as u64, header))
                    .and_then(|()| {
                        state
                            .active_mut()
                            .append(batch, header, &self.config)
                            .map_err(|error| self.fail_write(error))
                    });
                if written.is_err() {
                    break;
                }
                max_timestamp = max_timestamp.max(header.max_timestamp);
            }
            // Publish whatever was appended, even if a later batch of the request failed.
            let end = state.log_end_offset();
            self.log_end_offset.store(end, Ordering::Release);
            if end > base_offset {
                self.note_unflushed();
            }
            written?;
            let active = state.active();
            let unsynced = if self.synced_base.load(Ordering::Acquire) == active.base_offset {
                active
                    .size()
                    .saturating_sub(self.synced_position.load(Ordering::Acquire))
            } else {
                active.size() // a segment rolled since the last round: its seal synced the rest
            };
            AppendInfo {
                base_offset,
                last_offset: end - 1,
                max_timestamp,
                log_start_offset: state.log_start_offset,
                flush_due: unsynced >= self.config.sync_ahead_bytes(),
            }
        };
        let unflushed = (info.last_offset + 1 - self.flushed_offset()).max(0) as u64;
        let count_due = self
            .config
            .flush_messages
            .is_some_and(|limit| unflushed >= limit);
        Ok(AppendInfo {
            flush_due: info.flush_due || count_due,
            ..info
        })
    }

    fn validate(&self, batches: &[&[u8]]) -> Result<Vec<BatchHeader>> {
        let max = self.config.max_message_bytes as usize;
        batches
            .iter()
            .enumerate()
            .map(|(index, batch)| {
                if batch.len() > max {
                    return Err(StorageError::BatchTooLarge {
                        size: batch.len(),
                        max,
                    });
                }
                let header = validate_batch(batch)
                    .map_err(|source| StorageError::InvalidBatch { index, source })?;
                if header.is_control() {
                    return Err(StorageError::ControlBatch);
                }
                if header.records_count == 0 {
                    return Err(StorageError::EmptyBatch { index });
                }
                Ok(header)
            })
            .collect()
    }

    /// Seals the active segment and starts a new one when the batch does not belong in it.
    /// The new segment is created first, so a failure (a full disk) leaves the log as it was.
    fn roll_if_needed(&self, state: &mut LogState, size: u64, header: &BatchHeader) -> Result<()> {
        let Some(reason) = state.active().roll_reason(size, header, &self.config) else {
            return Ok(());
        };
        let base = state.log_end_offset();
        let spare = self
            .config
            .recycle_segments
            .then(|| crate::spare::take(self.fs.as_ref(), &self.dir))
            .flatten();
        let new = Segment::create(
            &self.fs,
            &self.dir,
            base,
            &self.config,
            self.factory.as_ref(),
            spare.as_deref(),
        )?;
        let old_base = state.active().base_offset;
        if let Err(error) = state.active_mut().seal() {
            // The old segment's bytes may not be durable: refuse all further writes. It stays
            // the last segment, so every acknowledged offset stays readable; reopening the log
            // recovers it from disk. The new segment holds nothing.
            if let Err(cleanup) = new.delete_files() {
                warn!(dir = %self.dir.display(), new_base = base, error = %cleanup, "cannot remove an unused new segment");
            }
            return Err(self.poison(error));
        }
        if let Err(poisoned) = self.check_writable(state) {
            // A flush round failed while the seal synced (the kernel may have reported the
            // writeback error to it rather than to the seal): the seal's success proves
            // nothing, so no recovery point may move past the old segment.
            if let Err(cleanup) = new.delete_files() {
                warn!(dir = %self.dir.display(), new_base = base, error = %cleanup, "cannot remove an unused new segment");
            }
            return Err(poisoned);
        }
        state.segments.insert(base, new);
        // Everything before the new segment is synced and sealed: recovery can start here. An
        // older recovery point is only slower to recover from, never wrong, so failing to write
        // this one (a full disk) fails nothing.
        if let Err(error) =
            checkpoint::write_offset(self.fs.as_ref(), &self.dir, RECOVERY_POINT, base)
        {
            warn!(dir = %self.dir.display(), error = %error, "cannot advance the recovery point");
        }
        info!(dir = %self.dir.display(), reason, old_base, new_base = base, "rolled segment");
        Ok(())
    }

    /// A failed copy into the segment: a full disk leaves the log as it was (nothing of the
    /// batch counts, and the next append writes over it), any other failure is sticky.
    fn fail_write(&self, error: StorageError) -> StorageError {
        if matches!(error, StorageError::DiskFull { .. }) {
            error
        } else {
            self.poison(error)
        }
    }

    fn note_unflushed(&self) {
        let mut flush = self.lock_flush();
        if flush.oldest_unflushed.is_none() {
            flush.oldest_unflushed = Some(Instant::now());
            debug!(dir = %self.dir.display(), "first unflushed append");
        }
    }
}
