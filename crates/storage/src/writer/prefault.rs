//! Faulting in mapped segment pages ahead of the writer, on a background thread.
//!
//! The first store into each page of a fresh mapping takes a page fault, and the kernel must zero
//! the new page-cache page (the file's preallocated extents read as zeros) before the copy lands.
//! On the append path that zeroing costs as much as the copy itself, and it is what made the mmap
//! writer slower than `write()` (which skips zeroing pages it overwrites whole). Here one shared
//! thread populates pages (`MADV_POPULATE_WRITE`) a window ahead of each active segment's write
//! position, so the append itself finds the pages present and writable and does only the copy.
//!
//! The window grows with what the writer has written (up to [`MAX_AHEAD`]), so a partition that
//! receives little traffic does not pin megabytes of zeroed pages. Populating a page that is
//! already present changes nothing, so a writer that overtakes the thread is merely slower, never
//! wrong. A populated page past the data is a dirty page of zeros (or, in a recycled file, of
//! older batches): recovery stops at either, and sealing cuts the file there.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use crate::backend::{FileHandle, MapMut};

/// The most a segment is populated ahead of its write position.
pub(super) const MAX_AHEAD: u64 = 32 << 20;
/// The least; also the first request for a fresh writer.
pub(super) const MIN_AHEAD: u64 = 64 << 10;
/// One `madvise` call's range, so a cancelled job stops soon.
const CHUNK: usize = 4 << 20;
/// Population works on whole pages; 4 KiB is the smallest page size of the platforms we run on,
/// so rounding down to it never skips a page.
const PAGE: u64 = 4096;

/// A request to populate `[from, to)` of a mapping.
struct Job {
    /// Weak, so a job still queued when its segment is sealed keeps neither the mapping nor the
    /// file alive: retention recycles a segment's file only when nothing else holds it, and a
    /// queued job must not make that depend on the worker's timing.
    map: Weak<dyn MapMut>,
    file: Weak<dyn FileHandle>,
    from: usize,
    to: usize,
    /// Raised to the end of each populated chunk, so the writer knows what it may touch.
    populated: Arc<AtomicU64>,
    /// Set when the segment is sealed: the rest of the job is skipped.
    cancelled: Arc<AtomicBool>,
}

/// The shared worker's queue; started on first use.
fn queue() -> Option<Sender<Job>> {
    static QUEUE: OnceLock<Option<Mutex<Sender<Job>>>> = OnceLock::new();
    let sender = QUEUE.get_or_init(|| {
        let (tx, rx) = channel::<Job>();
        let spawned = std::thread::Builder::new()
            .name("sluice-prefault".into())
            .spawn(move || {
                for job in rx {
                    run(&job);
                }
            });
        match spawned {
            Ok(_) => Some(Mutex::new(tx)),
            Err(error) => {
                tracing::warn!(%error, "cannot start the prefault thread; appends fault pages themselves");
                None
            }
        }
    });
    sender
        .as_ref()
        .map(|tx| tx.lock().unwrap_or_else(|e| e.into_inner()).clone())
}

fn run(job: &Job) {
    let mut at = job.from;
    while at < job.to && !job.cancelled.load(Ordering::Relaxed) {
        let (Some(map), Some(file)) = (job.map.upgrade(), job.file.upgrade()) else {
            return; // the writer is gone
        };
        let len = CHUNK.min(job.to - at);
        allocate_blocks(file.as_ref(), at, len);
        if let Err(error) = map.populate(at, len) {
            // Harmless: the writer faults these pages itself.
            tracing::debug!(%error, from = at, len, "prefaulting a segment mapping failed");
            return;
        }
        let (start, end) = (at as u64, (at + len) as u64);
        at += len;
        // Only contiguous progress counts: if an earlier range failed, the writer must still
        // populate the hole itself (`ensure`) rather than store into unbacked pages.
        let _ = job
            .populated
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |p| {
                (p >= start).then_some(p.max(end))
            });
    }
}

