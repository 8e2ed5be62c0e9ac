//! CreateTopic.

use sluice_network::{Reply, Request};
use sluice_protocol::pb;
use tracing::info;

use crate::state::BrokerState;

pub(super) fn handle(state: &BrokerState, request: Request) -> Reply {
    let body: pb::CreateTopicRequest = match super::decode(&request) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let config = body.config.unwrap_or_default();
    let result = super::blocking(|| state.topics.create(&body.name, body.partitions, &config));
    match result {
        Ok(topic) => {
            info!(topic = %topic.name, partitions = topic.partitions.len(), peer = %request.peer, "created topic");
            super::respond(&request, &pb::CreateTopicResponse::default())
        }
        Err(error) => super::error_reply(&request, &error),
    }
}
