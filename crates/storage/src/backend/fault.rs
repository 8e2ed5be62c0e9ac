//! A test backend that fails chosen operations: the Nth operation of a kind fails with the
//! errno the test picked (EIO for a broken disk, ENOSPC for a full one), once or from then on.
//!
//! It wraps another backend (the real one over a temporary directory), counts every operation
//! by [`OpKind`], and hands out handles and mappings that count and fail the same way. Tests
//! then assert what the log promises for that failure: which errors are sticky, that nothing
//! acknowledged is lost, that reads below the high watermark keep working.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use memmap2::{Mmap, MmapRaw};

use super::{Backend, FileHandle, MapMut};

/// The operations the injector tells apart, one per method of the backend traits (a few
/// read-only queries share [`OpKind::Stat`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OpKind {
    CreateDir,
    Open,
    ListDir,
    /// `exists`, `changed_ms`, `size`, `next_data`.
    Stat,
    Rename,
    Remove,
    RemoveDir,
    SyncDir,
    /// `syncfs` (the batched close).
    SyncFileSystem,
    Read,
    Write,
    SetLen,
    Allocate,
    /// The prefault thread's block allocation ahead of an mmap writer (background, timing
    /// dependent: count it, but do not aim at its Nth call).
    AllocateAhead,
    SyncData,
    SyncAll,
    MapMut,
    MapRead,
    /// `MADV_POPULATE_WRITE` of a writable mapping (by the prefault thread and by the writer
    /// catching up with it: timing dependent, like `AllocateAhead`).
    Populate,
    /// `msync` of a writable mapping's range.
    Flush,
}

#[derive(Debug, Clone, Copy)]
struct Fault {
    kind: OpKind,
    /// Fails the operation of `kind` whose count (from zero, since the backend was made) is
    /// this, or every later one too when `persistent`.
    at: u64,
    errno: i32,
    persistent: bool,
}

#[derive(Debug, Default)]
struct FaultState {
    counts: HashMap<OpKind, u64>,
    faults: Vec<Fault>,
    injected: u64,
}

/// See the module documentation. Clones share counts and faults.
#[derive(Debug, Clone)]
pub struct FaultBackend {
    inner: Arc<dyn Backend>,
    state: Arc<Mutex<FaultState>>,
}

impl FaultBackend {
    pub fn new(inner: Arc<dyn Backend>) -> Self {
        FaultBackend {
            inner,
            state: Arc::default(),
        }
    }

    /// The injector as the trait object a log is opened with.
    pub fn shared(&self) -> Arc<dyn Backend> {
        Arc::new(self.clone())
    }

    /// Fails the `nth` operation of `kind` from now on (0 is the next one), once.
    pub fn fail_nth(&self, kind: OpKind, nth: u64, errno: i32) {
        self.add(kind, nth, errno, false);
    }

    /// Fails every operation of `kind` from the `nth` one from now on.
    pub fn fail_from(&self, kind: OpKind, nth: u64, errno: i32) {
        self.add(kind, nth, errno, true);
    }

    fn add(&self, kind: OpKind, nth: u64, errno: i32, persistent: bool) {
        let mut state = self.lock();
        let at = state.counts.get(&kind).copied().unwrap_or(0) + nth;
        state.faults.push(Fault {
            kind,
            at,
            errno,
            persistent,
        });
    }

    /// Removes every planned fault (counting goes on).
    pub fn heal(&self) {
        self.lock().faults.clear();
    }

    /// How many operations of `kind` ran (failed ones included).
    pub fn count(&self, kind: OpKind) -> u64 {
        self.lock().counts.get(&kind).copied().unwrap_or(0)
    }

    /// How many operations failed on purpose so far.
    pub fn injected(&self) -> u64 {
        self.lock().injected
    }

    fn lock(&self) -> MutexGuard<'_, FaultState> {
        lock(&self.state)
    }

    fn check(&self, kind: OpKind) -> io::Result<()> {
        check(&self.state, kind)
    }
}

fn lock(state: &Mutex<FaultState>) -> MutexGuard<'_, FaultState> {
    // Only counters: a panic while holding the lock leaves nothing half-done.
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// Counts one operation of `kind` and fails it if a fault says so.
fn check(state: &Mutex<FaultState>, kind: OpKind) -> io::Result<()> {
    let mut state = lock(state);
    let count = state.counts.entry(kind).or_insert(0);
    let index = *count;
    *count += 1;
    let hit = state
        .faults
        .iter()
        .find(|f| f.kind == kind && (index == f.at || (f.persistent && index > f.at)));
    match hit.map(|f| f.errno) {
        Some(errno) => {
            state.injected += 1;
            Err(io::Error::from_raw_os_error(errno))
        }
        None => Ok(()),
    }
}

