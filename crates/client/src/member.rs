//! Typed group membership calls on [`Client`]: [`Client::join_group`],
//! [`Client::sync_group`], [`Client::heartbeat`], [`Client::leave_group`]
//! and [`Client::commit_offsets_as`], the calls a group member makes
//! (the [`Consumer`](crate::Consumer) makes them for its subscription).
//! The protocol metadata and assignments they carry are opaque here; the
//! consumer writes Kafka's consumer protocol bytes
//! (`sluice_protocol::consumer_protocol`).

use std::time::Duration;

use bytes::Bytes;
use sluice_protocol::{ErrorCode, pb};

use crate::client::Client;
use crate::error::{ClientError, Result};
use crate::types::TopicPartition;

/// The protocol type of consumers, Kafka's and Sluice's.
pub const CONSUMER_PROTOCOL_TYPE: &str = "consumer";

/// A member in one generation of a group: what its SyncGroup, heartbeats
/// and commits name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupGeneration {
    pub member_id: String,
    pub generation_id: i32,
}

/// A JoinGroup request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinGroup {
    pub group: String,
    /// Empty on the first join; the broker answers with
    /// [`ClientError::MemberIdRequired`], whose id the member joins with.
    pub member_id: String,
    /// [`CONSUMER_PROTOCOL_TYPE`] for consumers.
    pub protocol_type: String,
    /// (assignment strategy, metadata), preferred first.
    pub protocols: Vec<(String, Bytes)>,
    /// The broker accepts 6 s to 30 min.
    pub session_timeout: Duration,
    /// How long a rebalance waits for members to rejoin; the request waits
    /// that much longer than the client's request timeout.
    pub rebalance_timeout: Duration,
}

/// A JoinGroup answer: this member's generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinedGroup {
    pub generation: GroupGeneration,
    /// The chosen assignment strategy.
    pub protocol: String,
    /// The leader's member id.
    pub leader: String,
    /// For the leader, every member and its metadata; empty otherwise.
    pub members: Vec<JoinedMember>,
}

impl JoinedGroup {
    /// Whether this member computes the assignment.
    pub fn is_leader(&self) -> bool {
        self.leader == self.generation.member_id
    }
}

/// A member of a generation, as the leader sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinedMember {
    pub member_id: String,
    /// Kafka's static membership id (a Kafka member's), if any.
    pub group_instance_id: Option<String>,
    /// Its metadata for the chosen protocol.
    pub metadata: Bytes,
}

/// Milliseconds for an `int32` timeout field, saturating.
fn timeout_ms(d: Duration) -> i32 {
    i32::try_from(d.as_millis()).unwrap_or(i32::MAX)
}

/// A broker error from a response prefix; `None` for `NONE`.
fn refused(raw: i32, message: String, what: &str) -> Option<ClientError> {
    let code = ErrorCode::from_wire(raw);
    (!code.is_ok()).then(|| ClientError::Broker {
        code,
        message: if message.is_empty() {
            what.to_owned()
        } else {
            format!("{what}: {message}")
        },
    })
}

impl Client {
    /// JoinGroup: waits until the group's rebalance completes (up to the
    /// request timeout plus `join.rebalance_timeout`).
    pub async fn join_group(&self, join: &JoinGroup) -> Result<JoinedGroup> {
        let request = pb::JoinGroupRequest {
            group: join.group.clone(),
            member_id: join.member_id.clone(),
            protocol_type: join.protocol_type.clone(),
            protocols: join
                .protocols
                .iter()
                .map(|(name, metadata)| pb::GroupProtocol {
                    name: name.clone(),
                    metadata: metadata.clone(),
                })
                .collect(),
            session_timeout_ms: timeout_ms(join.session_timeout),
            rebalance_timeout_ms: timeout_ms(join.rebalance_timeout),
        };
        let resp = self
            .request_unchecked(&request, join.rebalance_timeout)
            .await?;
        if ErrorCode::from_wire(resp.error_code) == ErrorCode::MemberIdRequired {
            return Err(ClientError::MemberIdRequired {
                group: join.group.clone(),
                member_id: resp.member_id,
            });
        }
        if let Some(e) = refused(
            resp.error_code,
            resp.error_message,
            &format!("join group {}", join.group),
        ) {
            return Err(e);
        }
        Ok(JoinedGroup {
            generation: GroupGeneration {
                member_id: resp.member_id,
                generation_id: resp.generation_id,
            },
            protocol: resp.protocol_name,
            leader: resp.leader,
            members: resp
                .members
                .into_iter()
                .map(|m| JoinedMember {
                    member_id: m.member_id,
                    group_instance_id: (!m.group_instance_id.is_empty())
                        .then_some(m.group_instance_id),
                    metadata: m.metadata,
                })
                .collect(),
        })
    }

    /// SyncGroup: sends the leader's `assignments` (member id, bytes;
    /// empty from other members) and returns this member's assignment.
    /// Waits for the leader's SyncGroup, up to the request timeout.
    pub async fn sync_group(
        &self,
        group: &str,
        generation: &GroupGeneration,
        assignments: Vec<(String, Bytes)>,
    ) -> Result<Bytes> {
        self.sync_group_within(group, generation, assignments, Duration::ZERO)
            .await
    }

    /// [`sync_group`](Self::sync_group) waiting `extra` longer.
    pub(crate) async fn sync_group_within(
        &self,
        group: &str,
        generation: &GroupGeneration,
        assignments: Vec<(String, Bytes)>,
        extra: Duration,
    ) -> Result<Bytes> {
        let request = pb::SyncGroupRequest {
            group: group.to_owned(),
            member_id: generation.member_id.clone(),
            generation_id: generation.generation_id,
            assignments: assignments
                .into_iter()
                .map(|(member_id, assignment)| pb::SyncGroupAssignment {
                    member_id,
                    assignment,
                })
                .collect(),
        };
        let resp = self.request_unchecked(&request, extra).await?;
        match refused(
            resp.error_code,
            resp.error_message,
            &format!("sync group {group}"),
        ) {
            Some(e) => Err(e),
            None => Ok(resp.assignment),
        }
    }

    /// Heartbeat: `Ok` while the generation is current and stable;
    /// [`ClientError::is_rebalance`] errors say to join again.
    pub async fn heartbeat(&self, group: &str, generation: &GroupGeneration) -> Result<()> {
        let request = pb::HeartbeatRequest {
            group: group.to_owned(),
            member_id: generation.member_id.clone(),
            generation_id: generation.generation_id,
        };
        let resp = self.request_unchecked(&request, Duration::ZERO).await?;
        match refused(
            resp.error_code,
            resp.error_message,
            &format!("heartbeat of group {group}"),
        ) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// LeaveGroup: the member leaves at once and the group rebalances.
    pub async fn leave_group(&self, group: &str, member_id: &str) -> Result<()> {
        self.request(pb::LeaveGroupRequest {
            group: group.to_owned(),
            member_id: member_id.to_owned(),
        })
        .await?;
        Ok(())
    }

    /// Stores `group`'s positions as a member of `generation` (the broker
    /// refuses them with `ILLEGAL_GENERATION` or `UNKNOWN_MEMBER_ID` when
    /// the member is no longer in it). [`Client::commit_offsets`] commits
    /// from outside the membership.
    pub async fn commit_offsets_as(
        &self,
        group: &str,
        generation: &GroupGeneration,
        offsets: &[(TopicPartition, i64)],
    ) -> Result<()> {
        self.commit_offsets_of(group, Some(generation), offsets)
            .await
    }
}
