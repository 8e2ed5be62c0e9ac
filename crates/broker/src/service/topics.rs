//! Topic admin and lookup: create (with one validation of name, partition
//! count and settings), delete, auto-creation, and the partition a request
//! names.

use std::sync::Arc;

use tracing::info;

use super::{ServiceError, TopicOverrides};
use crate::partition::Partition;
use crate::state::BrokerState;
use crate::topics::{MAX_PARTITIONS, Topic, validate_topic_name};

/// The partition `index` of `topic` (a negative index, as a Kafka client may
/// send, is an unknown partition).
pub(crate) fn partition(
    state: &BrokerState,
    topic: &str,
    index: i64,
) -> Result<Arc<Partition>, ServiceError> {
    let index = u32::try_from(index).map_err(|_| ServiceError::unknown_partition(topic, index))?;
    state.topics.partition(topic, index)
}

/// A topic creation as a client asks for it.
#[derive(Debug, Clone, Default)]
pub(crate) struct CreateTopic {
    pub name: String,
    /// `None` for the broker default.
    pub partitions: Option<u32>,
    pub overrides: TopicOverrides,
    /// Check everything, create nothing (Kafka's `validate_only`).
    pub validate_only: bool,
}

/// Creates a topic (blocking file work: run it through
/// [`super::blocking`]). With `validate_only`, `Ok(None)` when it could
/// be created.
pub(crate) fn create_topic(
    state: &BrokerState,
    request: &CreateTopic,
) -> Result<Option<Arc<Topic>>, ServiceError> {
    let topics = &state.topics;
    let partitions = request.partitions.unwrap_or(topics.defaults.partitions);
    if !request.validate_only {
        return topics
            .create(&request.name, partitions, &request.overrides)
            .map(Some);
    }
    validate_topic_name(&request.name)?;
    check_partitions(partitions)?;
    topics
        .defaults
        .with_overrides(partitions, &request.overrides)
        .log_config()?;
    if topics.get(&request.name).is_some() {
        return Err(ServiceError::TopicExists {
            topic: request.name.clone(),
        });
    }
    Ok(None)
}

/// A topic's partition count must be 1 to [`MAX_PARTITIONS`].
pub(crate) fn check_partitions(partitions: u32) -> Result<(), ServiceError> {
    if partitions == 0 || partitions > MAX_PARTITIONS {
        return Err(ServiceError::InvalidPartitions(format!(
            "partitions must be 1 to {MAX_PARTITIONS}, got {partitions}"
        )));
    }
    Ok(())
}

/// The topic, created with the broker defaults if it does not exist, the
/// broker auto-creates topics and the request `allows` it (the creation's file work runs through
/// [`super::blocking`]). `None` when it does not exist and auto-creation is
/// off.
pub(crate) fn get_or_create(
    state: &BrokerState,
    name: &str,
    allows: bool,
) -> Result<Option<Arc<Topic>>, ServiceError> {
    if let Some(topic) = state.topics.get(name) {
        return Ok(Some(topic));
    }
    if !(allows && state.config.auto_create_topics) {
        return Ok(None);
    }
    let defaults = &state.topics.defaults;
    let created = super::blocking(|| {
        state
            .topics
            .create(name, defaults.partitions, &TopicOverrides::default())
    });
    match created {
        Ok(topic) => {
            info!(
                topic = name,
                partitions = topic.partitions.len(),
                "auto-created topic"
            );
            Ok(Some(topic))
        }
        // Created (or being deleted) by a concurrent request.
        Err(ServiceError::TopicExists { .. }) => match state.topics.get(name) {
            Some(topic) => Ok(Some(topic)),
            None => Err(ServiceError::TopicNotReady {
                topic: name.to_owned(),
            }),
        },
        Err(error) => Err(error),
    }
}

/// Deletes a topic, its data and every group's committed offsets for it
/// (blocking).
pub(crate) fn delete_topic(state: &BrokerState, name: &str) -> Result<(), ServiceError> {
    state
        .topics
        .delete(name, || state.offsets.forget_topic(name).map(|_| ()))
}
