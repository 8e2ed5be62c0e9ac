//! CommitOffsets: store a group's positions durably (acks=all semantics).

use std::sync::Arc;

use sluice_network::{Reply, Request, Response};
use sluice_protocol::{ErrorCode, pb};
use tracing::{debug, warn};

use crate::errors::{ApiError, error_chain};
use crate::offsets::{Committed, OffsetKey};
use crate::state::BrokerState;

/// Largest `metadata` string stored with an offset (Kafka's default).
const MAX_METADATA: usize = 4096;

pub(super) fn handle(state: &Arc<BrokerState>, request: Request) -> Reply {
    let body: pb::CommitOffsetsRequest = match super::decode(&request) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    if body.group.is_empty() {
        return super::error_reply(
            &request,
            &ApiError::new(ErrorCode::InvalidGroup, "group name is empty"),
        );
    }
    let generation = body.generation_id.unwrap_or(-1);
    if let Err(error) = state
        .groups
        .check_commit(&body.group, &body.member_id, generation)
    {
        let code = super::groups::error_code(error);
        return super::error_reply(&request, &ApiError::new(code, error.to_string()));
    }
    let mut results: Vec<(pb::CommitOffsetsPartitionResponse, Option<ApiError>)> = Vec::new();
    let mut valid = Vec::new();
    for p in body.partitions {
        let error = if p.offset < 0 {
            Some(ApiError::new(ErrorCode::InvalidOffset, "negative offset"))
        } else if p.metadata.len() > MAX_METADATA {
            Some(ApiError::new(
                ErrorCode::MessageTooLarge,
                "metadata too large",
            ))
        } else {
            state.topics.partition(&p.topic, p.partition).err()
        };
        if error.is_none() {
            valid.push((
                results.len(),
                OffsetKey {
                    group: body.group.clone(),
                    topic: p.topic.clone(),
                    partition: p.partition,
                },
                Committed {
                    offset: p.offset,
                    metadata: p.metadata,
                },
            ));
        }
        results.push((
            pb::CommitOffsetsPartitionResponse {
                topic: p.topic,
                partition: p.partition,
                ..Default::default()
            },
            error,
        ));
    }
    let correlation_id = request.header.correlation_id;
    if valid.is_empty() {
        return Reply::Ready(finish(correlation_id, results));
    }
    let entries: Vec<(OffsetKey, Committed)> = valid
        .iter()
        .map(|(_, k, v)| (k.clone(), v.clone()))
        .collect();
    let indexes: Vec<usize> = valid.iter().map(|(i, _, _)| *i).collect();
    let end = match state.offsets.commit(&entries) {
        Ok(end) => end,
        Err(error) => {
            warn!(group = %body.group, %error, "commit append failed");
            for i in indexes {
                results[i].1 = Some(error.clone());
            }
            return Reply::Ready(finish(correlation_id, results));
        }
    };
    debug!(group = %body.group, partitions = entries.len(), offset = end - 1, peer = %request.peer, "offsets committed");
    let state = state.clone();
    Reply::Later(Box::pin(async move {
        let flushed = tokio::task::spawn_blocking(move || state.offsets.log.flush_to(end)).await;
        let error = match flushed {
            Ok(Ok(())) => None,
            Ok(Err(error)) => {
                warn!(error = %error_chain(&error), "flushing committed offsets failed");
                Some(ApiError::from(error))
            }
            Err(join) => Some(ApiError::new(ErrorCode::Unknown, join.to_string())),
        };
        if let Some(error) = error {
            for i in indexes {
                results[i].1 = Some(error.clone());
            }
        }
        finish(correlation_id, results)
    }))
}

fn finish(
    correlation_id: u32,
    results: Vec<(pb::CommitOffsetsPartitionResponse, Option<ApiError>)>,
) -> Response {
    let partitions = results
        .into_iter()
        .map(|(mut p, error)| {
            p.error_code = super::code(&error);
            p
        })
        .collect();
    Response::message(
        correlation_id,
        &pb::CommitOffsetsResponse {
            partitions,
            ..Default::default()
        },
    )
}
