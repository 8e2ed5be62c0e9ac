//! Small value types shared by the client, producer and consumer.

use std::fmt;
use std::str::FromStr;

use sluice_protocol::consts;
use sluice_record::Compression;

use crate::error::ClientError;

/// One partition of one topic.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    pub topic: String,
    pub partition: u32,
}

impl TopicPartition {
    pub fn new(topic: impl Into<String>, partition: u32) -> Self {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }
}

/// Prints `topic/partition`.
impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.topic, self.partition)
    }
}

/// How many acknowledgements a produce request waits for (Kafka's `acks`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Acks {
    /// `acks=0`: fire and forget. The broker sends no response, so
    /// deliveries carry no offset and broker-side errors go unseen.
    None,
    /// `acks=1`: the leader appended the batches.
    Leader,
    /// `acks=all` (-1): all in-sync replicas; on a single broker the same
    /// as [`Acks::Leader`].
    #[default]
    All,
}

impl Acks {
    /// The `ProduceRequest.acks` value.
    pub fn wire(self) -> i32 {
        match self {
            Acks::None => consts::ACKS_NONE,
            Acks::Leader => consts::ACKS_LEADER,
            Acks::All => consts::ACKS_ALL,
        }
    }
}

/// Parses `0`, `1`, `all` or `-1`.
impl FromStr for Acks {
    type Err = ClientError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "0" => Ok(Acks::None),
            "1" => Ok(Acks::Leader),
            "all" | "-1" => Ok(Acks::All),
            other => Err(ClientError::Config(format!(
                "acks must be 0, 1 or all, not {other:?}"
            ))),
        }
    }
}

/// How the producer compresses its batches (Kafka's `compression.type`).
/// Consumers read every codec whatever this says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CompressionType {
    /// Batches are sent as they are built.
    #[default]
    None,
    Gzip,
    /// In the xerial framing Kafka's Java client writes.
    Snappy,
    /// LZ4 frame format.
    Lz4,
    Zstd,
}

impl CompressionType {
    /// Every type, in codec id order.
    pub const ALL: [CompressionType; 5] = [
        CompressionType::None,
        CompressionType::Gzip,
        CompressionType::Snappy,
        CompressionType::Lz4,
        CompressionType::Zstd,
    ];

    /// Kafka's name: `none`, `gzip`, `snappy`, `lz4`, `zstd`.
    pub fn name(self) -> &'static str {
        match self {
            CompressionType::None => "none",
            CompressionType::Gzip => "gzip",
            CompressionType::Snappy => "snappy",
            CompressionType::Lz4 => "lz4",
            CompressionType::Zstd => "zstd",
        }
    }

    /// The codec as the record batch attributes name it.
    pub fn codec(self) -> Compression {
        match self {
            CompressionType::None => Compression::None,
            CompressionType::Gzip => Compression::Gzip,
            CompressionType::Snappy => Compression::Snappy,
            CompressionType::Lz4 => Compression::Lz4,
            CompressionType::Zstd => Compression::Zstd,
        }
    }
}

impl fmt::Display for CompressionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Parses Kafka's names, case-insensitively.
impl FromStr for CompressionType {
    type Err = ClientError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CompressionType::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                ClientError::Config(format!(
                    "compression must be none, gzip, snappy, lz4 or zstd, not {s:?}"
                ))
            })
    }
}

/// Which offset a ListOffsets lookup asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetSpec {
    /// The log start offset.
    Earliest,
    /// The log end offset (the offset the next record will get).
    Latest,
    /// The first offset whose record timestamp is `>=` this (ms since the
    /// epoch).
    Timestamp(i64),
}

impl OffsetSpec {
    /// The `ListOffsetsPartition.timestamp` value.
    pub(crate) fn wire(self) -> i64 {
        match self {
            OffsetSpec::Earliest => consts::EARLIEST_TIMESTAMP,
            OffsetSpec::Latest => consts::LATEST_TIMESTAMP,
            OffsetSpec::Timestamp(ts) => ts,
        }
    }
}

/// Milliseconds since the Unix epoch, as record timestamps use.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A duration as whole milliseconds for a u32 wire field, saturating.
pub(crate) fn wire_ms(d: std::time::Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acks_parse_and_wire() {
        assert_eq!("all".parse::<Acks>().unwrap().wire(), -1);
        assert_eq!("-1".parse::<Acks>().unwrap(), Acks::All);
        assert_eq!("1".parse::<Acks>().unwrap().wire(), 1);
        assert_eq!("0".parse::<Acks>().unwrap().wire(), 0);
        assert!("2".parse::<Acks>().is_err());
    }

    #[test]
    fn compression_names() {
        for c in CompressionType::ALL {
            assert_eq!(c.name().parse::<CompressionType>().unwrap(), c);
            assert_eq!(c.to_string(), c.name());
        }
        assert_eq!(
            "ZSTD".parse::<CompressionType>().unwrap(),
            CompressionType::Zstd
        );
        assert_eq!(CompressionType::Lz4.codec(), Compression::Lz4);
        assert!("brotli".parse::<CompressionType>().is_err());
    }

    #[test]
    fn offset_spec_wire() {
        assert_eq!(OffsetSpec::Earliest.wire(), -2);
        assert_eq!(OffsetSpec::Latest.wire(), -1);
        assert_eq!(OffsetSpec::Timestamp(5).wire(), 5);
    }
}
