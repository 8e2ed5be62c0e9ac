//! The one error type of the storage crate.
//!
//! Every variant that comes from the file system keeps the `io::Error` and says which file and
//! which operation failed, so an operator reading a log line knows where to look.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use sluice_record::RecordError;

/// What a storage operation was doing when the file system failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IoOp {
    Open,
    Create,
    Preallocate,
    Map,
    Write,
    Read,
    Sync,
    Truncate,
    Delete,
    Rename,
    ListDir,
}

impl std::fmt::Display for IoOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            IoOp::Open => "open",
            IoOp::Create => "create",
            IoOp::Preallocate => "preallocate",
            IoOp::Map => "map",
            IoOp::Write => "write",
            IoOp::Read => "read",
            IoOp::Sync => "sync",
            IoOp::Truncate => "truncate",
            IoOp::Delete => "delete",
            IoOp::Rename => "rename",
            IoOp::ListDir => "list directory",
        };
        f.write_str(name)
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// The device has no room left. Kept apart from other I/O errors because it is the one an
    /// operator can fix without a restart, and because the log stays consistent: nothing was
    /// acknowledged.
    #[error("disk full during {op} of {path}")]
    DiskFull {
        op: IoOp,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("I/O error during {op} of {path}")]
    Io {
        op: IoOp,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A batch offered for append failed validation; the log is untouched.
    #[error("invalid record batch at index {index} of the append")]
    InvalidBatch {
        index: usize,
        #[source]
        source: RecordError,
    },
    #[error("record batch at index {index} of the append holds no records")]
    EmptyBatch { index: usize },
    #[error("record batch of {size} bytes is larger than the limit of {max} bytes")]
    BatchTooLarge { size: usize, max: usize },
    /// Clients may not write control batches (transaction markers); only a coordinator can.
    #[error("control batches cannot be appended by clients")]
    ControlBatch,
    #[error("batch of {records} records cannot fit the segment's 32-bit relative offsets")]
    BatchSpansTooManyOffsets { records: i64 },
    #[error("offset {offset} is out of range [{log_start_offset}, {log_end_offset}]")]
    OffsetOutOfRange {
        offset: i64,
        log_start_offset: i64,
        log_end_offset: i64,
    },
    /// A sync or write failed earlier: data acknowledged as appended may not be on disk, so the
    /// log refuses further writes until it is reopened (and recovered). Reads of what is there
    /// keep working. The source is the first failure, errno and all.
    #[error("log {dir} refuses writes after an earlier failure")]
    Poisoned {
        dir: PathBuf,
        #[source]
        source: Arc<StorageError>,
    },
    /// The files on disk do not form one log (a segment that does not continue the one before
    /// it, or damage in the middle of the log with data after it). Nothing is deleted: the
    /// partition stays offline until an operator looks at the files named here.
    #[error("log {dir} is inconsistent, files kept and partition offline: {reason} ({files})", files = display_paths(files))]
    Inconsistent {
        dir: PathBuf,
        files: Vec<PathBuf>,
        reason: String,
    },
    #[error("log {dir} is closed")]
    Closed { dir: PathBuf },
    /// Reading found bytes a clean open trusted that are not a log: a batch that does not
    /// move the offsets forward, or one whose length runs past the data.
    #[error("corrupt data in log {dir} at offset {offset}: {reason}")]
    CorruptLog {
        dir: PathBuf,
        offset: i64,
        reason: String,
    },
    #[error("corrupt checkpoint file {path}: {reason}")]
    CorruptCheckpoint { path: PathBuf, reason: String },
    #[error("invalid log configuration: {0}")]
    InvalidConfig(String),
}

impl StorageError {
    /// Wraps an `io::Error`, classifying "no space" separately.
    pub fn io(op: IoOp, path: impl Into<PathBuf>, source: io::Error) -> Self {
        let path = path.into();
        let no_space = matches!(source.raw_os_error(), Some(code) if code == nix::libc::ENOSPC || code == nix::libc::EDQUOT)
            || source.kind() == io::ErrorKind::StorageFull;
        if no_space {
            StorageError::DiskFull { op, path, source }
        } else {
            StorageError::Io { op, path, source }
        }
    }
}

fn display_paths(paths: &[PathBuf]) -> String {
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    names.join(", ")
}

impl StorageError {
    /// Whether the failure is a full disk (directly, or the first failure of a poisoned log).
    pub fn is_disk_full(&self) -> bool {
        match self {
            StorageError::DiskFull { .. } => true,
            StorageError::Poisoned { source, .. } => source.is_disk_full(),
            _ => false,
        }
    }
}

pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// Adds file context to an `io::Result` at the call site.
pub(crate) trait IoContext<T> {
    fn ctx(self, op: IoOp, path: &std::path::Path) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn ctx(self, op: IoOp, path: &std::path::Path) -> Result<T> {
        self.map_err(|source| StorageError::io(op, path, source))
    }
}
