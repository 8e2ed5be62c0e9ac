//! Typed consumer group calls on [`Client`]: [`Client::list_groups`] and
//! [`Client::describe_group`], and the domain types they return (converted
//! from the protobuf types here, as in `admin`).

use bytes::Bytes;
use sluice_protocol::{ErrorCode, consts, pb};

use crate::client::Client;
use crate::error::{ClientError, Result};
use crate::types::TopicPartition;

/// A group as [`Client::list_groups`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupListing {
    pub group: String,
    /// `Empty`, `PreparingRebalance`, `CompletingRebalance` or `Stable`;
    /// `Empty` for a group that only has committed offsets.
    pub state: String,
    /// `consumer` for Kafka consumers; empty without members.
    pub protocol_type: String,
    pub members: u32,
}

/// A group's members, assignments and offsets ([`Client::describe_group`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDescription {
    pub group: String,
    pub state: String,
    pub protocol_type: String,
    /// The assignment strategy (`range`, `roundrobin`, ...), while Stable.
    pub protocol: String,
    pub generation: i32,
    pub members: Vec<GroupMember>,
    /// Per partition the group committed or a member holds, sorted.
    pub offsets: Vec<GroupOffset>,
}

/// One member of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMember {
    pub member_id: String,
    /// Kafka static membership (`group.instance.id`), if set.
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub assignment: MemberAssignment,
}

/// What a member was assigned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberAssignment {
    /// Nothing yet (the group is rebalancing) or an empty assignment.
    None,
    /// A Kafka consumer protocol assignment: these partitions, sorted.
    Partitions(Vec<TopicPartition>),
    /// Bytes the broker could not read as a consumer assignment (another
    /// protocol type, or corrupt), as the group leader sent them.
    Opaque(Bytes),
}

/// A group's position in one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupOffset {
    pub topic_partition: TopicPartition,
    /// The next offset the group will consume; `None` if nothing is
    /// committed (the partition is assigned but not yet consumed).
    pub committed: Option<i64>,
    /// The partition's high watermark; `None` if the partition no longer
    /// exists (see `error`).
    pub high_watermark: Option<i64>,
    /// The member holding the partition, if one does.
    pub member_id: Option<String>,
    pub metadata: String,
    /// Set when the partition could not be looked up (deleted topic).
    pub error: Option<ErrorCode>,
}

impl GroupOffset {
    /// Records the group has yet to consume: high watermark minus the
    /// committed offset (never negative); `None` unless both are known.
    pub fn lag(&self) -> Option<i64> {
        Some((self.high_watermark? - self.committed?).max(0))
    }
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

impl From<pb::GroupMember> for GroupMember {
    fn from(m: pb::GroupMember) -> Self {
        let assignment = if m.assignment_decoded {
            MemberAssignment::Partitions(
                m.assigned_partitions
                    .into_iter()
                    .map(|tp| TopicPartition::new(tp.topic, tp.partition))
                    .collect(),
            )
        } else if m.assignment.is_empty() {
            MemberAssignment::None
        } else {
            MemberAssignment::Opaque(m.assignment)
        };
        GroupMember {
            member_id: m.member_id,
            group_instance_id: non_empty(m.group_instance_id),
            client_id: m.client_id,
            client_host: m.client_host,
            assignment,
        }
    }
}

impl From<pb::GroupPartitionOffset> for GroupOffset {
    fn from(p: pb::GroupPartitionOffset) -> Self {
        let error = ErrorCode::from_wire(p.error_code);
        GroupOffset {
            topic_partition: TopicPartition::new(p.topic, p.partition),
            committed: (p.committed_offset != consts::NO_OFFSET).then_some(p.committed_offset),
            high_watermark: (error.is_ok() && p.high_watermark != consts::NO_OFFSET)
                .then_some(p.high_watermark),
            member_id: non_empty(p.member_id),
            metadata: p.metadata,
            error: (!error.is_ok()).then_some(error),
        }
    }
}

impl Client {
    /// Every consumer group the broker knows: groups with members (Kafka
    /// consumers) and groups that only have committed offsets. Sorted.
    pub async fn list_groups(&self) -> Result<Vec<GroupListing>> {
        let resp = self.request(pb::ListGroupsRequest {}).await?;
        Ok(resp
            .groups
            .into_iter()
            .map(|g| GroupListing {
                group: g.group,
                state: g.state,
                protocol_type: g.protocol_type,
                members: g.members,
            })
            .collect())
    }

    /// One group's members, their assignments, and its committed offsets
    /// with the partitions' high watermarks (for lag). A group with neither
    /// members nor commits is `GROUP_ID_NOT_FOUND`.
    pub async fn describe_group(&self, group: &str) -> Result<GroupDescription> {
        let resp = self
            .request(pb::DescribeGroupsRequest {
                groups: vec![group.to_owned()],
            })
            .await?;
        let g = resp
            .groups
            .into_iter()
            .find(|g| g.group == group)
            .ok_or_else(|| ClientError::Broker {
                code: ErrorCode::Unknown,
                message: format!("no description of group {group} in the response"),
            })?;
        if let Some(e) = ClientError::from_wire(g.error_code, format!("group {group}")) {
            return Err(e);
        }
        Ok(GroupDescription {
            group: g.group,
            state: g.state,
            protocol_type: g.protocol_type,
            protocol: g.protocol,
            generation: g.generation,
            members: g.members.into_iter().map(GroupMember::from).collect(),
            offsets: g.offsets.into_iter().map(GroupOffset::from).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_needs_both_ends() {
        let mut o = GroupOffset::from(pb::GroupPartitionOffset {
            topic: "t".into(),
            partition: 1,
            committed_offset: 7,
            high_watermark: 10,
            ..Default::default()
        });
        assert_eq!(o.lag(), Some(3));
        assert_eq!(o.member_id, None);
        o.committed = None;
        assert_eq!(o.lag(), None);

        let gone = GroupOffset::from(pb::GroupPartitionOffset {
            topic: "t".into(),
            committed_offset: 7,
            high_watermark: -1,
            error_code: ErrorCode::UnknownTopicOrPartition as i32,
            ..Default::default()
        });
        assert_eq!(gone.error, Some(ErrorCode::UnknownTopicOrPartition));
        assert_eq!(gone.lag(), None);
    }

    #[test]
    fn assignments() {
        let member = |decoded: bool, bytes: &'static [u8]| {
            GroupMember::from(pb::GroupMember {
                member_id: "m".into(),
                assignment: Bytes::from_static(bytes),
                assignment_decoded: decoded,
                assigned_partitions: vec![pb::TopicPartition {
                    topic: "t".into(),
                    partition: 0,
                }],
                ..Default::default()
            })
            .assignment
        };
        assert_eq!(
            member(true, b"x"),
            MemberAssignment::Partitions(vec![TopicPartition::new("t", 0)])
        );
        assert_eq!(member(false, b""), MemberAssignment::None);
        assert_eq!(
            member(false, b"abc"),
            MemberAssignment::Opaque(Bytes::from_static(b"abc"))
        );
    }
}
