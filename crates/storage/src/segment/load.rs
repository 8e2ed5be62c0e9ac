//! Loading a segment from disk: trusted (after a clean shutdown), recovered by a full scan, and
//! activated for appending again.

use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use crate::backend::{Backend, FileHandle};
use crate::config::LogConfig;
use crate::error::{IoContext, IoOp, Result};
use crate::index::{IndexFile, OffsetIndex, TimeIndex};
use crate::writer::WriterFactory;

use super::{Segment, SegmentFile, indexes_consistent, open_log_file, paths};

impl Segment {
    /// Opens an existing segment whose files are believed good (sealed before a clean shutdown
    /// or before the recovery point). The indexes are checked against the log, and the bytes
    /// after the last index entry are validated; `Ok(None)` means the segment needs a full
    /// recovery scan.
    pub(crate) fn open_trusted(
        fs: &Arc<dyn Backend>,
        dir: &Path,
        base_offset: i64,
        config: &LogConfig,
    ) -> Result<Option<Segment>> {
        let [log_path, index_path, time_path] = paths(dir, base_offset);
        let file = open_log_file(fs.as_ref(), &log_path)?;
        let size = file.size().ctx(IoOp::Open, &log_path)?;
        let reader = file.clone();
        let Some(offset_file) = IndexFile::open_sealed(
            fs,
            &index_path,
            <crate::index::OffsetEntry as crate::index::Entry>::SIZE,
        )?
        else {
            return Ok(None);
        };
        let Some(time_file) = IndexFile::open_sealed(
            fs,
            &time_path,
            <crate::index::TimeEntry as crate::index::Entry>::SIZE,
        )?
        else {
            return Ok(None);
        };
        let offset_index = OffsetIndex::new(base_offset, offset_file);
        let time_index = TimeIndex::new(base_offset, time_file);
        let mut segment = Segment {
            base_offset,
            fs: fs.clone(),
            log_path,
            file: SegmentFile::held(&config.file_cache, file),
            writer: None,
            size,
            next_offset: base_offset,
            max_timestamp: time_index.last().map_or(-1, |e| e.timestamp),
            opened_at: Instant::now(),
            bytes_since_index: 0,
            offset_index,
            time_index,
            indexes_ok: OnceLock::new(),
        };
        // The index agrees with the log if its last entry names a batch that is really there.
        let (start, expected) = match segment.offset_index.last() {
            None => (0, base_offset),
            Some(entry) => match segment.open_read()?.header_at(entry.position)? {
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
        let path = segment.log_path.clone();
        let outcome = crate::scan::scan(
            reader.as_ref(),
            &path,
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
        Ok(Some(segment))
    }

    /// Rebuilds a segment from its log alone: every batch is validated from the first byte, the
    /// indexes are recreated, and the log is cut at the first invalid byte (with `may_cut`; a
    /// tail of zeros is cut in any case). Returns the segment and why its valid part ends
    /// before the file does, if it does for a reason other than zeros.
    pub(crate) fn recover(
        fs: &Arc<dyn Backend>,
        dir: &Path,
        base_offset: i64,
        config: &LogConfig,
        may_cut: bool,
    ) -> Result<(Segment, Option<crate::scan::ScanStop>)> {
        let [log_path, index_path, time_path] = paths(dir, base_offset);
        let file = open_log_file(fs.as_ref(), &log_path)?;
        let file_len = file.size().ctx(IoOp::Open, &log_path)?;
        let max_index = config.max_index_bytes;
        let mut segment = Segment {
            base_offset,
            fs: fs.clone(),
            log_path,
            file: SegmentFile::held(&config.file_cache, file.clone()),
            writer: None,
            size: 0,
            next_offset: base_offset,
            max_timestamp: -1,
            opened_at: Instant::now(),
            bytes_since_index: 0,
            offset_index: OffsetIndex::create(fs, &index_path, base_offset, max_index)?,
            time_index: TimeIndex::create(fs, &time_path, base_offset, max_index)?,
            indexes_ok: OnceLock::from(true),
        };
        let path = segment.log_path.clone();
        let outcome = crate::scan::scan(
            file.as_ref(),
            &path,
            0,
            file_len,
            base_offset,
            config.segment_bytes,
            |position, header| segment.account_batch(position, header, config),
        )?;
        // Zeros after the last batch are how every segment ends while it is active (and how a
        // sealed one looks if its cut was lost): the end of the data, not damage. So is a valid
        // batch older than this segment: the old contents of a recycled file (see `spare`).
        let stop = match outcome.stop {
            Some(crate::scan::ScanStop::OffsetGap { found, .. }) if found < base_offset => None,
            Some(_)
                if zeros_from(
                    file.as_ref(),
                    &segment.log_path,
                    outcome.valid_end,
                    file_len,
                )? =>
            {
                None
            }
            stop => stop,
        };
        if outcome.valid_end < file_len && (may_cut || stop.is_none()) {
            // Cut the torn or corrupt tail (and any zeros) so nothing after the valid prefix can
            // ever be read back as data.
            file.set_len(outcome.valid_end)
                .ctx(IoOp::Truncate, &segment.log_path)?;
            file.sync_all().ctx(IoOp::Sync, &segment.log_path)?;
        }
        Ok((segment, stop))
    }

    /// Turns a loaded segment into the active one: indexes writable again, writer attached.
    pub(crate) fn activate(
        self,
        config: &LogConfig,
        factory: &dyn WriterFactory,
    ) -> Result<Segment> {
        let Segment {
            base_offset,
            fs,
            log_path,
            mut file,
            size,
            next_offset,
            max_timestamp,
            opened_at,
            offset_index,
            time_index,
            indexes_ok,
            ..
        } = self;
        let offset_index = offset_index.into_writable(&fs, config.max_index_bytes)?;
        let time_index = time_index.into_writable(&fs, config.max_index_bytes)?;
        let checked = indexes_ok.get().copied().unwrap_or_else(|| {
            matches!((&offset_index, &time_index), (Some(o), Some(t)) if indexes_consistent(o, t, base_offset, next_offset, size, max_timestamp))
        });
        let (Some(offset_index), Some(time_index), true) = (offset_index, time_index, checked)
        else {
            // Indexes that disagree with the log, or were written under a larger
            // `max_index_bytes`: rebuild them.
            let dir = log_path.parent().unwrap_or(Path::new("."));
            let (segment, _) = Segment::recover(&fs, dir, base_offset, config, true)?;
            return segment.activate(config, factory);
        };
        let bytes_since_index = size - offset_index.last().map_or(0, |e| e.position);
        let handle = file
            .writable(fs.as_ref(), &log_path)
            .ctx(IoOp::Open, &log_path)?;
        handle.set_len(size).ctx(IoOp::Truncate, &log_path)?;
        let writer = factory
            .open(handle, &log_path, size, config.segment_bytes.max(size))
            .ctx(IoOp::Preallocate, &log_path)?;
        Ok(Segment {
            base_offset,
            fs,
            log_path,
            file,
            writer: Some(writer),
            size,
            next_offset,
            max_timestamp,
            opened_at,
            bytes_since_index,
            offset_index,
            time_index,
            indexes_ok: OnceLock::from(true),
        })
    }
}

/// Whether `file[from..end)` holds only zeros. Holes are skipped with `SEEK_DATA`, so a sparse
/// tail of a large segment costs a few system calls, not a read of every byte.
fn zeros_from(file: &dyn FileHandle, path: &Path, from: u64, end: u64) -> Result<bool> {
    let mut buf = vec![0u8; 1 << 20];
    let mut pos = from;
    while pos < end {
        let Some(data) = file.next_data(pos).ctx(IoOp::Read, path)? else {
            return Ok(true); // only holes remain
        };
        if data >= end {
            return Ok(true);
        }
        let len = (buf.len() as u64).min(end - data) as usize;
        let got = file.read_at(&mut buf[..len], data).ctx(IoOp::Read, path)?;
        if got == 0 {
            return Ok(true);
        }
        if buf[..got].iter().any(|b| *b != 0) {
            return Ok(false);
        }
        pos = data + got as u64;
    }
    Ok(true)
}
