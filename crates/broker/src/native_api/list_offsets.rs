//! ListOffsets: decode, [`crate::service::list_offsets`], encode.

use sluice_network::{Reply, Request};
use sluice_protocol::consts::{NO_OFFSET, NO_TIMESTAMP};
use sluice_protocol::pb;

use crate::service::list_offsets::list_offset;
use crate::state::BrokerState;

pub(super) fn handle(state: &BrokerState, request: Request) -> Reply {
    let body: pb::ListOffsetsRequest = match super::decode(&request) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let partitions = body
        .partitions
        .into_iter()
        .map(|p| {
            let listed = list_offset(state, &p.topic, i64::from(p.partition), p.timestamp);
            let found = listed.as_ref().ok().copied().flatten();
            pb::ListOffsetsPartitionResponse {
                error_code: super::code(&listed),
                offset: found.map_or(NO_OFFSET, |f| f.offset),
                timestamp: found.and_then(|f| f.timestamp).unwrap_or(NO_TIMESTAMP),
                topic: p.topic,
                partition: p.partition,
            }
        })
        .collect();
    super::respond(
        &request,
        &pb::ListOffsetsResponse {
            partitions,
            ..Default::default()
        },
    )
}
