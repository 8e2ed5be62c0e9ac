//! How bytes reach the active segment's `.log` file.
//!
//! The log decides *what* to write and *where*; a [`SegmentWriter`] only performs it. Keeping the
//! strategy behind this narrow trait lets one test suite run against the mmap writer and the
//! plain `pwrite` writer, and lets tests plug in writers that fail on purpose.

mod file;
mod mmap;
mod prefault;

use std::fmt::Debug;
use std::io;
use std::path::Path;
use std::sync::Arc;

pub use file::FileWriter;
pub use mmap::MmapWriter;

use crate::backend::FileHandle;
use crate::config::WriteMode;

/// Writes into one segment's `.log` file. Exactly one writer exists per active segment and only
/// the log's append path (which holds the log's write lock) calls it.
pub trait SegmentWriter: Send + Sync + Debug {
    /// Writes `parts` back to back starting at `position`. The caller guarantees the range is
    /// past every byte a reader may look at.
    fn write(&mut self, position: u64, parts: &[&[u8]]) -> io::Result<()>;

    /// A handle that makes written ranges durable without holding the writer, so a group-commit
    /// flush can run while appends continue.
    fn syncer(&self) -> Arc<dyn RangeSync>;

    /// Ends writing: the file is cut to `len` bytes (dropping any preallocated tail) and any
    /// mapping is released, and the cut is made durable. The caller syncs the data first if it
    /// needs it durable.
    fn seal(self: Box<Self>, len: u64) -> io::Result<()>;

    /// [`SegmentWriter::seal`] without making the cut durable: for closing many logs at once,
    /// where one file-system sync afterwards replaces a sync per file. By default it seals.
    fn seal_unsynced(self: Box<Self>, len: u64) -> io::Result<()> {
        self.seal(len)
    }
}

/// Makes `[start, end)` of a segment file durable (`msync` or `fdatasync`).
pub trait RangeSync: Send + Sync + Debug {
    fn sync(&self, start: u64, end: u64) -> io::Result<()>;
}

/// Opens a writer over a segment file (a handle of the log's [`crate::backend::Backend`], so
/// every operation of the writer goes through the backend too). The log calls it when a segment becomes active (created
/// or reopened); the first write will land at `position` (the end of the data: 0 for a new
/// segment, even when its file is a recycled one still holding an older segment's bytes), and
/// `capacity` is the size the segment may grow to.
pub trait WriterFactory: Send + Sync + Debug {
    fn open(
        &self,
        file: Arc<dyn FileHandle>,
        path: &Path,
        position: u64,
        capacity: u64,
    ) -> io::Result<Box<dyn SegmentWriter>>;
}

/// The factory for a configured [`WriteMode`].
#[derive(Debug, Clone, Copy)]
pub struct DefaultWriterFactory(pub WriteMode);

impl WriterFactory for DefaultWriterFactory {
    fn open(
        &self,
        file: Arc<dyn FileHandle>,
        _path: &Path,
        position: u64,
        capacity: u64,
    ) -> io::Result<Box<dyn SegmentWriter>> {
        Ok(match self.0 {
            WriteMode::Mmap => Box::new(MmapWriter::open(file, position, capacity)?),
            WriteMode::Write => Box::new(FileWriter::new(file)),
        })
    }
}
