//! Iteration over the records of an uncompressed batch.

use std::iter::FusedIterator;

use crate::error::RecordError;
use crate::layout::BATCH_HEADER_LEN;
use crate::record::{Record, read_record};

/// Iterator over the records of an uncompressed batch, made by
/// [`crate::RecordBatch::records`].
///
/// Besides each record's own checks it enforces that the payload holds
/// exactly `recordsCount` records with no bytes left over, so a batch whose
/// header and body disagree is reported rather than half-read. After an
/// `Err` it yields `None`.
#[derive(Debug, Clone)]
pub struct RecordIter<'a> {
    /// The bytes after the 61-byte header.
    payload: &'a [u8],
    /// Next unread byte of `payload`.
    pos: usize,
    /// Records still promised by `recordsCount`.
    remaining: usize,
    /// Set after the end or an error, so the iterator is fused.
    done: bool,
}

impl<'a> RecordIter<'a> {
    /// `payload` must be the bytes after the batch header; `records_count`
    /// the header's (already checked non-negative) count.
    pub(crate) fn new(payload: &'a [u8], records_count: usize) -> Self {
        RecordIter {
            payload,
            pos: 0,
            remaining: records_count,
            done: false,
        }
    }

    fn fail(&mut self, reason: &'static str) -> Option<Result<Record<'a>, RecordError>> {
        self.done = true;
        Some(Err(RecordError::InvalidRecord {
            position: BATCH_HEADER_LEN + self.pos,
            reason,
        }))
    }
}

impl<'a> Iterator for RecordIter<'a> {
    type Item = Result<Record<'a>, RecordError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let rest = self.payload.get(self.pos..).unwrap_or(&[]);
        if self.remaining == 0 {
            if rest.is_empty() {
                self.done = true;
                return None;
            }
            return self.fail("trailing bytes after the last record");
        }
        if rest.is_empty() {
            return self.fail("fewer records than recordsCount");
        }
        match read_record(rest, BATCH_HEADER_LEN + self.pos) {
            Ok((record, len)) => {
                self.pos += len;
                self.remaining -= 1;
                Some(Ok(record))
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.done {
            (0, Some(0))
        } else {
            // Every promised record, plus possibly one trailing-bytes error.
            (0, Some(self.remaining + 1))
        }
    }
}

impl FusedIterator for RecordIter<'_> {}
