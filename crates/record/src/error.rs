//! The one error type of this crate.
//!
//! Every variant carries the numbers that explain it (what was stored, what
//! was expected, where) so a storage recovery log or a produce rejection can
//! say exactly what was wrong without re-reading the bytes.

use crate::attributes::Compression;

/// Why bytes are not a valid RecordBatch v2 (or cannot be encoded as one).
///
/// Positions (`position` fields) are byte offsets from the start of the
/// batch, except for the standalone [`crate::varint`] decoders, which report
/// position 0 of the slice they were given.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordError {
    /// Fewer bytes than the structure needs. For a batch at the end of a
    /// buffer this may just mean the rest has not arrived (see
    /// [`crate::BatchIter`]).
    #[error("truncated: need {needed} bytes, only {available} available")]
    Truncated {
        /// Bytes required from the start of the given slice.
        needed: usize,
        /// Bytes the slice actually held.
        available: usize,
    },

    /// `batchLength` is below [`crate::MIN_BATCH_LENGTH`]: corruption, or a
    /// zero-filled preallocated tail.
    #[error("batch length {batch_length} is below the minimum of 49")]
    BatchLengthTooSmall {
        /// The stored `batchLength` field.
        batch_length: i32,
    },

    /// The magic byte is not 2; Sluice does not read v0/v1 message sets.
    #[error("unsupported magic {magic}, only 2 is supported")]
    UnsupportedMagic {
        /// The stored magic byte.
        magic: i8,
    },

    /// The stored CRC-32C does not match the bytes: corruption.
    #[error("crc mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    CrcMismatch {
        /// The `crc` header field.
        stored: u32,
        /// CRC-32C of bytes `[21, end)`.
        computed: u32,
    },

    /// `lastOffsetDelta + 1 != recordsCount` (Kafka rejects these with
    /// INVALID_RECORD).
    #[error("last offset delta {last_offset_delta} does not match records count {records_count}")]
    RecordCountMismatch {
        /// The `lastOffsetDelta` header field.
        last_offset_delta: i32,
        /// The `recordsCount` header field.
        records_count: i32,
    },

    /// `recordsCount` is negative.
    #[error("negative records count {records_count}")]
    NegativeRecordCount {
        /// The `recordsCount` header field.
        records_count: i32,
    },

    /// A varint is longer than its type allows, sets bits beyond its width,
    /// or runs past the end of its bytes.
    #[error("invalid varint at byte {position}")]
    InvalidVarint {
        /// Where the varint starts.
        position: usize,
    },

    /// A record (or one of its headers) is malformed.
    #[error("invalid record at byte {position}: {reason}")]
    InvalidRecord {
        /// Where the problem was found.
        position: usize,
        /// What was wrong, for logs.
        reason: &'static str,
    },

    /// The batch is compressed; this crate carries such batches as-is and
    /// cannot iterate their records.
    #[error("batch is compressed with {codec:?}; records cannot be read without decompressing")]
    Compressed {
        /// The codec named by attribute bits 0-2.
        codec: Compression,
    },

    /// Compressed records could not be decompressed: corrupt or truncated
    /// data (feature `compression`).
    #[cfg(feature = "compression")]
    #[error("corrupt {codec:?} data: {reason}")]
    Decompress {
        /// The batch's codec.
        codec: Compression,
        /// What the codec library reported, for logs.
        reason: String,
    },

    /// Decompressing would produce more than the caller's bound: a batch
    /// larger than allowed, or a decompression bomb (feature
    /// `compression`).
    #[cfg(feature = "compression")]
    #[error("{codec:?} records decompress to more than the limit of {limit} bytes")]
    DecompressedTooLarge {
        /// The batch's codec.
        codec: Compression,
        /// The bound that was reached, in bytes.
        limit: usize,
    },

    /// A codec library failed to compress (feature `compression`).
    #[cfg(feature = "compression")]
    #[error("{codec:?} compression failed: {reason}")]
    Compress {
        /// The codec asked for.
        codec: Compression,
        /// What the codec library reported.
        reason: String,
    },

    /// The codec id is one Kafka has not assigned (5-7), so there is no
    /// way to compress or decompress it (feature `compression`).
    #[cfg(feature = "compression")]
    #[error("unsupported compression codec {codec:?}")]
    UnsupportedCompression {
        /// The codec named by attribute bits 0-2.
        codec: Compression,
    },

    /// The batch would not fit the int32 `batchLength` field.
    #[error("batch of {size} bytes is too large for the batchLength field")]
    BatchTooLarge {
        /// Total size the batch would have, in bytes.
        size: usize,
    },
}
