//! DeleteTopic.

use sluice_network::{Reply, Request};
use sluice_protocol::pb;
use tracing::info;

use crate::state::BrokerState;

pub(super) fn handle(state: &BrokerState, request: Request) -> Reply {
    let body: pb::DeleteTopicRequest = match super::decode(&request) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    match crate::service::blocking(|| crate::service::topics::delete_topic(state, &body.name)) {
        Ok(()) => {
            info!(topic = %body.name, "deleted topic");
            super::respond(&request, &pb::DeleteTopicResponse::default())
        }
        Err(error) => super::error_reply(&request, &error),
    }
}
