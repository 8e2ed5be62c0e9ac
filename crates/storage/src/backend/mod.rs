//! Every file operation the storage performs, behind one narrow seam.
//!
//! The log decides what to do; a [`Backend`] (directory-level operations) and the
//! [`FileHandle`]s it opens (file-level operations) do it. [`RealBackend`] is the file system
//! through std, nix and memmap2, and adds nothing to the append path: the active segment is
//! mapped once per segment ([`FileHandle::map_mut`]) and an append stays one `memcpy` into that
//! mapping. Tests substitute backends that wrap the real one over a temporary directory:
//! [`FaultBackend`] fails the Nth operation of a kind, [`CrashBackend`] keeps a durable image of
//! what was synced and can materialise it as a power loss would leave it.
//!
//! What is not behind the seam: the `sendfile` of a fetch reads the segment's real `File`
//! ([`FileHandle::file`]), and [`crate::FileSlice::read_to_bytes`] reads it too. A backend must
//! therefore keep a real file underneath every handle; it may only simulate durability.

mod crash;
mod fault;
mod real;

use std::ffi::OsString;
use std::fmt::Debug;
use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::Arc;

use memmap2::{Mmap, MmapRaw};

pub use crash::{CrashBackend, CrashImages, Image};
pub use fault::{FaultBackend, OpKind};
pub use real::{RealBackend, RealFile, RealMap};

/// Directory-level operations, and opening files.
pub trait Backend: Send + Sync + Debug {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// Opens `path` for reading and writing, creating it empty if it does not exist.
    fn open(&self, path: &Path) -> io::Result<Arc<dyn FileHandle>>;
    /// Opens an existing file for reading only (`NotFound` if there is none).
    fn open_read(&self, path: &Path) -> io::Result<Arc<dyn FileHandle>>;
    /// The names of the entries of `dir`, in no particular order.
    fn list_dir(&self, dir: &Path) -> io::Result<Vec<OsString>>;
    fn exists(&self, path: &Path) -> io::Result<bool>;
    /// Replaces `to` if it exists. Durable only after [`Backend::sync_dir`] of the directory.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Durable only after [`Backend::sync_dir`]; open handles keep reading the file.
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    fn remove_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// Makes the creations, renames and removals of entries of `dir` durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    /// Makes everything on the file system holding `dir` durable, contents and names
    /// (`syncfs`): one call instead of a sync per file, for closing many logs at once.
    fn sync_file_system(&self, dir: &Path) -> io::Result<()>;
    /// When the file's inode last changed (a rename sets it), in milliseconds since the epoch.
    fn changed_ms(&self, path: &Path) -> io::Result<i64>;
}

/// File-level operations on one open file.
pub trait FileHandle: Send + Sync + Debug {
    /// The real file underneath, for `sendfile` and for readers outside the storage. Never
    /// written through. A backend keeps exactly one reference to it per open file and clones
    /// it for no one else: the storage tells whether a reader still holds a removed segment
    /// by whether this `Arc` outlives the handle (see `spare` and `segment::file`).
    fn file(&self) -> &Arc<File>;
    /// The file's current length (named so to stay clear of `len`/`is_empty` pairs).
    fn size(&self) -> io::Result<u64>;
    /// Reads at `position`; fewer bytes than `buf` holds only at the end of the file.
    fn read_at(&self, buf: &mut [u8], position: u64) -> io::Result<usize>;
    fn write_all_at(&self, buf: &[u8], position: u64) -> io::Result<()>;
    fn set_len(&self, len: u64) -> io::Result<()>;
    /// Allocates real blocks for `[offset, offset + len)`, extending the file if that range
    /// passes its end (`posix_fallocate`): later stores through a mapping cannot fault there.
    fn allocate(&self, offset: u64, len: u64) -> io::Result<()>;
    /// Allocates blocks for `[offset, offset + len)` without changing the file's length
    /// (`fallocate` with `KEEP_SIZE`). Only an optimisation; the prefault thread calls it.
    fn allocate_ahead(&self, offset: u64, len: u64) -> io::Result<()>;
    /// The first position at or after `from` that holds data rather than a hole
    /// (`SEEK_DATA`); `None` when only holes remain.
    fn next_data(&self, from: u64) -> io::Result<Option<u64>>;
    /// `fdatasync`: the data written so far, and the length, are durable.
    fn sync_data(&self) -> io::Result<()>;
    /// `fsync`: data, length and the rest of the inode are durable.
    fn sync_all(&self) -> io::Result<()>;
    /// Maps the first `len` bytes of the file shared and writable. The caller keeps the file
    /// at least `len` long while the mapping lives.
    fn map_mut(&self, len: u64) -> io::Result<Arc<dyn MapMut>>;
    /// Maps the whole file read only. The caller never writes the file while it is mapped.
    fn map_read(&self) -> io::Result<Mmap>;

    /// Reads exactly `buf.len()` bytes at `position`.
    fn read_exact_at(&self, mut buf: &mut [u8], mut position: u64) -> io::Result<()> {
        while !buf.is_empty() {
            match self.read_at(buf, position) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => {
                    buf = &mut buf[n..];
                    position += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// A shared, writable mapping of a file. Stores go straight into [`MapMut::raw`], without a
/// call into the backend; a backend sees only what is made durable ([`MapMut::flush`]) and
/// what is faulted in ([`MapMut::populate`]).
pub trait MapMut: Send + Sync + Debug {
    /// The mapping. Its length is at least what [`FileHandle::map_mut`] was asked for.
    fn raw(&self) -> &MmapRaw;
    /// Faults in `[from, from + len)` for writing (`MADV_POPULATE_WRITE`): an error, not a
    /// SIGBUS, when the file system cannot back a page.
    fn populate(&self, from: usize, len: usize) -> io::Result<()>;
    /// Makes `[from, from + len)` durable, and the file's length with it (`msync`, which Linux
    /// runs as a data sync of the range).
    fn flush(&self, from: usize, len: usize) -> io::Result<()>;
}
