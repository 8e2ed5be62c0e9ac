//! CommitOffsets: decode, [`crate::service::offsets::commit`], encode. A
//! refusal of the whole commit (no group, a stale member or generation) is
//! the response's error; partitions fail one by one in their entries.

use std::sync::Arc;

use sluice_network::{Reply, Request, Response};
use sluice_protocol::pb;

use crate::service::offsets::{CommitPartition, CommitRequest, CommitResults, commit};
use crate::state::BrokerState;

pub(super) fn handle(state: &Arc<BrokerState>, request: Request) -> Reply {
    let body: pb::CommitOffsetsRequest = match super::decode(&request) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let requested: Vec<(String, u32)> = body
        .partitions
        .iter()
        .map(|p| (p.topic.clone(), p.partition))
        .collect();
    let commit_request = CommitRequest {
        group: body.group,
        member_id: body.member_id,
        generation: body.generation_id.unwrap_or(-1),
        partitions: body
            .partitions
            .into_iter()
            .map(|p| CommitPartition {
                topic: p.topic,
                partition: i64::from(p.partition),
                offset: p.offset,
                metadata: p.metadata,
            })
            .collect(),
        refuse_negative: true,
    };
    let correlation_id = request.header.correlation_id;
    match commit(state, commit_request) {
        Err(error) => super::error_reply(&request, &error),
        Ok(results) => {
            results.into_reply(move |results| respond(correlation_id, requested, results))
        }
    }
}

fn respond(correlation_id: u32, requested: Vec<(String, u32)>, results: CommitResults) -> Response {
    let partitions = requested
        .into_iter()
        .zip(results)
        .map(
            |((topic, partition), result)| pb::CommitOffsetsPartitionResponse {
                topic,
                partition,
                error_code: super::code(&result),
            },
        )
        .collect();
    Response::message(
        correlation_id,
        &pb::CommitOffsetsResponse {
            partitions,
            ..Default::default()
        },
    )
}
