//! ListOffsets (api key 2), versions 1-5. Timestamp -1 asks for the latest
//! offset (high watermark), -2 for the earliest (log start offset).

use bytes::{Bytes, BytesMut};

use crate::wire::{Message, Reader, Writer};
use crate::{ApiKey, DecodeError};

/// ListOffsets request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListOffsetsRequest {
    /// -1 for consumers.
    pub replica_id: i32,
    /// 0 read uncommitted, 1 read committed (v2+).
    pub isolation_level: i8,
    /// Partitions per topic.
    pub topics: Vec<ListOffsetsTopic>,
}

impl Default for ListOffsetsRequest {
    fn default() -> Self {
        Self {
            replica_id: -1,
            isolation_level: 0,
            topics: Vec::new(),
        }
    }
}

/// One topic in a ListOffsets request.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ListOffsetsTopic {
    /// Topic name.
    pub name: String,
    /// Partitions.
    pub partitions: Vec<ListOffsetsPartition>,
}

/// One partition in a ListOffsets request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListOffsetsPartition {
    /// Partition index.
    pub partition_index: i32,
    /// Leader epoch the client knows (v4+, default -1).
    pub current_leader_epoch: i32,
    /// Target timestamp, or -1 latest / -2 earliest.
    pub timestamp: i64,
}

impl Default for ListOffsetsPartition {
    fn default() -> Self {
        Self {
            partition_index: 0,
            current_leader_epoch: -1,
            timestamp: -1,
        }
    }
}

impl Message for ListOffsetsRequest {
    const API_KEY: ApiKey = ApiKey::ListOffsets;

    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        let r = &mut Reader::new(buf, Self::API_KEY.is_flexible(version));
        let replica_id = r.i32()?;
        let isolation_level = if version >= 2 { r.i8()? } else { 0 };
        let topics = r.array(|r| {
            let name = r.string()?;
            let partitions = r.array(|r| {
                let partition_index = r.i32()?;
                let current_leader_epoch = if version >= 4 { r.i32()? } else { -1 };
                let timestamp = r.i64()?;
                r.tags()?;
                Ok(ListOffsetsPartition {
                    partition_index,
                    current_leader_epoch,
                    timestamp,
                })
            })?;
            r.tags()?;
            Ok(ListOffsetsTopic { name, partitions })
        })?;
        r.tags()?;
        Ok(Self {
            replica_id,
            isolation_level,
            topics,
        })
    }

    fn encode(&self, buf: &mut BytesMut, version: i16) {
        let w = &mut Writer::new(buf, Self::API_KEY.is_flexible(version));
        w.i32(self.replica_id);
        if version >= 2 {
            w.i8(self.isolation_level);
        }
        w.array(&self.topics, |w, t| {
            w.string(&t.name);
            w.array(&t.partitions, |w, p| {
                w.i32(p.partition_index);
                if version >= 4 {
                    w.i32(p.current_leader_epoch);
                }
                w.i64(p.timestamp);
                w.tags();
            });
            w.tags();
        });
        w.tags();
    }
}

/// ListOffsets response.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ListOffsetsResponse {
    /// Quota throttle (v2+).
    pub throttle_time_ms: i32,
    /// Results per topic.
    pub topics: Vec<ListOffsetsTopicResponse>,
}

/// One topic in a ListOffsets response.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ListOffsetsTopicResponse {
    /// Topic name.
    pub name: String,
    /// Results per partition.
    pub partitions: Vec<ListOffsetsPartitionResponse>,
}

/// One partition in a ListOffsets response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListOffsetsPartitionResponse {
    /// Partition index.
    pub partition_index: i32,
    /// See [`crate::ErrorCode`].
    pub error_code: i16,
    /// Timestamp of the returned offset, -1 for latest/earliest.
    pub timestamp: i64,
    /// The offset.
    pub offset: i64,
    /// Leader epoch (v4+, default -1).
    pub leader_epoch: i32,
}

impl Default for ListOffsetsPartitionResponse {
    fn default() -> Self {
        Self {
            partition_index: 0,
            error_code: 0,
            timestamp: -1,
            offset: -1,
            leader_epoch: -1,
        }
    }
}

impl Message for ListOffsetsResponse {
    const API_KEY: ApiKey = ApiKey::ListOffsets;

    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        let r = &mut Reader::new(buf, Self::API_KEY.is_flexible(version));
        let throttle_time_ms = if version >= 2 { r.i32()? } else { 0 };
        let topics = r.array(|r| {
            let name = r.string()?;
            let partitions = r.array(|r| {
                let partition_index = r.i32()?;
                let error_code = r.i16()?;
                let timestamp = r.i64()?;
                let offset = r.i64()?;
                let leader_epoch = if version >= 4 { r.i32()? } else { -1 };
                r.tags()?;
                Ok(ListOffsetsPartitionResponse {
                    partition_index,
                    error_code,
                    timestamp,
                    offset,
                    leader_epoch,
                })
            })?;
            r.tags()?;
            Ok(ListOffsetsTopicResponse { name, partitions })
        })?;
        r.tags()?;
        Ok(Self {
            throttle_time_ms,
            topics,
        })
    }

    fn encode(&self, buf: &mut BytesMut, version: i16) {
        let w = &mut Writer::new(buf, Self::API_KEY.is_flexible(version));
        if version >= 2 {
            w.i32(self.throttle_time_ms);
        }
        w.array(&self.topics, |w, t| {
            w.string(&t.name);
            w.array(&t.partitions, |w, p| {
                w.i32(p.partition_index);
                w.i16(p.error_code);
                w.i64(p.timestamp);
                w.i64(p.offset);
                if version >= 4 {
                    w.i32(p.leader_epoch);
                }
                w.tags();
            });
            w.tags();
        });
        w.tags();
    }
}
