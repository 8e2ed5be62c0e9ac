//! The offset index: `int32 relativeOffset, int32 position`, big-endian, 8 bytes an entry.
//!
//! The key is the *last* offset of the batch that starts at `position` (as Kafka writes it), so
//! the greatest entry with key <= target names a batch at or before the one holding the target.

use super::sparse::{Entry, SparseIndex};

pub(crate) type OffsetIndex = SparseIndex<OffsetEntry>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OffsetEntry {
    pub offset: i64,
    pub position: u64,
}

impl Entry for OffsetEntry {
    const SIZE: usize = 8;

    fn decode(base_offset: i64, raw: &[u8]) -> Self {
        let rel = u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]);
        let pos = u32::from_be_bytes([raw[4], raw[5], raw[6], raw[7]]);
        OffsetEntry {
            offset: base_offset + i64::from(rel),
            position: u64::from(pos),
        }
    }

    fn encode(&self, base_offset: i64, out: &mut [u8]) -> bool {
        let (Ok(rel), Ok(pos)) = (
            u32::try_from(self.offset - base_offset),
            u32::try_from(self.position),
        ) else {
            return false;
        };
        out[..4].copy_from_slice(&rel.to_be_bytes());
        out[4..8].copy_from_slice(&pos.to_be_bytes());
        true
    }
}

impl OffsetIndex {
    /// Records that the batch ending at `last_offset` starts at `position`. Returns false when
    /// the index is full (the caller rolls the segment before that happens).
    pub(crate) fn append(&mut self, last_offset: i64, position: u64) -> bool {
        self.push(OffsetEntry {
            offset: last_offset,
            position,
        })
    }

    /// The greatest entry whose key is <= `target`, or the segment start.
    pub(crate) fn lookup(&self, target: i64) -> OffsetEntry {
        self.greatest_where(|e| e.offset <= target)
            .unwrap_or(self.start())
    }

    /// The greatest entry whose position is <= `position`, or the segment start.
    pub(crate) fn lookup_position(&self, position: u64) -> OffsetEntry {
        self.greatest_where(|e| e.position <= position)
            .unwrap_or(self.start())
    }

    fn start(&self) -> OffsetEntry {
        OffsetEntry {
            offset: self.base_offset(),
            position: 0,
        }
    }
}
