//! A sparse index over one segment: fixed-size entries in an [`IndexFile`], relative to the
//! segment's base offset. The two kinds of index differ only in their entry layout ([`Entry`])
//! and their lookups.

use std::marker::PhantomData;
use std::path::Path;
use std::sync::Arc;

use super::IndexFile;
use crate::backend::Backend;
use crate::error::Result;

/// The byte layout of one index entry.
pub(crate) trait Entry: Copy {
    const SIZE: usize;
    fn decode(base_offset: i64, raw: &[u8]) -> Self;
    /// Writes the entry into `out` (`SIZE` bytes); false if it cannot be represented relative
    /// to `base_offset` (the caller then rolls the segment).
    fn encode(&self, base_offset: i64, out: &mut [u8]) -> bool;
}

#[derive(Debug)]
pub(crate) struct SparseIndex<E> {
    base_offset: i64,
    file: IndexFile,
    entry: PhantomData<E>,
}

impl<E: Entry> SparseIndex<E> {
    pub(crate) fn new(base_offset: i64, file: IndexFile) -> Self {
        SparseIndex {
            base_offset,
            file,
            entry: PhantomData,
        }
    }

    pub(crate) fn create(
        fs: &Arc<dyn Backend>,
        path: &Path,
        base_offset: i64,
        max_bytes: u64,
    ) -> Result<Self> {
        Ok(Self::new(
            base_offset,
            IndexFile::create(fs, path, E::SIZE, max_bytes)?,
        ))
    }

    pub(crate) fn base_offset(&self) -> i64 {
        self.base_offset
    }

    pub(crate) fn entries(&self) -> usize {
        self.file.len()
    }

    pub(crate) fn is_full(&self) -> bool {
        self.file.is_full()
    }

    pub(crate) fn entry(&self, i: usize) -> Option<E> {
        self.file
            .entry(i)
            .map(|raw| E::decode(self.base_offset, raw))
    }

    pub(crate) fn last(&self) -> Option<E> {
        self.entries().checked_sub(1).and_then(|i| self.entry(i))
    }

    /// Appends an entry; false when it does not fit (index full, or not representable).
    pub(crate) fn push(&mut self, entry: E) -> bool {
        let mut raw = [0u8; 16];
        let Some(raw) = raw.get_mut(..E::SIZE) else {
            return false;
        };
        entry.encode(self.base_offset, raw) && self.file.push(raw)
    }

    /// The last entry satisfying `pred`, which must hold for a prefix of the entries (both
    /// fields of every index grow), by binary search.
    pub(crate) fn greatest_where(&self, pred: impl Fn(&E) -> bool) -> Option<E> {
        let (mut lo, mut hi) = (0usize, self.entries());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.entry(mid) {
                Some(e) if pred(&e) => lo = mid + 1,
                _ => hi = mid,
            }
        }
        lo.checked_sub(1).and_then(|i| self.entry(i))
    }

    /// Every entry, in order (for consistency checks).
    pub(crate) fn iter(&self) -> impl Iterator<Item = E> + '_ {
        (0..self.entries()).filter_map(|i| self.entry(i))
    }

    pub(crate) fn into_writable(
        self,
        fs: &Arc<dyn Backend>,
        max_bytes: u64,
    ) -> Result<Option<Self>> {
        let base_offset = self.base_offset;
        Ok(self
            .file
            .into_writable(fs, max_bytes)?
            .map(|file| Self::new(base_offset, file)))
    }

    pub(crate) fn seal(&mut self, durability: crate::Durability) -> Result<()> {
        self.file.seal(durability)
    }
}
