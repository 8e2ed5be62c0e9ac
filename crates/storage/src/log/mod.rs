//! The partition log: one directory of segments, one writer and many readers.
//!
//! Concurrency: the segment list lives under a `RwLock`. Appends take it for writing only for
//! the copy into the active segment (validation and CRC checks run before, without it); reads
//! take it for reading to look up positions and hand out file slices that are then sent without
//! any lock. Durability (group commit) has its own mutex and condition variable so that `msync`
//! never runs under the segment lock.

mod append;
mod close;
mod flush;
mod open;
mod read;
mod retain;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Instant;

pub use append::AppendInfo;
pub(crate) use close::Durability;
pub use read::{FileSlice, LogBatches, TimestampOffset};
pub use retain::RetentionOutcome;

use crate::backend::Backend;
use crate::config::LogConfig;
use crate::error::{Result, StorageError};
use crate::segment::Segment;
use crate::writer::WriterFactory;

#[derive(Debug)]
pub struct PartitionLog {
    dir: PathBuf,
    config: LogConfig,
    /// Every file operation of the log goes through this (see `backend`).
    fs: Arc<dyn Backend>,
    factory: Arc<dyn WriterFactory>,
    state: RwLock<LogState>,
    flush: Mutex<FlushState>,
    /// Woken when a flush round ends (success or failure).
    flush_done: Condvar,
    /// Mirrors of `LogState` fields, so metadata requests and the flush policy never wait for
    /// the segment lock.
    log_end_offset: AtomicI64,
    log_start_offset: AtomicI64,
    flushed_offset: AtomicI64,
    /// Where the last flush round left the active segment synced: its base offset and position.
    /// A pair of separate atomics: a torn read only mistimes one flush request.
    synced_base: AtomicI64,
    synced_position: AtomicU64,
    poisoned: AtomicBool,
}

#[derive(Debug)]
struct LogState {
    /// Keyed by base offset; the last one is the active segment.
    segments: BTreeMap<i64, Segment>,
    log_start_offset: i64,
    closed: bool,
    /// A close sealed the active segment (so the log may be marked clean).
    sealed_for_close: bool,
    /// That seal was a batched close's, without a sync (`close_deferred`).
    sealed_unsynced: bool,
}

#[derive(Debug, Default)]
struct FlushState {
    flushed_offset: i64,
    /// A flush round is running; others wait for it and then check whether it covered them.
    in_progress: bool,
    /// Set by the first failed sync or write; the log accepts no more writes.
    poisoned: Option<Arc<StorageError>>,
    /// When the oldest unflushed append happened, for the interval policy.
    oldest_unflushed: Option<Instant>,
}

impl LogState {
    fn active(&self) -> &Segment {
        // The open path and roll keep at least one segment; an empty map is a bug, not input.
        #[allow(clippy::expect_used)]
        self.segments
            .values()
            .next_back()
            .expect("a log always has an active segment")
    }

    fn active_mut(&mut self) -> &mut Segment {
        #[allow(clippy::expect_used)]
        self.segments
            .values_mut()
            .next_back()
            .expect("a log always has an active segment")
    }

    fn log_end_offset(&self) -> i64 {
        self.active().next_offset()
    }
}

impl PartitionLog {
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn config(&self) -> &LogConfig {
        &self.config
    }

    /// The offset the next appended record gets (Kafka's LEO).
    pub fn log_end_offset(&self) -> i64 {
        self.log_end_offset.load(Ordering::Acquire)
    }

    /// What consumers may read up to. On a single node every appended batch is readable.
    pub fn high_watermark(&self) -> i64 {
        self.log_end_offset()
    }

    /// The first offset still in the log; retention moves it forward.
    pub fn log_start_offset(&self) -> i64 {
        self.log_start_offset.load(Ordering::Acquire)
    }

    /// Every offset below this is on disk.
    pub fn flushed_offset(&self) -> i64 {
        self.flushed_offset.load(Ordering::Acquire)
    }

    pub fn is_poisoned(&self) -> bool {
        self.poisoned.load(Ordering::Acquire)
    }

    /// Bytes of batches in all segments.
    pub fn size_bytes(&self) -> u64 {
        self.read_state().segments.values().map(Segment::size).sum()
    }

    pub fn segment_count(&self) -> usize {
        self.read_state().segments.len()
    }

    /// Base offsets of the segments, oldest first.
    pub fn segment_base_offsets(&self) -> Vec<i64> {
        self.read_state().segments.keys().copied().collect()
    }

    fn read_state(&self) -> RwLockReadGuard<'_, LogState> {
        // A panic while holding the lock would leave the in-memory state possibly half-updated;
        // the on-disk log is still recoverable, so keep serving with what is there.
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write_state(&self) -> RwLockWriteGuard<'_, LogState> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    fn lock_flush(&self) -> std::sync::MutexGuard<'_, FlushState> {
        self.flush.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn check_writable(&self, state: &LogState) -> Result<()> {
        if state.closed {
            return Err(StorageError::Closed {
                dir: self.dir.clone(),
            });
        }
        if self.is_poisoned()
            && let Some(source) = self.lock_flush().poisoned.clone()
        {
            return Err(StorageError::Poisoned {
                dir: self.dir.clone(),
                source,
            });
        }
        Ok(())
    }
}
