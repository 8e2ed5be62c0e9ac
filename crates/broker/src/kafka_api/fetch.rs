//! Fetch, sessionless: every request is a full fetch (session id 0 in the
//! answer), and the answer lists exactly the requested partitions, in
//! request order.
//!
//! The reads are [`crate::service::fetch`]'s, as for the native fetch; their
//! file slices are sent after the encoded pieces by the same transfer path
//! (sendfile by default): `sluice_network::kafka_wire::fetch_response`. No
//! transactions, so the last stable offset is the high watermark.

use std::time::Duration;

use sluice_kafka::ErrorCode as K;
use sluice_kafka::api::fetch::FetchRequest;
use sluice_kafka::api::fetch_response::{FetchPartitionResponse, FetchTopicResponse};
use sluice_kafka::{FetchResponse, RequestHeader};
use sluice_network::kafka_wire::{SliceRecords, fetch_response};
use sluice_network::{KafkaRequest, Reply, Response};

use super::codes::kafka_code;
use crate::file_range::file_range;
use crate::service::fetch::{FetchLimits, FetchTarget, PartitionRead, fetch};
use crate::state::BrokerState;

/// The requested topics and their partition indexes, in request order.
type Requested = Vec<(String, Vec<i32>)>;

pub(super) fn handle(state: &BrokerState, request: &KafkaRequest, body: &FetchRequest) -> Reply {
    let header = request.header.clone();
    if body.session_id != 0 {
        let response = FetchResponse::<SliceRecords> {
            error_code: K::FETCH_SESSION_ID_NOT_FOUND,
            ..FetchResponse::default()
        };
        return Reply::Ready(fetch_response(&header, &response));
    }
    let mut targets = Vec::new();
    let mut requested: Requested = Vec::with_capacity(body.topics.len());
    for topic in &body.topics {
        for p in &topic.partitions {
            targets.push(FetchTarget::new(
                state,
                &topic.name,
                i64::from(p.partition),
                p.fetch_offset,
                u64::try_from(p.partition_max_bytes).ok(),
            ));
        }
        requested.push((
            topic.name.clone(),
            topic.partitions.iter().map(|p| p.partition).collect(),
        ));
    }
    let limits = FetchLimits {
        max_bytes: u64::try_from(body.max_bytes).ok(),
        min_bytes: u64::try_from(body.min_bytes).unwrap_or(0),
        max_wait: Duration::from_millis(u64::try_from(body.max_wait_ms).unwrap_or(0)),
    };
    let read_committed = body.isolation_level == 1;
    fetch(state, targets, limits)
        .into_reply(move |reads| respond(&header, requested, reads, read_committed))
}

fn respond(
    header: &RequestHeader,
    requested: Requested,
    reads: Vec<PartitionRead>,
    read_committed: bool,
) -> Response {
    let mut reads = reads.into_iter();
    let mut body = FetchResponse::<SliceRecords>::default();
    for (topic, indexes) in requested {
        let partitions = indexes
            .into_iter()
            .zip(reads.by_ref())
            .map(|(index, read)| {
                let mut out = FetchPartitionResponse::new(index);
                out.high_watermark = read.high_watermark;
                out.last_stable_offset = read.high_watermark;
                out.log_start_offset = read.log_start_offset;
                if let Some(error) = &read.error {
                    out.error_code = kafka_code(error);
                }
                if read_committed {
                    out.aborted_transactions = Some(Vec::new());
                }
                out.records = Some(match &read.slice {
                    Some(slice) => SliceRecords::new(file_range(slice)),
                    None => SliceRecords::empty(),
                });
                out
            })
            .collect();
        body.responses
            .push(FetchTopicResponse { topic, partitions });
    }
    fetch_response(header, &body)
}
