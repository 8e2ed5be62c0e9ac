//! Produce (v3+: one v2 batch per partition) and InitProducerId.
//!
//! Each partition's batch goes through [`crate::service::produce`] (the
//! idempotence check, the append in request order on the connection task);
//! `acks = -1` answers once every partition's batch is flushed, `acks = 1`
//! right after the appends, `acks = 0` never.

use std::time::Duration;

use bytes::Bytes;
use sluice_kafka::ErrorCode as K;
use sluice_kafka::api::init_producer_id::{InitProducerIdRequest, InitProducerIdResponse};
use sluice_kafka::api::produce::{
    ProducePartitionResponse, ProduceRequest, ProduceResponse, ProduceTopicResponse,
};
use sluice_network::{KafkaRequest, Reply};
use sluice_record::{BatchHeader, RecordError};
use tracing::{info, warn};

use super::codes::kafka_code;
use crate::service::ServiceError;
use crate::service::produce::{Acks, Appended, append_batch};
use crate::state::BrokerState;

pub(super) fn handle(state: &BrokerState, request: &KafkaRequest, body: &ProduceRequest) -> Reply {
    let acks = Acks::parse(i32::from(body.acks));
    // (topic index, partition index, append) of each batch written.
    let mut written: Vec<(usize, usize, Appended)> = Vec::new();
    let mut responses = Vec::with_capacity(body.topics.len());
    for (t, topic) in body.topics.iter().enumerate() {
        let mut partitions = Vec::with_capacity(topic.partitions.len());
        for (p, data) in topic.partitions.iter().enumerate() {
            let result = acks.clone().and_then(|_| {
                let partition =
                    crate::service::topics::partition(state, &topic.name, i64::from(data.index))?;
                let records = data
                    .records
                    .as_ref()
                    .ok_or_else(|| ServiceError::InvalidRecord("null records".into()))?;
                let header = one_batch(records)?;
                append_batch(&partition, records, &header)
            });
            let mut out = ProducePartitionResponse {
                index: data.index,
                ..ProducePartitionResponse::default()
            };
            match result {
                Ok(appended) => {
                    out.base_offset = appended.base_offset;
                    out.log_start_offset = appended.log_start_offset;
                    written.push((t, p, appended));
                }
                Err(error) => {
                    out.error_code = kafka_code(&error);
                    warn!(topic = %topic.name, partition = data.index, code = K::name(out.error_code), error = %error.message(), "Kafka produce rejected");
                    out.error_message = Some(error.message());
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
        Ok(Acks::None) => Reply::NoResponse,
        Ok(Acks::All) if !written.is_empty() => {
            let header = request.header.clone();
            let timeout = u64::try_from(body.timeout_ms)
                .ok()
                .filter(|ms| *ms > 0)
                .map(Duration::from_millis);
            // One task per partition: their flushes run side by side.
            let waits: Vec<_> = written
                .iter()
                .map(|(t, p, appended)| (*t, *p, tokio::spawn(appended.durable(timeout))))
                .collect();
            Reply::Later(Box::pin(async move {
                for (t, p, wait) in waits {
                    let result = wait
                        .await
                        .unwrap_or_else(|join| Err(ServiceError::Internal(join.to_string())));
                    if let Err(error) = result
                        && let Some(out) = response
                            .responses
                            .get_mut(t)
                            .and_then(|topic| topic.partitions.get_mut(p))
                    {
                        out.error_code = kafka_code(&error);
                        out.error_message = Some(error.message());
                        out.base_offset = -1;
                    }
                }
                sluice_network::kafka_wire::response(&header, response)
            }))
        }
        _ => Reply::Ready(request.respond(response)),
    }
}

/// `records` must be exactly one v2 batch (Produce v3+): its header. The rest
/// of the validation (CRC, counts, size) is the log's.
fn one_batch(records: &Bytes) -> Result<BatchHeader, ServiceError> {
    let header = BatchHeader::parse(records).map_err(|error| match error {
        RecordError::UnsupportedMagic { .. } => ServiceError::InvalidRecord(error.to_string()),
        _ => ServiceError::CorruptMessage(error.to_string()),
    })?;
    let size = header.total_size();
    if records.len() < size {
        return Err(ServiceError::CorruptMessage(
            "truncated record batch".into(),
        ));
    }
    if records.len() > size {
        return Err(ServiceError::InvalidRecord(
            "produce v3+ carries exactly one record batch per partition".into(),
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
        warn!("transactional producers are not supported");
        InitProducerIdResponse {
            error_code: K::INVALID_REQUEST,
            ..InitProducerIdResponse::default()
        }
    } else {
        match crate::service::blocking(|| state.producer_ids.allocate()) {
            Ok(producer_id) => {
                info!(producer_id, client = ?request.header.client_id, "producer id allocated");
                InitProducerIdResponse {
                    producer_id,
                    producer_epoch: 0,
                    ..InitProducerIdResponse::default()
                }
            }
            Err(error) => InitProducerIdResponse {
                error_code: kafka_code(&error),
                ..InitProducerIdResponse::default()
            },
        }
    };
    Reply::Ready(request.respond(response))
}
