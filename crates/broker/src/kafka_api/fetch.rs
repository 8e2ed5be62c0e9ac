//! Fetch, sessionless: every request is a full fetch (session id 0 in the
//! answer), and the answer lists exactly the requested partitions, in
//! request order.
//!
//! Records are file slices of whole stored batches, as in the native fetch,
//! sent after the encoded pieces by the same transfer path (sendfile by
//! default): `sluice_network::kafka_wire::fetch_response`. The first batch comes
//! whole even when larger than the limits, so a consumer always progresses.
//! `max_wait_ms`/`min_bytes` use the native long poll. No transactions, so
//! the last stable offset is the high watermark.

use std::sync::Arc;
use std::time::Duration;

use sluice_kafka::ErrorCode as K;
use sluice_kafka::api::fetch::FetchRequest;
use sluice_kafka::api::fetch_response::{FetchPartitionResponse, FetchTopicResponse};
use sluice_kafka::{FetchResponse, RequestHeader};
use sluice_network::kafka_wire::{SliceRecords, fetch_response};
use sluice_network::{KafkaRequest, Reply, Response};
use tokio::sync::watch;

use super::codes::api_error_code;
use crate::fetch_budget::FetchBudget;
use crate::file_range::file_range;
use crate::long_poll::long_poll;
use crate::partition::Partition;
use crate::state::BrokerState;

/// Partition limit when the client sends 0 or less.
const DEFAULT_PARTITION_MAX_BYTES: u64 = 1 << 20;
/// Room left in a frame for the encoded parts of the response.
const BODY_RESERVE: usize = 1 << 20;

struct Target {
    partition_index: i32,
    fetch_offset: i64,
    max_bytes: u64,
    partition: Result<Arc<Partition>, i16>,
}

pub(super) fn handle(state: &BrokerState, request: &KafkaRequest, body: &FetchRequest) -> Reply {
    let header = request.header.clone();
    if body.session_id != 0 {
        let response = FetchResponse::<SliceRecords> {
            error_code: K::FETCH_SESSION_ID_NOT_FOUND,
            ..FetchResponse::default()
        };
        return Reply::Ready(fetch_response(&header, &response));
    }
    let frame_room = state
        .config
        .max_frame_bytes
        .saturating_sub(BODY_RESERVE)
        .max(1) as u64;
    let max_bytes = u64::try_from(body.max_bytes)
        .ok()
        .filter(|n| *n > 0)
        .unwrap_or(frame_room)
        .min(frame_room);
    let topics: Vec<(String, Vec<Target>)> = body
        .topics
        .iter()
        .map(|topic| {
            let targets = topic
                .partitions
                .iter()
                .map(|p| Target {
                    partition_index: p.partition,
                    fetch_offset: p.fetch_offset,
                    max_bytes: u64::try_from(p.partition_max_bytes)
                        .ok()
                        .filter(|n| *n > 0)
                        .unwrap_or(DEFAULT_PARTITION_MAX_BYTES),
                    partition: u32::try_from(p.partition)
                        .ok()
                        .and_then(|index| state.topics.partition(&topic.name, index).ok())
                        .ok_or(K::UNKNOWN_TOPIC_OR_PARTITION),
                })
                .collect();
            (topic.name.clone(), targets)
        })
        .collect();
    // Subscribed before the first look: see `crate::long_poll`.
    let signals: Vec<watch::Receiver<i64>> = topics
        .iter()
        .flat_map(|(_, targets)| targets)
        .filter_map(|t| t.partition.as_ref().ok().map(|p| p.subscribe()))
        .collect();
    let read_committed = body.isolation_level == 1;
    let first = build(&topics, max_bytes, read_committed);
    let min_bytes = u64::try_from(body.min_bytes).unwrap_or(0);
    if first.bytes >= min_bytes || body.max_wait_ms <= 0 || first.has_error || signals.is_empty() {
        return Reply::Ready(first.into_response(&header));
    }
    let wait = Duration::from_millis(u64::try_from(body.max_wait_ms).unwrap_or(0));
    let stopping = state.stopping.clone();
    Reply::Later(Box::pin(async move {
        long_poll(signals, wait, stopping, || {
            let built = build(&topics, max_bytes, read_committed);
            let enough = built.bytes >= min_bytes;
            (built, enough)
        })
        .await
        .into_response(&header)
    }))
}

struct Built {
    body: FetchResponse<SliceRecords>,
    bytes: u64,
    has_error: bool,
}

impl Built {
    fn into_response(self, header: &RequestHeader) -> Response {
        fetch_response(header, &self.body)
    }
}

fn build(topics: &[(String, Vec<Target>)], max_bytes: u64, read_committed: bool) -> Built {
    let mut budget = FetchBudget::new(max_bytes);
    let mut built = Built {
        body: FetchResponse::default(),
        bytes: 0,
        has_error: false,
    };
    for (name, targets) in topics {
        let mut partitions = Vec::with_capacity(targets.len());
        for target in targets {
            let mut out = FetchPartitionResponse::new(target.partition_index);
            out.records = Some(SliceRecords::empty());
            if read_committed {
                out.aborted_transactions = Some(Vec::new());
            }
            match &target.partition {
                Err(code) => {
                    out.error_code = *code;
                    built.has_error = true;
                }
                Ok(partition) => {
                    let read = budget.read(partition, target.fetch_offset, target.max_bytes);
                    out.high_watermark = read.high_watermark;
                    out.last_stable_offset = read.high_watermark;
                    out.log_start_offset = read.log_start_offset;
                    if let Some(error) = read.error {
                        out.error_code = api_error_code(&error);
                        built.has_error = true;
                    }
                    if let Some(slice) = read.slice {
                        out.records = Some(SliceRecords::new(file_range(&slice)));
                    }
                }
            }
            partitions.push(out);
        }
        built.body.responses.push(FetchTopicResponse {
            topic: name.clone(),
            partitions,
        });
    }
    built.bytes = budget.bytes();
    built
}