/// Turns the holes of `[at, at + len)` into allocated (unwritten) extents before the range is
/// populated. Populating a hole makes ext4 take a delayed-allocation reservation page by page in
/// its `page_mkwrite` path, and writeback then allocates the blocks; over an unwritten extent the
/// fault only maps the zeroed page, and writeback converts the extent in bulk. In an A/B of 1 GiB
/// produce runs on this project's machines that took broker CPU per GB produced from about 0.65
/// to 0.55 s and acks=1 throughput from about 1.1 to 1.25 GB/s. Only the window ahead of the writer
/// is allocated, never the whole segment: a fresh segment does not claim its full size on disk,
/// and on tmpfs (where fallocate allocates memory) the cost stays bounded by the window. A
/// failure (a full disk, a file system without fallocate) changes nothing: the populate that
/// follows, or the writer's own `ensure`, reports what matters.
fn allocate_blocks(file: &dyn FileHandle, at: usize, len: usize) {
    // KEEP_SIZE (`allocate_ahead`): the segment may have been sealed (cut to its data) since
    // the job was queued; allocating must never make it longer again.
    if let Err(error) = file.allocate_ahead(at as u64, len as u64) {
        tracing::debug!(%error, offset = at, len, "allocating blocks ahead of a segment writer failed");
    }
}

/// Per-writer state: how far population has been requested.
#[derive(Debug)]
pub(super) struct Prefetch {
    map: Arc<dyn MapMut>,
    file: Arc<dyn FileHandle>,
    capacity: u64,
    /// Where this writer started: the window grows with the bytes written since.
    start: u64,
    requested: u64,
    /// End of the pages known to be populated (by the thread or by `ensure`).
    populated: Arc<AtomicU64>,
    cancelled: Arc<AtomicBool>,
    queue: Option<Sender<Job>>,
    /// False on kernels without `MADV_POPULATE_WRITE` (before Linux 5.14): the file is then
    /// fallocated instead and the writer's stores fault pages in themselves.
    enabled: bool,
}

impl Prefetch {
    pub(super) fn new(
        map: Arc<dyn MapMut>,
        file: Arc<dyn FileHandle>,
        position: u64,
        capacity: u64,
    ) -> Prefetch {
        let mut prefetch = Prefetch {
            map,
            file,
            capacity,
            start: position,
            requested: position,
            populated: Arc::new(AtomicU64::new(position - position % PAGE)),
            cancelled: Arc::new(AtomicBool::new(false)),
            queue: queue(),
            enabled: true,
        };
        prefetch.advance(position);
        prefetch
    }

    /// No population at all (see `enabled`).
    pub(super) fn disabled(
        map: Arc<dyn MapMut>,
        file: Arc<dyn FileHandle>,
        capacity: u64,
    ) -> Prefetch {
        Prefetch {
            map,
            file,
            capacity,
            start: 0,
            requested: capacity,
            populated: Arc::new(AtomicU64::new(capacity)),
            cancelled: Arc::new(AtomicBool::new(true)),
            queue: None,
            enabled: false,
        }
    }

    pub(super) fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// Called after each write ending at `end`: when the writer has used half of the window,
    /// asks for the next one.
    pub(super) fn advance(&mut self, end: u64) {
        let ahead = (end - self.start).clamp(MIN_AHEAD, MAX_AHEAD);
        if self.requested >= self.capacity || end + ahead / 2 <= self.requested {
            return;
        }
        let from = self.requested.max(end);
        let to = (end + ahead).min(self.capacity);
        let Some(queue) = &self.queue else {
            return;
        };
        let job = Job {
            map: Arc::downgrade(&self.map),
            file: Arc::downgrade(&self.file),
            from: from as usize,
            to: to as usize,
            populated: self.populated.clone(),
            cancelled: self.cancelled.clone(),
        };
        if queue.send(job).is_ok() {
            self.requested = to;
        }
    }
}

impl Prefetch {
    /// Makes sure every page below `end` is populated before the writer stores into it: a
    /// store into a page the file system cannot back (a full disk) would raise SIGBUS, while
    /// `MADV_POPULATE_WRITE` returns the failure as an error.
    pub(super) fn ensure(&self, end: u64) -> io::Result<()> {
        let populated = self.populated.load(Ordering::Acquire);
        if end <= populated {
            return Ok(());
        }
        let len = usize::try_from(end - populated).map_err(io::Error::other)?;
        let from = usize::try_from(populated).map_err(io::Error::other)?;
        self.map
            .populate(from, len)
            .map_err(explain_populate_error)?;
        self.populated.fetch_max(end, Ordering::Release);
        Ok(())
    }
}

/// `MADV_POPULATE_WRITE` reports "a store here would raise SIGBUS" as `EFAULT`; on a file
/// mapping that means the file system could not back the page, almost always because it is full.
/// Reported as `ENOSPC` so the log classifies it as a full disk.
fn explain_populate_error(error: io::Error) -> io::Error {
    if error.raw_os_error() == Some(nix::libc::EFAULT) {
        io::Error::from_raw_os_error(nix::libc::ENOSPC)
    } else {
        error
    }
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }
}
