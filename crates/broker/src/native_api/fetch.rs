//! Fetch: file slices per partition, sent after the body by the network
//! layer (sendfile by default); long poll until `min_bytes` or `max_wait_ms`.
//!
//! The broker never looks inside the record bytes: `PartitionLog::read`
//! returns positions of whole stored batches, and their lengths are fixed
//! here, when the response is built. Data below the high watermark never
//! changes, so the lengths stay true while the bytes are sent.
//!
//! Long poll: the request subscribes to each partition's append signal
//! *before* it first looks at the logs, so an append that lands between the
//! look and the wait still wakes it. It then sleeps until an append, the
//! deadline or shutdown, looks again, and answers as soon as `min_bytes` are
//! available or the wait is over.

use std::sync::Arc;
use std::time::Duration;

use sluice_network::{Reply, Request, Response};
use sluice_protocol::{ErrorCode, pb};
use sluice_storage::FileSlice;
use tokio::sync::watch;

use crate::errors::ApiError;
use crate::fetch_budget::FetchBudget;
use crate::file_range::file_range;
use crate::long_poll::long_poll;
use crate::partition::Partition;
use crate::state::BrokerState;

/// Request `max_bytes` when the client leaves it 0.
const DEFAULT_MAX_BYTES: u32 = 50 << 20;
/// Partition `max_bytes` when the client leaves it 0.
const DEFAULT_PARTITION_MAX_BYTES: u32 = 1 << 20;
/// Room left in a frame for the protobuf body.
const BODY_RESERVE: usize = 1 << 20;

struct Target {
    request: pb::FetchPartition,
    partition: Result<Arc<Partition>, ApiError>,
}

pub(super) fn handle(state: &Arc<BrokerState>, request: Request) -> Reply {
    let body: pb::FetchRequest = match super::decode(&request) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let correlation_id = request.header.correlation_id;
    let frame_room = state
        .config
        .max_frame_bytes
        .saturating_sub(BODY_RESERVE)
        .max(1);
    let max_bytes = match body.max_bytes {
        0 => DEFAULT_MAX_BYTES,
        n => n,
    }
    .min(u32::try_from(frame_room).unwrap_or(u32::MAX));
    let targets: Vec<Target> = body
        .partitions
        .into_iter()
        .map(|p| Target {
            partition: state.topics.partition(&p.topic, p.partition),
            request: p,
        })
        .collect();
    // Subscribed before the first look: see the module comment.
    let signals: Vec<watch::Receiver<i64>> = targets
        .iter()
        .filter_map(|t| t.partition.as_ref().ok().map(|p| p.subscribe()))
        .collect();

    let first = build(&targets, max_bytes);
    let min_bytes = u64::from(body.min_bytes);
    if first.bytes >= min_bytes || body.max_wait_ms == 0 || first.has_error || signals.is_empty() {
        return Reply::Ready(first.into_response(correlation_id));
    }
    let wait = Duration::from_millis(body.max_wait_ms.into());
    let stopping = state.stopping.clone();
    Reply::Later(Box::pin(async move {
        long_poll(signals, wait, stopping, || {
            let built = build(&targets, max_bytes);
            let enough = built.bytes >= min_bytes;
            (built, enough)
        })
        .await
        .into_response(correlation_id)
    }))
}

/// A fetch response with its slices, before encoding.
struct Built {
    body: pb::FetchResponse,
    slices: Vec<FileSlice>,
    bytes: u64,
    has_error: bool,
}

impl Built {
    fn into_response(self, correlation_id: u32) -> Response {
        let trailing = self.slices.iter().map(file_range).collect();
        Response::with_trailing(correlation_id, &self.body, trailing).unwrap_or_else(|error| {
            Response::error(
                correlation_id,
                ErrorCode::MessageTooLarge,
                error.to_string(),
            )
        })
    }
}

fn build(targets: &[Target], max_bytes: u32) -> Built {
    let mut budget = FetchBudget::new(u64::from(max_bytes));
    let mut built = Built {
        body: pb::FetchResponse::default(),
        slices: Vec::new(),
        bytes: 0,
        has_error: false,
    };
    for target in targets {
        let req = &target.request;
        let mut out = pb::FetchPartitionResponse {
            topic: req.topic.clone(),
            partition: req.partition,
            high_watermark: -1,
            log_start_offset: -1,
            ..Default::default()
        };
        match &target.partition {
            Err(error) => {
                out.error_code = error.code as i32;
                built.has_error = true;
            }
            Ok(partition) => {
                let limit = match req.max_bytes {
                    0 => DEFAULT_PARTITION_MAX_BYTES,
                    n => n,
                };
                let read = budget.read(partition, req.offset, u64::from(limit));
                out.high_watermark = read.high_watermark;
                out.log_start_offset = read.log_start_offset;
                if let Some(error) = read.error {
                    out.error_code = error.code as i32;
                    built.has_error = true;
                }
                // A slice never spans segments, and segments are smaller than 2 GiB.
                if let Some(slice) = read.slice
                    && let Ok(len) = u32::try_from(slice.len)
                {
                    out.records_len = len;
                    built.slices.push(slice);
                }
            }
        }
        built.body.partitions.push(out);
    }
    built.bytes = budget.bytes();
    built
}
