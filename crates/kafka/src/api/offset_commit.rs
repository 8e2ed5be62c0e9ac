//! OffsetCommit (api key 8), versions 2-7.

use bytes::{Bytes, BytesMut};

use crate::wire::{Message, Reader, Writer};
use crate::{ApiKey, DecodeError};

/// OffsetCommit request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffsetCommitRequest {
    /// Group id.
    pub group_id: String,
    /// Generation, -1 for a simple (assign()) consumer (v1+).
    pub generation_id: i32,
    /// Member id, empty for a simple consumer (v1+).
    pub member_id: String,
    /// Static membership id (v7+).
    pub group_instance_id: Option<String>,
    /// Retention, -1 for the broker default (v2-4 only).
    pub retention_time_ms: i64,
    /// Offsets per topic.
    pub topics: Vec<OffsetCommitTopic>,
}

impl Default for OffsetCommitRequest {
    fn default() -> Self {
        Self {
            group_id: String::new(),
            generation_id: -1,
            member_id: String::new(),
            group_instance_id: None,
            retention_time_ms: -1,
            topics: Vec::new(),
        }
    }
}

/// One topic in an OffsetCommit request.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct OffsetCommitTopic {
    /// Topic name.
    pub name: String,
    /// Offsets per partition.
    pub partitions: Vec<OffsetCommitPartition>,
}

/// One partition's offset in an OffsetCommit request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffsetCommitPartition {
    /// Partition index.
    pub partition_index: i32,
    /// Offset to commit (the next one to consume).
    pub committed_offset: i64,
    /// Leader epoch (v6+, default -1).
    pub committed_leader_epoch: i32,
    /// Client metadata stored with the offset.
    pub committed_metadata: Option<String>,
}

impl Default for OffsetCommitPartition {
    fn default() -> Self {
        Self {
            partition_index: 0,
            committed_offset: 0,
            committed_leader_epoch: -1,
            committed_metadata: None,
        }
    }
}

impl Message for OffsetCommitRequest {
    const API_KEY: ApiKey = ApiKey::OffsetCommit;

    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        let r = &mut Reader::new(buf, Self::API_KEY.is_flexible(version));
        let mut req = OffsetCommitRequest {
            group_id: r.string()?,
            ..OffsetCommitRequest::default()
        };
        if version >= 1 {
            req.generation_id = r.i32()?;
            req.member_id = r.string()?;
        }
        if version >= 7 {
            req.group_instance_id = r.nullable_string()?;
        }
        if (2..=4).contains(&version) {
            req.retention_time_ms = r.i64()?;
        }
        req.topics = r.array(|r| {
            let name = r.string()?;
            let partitions = r.array(|r| {
                let mut p = OffsetCommitPartition {
                    partition_index: r.i32()?,
                    committed_offset: r.i64()?,
                    ..OffsetCommitPartition::default()
                };
                if version >= 6 {
                    p.committed_leader_epoch = r.i32()?;
                }
                if version == 1 {
                    let _commit_timestamp = r.i64()?;
                }
                p.committed_metadata = r.nullable_string()?;
                r.tags()?;
                Ok(p)
            })?;
            r.tags()?;
            Ok(OffsetCommitTopic { name, partitions })
        })?;
        r.tags()?;
        Ok(req)
    }

    fn encode(&self, buf: &mut BytesMut, version: i16) {
        let w = &mut Writer::new(buf, Self::API_KEY.is_flexible(version));
        w.string(&self.group_id);
        if version >= 1 {
            w.i32(self.generation_id);
            w.string(&self.member_id);
        }
        if version >= 7 {
            w.nullable_string(self.group_instance_id.as_deref());
        }
        if (2..=4).contains(&version) {
            w.i64(self.retention_time_ms);
        }
        w.array(&self.topics, |w, t| {
            w.string(&t.name);
            w.array(&t.partitions, |w, p| {
                w.i32(p.partition_index);
                w.i64(p.committed_offset);
                if version >= 6 {
                    w.i32(p.committed_leader_epoch);
                }
                if version == 1 {
                    w.i64(-1);
                }
                w.nullable_string(p.committed_metadata.as_deref());
                w.tags();
            });
            w.tags();
        });
        w.tags();
    }
}

/// OffsetCommit response.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct OffsetCommitResponse {
    /// Quota throttle (v3+).
    pub throttle_time_ms: i32,
    /// Results per topic.
    pub topics: Vec<OffsetCommitTopicResponse>,
}

/// One topic in an OffsetCommit response.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct OffsetCommitTopicResponse {
    /// Topic name.
    pub name: String,
    /// Results per partition.
    pub partitions: Vec<OffsetCommitPartitionResponse>,
}

/// One partition in an OffsetCommit response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct OffsetCommitPartitionResponse {
    /// Partition index.
    pub partition_index: i32,
    /// See [`crate::ErrorCode`].
    pub error_code: i16,
}

impl Message for OffsetCommitResponse {
    const API_KEY: ApiKey = ApiKey::OffsetCommit;

    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        let r = &mut Reader::new(buf, Self::API_KEY.is_flexible(version));
        let throttle_time_ms = if version >= 3 { r.i32()? } else { 0 };
        let topics = r.array(|r| {
            let name = r.string()?;
            let partitions = r.array(|r| {
                let partition_index = r.i32()?;
                let error_code = r.i16()?;
                r.tags()?;
                Ok(OffsetCommitPartitionResponse {
                    partition_index,
                    error_code,
                })
            })?;
            r.tags()?;
            Ok(OffsetCommitTopicResponse { name, partitions })
        })?;
        r.tags()?;
        Ok(Self {
            throttle_time_ms,
            topics,
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
                w.i16(p.error_code);
                w.tags();
            });
            w.tags();
        });
        w.tags();
    }
}
