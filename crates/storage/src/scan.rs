//! Sequential validation of the batches in a segment file: the core of recovery.
//!
//! Reading goes through a chunked cursor (1 MiB reads) rather than one `pread` per batch, so a
//! crash recovery of a segment of small batches runs near disk speed.

use std::path::Path;

use sluice_record::{BatchHeader, LOG_OVERHEAD, RecordError, batch_total_size, validate_batch};

use crate::backend::{Backend, FileHandle};
use crate::error::{IoContext, IoOp, Result};

const CHUNK: usize = 1 << 20;

/// Why a scan stopped before the end of the range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ScanStop {
    /// Fewer bytes left than the next batch claims: a torn write.
    PartialBatch { position: u64 },
    /// The bytes at `position` are not a valid batch (bad CRC, bad length, zero fill, ...).
    Invalid { position: u64, error: RecordError },
    /// A length larger than any batch the log accepts: garbage, not a batch.
    Oversized { position: u64, size: u64 },
    /// A valid batch whose base offset does not continue the log.
    OffsetGap {
        position: u64,
        expected: i64,
        found: i64,
    },
}

#[derive(Debug)]
pub(crate) struct ScanOutcome {
    /// End of the last valid batch.
    pub valid_end: u64,
    pub stop: Option<ScanStop>,
}

/// Validates batches in `file[start..end)` one after another, expecting the first to begin at
/// `next_offset`, and calls `visit(position, header)` for each valid one.
pub(crate) fn scan(
    file: &dyn FileHandle,
    path: &Path,
    start: u64,
    end: u64,
    mut next_offset: i64,
    max_batch: u64,
    mut visit: impl FnMut(u64, &BatchHeader),
) -> Result<ScanOutcome> {
    let mut cursor = Cursor::new(file, path, end);
    let mut pos = start;
    while pos < end {
        if end - pos < LOG_OVERHEAD as u64 {
            return Ok(stopped(pos, ScanStop::PartialBatch { position: pos }));
        }
        let size = match batch_total_size(cursor.bytes(pos, LOG_OVERHEAD)?) {
            Ok(size) => size as u64,
            Err(error) => {
                return Ok(stopped(
                    pos,
                    ScanStop::Invalid {
                        position: pos,
                        error,
                    },
                ));
            }
        };
        if size > max_batch {
            return Ok(stopped(
                pos,
                ScanStop::Oversized {
                    position: pos,
                    size,
                },
            ));
        }
        if end - pos < size {
            return Ok(stopped(pos, ScanStop::PartialBatch { position: pos }));
        }
        let header = match validate_batch(cursor.bytes(pos, size as usize)?) {
            Ok(header) => header,
            Err(error) => {
                return Ok(stopped(
                    pos,
                    ScanStop::Invalid {
                        position: pos,
                        error,
                    },
                ));
            }
        };
        if header.base_offset != next_offset {
            return Ok(stopped(
                pos,
                ScanStop::OffsetGap {
                    position: pos,
                    expected: next_offset,
                    found: header.base_offset,
                },
            ));
        }
        visit(pos, &header);
        next_offset = header.next_offset();
        pos += size;
    }
    Ok(ScanOutcome {
        valid_end: pos,
        stop: None,
    })
}

/// Whether the segment file at `path` begins with a valid batch that is not older than the
/// segment (`base_offset`): whether removing it could lose data. A missing or empty file, zeros,
/// or a recycled file's older batches do not count.
pub(crate) fn starts_with_batch(
    fs: &dyn Backend,
    path: &Path,
    base_offset: i64,
    max_batch: u64,
) -> Result<bool> {
    let file = match fs.open_read(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(crate::error::StorageError::io(IoOp::Open, path, e)),
    };
    let len = file.size().ctx(IoOp::Open, path)?;
    let mut cursor = Cursor::new(file.as_ref(), path, len);
    if len < LOG_OVERHEAD as u64 {
        return Ok(false);
    }
    let Ok(size) = batch_total_size(cursor.bytes(0, LOG_OVERHEAD)?) else {
        return Ok(false);
    };
    let size = size as u64;
    if size > max_batch || size > len {
        return Ok(false);
    }
    Ok(validate_batch(cursor.bytes(0, size as usize)?)
        .is_ok_and(|header| header.base_offset >= base_offset))
}

fn stopped(valid_end: u64, stop: ScanStop) -> ScanOutcome {
    ScanOutcome {
        valid_end,
        stop: Some(stop),
    }
}

/// A read-ahead window over a file, so consecutive small reads cost one `pread` per chunk.
struct Cursor<'a> {
    file: &'a dyn FileHandle,
    path: &'a Path,
    end: u64,
    buf: Vec<u8>,
    buf_start: u64,
}

impl<'a> Cursor<'a> {
    fn new(file: &'a dyn FileHandle, path: &'a Path, end: u64) -> Self {
        Cursor {
            file,
            path,
            end,
            buf: Vec::new(),
            buf_start: 0,
        }
    }

    /// `len` bytes at `pos`; the caller has checked `pos + len <= end`.
    fn bytes(&mut self, pos: u64, len: usize) -> Result<&[u8]> {
        let have =
            pos >= self.buf_start && pos + len as u64 <= self.buf_start + self.buf.len() as u64;
        if !have {
            let want = (len.max(CHUNK) as u64).min(self.end - pos) as usize;
            self.buf.resize(want, 0);
            self.file
                .read_exact_at(&mut self.buf, pos)
                .ctx(IoOp::Read, self.path)?;
            self.buf_start = pos;
        }
        let from = (pos - self.buf_start) as usize;
        Ok(&self.buf[from..from + len])
    }
}
