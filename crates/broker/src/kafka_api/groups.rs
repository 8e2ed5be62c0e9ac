//! FindCoordinator and the group membership apis, translated to and from
//! the coordinator (`crate::group`), whose refusals ([`GroupError`]) become
//! Kafka codes here, in [`group_error_code`]. JoinGroup and SyncGroup may
//! wait for a rebalance: their answers arrive on a oneshot, awaited in
//! [`Reply::Later`] so later requests of the connection keep flowing.

use sluice_kafka::ErrorCode as K;
use sluice_kafka::api::describe_groups::{
    DescribeGroupsRequest, DescribeGroupsResponse, DescribedGroup, DescribedGroupMember,
};
use sluice_kafka::api::find_coordinator::{FindCoordinatorRequest, FindCoordinatorResponse};
use sluice_kafka::api::heartbeat::{HeartbeatRequest, HeartbeatResponse};
use sluice_kafka::api::join_group::{JoinGroupMember, JoinGroupRequest, JoinGroupResponse};
use sluice_kafka::api::leave_group::{
    LeaveGroupMemberResponse, LeaveGroupRequest, LeaveGroupResponse,
};
use sluice_kafka::api::list_groups::{ListGroupsResponse, ListedGroup};
use sluice_kafka::api::sync_group::{SyncGroupRequest, SyncGroupResponse};
use sluice_network::{KafkaRequest, Reply, kafka_wire};
use tracing::debug;

use super::NODE_ID;
use super::metadata::this_broker;
use crate::group::GroupError;
use crate::group::state::{JoinOutcome, JoinParams};
use crate::state::BrokerState;

/// FindCoordinator key type of consumer groups (1 is transactions).
const KEY_TYPE_GROUP: i8 = 0;

pub(super) fn find_coordinator(
    state: &BrokerState,
    request: &KafkaRequest,
    body: &FindCoordinatorRequest,
) -> Reply {
    let broker = this_broker(state, request);
    let response = if body.key_type == KEY_TYPE_GROUP {
        FindCoordinatorResponse {
            node_id: NODE_ID,
            host: broker.host,
            port: broker.port,
            ..FindCoordinatorResponse::default()
        }
    } else {
        FindCoordinatorResponse {
            error_code: K::COORDINATOR_NOT_AVAILABLE,
            error_message: Some("transactions are not supported".into()),
            node_id: -1,
            port: -1,
            ..FindCoordinatorResponse::default()
        }
    };
    Reply::Ready(request.respond(response))
}

/// The Kafka error code of a coordinator refusal.
pub(super) fn group_error_code(error: GroupError) -> i16 {
    super::codes::kind_code(error.into())
}

fn code_of(result: Result<(), GroupError>) -> i16 {
    result.map_or_else(group_error_code, |()| K::NONE)
}

pub(super) fn join(state: &BrokerState, request: &KafkaRequest, body: &JoinGroupRequest) -> Reply {
    let params = JoinParams {
        member_id: body.member_id.clone(),
        group_instance_id: body.group_instance_id.clone(),
        client_id: request.header.client_id.clone().unwrap_or_default(),
        client_host: format!("/{}", request.peer.ip()),
        session_timeout_ms: body.session_timeout_ms,
        rebalance_timeout_ms: body.rebalance_timeout_ms,
        protocol_type: body.protocol_type.clone(),
        protocols: body
            .protocols
            .iter()
            .map(|p| (p.name.clone(), p.metadata.clone()))
            .collect(),
        require_known_member_id: request.header.api_version >= 4,
    };
    debug!(group = %body.group_id, member = %body.member_id, "JoinGroup");
    let header = request.header.clone();
    crate::service::groups::join(state, &body.group_id, params)
        .into_reply(move |outcome| kafka_wire::response(&header, join_response(outcome)))
}

fn join_response(outcome: JoinOutcome) -> JoinGroupResponse {
    match outcome {
        Ok(joined) => JoinGroupResponse {
            throttle_time_ms: 0,
            error_code: K::NONE,
            generation_id: joined.generation_id,
            protocol_name: joined.protocol_name,
            leader: joined.leader,
            member_id: joined.member_id,
            members: joined
                .members
                .into_iter()
                .map(|(member_id, group_instance_id, metadata)| JoinGroupMember {
                    member_id,
                    group_instance_id,
                    metadata,
                })
                .collect(),
        },
        Err(refused) => JoinGroupResponse {
            throttle_time_ms: 0,
            error_code: group_error_code(refused.error),
            generation_id: -1,
            protocol_name: String::new(),
            leader: String::new(),
            member_id: refused.member_id,
            members: Vec::new(),
        },
    }
}

