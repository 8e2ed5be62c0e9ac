//! A file of fixed-size entries, mapped for reading and (while active) for appending.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use memmap2::{Mmap, MmapMut};

use crate::error::{IoContext, IoOp, Result};

#[derive(Debug)]
enum Mapping {
    /// Active: preallocated to capacity, entries appended in place.
    Writable(MmapMut),
    /// Sealed: exactly `entries * entry_size` bytes, read only.
    ReadOnly(Mmap),
}

#[derive(Debug)]
pub(crate) struct IndexFile {
    path: PathBuf,
    file: File,
    map: Mapping,
    entry_size: usize,
    entries: usize,
}

impl IndexFile {
    /// Opens (creating if needed) an index for appending, keeping its current entries.
    /// Returns `Ok(None)` when the file's length is not a whole number of entries: such an index
    /// disagrees with itself and the caller rebuilds it.
    pub(crate) fn open_writable(
        path: &Path,
        entry_size: usize,
        max_bytes: u64,
    ) -> Result<Option<Self>> {
        let file = open_rw(path)?;
        let len = file.metadata().ctx(IoOp::Open, path)?.len();
        if len % entry_size as u64 != 0 || len > max_bytes {
            return Ok(None);
        }
        let entries = (len / entry_size as u64) as usize;
        let capacity = max_bytes - max_bytes % entry_size as u64;
        // Real blocks, not a sparse extension: entries are stored through the mapping, and a
        // store into an unbacked page on a full disk would raise SIGBUS.
        if capacity > len {
            let (from, extra) = (len as i64, (capacity - len) as i64);
            nix::fcntl::posix_fallocate(&file, from, extra)
                .map_err(std::io::Error::from)
                .ctx(IoOp::Preallocate, path)?;
        }
        file.set_len(capacity).ctx(IoOp::Preallocate, path)?;
        // SAFETY: the index files belong to this log, which holds the partition directory; no
        // other process maps or truncates them while the log is open, and this mapping is the
        // only writer of the file.
        let map = unsafe { MmapMut::map_mut(&file) }.ctx(IoOp::Map, path)?;
        Ok(Some(IndexFile {
            path: path.to_owned(),
            file,
            map: Mapping::Writable(map),
            entry_size,
            entries,
        }))
    }

    /// Creates an empty index for appending, discarding whatever the file held.
    pub(crate) fn create(path: &Path, entry_size: usize, max_bytes: u64) -> Result<Self> {
        let file = open_rw(path)?;
        file.set_len(0).ctx(IoOp::Truncate, path)?;
        drop(file);
        let index = Self::open_writable(path, entry_size, max_bytes)?;
        index.ok_or_else(|| {
            crate::error::StorageError::InvalidConfig(format!(
                "index size {max_bytes} cannot hold entries of {entry_size} bytes"
            ))
        })
    }

    /// Opens a sealed index read only. `Ok(None)` when its length is not a whole number of
    /// entries.
    pub(crate) fn open_sealed(path: &Path, entry_size: usize) -> Result<Option<Self>> {
        let file = match File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(crate::error::StorageError::io(IoOp::Open, path, e)),
        };
        let len = file.metadata().ctx(IoOp::Open, path)?.len();
        if len % entry_size as u64 != 0 {
            return Ok(None);
        }
        // SAFETY: as in `open_writable`; sealed indexes are never written again while mapped
        // (a rebuild replaces the `IndexFile`, dropping this mapping first).
        let map = unsafe { Mmap::map(&file) }.ctx(IoOp::Map, path)?;
        Ok(Some(IndexFile {
            path: path.to_owned(),
            file,
            map: Mapping::ReadOnly(map),
            entry_size,
            entries: (len / entry_size as u64) as usize,
        }))
    }

    /// The same index, writable: kept as it is if it already is, else reopened for appending.
    /// `Ok(None)` as in `open_writable`.
    pub(crate) fn into_writable(self, max_bytes: u64) -> Result<Option<Self>> {
        if matches!(self.map, Mapping::Writable(_)) {
            return Ok(Some(self));
        }
        let IndexFile {
            path,
            file,
            map,
            entry_size,
            ..
        } = self;
        drop(map);
        drop(file);
        Self::open_writable(&path, entry_size, max_bytes)
    }

    pub(crate) fn len(&self) -> usize {
        self.entries
    }

    pub(crate) fn is_full(&self) -> bool {
        match &self.map {
            Mapping::Writable(map) => (self.entries + 1) * self.entry_size > map.len(),
            Mapping::ReadOnly(_) => true,
        }
    }

    pub(crate) fn entry(&self, i: usize) -> Option<&[u8]> {
        if i >= self.entries {
            return None;
        }
        let bytes: &[u8] = match &self.map {
            Mapping::Writable(map) => map,
            Mapping::ReadOnly(map) => map,
        };
        bytes.get(i * self.entry_size..(i + 1) * self.entry_size)
    }

    /// Appends one entry. Returns false (and writes nothing) when the index is full or sealed.
    pub(crate) fn push(&mut self, entry: &[u8]) -> bool {
        debug_assert_eq!(entry.len(), self.entry_size);
        let start = self.entries * self.entry_size;
        let Mapping::Writable(map) = &mut self.map else {
            return false;
        };
        match map.get_mut(start..start + self.entry_size) {
            Some(slot) => {
                slot.copy_from_slice(entry);
                self.entries += 1;
                true
            }
            None => false,
        }
    }

    /// Cuts the file to its entries and remaps it read only.
    pub(crate) fn seal(self) -> Result<Self> {
        let IndexFile {
            path,
            file,
            map,
            entry_size,
            entries,
        } = self;
        if let Mapping::Writable(map) = &map {
            map.flush_range(0, entries * entry_size)
                .ctx(IoOp::Sync, &path)?;
        }
        drop(map);
        file.set_len((entries * entry_size) as u64)
            .ctx(IoOp::Truncate, &path)?;
        file.sync_all().ctx(IoOp::Sync, &path)?;
        drop(file);
        match Self::open_sealed(&path, entry_size)? {
            Some(index) => Ok(index),
            None => Err(crate::error::StorageError::io(
                IoOp::Open,
                &path,
                std::io::Error::from(std::io::ErrorKind::NotFound),
            )),
        }
    }
}

fn open_rw(path: &Path) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .ctx(IoOp::Open, path)
}
