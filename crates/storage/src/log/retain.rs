//! Retention, closing and deleting a log.

use std::sync::atomic::Ordering;

use tracing::info;

use super::PartitionLog;
use crate::checkpoint::{self, LOG_START};
use crate::error::{IoContext, IoOp, Result};
use crate::retention::{SegmentFacts, segments_to_delete};

/// What a retention pass removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RetentionOutcome {
    pub deleted_segments: usize,
    pub deleted_bytes: u64,
    pub log_start_offset: i64,
}

impl PartitionLog {
    /// Deletes the oldest closed segments that retention by bytes or by age (against `now_ms`,
    /// milliseconds since the epoch) no longer keeps, and advances the log start offset.
    /// Spare segment files (see `spare`) that no roll has taken for a while are deleted too.
    pub fn apply_retention(&self, now_ms: i64) -> Result<RetentionOutcome> {
        if self.config.recycle_segments
            && crate::spare::expire(self.fs.as_ref(), &self.dir, now_ms) > 0
        {
            info!(dir = %self.dir.display(), "deleted spare segment files no roll took");
        }
        let removed = {
            let mut state = self.write_state();
            let last = state.segments.len().saturating_sub(1);
            let facts: Vec<SegmentFacts> = state
                .segments
                .values()
                .enumerate()
                .map(|(i, s)| SegmentFacts {
                    size: s.size(),
                    max_timestamp: s.max_timestamp(),
                    // The last segment is never deleted, with or without a writer (a failed
                    // seal leaves it without one): the log always keeps a segment to append to
                    // and to say where it ends.
                    active: s.is_active() || i == last,
                })
                .collect();
            let count = segments_to_delete(
                &facts,
                self.config.retention_bytes,
                self.config.retention_ms,
                now_ms,
            );
            if count == 0 {
                return Ok(RetentionOutcome {
                    log_start_offset: state.log_start_offset,
                    ..Default::default()
                });
            }
            let doomed: Vec<i64> = state.segments.keys().take(count).copied().collect();
            let new_start = state
                .segments
                .keys()
                .nth(count)
                .copied()
                .unwrap_or(state.log_start_offset)
                .max(state.log_start_offset);
            // Persist the new start before deleting. Retention only ever moves the start to a
            // segment's base, which an open derives from the first segment left anyway, so a
            // failure to write it (a full disk, exactly when retention must free space) only
            // warns and the deletion goes on.
            if let Err(error) =
                checkpoint::write_offset(self.fs.as_ref(), &self.dir, LOG_START, new_start)
            {
                tracing::warn!(dir = %self.dir.display(), %error, "cannot write the log start checkpoint; deleting anyway");
            }
            let removed: Vec<_> = doomed
                .iter()
                .filter_map(|base| state.segments.remove(base))
                .collect();
            state.log_start_offset = new_start;
            self.log_start_offset.store(new_start, Ordering::Release);
            removed
        };
        let log_start_offset = self.log_start_offset();
        let deleted_segments = removed.len();
        let deleted_bytes = removed.iter().map(|s| s.size()).sum();
        let mut recycled = 0;
        for segment in removed {
            let slot = self
                .config
                .recycle_segments
                .then(|| crate::spare::free_slot(self.fs.as_ref(), &self.dir))
                .flatten();
            recycled += usize::from(segment.recycle_or_delete(slot.as_deref())?);
        }
        checkpoint::sync_dir(self.fs.as_ref(), &self.dir)?;
        info!(dir = %self.dir.display(), deleted_segments, deleted_bytes, recycled, log_start_offset, "retention deleted segments");
        Ok(RetentionOutcome {
            deleted_segments,
            deleted_bytes,
            log_start_offset,
        })
    }

    /// Closes the log and removes its directory (topic deletion).
    pub fn delete(self) -> Result<()> {
        let (dir, fs) = (self.dir.clone(), self.fs.clone());
        {
            let mut state = self.write_state();
            state.closed = true;
        }
        drop(self);
        fs.remove_dir_all(&dir).ctx(IoOp::Delete, &dir)
    }
}
