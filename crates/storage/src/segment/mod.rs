//! One segment: a `.log` file of batches and its two sparse indexes.
//!
//! A segment is either active (it has a writer and preallocated, writable indexes) or sealed
//! (files cut to their real lengths, indexes mapped read only). Only the log's last segment is
//! active. All mutation happens under the log's write lock; reads use positioned reads on the
//! shared file handle, never the writer's mapping. A sealed segment holds no descriptor: its
//! reads get the file from the log's [`crate::file_cache::FileCache`] (`file`).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use sluice_record::BatchHeader;

use crate::Durability;
use crate::backend::{Backend, FileHandle};
use crate::config::LogConfig;
use crate::error::{IoContext, IoOp, Result, StorageError};
use crate::index::{OffsetIndex, TimeIndex};
use crate::writer::{RangeSync, SegmentWriter, WriterFactory};

mod file;
mod load;
mod lookup;

use file::SegmentFile;

use lookup::indexes_consistent;

/// File name stem of a segment: its base offset as 20 digits, so names sort as offsets do.
pub(crate) fn file_stem(base_offset: i64) -> String {
    format!("{base_offset:020}")
}

pub(crate) fn paths(dir: &Path, base_offset: i64) -> [PathBuf; 3] {
    let stem = file_stem(base_offset);
    [
        dir.join(format!("{stem}.log")),
        dir.join(format!("{stem}.index")),
        dir.join(format!("{stem}.timeindex")),
    ]
}

#[derive(Debug)]
pub(crate) struct Segment {
    pub base_offset: i64,
    /// The backend every file operation of the segment goes through (the log's).
    fs: Arc<dyn Backend>,
    log_path: PathBuf,
    file: SegmentFile,
    /// `Some` while the segment is active.
    writer: Option<Box<dyn SegmentWriter>>,
    /// Bytes of whole, valid batches: the committed end readers may see.
    size: u64,
    /// Offset the next batch appended here would get.
    next_offset: i64,
    /// Largest batch max-timestamp seen, -1 when empty.
    max_timestamp: i64,
    /// When this process created or opened the segment: what age-based roll measures from.
    /// The broker's clock, not batch timestamps, so a producer cannot force a roll per request
    /// with timestamps far apart (a reopened segment's age restarts).
    opened_at: Instant,
    bytes_since_index: u64,
    offset_index: OffsetIndex,
    time_index: TimeIndex,
    /// Whether the indexes passed a full consistency check. Indexes this process built are
    /// known good; indexes read from disk are checked on first use (not at open, so a clean
    /// restart of a large log stays fast) and ignored if they fail.
    indexes_ok: OnceLock<bool>,
}

impl Segment {
    /// Creates a new, empty, active segment (overwriting stray files of the same name). With a
    /// `spare` (see `spare`), the segment's file is that recycled file, renamed: its old bytes
    /// stay until overwritten, past the segment's size, where nothing reads them.
    ///
    /// A failure (a full disk) removes whatever files it created, so nothing is left for a later
    /// roll at another offset to collide with, nor for recovery to mistake for part of the log.
    pub(crate) fn create(
        fs: &Arc<dyn Backend>,
        dir: &Path,
        base_offset: i64,
        config: &LogConfig,
        factory: &dyn WriterFactory,
        spare: Option<&Path>,
    ) -> Result<Segment> {
        Self::create_files(fs, dir, base_offset, config, factory, spare).inspect_err(|_| {
            if let Err(error) = remove_files(fs.as_ref(), paths(dir, base_offset)) {
                tracing::warn!(dir = %dir.display(), base_offset, error = %error, "cannot remove the files of a segment that failed to start");
            }
        })
    }

