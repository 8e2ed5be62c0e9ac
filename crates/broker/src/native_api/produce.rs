//! Produce: decode, then [`crate::service::produce`]; answer by `acks`.

use std::time::Duration;

use sluice_network::{Reply, Request, Response};
use sluice_protocol::consts::{NO_OFFSET, NO_TIMESTAMP};
use sluice_protocol::pb;
use tracing::warn;

use super::codes::native_code;
use crate::service::ServiceError;
use crate::service::produce::{Acks, append};
use crate::service::topics::get_or_create;
use crate::state::BrokerState;

pub(super) fn handle(state: &BrokerState, request: Request) -> Reply {
    let body: pb::ProduceRequest = match super::decode(&request) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let correlation_id = request.header.correlation_id;
    let acks = Acks::parse(body.acks);
    let appended = acks.clone().and_then(|_| {
        if body.batches.is_empty() {
            return Err(ServiceError::InvalidRequest(
                "produce request has no batches".into(),
            ));
        }
        // Auto-creation only on the native produce: Kafka clients create
        // topics through Metadata.
        get_or_create(state, &body.topic, true)?;
        let partition =
            crate::service::topics::partition(state, &body.topic, i64::from(body.partition))?;
        let batches: Vec<&[u8]> = body.batches.iter().map(|b| &b[..]).collect();
        append(&partition, &batches)
    });
    let appended = match appended {
        Ok(appended) => appended,
        Err(error) => {
            warn!(topic = %body.topic, partition = body.partition, code = ?native_code(&error), error = %error.message(), "produce rejected");
            return match acks {
                Ok(Acks::None) => Reply::NoResponse,
                _ => Reply::Ready(error_response(correlation_id, &error)),
            };
        }
    };
    let response = pb::ProduceResponse {
        base_offset: appended.base_offset,
        last_offset: appended.last_offset,
        log_append_time: NO_TIMESTAMP,
        log_start_offset: appended.log_start_offset,
        ..Default::default()
    };
    match acks {
        Ok(Acks::None) => Reply::NoResponse,
        Ok(Acks::All) => {
            let timeout =
                (body.timeout_ms > 0).then(|| Duration::from_millis(body.timeout_ms.into()));
            let durable = appended.durable(timeout);
            Reply::Later(Box::pin(async move {
                match durable.await {
                    Ok(()) => Response::message(correlation_id, &response),
                    Err(error) => error_response(correlation_id, &error),
                }
            }))
        }
        _ => super::respond(&request, &response),
    }
}

fn error_response(correlation_id: u32, error: &ServiceError) -> Response {
    Response::message(
        correlation_id,
        &pb::ProduceResponse {
            error_code: native_code(error) as i32,
            error_message: error.message(),
            base_offset: NO_OFFSET,
            last_offset: NO_OFFSET,
            log_append_time: NO_TIMESTAMP,
            log_start_offset: NO_OFFSET,
        },
    )
}
