//! One segment: a `.log` file of batches and its two sparse indexes.
//!
//! A segment is either active (it has a writer and preallocated, writable indexes) or sealed
//! (files cut to their real lengths, indexes mapped read only). Only the log's last segment is
//! active. All mutation happens under the log's write lock; reads use positioned reads on the
//! shared file handle, never the writer's mapping.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use sluice_record::{BATCH_HEADER_LEN, BatchHeader, LOG_OVERHEAD, batch_total_size};

use crate::config::LogConfig;
use crate::error::{IoContext, IoOp, Result, StorageError};
use crate::index::{IndexFile, OffsetIndex, TimeIndex};
use crate::writer::{RangeSync, SegmentWriter, WriterFactory};

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
    log_path: PathBuf,
    file: Arc<File>,
    /// `Some` while the segment is active.
    writer: Option<Box<dyn SegmentWriter>>,
    /// Bytes of whole, valid batches: the committed end readers may see.
    size: u64,
    /// Offset the next batch appended here would get.
    next_offset: i64,
    /// Largest batch max-timestamp seen, -1 when empty.
    max_timestamp: i64,
    /// Max timestamp of the first batch: what age-based roll measures from.
    first_timestamp: Option<i64>,
    bytes_since_index: u64,
    offset_index: OffsetIndex,
    time_index: TimeIndex,
    /// Whether the indexes passed a full consistency check. Indexes this process built are
    /// known good; indexes read from disk are checked on first use (not at open, so a clean
    /// restart of a large log stays fast) and ignored if they fail.
    indexes_ok: OnceLock<bool>,
}

impl Segment {
    /// Creates a new, empty, active segment (overwriting stray files of the same name).
    pub(crate) fn create(
        dir: &Path,
        base_offset: i64,
        config: &LogConfig,
        factory: &dyn WriterFactory,
    ) -> Result<Segment> {
        let [log_path, index_path, time_path] = paths(dir, base_offset);
        let file = open_log_file(&log_path)?;
        file.set_len(0).ctx(IoOp::Truncate, &log_path)?;
        let offset_index = OffsetIndex::create(&index_path, base_offset, config.max_index_bytes)?;
        let time_index = TimeIndex::create(&time_path, base_offset, config.max_index_bytes)?;
        let file = Arc::new(file);
        let writer = factory
            .open(file.clone(), &log_path, config.segment_bytes)
            .ctx(IoOp::Preallocate, &log_path)?;
        Ok(Segment {
            base_offset,
            log_path,
            file,
            writer: Some(writer),
            size: 0,
            next_offset: base_offset,
            max_timestamp: -1,
            first_timestamp: None,
            bytes_since_index: 0,
            offset_index,
            time_index,
            indexes_ok: OnceLock::from(true),
        })
    }

    /// Opens an existing segment whose files are believed good (sealed before a clean shutdown
    /// or before the recovery point). The indexes are checked against the log, and the bytes
    /// after the last index entry are validated; `Ok(None)` means the segment needs a full
    /// recovery scan.
    pub(crate) fn open_trusted(
        dir: &Path,
        base_offset: i64,
        config: &LogConfig,
    ) -> Result<Option<Segment>> {
        let [log_path, index_path, time_path] = paths(dir, base_offset);
        let file = open_log_file(&log_path)?;
        let size = file.metadata().ctx(IoOp::Open, &log_path)?.len();
        let Some(offset_file) =
            IndexFile::open_sealed(&index_path, crate::index::offset_entry_size())?
        else {
            return Ok(None);
        };
        let Some(time_file) = IndexFile::open_sealed(&time_path, crate::index::time_entry_size())?
        else {
            return Ok(None);
        };
        let offset_index = OffsetIndex::new(base_offset, offset_file);
        let time_index = TimeIndex::new(base_offset, time_file);
        let mut segment = Segment {
            base_offset,
            log_path,
            file: Arc::new(file),
            writer: None,
            size,
            next_offset: base_offset,
            max_timestamp: time_index.last().map_or(-1, |e| e.timestamp),
            first_timestamp: None,
            bytes_since_index: 0,
            offset_index,
            time_index,
            indexes_ok: OnceLock::new(),
        };
        // The index agrees with the log if its last entry names a batch that is really there.
        let (start, expected) = match segment.offset_index.last() {
            None => (0, base_offset),
            Some(entry) => match segment.header_at(entry.position)? {
                Some(h) if h.last_offset() == entry.offset && entry.position < size => {
                    (entry.position, h.base_offset)
                }
                _ => return Ok(None),
            },
        };
        if segment
            .time_index
            .last()
            .is_some_and(|t| t.offset < base_offset)
        {
            return Ok(None);
        }
        let outcome = crate::scan::scan(
            &segment.file,
            &segment.log_path,
            start,
            size,
            expected,
            config.segment_bytes,
            |_, header| {
                segment.next_offset = header.next_offset();
                segment.max_timestamp = segment.max_timestamp.max(header.max_timestamp);
            },
        )?;
        if outcome.stop.is_some() {
            return Ok(None);
        }
        segment.first_timestamp = segment.first_batch_timestamp()?;
        Ok(Some(segment))
    }

