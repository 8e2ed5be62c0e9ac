//! FetchOffsets: a group's committed positions
//! ([`crate::service::offsets::fetch`]).

use sluice_network::{Reply, Request};
use sluice_protocol::consts::NO_OFFSET;
use sluice_protocol::{ErrorCode, pb};

use crate::group::state::GroupError;
use crate::service::ServiceError;
use crate::state::BrokerState;

pub(super) fn handle(state: &BrokerState, request: Request) -> Reply {
    let body: pb::FetchOffsetsRequest = match super::decode(&request) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    if body.group.is_empty() {
        let error = ServiceError::group(&body.group, GroupError::InvalidGroupId);
        return super::error_reply(&request, &error);
    }
    let requested = (!body.partitions.is_empty()).then(|| {
        body.partitions
            .into_iter()
            .map(|tp| (tp.topic, i64::from(tp.partition)))
            .collect()
    });
    let partitions = crate::service::offsets::fetch(state, &body.group, requested)
        .into_iter()
        .map(
            |(topic, partition, committed)| pb::FetchOffsetsPartitionResponse {
                topic,
                partition: u32::try_from(partition).unwrap_or(u32::MAX),
                offset: committed.as_ref().map_or(NO_OFFSET, |c| c.offset),
                metadata: committed.map(|c| c.metadata).unwrap_or_default(),
                error_code: ErrorCode::None as i32,
            },
        )
        .collect();
    super::respond(
        &request,
        &pb::FetchOffsetsResponse {
            partitions,
            ..Default::default()
        },
    )
}
