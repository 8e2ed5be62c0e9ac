//! The offset index: `int32 relativeOffset, int32 position`, big-endian, 8 bytes an entry.
//!
//! The key is the *last* offset of the batch that starts at `position` (as Kafka writes it), so
//! the greatest entry with key <= target names a batch at or before the one holding the target.

use std::path::Path;

use super::IndexFile;
use crate::error::Result;

pub(crate) const ENTRY_SIZE: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OffsetEntry {
    pub offset: i64,
    pub position: u64,
}

#[derive(Debug)]
pub(crate) struct OffsetIndex {
    base_offset: i64,
    file: IndexFile,
}

impl OffsetIndex {
    pub(crate) fn new(base_offset: i64, file: IndexFile) -> Self {
        OffsetIndex { base_offset, file }
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

    pub(crate) fn entry(&self, i: usize) -> Option<OffsetEntry> {
        let raw = self.file.entry(i)?;
        let rel = u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]);
        let pos = u32::from_be_bytes([raw[4], raw[5], raw[6], raw[7]]);
        Some(OffsetEntry {
            offset: self.base_offset + i64::from(rel),
            position: u64::from(pos),
        })
    }

    pub(crate) fn last(&self) -> Option<OffsetEntry> {
        self.entries().checked_sub(1).and_then(|i| self.entry(i))
    }

    /// Records that the batch ending at `last_offset` starts at `position`. Returns false when
    /// the index is full (the caller rolls the segment before that happens).
    pub(crate) fn append(&mut self, last_offset: i64, position: u64) -> bool {
        let (Ok(rel), Ok(pos)) = (
            u32::try_from(last_offset - self.base_offset),
            u32::try_from(position),
        ) else {
            return false;
        };
        let mut raw = [0u8; ENTRY_SIZE];
        raw[..4].copy_from_slice(&rel.to_be_bytes());
        raw[4..].copy_from_slice(&pos.to_be_bytes());
        self.file.push(&raw)
    }

    /// The greatest entry whose key is <= `target`, or the segment start.
    pub(crate) fn lookup(&self, target: i64) -> OffsetEntry {
        self.greatest_where(|e| e.offset <= target)
    }

    /// The greatest entry whose position is <= `position`, or the segment start.
    pub(crate) fn lookup_position(&self, position: u64) -> OffsetEntry {
        self.greatest_where(|e| e.position <= position)
    }

    /// Binary search over entries for the last one satisfying a predicate that is true for a
    /// prefix of the entries (keys and positions both grow).
    fn greatest_where(&self, pred: impl Fn(&OffsetEntry) -> bool) -> OffsetEntry {
        let (mut lo, mut hi) = (0usize, self.entries());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.entry(mid) {
                Some(e) if pred(&e) => lo = mid + 1,
                _ => hi = mid,
            }
        }
        lo.checked_sub(1)
            .and_then(|i| self.entry(i))
            .unwrap_or(OffsetEntry {
                offset: self.base_offset,
                position: 0,
            })
    }

    pub(crate) fn into_writable(self, max_bytes: u64) -> Result<Option<Self>> {
        let base_offset = self.base_offset;
        Ok(self
            .file
            .into_writable(max_bytes)?
            .map(|file| OffsetIndex { base_offset, file }))
    }

    pub(crate) fn seal(self) -> Result<Self> {
        Ok(OffsetIndex {
            base_offset: self.base_offset,
            file: self.file.seal()?,
        })
    }
}
