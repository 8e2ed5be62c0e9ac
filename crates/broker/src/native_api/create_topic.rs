//! CreateTopic.

use sluice_network::{Reply, Request};
use sluice_protocol::pb;

use crate::service::TopicOverrides;
use crate::service::topics::{CreateTopic, create_topic};
use crate::state::BrokerState;

pub(super) fn handle(state: &BrokerState, request: Request) -> Reply {
    let body: pb::CreateTopicRequest = match super::decode(&request) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let create = CreateTopic {
        name: body.name,
        partitions: Some(body.partitions),
        overrides: overrides(body.config.unwrap_or_default()),
        validate_only: false,
    };
    match crate::service::blocking(|| create_topic(state, &create)) {
        Ok(_) => super::respond(&request, &pb::CreateTopicResponse::default()),
        Err(error) => super::error_reply(&request, &error),
    }
}

/// The native wire's typed settings, field for field.
fn overrides(config: pb::TopicConfig) -> TopicOverrides {
    TopicOverrides {
        segment_bytes: config.segment_bytes,
        segment_ms: config.segment_ms,
        retention_bytes: config.retention_bytes,
        retention_ms: config.retention_ms,
        flush_messages: config.flush_messages,
        flush_interval_ms: config.flush_interval_ms,
        max_message_bytes: config.max_message_bytes,
    }
}
