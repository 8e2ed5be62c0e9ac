//! ListOffsets: latest, earliest, or the first offset at a timestamp.

use sluice_network::{Reply, Request};
use sluice_protocol::consts::{EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, NO_OFFSET, NO_TIMESTAMP};
use sluice_protocol::{ErrorCode, pb};

use crate::errors::ApiError;
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
            let mut out = pb::ListOffsetsPartitionResponse {
                topic: p.topic.clone(),
                partition: p.partition,
                offset: NO_OFFSET,
                timestamp: NO_TIMESTAMP,
                ..Default::default()
            };
            match lookup(state, &p) {
                Ok((offset, timestamp)) => {
                    out.offset = offset;
                    out.timestamp = timestamp;
                }
                Err(error) => out.error_code = error.code as i32,
            }
            out
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

fn lookup(state: &BrokerState, p: &pb::ListOffsetsPartition) -> Result<(i64, i64), ApiError> {
    let partition = state.topics.partition(&p.topic, p.partition)?;
    match p.timestamp {
        LATEST_TIMESTAMP => Ok((partition.log.high_watermark(), NO_TIMESTAMP)),
        EARLIEST_TIMESTAMP => Ok((partition.log.log_start_offset(), NO_TIMESTAMP)),
        ts if ts < 0 => Err(ApiError::new(
            ErrorCode::InvalidRequest,
            format!("timestamp {ts} is neither -1, -2 nor a time"),
        )),
        ts => Ok(partition
            .log
            .offset_for_timestamp(ts)?
            .map_or((NO_OFFSET, NO_TIMESTAMP), |found| {
                (found.offset, found.timestamp)
            })),
    }
}
