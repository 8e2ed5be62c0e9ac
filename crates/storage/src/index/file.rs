//! A file of fixed-size entries, mapped for reading and (while active) for appending.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use memmap2::Mmap;

use crate::Durability;
use crate::backend::{Backend, FileHandle, MapMut};
use crate::error::{IoContext, IoOp, Result, StorageError};

/// The first mapped size of an active index. An index grows from here by doubling, up to its
/// configured maximum, so an empty or lightly used partition holds a few KiB of index, not the
/// maximum (10 MiB by default) for each of its two indexes.
const INITIAL_BYTES: u64 = 4096;

#[derive(Debug)]
enum Mapping {
    /// Active: allocated a little past the entries, entries appended in place; grown on demand
    /// up to `max_bytes`.
    Writable {
        map: Arc<dyn MapMut>,
        max_bytes: u64,
    },
    /// Sealed: exactly `entries * entry_size` bytes, read only.
    ReadOnly(Mmap),
}

#[derive(Debug)]
pub(crate) struct IndexFile {
    path: PathBuf,
    /// No file handle is kept: a mapping outlives the descriptor it was made from, and a
    /// partition's two indexes would otherwise hold two of its descriptors for as long as it
    /// exists. Growing and sealing, which are rare, open the file again through this.
    fs: Arc<dyn Backend>,
    map: Mapping,
    entry_size: usize,
    entries: usize,
}

impl IndexFile {
    /// Opens (creating if needed) an index for appending, keeping its current entries.
    /// Returns `Ok(None)` when the file's length is not a whole number of entries: such an index
    /// disagrees with itself and the caller rebuilds it.
    pub(crate) fn open_writable(
        fs: &Arc<dyn Backend>,
        path: &Path,
        entry_size: usize,
        max_bytes: u64,
    ) -> Result<Option<Self>> {
        let file = fs.open(path).ctx(IoOp::Open, path)?;
        let len = file.size().ctx(IoOp::Open, path)?;
        if len % entry_size as u64 != 0 || len > max_bytes {
            return Ok(None);
        }
        let entries = (len / entry_size as u64) as usize;
        let max_bytes = max_bytes - max_bytes % entry_size as u64;
        let capacity = allocation(len, INITIAL_BYTES, max_bytes, entry_size);
        let map = map_allocated(file.as_ref(), path, len, capacity)?;
        Ok(Some(IndexFile {
            path: path.to_owned(),
            fs: fs.clone(),
            map: Mapping::Writable { map, max_bytes },
            entry_size,
            entries,
        }))
    }

    /// Doubles the mapped capacity (up to `max_bytes`); false when it cannot grow (at the
    /// maximum, or the file system refused the space).
    fn grow(&mut self) -> bool {
        let Mapping::Writable { map, max_bytes } = &self.map else {
            return false;
        };
        let (current, max_bytes) = (map.raw().len() as u64, *max_bytes);
        if current >= max_bytes {
            return false;
        }
        let capacity = allocation(current, current * 2, max_bytes, self.entry_size);
        let grown = self
            .fs
            .open(&self.path)
            .ctx(IoOp::Open, &self.path)
            .and_then(|file| map_allocated(file.as_ref(), &self.path, current, capacity));
        match grown {
            Ok(map) => {
                // The old mapping is dropped here; no reader holds a reference into it, as
                // growing needs `&mut self`.
                self.map = Mapping::Writable { map, max_bytes };
                true
            }
            Err(error) => {
                // A sparse index with fewer entries only makes lookups scan further.
                tracing::warn!(path = %self.path.display(), %error, "cannot grow an index; later entries of this segment are skipped");
                false
            }
        }
    }

    /// Creates an empty index for appending, discarding whatever the file held.
    pub(crate) fn create(
        fs: &Arc<dyn Backend>,
        path: &Path,
        entry_size: usize,
        max_bytes: u64,
    ) -> Result<Self> {
        let file = fs.open(path).ctx(IoOp::Open, path)?;
        file.set_len(0).ctx(IoOp::Truncate, path)?;
        drop(file);
        let index = Self::open_writable(fs, path, entry_size, max_bytes)?;
        index.ok_or_else(|| {
            StorageError::InvalidConfig(format!(
                "index size {max_bytes} cannot hold entries of {entry_size} bytes"
            ))
        })
    }

