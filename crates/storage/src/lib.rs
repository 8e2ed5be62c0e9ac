//! Segmented, append-only partition logs of Kafka v2 record batches.
//!
//! # Layout
//! - [`log`]: [`PartitionLog`], the public face: open/recover, append, read, flush, retention.
//! - [`backend`]: the one seam every file operation goes through: the real file system, a
//!   fault injector and a crash simulator for tests.
//! - `segment`: one `.log` file and its two indexes; active or sealed (`load`: open, recover,
//!   activate; `lookup`: find batches by offset, position and timestamp; `file`: the `.log`
//!   held open while active, taken from the file cache once sealed).
//! - [`file_cache`]: the bounded cache of sealed segments' open files (`--max-open-files`).
//! - `index`: the sparse offset and time indexes (mapped files of big-endian entries).
//! - [`writer`]: how bytes reach the active segment: mmap (default) or `pwrite`, behind one trait.
//! - `scan`: batch-by-batch validation of a segment file, used by recovery.
//! - `checkpoint`: recovery point, log start offset and clean-shutdown marker files.
//! - `retention`: which segments retention deletes (plain decision code).
//! - `spare`: segment files that retention removed, kept to be written over by later segments.
//! - [`config`], [`error`].
//!
//! The byte layouts and the recovery procedure are in `docs/design.md`.
//!
//! ```
//! use sluice_record::BatchBuilder;
//! use sluice_storage::{LogConfig, PartitionLog};
//!
//! let dir = tempfile::tempdir()?;
//! let config = LogConfig { segment_bytes: 16 << 20, ..LogConfig::default() };
//! let log = PartitionLog::open(dir.path().join("orders-0"), config)?;
//! let mut batch = BatchBuilder::new();
//! batch.append(1_700_000_000_000, Some(b"key"), Some(b"value"), &[]);
//! let info = log.append(&batch.build())?;
//! log.flush_to(info.last_offset + 1)?;
//! let slice = log.read(0, 1 << 20)?; // what the network layer hands to sendfile
//! assert_eq!(slice.len, log.size_bytes());
//! log.close()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod backend;
mod checkpoint;
pub mod config;
pub mod error;
pub mod file_cache;
mod index;
pub mod log;
mod retention;
mod scan;
mod segment;
mod spare;
pub mod writer;

pub use backend::{Backend, FileHandle, MapMut, RealBackend};
pub use config::{LogConfig, WriteMode};
pub use error::{IoOp, Result, StorageError};
pub use file_cache::FileCache;
pub(crate) use log::Durability;
pub use log::RetentionOutcome;
pub use log::{AppendInfo, FileSlice, LogBatches, PartitionLog, TimestampOffset};
pub use writer::{RangeSync, SegmentWriter, WriterFactory};
