//! FetchOffsets: a group's committed positions.

use sluice_network::{Reply, Request};
use sluice_protocol::consts::NO_OFFSET;
use sluice_protocol::{ErrorCode, pb};

use crate::errors::ApiError;
use crate::offsets::OffsetKey;
use crate::state::BrokerState;

pub(super) fn handle(state: &BrokerState, request: Request) -> Reply {
    let body: pb::FetchOffsetsRequest = match super::decode(&request) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    if body.group.is_empty() {
        return super::error_reply(
            &request,
            &ApiError::new(ErrorCode::InvalidGroup, "group name is empty"),
        );
    }
    let partitions = if body.partitions.is_empty() {
        state
            .offsets
            .group(&body.group)
            .into_iter()
            .map(|(key, committed)| pb::FetchOffsetsPartitionResponse {
                topic: key.topic,
                partition: key.partition,
                offset: committed.offset,
                metadata: committed.metadata,
                error_code: ErrorCode::None as i32,
            })
            .collect()
    } else {
        body.partitions
            .into_iter()
            .map(|tp| {
                let key = OffsetKey {
                    group: body.group.clone(),
                    topic: tp.topic,
                    partition: tp.partition,
                };
                let committed = state.offsets.get(&key);
                pb::FetchOffsetsPartitionResponse {
                    offset: committed.as_ref().map_or(NO_OFFSET, |c| c.offset),
                    metadata: committed.map(|c| c.metadata).unwrap_or_default(),
                    topic: key.topic,
                    partition: key.partition,
                    error_code: ErrorCode::None as i32,
                }
            })
            .collect()
    };
    super::respond(
        &request,
        &pb::FetchOffsetsResponse {
            partitions,
            ..Default::default()
        },
    )
}