    /// Opens a sealed index read only. `Ok(None)` when it is missing or its length is not a
    /// whole number of entries.
    pub(crate) fn open_sealed(
        fs: &Arc<dyn Backend>,
        path: &Path,
        entry_size: usize,
    ) -> Result<Option<Self>> {
        let file = match fs.open_read(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StorageError::io(IoOp::Open, path, e)),
        };
        let len = file.size().ctx(IoOp::Open, path)?;
        if len % entry_size as u64 != 0 {
            return Ok(None);
        }
        // Sealed indexes are never written again while mapped: a rebuild replaces the
        // `IndexFile`, dropping this mapping first.
        let map = file.map_read().ctx(IoOp::Map, path)?;
        Ok(Some(IndexFile {
            path: path.to_owned(),
            fs: fs.clone(),
            map: Mapping::ReadOnly(map),
            entry_size,
            entries: (len / entry_size as u64) as usize,
        }))
    }

    /// The same index, writable: kept as it is if it already is, else reopened for appending.
    /// `Ok(None)` as in `open_writable`.
    pub(crate) fn into_writable(
        self,
        fs: &Arc<dyn Backend>,
        max_bytes: u64,
    ) -> Result<Option<Self>> {
        if matches!(self.map, Mapping::Writable { .. }) {
            return Ok(Some(self));
        }
        let IndexFile {
            path,
            map,
            entry_size,
            ..
        } = self;
        drop(map);
        Self::open_writable(fs, &path, entry_size, max_bytes)
    }

    pub(crate) fn len(&self) -> usize {
        self.entries
    }

    /// No room for another entry within the configured maximum.
    pub(crate) fn is_full(&self) -> bool {
        match &self.map {
            Mapping::Writable { max_bytes, .. } => {
                ((self.entries + 1) * self.entry_size) as u64 > *max_bytes
            }
            Mapping::ReadOnly(_) => true,
        }
    }

    /// Bytes the index file holds on disk (its mapped capacity while active).
    #[cfg(test)]
    pub(crate) fn allocated_bytes(&self) -> usize {
        match &self.map {
            Mapping::Writable { map, .. } => map.raw().len(),
            Mapping::ReadOnly(map) => map.len(),
        }
    }

    pub(crate) fn entry(&self, i: usize) -> Option<&[u8]> {
        if i >= self.entries {
            return None;
        }
        let bytes: &[u8] = match &self.map {
            Mapping::Writable { map, .. } => mapped(map.as_ref()),
            Mapping::ReadOnly(map) => map,
        };
        bytes.get(i * self.entry_size..(i + 1) * self.entry_size)
    }

    /// Appends one entry. Returns false (and writes nothing) when the index is full or sealed.
    pub(crate) fn push(&mut self, entry: &[u8]) -> bool {
        debug_assert_eq!(entry.len(), self.entry_size);
        let start = self.entries * self.entry_size;
        let end = start + self.entry_size;
        if self.is_full() {
            return false;
        }
        while matches!(&self.map, Mapping::Writable { map, .. } if map.raw().len() < end) {
            if !self.grow() {
                return false;
            }
        }
        let Mapping::Writable { map, .. } = &self.map else {
            return false;
        };
        if entry.len() != self.entry_size || end > map.raw().len() {
            return false;
        }
        // SAFETY: `start + entry.len() == end <= map.raw().len()` (checked above), so the
        // destination lies inside the mapping, which lives as long as `map`. `&mut self` means
        // no slice handed out by `entry` (borrowing `&self`) is alive, so nothing reads these
        // bytes while they change; the source is a caller's buffer, not the mapping.
        unsafe {
            std::ptr::copy_nonoverlapping(
                entry.as_ptr(),
                map.raw().as_mut_ptr().add(start),
                entry.len(),
            );
        }
        self.entries += 1;
        true
    }

    /// Cuts the file to its entries and remaps it read only. On failure the index stays
    /// readable; once the file is cut it is never writable again (a store past the cut would
    /// fault), so a failed sync leaves a read-only index whose seal can be retried.
    ///
    /// With [`Durability::Deferred`] nothing is synced: the caller syncs the file system.
    pub(crate) fn seal(&mut self, durability: Durability) -> Result<()> {
        let len = self.entries * self.entry_size;
        let file = self.fs.open(&self.path).ctx(IoOp::Open, &self.path)?;
        if let Mapping::Writable { map, .. } = &self.map {
            if durability == Durability::Now {
                map.flush(0, len).ctx(IoOp::Sync, &self.path)?;
            }
            file.set_len(len as u64).ctx(IoOp::Truncate, &self.path)?;
            // The file is now exactly the entries; the writable mapping, which covers past
            // them, is replaced right here.
            let read_only = file.map_read().ctx(IoOp::Map, &self.path)?;
            self.map = Mapping::ReadOnly(read_only);
        }
        match durability {
            Durability::Now => file.sync_all().ctx(IoOp::Sync, &self.path),
            Durability::Deferred => Ok(()),
        }
    }
}

