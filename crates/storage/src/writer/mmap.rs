//! The mmap writer: the segment is preallocated to its full capacity and mapped shared; an
//! append is a `memcpy` into the mapping and a flush is `msync` of the written range.
//!
//! The file is extended to its capacity with a sparse `set_len`; blocks are allocated only a
//! window ahead of the writer (by the prefault thread, see `prefault`), so they come contiguously
//! and in order, as for `write()`, and a fresh segment does not claim its full size. The writer
//! never stores into a page that has not been populated with `MADV_POPULATE_WRITE` first: on a
//! full disk a plain store into an unbacked page raises SIGBUS and kills the process, while a
//! failed populate is an ordinary error returned before anything is acknowledged.
//!
//! Pages written here and pages `sendfile` reads are the same page-cache pages, so readers of the
//! file see appended bytes without any extra step.

use std::io;
use std::sync::Arc;

use super::prefault::Prefetch;
use super::{RangeSync, SegmentWriter};
use crate::backend::{FileHandle, MapMut};

#[derive(Debug)]
pub struct MmapWriter {
    file: Arc<dyn FileHandle>,
    /// Shared with [`MmapSync`] handles so a flush can `msync` while the writer keeps copying.
    map: Arc<dyn MapMut>,
    capacity: u64,
    /// Keeps pages ahead of the write position faulted in, off the append path.
    prefetch: Prefetch,
}

impl MmapWriter {
    /// Preallocates `file` to `capacity` bytes (keeping its current content) and maps it; the
    /// first write lands at `position`, which may lie below the file's length when the file is
    /// a recycled segment (its pages are then overwritten in place).
    pub fn open(file: Arc<dyn FileHandle>, position: u64, capacity: u64) -> io::Result<Self> {
        let len = file.size()?;
        if position > len {
            return Err(io::Error::other(format!(
                "writer position {position} is past the end of the file ({len} bytes)"
            )));
        }
        if len < capacity {
            file.set_len(capacity)?;
        }
        let capacity = capacity.max(len);
        let map = file.map_mut(capacity)?;
        if (map.raw().len() as u64) < capacity {
            return Err(io::Error::other(format!(
                "the backend mapped {} bytes of a {capacity}-byte segment",
                map.raw().len()
            )));
        }
        let prefetch = if populate_supported(map.as_ref(), position, capacity)? {
            Prefetch::new(map.clone(), file.clone(), position, capacity)
        } else {
            // Old kernel: back every page with fallocate instead, so plain stores cannot fault
            // on a full disk.
            if capacity > position {
                file.allocate(position, capacity - position)?;
            }
            Prefetch::disabled(map.clone(), file.clone(), capacity)
        };
        if !prefetch.is_enabled() {
            tracing::debug!("MADV_POPULATE_WRITE unsupported; segment preallocated with fallocate");
        }
        Ok(MmapWriter {
            file,
            prefetch,
            map,
            capacity,
        })
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
        self.prefetch.ensure(end)?;
        let mut at = position as usize;
        for part in parts {
            // SAFETY: `at + part.len() <= end <= capacity`, at most the mapping's length (checked
            // in `open`), so the
            // destination lies inside the mapping, which stays alive while `self.map` does. The
            // file is `capacity` long and `prefetch.ensure(end)` above populated every page up to
            // `end`, so the store cannot fault on an unbacked page (no SIGBUS on a full disk).
            // `&mut self` makes this the only writer, and the log
            // only writes past the committed end, which no reader looks at, so no one reads these
            // bytes concurrently. The source is a distinct heap buffer: no overlap.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    part.as_ptr(),
                    self.map.raw().as_mut_ptr().add(at),
                    part.len(),
                );
            }
            at += part.len();
        }
        debug_assert_eq!(at as u64, end);
        self.prefetch.advance(end);
        Ok(())
    }

    fn syncer(&self) -> Arc<dyn RangeSync> {
        Arc::new(MmapSync(self.map.clone()))
    }

    fn seal(self: Box<Self>, len: u64) -> io::Result<()> {
        let file = self.file.clone();
        self.seal_unsynced(len)?;
        // The cut must be durable before anything (a recovery point past this segment) relies
        // on it: a lost cut would bring back a tail of zeros.
        file.sync_all()
    }

    fn seal_unsynced(self: Box<Self>, len: u64) -> io::Result<()> {
        let MmapWriter {
            file,
            map,
            prefetch,
            ..
        } = *self;
        drop(prefetch); // cancels population still queued for this segment
        // A concurrent flush may still hold the mapping; it only touches bytes below `len`.
        drop(map);
        file.set_len(len)
    }
}

/// Whether the kernel knows `MADV_POPULATE_WRITE`, asked once per process by populating the
/// page at `position` (the first one the writer will touch): probing every segment would cost a
/// page allocation per partition at start. A full disk during the probe is an error here.
fn populate_supported(map: &dyn MapMut, position: u64, capacity: u64) -> io::Result<bool> {
    static SUPPORTED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if let Some(&known) = SUPPORTED.get() {
        return Ok(known);
    }
    if position >= capacity {
        return Ok(true);
    }
    let len = usize::try_from((capacity - position).min(4096)).map_err(io::Error::other)?;
    let from = usize::try_from(position).map_err(io::Error::other)?;
    let supported = match map.populate(from, len) {
        Ok(()) => true,
        Err(e) if e.raw_os_error() == Some(nix::libc::EINVAL) => false,
        Err(e) if e.raw_os_error() == Some(nix::libc::EFAULT) => {
            return Err(io::Error::from_raw_os_error(nix::libc::ENOSPC));
        }
        Err(e) => return Err(e),
    };
    Ok(*SUPPORTED.get_or_init(|| supported))
}

#[derive(Debug)]
struct MmapSync(Arc<dyn MapMut>);

impl RangeSync for MmapSync {
    fn sync(&self, start: u64, end: u64) -> io::Result<()> {
        if end <= start {
            return Ok(());
        }
        let start = usize::try_from(start).map_err(io::Error::other)?;
        let len = usize::try_from(end).map_err(io::Error::other)? - start;
        self.0.flush(start, len)
    }
}
