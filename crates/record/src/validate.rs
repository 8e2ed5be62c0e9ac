//! Whole-batch integrity: the CRC and the header's own consistency, plus the
//! two in-place rewrites a broker makes that leave the CRC valid.

use crate::error::RecordError;
use crate::header::BatchHeader;
use crate::layout::{CRC_START, offsets};

/// CRC-32C (Castagnoli) of `batch[21..]`, or 0 if `batch` is shorter.
///
/// The `crc32c` crate picks the SSE4.2 / ARMv8 instruction when present, so
/// checking every batch on recovery and produce stays cheap.
pub fn compute_crc(batch: &[u8]) -> u32 {
    crc32c::crc32c(batch.get(CRC_START..).unwrap_or(&[]))
}

/// Validates one complete batch that occupies exactly `batch`.
///
/// In order: header parse ([`BatchHeader::parse`]), the length matches
/// (`Truncated` if short, `InvalidRecord` "trailing bytes" if long), CRC-32C,
/// `records_count >= 0`, and `last_offset_delta + 1 == records_count`.
/// The CRC is checked before the counts so that corruption is reported as
/// corruption. Works on compressed batches; records are not decoded.
pub fn validate_batch(batch: &[u8]) -> Result<BatchHeader, RecordError> {
    let header = BatchHeader::parse(batch)?;
    let total = header.total_size();
    if batch.len() < total {
        return Err(RecordError::Truncated {
            needed: total,
            available: batch.len(),
        });
    }
    if batch.len() > total {
        return Err(RecordError::InvalidRecord {
            position: total,
            reason: "trailing bytes after the batch",
        });
    }
    let computed = compute_crc(batch);
    if computed != header.crc {
        return Err(RecordError::CrcMismatch {
            stored: header.crc,
            computed,
        });
    }
    if header.records_count < 0 {
        return Err(RecordError::NegativeRecordCount {
            records_count: header.records_count,
        });
    }
    // Widened so that lastOffsetDelta = i32::MAX cannot overflow.
    if i64::from(header.last_offset_delta) + 1 != i64::from(header.records_count) {
        return Err(RecordError::RecordCountMismatch {
            last_offset_delta: header.last_offset_delta,
            records_count: header.records_count,
        });
    }
    Ok(header)
}

/// Overwrites `N` bytes at `at`, or reports how many bytes were needed.
fn put<const N: usize>(batch: &mut [u8], at: usize, bytes: [u8; N]) -> Result<(), RecordError> {
    let available = batch.len();
    let slot = batch.get_mut(at..at + N).ok_or(RecordError::Truncated {
        needed: at + N,
        available,
    })?;
    slot.copy_from_slice(&bytes);
    Ok(())
}

/// Rewrites `baseOffset` (bytes `[0, 8)`) in place. The field is outside the
/// CRC, which is how a broker assigns offsets to a produced batch without
/// touching the rest. `Err(Truncated)` if `batch` is shorter than 8 bytes.
pub fn set_base_offset(batch: &mut [u8], base_offset: i64) -> Result<(), RecordError> {
    put(batch, offsets::BASE_OFFSET, base_offset.to_be_bytes())
}

/// Rewrites `partitionLeaderEpoch` (bytes `[12, 16)`) in place; outside the
/// CRC like `baseOffset`. `Err(Truncated)` if `batch` is shorter than 16 bytes.
pub fn set_partition_leader_epoch(batch: &mut [u8], epoch: i32) -> Result<(), RecordError> {
    put(batch, offsets::PARTITION_LEADER_EPOCH, epoch.to_be_bytes())
}

/// Recomputes the CRC of `batch` and stores it in bytes `[17, 21)`, returning
/// it. For callers that edit fields inside the CRC range (e.g. stamping a
/// LogAppendTime). `Err(Truncated)` if `batch` is shorter than 21 bytes.
pub fn update_crc(batch: &mut [u8]) -> Result<u32, RecordError> {
    if batch.len() < CRC_START {
        return Err(RecordError::Truncated {
            needed: CRC_START,
            available: batch.len(),
        });
    }
    let crc = compute_crc(batch);
    put(batch, offsets::CRC, crc.to_be_bytes())?;
    Ok(crc)
}
