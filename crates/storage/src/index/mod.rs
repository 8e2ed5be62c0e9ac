//! Sparse indexes of a segment, both preallocated, mapped files of fixed-size big-endian entries.
//!
//! The number of entries is the write position: the file is preallocated while its segment is
//! active and cut to exactly `entries * entry_size` bytes when the segment is sealed, so that a
//! reopened index knows its entry count from its length alone.

mod file;
mod offset;
mod sparse;
mod time;

pub(crate) use file::IndexFile;
pub(crate) use offset::{OffsetEntry, OffsetIndex};
pub(crate) use sparse::Entry;
pub(crate) use time::{TimeEntry, TimeIndex};