impl Backend for FaultBackend {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        self.check(OpKind::CreateDir)?;
        self.inner.create_dir_all(dir)
    }

    fn open(&self, path: &Path) -> io::Result<Arc<dyn FileHandle>> {
        self.check(OpKind::Open)?;
        let inner = self.inner.open(path)?;
        Ok(self.wrap(inner))
    }

    fn open_read(&self, path: &Path) -> io::Result<Arc<dyn FileHandle>> {
        self.check(OpKind::Open)?;
        let inner = self.inner.open_read(path)?;
        Ok(self.wrap(inner))
    }

    fn list_dir(&self, dir: &Path) -> io::Result<Vec<OsString>> {
        self.check(OpKind::ListDir)?;
        self.inner.list_dir(dir)
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        self.check(OpKind::Stat)?;
        self.inner.exists(path)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.check(OpKind::Rename)?;
        self.inner.rename(from, to)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.check(OpKind::Remove)?;
        self.inner.remove_file(path)
    }

    fn remove_dir_all(&self, dir: &Path) -> io::Result<()> {
        self.check(OpKind::RemoveDir)?;
        self.inner.remove_dir_all(dir)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.check(OpKind::SyncDir)?;
        self.inner.sync_dir(dir)
    }

    fn sync_file_system(&self, dir: &Path) -> io::Result<()> {
        self.check(OpKind::SyncFileSystem)?;
        self.inner.sync_file_system(dir)
    }

    fn changed_ms(&self, path: &Path) -> io::Result<i64> {
        self.check(OpKind::Stat)?;
        self.inner.changed_ms(path)
    }
}

impl FaultBackend {
    fn wrap(&self, inner: Arc<dyn FileHandle>) -> Arc<dyn FileHandle> {
        Arc::new(FaultFile {
            inner,
            state: self.state.clone(),
        })
    }
}

#[derive(Debug)]
struct FaultFile {
    inner: Arc<dyn FileHandle>,
    state: Arc<Mutex<FaultState>>,
}

impl FileHandle for FaultFile {
    fn file(&self) -> &Arc<File> {
        self.inner.file()
    }

    fn size(&self) -> io::Result<u64> {
        check(&self.state, OpKind::Stat)?;
        self.inner.size()
    }

    fn read_at(&self, buf: &mut [u8], position: u64) -> io::Result<usize> {
        check(&self.state, OpKind::Read)?;
        self.inner.read_at(buf, position)
    }

    fn write_all_at(&self, buf: &[u8], position: u64) -> io::Result<()> {
        check(&self.state, OpKind::Write)?;
        self.inner.write_all_at(buf, position)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        check(&self.state, OpKind::SetLen)?;
        self.inner.set_len(len)
    }

    fn allocate(&self, offset: u64, len: u64) -> io::Result<()> {
        check(&self.state, OpKind::Allocate)?;
        self.inner.allocate(offset, len)
    }

    fn allocate_ahead(&self, offset: u64, len: u64) -> io::Result<()> {
        check(&self.state, OpKind::AllocateAhead)?;
        self.inner.allocate_ahead(offset, len)
    }

    fn next_data(&self, from: u64) -> io::Result<Option<u64>> {
        check(&self.state, OpKind::Stat)?;
        self.inner.next_data(from)
    }

    fn sync_data(&self) -> io::Result<()> {
        check(&self.state, OpKind::SyncData)?;
        self.inner.sync_data()
    }

    fn sync_all(&self) -> io::Result<()> {
        check(&self.state, OpKind::SyncAll)?;
        self.inner.sync_all()
    }

    fn map_mut(&self, len: u64) -> io::Result<Arc<dyn MapMut>> {
        check(&self.state, OpKind::MapMut)?;
        let inner = self.inner.map_mut(len)?;
        Ok(Arc::new(FaultMap {
            inner,
            state: self.state.clone(),
        }))
    }

    fn map_read(&self) -> io::Result<Mmap> {
        check(&self.state, OpKind::MapRead)?;
        self.inner.map_read()
    }
}

#[derive(Debug)]
struct FaultMap {
    inner: Arc<dyn MapMut>,
    state: Arc<Mutex<FaultState>>,
}

impl MapMut for FaultMap {
    fn raw(&self) -> &MmapRaw {
        self.inner.raw()
    }

    fn populate(&self, from: usize, len: usize) -> io::Result<()> {
        check(&self.state, OpKind::Populate)?;
        self.inner.populate(from, len)
    }

    fn flush(&self, from: usize, len: usize) -> io::Result<()> {
        check(&self.state, OpKind::Flush)?;
        self.inner.flush(from, len)
    }
}
