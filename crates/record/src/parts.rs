//! Assembling a batch from a header and an already-encoded payload.
//!
//! This is the layer under [`crate::BatchBuilder`], public so that a client
//! can encode records with the builder, compress
//! [`BatchBuilder::records_payload`](crate::BatchBuilder::records_payload)
//! itself, set the codec bits and seal the result here.

use bytes::Bytes;

use crate::error::RecordError;
use crate::header::BatchHeader;
use crate::layout::{BATCH_HEADER_LEN, LOG_OVERHEAD, MAGIC_V2};
use crate::validate::update_crc;

/// The header fields a caller chooses. `batchLength`, `magic` and `crc` are
/// derived from the bytes and so are not here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchFields {
    /// Usually 0 from a producer; the broker rewrites it.
    pub base_offset: i64,
    /// -1 from a producer; the broker stamps its epoch.
    pub partition_leader_epoch: i32,
    /// Codec, timestamp type, transactional and control bits.
    pub attributes: i16,
    /// `records_count - 1`.
    pub last_offset_delta: i32,
    /// First record's timestamp (-1 if none).
    pub base_timestamp: i64,
    /// Largest record timestamp (-1 if none).
    pub max_timestamp: i64,
    /// -1 without an idempotent producer.
    pub producer_id: i64,
    /// -1 without an idempotent producer.
    pub producer_epoch: i16,
    /// -1 without an idempotent producer.
    pub base_sequence: i32,
    /// Records in the payload.
    pub records_count: i32,
}

/// An empty, non-idempotent, uncompressed batch, with Kafka's "none" values.
impl Default for BatchFields {
    fn default() -> Self {
        BatchFields {
            base_offset: 0,
            partition_leader_epoch: -1,
            attributes: 0,
            last_offset_delta: -1,
            base_timestamp: -1,
            max_timestamp: -1,
            producer_id: -1,
            producer_epoch: -1,
            base_sequence: -1,
            records_count: 0,
        }
    }
}

impl From<&BatchHeader> for BatchFields {
    fn from(h: &BatchHeader) -> Self {
        BatchFields {
            base_offset: h.base_offset,
            partition_leader_epoch: h.partition_leader_epoch,
            attributes: h.attributes,
            last_offset_delta: h.last_offset_delta,
            base_timestamp: h.base_timestamp,
            max_timestamp: h.max_timestamp,
            producer_id: h.producer_id,
            producer_epoch: h.producer_epoch,
            base_sequence: h.base_sequence,
            records_count: h.records_count,
        }
    }
}

/// The `batchLength` of a batch of `total` bytes, if it fits the int32 field.
pub(crate) fn batch_length_for(total: usize) -> Result<i32, RecordError> {
    total
        .checked_sub(LOG_OVERHEAD)
        .and_then(|len| i32::try_from(len).ok())
        .ok_or(RecordError::BatchTooLarge { size: total })
}

/// Writes the header for `fields` into `batch[..61]` (whose length decides
/// `batchLength`) and then the CRC over the result. `batch` must already
/// hold the payload after 61 reserved bytes.
pub(crate) fn seal(batch: &mut [u8], fields: &BatchFields) -> Result<(), RecordError> {
    let batch_length = batch_length_for(batch.len())?;
    let header = BatchHeader {
        base_offset: fields.base_offset,
        batch_length,
        partition_leader_epoch: fields.partition_leader_epoch,
        magic: MAGIC_V2,
        crc: 0,
        attributes: fields.attributes,
        last_offset_delta: fields.last_offset_delta,
        base_timestamp: fields.base_timestamp,
        max_timestamp: fields.max_timestamp,
        producer_id: fields.producer_id,
        producer_epoch: fields.producer_epoch,
        base_sequence: fields.base_sequence,
        records_count: fields.records_count,
    };
    let available = batch.len();
    let slot = batch
        .get_mut(..BATCH_HEADER_LEN)
        .ok_or(RecordError::Truncated {
            needed: BATCH_HEADER_LEN,
            available,
        })?;
    slot.copy_from_slice(&header.encode());
    update_crc(batch)?;
    Ok(())
}

/// Builds a complete batch (length, magic and CRC computed) from `fields`
/// and a records payload that is used verbatim, compressed or not.
///
/// Nothing checks that the payload agrees with `records_count` or the codec
/// bits: that is the caller's promise. [`crate::validate_batch`] checks the
/// counts on the way back in.
///
/// `Err(BatchTooLarge)` if the batch would exceed the int32 `batchLength`.
pub fn build_batch_from_parts(
    fields: &BatchFields,
    records_payload: &[u8],
) -> Result<Bytes, RecordError> {
    let total = BATCH_HEADER_LEN.saturating_add(records_payload.len());
    // Refuse before allocating.
    batch_length_for(total)?;
    let mut batch = Vec::with_capacity(total);
    batch.resize(BATCH_HEADER_LEN, 0);
    batch.extend_from_slice(records_payload);
    seal(&mut batch, fields)?;
    Ok(Bytes::from(batch))
}
