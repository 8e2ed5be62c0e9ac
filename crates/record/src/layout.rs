//! Where every field of a RecordBatch v2 lives.
//!
//! Kept apart from the parsing code so the byte map can be read in one place
//! and checked against Kafka's `DefaultRecordBatch` field by field. All
//! multi-byte integers are big-endian.
//!
//! ```text
//! offset  field                 type
//!      0  baseOffset            int64
//!      8  batchLength           int32   total size - 12
//!     12  partitionLeaderEpoch  int32
//!     16  magic                 int8    always 2
//!     17  crc                   uint32  CRC-32C over [21, end)
//!     21  attributes            int16
//!     23  lastOffsetDelta       int32   recordsCount - 1
//!     27  baseTimestamp         int64
//!     35  maxTimestamp          int64
//!     43  producerId            int64
//!     51  producerEpoch         int16
//!     53  baseSequence          int32
//!     57  recordsCount          int32
//!     61  records (possibly compressed)
//! ```

/// The only batch format Sluice speaks; older message sets are rejected.
pub const MAGIC_V2: i8 = 2;

/// `baseOffset` + `batchLength`: the bytes in front of what `batchLength` counts.
pub const LOG_OVERHEAD: usize = 12;

/// Size of the fixed header, through `recordsCount`.
pub const BATCH_HEADER_LEN: usize = 61;

/// Smallest legal `batchLength`: a header with no records. Anything smaller is
/// corruption; in particular a zero-filled preallocated tail reads as 0.
pub const MIN_BATCH_LENGTH: i32 = (BATCH_HEADER_LEN - LOG_OVERHEAD) as i32;

/// The CRC covers `[CRC_START, end)`: everything after the CRC field itself.
/// baseOffset, batchLength, partitionLeaderEpoch and magic are outside it so a
/// broker can assign offsets and epochs without recomputing the CRC.
pub const CRC_START: usize = 21;

/// Byte offset of each header field from the start of the batch.
pub mod offsets {
    /// `baseOffset`, int64.
    pub const BASE_OFFSET: usize = 0;
    /// `batchLength`, int32.
    pub const BATCH_LENGTH: usize = 8;
    /// `partitionLeaderEpoch`, int32.
    pub const PARTITION_LEADER_EPOCH: usize = 12;
    /// `magic`, int8.
    pub const MAGIC: usize = 16;
    /// `crc`, uint32.
    pub const CRC: usize = 17;
    /// `attributes`, int16.
    pub const ATTRIBUTES: usize = 21;
    /// `lastOffsetDelta`, int32.
    pub const LAST_OFFSET_DELTA: usize = 23;
    /// `baseTimestamp`, int64.
    pub const BASE_TIMESTAMP: usize = 27;
    /// `maxTimestamp`, int64.
    pub const MAX_TIMESTAMP: usize = 35;
    /// `producerId`, int64.
    pub const PRODUCER_ID: usize = 43;
    /// `producerEpoch`, int16.
    pub const PRODUCER_EPOCH: usize = 51;
    /// `baseSequence`, int32.
    pub const BASE_SEQUENCE: usize = 53;
    /// `recordsCount`, int32.
    pub const RECORDS_COUNT: usize = 57;
    /// First byte of the records (compressed or not).
    pub const RECORDS: usize = 61;
}

// The map above and the constants must agree; fail the build if they drift.
const _: () = {
    assert!(offsets::RECORDS == BATCH_HEADER_LEN);
    assert!(offsets::CRC + 4 == CRC_START);
    assert!(offsets::ATTRIBUTES == CRC_START);
    assert!(offsets::BATCH_LENGTH + 4 == LOG_OVERHEAD);
    assert!(offsets::RECORDS_COUNT + 4 == BATCH_HEADER_LEN);
    assert!(MIN_BATCH_LENGTH == 49);
};
