//! OffsetCommit and OffsetFetch over the same durable store as the native
//! CommitOffsets/FetchOffsets (`crate::offsets`), so a group can move
//! between the two protocols. A commit is checked against the group's
//! member and generation first (`Coordinator::check_commit`), appended to
//! `__consumer_offsets`, and answered once flushed.

use std::sync::Arc;

use sluice_kafka::ErrorCode as K;
use sluice_kafka::api::offset_commit::{
    OffsetCommitPartitionResponse, OffsetCommitRequest, OffsetCommitResponse,
    OffsetCommitTopicResponse,
};
use sluice_kafka::api::offset_fetch::{
    OffsetFetchPartitionResponse, OffsetFetchRequest, OffsetFetchResponse, OffsetFetchTopicResponse,
};
use sluice_network::{KafkaRequest, Reply};
use tracing::{debug, warn};

use super::codes::api_error_code;
use crate::errors::{ApiError, error_chain};
use crate::offsets::{Committed, OffsetKey};
use crate::state::BrokerState;

/// Largest metadata string stored with an offset (Kafka's default).
const MAX_METADATA: usize = 4096;

pub(super) fn commit(
    state: &Arc<BrokerState>,
    request: &KafkaRequest,
    body: &OffsetCommitRequest,
) -> Reply {
    let group_check = if body.group_id.is_empty() {
        K::INVALID_GROUP_ID
    } else {
        match state
            .groups
            .check_commit(&body.group_id, &body.member_id, body.generation_id)
        {
            Ok(()) => K::NONE,
            Err(error) => super::groups::group_error_code(error),
        }
    };
    let mut response = OffsetCommitResponse::default();
    // (topic index, partition index) of each entry in `entries`.
    let mut places = Vec::new();
    let mut entries = Vec::new();
    for (t, topic) in body.topics.iter().enumerate() {
        let mut partitions = Vec::with_capacity(topic.partitions.len());
        for (p, partition) in topic.partitions.iter().enumerate() {
            let metadata = partition.committed_metadata.clone().unwrap_or_default();
            let index = u32::try_from(partition.partition_index).ok();
            let error_code = if group_check != K::NONE {
                group_check
            } else if metadata.len() > MAX_METADATA {
                K::OFFSET_METADATA_TOO_LARGE
            } else if index
                .and_then(|i| state.topics.partition(&topic.name, i).ok())
                .is_none()
            {
                K::UNKNOWN_TOPIC_OR_PARTITION
            } else {
                K::NONE
            };
            if error_code == K::NONE
                && let Some(index) = index
            {
                places.push((t, p));
                entries.push((
                    OffsetKey {
                        group: body.group_id.clone(),
                        topic: topic.name.clone(),
                        partition: index,
                    },
                    Committed {
                        offset: partition.committed_offset,
                        metadata,
                    },
                ));
            }
            partitions.push(OffsetCommitPartitionResponse {
                partition_index: partition.partition_index,
                error_code,
            });
        }
        response.topics.push(OffsetCommitTopicResponse {
            name: topic.name.clone(),
            partitions,
        });
    }
    if entries.is_empty() {
        if group_check != K::NONE {
            debug!(group = %body.group_id, member = %body.member_id, generation = body.generation_id, code = K::name(group_check), "Kafka offset commit refused");
        }
        return Reply::Ready(request.respond(response));
    }
    let end = match state.offsets.commit(&entries) {
        Ok(end) => end,
        Err(error) => {
            warn!(group = %body.group_id, %error, "Kafka offset commit append failed");
            fail_all(&mut response, &places, &error);
            return Reply::Ready(request.respond(response));
        }
    };
    debug!(group = %body.group_id, partitions = entries.len(), peer = %request.peer, "offsets committed (Kafka)");
    let state = state.clone();
    let header = request.header.clone();
    Reply::Later(Box::pin(async move {
        let flushed = tokio::task::spawn_blocking(move || state.offsets.log.flush_to(end)).await;
        let error = match flushed {
            Ok(Ok(())) => None,
            Ok(Err(error)) => {
                warn!(error = %error_chain(&error), "flushing committed offsets failed");
                Some(ApiError::from(error))
            }
            Err(join) => Some(ApiError::new(
                sluice_protocol::ErrorCode::Unknown,
                join.to_string(),
            )),
        };
        if let Some(error) = error {
            fail_all(&mut response, &places, &error);
        }
        sluice_network::kafka::response(&header, response)
    }))
}

/// Sets `error` on every partition at `places` (the ones being committed).
fn fail_all(response: &mut OffsetCommitResponse, places: &[(usize, usize)], error: &ApiError) {
    for (t, p) in places {
        if let Some(out) = response
            .topics
            .get_mut(*t)
            .and_then(|topic| topic.partitions.get_mut(*p))
        {
            out.error_code = api_error_code(error);
        }
    }
}

/// Committed offsets: -1 (no error) where nothing is committed; a null
/// topic list (v2+) means every partition the group committed.
pub(super) fn fetch(
    state: &BrokerState,
    request: &KafkaRequest,
    body: &OffsetFetchRequest,
) -> Reply {
    let group = &body.group_id;
    let topics = match &body.topics {
        None => {
            let mut topics: Vec<OffsetFetchTopicResponse> = Vec::new();
            for (key, committed) in state.offsets.group(group) {
                let partition = partition_response(
                    i32::try_from(key.partition).unwrap_or(i32::MAX),
                    Some(committed),
                );
                match topics.last_mut() {
                    Some(last) if last.name == key.topic => last.partitions.push(partition),
                    _ => topics.push(OffsetFetchTopicResponse {
                        name: key.topic,
                        partitions: vec![partition],
                    }),
                }
            }
            topics
        }
        Some(requested) => requested
            .iter()
            .map(|topic| OffsetFetchTopicResponse {
                name: topic.name.clone(),
                partitions: topic
                    .partition_indexes
                    .iter()
                    .map(|&index| {
                        let committed = u32::try_from(index).ok().and_then(|partition| {
                            state.offsets.get(&OffsetKey {
                                group: group.clone(),
                                topic: topic.name.clone(),
                                partition,
                            })
                        });
                        partition_response(index, committed)
                    })
                    .collect(),
            })
            .collect(),
    };
    Reply::Ready(request.respond(OffsetFetchResponse {
        throttle_time_ms: 0,
        topics,
        error_code: K::NONE,
    }))
}

fn partition_response(index: i32, committed: Option<Committed>) -> OffsetFetchPartitionResponse {
    match committed {
        Some(c) => OffsetFetchPartitionResponse {
            partition_index: index,
            committed_offset: c.offset,
            committed_leader_epoch: -1,
            metadata: Some(c.metadata),
            error_code: K::NONE,
        },
        None => OffsetFetchPartitionResponse {
            partition_index: index,
            metadata: Some(String::new()),
            ..OffsetFetchPartitionResponse::default()
        },
    }
}
