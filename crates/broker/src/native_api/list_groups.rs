//! ListGroups: every group the coordinator holds, plus every group that
//! only has committed offsets (state "Empty", no members).

use std::collections::BTreeMap;

use sluice_network::{Reply, Request};
use sluice_protocol::pb;

use crate::state::BrokerState;

pub(super) fn handle(state: &BrokerState, request: Request) -> Reply {
    let _: pb::ListGroupsRequest = match super::decode(&request) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let mut groups: BTreeMap<String, pb::ListedGroup> = state
        .groups
        .list()
        .into_iter()
        .map(|g| {
            let listed = pb::ListedGroup {
                group: g.group_id.clone(),
                state: g.state.to_owned(),
                protocol_type: g.protocol_type,
                members: u32::try_from(g.members).unwrap_or(u32::MAX),
            };
            (g.group_id, listed)
        })
        .collect();
    for group in state.offsets.groups() {
        groups
            .entry(group.clone())
            .or_insert_with(|| pb::ListedGroup {
                group,
                state: EMPTY.to_owned(),
                ..Default::default()
            });
    }
    super::respond(
        &request,
        &pb::ListGroupsResponse {
            groups: groups.into_values().collect(),
            ..Default::default()
        },
    )
}

/// The state of a group that has committed offsets but no members.
pub(super) const EMPTY: &str = "Empty";
