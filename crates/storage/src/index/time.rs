//! The time index: `int64 timestamp, int32 relativeOffset`, big-endian, 12 bytes an entry.
//!
//! Entries are only added when the timestamp grows, so the entries are sorted by both fields and
//! a binary search finds the last batch whose timestamp is below a target.

use super::sparse::{Entry, SparseIndex};

pub(crate) type TimeIndex = SparseIndex<TimeEntry>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimeEntry {
    pub timestamp: i64,
    pub offset: i64,
}

impl Entry for TimeEntry {
    const SIZE: usize = 12;

    fn decode(base_offset: i64, raw: &[u8]) -> Self {
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&raw[..8]);
        let rel = u32::from_be_bytes([raw[8], raw[9], raw[10], raw[11]]);
        TimeEntry {
            timestamp: i64::from_be_bytes(ts),
            offset: base_offset + i64::from(rel),
        }
    }

    fn encode(&self, base_offset: i64, out: &mut [u8]) -> bool {
        let Ok(rel) = u32::try_from(self.offset - base_offset) else {
            return false;
        };
        out[..8].copy_from_slice(&self.timestamp.to_be_bytes());
        out[8..12].copy_from_slice(&rel.to_be_bytes());
        true
    }
}

impl TimeIndex {
    /// Adds an entry if `timestamp` is newer than the last one. Returns false only when the index
    /// is full.
    pub(crate) fn maybe_append(&mut self, timestamp: i64, offset: i64) -> bool {
        if self.last().is_some_and(|last| timestamp <= last.timestamp) {
            return true;
        }
        self.push(TimeEntry { timestamp, offset })
    }

    /// The last entry with timestamp < `target`: every record up to its offset is older than
    /// the target. `None` when no entry is.
    pub(crate) fn lookup(&self, target: i64) -> Option<TimeEntry> {
        self.greatest_where(|e| e.timestamp < target)
    }
}
