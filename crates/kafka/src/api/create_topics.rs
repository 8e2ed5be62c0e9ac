//! CreateTopics (api key 19), versions 2-4.

use bytes::{Bytes, BytesMut};

use crate::wire::{Message, Reader, Writer};
use crate::{ApiKey, DecodeError};

/// CreateTopics request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateTopicsRequest {
    /// Topics to create.
    pub topics: Vec<CreatableTopic>,
    /// How long to wait for creation.
    pub timeout_ms: i32,
    /// Check only, create nothing (v1+).
    pub validate_only: bool,
}

impl Default for CreateTopicsRequest {
    fn default() -> Self {
        Self {
            topics: Vec::new(),
            timeout_ms: 60_000,
            validate_only: false,
        }
    }
}

/// A topic to create.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CreatableTopic {
    /// Topic name.
    pub name: String,
    /// Partition count, or -1 for the default / manual assignment.
    pub num_partitions: i32,
    /// Replication factor, or -1 for the default / manual assignment.
    pub replication_factor: i16,
    /// Manual assignment, empty for automatic.
    pub assignments: Vec<CreatableReplicaAssignment>,
    /// Topic configs.
    pub configs: Vec<CreatableTopicConfig>,
}

/// A manual partition assignment.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CreatableReplicaAssignment {
    /// Partition index.
    pub partition_index: i32,
    /// Brokers to place it on.
    pub broker_ids: Vec<i32>,
}

/// A topic config entry.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CreatableTopicConfig {
    /// Config name.
    pub name: String,
    /// Config value.
    pub value: Option<String>,
}

impl Message for CreateTopicsRequest {
    const API_KEY: ApiKey = ApiKey::CreateTopics;

    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        let r = &mut Reader::new(buf, Self::API_KEY.is_flexible(version));
        let topics = r.array(|r| {
            let name = r.string()?;
            let num_partitions = r.i32()?;
            let replication_factor = r.i16()?;
            let assignments = r.array(|r| {
                let partition_index = r.i32()?;
                let broker_ids = r.i32_array()?;
                r.tags()?;
                Ok(CreatableReplicaAssignment {
                    partition_index,
                    broker_ids,
                })
            })?;
            let configs = r.array(|r| {
                let name = r.string()?;
                let value = r.nullable_string()?;
                r.tags()?;
                Ok(CreatableTopicConfig { name, value })
            })?;
            r.tags()?;
            Ok(CreatableTopic {
                name,
                num_partitions,
                replication_factor,
                assignments,
                configs,
            })
        })?;
        let timeout_ms = r.i32()?;
        let validate_only = if version >= 1 { r.bool()? } else { false };
        r.tags()?;
        Ok(Self {
            topics,
            timeout_ms,
            validate_only,
        })
    }

    fn encode(&self, buf: &mut BytesMut, version: i16) {
        let w = &mut Writer::new(buf, Self::API_KEY.is_flexible(version));
        w.array(&self.topics, |w, t| {
            w.string(&t.name);
            w.i32(t.num_partitions);
            w.i16(t.replication_factor);
            w.array(&t.assignments, |w, a| {
                w.i32(a.partition_index);
                w.i32_array(&a.broker_ids);
                w.tags();
            });
            w.array(&t.configs, |w, c| {
                w.string(&c.name);
                w.nullable_string(c.value.as_deref());
                w.tags();
            });
            w.tags();
        });
        w.i32(self.timeout_ms);
        if version >= 1 {
            w.bool(self.validate_only);
        }
        w.tags();
    }
}

/// CreateTopics response.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CreateTopicsResponse {
    /// Quota throttle (v2+).
    pub throttle_time_ms: i32,
    /// Result per topic.
    pub topics: Vec<CreatableTopicResult>,
}

/// One topic's creation result.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CreatableTopicResult {
    /// Topic name.
    pub name: String,
    /// See [`crate::ErrorCode`].
    pub error_code: i16,
    /// Error text (v1+).
    pub error_message: Option<String>,
}

impl Message for CreateTopicsResponse {
    const API_KEY: ApiKey = ApiKey::CreateTopics;

    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        let r = &mut Reader::new(buf, Self::API_KEY.is_flexible(version));
        let throttle_time_ms = if version >= 2 { r.i32()? } else { 0 };
        let topics = r.array(|r| {
            let name = r.string()?;
            let error_code = r.i16()?;
            let error_message = if version >= 1 {
                r.nullable_string()?
            } else {
                None
            };
            r.tags()?;
            Ok(CreatableTopicResult {
                name,
                error_code,
                error_message,
            })
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
            w.i16(t.error_code);
            if version >= 1 {
                w.nullable_string(t.error_message.as_deref());
            }
            w.tags();
        });
        w.tags();
    }
}
