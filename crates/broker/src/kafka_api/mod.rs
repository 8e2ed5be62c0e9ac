//! The Kafka listener's request handling: one module per api (or per
//! family of apis) behind one dispatch, [`KafkaApi`], the
//! `sluice_network::KafkaHandler` of the broker.
//!
//! It serves the same topics, partition logs and committed offsets as the
//! native protocol ([`crate::native_api`]), with Kafka's semantics on top: a
//! single-node cluster whose node is always the leader and the group
//! coordinator, idempotent produce ([`crate::producers`]) and consumer
//! groups ([`crate::group`]). Framing, the ApiVersions fallback and
//! undecodable requests are handled before this, in
//! `sluice_network::kafka_wire`.

mod admin;
mod codes;
mod fetch;
mod groups;
mod list_offsets;
mod metadata;
mod offsets;
mod produce;

use std::sync::Arc;

use sluice_kafka::{Request, api_versions};
use sluice_network::{KafkaHandler, KafkaRequest, Reply};
use tracing::error;

use crate::state::BrokerState;

/// The node id this broker reports as leader, controller and coordinator.
pub const NODE_ID: i32 = 0;
/// The cluster id reported in Metadata.
pub const CLUSTER_ID: &str = "sluice";

/// The broker's [`KafkaHandler`].
#[derive(Debug, Clone)]
pub struct KafkaApi {
    state: Arc<BrokerState>,
}

impl KafkaApi {
    pub fn new(state: Arc<BrokerState>) -> KafkaApi {
        KafkaApi { state }
    }
}

impl KafkaHandler for KafkaApi {
    fn handle(&self, request: KafkaRequest) -> Reply {
        let state = &self.state;
        let r = &request;
        match &request.body {
            Request::ApiVersions(_) => Reply::Ready(r.respond(api_versions::response())),
            Request::Metadata(body) => metadata::handle(state, r, body),
            Request::Produce(body) => produce::handle(state, r, body),
            Request::InitProducerId(body) => produce::init_producer_id(state, r, body),
            Request::Fetch(body) => fetch::handle(state, r, body),
            Request::ListOffsets(body) => list_offsets::handle(state, r, body),
            Request::CreateTopics(body) => admin::create_topics(state, r, body),
            Request::DeleteTopics(body) => admin::delete_topics(state, r, body),
            Request::FindCoordinator(body) => groups::find_coordinator(state, r, body),
            Request::JoinGroup(body) => groups::join(state, r, body),
            Request::SyncGroup(body) => groups::sync(state, r, body),
            Request::Heartbeat(body) => groups::heartbeat(state, r, body),
            Request::LeaveGroup(body) => groups::leave(state, r, body),
            Request::ListGroups(_) => groups::list(state, r),
            Request::DescribeGroups(body) => groups::describe(state, r, body),
            Request::OffsetCommit(body) => offsets::commit_offsets(state, r, body),
            Request::OffsetFetch(body) => offsets::fetch(state, r, body),
            // The codec may learn apis before this dispatch does; every
            // decodable request is listed above.
            _ => {
                error!(
                    api_key = request.header.api_key,
                    "Kafka api decoded but not dispatched"
                );
                Reply::NoResponse
            }
        }
    }
}
