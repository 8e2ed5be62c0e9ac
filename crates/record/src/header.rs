//! The fixed 61-byte batch header: parse, encode, derived values.
//!
//! Parsing checks only what is needed to know how big the batch is and that
//! it is ours to read (length, magic). CRC and record-count checks live in
//! [`crate::validate`] because they need the whole batch.

use crate::attributes::{CONTROL_FLAG, Compression, TRANSACTIONAL_FLAG, TimestampType};
use crate::error::RecordError;
use crate::layout::{BATCH_HEADER_LEN, LOG_OVERHEAD, MAGIC_V2, MIN_BATCH_LENGTH, offsets};

/// Every field of a RecordBatch v2 header, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    /// Offset of the first record; assigned by the broker.
    pub base_offset: i64,
    /// Batch size minus [`LOG_OVERHEAD`].
    pub batch_length: i32,
    /// Leader epoch at append; stamped by the broker, outside the CRC.
    pub partition_leader_epoch: i32,
    /// Always [`MAGIC_V2`] after a successful parse.
    pub magic: i8,
    /// CRC-32C of bytes `[21, end)` as stored.
    pub crc: u32,
    /// Codec, timestamp type, transactional and control bits.
    pub attributes: i16,
    /// Offset of the last record relative to `base_offset`.
    pub last_offset_delta: i32,
    /// Timestamp that record timestamp deltas are relative to.
    pub base_timestamp: i64,
    /// Largest record timestamp (or the append time under LogAppendTime).
    pub max_timestamp: i64,
    /// Idempotent producer id, -1 if none.
    pub producer_id: i64,
    /// Idempotent producer epoch, -1 if none.
    pub producer_epoch: i16,
    /// Sequence number of the first record, -1 if none.
    pub base_sequence: i32,
    /// Number of records that follow the header.
    pub records_count: i32,
}

/// Copies `N` bytes at a constant offset out of the fixed-size header.
/// Offsets are compile-time constants that fit, so this cannot fail on input.
fn field<const N: usize>(header: &[u8; BATCH_HEADER_LEN], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&header[at..at + N]);
    out
}

/// Reads `batchLength` and rejects values below the legal minimum.
fn checked_batch_length(bytes: [u8; 4]) -> Result<i32, RecordError> {
    let batch_length = i32::from_be_bytes(bytes);
    if batch_length < MIN_BATCH_LENGTH {
        return Err(RecordError::BatchLengthTooSmall { batch_length });
    }
    Ok(batch_length)
}

/// Total size (batchLength + 12) of the batch starting at `buf`, reading only
/// bytes `[8, 12)`.
///
/// This is all a reader needs to step from batch to batch or to decide that
/// a buffer ends mid-batch; a zero-filled tail fails here with
/// [`RecordError::BatchLengthTooSmall`].
pub fn batch_total_size(buf: &[u8]) -> Result<usize, RecordError> {
    let prefix: &[u8; LOG_OVERHEAD] = buf.first_chunk().ok_or(RecordError::Truncated {
        needed: LOG_OVERHEAD,
        available: buf.len(),
    })?;
    let mut length = [0u8; 4];
    length.copy_from_slice(&prefix[offsets::BATCH_LENGTH..]);
    let batch_length = checked_batch_length(length)?;
    Ok(length_to_total(batch_length))
}

/// `batch_length + 12`, treating a negative length (only possible in a
/// hand-built header) as 0 so the arithmetic cannot misbehave.
fn length_to_total(batch_length: i32) -> usize {
    usize::try_from(batch_length).unwrap_or(0) + LOG_OVERHEAD
}

impl BatchHeader {
    /// Parses the fixed 61-byte header from the start of `buf`.
    ///
    /// Checks that `buf` holds at least 61 bytes, that `batchLength` is at
    /// least [`MIN_BATCH_LENGTH`] and that the magic byte is 2. Does not check
    /// the CRC nor that the whole batch is present: callers that stream (a
    /// segment scan, a fetch response) need the length before the rest.
    pub fn parse(buf: &[u8]) -> Result<BatchHeader, RecordError> {
        let h: &[u8; BATCH_HEADER_LEN] = buf.first_chunk().ok_or(RecordError::Truncated {
            needed: BATCH_HEADER_LEN,
            available: buf.len(),
        })?;
        let batch_length = checked_batch_length(field(h, offsets::BATCH_LENGTH))?;
        let magic = i8::from_be_bytes(field(h, offsets::MAGIC));
        if magic != MAGIC_V2 {
            return Err(RecordError::UnsupportedMagic { magic });
        }
        Ok(BatchHeader {
            base_offset: i64::from_be_bytes(field(h, offsets::BASE_OFFSET)),
            batch_length,
            partition_leader_epoch: i32::from_be_bytes(field(h, offsets::PARTITION_LEADER_EPOCH)),
            magic,
            crc: u32::from_be_bytes(field(h, offsets::CRC)),
            attributes: i16::from_be_bytes(field(h, offsets::ATTRIBUTES)),
            last_offset_delta: i32::from_be_bytes(field(h, offsets::LAST_OFFSET_DELTA)),
            base_timestamp: i64::from_be_bytes(field(h, offsets::BASE_TIMESTAMP)),
            max_timestamp: i64::from_be_bytes(field(h, offsets::MAX_TIMESTAMP)),
            producer_id: i64::from_be_bytes(field(h, offsets::PRODUCER_ID)),
            producer_epoch: i16::from_be_bytes(field(h, offsets::PRODUCER_EPOCH)),
            base_sequence: i32::from_be_bytes(field(h, offsets::BASE_SEQUENCE)),
            records_count: i32::from_be_bytes(field(h, offsets::RECORDS_COUNT)),
        })
    }

