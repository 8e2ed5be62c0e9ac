//! Produce: validate, append in request order, then answer by `acks`.
//!
//! The append runs on the connection task, so the batches of pipelined
//! requests enter the log in the order they were sent. `acks = 1` answers
//! right after it; `acks = -1` waits, off the connection task, until a flush
//! covers the batch (`PartitionLog::flush_to`, which shares one sync among
//! all concurrent waiters: group commit); `acks = 0` sends nothing.

use std::sync::Arc;
use std::time::Duration;

use sluice_network::{Reply, Request, Response};
use sluice_protocol::consts::{ACKS_ALL, ACKS_LEADER, ACKS_NONE, NO_OFFSET, NO_TIMESTAMP};
use sluice_protocol::{ErrorCode, pb};
use tracing::{debug, warn};

use crate::errors::ApiError;
use crate::partition::Partition;
use crate::state::BrokerState;

pub(super) fn handle(state: &BrokerState, request: Request) -> Reply {
    let body: pb::ProduceRequest = match super::decode(&request) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let correlation_id = request.header.correlation_id;
    let acks = body.acks;
    let fail = |error: ApiError| {
        warn!(topic = %body.topic, partition = body.partition, peer = %request.peer, error = %error, "produce rejected");
        if acks == ACKS_NONE {
            Reply::NoResponse
        } else {
            Reply::Ready(error_response(correlation_id, &error))
        }
    };
    if ![ACKS_ALL, ACKS_NONE, ACKS_LEADER].contains(&acks) {
        return fail(ApiError::new(
            ErrorCode::InvalidRequest,
            format!("acks must be -1, 0 or 1, got {acks}"),
        ));
    }
    if body.batches.is_empty() {
        return fail(ApiError::new(
            ErrorCode::InvalidRequest,
            "produce request has no batches",
        ));
    }
    let partition = match find_partition(state, &body.topic, body.partition) {
        Ok(partition) => partition,
        Err(error) => return fail(error),
    };
    let batches: Vec<&[u8]> = body.batches.iter().map(|b| &b[..]).collect();
    let info = match partition.log.append_batches(&batches) {
        Ok(info) => info,
        Err(error) => return fail(error.into()),
    };
    partition.after_append(&info);
    debug!(topic = %body.topic, partition = body.partition, offset = info.base_offset, last_offset = info.last_offset, peer = %request.peer, "appended");

    let response = pb::ProduceResponse {
        base_offset: info.base_offset,
        last_offset: info.last_offset,
        log_append_time: NO_TIMESTAMP,
        log_start_offset: info.log_start_offset,
        ..Default::default()
    };
    match acks {
        ACKS_NONE => Reply::NoResponse,
        ACKS_LEADER => super::respond(&request, &response),
        _ => {
            let target = info.last_offset + 1;
            let timeout =
                (body.timeout_ms > 0).then(|| Duration::from_millis(body.timeout_ms.into()));
            Reply::Later(Box::pin(async move {
                match wait_durable(partition, target, timeout).await {
                    Ok(()) => Response::message(correlation_id, &response),
                    Err(error) => error_response(correlation_id, &error),
                }
            }))
        }
    }
}

/// The partition, creating its topic first when auto-creation is on.
fn find_partition(
    state: &BrokerState,
    topic: &str,
    index: u32,
) -> Result<Arc<Partition>, ApiError> {
    if state.config.auto_create_topics && state.topics.get(topic).is_none() {
        let defaults = &state.topics.defaults;
        let created = super::blocking(|| {
            state
                .topics
                .create(topic, defaults.partitions, &pb::TopicConfig::default())
        });
        match created {
            Ok(_) => {}
            Err(e) if e.code == ErrorCode::TopicAlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    state.topics.partition(topic, index)
}

/// Waits until every offset below `target` is on disk, without holding a
/// thread: the partition's flusher does the sync and publishes its progress.
pub(crate) async fn wait_durable(
    partition: Arc<Partition>,
    target: i64,
    timeout: Option<Duration>,
) -> Result<(), ApiError> {
    let mut progress = partition.subscribe_durable();
    let failures_before = progress.borrow().failures;
    partition.request_flush();
    let wait = progress.wait_for(|d| d.flushed_offset >= target || d.failures > failures_before);
    let outcome = match timeout {
        Some(limit) => match tokio::time::timeout(limit, wait).await {
            Ok(outcome) => outcome.map(|d| *d),
            Err(_) => {
                return Err(ApiError::new(
                    ErrorCode::RequestTimedOut,
                    "the batch was appended but not flushed within timeout_ms",
                ));
            }
        },
        None => wait.await.map(|d| *d),
    };
    match outcome {
        Ok(d) if d.flushed_offset >= target => Ok(()),
        Ok(_) => Err(ApiError::new(
            ErrorCode::LogPoisoned,
            "flushing the log failed; the batch may not be on disk",
        )),
        Err(_) => Err(ApiError::new(
            ErrorCode::Unknown,
            "the partition's flusher is gone",
        )),
    }
}

fn error_response(correlation_id: u32, error: &ApiError) -> Response {
    Response::message(
        correlation_id,
        &pb::ProduceResponse {
            error_code: error.code as i32,
            error_message: error.message.clone(),
            base_offset: NO_OFFSET,
            last_offset: NO_OFFSET,
            log_append_time: NO_TIMESTAMP,
            log_start_offset: NO_OFFSET,
        },
    )
}