pub(super) fn sync(state: &BrokerState, request: &KafkaRequest, body: &SyncGroupRequest) -> Reply {
    let assignments = body
        .assignments
        .iter()
        .map(|a| (a.member_id.clone(), a.assignment.clone()))
        .collect();
    let header = request.header.clone();
    let answer = crate::service::groups::sync(
        state,
        &body.group_id,
        &body.member_id,
        body.generation_id,
        assignments,
    );
    answer.into_reply(move |outcome| {
        let body = match outcome {
            Ok(assignment) => SyncGroupResponse {
                throttle_time_ms: 0,
                error_code: K::NONE,
                assignment,
            },
            Err(error) => SyncGroupResponse {
                throttle_time_ms: 0,
                error_code: group_error_code(error),
                assignment: bytes::Bytes::new(),
            },
        };
        kafka_wire::response(&header, body)
    })
}

pub(super) fn heartbeat(
    state: &BrokerState,
    request: &KafkaRequest,
    body: &HeartbeatRequest,
) -> Reply {
    let error_code = code_of(state.groups.heartbeat(
        &body.group_id,
        &body.member_id,
        body.generation_id,
    ));
    Reply::Ready(request.respond(HeartbeatResponse {
        throttle_time_ms: 0,
        error_code,
    }))
}

pub(super) fn leave(
    state: &BrokerState,
    request: &KafkaRequest,
    body: &LeaveGroupRequest,
) -> Reply {
    let response = if request.header.api_version <= 2 {
        let results = state
            .groups
            .leave(&body.group_id, std::slice::from_ref(&body.member_id));
        LeaveGroupResponse {
            error_code: results.into_iter().next().map_or(K::NONE, code_of),
            ..LeaveGroupResponse::default()
        }
    } else {
        let ids: Vec<String> = body.members.iter().map(|m| m.member_id.clone()).collect();
        let results = state.groups.leave(&body.group_id, &ids);
        LeaveGroupResponse {
            throttle_time_ms: 0,
            error_code: K::NONE,
            members: body
                .members
                .iter()
                .zip(results)
                .map(|(m, result)| LeaveGroupMemberResponse {
                    member_id: m.member_id.clone(),
                    group_instance_id: m.group_instance_id.clone(),
                    error_code: code_of(result),
                })
                .collect(),
        }
    };
    Reply::Ready(request.respond(response))
}

/// Live groups, plus groups that only have committed offsets (from either
/// protocol), which Kafka lists as Empty groups without a protocol type.
pub(super) fn list(state: &BrokerState, request: &KafkaRequest) -> Reply {
    let mut groups: Vec<ListedGroup> = state
        .groups
        .list()
        .into_iter()
        .map(|g| ListedGroup {
            group_id: g.group_id,
            protocol_type: g.protocol_type,
        })
        .collect();
    for group_id in state.offsets.groups() {
        if !groups.iter().any(|g| g.group_id == group_id) {
            groups.push(ListedGroup {
                group_id,
                protocol_type: String::new(),
            });
        }
    }
    groups.sort_by(|a, b| a.group_id.cmp(&b.group_id));
    Reply::Ready(request.respond(ListGroupsResponse {
        groups,
        ..ListGroupsResponse::default()
    }))
}

pub(super) fn describe(
    state: &BrokerState,
    request: &KafkaRequest,
    body: &DescribeGroupsRequest,
) -> Reply {
    let groups = body
        .groups
        .iter()
        .map(|group_id| match state.groups.describe(group_id) {
            Some(summary) => DescribedGroup {
                group_id: group_id.clone(),
                group_state: summary.state.name().to_owned(),
                protocol_type: summary.protocol_type,
                protocol_data: summary.protocol,
                members: summary
                    .members
                    .into_iter()
                    .map(|m| DescribedGroupMember {
                        member_id: m.member_id,
                        group_instance_id: m.group_instance_id,
                        client_id: m.client_id,
                        client_host: m.client_host,
                        member_metadata: m.metadata,
                        member_assignment: m.assignment,
                    })
                    .collect(),
                ..DescribedGroup::default()
            },
            None => DescribedGroup {
                group_id: group_id.clone(),
                group_state: if state.offsets.has_group(group_id) {
                    "Empty"
                } else {
                    "Dead"
                }
                .to_owned(),
                ..DescribedGroup::default()
            },
        })
        .collect();
    Reply::Ready(request.respond(DescribeGroupsResponse {
        throttle_time_ms: 0,
        groups,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The codes Kafka clients act on (rejoin, retry, give up).
    #[test]
    fn group_errors_keep_their_kafka_numbers() {
        let codes = [
            (GroupError::InvalidGroupId, 24),
            (GroupError::UnknownMemberId, 25),
            (GroupError::IllegalGeneration, 22),
            (GroupError::RebalanceInProgress, 27),
            (GroupError::MemberIdRequired, 79),
            (GroupError::InconsistentGroupProtocol, 23),
            (GroupError::InvalidSessionTimeout, 26),
            (GroupError::NotCoordinator, 16),
            (GroupError::CoordinatorNotAvailable, 15),
        ];
        for (error, code) in codes {
            assert_eq!(group_error_code(error), code, "{error:?}");
        }
        assert_eq!(code_of(Ok(())), K::NONE);
    }
}
