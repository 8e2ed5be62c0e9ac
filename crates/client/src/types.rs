//! Small value types shared by the client, producer and consumer.

use std::fmt;
use std::str::FromStr;

use sluice_protocol::consts;

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
    fn offset_spec_wire() {
        assert_eq!(OffsetSpec::Earliest.wire(), -2);
        assert_eq!(OffsetSpec::Latest.wire(), -1);
        assert_eq!(OffsetSpec::Timestamp(5).wire(), 5);
    }
}
