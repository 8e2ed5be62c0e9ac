//! OffsetFetch (api key 9), versions 1-5. A partition with no committed
//! offset answers -1 with no error.

use bytes::{Bytes, BytesMut};

use crate::wire::{Message, Reader, Writer};
use crate::{ApiKey, DecodeError};

/// OffsetFetch request.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct OffsetFetchRequest {
    /// Group id.
    pub group_id: String,
    /// Partitions per topic; null (v2+) asks for every committed offset.
    /// Encoded as an empty array in versions where null is not allowed.
    pub topics: Option<Vec<OffsetFetchTopic>>,
}

/// One topic in an OffsetFetch request.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct OffsetFetchTopic {
    /// Topic name.
    pub name: String,
    /// Partition indexes.
    pub partition_indexes: Vec<i32>,
}

impl Message for OffsetFetchRequest {
    const API_KEY: ApiKey = ApiKey::OffsetFetch;

    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        let r = &mut Reader::new(buf, Self::API_KEY.is_flexible(version));
        let group_id = r.string()?;
        let topics = r.nullable_array(|r| {
            let name = r.string()?;
            let partition_indexes = r.i32_array()?;
            r.tags()?;
            Ok(OffsetFetchTopic {
                name,
                partition_indexes,
            })
        })?;
        if topics.is_none() && version < 2 {
            return Err(DecodeError::InvalidLength { length: -1 });
        }
        r.tags()?;
        Ok(Self { group_id, topics })
    }

    fn encode(&self, buf: &mut BytesMut, version: i16) {
        let w = &mut Writer::new(buf, Self::API_KEY.is_flexible(version));
        w.string(&self.group_id);
        let topics = match (&self.topics, version) {
            (None, v) if v < 2 => Some(&[][..]),
            (t, _) => t.as_deref(),
        };
        w.nullable_array(topics, |w, t| {
            w.string(&t.name);
            w.i32_array(&t.partition_indexes);
            w.tags();
        });
        w.tags();
    }
}

/// OffsetFetch response.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct OffsetFetchResponse {
    /// Quota throttle (v3+).
    pub throttle_time_ms: i32,
    /// Offsets per topic.
    pub topics: Vec<OffsetFetchTopicResponse>,
    /// Group-level error (v2+).
    pub error_code: i16,
}

/// One topic in an OffsetFetch response.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct OffsetFetchTopicResponse {
    /// Topic name.
    pub name: String,
    /// Offsets per partition.
    pub partitions: Vec<OffsetFetchPartitionResponse>,
}

/// One partition in an OffsetFetch response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffsetFetchPartitionResponse {
    /// Partition index.
    pub partition_index: i32,
    /// Committed offset, -1 if none.
    pub committed_offset: i64,
    /// Leader epoch (v5+, default -1).
    pub committed_leader_epoch: i32,
    /// Metadata stored with the offset.
    pub metadata: Option<String>,
    /// See [`crate::ErrorCode`].
    pub error_code: i16,
}

impl Default for OffsetFetchPartitionResponse {
    fn default() -> Self {
        Self {
            partition_index: 0,
            committed_offset: -1,
            committed_leader_epoch: -1,
            metadata: None,
            error_code: 0,
        }
    }
}

impl Message for OffsetFetchResponse {
    const API_KEY: ApiKey = ApiKey::OffsetFetch;

    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        let r = &mut Reader::new(buf, Self::API_KEY.is_flexible(version));
        let throttle_time_ms = if version >= 3 { r.i32()? } else { 0 };
        let topics = r.array(|r| {
            let name = r.string()?;
            let partitions = r.array(|r| {
                let partition_index = r.i32()?;
                let committed_offset = r.i64()?;
                let committed_leader_epoch = if version >= 5 { r.i32()? } else { -1 };
                let metadata = r.nullable_string()?;
                let error_code = r.i16()?;
                r.tags()?;
                Ok(OffsetFetchPartitionResponse {
                    partition_index,
                    committed_offset,
                    committed_leader_epoch,
                    metadata,
                    error_code,
                })
            })?;
            r.tags()?;
            Ok(OffsetFetchTopicResponse { name, partitions })
        })?;
        let error_code = if version >= 2 { r.i16()? } else { 0 };
        r.tags()?;
        Ok(Self {
            throttle_time_ms,
            topics,
            error_code,
        })
    }

    fn encode(&self, buf: &mut BytesMut, version: i16) {
        let w = &mut Writer::new(buf, Self::API_KEY.is_flexible(version));
        if version >= 3 {
            w.i32(self.throttle_time_ms);
        }
        w.array(&self.topics, |w, t| {
            w.string(&t.name);
            w.array(&t.partitions, |w, p| {
                w.i32(p.partition_index);
                w.i64(p.committed_offset);
                if version >= 5 {
                    w.i32(p.committed_leader_epoch);
                }
                w.nullable_string(p.metadata.as_deref());
                w.i16(p.error_code);
                w.tags();
            });
            w.tags();
        });
        if version >= 2 {
            w.i16(self.error_code);
        }
        w.tags();
    }
}