/// The bytes of a writable index mapping, for reading entries.
fn mapped(map: &dyn MapMut) -> &[u8] {
    let raw = map.raw();
    if raw.len() == 0 {
        return &[];
    }
    // SAFETY: the mapping is valid for `raw.len()` bytes while `map` lives, which the returned
    // slice's lifetime ties it to. The only stores into it (`push`) need `&mut IndexFile`, so
    // none happens while this shared borrow of the index is alive. The file is never cut below
    // the mapping while it is writable (`seal` replaces the mapping right after the cut).
    unsafe { std::slice::from_raw_parts(raw.as_ptr(), raw.len()) }
}

/// The capacity to map: at least `len` (the entries already there) and `wanted`, at most
/// `max_bytes`, in whole entries.
fn allocation(len: u64, wanted: u64, max_bytes: u64, entry_size: usize) -> u64 {
    let capacity = wanted.min(max_bytes).max(len);
    capacity - capacity % entry_size as u64
}

/// Allocates real blocks for `[len, capacity)` of `file` and maps all of it for writing.
fn map_allocated(
    file: &dyn FileHandle,
    path: &Path,
    len: u64,
    capacity: u64,
) -> Result<Arc<dyn MapMut>> {
    // Real blocks, not a sparse extension: entries are stored through the mapping, and a store
    // into an unbacked page on a full disk would raise SIGBUS.
    if capacity > len {
        file.allocate(len, capacity - len)
            .ctx(IoOp::Preallocate, path)?;
    }
    file.set_len(capacity).ctx(IoOp::Preallocate, path)?;
    let map = file.map_mut(capacity).ctx(IoOp::Map, path)?;
    if (map.raw().len() as u64) < capacity {
        return Err(StorageError::io(
            IoOp::Map,
            path,
            std::io::Error::other("the backend mapped less than the index's capacity"),
        ));
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::backend::RealBackend;

    fn real() -> Arc<dyn Backend> {
        Arc::new(RealBackend)
    }

    #[test]
    fn an_index_starts_small_and_grows_by_doubling_up_to_its_maximum() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("i.index");
        let mut index = IndexFile::create(&real(), &path, 8, 64 << 10).unwrap();
        assert_eq!(index.allocated_bytes(), INITIAL_BYTES as usize);
        let mut pushed = 0u64;
        while index.push(&pushed.to_be_bytes()) {
            pushed += 1;
        }
        assert_eq!(pushed, (64 << 10) / 8, "full exactly at the maximum");
        assert!(index.is_full());
        assert_eq!(index.allocated_bytes(), 64 << 10);
        for i in 0..pushed {
            assert_eq!(index.entry(i as usize).unwrap(), i.to_be_bytes());
        }
        index.seal(Durability::Now).unwrap();
        assert_eq!(index.len(), pushed as usize);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 64 << 10);
    }

    #[test]
    fn a_reopened_index_keeps_its_entries_and_grows_from_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("i.index");
        let mut index = IndexFile::create(&real(), &path, 12, 1 << 20).unwrap();
        for i in 0..1000u32 {
            assert!(index.push(&[i.to_be_bytes(), [0; 4], [1; 4]].concat()));
        }
        index.seal(Durability::Now).unwrap();
        let mut index = index.into_writable(&real(), 1 << 20).unwrap().unwrap();
        assert_eq!(index.len(), 1000);
        assert!(index.push(&[7u8; 12]));
        assert_eq!(index.entry(999).unwrap()[..4], 999u32.to_be_bytes());
        assert_eq!(index.entry(1000).unwrap(), [7u8; 12]);
    }
}
