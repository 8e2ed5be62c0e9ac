//! The time index: `int64 timestamp, int32 relativeOffset`, big-endian, 12 bytes an entry.
//!
//! Entries are only added when the timestamp grows, so the entries are sorted by both fields and
//! a binary search finds the last batch whose timestamp is below a target.

use std::path::Path;

use super::IndexFile;
use crate::error::Result;

pub(crate) const ENTRY_SIZE: usize = 12;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimeEntry {
    pub timestamp: i64,
    pub offset: i64,
}

#[derive(Debug)]
pub(crate) struct TimeIndex {
    base_offset: i64,
    file: IndexFile,
}

impl TimeIndex {
    pub(crate) fn new(base_offset: i64, file: IndexFile) -> Self {
        TimeIndex { base_offset, file }
    }

    pub(crate) fn create(path: &Path, base_offset: i64, max_bytes: u64) -> Result<Self> {
        Ok(Self::new(
            base_offset,
            IndexFile::create(path, ENTRY_SIZE, max_bytes)?,
        ))
    }

    pub(crate) fn entries(&self) -> usize {
        self.file.len()
    }

    pub(crate) fn is_full(&self) -> bool {
        self.file.is_full()
    }

    pub(crate) fn entry(&self, i: usize) -> Option<TimeEntry> {
        let raw = self.file.entry(i)?;
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&raw[..8]);
        let rel = u32::from_be_bytes([raw[8], raw[9], raw[10], raw[11]]);
        Some(TimeEntry {
            timestamp: i64::from_be_bytes(ts),
            offset: self.base_offset + i64::from(rel),
        })
    }

    pub(crate) fn last(&self) -> Option<TimeEntry> {
        self.entries().checked_sub(1).and_then(|i| self.entry(i))
    }

    /// Adds an entry if `timestamp` is newer than the last one. Returns false only when the index
    /// is full.
    pub(crate) fn maybe_append(&mut self, timestamp: i64, offset: i64) -> bool {
        if self.last().is_some_and(|last| timestamp <= last.timestamp) {
            return true;
        }
        let Ok(rel) = u32::try_from(offset - self.base_offset) else {
            return false;
        };
        let mut raw = [0u8; ENTRY_SIZE];
        raw[..8].copy_from_slice(&timestamp.to_be_bytes());
        raw[8..].copy_from_slice(&rel.to_be_bytes());
        self.file.push(&raw)
    }

    /// The last entry with timestamp < `target`: every record up to its offset is older than
    /// the target. `None` when no entry is.
    pub(crate) fn lookup(&self, target: i64) -> Option<TimeEntry> {
        let (mut lo, mut hi) = (0usize, self.entries());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.entry(mid) {
                Some(e) if e.timestamp < target => lo = mid + 1,
                _ => hi = mid,
            }
        }
        lo.checked_sub(1).and_then(|i| self.entry(i))
    }

    pub(crate) fn into_writable(self, max_bytes: u64) -> Result<Option<Self>> {
        let base_offset = self.base_offset;
        Ok(self
            .file
            .into_writable(max_bytes)?
            .map(|file| TimeIndex { base_offset, file }))
    }

    pub(crate) fn seal(self) -> Result<Self> {
        Ok(TimeIndex {
            base_offset: self.base_offset,
            file: self.file.seal()?,
        })
    }
}
