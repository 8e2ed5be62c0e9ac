//! ListOffsets: -1 the latest offset (the high watermark, also for
//! read_committed: there are no transactions), -2 the earliest (the log
//! start offset), otherwise the first offset whose timestamp is at or after
//! the given one (-1 if none).

use sluice_kafka::ErrorCode as K;
use sluice_kafka::api::list_offsets::{
    ListOffsetsPartition, ListOffsetsPartitionResponse, ListOffsetsRequest, ListOffsetsResponse,
    ListOffsetsTopicResponse,
};
use sluice_network::{KafkaRequest, Reply};

use super::codes::api_error_code;
use crate::errors::ApiError;
use crate::state::BrokerState;

const LATEST: i64 = -1;
const EARLIEST: i64 = -2;

pub(super) fn handle(
    state: &BrokerState,
    request: &KafkaRequest,
    body: &ListOffsetsRequest,
) -> Reply {
    let topics = body
        .topics
        .iter()
        .map(|topic| ListOffsetsTopicResponse {
            name: topic.name.clone(),
            partitions: topic
                .partitions
                .iter()
                .map(|p| {
                    let mut out = ListOffsetsPartitionResponse {
                        partition_index: p.partition_index,
                        ..ListOffsetsPartitionResponse::default()
                    };
                    match lookup(state, &topic.name, p) {
                        Ok((offset, timestamp)) => {
                            out.offset = offset;
                            out.timestamp = timestamp;
                        }
                        Err(code) => out.error_code = code,
                    }
                    out
                })
                .collect(),
        })
        .collect();
    Reply::Ready(request.respond(ListOffsetsResponse {
        throttle_time_ms: 0,
        topics,
    }))
}

/// `(offset, timestamp)` for one partition, or the Kafka error code.
fn lookup(state: &BrokerState, topic: &str, p: &ListOffsetsPartition) -> Result<(i64, i64), i16> {
    let partition = u32::try_from(p.partition_index)
        .ok()
        .and_then(|index| state.topics.partition(topic, index).ok())
        .ok_or(K::UNKNOWN_TOPIC_OR_PARTITION)?;
    match p.timestamp {
        LATEST => Ok((partition.log.high_watermark(), -1)),
        EARLIEST => Ok((partition.log.log_start_offset(), -1)),
        ts if ts < 0 => Err(K::INVALID_REQUEST),
        ts => match partition.log.offset_for_timestamp(ts) {
            Ok(Some(found)) => Ok((found.offset, found.timestamp)),
            Ok(None) => Ok((-1, -1)),
            Err(error) => Err(api_error_code(&ApiError::from(error))),
        },
    }
}
