//! The read path: file slices for sendfile, a batch iterator for tools, timestamp lookup.

use std::collections::VecDeque;
use std::fs::File;
use std::ops::Bound;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use bytes::Bytes;
use sluice_record::{BatchIter, RecordBatch};

use super::{LogState, PartitionLog};
use crate::error::{IoContext, IoOp, Result, StorageError};
use crate::segment::Segment;

/// A run of whole batches in one segment file, to be sent as it is (sendfile). The bytes below
/// the log end never change, so the slice stays valid after the lock is released; the open file
/// handle keeps even a segment deleted by retention readable.
#[derive(Debug, Clone)]
pub struct FileSlice {
    pub file: Arc<File>,
    pub position: u64,
    pub len: u64,
    /// Base offset of the first batch in the slice (may be below the requested offset).
    pub first_offset: i64,
    /// The log end offset when the slice was taken.
    pub high_watermark: i64,
    pub log_start_offset: i64,
}

impl FileSlice {
    /// Copies the slice into memory. For tools and tests; fetches send it without a copy.
    pub fn read_to_bytes(&self) -> std::io::Result<Bytes> {
        let mut buf = vec![0u8; usize::try_from(self.len).map_err(std::io::Error::other)?];
        self.file.read_exact_at(&mut buf, self.position)?;
        Ok(Bytes::from(buf))
    }
}

/// The first offset whose timestamp is at or after a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimestampOffset {
    pub offset: i64,
    pub timestamp: i64,
}

impl PartitionLog {
    /// Whole batches starting with the one that holds `offset`, at most `max_bytes` of them but
    /// always at least one (as Kafka's Fetch v3+), never past the log end. `offset == log end`
    /// gives an empty slice; outside `[log start, log end]` is `OffsetOutOfRange`.
    pub fn read(&self, offset: i64, max_bytes: u64) -> Result<FileSlice> {
        let state = self.read_state();
        let (start, end) = (state.log_start_offset, state.log_end_offset());
        if offset < start || offset > end {
            return Err(StorageError::OffsetOutOfRange {
                offset,
                log_start_offset: start,
                log_end_offset: end,
            });
        }
        for segment in segments_from(&state, offset) {
            if offset >= segment.next_offset() {
                continue; // no batch here can hold it: leave a sealed file closed
            }
            let segment = segment.open_read()?;
            if let Some((position, header)) = segment.find_batch(offset)? {
                let slice_end =
                    segment.slice_end(position, header.total_size() as u64, max_bytes)?;
                return Ok(FileSlice {
                    file: segment.file().clone(),
                    position,
                    len: slice_end - position,
                    first_offset: header.base_offset,
                    high_watermark: end,
                    log_start_offset: start,
                });
            }
        }
        let active = state.active();
        Ok(FileSlice {
            file: active.file()?,
            position: active.size(),
            len: 0,
            first_offset: end,
            high_watermark: end,
            log_start_offset: start,
        })
    }

    /// Batches from `offset` on, copied out of the log. For tools and tests.
    pub fn batches(&self, offset: i64) -> LogBatches<'_> {
        LogBatches {
            log: self,
            next_offset: offset,
            buffered: VecDeque::new(),
            pending_error: None,
            done: false,
        }
    }

    /// The first offset whose record timestamp is >= `timestamp`, or `None` if every record is
    /// older. For a compressed batch the answer is the batch's base offset.
    pub fn offset_for_timestamp(&self, timestamp: i64) -> Result<Option<TimestampOffset>> {
        let state = self.read_state();
        for segment in state.segments.values() {
            if segment.max_timestamp() < timestamp {
                continue;
            }
            let segment = segment.open_read()?;
            let Some((position, header)) = segment.find_timestamp(timestamp)? else {
                continue;
            };
            let bytes = segment.read_bytes(position, header.total_size())?;
            let batch = RecordBatch::parse(&bytes)
                .map_err(|source| StorageError::InvalidBatch { index: 0, source })?;
            if let Ok(records) = batch.records() {
                for record in records.flatten() {
                    let ts = header.base_timestamp + record.timestamp_delta;
                    if ts >= timestamp {
                        return Ok(Some(TimestampOffset {
                            offset: header.base_offset + i64::from(record.offset_delta),
                            timestamp: ts,
                        }));
                    }
                }
            }
            return Ok(Some(TimestampOffset {
                offset: header.base_offset,
                timestamp: header.max_timestamp,
            }));
        }
        Ok(None)
    }
}

