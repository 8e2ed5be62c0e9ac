//! OffsetCommit and OffsetFetch over the same durable store as the native
//! CommitOffsets/FetchOffsets (`crate::offsets`), so a group can move
//! between the two protocols. A commit is checked against the group's
//! member and generation first, appended to `__consumer_offsets`, and
//! answered once flushed: [`crate::service::offsets`].

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

use super::codes::kafka_code;
use crate::offsets::Committed;
use crate::service::offsets::{self, CommitPartition, CommitRequest, CommitResults, commit};
use crate::state::BrokerState;

pub(super) fn commit_offsets(
    state: &Arc<BrokerState>,
    request: &KafkaRequest,
    body: &OffsetCommitRequest,
) -> Reply {
    let commit_request = CommitRequest {
        group: body.group_id.clone(),
        member_id: body.member_id.clone(),
        generation: body.generation_id,
        partitions: body
            .topics
            .iter()
            .flat_map(|topic| {
                topic.partitions.iter().map(|p| CommitPartition {
                    topic: topic.name.clone(),
                    partition: i64::from(p.partition_index),
                    offset: p.committed_offset,
                    metadata: p.committed_metadata.clone().unwrap_or_default(),
                })
            })
            .collect(),
        refuse_negative: false,
    };
    let count = commit_request.partitions.len();
    let shape: Vec<(String, Vec<i32>)> = body
        .topics
        .iter()
        .map(|t| {
            let indexes = t.partitions.iter().map(|p| p.partition_index).collect();
            (t.name.clone(), indexes)
        })
        .collect();
    match commit(state, commit_request) {
        // Kafka answers a refused commit on every partition.
        Err(error) => Reply::Ready(request.respond(respond(shape, vec![Err(error); count]))),
        Ok(results) => {
            let header = request.header.clone();
            results.into_reply(move |results| {
                sluice_network::kafka_wire::response(&header, respond(shape, results))
            })
        }
    }
}

fn respond(shape: Vec<(String, Vec<i32>)>, results: CommitResults) -> OffsetCommitResponse {
    let mut results = results.into_iter();
    let topics = shape
        .into_iter()
        .map(|(name, indexes)| OffsetCommitTopicResponse {
            name,
            partitions: indexes
                .into_iter()
                .zip(results.by_ref())
                .map(|(partition_index, result)| OffsetCommitPartitionResponse {
                    partition_index,
                    error_code: result.as_ref().err().map_or(K::NONE, kafka_code),
                })
                .collect(),
        })
        .collect();
    OffsetCommitResponse {
        topics,
        ..OffsetCommitResponse::default()
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
        // Every partition the group committed, grouped by topic (sorted).
        None => {
            let mut topics: Vec<OffsetFetchTopicResponse> = Vec::new();
            for (topic, partition, committed) in offsets::fetch(state, group, None) {
                let index = i32::try_from(partition).unwrap_or(i32::MAX);
                let partition = partition_response(index, committed);
                match topics.last_mut() {
                    Some(last) if last.name == topic => last.partitions.push(partition),
                    _ => topics.push(OffsetFetchTopicResponse {
                        name: topic,
                        partitions: vec![partition],
                    }),
                }
            }
            topics
        }
        // In the request's layout.
        Some(requested) => requested
            .iter()
            .map(|topic| {
                let wanted = topic
                    .partition_indexes
                    .iter()
                    .map(|&index| (topic.name.clone(), i64::from(index)))
                    .collect();
                OffsetFetchTopicResponse {
                    name: topic.name.clone(),
                    partitions: topic
                        .partition_indexes
                        .iter()
                        .zip(offsets::fetch(state, group, Some(wanted)))
                        .map(|(&index, (_, _, committed))| partition_response(index, committed))
                        .collect(),
                }
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
