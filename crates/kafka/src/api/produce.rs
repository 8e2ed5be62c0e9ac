//! Produce (api key 0), versions 3-8. Record data stays a zero-copy slice of
//! the request body.

use bytes::{Bytes, BytesMut};

use crate::wire::{Message, Reader, Writer};
use crate::{ApiKey, DecodeError};

/// Produce request.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ProduceRequest {
    /// Null unless the producer is transactional (v3+).
    pub transactional_id: Option<String>,
    /// 0 (no response), 1 (leader) or -1 (all in-sync replicas).
    pub acks: i16,
    /// How long the client waits for the acknowledgement.
    pub timeout_ms: i32,
    /// Data per topic.
    pub topics: Vec<ProduceTopic>,
}

/// One topic's data in a produce request.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ProduceTopic {
    /// Topic name.
    pub name: String,
    /// Data per partition.
    pub partitions: Vec<ProducePartition>,
}

/// One partition's data in a produce request.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ProducePartition {
    /// Partition index.
    pub index: i32,
    /// Record batches as sent (v3+: exactly one v2 batch), a slice of the
    /// request frame.
    pub records: Option<Bytes>,
}

impl Message for ProduceRequest {
    const API_KEY: ApiKey = ApiKey::Produce;

    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        let r = &mut Reader::new(buf, Self::API_KEY.is_flexible(version));
        let transactional_id = if version >= 3 {
            r.nullable_string()?
        } else {
            None
        };
        let acks = r.i16()?;
        let timeout_ms = r.i32()?;
        let topics = r.array(|r| {
            let name = r.string()?;
            let partitions = r.array(|r| {
                let index = r.i32()?;
                let records = r.nullable_bytes()?;
                r.tags()?;
                Ok(ProducePartition { index, records })
            })?;
            r.tags()?;
            Ok(ProduceTopic { name, partitions })
        })?;
        r.tags()?;
        Ok(Self {
            transactional_id,
            acks,
            timeout_ms,
            topics,
        })
    }

    fn encode(&self, buf: &mut BytesMut, version: i16) {
        let w = &mut Writer::new(buf, Self::API_KEY.is_flexible(version));
        if version >= 3 {
            w.nullable_string(self.transactional_id.as_deref());
        }
        w.i16(self.acks);
        w.i32(self.timeout_ms);
        w.array(&self.topics, |w, t| {
            w.string(&t.name);
            w.array(&t.partitions, |w, p| {
                w.i32(p.index);
                w.nullable_bytes(p.records.as_deref());
                w.tags();
            });
            w.tags();
        });
        w.tags();
    }
}

/// Produce response.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ProduceResponse {
    /// Results per topic.
    pub responses: Vec<ProduceTopicResponse>,
    /// Quota throttle (v1+).
    pub throttle_time_ms: i32,
}

/// One topic's results in a produce response.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ProduceTopicResponse {
    /// Topic name.
    pub name: String,
    /// Results per partition.
    pub partitions: Vec<ProducePartitionResponse>,
}

/// One partition's result in a produce response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProducePartitionResponse {
    /// Partition index.
    pub index: i32,
    /// See [`crate::ErrorCode`].
    pub error_code: i16,
    /// Offset assigned to the first record.
    pub base_offset: i64,
    /// Broker append time for LogAppendTime topics, else -1 (v2+).
    pub log_append_time_ms: i64,
    /// Log start offset (v5+, default -1).
    pub log_start_offset: i64,
    /// Records that made the batch fail (v8+).
    pub record_errors: Vec<BatchIndexAndErrorMessage>,
    /// Summary of the failure (v8+).
    pub error_message: Option<String>,
}

impl Default for ProducePartitionResponse {
    fn default() -> Self {
        Self {
            index: 0,
            error_code: 0,
            base_offset: -1,
            log_append_time_ms: -1,
            log_start_offset: -1,
            record_errors: Vec::new(),
            error_message: None,
        }
    }
}

/// A record that caused its batch to be dropped (v8+).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct BatchIndexAndErrorMessage {
    /// Index of the record within the batch.
    pub batch_index: i32,
    /// Why.
    pub message: Option<String>,
}

impl Message for ProduceResponse {
    const API_KEY: ApiKey = ApiKey::Produce;

    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        let r = &mut Reader::new(buf, Self::API_KEY.is_flexible(version));
        let responses = r.array(|r| {
            let name = r.string()?;
            let partitions = r.array(|r| decode_partition(r, version))?;
            r.tags()?;
            Ok(ProduceTopicResponse { name, partitions })
        })?;
        let throttle_time_ms = if version >= 1 { r.i32()? } else { 0 };
        r.tags()?;
        Ok(Self {
            responses,
            throttle_time_ms,
        })
    }

    fn encode(&self, buf: &mut BytesMut, version: i16) {
        let w = &mut Writer::new(buf, Self::API_KEY.is_flexible(version));
        w.array(&self.responses, |w, t| {
            w.string(&t.name);
            w.array(&t.partitions, |w, p| encode_partition(w, p, version));
            w.tags();
        });
        if version >= 1 {
            w.i32(self.throttle_time_ms);
        }
        w.tags();
    }
}

fn decode_partition(
    r: &mut Reader<'_>,
    version: i16,
) -> Result<ProducePartitionResponse, DecodeError> {
    let mut p = ProducePartitionResponse {
        index: r.i32()?,
        error_code: r.i16()?,
        base_offset: r.i64()?,
        ..ProducePartitionResponse::default()
    };
    if version >= 2 {
        p.log_append_time_ms = r.i64()?;
    }
    if version >= 5 {
        p.log_start_offset = r.i64()?;
    }
    if version >= 8 {
        p.record_errors = r.array(|r| {
            let batch_index = r.i32()?;
            let message = r.nullable_string()?;
            r.tags()?;
            Ok(BatchIndexAndErrorMessage {
                batch_index,
                message,
            })
        })?;
        p.error_message = r.nullable_string()?;
    }
    r.tags()?;
    Ok(p)
}

fn encode_partition(w: &mut Writer<'_>, p: &ProducePartitionResponse, version: i16) {
    w.i32(p.index);
    w.i16(p.error_code);
    w.i64(p.base_offset);
    if version >= 2 {
        w.i64(p.log_append_time_ms);
    }
    if version >= 5 {
        w.i64(p.log_start_offset);
    }
    if version >= 8 {
        w.array(&p.record_errors, |w, e| {
            w.i32(e.batch_index);
            w.nullable_string(e.message.as_deref());
            w.tags();
        });
        w.nullable_string(p.error_message.as_deref());
    }
    w.tags();
}
