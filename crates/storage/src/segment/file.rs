//! A segment's `.log` file: held open while the segment is active (or being loaded), opened on
//! demand through the [`FileCache`] once it is sealed.
//!
//! Retention's recycling must know whether anything outside the storage still holds the real
//! file (a fetch sending a slice): such a reader keeps the `Arc<File>` of whichever opening it
//! got, possibly one the cache has since evicted while a later read opened the file again. So the
//! segment remembers a `Weak` of every opening that may still be alive, and [`SegmentFile::in_use`]
//! first lets go of its own references (the held handle, the cache entry) and then asks whether
//! any of them is still referenced.

use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex, Weak};

use crate::backend::{Backend, FileHandle};
use crate::file_cache::FileCache;

#[derive(Debug)]
pub(super) struct SegmentFile {
    /// This segment's key in the cache.
    id: u64,
    cache: FileCache,
    /// `Some` while the segment is active or being loaded: the read-write handle the writer and
    /// recovery use. `None` once sealed and released: reads go through the cache.
    held: Option<Arc<dyn FileHandle>>,
    /// The real files of every opening that may still be referenced (dead ones are pruned at
    /// each opening).
    openings: Mutex<Vec<Weak<File>>>,
}

impl SegmentFile {
    /// A segment file around a handle just opened read-write.
    pub(super) fn held(cache: &FileCache, handle: Arc<dyn FileHandle>) -> SegmentFile {
        let file = SegmentFile {
            id: FileCache::next_id(),
            cache: cache.clone(),
            held: Some(handle),
            openings: Mutex::new(Vec::new()),
        };
        if let Some(handle) = &file.held {
            file.track(handle);
        }
        file
    }

    /// The held read-write handle, opening `path` through `fs` if the segment released it (a
    /// sealed segment being activated again).
    pub(super) fn writable(
        &mut self,
        fs: &dyn Backend,
        path: &Path,
    ) -> io::Result<Arc<dyn FileHandle>> {
        if let Some(handle) = &self.held {
            return Ok(handle.clone());
        }
        drop(self.cache.remove(self.id)); // a read-only opening; reads use the held one now
        let handle = fs.open(path)?;
        self.track(&handle);
        self.held = Some(handle.clone());
        Ok(handle)
    }

    /// A handle to read with: the held one, or the cache's (opening `path` read only through
    /// `fs` on a miss).
    pub(super) fn reader(&self, fs: &dyn Backend, path: &Path) -> io::Result<Arc<dyn FileHandle>> {
        if let Some(handle) = &self.held {
            return Ok(handle.clone());
        }
        self.cache.get_or_open(self.id, || {
            let handle = fs.open_read(path)?;
            self.track(&handle);
            Ok(handle)
        })
    }

    /// Stops holding the file open: a sealed segment's descriptor is the cache's to keep
    /// (`keep_cached`, for a segment just sealed that consumers are about to read) or to reopen
    /// on the next read.
    pub(super) fn release(&mut self, keep_cached: bool) {
        if let Some(handle) = self.held.take()
            && keep_cached
        {
            self.cache.insert(self.id, handle);
        }
    }

    /// Whether anything besides this segment still holds one of its real files. Lets go of the
    /// held handle and the cache entry first, so afterwards the file is open only where a reader
    /// has it. Only for a segment that is being removed.
    pub(super) fn in_use(&mut self) -> bool {
        self.held = None;
        drop(self.cache.remove(self.id));
        self.lock_openings().iter().any(|f| f.strong_count() > 0)
    }

    fn track(&self, handle: &Arc<dyn FileHandle>) {
        let mut openings = self.lock_openings();
        openings.retain(|f| f.strong_count() > 0);
        openings.push(Arc::downgrade(handle.file()));
    }

    fn lock_openings(&self) -> std::sync::MutexGuard<'_, Vec<Weak<File>>> {
        self.openings.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for SegmentFile {
    /// A segment leaving (deleted, recycled, its log closed) takes its cache entry with it,
    /// before its files are removed.
    fn drop(&mut self) {
        drop(self.cache.remove(self.id));
    }
}
