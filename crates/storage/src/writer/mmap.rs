//! The mmap writer: the segment is preallocated to its full capacity and mapped shared; an
//! append is a `memcpy` into the mapping and a flush is `msync` of the written range.
//!
//! Preallocation uses `posix_fallocate` rather than a sparse `set_len`: on a full disk a store
//! into a sparse mapping raises SIGBUS and kills the process, while a failed `fallocate` is an
//! ordinary error returned before anything is acknowledged.
//!
//! Pages written here and pages `sendfile` reads are the same page-cache pages, so readers of the
//! file see appended bytes without any extra step.

use std::fs::File;
use std::io;
use std::sync::Arc;

use memmap2::{Advice, MmapOptions, MmapRaw};

/// How far ahead of the write position pages are faulted in, in one `madvise` call. A page
/// fault per 4 KiB page is what makes first writes into a fresh mapping slower than `write()`;
/// populating a few MiB at once does the same work without a trap per page.
const PREFAULT_CHUNK: u64 = 8 << 20;

use super::{RangeSync, SegmentWriter};

#[derive(Debug)]
pub struct MmapWriter {
    file: Arc<File>,
    /// Shared with [`MmapSync`] handles so a flush can `msync` while the writer keeps copying.
    map: Arc<MmapRaw>,
    capacity: u64,
    /// Bytes from the start of the mapping already faulted in writable.
    populated: u64,
}

impl MmapWriter {
    /// Preallocates `file` to `capacity` bytes (keeping its current content) and maps it.
    pub fn open(file: Arc<File>, capacity: u64) -> io::Result<Self> {
        let len = file.metadata()?.len();
        if len < capacity {
            let offset = i64::try_from(len).map_err(io::Error::other)?;
            let extra = i64::try_from(capacity - len).map_err(io::Error::other)?;
            nix::fcntl::posix_fallocate(&*file, offset, extra).map_err(io::Error::from)?;
        }
        let capacity = capacity.max(len);
        let map_len = usize::try_from(capacity).map_err(io::Error::other)?;
        let map = MmapOptions::new().len(map_len).map_raw(&*file)?;
        Ok(MmapWriter {
            file,
            map: Arc::new(map),
            capacity,
            populated: 0,
        })
    }
}

impl MmapWriter {
    /// Faults in the pages up to `end` and a chunk beyond. Failure is harmless (the copy then
    /// faults page by page), so it is only logged.
    fn prefault(&mut self, end: u64) {
        if end <= self.populated {
            return;
        }
        let to = end.max(self.populated + PREFAULT_CHUNK).min(self.capacity);
        let (from, len) = (self.populated as usize, (to - self.populated) as usize);
        if let Err(error) = self.map.advise_range(Advice::PopulateWrite, from, len) {
            tracing::debug!(%error, from, len, "prefaulting the segment mapping failed");
        }
        self.populated = to;
    }
}

impl SegmentWriter for MmapWriter {
    fn write(&mut self, position: u64, parts: &[&[u8]]) -> io::Result<()> {
        let total: u64 = parts.iter().map(|p| p.len() as u64).sum();
        let end = position
            .checked_add(total)
            .filter(|end| *end <= self.capacity)
            .ok_or_else(|| {
                io::Error::other(format!(
                    "write of {total} bytes at {position} exceeds the mapped capacity {}",
                    self.capacity
                ))
            })?;
        self.prefault(end);
        let mut at = position as usize;
        for part in parts {
            // SAFETY: `at + part.len() <= end <= capacity`, the mapping's length, so the
            // destination lies inside the mapping, which stays alive while `self.map` does. The
            // file was preallocated to `capacity` with fallocate, so the store cannot fault on a
            // hole (no SIGBUS on a full disk). `&mut self` makes this the only writer, and the log
            // only writes past the committed end, which no reader looks at, so no one reads these
            // bytes concurrently. The source is a distinct heap buffer: no overlap.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    part.as_ptr(),
                    self.map.as_mut_ptr().add(at),
                    part.len(),
                );
            }
            at += part.len();
        }
        debug_assert_eq!(at as u64, end);
        Ok(())
    }

    fn syncer(&self) -> Arc<dyn RangeSync> {
        Arc::new(MmapSync(self.map.clone()))
    }

    fn seal(self: Box<Self>, len: u64) -> io::Result<()> {
        let MmapWriter { file, map, .. } = *self;
        // A concurrent flush may still hold the mapping; it only touches bytes below `len`.
        drop(map);
        file.set_len(len)
    }
}

#[derive(Debug)]
struct MmapSync(Arc<MmapRaw>);

impl RangeSync for MmapSync {
    fn sync(&self, start: u64, end: u64) -> io::Result<()> {
        if end <= start {
            return Ok(());
        }
        let start = usize::try_from(start).map_err(io::Error::other)?;
        let len = usize::try_from(end).map_err(io::Error::other)? - start;
        self.0.flush_range(start, len)
    }
}
