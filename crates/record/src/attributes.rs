//! The `attributes` int16: codec, timestamp type, transactional and control
//! flags.

/// Bits 0-2: compression codec id.
pub const COMPRESSION_MASK: i16 = 0x07;
/// Bit 3: set when timestamps were assigned by the broker (LogAppendTime).
pub const TIMESTAMP_TYPE_FLAG: i16 = 0x08;
/// Bit 4: the batch belongs to a transaction.
pub const TRANSACTIONAL_FLAG: i16 = 0x10;
/// Bit 5: the batch holds control records (transaction markers).
pub const CONTROL_FLAG: i16 = 0x20;

/// Compression codec of a batch, from `attributes & 0x7`.
///
/// Ids 5-7 are kept as `Unknown` rather than rejected: a batch is carried
/// as-is, so only code that must decompress it needs to care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// 0: records are stored plain and can be iterated.
    None,
    /// 1
    Gzip,
    /// 2
    Snappy,
    /// 3
    Lz4,
    /// 4
    Zstd,
    /// 5-7: not assigned by Kafka.
    Unknown(u8),
}

impl Compression {
    /// The codec named by an `attributes` field.
    pub fn from_attributes(attributes: i16) -> Self {
        match attributes & COMPRESSION_MASK {
            0 => Compression::None,
            1 => Compression::Gzip,
            2 => Compression::Snappy,
            3 => Compression::Lz4,
            4 => Compression::Zstd,
            // The mask keeps the value in 5..=7, so the cast is lossless.
            other => Compression::Unknown(other as u8),
        }
    }

    /// The codec id as stored in attribute bits 0-2 (`Unknown` keeps only
    /// its low three bits, so it always fits the field).
    pub fn id(self) -> u8 {
        match self {
            Compression::None => 0,
            Compression::Gzip => 1,
            Compression::Snappy => 2,
            Compression::Lz4 => 3,
            Compression::Zstd => 4,
            Compression::Unknown(id) => id & 0x07,
        }
    }

    /// The bits this codec contributes to an `attributes` field.
    pub fn attribute_bits(self) -> i16 {
        i16::from(self.id())
    }
}

/// Who assigned the record timestamps, from attribute bit 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampType {
    /// The producer's clock (bit clear).
    CreateTime,
    /// The broker's clock at append (bit set); every record's timestamp is
    /// then the batch's `maxTimestamp`.
    LogAppendTime,
}

impl TimestampType {
    /// The timestamp type named by an `attributes` field.
    pub fn from_attributes(attributes: i16) -> Self {
        if attributes & TIMESTAMP_TYPE_FLAG != 0 {
            TimestampType::LogAppendTime
        } else {
            TimestampType::CreateTime
        }
    }

    /// The bits this type contributes to an `attributes` field.
    pub fn attribute_bits(self) -> i16 {
        match self {
            TimestampType::CreateTime => 0,
            TimestampType::LogAppendTime => TIMESTAMP_TYPE_FLAG,
        }
    }
}
