//! DescribeGroups: members and their assignments from the group
//! coordinator, committed offsets from the offset store, and each
//! partition's high watermark so the client can show lag.

use std::collections::BTreeMap;

use sluice_network::{Reply, Request};
use sluice_protocol::consts::NO_OFFSET;
use sluice_protocol::{ErrorCode, pb};

use crate::group::assignment::decode_consumer_assignment;
use crate::group::state::MemberSummary;
use crate::state::BrokerState;

/// The protocol type whose assignments are read (Kafka consumers).
const CONSUMER_PROTOCOL: &str = "consumer";

pub(super) fn handle(state: &BrokerState, request: Request) -> Reply {
    let body: pb::DescribeGroupsRequest = match super::decode(&request) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let groups = body
        .groups
        .iter()
        .map(|group| describe(state, group))
        .collect();
    super::respond(
        &request,
        &pb::DescribeGroupsResponse {
            groups,
            ..Default::default()
        },
    )
}

fn describe(state: &BrokerState, group: &str) -> pb::GroupDescription {
    let failed = |code: ErrorCode| pb::GroupDescription {
        group: group.to_owned(),
        error_code: code as i32,
        ..Default::default()
    };
    if group.is_empty() {
        return failed(ErrorCode::InvalidGroup);
    }
    let summary = state.groups.describe(group);
    let committed = state.offsets.group(group);
    if summary.is_none() && committed.is_empty() {
        return failed(ErrorCode::GroupIdNotFound);
    }

    // One row per partition the group committed or a member holds.
    let mut rows: BTreeMap<(String, u32), pb::GroupPartitionOffset> = BTreeMap::new();
    for (key, c) in committed {
        rows.insert(
            (key.topic.clone(), key.partition),
            pb::GroupPartitionOffset {
                topic: key.topic,
                partition: key.partition,
                committed_offset: c.offset,
                metadata: c.metadata,
                ..Default::default()
            },
        );
    }
    let mut description = pb::GroupDescription {
        group: group.to_owned(),
        state: super::list_groups::EMPTY.to_owned(),
        ..Default::default()
    };
    if let Some(summary) = summary {
        let decode = summary.protocol_type == CONSUMER_PROTOCOL;
        description.state = summary.state.name().to_owned();
        description.protocol_type = summary.protocol_type;
        description.protocol = summary.protocol;
        description.generation = summary.generation;
        for m in summary.members {
            let member = member(m, decode);
            for tp in &member.assigned_partitions {
                let row = rows
                    .entry((tp.topic.clone(), tp.partition))
                    .or_insert_with(|| pb::GroupPartitionOffset {
                        topic: tp.topic.clone(),
                        partition: tp.partition,
                        committed_offset: NO_OFFSET,
                        ..Default::default()
                    });
                row.member_id.clone_from(&member.member_id);
            }
            description.members.push(member);
        }
    }
    for row in rows.values_mut() {
        match state.topics.partition(&row.topic, row.partition) {
            Ok(partition) => row.high_watermark = partition.log.high_watermark(),
            Err(error) => {
                row.high_watermark = NO_OFFSET;
                row.error_code = super::codes::native_code(&error) as i32;
            }
        }
    }
    description.offsets = rows.into_values().collect();
    description
}

fn member(m: MemberSummary, decode: bool) -> pb::GroupMember {
    let assigned = if decode && !m.assignment.is_empty() {
        decode_consumer_assignment(&m.assignment)
            .inspect_err(|error| {
                tracing::debug!(member = %m.member_id, %error, "assignment is not a consumer assignment");
            })
            .ok()
    } else {
        None
    };
    pb::GroupMember {
        assignment_decoded: assigned.is_some(),
        assigned_partitions: assigned
            .unwrap_or_default()
            .into_iter()
            .map(|(topic, partition)| pb::TopicPartition { topic, partition })
            .collect(),
        member_id: m.member_id,
        group_instance_id: m.group_instance_id.unwrap_or_default(),
        client_id: m.client_id,
        client_host: m.client_host,
        assignment: m.assignment,
    }
}
