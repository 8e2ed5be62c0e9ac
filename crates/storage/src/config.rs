//! Per-log settings, with Kafka's defaults.

use crate::error::{Result, StorageError};
use crate::file_cache::FileCache;

/// How the active segment's bytes reach the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WriteMode {
    /// Copy into a preallocated, mapped segment; flush is `msync`.
    #[default]
    Mmap,
    /// `pwrite` into the file; flush is `fdatasync`. The baseline and the fallback for file
    /// systems where mapping is a bad idea.
    Write,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// Size a segment may reach before the log rolls to a new one; also what an mmap segment
    /// preallocates.
    pub segment_bytes: u64,
    /// Roll once the active segment's first timestamp is older than this (batch time).
    pub segment_ms: u64,
    /// Bytes appended between two sparse index entries.
    pub index_interval_bytes: u64,
    /// Preallocated size of each index file; a full index rolls the segment.
    pub max_index_bytes: u64,
    /// Delete the oldest closed segments while the log is larger than this. `None` keeps all.
    pub retention_bytes: Option<u64>,
    /// Delete closed segments whose newest timestamp is older than this. `None` keeps all.
    pub retention_ms: Option<u64>,
    /// Flush once this many messages are unflushed. `None`: no count policy.
    pub flush_messages: Option<u64>,
    /// Flush when the oldest unflushed append is older than this. `None`: no interval policy.
    pub flush_interval_ms: Option<u64>,
    /// Largest batch accepted for append.
    pub max_message_bytes: u64,
    pub write_mode: WriteMode,
    /// Keep segment files that retention removes and write later segments over them (see the
    /// `spare` module). Only safe when nothing sends file pages by reference: a `sendfile` or
    /// `splice` leaves the socket holding the page-cache pages it sent until the peer has them
    /// (on loopback, until the receiving program has read them), so overwriting a recycled
    /// file's pages could change bytes still on their way to a consumer. Off by default; the
    /// broker turns it on only for its copying transfer modes. Turning it off removes spares at
    /// the next open.
    pub recycle_segments: bool,
    /// Where sealed segments' open files are kept (see [`crate::file_cache`]). Logs sharing one
    /// cache share its bound; the default is the process-wide [`FileCache::shared`]. A broker
    /// gives every partition the cache of its `--max-open-files`.
    pub file_cache: FileCache,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            segment_bytes: 1 << 30,
            segment_ms: 7 * 24 * 60 * 60 * 1000,
            index_interval_bytes: 4096,
            max_index_bytes: 10 << 20,
            retention_bytes: None,
            retention_ms: Some(7 * 24 * 60 * 60 * 1000),
            flush_messages: None,
            flush_interval_ms: None,
            max_message_bytes: 8 << 20,
            write_mode: WriteMode::Mmap,
            recycle_segments: false,
            file_cache: FileCache::shared(),
        }
    }
}

impl LogConfig {
    /// Unsynced bytes of the active segment at which an append asks for a flush, whatever the
    /// flush policy. A roll seals the old segment, and sealing syncs whatever of it is still
    /// dirty while holding the log's write lock: a whole dirty 256 MiB segment took 66-72 ms on
    /// this project's machines, a stall for every producer and reader of the partition (the
    /// acks=1 p99 of `docs/benchmarks.md`). Flushing in the background every eighth of a segment
    /// (at most 64 MiB) leaves a roll little to sync.
    pub fn sync_ahead_bytes(&self) -> u64 {
        (self.segment_bytes / 8).clamp(1, 64 << 20)
    }

    /// Rejects settings that would make the log misbehave rather than merely be slow.
    pub fn validate(&self) -> Result<()> {
        let bad = |why: &str| Err(StorageError::InvalidConfig(why.to_owned()));
        if self.segment_bytes < 1024 {
            return bad("segment_bytes must be at least 1024");
        }
        if self.segment_bytes > i32::MAX as u64 {
            return bad("segment_bytes must fit a 32-bit index position");
        }
        if self.max_message_bytes > self.segment_bytes {
            return bad("max_message_bytes must not exceed segment_bytes");
        }
        if self.max_index_bytes < 64 {
            return bad("max_index_bytes must be at least 64");
        }
        if self.index_interval_bytes == 0 {
            return bad("index_interval_bytes must be positive");
        }
        if self.flush_messages == Some(0) {
            return bad("flush_messages must be positive");
        }
        Ok(())
    }
}
