//! ListOffsets: decode, [`crate::service::list_offsets`], encode (-1 for
//! no offset or timestamp).

use sluice_kafka::api::list_offsets::{
    ListOffsetsPartitionResponse, ListOffsetsRequest, ListOffsetsResponse, ListOffsetsTopicResponse,
};
use sluice_network::{KafkaRequest, Reply};

use super::codes::kafka_code;
use crate::service::list_offsets::list_offset;
use crate::state::BrokerState;

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
                    let listed = list_offset(
                        state,
                        &topic.name,
                        i64::from(p.partition_index),
                        p.timestamp,
                    );
                    match listed {
                        Ok(found) => {
                            out.offset = found.map_or(-1, |f| f.offset);
                            out.timestamp = found.and_then(|f| f.timestamp).unwrap_or(-1);
                        }
                        Err(error) => out.error_code = kafka_code(&error),
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
