//! CreateTopics and DeleteTopics over the same topic registry as the
//! native CreateTopic/DeleteTopic.
//!
//! Kafka topic configs map onto Sluice's topic settings where one exists
//! (`retention.ms`, `retention.bytes`, `segment.bytes`, `segment.ms`,
//! `max.message.bytes`, `flush.messages`, `flush.ms`); `compression.type`
//! is accepted as `producer` only (batches are stored as they come), and
//! anything else is INVALID_CONFIG rather than silently ignored.

use sluice_kafka::ErrorCode as K;
use sluice_kafka::api::create_topics::{
    CreatableTopic, CreatableTopicResult, CreateTopicsRequest, CreateTopicsResponse,
};
use sluice_kafka::api::delete_topics::{
    DeletableTopicResult, DeleteTopicsRequest, DeleteTopicsResponse,
};
use sluice_network::{KafkaRequest, Reply};
use sluice_protocol::{ErrorCode, pb};
use tracing::info;

use super::codes::api_error_code;
use crate::errors::ApiError;
use crate::native_api::blocking;
use crate::state::BrokerState;
use crate::topics::{MAX_PARTITIONS, validate_topic_name};

pub(super) fn create_topics(
    state: &BrokerState,
    request: &KafkaRequest,
    body: &CreateTopicsRequest,
) -> Reply {
    let topics = body
        .topics
        .iter()
        .map(|topic| {
            let result = create_one(state, topic, body.validate_only);
            match &result {
                Ok(()) if !body.validate_only => {
                    info!(topic = %topic.name, peer = %request.peer, "created topic (Kafka)");
                }
                _ => {}
            }
            let (error_code, error_message) = match result {
                Ok(()) => (K::NONE, None),
                Err(error) => (api_error_code(&error), Some(error.message)),
            };
            CreatableTopicResult {
                name: topic.name.clone(),
                error_code,
                error_message,
            }
        })
        .collect();
    Reply::Ready(request.respond(CreateTopicsResponse {
        throttle_time_ms: 0,
        topics,
    }))
}

fn create_one(
    state: &BrokerState,
    topic: &CreatableTopic,
    validate_only: bool,
) -> Result<(), ApiError> {
    let invalid = |code: ErrorCode, message: String| Err(ApiError::new(code, message));
    validate_topic_name(&topic.name)?;
    if !topic.assignments.is_empty() {
        return invalid(
            ErrorCode::InvalidRequest,
            "manual replica assignments are not supported".into(),
        );
    }
    if !matches!(topic.replication_factor, -1 | 1) {
        // No native code for it; INVALID_REQUEST would hide the reason.
        return Err(ApiError::new(
            ErrorCode::InvalidConfig,
            format!(
                "replication factor {} is not possible on a single node",
                topic.replication_factor
            ),
        ));
    }
    let partitions = match topic.num_partitions {
        -1 => state.topics.defaults.partitions,
        n => u32::try_from(n)
            .ok()
            .filter(|n| (1..=MAX_PARTITIONS).contains(n))
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::InvalidPartitions,
                    format!("partitions must be 1 to {MAX_PARTITIONS}, got {n}"),
                )
            })?,
    };
    let config = topic_config(topic)?;
    if validate_only {
        state
            .topics
            .defaults
            .with_overrides(partitions, &config)
            .log_config()?;
        if state.topics.get(&topic.name).is_some() {
            return invalid(
                ErrorCode::TopicAlreadyExists,
                format!("topic {} already exists", topic.name),
            );
        }
        return Ok(());
    }
    blocking(|| state.topics.create(&topic.name, partitions, &config)).map(|_| ())
}

fn topic_config(topic: &CreatableTopic) -> Result<pb::TopicConfig, ApiError> {
    let mut config = pb::TopicConfig::default();
    for entry in &topic.configs {
        let Some(value) = entry.value.as_deref() else {
            continue;
        };
        let bad = || {
            ApiError::new(
                ErrorCode::InvalidConfig,
                format!("invalid value {value:?} for {}", entry.name),
            )
        };
        let int = || value.parse::<i64>().map_err(|_| bad());
        let unsigned = || value.parse::<u64>().map_err(|_| bad());
        match entry.name.as_str() {
            "retention.ms" => config.retention_ms = Some(int()?),
            "retention.bytes" => config.retention_bytes = Some(int()?),
            "segment.bytes" => config.segment_bytes = Some(unsigned()?),
            "segment.ms" => config.segment_ms = Some(unsigned()?),
            "flush.messages" => config.flush_messages = Some(unsigned()?),
            "flush.ms" => config.flush_interval_ms = Some(unsigned()?),
            "max.message.bytes" => {
                config.max_message_bytes = Some(value.parse::<u32>().map_err(|_| bad())?);
            }
            "compression.type" if value == "producer" => {}
            other => {
                return Err(ApiError::new(
                    ErrorCode::InvalidConfig,
                    format!("topic config {other}={value} is not supported"),
                ));
            }
        }
    }
    Ok(config)
}

pub(super) fn delete_topics(
    state: &BrokerState,
    request: &KafkaRequest,
    body: &DeleteTopicsRequest,
) -> Reply {
    let responses = body
        .topic_names
        .iter()
        .map(|name| {
            let error_code = match blocking(|| state.delete_topic(name)) {
                Ok(()) => {
                    info!(topic = %name, peer = %request.peer, "deleted topic (Kafka)");
                    K::NONE
                }
                Err(error) => api_error_code(&error),
            };
            DeletableTopicResult {
                name: name.clone(),
                error_code,
            }
        })
        .collect();
    Reply::Ready(request.respond(DeleteTopicsResponse {
        throttle_time_ms: 0,
        responses,
    }))
}