/// Segments that may hold `offset` or later offsets, oldest first.
fn segments_from(state: &LogState, offset: i64) -> impl Iterator<Item = &Segment> {
    let first = state
        .segments
        .range(..=offset)
        .next_back()
        .map_or(i64::MIN, |(base, _)| *base);
    state
        .segments
        .range((Bound::Included(first), Bound::Unbounded))
        .map(|(_, s)| s)
}

/// Iterator over owned batches of a log, built on [`PartitionLog::read`].
#[derive(Debug)]
pub struct LogBatches<'a> {
    log: &'a PartitionLog,
    next_offset: i64,
    buffered: VecDeque<Bytes>,
    /// The error that ends the iteration, returned after the batches read before it.
    pending_error: Option<StorageError>,
    done: bool,
}

const READ_CHUNK: u64 = 1 << 20;

impl Iterator for LogBatches<'_> {
    type Item = Result<Bytes>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(batch) = self.buffered.pop_front() {
            return Some(Ok(batch));
        }
        if let Some(error) = self.pending_error.take() {
            return Some(Err(error));
        }
        if self.done {
            return None;
        }
        let slice = match self.log.read(self.next_offset, READ_CHUNK) {
            Ok(slice) => slice,
            Err(e) => {
                self.done = true;
                return Some(Err(e));
            }
        };
        if slice.len == 0 {
            self.done = true;
            return None;
        }
        let bytes = match slice.read_to_bytes().ctx(IoOp::Read, self.log.dir()) {
            Ok(bytes) => bytes,
            Err(e) => {
                self.done = true;
                return Some(Err(e));
            }
        };
        let mut iter = BatchIter::new(&bytes);
        for batch in iter.by_ref() {
            match batch {
                Ok(batch) if batch.header().next_offset() <= self.next_offset => {
                    // Offsets only grow: a batch that does not move past the one asked for
                    // would be read again and again.
                    self.done = true;
                    self.pending_error = Some(StorageError::CorruptLog {
                        dir: self.log.dir().to_owned(),
                        offset: self.next_offset,
                        reason: format!(
                            "a batch at base offset {} does not advance the offsets",
                            batch.header().base_offset
                        ),
                    });
                    return self.next();
                }
                Ok(batch) => {
                    self.next_offset = batch.header().next_offset();
                    let start = batch.as_bytes().as_ptr() as usize - bytes.as_ptr() as usize;
                    self.buffered
                        .push_back(bytes.slice(start..start + batch.as_bytes().len()));
                }
                Err(source) => {
                    self.done = true;
                    self.pending_error = Some(StorageError::InvalidBatch { index: 0, source });
                    return self.next();
                }
            }
        }
        if let Some(batch) = self.buffered.pop_front() {
            return Some(Ok(batch));
        }
        // A read returns at least one whole batch (the first even when larger than the chunk),
        // so bytes that hold none are a batch whose length runs past the data: damage a clean
        // open trusted. Reading the same bytes again would find the same; stop with an error.
        self.done = true;
        Some(Err(StorageError::InvalidBatch {
            index: 0,
            source: sluice_record::RecordError::Truncated {
                needed: sluice_record::batch_total_size(&bytes).unwrap_or(bytes.len() + 1),
                available: bytes.len(),
            },
        }))
    }
}
