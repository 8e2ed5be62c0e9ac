//! Fetch: decode, [`crate::service::fetch`], and a response whose record
//! bytes are the partitions' file slices, sent after the body by the
//! network layer (sendfile by default).

use std::sync::Arc;
use std::time::Duration;

use sluice_network::{Reply, Request, Response};
use sluice_protocol::{ErrorCode, pb};

use super::codes::native_code;
use crate::file_range::file_range;
use crate::service::fetch::{FetchLimits, FetchTarget, PartitionRead, fetch};
use crate::state::BrokerState;

pub(super) fn handle(state: &Arc<BrokerState>, request: Request) -> Reply {
    let body: pb::FetchRequest = match super::decode(&request) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let correlation_id = request.header.correlation_id;
    let targets = body
        .partitions
        .iter()
        .map(|p| {
            FetchTarget::new(
                state,
                &p.topic,
                i64::from(p.partition),
                p.offset,
                Some(u64::from(p.max_bytes)),
            )
        })
        .collect();
    let limits = FetchLimits {
        max_bytes: Some(u64::from(body.max_bytes)),
        min_bytes: u64::from(body.min_bytes),
        max_wait: Duration::from_millis(body.max_wait_ms.into()),
    };
    let requested: Vec<(String, u32)> = body
        .partitions
        .into_iter()
        .map(|p| (p.topic, p.partition))
        .collect();
    fetch(state, targets, limits).into_reply(move |reads| respond(correlation_id, requested, reads))
}

fn respond(
    correlation_id: u32,
    requested: Vec<(String, u32)>,
    reads: Vec<PartitionRead>,
) -> Response {
    let mut body = pb::FetchResponse::default();
    let mut slices = Vec::new();
    for ((topic, partition), read) in requested.into_iter().zip(reads) {
        let mut out = pb::FetchPartitionResponse {
            topic,
            partition,
            high_watermark: read.high_watermark,
            log_start_offset: read.log_start_offset,
            error_code: read.error.as_ref().map_or(ErrorCode::None, native_code) as i32,
            ..Default::default()
        };
        // A slice never spans segments, and segments are smaller than 2 GiB.
        if let Some(slice) = read.slice
            && let Ok(len) = u32::try_from(slice.len)
        {
            out.records_len = len;
            slices.push(file_range(&slice));
        }
        body.partitions.push(out);
    }
    Response::with_trailing(correlation_id, &body, slices).unwrap_or_else(|error| {
        Response::error(
            correlation_id,
            ErrorCode::MessageTooLarge,
            error.to_string(),
        )
    })
}
