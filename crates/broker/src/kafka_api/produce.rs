//! Produce (v3+: one v2 batch per partition) and InitProducerId.
//!
//! Batches are appended in request order on the connection task, as in the
//! native produce; `acks = -1` answers after a flush covering every
//! partition's batch (the log's group commit), `acks = 1` right after the
//! append, `acks = 0` never. A batch with a producer id goes through the
//! partition's idempotence check (`crate::producers`) under the
//! partition's producer lock, held across check, append and record: a
//! retried batch is answered with its original offsets and not written
//! again.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use sluice_kafka::ErrorCode as K;
use sluice_kafka::api::init_producer_id::{InitProducerIdRequest, InitProducerIdResponse};
use sluice_kafka::api::produce::{
    ProducePartitionResponse, ProduceRequest, ProduceResponse, ProduceTopicResponse,
};
use sluice_network::{KafkaRequest, Reply};
use sluice_record::{BatchHeader, RecordError};
use tracing::{debug, info, warn};

use super::codes::api_error_code;
use crate::errors::ApiError;
use crate::native_api::produce::wait_durable;
use crate::partition::Partition;
use crate::producers::Check;
use crate::state::BrokerState;

/// A partition's batch, appended (or found to be a duplicate).
struct Appended {
    base_offset: i64,
    log_start_offset: i64,
    /// Flush up to here before an `acks = -1` answer.
    flush: (Arc<Partition>, i64),
}

/// A partition's failure: Kafka error code and message.
type Failure = (i16, String);

pub(super) fn handle(state: &BrokerState, request: &KafkaRequest, body: &ProduceRequest) -> Reply {
    let acks = body.acks;
    let valid_acks = matches!(acks, -1..=1);
    let mut flushes: Vec<(usize, usize, Arc<Partition>, i64)> = Vec::new();
    let mut responses = Vec::with_capacity(body.topics.len());
    for (t, topic) in body.topics.iter().enumerate() {
        let mut partitions = Vec::with_capacity(topic.partitions.len());
        for (p, data) in topic.partitions.iter().enumerate() {
            let result = if valid_acks {
                append(state, &topic.name, data.index, data.records.as_ref())
            } else {
                Err((
                    K::INVALID_REQUIRED_ACKS,
                    format!("acks must be -1, 0 or 1, got {acks}"),
                ))
            };
            let mut out = ProducePartitionResponse {
                index: data.index,
                ..ProducePartitionResponse::default()
            };
            match result {
                Ok(appended) => {
                    out.base_offset = appended.base_offset;
                    out.log_start_offset = appended.log_start_offset;
                    let (partition, target) = appended.flush;
                    flushes.push((t, p, partition, target));
                }
                Err((code, message)) => {
                    warn!(topic = %topic.name, partition = data.index, peer = %request.peer, code = K::name(code), %message, "Kafka produce rejected");
                    out.error_code = code;
                    out.error_message = Some(message);
                }
            }
            partitions.push(out);
        }
        responses.push(ProduceTopicResponse {
            name: topic.name.clone(),
            partitions,
        });
    }
    let mut response = ProduceResponse {
        responses,
        throttle_time_ms: 0,
    };
    match acks {
        0 => Reply::NoResponse,
        -1 if !flushes.is_empty() => {
            let header = request.header.clone();
            let timeout = (body.timeout_ms > 0)
                .then(|| Duration::from_millis(u64::try_from(body.timeout_ms).unwrap_or(0)));
            Reply::Later(Box::pin(async move {
                // One task per partition: their flushes run side by side.
                let waits: Vec<_> = flushes
                    .into_iter()
                    .map(|(t, p, partition, target)| {
                        (t, p, tokio::spawn(wait_durable(partition, target, timeout)))
                    })
                    .collect();
                for (t, p, wait) in waits {
                    let result = wait.await.unwrap_or_else(|join| {
                        Err(ApiError::new(
                            sluice_protocol::ErrorCode::Unknown,
                            join.to_string(),
                        ))
                    });
                    if let Err(error) = result
                        && let Some(out) = response
                            .responses
                            .get_mut(t)
                            .and_then(|topic| topic.partitions.get_mut(p))
                    {
                        out.error_code = api_error_code(&error);
                        out.error_message = Some(error.message);
                        out.base_offset = -1;
                    }
                }
                sluice_network::kafka_wire::response(&header, response)
            }))
        }
        _ => Reply::Ready(request.respond(response)),
    }
}