    /// Encodes every field verbatim, the stored `crc` included; nothing is
    /// computed. [`crate::build_batch_from_parts`] is the checked way to make
    /// a batch; this is for callers (and tests) that need exact control.
    pub fn encode(&self) -> [u8; BATCH_HEADER_LEN] {
        let mut out = [0u8; BATCH_HEADER_LEN];
        let mut put = |at: usize, bytes: &[u8]| out[at..at + bytes.len()].copy_from_slice(bytes);
        put(offsets::BASE_OFFSET, &self.base_offset.to_be_bytes());
        put(offsets::BATCH_LENGTH, &self.batch_length.to_be_bytes());
        put(
            offsets::PARTITION_LEADER_EPOCH,
            &self.partition_leader_epoch.to_be_bytes(),
        );
        put(offsets::MAGIC, &self.magic.to_be_bytes());
        put(offsets::CRC, &self.crc.to_be_bytes());
        put(offsets::ATTRIBUTES, &self.attributes.to_be_bytes());
        put(
            offsets::LAST_OFFSET_DELTA,
            &self.last_offset_delta.to_be_bytes(),
        );
        put(offsets::BASE_TIMESTAMP, &self.base_timestamp.to_be_bytes());
        put(offsets::MAX_TIMESTAMP, &self.max_timestamp.to_be_bytes());
        put(offsets::PRODUCER_ID, &self.producer_id.to_be_bytes());
        put(offsets::PRODUCER_EPOCH, &self.producer_epoch.to_be_bytes());
        put(offsets::BASE_SEQUENCE, &self.base_sequence.to_be_bytes());
        put(offsets::RECORDS_COUNT, &self.records_count.to_be_bytes());
        out
    }

    /// Size of the whole batch in bytes: `batch_length + 12`.
    pub fn total_size(&self) -> usize {
        length_to_total(self.batch_length)
    }

    /// Offset of the last record. Wraps rather than panics on absurd input;
    /// the broker checks offsets it assigns, not ones it reads.
    pub fn last_offset(&self) -> i64 {
        self.base_offset
            .wrapping_add(i64::from(self.last_offset_delta))
    }

    /// The offset after this batch: where the next batch starts.
    pub fn next_offset(&self) -> i64 {
        self.last_offset().wrapping_add(1)
    }

    /// Codec from attribute bits 0-2.
    pub fn compression(&self) -> Compression {
        Compression::from_attributes(self.attributes)
    }

    /// Timestamp type from attribute bit 3.
    pub fn timestamp_type(&self) -> TimestampType {
        TimestampType::from_attributes(self.attributes)
    }

    /// Attribute bit 4.
    pub fn is_transactional(&self) -> bool {
        self.attributes & TRANSACTIONAL_FLAG != 0
    }

    /// Attribute bit 5: transaction markers, which clients may not produce.
    pub fn is_control(&self) -> bool {
        self.attributes & CONTROL_FLAG != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> BatchHeader {
        BatchHeader {
            base_offset: 0x0102_0304_0506_0708,
            batch_length: 49,
            partition_leader_epoch: -1,
            magic: MAGIC_V2,
            crc: 0xdead_beef,
            attributes: 0x0039,
            last_offset_delta: -1,
            base_timestamp: i64::MIN,
            max_timestamp: i64::MAX,
            producer_id: -1,
            producer_epoch: i16::MAX,
            base_sequence: i32::MIN,
            records_count: 0,
        }
    }

    #[test]
    fn encode_then_parse_is_identity() {
        let h = sample();
        assert_eq!(BatchHeader::parse(&h.encode()), Ok(h));
    }

    #[test]
    fn parse_checks_length_before_magic() {
        let mut bytes = sample().encode();
        bytes[offsets::MAGIC] = 0;
        bytes[offsets::BATCH_LENGTH + 3] = 0;
        assert_eq!(
            BatchHeader::parse(&bytes),
            Err(RecordError::BatchLengthTooSmall { batch_length: 0 })
        );
    }

    #[test]
    fn derived_values_never_panic() {
        let h = BatchHeader {
            base_offset: i64::MAX,
            last_offset_delta: i32::MAX,
            batch_length: -7,
            ..sample()
        };
        assert_eq!(h.total_size(), LOG_OVERHEAD);
        assert_eq!(h.last_offset(), i64::MAX.wrapping_add(i64::from(i32::MAX)));
        let _ = h.next_offset();
    }

    #[test]
    fn attribute_accessors() {
        // 0x39: codec 1, LogAppendTime, transactional, control.
        let h = sample();
        assert_eq!(h.compression(), Compression::Gzip);
        assert_eq!(h.timestamp_type(), TimestampType::LogAppendTime);
        assert!(h.is_transactional());
        assert!(h.is_control());
    }
}
