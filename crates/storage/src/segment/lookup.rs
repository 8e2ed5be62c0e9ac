//! Finding batches in a segment: by offset, by position limit, by timestamp. Index entries are
//! hints that are verified against the log before use.

use std::fs::File;
use std::sync::Arc;

use sluice_record::{BATCH_HEADER_LEN, BatchHeader, LOG_OVERHEAD, batch_total_size};

use super::Segment;
use crate::backend::FileHandle;
use crate::error::{IoContext, IoOp, Result};
use crate::index::{OffsetIndex, TimeIndex};

/// A segment with its file in hand for one lookup: a sealed segment's handle is taken from the
/// file cache once, not once per header read.
#[derive(Debug)]
pub(crate) struct SegmentRead<'a> {
    segment: &'a Segment,
    file: Arc<dyn FileHandle>,
}

impl Segment {
    /// The segment, ready to read (opening a sealed segment's file if the cache has closed it).
    pub(crate) fn open_read(&self) -> Result<SegmentRead<'_>> {
        Ok(SegmentRead {
            segment: self,
            file: self.reader()?,
        })
    }
}

impl SegmentRead<'_> {
    /// The real file, for slices that `sendfile` sends.
    pub(crate) fn file(&self) -> &Arc<File> {
        self.file.file()
    }

    /// Reads `len` bytes at `position` (timestamp lookups; fetches use sendfile).
    pub(crate) fn read_bytes(&self, position: u64, len: usize) -> Result<Vec<u8>> {
        let mut buf = vec![0u8; len];
        self.file
            .read_exact_at(&mut buf, position)
            .ctx(IoOp::Read, &self.segment.log_path)?;
        Ok(buf)
    }

    /// The header of the batch at `position`, or `None` past the committed end.
    pub(crate) fn header_at(&self, position: u64) -> Result<Option<BatchHeader>> {
        if position + BATCH_HEADER_LEN as u64 > self.segment.size {
            return Ok(None);
        }
        let mut buf = [0u8; BATCH_HEADER_LEN];
        self.file
            .read_exact_at(&mut buf, position)
            .ctx(IoOp::Read, &self.segment.log_path)?;
        Ok(BatchHeader::parse(&buf).ok())
    }

    /// Total size of the batch at `position`, reading only its length field.
    fn size_at(&self, position: u64) -> Result<Option<u64>> {
        if position + LOG_OVERHEAD as u64 > self.segment.size {
            return Ok(None);
        }
        let mut buf = [0u8; LOG_OVERHEAD];
        self.file
            .read_exact_at(&mut buf, position)
            .ctx(IoOp::Read, &self.segment.log_path)?;
        Ok(batch_total_size(&buf).ok().map(|s| s as u64))
    }

    /// Position and header of the batch holding `offset` (or the first batch after it), if any.
    pub(crate) fn find_batch(&self, offset: i64) -> Result<Option<(u64, BatchHeader)>> {
        if !self.segment.indexes_usable() {
            return self.scan_headers(0, |h| h.last_offset() >= offset);
        }
        let entry = self.segment.offset_index.lookup(offset);
        let position = self.verified(entry.position, entry.offset)?;
        self.scan_headers(position, |h| h.last_offset() >= offset)
    }

    /// End of the run of whole batches starting at `start` that fits in `max_bytes`; always
    /// includes the first batch, even when it alone is larger.
    pub(crate) fn slice_end(&self, start: u64, first_size: u64, max_bytes: u64) -> Result<u64> {
        let limit = start.saturating_add(max_bytes).min(self.segment.size);
        let jump = if self.segment.indexes_usable() {
            let entry = self.segment.offset_index.lookup_position(limit);
            self.verified(entry.position, entry.offset)?
        } else {
            0
        };
        let mut end = (start + first_size).max(jump).min(self.segment.size);
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
                tracing::warn!(segment = %self.segment.log_path.display(), position, last_offset, "index entry disagrees with the log; scanning from the start");
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
        if self.segment.indexes_usable()
            && let Some(entry) = self.segment.time_index.lookup(target)
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
}

impl Segment {
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
}

/// Full check of both indexes: entries strictly ordered and inside the segment.
pub(super) fn indexes_consistent(
    offsets: &OffsetIndex,
    times: &TimeIndex,
    base_offset: i64,
    next_offset: i64,
    size: u64,
    max_timestamp: i64,
) -> bool {
    let mut prev: Option<crate::index::OffsetEntry> = None;
    for e in offsets.iter() {
        if e.offset < base_offset || e.offset >= next_offset || e.position >= size {
            return false;
        }
        if prev.is_some_and(|p| p.offset >= e.offset || p.position >= e.position) {
            return false;
        }
        prev = Some(e);
    }
    let mut prev: Option<crate::index::TimeEntry> = None;
    for e in times.iter() {
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
