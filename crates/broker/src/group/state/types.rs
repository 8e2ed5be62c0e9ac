//! The public vocabulary of the group state machine: configuration,
//! states, the parameters and outcomes of requests, and summaries.

use std::time::Duration;

use bytes::Bytes;

/// Identifies a JoinGroup or SyncGroup request waiting for its answer.
pub type ReqId = u64;

/// Group settings.
#[derive(Debug, Clone)]
pub struct GroupConfig {
    /// How long the first rebalance of an empty group waits for more
    /// members (Kafka's `group.initial.rebalance.delay.ms`).
    pub initial_rebalance_delay: Duration,
    /// Accepted session timeouts, inclusive (Kafka's broker defaults).
    pub min_session_timeout_ms: i32,
    pub max_session_timeout_ms: i32,
}

impl Default for GroupConfig {
    fn default() -> Self {
        GroupConfig {
            initial_rebalance_delay: Duration::from_millis(3000),
            min_session_timeout_ms: 6000,
            max_session_timeout_ms: 1_800_000,
        }
    }
}

/// The group states, named as DescribeGroups reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
}

impl State {
    pub fn name(self) -> &'static str {
        match self {
            State::Empty => "Empty",
            State::PreparingRebalance => "PreparingRebalance",
            State::CompletingRebalance => "CompletingRebalance",
            State::Stable => "Stable",
        }
    }
}

/// A JoinGroup request, decoded.
#[derive(Debug, Clone)]
pub struct JoinParams {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub session_timeout_ms: i32,
    /// -1 (JoinGroup v0) means the session timeout.
    pub rebalance_timeout_ms: i32,
    pub protocol_type: String,
    /// (name, metadata), preferred first.
    pub protocols: Vec<(String, Bytes)>,
    /// JoinGroup v4+: a member without an id gets MEMBER_ID_REQUIRED and
    /// its new id, and must join again with it.
    pub require_known_member_id: bool,
}

/// The answer to one JoinGroup.
pub type JoinOutcome = Result<Joined, JoinRefused>;

/// A JoinGroup answered with a generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joined {
    pub generation_id: i32,
    pub protocol_name: String,
    pub leader: String,
    pub member_id: String,
    /// (member id, group instance id, metadata) for the leader; empty for
    /// followers.
    pub members: Vec<(String, Option<String>, Bytes)>,
}

/// A JoinGroup refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinRefused {
    pub error: GroupError,
    /// With [`GroupError::MemberIdRequired`], the id to join again with;
    /// otherwise the id the request carried.
    pub member_id: String,
}

impl JoinRefused {
    pub fn new(error: GroupError, member_id: &str) -> JoinRefused {
        JoinRefused {
            error,
            member_id: member_id.to_owned(),
        }
    }
}

/// The answer to one SyncGroup: this member's assignment.
pub type SyncOutcome = Result<Bytes, GroupError>;

/// What the caller must deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Join(ReqId, JoinOutcome),
    Sync(ReqId, SyncOutcome),
}

/// A member as DescribeGroups reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberSummary {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub metadata: Bytes,
    pub assignment: Bytes,
}

/// A group as DescribeGroups reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSummary {
    pub state: State,
    pub protocol_type: String,
    /// The chosen protocol, only while Stable (as Kafka).
    pub protocol: String,
    pub generation: i32,
    pub members: Vec<MemberSummary>,
}

/// Why the coordinator refused a group request, whichever protocol asked;
/// each protocol maps it to its own code at its edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GroupError {
    #[error("the group id is empty")]
    InvalidGroupId,
    #[error("the member id is not in the group")]
    UnknownMemberId,
    #[error("not the group's current generation")]
    IllegalGeneration,
    #[error("the group is rebalancing")]
    RebalanceInProgress,
    #[error("join again with the member id given")]
    MemberIdRequired,
    #[error("the protocol type or assignors match none of the group's")]
    InconsistentGroupProtocol,
    #[error("the session timeout is outside the accepted range")]
    InvalidSessionTimeout,
    #[error("this broker is no longer the group's coordinator")]
    NotCoordinator,
    #[error("the group coordinator is not available")]
    CoordinatorNotAvailable,
}