    fn create_files(
        fs: &Arc<dyn Backend>,
        dir: &Path,
        base_offset: i64,
        config: &LogConfig,
        factory: &dyn WriterFactory,
        spare: Option<&Path>,
    ) -> Result<Segment> {
        let [log_path, index_path, time_path] = paths(dir, base_offset);
        let recycled = spare.is_some_and(|spare| match fs.rename(spare, &log_path) {
            Ok(()) => true,
            Err(error) => {
                tracing::warn!(spare = %spare.display(), %error, "cannot recycle a spare segment file; creating a new one");
                false
            }
        });
        let file = open_log_file(fs.as_ref(), &log_path)?;
        if !recycled {
            file.set_len(0).ctx(IoOp::Truncate, &log_path)?;
        }
        let max_index = config.max_index_bytes;
        let offset_index = OffsetIndex::create(fs, &index_path, base_offset, max_index)?;
        let time_index = TimeIndex::create(fs, &time_path, base_offset, max_index)?;
        let writer = factory
            .open(file.clone(), &log_path, 0, config.segment_bytes)
            .ctx(IoOp::Preallocate, &log_path)?;
        let file = SegmentFile::held(&config.file_cache, file);
        // The new names (or a spare's rename) must be durable before the segment holds flushed
        // data: syncing a file's data does not commit its directory entry. The roll's recovery
        // point checkpoint syncs the directory too, but it may fail and only warn, which once
        // let a power loss take every batch flushed into the new segment.
        crate::checkpoint::sync_dir(fs.as_ref(), dir)?;
        Ok(Segment {
            base_offset,
            fs: fs.clone(),
            log_path,
            file,
            writer: Some(writer),
            size: 0,
            next_offset: base_offset,
            max_timestamp: -1,
            opened_at: Instant::now(),
            bytes_since_index: 0,
            offset_index,
            time_index,
            indexes_ok: OnceLock::from(true),
        })
    }