    /// Rebuilds a segment from its log alone: every batch is validated from the first byte, the
    /// indexes are recreated, and the log is cut at the first invalid byte. Returns the segment
    /// and whether anything was cut.
    pub(crate) fn recover(
        dir: &Path,
        base_offset: i64,
        config: &LogConfig,
    ) -> Result<(Segment, Option<crate::scan::ScanStop>)> {
        let [log_path, index_path, time_path] = paths(dir, base_offset);
        let file = open_log_file(&log_path)?;
        let file_len = file.metadata().ctx(IoOp::Open, &log_path)?.len();
        let mut segment = Segment {
            base_offset,
            log_path,
            file: Arc::new(file),
            writer: None,
            size: 0,
            next_offset: base_offset,
            max_timestamp: -1,
            first_timestamp: None,
            bytes_since_index: 0,
            offset_index: OffsetIndex::create(&index_path, base_offset, config.max_index_bytes)?,
            time_index: TimeIndex::create(&time_path, base_offset, config.max_index_bytes)?,
            indexes_ok: OnceLock::from(true),
        };
        let file = segment.file.clone();
        let path = segment.log_path.clone();
        let outcome = crate::scan::scan(
            &file,
            &path,
            0,
            file_len,
            base_offset,
            config.segment_bytes,
            |position, header| segment.account_batch(position, header, config),
        )?;
        if outcome.valid_end < file_len {
            // Cut the torn or corrupt tail (and any preallocated zeros) so nothing after the
            // valid prefix can ever be read back as data.
            segment
                .file
                .set_len(outcome.valid_end)
                .ctx(IoOp::Truncate, &segment.log_path)?;
            segment.file.sync_all().ctx(IoOp::Sync, &segment.log_path)?;
        }
        Ok((segment, outcome.stop))
    }

