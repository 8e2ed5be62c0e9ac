//! Metadata: topics, partitions and their offsets.

use sluice_network::{Reply, Request};
use sluice_protocol::{ErrorCode, pb};

use crate::state::BrokerState;
use crate::topics::Topic;

pub(super) fn handle(state: &BrokerState, request: Request) -> Reply {
    let body: pb::MetadataRequest = match super::decode(&request) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let topics = if body.topics.is_empty() {
        state.topics.all().iter().map(|t| describe(t)).collect()
    } else {
        body.topics
            .iter()
            .map(|name| match state.topics.get(name) {
                Some(topic) => describe(&topic),
                None => pb::TopicMetadata {
                    name: name.clone(),
                    error_code: ErrorCode::UnknownTopicOrPartition as i32,
                    ..Default::default()
                },
            })
            .collect()
    };
    super::respond(
        &request,
        &pb::MetadataResponse {
            topics,
            ..Default::default()
        },
    )
}

fn describe(topic: &Topic) -> pb::TopicMetadata {
    let online = topic.partitions.iter().map(|p| pb::PartitionMetadata {
        partition: p.index,
        error_code: ErrorCode::None as i32,
        log_start_offset: p.log.log_start_offset(),
        log_end_offset: p.log.log_end_offset(),
        high_watermark: p.log.high_watermark(),
        size_bytes: p.log.size_bytes(),
    });
    let offline = topic.offline.keys().map(|&index| pb::PartitionMetadata {
        partition: index,
        error_code: ErrorCode::StorageError as i32,
        ..Default::default()
    });
    let mut partitions: Vec<_> = online.chain(offline).collect();
    partitions.sort_by_key(|p| p.partition);
    pb::TopicMetadata {
        name: topic.name.clone(),
        error_code: ErrorCode::None as i32,
        partitions,
        config: Some(topic_config(&topic.settings)),
    }
}

/// The native wire's typed settings, field for field.
fn topic_config(settings: &crate::service::TopicSettings) -> pb::TopicConfig {
    pb::TopicConfig {
        segment_bytes: Some(settings.segment_bytes),
        segment_ms: Some(settings.segment_ms),
        retention_bytes: Some(settings.retention_bytes),
        retention_ms: Some(settings.retention_ms),
        flush_messages: Some(settings.flush_messages),
        flush_interval_ms: Some(settings.flush_interval_ms),
        max_message_bytes: Some(settings.max_message_bytes),
    }
}
