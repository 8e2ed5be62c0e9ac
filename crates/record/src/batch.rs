//! A validated view of one batch.

use std::fmt;

use crate::attributes::Compression;
use crate::error::RecordError;
use crate::header::BatchHeader;
use crate::layout::BATCH_HEADER_LEN;
use crate::record_iter::RecordIter;
use crate::validate::validate_batch;

/// One batch whose length, magic, CRC and counts have been checked.
///
/// Holding one proves the bytes are intact, so storage can append it and
/// the fetch path can send it without looking again. It borrows the bytes;
/// copying the view is free.
#[derive(Clone, Copy)]
pub struct RecordBatch<'a> {
    header: BatchHeader,
    bytes: &'a [u8],
}

impl<'a> RecordBatch<'a> {
    /// Validates (as [`validate_batch`]) the batch occupying exactly `bytes`.
    pub fn parse(bytes: &'a [u8]) -> Result<RecordBatch<'a>, RecordError> {
        let header = validate_batch(bytes)?;
        Ok(RecordBatch { header, bytes })
    }

    /// The decoded header.
    pub fn header(&self) -> &BatchHeader {
        &self.header
    }

    /// The whole batch, header included, exactly as stored.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The bytes after the 61-byte header: encoded records, or the
    /// compressed block for a compressed batch.
    pub fn records_payload(&self) -> &'a [u8] {
        self.bytes.get(BATCH_HEADER_LEN..).unwrap_or(&[])
    }

    /// Iterates the records. `Err(Compressed)` if the codec is not `None`:
    /// this crate has no decompressors and carries such batches as-is.
    pub fn records(&self) -> Result<RecordIter<'a>, RecordError> {
        match self.header.compression() {
            Compression::None => {}
            codec => return Err(RecordError::Compressed { codec }),
        }
        // validate_batch rejected negative counts.
        let count = usize::try_from(self.header.records_count).unwrap_or(0);
        Ok(RecordIter::new(self.records_payload(), count))
    }
}

/// Shows the header and the size, not the (possibly megabytes of) bytes.
impl fmt::Debug for RecordBatch<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordBatch")
            .field("header", &self.header)
            .field("len", &self.bytes.len())
            .finish()
    }
}