    /// Turns a loaded segment into the active one: indexes writable again, writer attached.
    pub(crate) fn activate(
        self,
        config: &LogConfig,
        factory: &dyn WriterFactory,
    ) -> Result<Segment> {
        let Segment {
            base_offset,
            log_path,
            file,
            size,
            next_offset,
            max_timestamp,
            first_timestamp,
            offset_index,
            time_index,
            indexes_ok,
            ..
        } = self;
        let offset_index = offset_index.into_writable(config.max_index_bytes)?;
        let time_index = time_index.into_writable(config.max_index_bytes)?;
        let checked = indexes_ok.get().copied().unwrap_or_else(|| {
            matches!((&offset_index, &time_index), (Some(o), Some(t)) if indexes_consistent(o, t, base_offset, next_offset, size, max_timestamp))
        });
        let (Some(offset_index), Some(time_index), true) = (offset_index, time_index, checked)
        else {
            // Indexes that disagree with the log, or were written under a larger
            // `max_index_bytes`: rebuild them.
            let dir = log_path.parent().unwrap_or(Path::new("."));
            let (segment, _) = Segment::recover(dir, base_offset, config)?;
            return segment.activate(config, factory);
        };
        let bytes_since_index = size - offset_index.last().map_or(0, |e| e.position);
        file.set_len(size).ctx(IoOp::Truncate, &log_path)?;
        let writer = factory
            .open(file.clone(), &log_path, config.segment_bytes.max(size))
            .ctx(IoOp::Preallocate, &log_path)?;
        Ok(Segment {
            base_offset,
            log_path,
            file,
            writer: Some(writer),
            size,
            next_offset,
            max_timestamp,
            first_timestamp,
            bytes_since_index,
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
        if self.first_timestamp.is_some_and(|first| {
            header.max_timestamp.saturating_sub(first) > config.segment_ms as i64
        }) {
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
        writer
            .write(self.size, &[&base, rest])
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
        self.first_timestamp.get_or_insert(header.max_timestamp);
    }

    /// Syncs the log bytes and the indexes, cuts every file to its real length and drops the
    /// writer. A sealed segment is immutable.
    pub(crate) fn seal(mut self) -> Result<Segment> {
        if let Some(writer) = self.writer.take() {
            writer
                .syncer()
                .sync(0, self.size)
                .ctx(IoOp::Sync, &self.log_path)?;
            writer.seal(self.size).ctx(IoOp::Truncate, &self.log_path)?;
        }
        // A final time-index entry so retention and timestamp lookups see the true maximum.
        if self.max_timestamp >= 0 && self.next_offset > self.base_offset {
            self.time_index
                .maybe_append(self.max_timestamp, self.next_offset - 1);
        }
        self.offset_index = self.offset_index.seal()?;
        self.time_index = self.time_index.seal()?;
        Ok(self)
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

    pub(crate) fn file(&self) -> &Arc<File> {
        &self.file
    }

    pub(crate) fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The header of the batch at `position`, or `None` past the committed end.
    pub(crate) fn header_at(&self, position: u64) -> Result<Option<BatchHeader>> {
        if position + BATCH_HEADER_LEN as u64 > self.size {
            return Ok(None);
        }
        let mut buf = [0u8; BATCH_HEADER_LEN];
        self.file
            .read_exact_at(&mut buf, position)
            .ctx(IoOp::Read, &self.log_path)?;
        Ok(BatchHeader::parse(&buf).ok())
    }

    /// Total size of the batch at `position`, reading only its length field.
    fn size_at(&self, position: u64) -> Result<Option<u64>> {
        if position + LOG_OVERHEAD as u64 > self.size {
            return Ok(None);
        }
        let mut buf = [0u8; LOG_OVERHEAD];
        self.file
            .read_exact_at(&mut buf, position)
            .ctx(IoOp::Read, &self.log_path)?;
        Ok(batch_total_size(&buf).ok().map(|s| s as u64))
    }

    /// Position and header of the batch holding `offset` (or the first batch after it), if any.
    pub(crate) fn find_batch(&self, offset: i64) -> Result<Option<(u64, BatchHeader)>> {
        if !self.indexes_usable() {
            return self.scan_headers(0, |h| h.last_offset() >= offset);
        }
        let entry = self.offset_index.lookup(offset);
        let position = self.verified(entry.position, entry.offset)?;
        self.scan_headers(position, |h| h.last_offset() >= offset)
    }

    /// End of the run of whole batches starting at `start` that fits in `max_bytes`; always
    /// includes the first batch, even when it alone is larger.
    pub(crate) fn slice_end(&self, start: u64, first_size: u64, max_bytes: u64) -> Result<u64> {
        let limit = start.saturating_add(max_bytes).min(self.size);
        let jump = if self.indexes_usable() {
            let entry = self.offset_index.lookup_position(limit);
            self.verified(entry.position, entry.offset)?
        } else {
            0
        };
        let mut end = (start + first_size).max(jump).min(self.size);
        while let Some(size) = self.size_at(end)? {
            if end + size > limit {
                break;
            }
            end += size;
        }
        Ok(end)
    }

    /// An index entry is only a hint: it is used if the batch at its position really ends at
    /// its offset, otherwise the search starts over from the segment start.
    fn verified(&self, position: u64, last_offset: i64) -> Result<u64> {
        if position == 0 {
            return Ok(0);
        }
        match self.header_at(position)? {
            Some(header) if header.last_offset() == last_offset => Ok(position),
            _ => {
                tracing::warn!(segment = %self.log_path.display(), position, last_offset, "index entry disagrees with the log; scanning from the start");
                Ok(0)
            }
        }
    }

    /// Walks batch headers from `position` to the first one matching `found`.
    fn scan_headers(
        &self,
        mut position: u64,
        found: impl Fn(&BatchHeader) -> bool,
    ) -> Result<Option<(u64, BatchHeader)>> {
        while let Some(header) = self.header_at(position)? {
            if found(&header) {
                return Ok(Some((position, header)));
            }
            position += header.total_size() as u64;
        }
        Ok(None)
    }

    /// First batch whose max timestamp reaches `target`.
    pub(crate) fn find_timestamp(&self, target: i64) -> Result<Option<(u64, BatchHeader)>> {
        let mut position = 0;
        if self.indexes_usable()
            && let Some(entry) = self.time_index.lookup(target)
            && let Some((at, header)) = self.find_batch(entry.offset)?
        {
            // The entry claims nothing up to its offset reaches its timestamp; believe it only
            // if the batch it names agrees.
            if header.max_timestamp <= entry.timestamp {
                position = at;
            }
        }
        self.scan_headers(position, |h| h.max_timestamp >= target)
    }

    fn indexes_usable(&self) -> bool {
        *self.indexes_ok.get_or_init(|| {
            let ok = indexes_consistent(
                &self.offset_index,
                &self.time_index,
                self.base_offset,
                self.next_offset,
                self.size,
                self.max_timestamp,
            );
            if !ok {
                tracing::warn!(segment = %self.log_path.display(), "indexes disagree with the log; ignoring them");
            }
            ok
        })
    }

    /// Reads `len` bytes at `position` (tools and timestamp lookups; fetches use sendfile).
    pub(crate) fn read_bytes(&self, position: u64, len: usize) -> Result<Vec<u8>> {
        let mut buf = vec![0u8; len];
        self.file
            .read_exact_at(&mut buf, position)
            .ctx(IoOp::Read, &self.log_path)?;
        Ok(buf)
    }

    fn first_batch_timestamp(&self) -> Result<Option<i64>> {
        Ok(self.header_at(0)?.map(|h| h.max_timestamp))
    }

    /// Removes the segment's files. Readers holding the file handle keep reading the unlinked
    /// file until they drop it.
    pub(crate) fn delete_files(self) -> Result<()> {
        let dir = self.log_path.parent().unwrap_or(Path::new(".")).to_owned();
        let base = self.base_offset;
        drop(self);
        for path in paths(&dir, base) {
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(StorageError::io(IoOp::Delete, path, e)),
            }
        }
        Ok(())
    }
}

/// Full check of both indexes: entries strictly ordered and inside the segment.
fn indexes_consistent(
    offsets: &OffsetIndex,
    times: &TimeIndex,
    base_offset: i64,
    next_offset: i64,
    size: u64,
    max_timestamp: i64,
) -> bool {
    let mut prev: Option<crate::index::OffsetEntry> = None;
    for e in (0..offsets.entries()).filter_map(|i| offsets.entry(i)) {
        if e.offset < base_offset || e.offset >= next_offset || e.position >= size {
            return false;
        }
        if prev.is_some_and(|p| p.offset >= e.offset || p.position >= e.position) {
            return false;
        }
        prev = Some(e);
    }
    let mut prev: Option<crate::index::TimeEntry> = None;
    for e in (0..times.entries()).filter_map(|i| times.entry(i)) {
        if e.offset < base_offset || e.offset >= next_offset || e.timestamp > max_timestamp {
            return false;
        }
        if prev.is_some_and(|p| p.timestamp >= e.timestamp || p.offset > e.offset) {
            return false;
        }
        prev = Some(e);
    }
    true
}

fn open_log_file(path: &Path) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .ctx(IoOp::Open, path)
}