fn append(
    state: &BrokerState,
    topic: &str,
    index: i32,
    records: Option<&Bytes>,
) -> Result<Appended, Failure> {
    let partition = u32::try_from(index)
        .ok()
        .and_then(|index| state.topics.partition(topic, index).ok())
        .ok_or_else(|| {
            (
                K::UNKNOWN_TOPIC_OR_PARTITION,
                format!("unknown topic or partition {topic}-{index}"),
            )
        })?;
    let records = records.ok_or_else(|| (K::INVALID_RECORD, "null records".to_owned()))?;
    let header = one_batch(records)?;
    let storage_failure = |error: sluice_storage::StorageError| {
        let error = ApiError::from(error);
        (api_error_code(&error), error.message)
    };
    let info = if header.producer_id >= 0 {
        let mut producers = partition.producers();
        match producers.check(&header) {
            Check::Reject(code) => {
                return Err((
                    code,
                    format!(
                        "producer {} epoch {} sequence {} rejected",
                        header.producer_id, header.producer_epoch, header.base_sequence
                    ),
                ));
            }
            Check::Duplicate {
                base_offset,
                last_offset,
            } => {
                debug!(
                    topic,
                    partition = index,
                    producer_id = header.producer_id,
                    sequence = header.base_sequence,
                    base_offset,
                    "duplicate batch not written again"
                );
                return Ok(Appended {
                    base_offset,
                    log_start_offset: partition.log.log_start_offset(),
                    flush: (partition.clone(), last_offset + 1),
                });
            }
            Check::Append => {
                let info = partition.log.append(records).map_err(storage_failure)?;
                producers.record(&header, info.base_offset);
                info
            }
        }
    } else {
        partition.log.append(records).map_err(storage_failure)?
    };
    partition.after_append(&info);
    Ok(Appended {
        base_offset: info.base_offset,
        log_start_offset: info.log_start_offset,
        flush: (partition, info.last_offset + 1),
    })
}

/// The header of the one v2 batch `records` must be (Produce v3+). The
/// rest of the validation (CRC, counts, size) is the log's.
fn one_batch(records: &[u8]) -> Result<BatchHeader, Failure> {
    let header = BatchHeader::parse(records).map_err(|error| match error {
        RecordError::UnsupportedMagic { .. } => (K::INVALID_RECORD, error.to_string()),
        _ => (K::CORRUPT_MESSAGE, error.to_string()),
    })?;
    let size = header.total_size();
    if records.len() < size {
        return Err((K::CORRUPT_MESSAGE, "truncated record batch".to_owned()));
    }
    if records.len() > size {
        return Err((
            K::INVALID_RECORD,
            "produce v3+ carries exactly one record batch per partition".to_owned(),
        ));
    }
    Ok(header)
}

pub(super) fn init_producer_id(
    state: &BrokerState,
    request: &KafkaRequest,
    body: &InitProducerIdRequest,
) -> Reply {
    let response = if body.transactional_id.is_some() {
        warn!(peer = %request.peer, "transactional producers are not supported");
        InitProducerIdResponse {
            error_code: K::INVALID_REQUEST,
            ..InitProducerIdResponse::default()
        }
    } else {
        match crate::native_api::blocking(|| state.producer_ids.allocate()) {
            Ok(producer_id) => {
                info!(producer_id, peer = %request.peer, client = ?request.header.client_id, "producer id allocated");
                InitProducerIdResponse {
                    producer_id,
                    producer_epoch: 0,
                    ..InitProducerIdResponse::default()
                }
            }
            Err(error) => InitProducerIdResponse {
                error_code: api_error_code(&error),
                ..InitProducerIdResponse::default()
            },
        }
    };
    Reply::Ready(request.respond(response))
}
