//! [`FileRange`]: bytes of an open file that a response sends without
//! copying them into memory first.
//!
//! The network crate knows nothing of segments or logs: whoever builds a
//! response (the broker, from a storage read) turns what it read into a
//! `FileRange`, and [`crate::transfer`] sends it with the configured mode.

use std::fs::File;
use std::io;
use std::sync::Arc;

/// `len` bytes of `file` starting at byte `offset`.
///
/// The bytes must not change while the range is in a response: the `mmap`
/// and zero-copy transfer modes rely on it (see `transfer::sys`). The
/// shared `Arc<File>` is read with positioned calls only, so other readers
/// of the same file are not disturbed.
#[derive(Debug, Clone)]
pub struct FileRange {
    pub file: Arc<File>,
    /// Position of the first byte in the file.
    pub offset: u64,
    /// Number of bytes.
    pub len: u64,
}

impl FileRange {
    /// The position just past the last byte; an error when it does not fit
    /// in a `u64`.
    pub(crate) fn end(&self) -> io::Result<u64> {
        self.offset
            .checked_add(self.len)
            .ok_or_else(|| io::Error::other("file range end overflows"))
    }
}
