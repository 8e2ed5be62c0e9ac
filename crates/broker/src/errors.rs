//! The broker's startup and shutdown errors, and how errors are written
//! out. The errors of requests are [`crate::service::ServiceError`].

use std::path::PathBuf;

use sluice_storage::StorageError;

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
