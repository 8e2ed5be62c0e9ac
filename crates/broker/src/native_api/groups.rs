//! JoinGroup, SyncGroup, Heartbeat and LeaveGroup: group membership over
//! the native protocol, served by the coordinator the Kafka listener uses
//! (`crate::group`), so native members and Kafka consumers can share a
//! group. The coordinator's refusals ([`GroupError`]) become native codes
//! in [`error_code`], for these handlers and for CommitOffsets.
//!
//! JoinGroup and SyncGroup may wait for a rebalance: the answer arrives on
//! a oneshot, awaited in [`Reply::Later`] so the connection's later
//! requests are still read (their responses follow in order).

use bytes::Bytes;
use sluice_network::{Reply, Request, Response};
use sluice_protocol::{ErrorCode, pb};
use tracing::debug;

use crate::group::GroupError;
use crate::group::state::{JoinOutcome, JoinParams};
use crate::state::BrokerState;

/// The native error code of a coordinator refusal.
pub(super) fn error_code(error: GroupError) -> ErrorCode {
    super::codes::kind_code(error.into())
}

/// `(error_code, error_message)` of a result, for the response prefix.
fn prefix(result: Result<(), GroupError>) -> (i32, String) {
    match result {
        Ok(()) => (ErrorCode::None as i32, String::new()),
        Err(error) => (error_code(error) as i32, error.to_string()),
    }
}

pub(super) fn join(state: &BrokerState, request: Request) -> Reply {
    let body: pb::JoinGroupRequest = match super::decode(&request) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let params = JoinParams {
        member_id: body.member_id.clone(),
        group_instance_id: None,
        client_id: request.header.client_id.clone(),
        client_host: format!("/{}", request.peer.ip()),
        session_timeout_ms: body.session_timeout_ms,
        rebalance_timeout_ms: if body.rebalance_timeout_ms > 0 {
            body.rebalance_timeout_ms
        } else {
            -1
        },
        protocol_type: body.protocol_type,
        protocols: body
            .protocols
            .into_iter()
            .map(|p| (p.name, p.metadata))
            .collect(),
        // Always the MEMBER_ID_REQUIRED round: a member whose first answer
        // is lost is then only a pending id, not a member the next
        // rebalance waits for.
        require_known_member_id: true,
    };
    debug!(group = %body.group, member = %body.member_id, "JoinGroup");
    let correlation_id = request.header.correlation_id;
    crate::service::groups::join(state, &body.group, params)
        .into_reply(move |outcome| Response::message(correlation_id, &join_response(outcome)))
}

fn join_response(outcome: JoinOutcome) -> pb::JoinGroupResponse {
    match outcome {
        Ok(joined) => pb::JoinGroupResponse {
            generation_id: joined.generation_id,
            protocol_name: joined.protocol_name,
            leader: joined.leader,
            member_id: joined.member_id,
            members: joined
                .members
                .into_iter()
                .map(
                    |(member_id, group_instance_id, metadata)| pb::JoinGroupMember {
                        member_id,
                        group_instance_id: group_instance_id.unwrap_or_default(),
                        metadata,
                    },
                )
                .collect(),
            ..Default::default()
        },
        Err(refused) => {
            let (error_code, error_message) = prefix(Err(refused.error));
            pb::JoinGroupResponse {
                error_code,
                error_message,
                generation_id: -1,
                member_id: refused.member_id,
                ..Default::default()
            }
        }
    }
}

pub(super) fn sync(state: &BrokerState, request: Request) -> Reply {
    let body: pb::SyncGroupRequest = match super::decode(&request) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let assignments = body
        .assignments
        .into_iter()
        .map(|a| (a.member_id, a.assignment))
        .collect();
    let correlation_id = request.header.correlation_id;
    let answer = crate::service::groups::sync(
        state,
        &body.group,
        &body.member_id,
        body.generation_id,
        assignments,
    );
    answer.into_reply(move |outcome| {
        let body = match outcome {
            Ok(assignment) => pb::SyncGroupResponse {
                assignment,
                ..Default::default()
            },
            Err(error) => {
                let (error_code, error_message) = prefix(Err(error));
                pb::SyncGroupResponse {
                    error_code,
                    error_message,
                    assignment: Bytes::new(),
                }
            }
        };
        Response::message(correlation_id, &body)
    })
}

pub(super) fn heartbeat(state: &BrokerState, request: Request) -> Reply {
    let body: pb::HeartbeatRequest = match super::decode(&request) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let result = state
        .groups
        .heartbeat(&body.group, &body.member_id, body.generation_id);
    let (error_code, error_message) = prefix(result);
    super::respond(
        &request,
        &pb::HeartbeatResponse {
            error_code,
            error_message,
        },
    )
}

pub(super) fn leave(state: &BrokerState, request: Request) -> Reply {
    let body: pb::LeaveGroupRequest = match super::decode(&request) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let result = state
        .groups
        .leave(&body.group, std::slice::from_ref(&body.member_id))
        .into_iter()
        .next()
        .unwrap_or(Ok(()));
    debug!(group = %body.group, member = %body.member_id, ?result, "LeaveGroup");
    let (error_code, error_message) = prefix(result);
    super::respond(
        &request,
        &pb::LeaveGroupResponse {
            error_code,
            error_message,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_errors_map_to_their_native_codes() {
        assert_eq!(
            error_code(GroupError::IllegalGeneration),
            ErrorCode::IllegalGeneration
        );
        assert_eq!(
            error_code(GroupError::MemberIdRequired),
            ErrorCode::MemberIdRequired
        );
        assert_eq!(
            error_code(GroupError::InvalidGroupId),
            ErrorCode::InvalidGroup
        );
        assert_eq!(
            error_code(GroupError::CoordinatorNotAvailable),
            ErrorCode::NotCoordinator
        );
        assert_eq!(prefix(Ok(())), (0, String::new()));
        let (code, message) = prefix(Err(GroupError::RebalanceInProgress));
        assert_eq!(code, ErrorCode::RebalanceInProgress as i32);
        assert_eq!(message, "the group is rebalancing");
    }
}
