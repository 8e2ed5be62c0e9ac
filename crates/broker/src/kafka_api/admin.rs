//! CreateTopics and DeleteTopics over the same topic registry as the
//! native CreateTopic/DeleteTopic.
//!
//! Topic configs are the names of [`crate::service::SETTINGS`]; anything
//! else is INVALID_CONFIG rather than silently ignored.

use sluice_kafka::ErrorCode as K;
use sluice_kafka::api::create_topics::{
    CreatableTopic, CreatableTopicResult, CreateTopicsRequest, CreateTopicsResponse,
};
use sluice_kafka::api::delete_topics::{
    DeletableTopicResult, DeleteTopicsRequest, DeleteTopicsResponse,
};
use sluice_network::{KafkaRequest, Reply};
use tracing::info;

use super::codes::kafka_code;
use crate::service::topics::{CreateTopic, create_topic, delete_topic};
use crate::service::{ServiceError, TopicOverrides, blocking};
use crate::state::BrokerState;

pub(super) fn create_topics(
    state: &BrokerState,
    request: &KafkaRequest,
    body: &CreateTopicsRequest,
) -> Reply {
    let topics = body
        .topics
        .iter()
        .map(|topic| {
            let result = creation(topic, body.validate_only)
                .and_then(|create| blocking(|| create_topic(state, &create)));
            let (error_code, error_message) = match result {
                Ok(_) => (K::NONE, None),
                Err(error) => (kafka_code(&error), Some(error.message())),
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

/// The creation a Kafka CreatableTopic asks for, or why it cannot be done
/// on this broker.
fn creation(topic: &CreatableTopic, validate_only: bool) -> Result<CreateTopic, ServiceError> {
    if !topic.assignments.is_empty() {
        return Err(ServiceError::InvalidRequest(
            "manual replica assignments are not supported".into(),
        ));
    }
    if !matches!(topic.replication_factor, -1 | 1) {
        return Err(ServiceError::InvalidConfig(format!(
            "replication factor {} is not possible on a single node",
            topic.replication_factor
        )));
    }
    let partitions = match topic.num_partitions {
        -1 => None,
        n => Some(u32::try_from(n).map_err(|_| {
            ServiceError::InvalidPartitions(format!("partitions must be positive, got {n}"))
        })?),
    };
    let mut overrides = TopicOverrides::default();
    for entry in &topic.configs {
        // A null value leaves the default, as Kafka.
        if let Some(value) = entry.value.as_deref() {
            overrides.set(&entry.name, value)?;
        }
    }
    Ok(CreateTopic {
        name: topic.name.clone(),
        partitions,
        overrides,
        validate_only,
    })
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
            let error_code = match blocking(|| delete_topic(state, name)) {
                Ok(()) => {
                    info!(topic = %name, "deleted topic (Kafka)");
                    K::NONE
                }
                Err(error) => kafka_code(&error),
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
