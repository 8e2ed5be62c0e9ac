//! Errors, and the one place where internal errors become wire codes.

use std::path::PathBuf;

use sluice_protocol::ErrorCode;
use sluice_record::RecordError;
use sluice_storage::StorageError;

/// A failure of one request (or one partition of it), ready for the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
        }
    }

    pub fn unknown_topic(topic: &str, partition: Option<u32>) -> ApiError {
        let message = match partition {
            Some(p) => format!("unknown topic or partition {topic}-{p}"),
            None => format!("unknown topic {topic}"),
        };
        ApiError::new(ErrorCode::UnknownTopicOrPartition, message)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl From<StorageError> for ApiError {
    fn from(error: StorageError) -> ApiError {
        ApiError::new(storage_error_code(&error), error_chain(&error))
    }
}

/// The wire code of a storage error.
pub fn storage_error_code(error: &StorageError) -> ErrorCode {
    match error {
        StorageError::OffsetOutOfRange { .. } => ErrorCode::OffsetOutOfRange,
        StorageError::InvalidBatch { source, .. } => record_error_code(source),
        StorageError::EmptyBatch { .. }
        | StorageError::ControlBatch
        | StorageError::BatchSpansTooManyOffsets { .. } => ErrorCode::InvalidRecord,
        StorageError::BatchTooLarge { .. } => ErrorCode::MessageTooLarge,
        StorageError::DiskFull { .. } => ErrorCode::DiskFull,
        StorageError::Poisoned { .. } => ErrorCode::LogPoisoned,
        StorageError::Io { .. }
        | StorageError::CorruptCheckpoint { .. }
        | StorageError::Inconsistent { .. }
        | StorageError::CorruptLog { .. } => ErrorCode::StorageError,
        // Appends race with shutdown or topic deletion: the log is gone.
        StorageError::Closed { .. } => ErrorCode::BrokerShuttingDown,
        StorageError::InvalidConfig(_) => ErrorCode::InvalidConfig,
        _ => ErrorCode::Unknown,
    }
}

/// Bytes that fail the checksum or cannot be parsed are corrupt (possibly
/// in transit, so retriable); a well-formed batch with unacceptable content
/// is an invalid record.
fn record_error_code(error: &RecordError) -> ErrorCode {
    match error {
        RecordError::CrcMismatch { .. }
        | RecordError::Truncated { .. }
        | RecordError::BatchLengthTooSmall { .. }
        | RecordError::InvalidVarint { .. } => ErrorCode::CorruptMessage,
        RecordError::BatchTooLarge { .. } => ErrorCode::MessageTooLarge,
        _ => ErrorCode::InvalidRecord,
    }
}

/// The error and its sources, joined, for error messages and logs.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Failures that stop the broker from starting or stopping cleanly.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BrokerError {
    #[error("I/O error on {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("data directory {path} is in use by another broker ({errno})")]
    Locked {
        path: PathBuf,
        errno: nix::errno::Errno,
    },
    #[error("could not listen on {addr}")]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("could not open partition log {path}")]
    Storage {
        path: PathBuf,
        #[source]
        source: StorageError,
    },
    #[error("corrupt metadata file {path}: {reason}")]
    Metadata { path: PathBuf, reason: String },
    #[error("a background task failed: {0}")]
    Task(String),
}

impl BrokerError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> BrokerError {
        BrokerError::Io {
            path: path.into(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping() {
        let crc = StorageError::InvalidBatch {
            index: 0,
            source: RecordError::CrcMismatch {
                stored: 1,
                computed: 2,
            },
        };
        assert_eq!(storage_error_code(&crc), ErrorCode::CorruptMessage);
        let magic = StorageError::InvalidBatch {
            index: 0,
            source: RecordError::UnsupportedMagic { magic: 1 },
        };
        assert_eq!(storage_error_code(&magic), ErrorCode::InvalidRecord);
        let big = StorageError::BatchTooLarge { size: 2, max: 1 };
        assert_eq!(storage_error_code(&big), ErrorCode::MessageTooLarge);
        let oor = StorageError::OffsetOutOfRange {
            offset: 9,
            log_start_offset: 0,
            log_end_offset: 1,
        };
        assert_eq!(storage_error_code(&oor), ErrorCode::OffsetOutOfRange);
        let full = StorageError::io(
            sluice_storage::IoOp::Write,
            "/x",
            std::io::Error::from_raw_os_error(nix::libc::ENOSPC),
        );
        assert_eq!(storage_error_code(&full), ErrorCode::DiskFull);
        let io = StorageError::io(
            sluice_storage::IoOp::Write,
            "/x",
            std::io::Error::other("x"),
        );
        assert_eq!(storage_error_code(&io), ErrorCode::StorageError);
        let poisoned = StorageError::Poisoned {
            dir: "/x".into(),
            source: std::sync::Arc::new(io),
        };
        assert_eq!(storage_error_code(&poisoned), ErrorCode::LogPoisoned);
    }
}
