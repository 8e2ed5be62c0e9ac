//! Durability: flush on demand, by message count, by interval, with group commit.
//!
//! Group commit: a caller that needs offset N durable either finds a flush round already past N,
//! waits for the running round and checks again, or runs a round itself. A round syncs the
//! active segment up to the end it saw when it started, so every append that landed before the
//! round began shares its single `msync`.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tracing::error;

use super::PartitionLog;
use crate::error::{IoContext, IoOp, Result, StorageError};

impl PartitionLog {
    /// Makes everything appended so far durable; returns the flushed offset.
    pub fn flush(&self) -> Result<i64> {
        let target = self.log_end_offset();
        self.flush_to(target)?;
        Ok(self.flushed_offset())
    }

    /// Returns once every offset below `offset` is durable, sharing the sync with concurrent
    /// callers. Fails, and poisons the log, if the sync fails; on a poisoned log, fails for
    /// any offset not flushed before the failure.
    pub fn flush_to(&self, offset: i64) -> Result<()> {
        let mut flush = self.lock_flush();
        loop {
            // What was flushed stays flushed: a later failure does not undo it, so a poisoned
            // log still confirms offsets made durable before it failed.
            if flush.flushed_offset >= offset {
                return Ok(());
            }
            if let Some(source) = &flush.poisoned {
                return Err(StorageError::Poisoned {
                    dir: self.dir.clone(),
                    source: source.clone(),
                });
            }
            if !flush.in_progress {
                break;
            }
            flush = self
                .flush_done
                .wait(flush)
                .unwrap_or_else(|e| e.into_inner());
        }
        flush.in_progress = true;
        drop(flush);
        // If the round unwinds (a panic in a sync), waiters must not wait forever for it.
        let round_guard = RoundGuard(self);

        let round = {
            let state = self.read_state();
            let active = state.active();
            (
                active.next_offset(),
                active.syncer(),
                active.base_offset,
                active.size(),
                active.log_path().to_owned(),
                state.sealed_unsynced,
            )
        };
        let (end_offset, syncer, base, end_position, path, sealed_unsynced) = round;
        // Sealed segments were synced when sealed; only the active one can hold unsynced bytes.
        // A batched close seals without syncing: until its file-system sync nothing is known
        // durable, so a flush then cannot say otherwise.
        let result = match syncer {
            None if sealed_unsynced => Err(StorageError::Closed {
                dir: self.dir.clone(),
            }),
            Some(syncer) => syncer.sync(0, end_position).ctx(IoOp::Sync, &path),
            None => Ok(()),
        };

        std::mem::forget(round_guard);
        let mut flush = self.lock_flush();
        flush.in_progress = false;
        // The kernel reports a writeback error once per open file, to whichever sync looks first:
        // if a roll's seal failed (and poisoned the log) while this round ran, this round's
        // success proves nothing about the pages that failed.
        let poisoned_meanwhile = flush.poisoned.clone();
        let outcome = match (result, poisoned_meanwhile) {
            (Ok(()), Some(source)) => Err(StorageError::Poisoned {
                dir: self.dir.clone(),
                source,
            }),
            (Ok(()), None) => {
                self.synced_base.store(base, Ordering::Release);
                self.synced_position.store(end_position, Ordering::Release);
                flush.flushed_offset = flush.flushed_offset.max(end_offset);
                self.flushed_offset
                    .store(flush.flushed_offset, Ordering::Release);
                flush.oldest_unflushed =
                    (self.log_end_offset() > flush.flushed_offset).then(Instant::now);
                Ok(())
            }
            // Not a failed sync: the log is closing (see above); nothing to poison.
            (Err(closed @ StorageError::Closed { .. }), _) => Err(closed),
            (Err(e), _) => {
                let source = Arc::new(e);
                error!(dir = %self.dir.display(), error = %source, "flush failed; log refuses writes");
                flush.poisoned.get_or_insert_with(|| source.clone());
                self.poisoned.store(true, Ordering::Release);
                Err(StorageError::Poisoned {
                    dir: self.dir.clone(),
                    source,
                })
            }
        };
        drop(flush);
        self.flush_done.notify_all();
        outcome
    }

    /// Flushes if the interval policy says so; the broker calls this from a timer.
    pub fn flush_if_due(&self, now: Instant) -> Result<bool> {
        let Some(interval) = self.config.flush_interval_ms else {
            return Ok(false);
        };
        let due = self.lock_flush().oldest_unflushed.is_some_and(|since| {
            now.saturating_duration_since(since) >= Duration::from_millis(interval)
        });
        if due {
            self.flush()?;
        }
        Ok(due)
    }

    /// Makes `error` sticky: the log refuses writes from now on, and every refusal carries
    /// the first failure as its source. Returns the error to hand to the caller that hit it.
    pub(super) fn poison(&self, error: StorageError) -> StorageError {
        let source = Arc::new(error);
        error!(dir = %self.dir.display(), error = %source, "log refuses writes after a failed write or sync");
        let mut flush = self.lock_flush();
        flush.poisoned.get_or_insert_with(|| source.clone());
        self.poisoned.store(true, Ordering::Release);
        drop(flush);
        self.flush_done.notify_all();
        StorageError::Poisoned {
            dir: self.dir.clone(),
            source,
        }
    }
}

/// Ends a flush round that unwound: marks it over and wakes its waiters, who retry.
struct RoundGuard<'a>(&'a PartitionLog);

impl Drop for RoundGuard<'_> {
    fn drop(&mut self) {
        self.0.lock_flush().in_progress = false;
        self.0.flush_done.notify_all();
    }
}