    /// Why this segment cannot take a batch of `size` bytes whose header is `header`, if so.
    pub(crate) fn roll_reason(
        &self,
        size: u64,
        header: &BatchHeader,
        config: &LogConfig,
    ) -> Option<&'static str> {
        if self.size == 0 {
            return None;
        }
        if self.size + size > config.segment_bytes {
            return Some("size");
        }
        if self.opened_at.elapsed() > Duration::from_millis(config.segment_ms) {
            return Some("age");
        }
        if self.offset_index.is_full() || self.time_index.is_full() {
            return Some("index full");
        }
        let last = self.next_offset + i64::from(header.last_offset_delta);
        if last - self.base_offset > i64::from(i32::MAX) {
            return Some("offset range");
        }
        None
    }

    /// Copies one validated batch in, giving it `base_offset`. Nothing is committed (visible to
    /// readers) unless the whole write succeeded.
    pub(crate) fn append(
        &mut self,
        batch: &[u8],
        header: &BatchHeader,
        config: &LogConfig,
    ) -> Result<()> {
        let Some(writer) = self.writer.as_mut() else {
            return Err(StorageError::io(
                IoOp::Write,
                &self.log_path,
                std::io::Error::other("segment is sealed"),
            ));
        };
        let base = self.next_offset.to_be_bytes();
        let rest = batch.get(8..).unwrap_or_default();
        // The base offset goes in last. In a recycled file (see `spare`) the bytes being
        // overwritten may be an older batch at this very position, whole and with a valid CRC,
        // which does not cover the base offset: had the base offset landed first, a crash
        // before the rest (between the two writes, or a kill during the copy) would leave that
        // old batch under a live offset, and recovery would take it for data. Written last, a
        // torn batch still has the old base offset, below this segment's, where recovery stops.
        writer
            .write(self.size + base.len() as u64, &[rest])
            .and_then(|()| writer.write(self.size, &[&base]))
            .ctx(IoOp::Write, &self.log_path)?;
        let header = BatchHeader {
            base_offset: self.next_offset,
            ..*header
        };
        self.account_batch(self.size, &header, config);
        Ok(())
    }

    /// Updates sizes, offsets, timestamps and index entries for a batch now at `position`.
    fn account_batch(&mut self, position: u64, header: &BatchHeader, config: &LogConfig) {
        if self.bytes_since_index > config.index_interval_bytes {
            self.offset_index.append(header.last_offset(), position);
            let max_so_far = self.max_timestamp.max(header.max_timestamp);
            self.time_index
                .maybe_append(max_so_far, header.last_offset());
            self.bytes_since_index = 0;
        }
        let size = header.total_size() as u64;
        self.bytes_since_index += size;
        self.size = position + size;
        self.next_offset = header.next_offset();
        self.max_timestamp = self.max_timestamp.max(header.max_timestamp);
    }

    /// Syncs the log bytes and the indexes, cuts every file to its real length and drops the
    /// writer. A sealed segment is immutable. On failure the segment stays in place and
    /// readable: still active if its bytes could not be synced, sealed as far as it got
    /// otherwise; the caller stops writing to the log.
    pub(crate) fn seal(&mut self) -> Result<()> {
        self.seal_with(Durability::Now)
    }

    /// [`Segment::seal`], leaving every sync to the caller with [`Durability::Deferred`].
    pub(crate) fn seal_with(&mut self, durability: Durability) -> Result<()> {
        if durability == Durability::Now {
            match &self.writer {
                Some(writer) => writer.syncer().sync(0, self.size),
                // A segment recovery loaded (no writer) may hold bytes a crashed process left
                // only in the page cache: they must be durable before a recovery point past
                // this segment vouches for them.
                None => self
                    .file
                    .reader(self.fs.as_ref(), &self.log_path)
                    .and_then(|file| file.sync_data()),
            }
            .ctx(IoOp::Sync, &self.log_path)?;
        }
        if let Some(writer) = self.writer.take() {
            match durability {
                Durability::Now => writer.seal(self.size),
                Durability::Deferred => writer.seal_unsynced(self.size),
            }
            .ctx(IoOp::Truncate, &self.log_path)?;
        }
        // A final time-index entry so retention and timestamp lookups see the true maximum
        // (a no-op when the last entry already has it, so a retried seal adds nothing).
        if self.max_timestamp >= 0 && self.next_offset > self.base_offset {
            self.time_index
                .maybe_append(self.max_timestamp, self.next_offset - 1);
        }
        self.offset_index.seal(durability)?;
        self.time_index.seal(durability)?;
        // Sealed: the descriptor is the cache's now, kept open because the segment just sealed
        // is the one consumers catching up read next.
        self.file.release(true);
        Ok(())
    }

    /// Lets go of the descriptor a loaded, sealed segment was opened with: the next read opens
    /// it through the cache (a log of many segments opens holding none of them).
    pub(crate) fn release_file(&mut self) {
        if self.writer.is_none() {
            self.file.release(false);
        }
    }

    pub(crate) fn syncer(&self) -> Option<Arc<dyn RangeSync>> {
        self.writer.as_ref().map(|w| w.syncer())
    }

    pub(crate) fn is_active(&self) -> bool {
        self.writer.is_some()
    }

    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    pub(crate) fn next_offset(&self) -> i64 {
        self.next_offset
    }

    pub(crate) fn max_timestamp(&self) -> i64 {
        self.max_timestamp
    }

    /// A handle to read the segment with: the held one while active, otherwise the cache's
    /// (opened read only through the backend on a miss).
    pub(crate) fn reader(&self) -> Result<Arc<dyn FileHandle>> {
        self.file
            .reader(self.fs.as_ref(), &self.log_path)
            .ctx(IoOp::Open, &self.log_path)
    }

    /// The real file, for slices that `sendfile` sends.
    pub(crate) fn file(&self) -> Result<Arc<File>> {
        Ok(self.reader()?.file().clone())
    }

    pub(crate) fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Keeps this removed segment's log file as the spare `slot` when nothing else holds it (a
    /// fetch may still be sending from it), and deletes its indexes; otherwise deletes it all.
    /// Returns whether the file was recycled.
    pub(crate) fn recycle_or_delete(mut self, slot: Option<&Path>) -> Result<bool> {
        let Some(slot) = slot else {
            self.delete_files()?;
            return Ok(false);
        };
        // A slice being sent holds a real file of the segment (see `FileHandle::file` and
        // `file`); once the segment and the cache let go of theirs, nothing else does, except
        // perhaps the prefault thread for a moment, which only costs this recycle.
        if self.writer.is_some() || self.file.in_use() {
            self.delete_files()?;
            return Ok(false);
        }
        let dir = self.log_path.parent().unwrap_or(Path::new(".")).to_owned();
        let [log_path, indexes @ ..] = paths(&dir, self.base_offset);
        let fs = self.fs.clone();
        drop(self);
        fs.rename(&log_path, slot).ctx(IoOp::Delete, &log_path)?;
        remove_files(fs.as_ref(), indexes)?;
        Ok(true)
    }

    /// Removes the segment's files, after its cache entry (dropping the segment removes it).
    /// Readers holding the file handle keep reading the unlinked file until they drop it.
    pub(crate) fn delete_files(self) -> Result<()> {
        let dir = self.log_path.parent().unwrap_or(Path::new(".")).to_owned();
        let files = paths(&dir, self.base_offset);
        let fs = self.fs.clone();
        drop(self);
        remove_files(fs.as_ref(), files)
    }
}

/// Removes `files`; one already gone counts as removed.
pub(crate) fn remove_files(
    fs: &dyn Backend,
    files: impl IntoIterator<Item = PathBuf>,
) -> Result<()> {
    for path in files {
        match fs.remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(StorageError::io(IoOp::Delete, path, e)),
        }
    }
    Ok(())
}

fn open_log_file(fs: &dyn Backend, path: &Path) -> Result<Arc<dyn FileHandle>> {
    fs.open(path).ctx(IoOp::Open, path)
}
