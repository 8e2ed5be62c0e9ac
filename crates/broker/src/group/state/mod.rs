//! One consumer group of Kafka's classic protocol as plain decision code:
//! events in (join, sync, heartbeat, leave, commit check, the passing of
//! time), answers and [`Action`]s out. No I/O, no clock, no channels: the
//! caller passes `now` and delivers the actions (`super::Coordinator`).
//!
//! States and transitions, as in Kafka's `GroupCoordinator`:
//!
//! ```text
//! Empty ──join──▶ PreparingRebalance ──all rejoined / deadline──▶ CompletingRebalance
//!   ▲                  ▲      │ (no members left)                      │ leader's SyncGroup
//!   └──────────────────┼──────┘                                        ▼
//!                      └──── join (new member, leader, changed metadata), ◀── Stable
//!                            leave, session expiry
//! ```
//!
//! `Dead` is never stored: the coordinator forgets a group that is Empty
//! with nobody pending, and its committed offsets live on in the offset
//! store.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;

mod rebalance;
use rebalance::{metadata_for, millis};
mod types;

pub use types::*;

#[derive(Debug, Clone)]
struct Member {
    instance_id: Option<String>,
    client_id: String,
    client_host: String,
    session_timeout: Duration,
    rebalance_timeout: Duration,
    protocols: Vec<(String, Bytes)>,
    assignment: Bytes,
    /// A JoinGroup of this member waiting for the rebalance to complete.
    join_waiter: Option<ReqId>,
    /// A SyncGroup of this member waiting for the leader's assignment.
    sync_waiter: Option<ReqId>,
    /// Expired (removed, rebalance) when passed without a heartbeat,
    /// unless a join or sync of the member is outstanding.
    session_deadline: Instant,
}

/// A rebalance in progress (state `PreparingRebalance`).
#[derive(Debug, Clone, Copy)]
struct Rebalance {
    /// Completes then, dropping members that have not rejoined.
    deadline: Instant,
    /// Set for the first rebalance of an empty group: it only completes at
    /// the deadline, which moves on by the initial delay (within the
    /// rebalance timeout) while new members keep arriving.
    initial: Option<InitialDelay>,
}

#[derive(Debug, Clone, Copy)]
struct InitialDelay {
    remaining: Duration,
    new_member_added: bool,
}

#[derive(Debug, Clone)]
pub struct Group {
    config: GroupConfig,
    state: State,
    generation: i32,
    protocol_type: Option<String>,
    protocol: Option<String>,
    leader: Option<String>,
    members: BTreeMap<String, Member>,
    /// Ids handed out with MEMBER_ID_REQUIRED, with the deadline by which
    /// they must join.
    pending: BTreeMap<String, Instant>,
    rebalance: Option<Rebalance>,
}

impl Group {
    pub fn new(config: GroupConfig) -> Group {
        Group {
            config,
            state: State::Empty,
            generation: 0,
            protocol_type: None,
            protocol: None,
            leader: None,
            members: BTreeMap::new(),
            pending: BTreeMap::new(),
            rebalance: None,
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn generation(&self) -> i32 {
        self.generation
    }

    pub fn protocol_type(&self) -> &str {
        self.protocol_type.as_deref().unwrap_or("")
    }

    /// Members joined (pending member ids are not counted).
    pub fn member_count(&self) -> usize {
        self.members.len()
    }

    /// Nothing to remember: no members, nobody pending.
    pub fn is_forgettable(&self) -> bool {
        self.state == State::Empty && self.members.is_empty() && self.pending.is_empty()
    }

    /// JoinGroup. `new_member_id` is the id to hand out if the request has
    /// none. The answer comes as an [`Action::Join`] for `req`, now or later.
    pub fn join(
        &mut self,
        req: ReqId,
        params: JoinParams,
        new_member_id: String,
        now: Instant,
    ) -> Vec<Action> {
        let mut actions = Vec::new();
        let reply_error = |error: GroupError, member: &str| {
            vec![Action::Join(req, Err(JoinRefused::new(error, member)))]
        };
        let timeout = params.session_timeout_ms;
        if timeout < self.config.min_session_timeout_ms
            || timeout > self.config.max_session_timeout_ms
        {
            return reply_error(GroupError::InvalidSessionTimeout, &params.member_id);
        }
        if params.member_id.is_empty() {
            if !self.supports(&params, None) {
                return reply_error(GroupError::InconsistentGroupProtocol, "");
            }
            if params.require_known_member_id {
                let deadline = now + millis(params.session_timeout_ms);
                self.pending.insert(new_member_id.clone(), deadline);
                return reply_error(GroupError::MemberIdRequired, &new_member_id);
            }
            self.add_member(req, new_member_id, params, now, &mut actions);
            return actions;
        }
        let member_id = params.member_id.clone();
        if self.pending.contains_key(&member_id) {
            if !self.supports(&params, None) {
                return reply_error(GroupError::InconsistentGroupProtocol, &member_id);
            }
            self.pending.remove(&member_id);
            self.add_member(req, member_id, params, now, &mut actions);
            return actions;
        }
        let Some(member) = self.members.get(&member_id) else {
            return reply_error(GroupError::UnknownMemberId, &member_id);
        };
        if !self.supports(&params, Some(&member_id)) {
            return reply_error(GroupError::InconsistentGroupProtocol, &member_id);
        }
        let same_metadata = member.protocols == params.protocols;
        let is_leader = self.leader.as_deref() == Some(member_id.as_str());
        match self.state {
            State::PreparingRebalance => {
                self.update_member(req, &member_id, params, now, &mut actions);
                self.maybe_complete_join(now, &mut actions);
            }
            State::CompletingRebalance if same_metadata => {
                // The member missed its join answer: send it again.
                actions.push(Action::Join(req, Ok(self.join_outcome(&member_id))));
            }
            State::Stable if same_metadata && !is_leader => {
                actions.push(Action::Join(req, Ok(self.join_outcome(&member_id))));
            }
            State::CompletingRebalance | State::Stable => {
                self.update_member(req, &member_id, params, now, &mut actions);
                self.prepare_rebalance(now, &mut actions);
                self.maybe_complete_join(now, &mut actions);
            }
            State::Empty => {
                actions.extend(reply_error(GroupError::UnknownMemberId, &member_id));
            }
        }
        actions
    }

    /// SyncGroup. The answer comes as an [`Action::Sync`] for `req`.
    pub fn sync(
        &mut self,
        req: ReqId,
        member_id: &str,
        generation: i32,
        assignments: Vec<(String, Bytes)>,
        now: Instant,
    ) -> Vec<Action> {
        let reply = |error: GroupError| vec![Action::Sync(req, Err(error))];
        if !self.members.contains_key(member_id) {
            return reply(GroupError::UnknownMemberId);
        }
        if generation != self.generation {
            return reply(GroupError::IllegalGeneration);
        }
        let mut actions = Vec::new();
        match self.state {
            State::Empty => return reply(GroupError::UnknownMemberId),
            State::PreparingRebalance => return reply(GroupError::RebalanceInProgress),
            State::Stable => {
                if let Some(member) = self.members.get_mut(member_id) {
                    member.session_deadline = now + member.session_timeout;
                    actions.push(Action::Sync(req, Ok(member.assignment.clone())));
                }
            }
            State::CompletingRebalance => {
                if let Some(member) = self.members.get_mut(member_id) {
                    if let Some(old) = member.sync_waiter.replace(req) {
                        actions.push(Action::Sync(old, Err(GroupError::RebalanceInProgress)));
                    }
                    member.session_deadline = now + member.session_timeout;
                }
                if self.leader.as_deref() == Some(member_id) {
                    let mut given: BTreeMap<String, Bytes> = assignments.into_iter().collect();
                    for (id, member) in &mut self.members {
                        member.assignment = given.remove(id).unwrap_or_default();
                    }
                    self.state = State::Stable;
                    for member in self.members.values_mut() {
                        member.session_deadline = now + member.session_timeout;
                        if let Some(waiter) = member.sync_waiter.take() {
                            actions.push(Action::Sync(waiter, Ok(member.assignment.clone())));
                        }
                    }
                }
            }
        }
        actions
    }

    /// Heartbeat: accepted while the member is in the current generation
    /// and no rebalance is being prepared.
    pub fn heartbeat(
        &mut self,
        member_id: &str,
        generation: i32,
        now: Instant,
    ) -> Result<(), GroupError> {
        let state = self.state;
        let Some(member) = self.members.get_mut(member_id) else {
            return Err(GroupError::UnknownMemberId);
        };
        if generation != self.generation {
            return Err(GroupError::IllegalGeneration);
        }
        member.session_deadline = now + member.session_timeout;
        match state {
            State::Empty => Err(GroupError::UnknownMemberId),
            State::CompletingRebalance | State::Stable => Ok(()),
            State::PreparingRebalance => Err(GroupError::RebalanceInProgress),
        }
    }

    /// LeaveGroup of one member: whether it was known, and the answers the
    /// resulting rebalance produced.
    pub fn leave(
        &mut self,
        member_id: &str,
        now: Instant,
    ) -> (Result<(), GroupError>, Vec<Action>) {
        let mut actions = Vec::new();
        if self.pending.remove(member_id).is_some() {
            self.maybe_complete_join(now, &mut actions);
            return (Ok(()), actions);
        }
        if !self.members.contains_key(member_id) {
            return (Err(GroupError::UnknownMemberId), actions);
        }
        self.remove_member(member_id, now, &mut actions);
        (Ok(()), actions)
    }

    /// Whether an OffsetCommit from this member and generation is accepted.
    /// Generation -1 with no member id is the `assign()` path: accepted
    /// while the group has no members.
    pub fn check_commit(
        &mut self,
        member_id: &str,
        generation: i32,
        now: Instant,
    ) -> Result<(), GroupError> {
        if generation < 0 && member_id.is_empty() {
            return if self.members.is_empty() {
                Ok(())
            } else {
                Err(GroupError::UnknownMemberId)
            };
        }
        let state = self.state;
        let Some(member) = self.members.get_mut(member_id) else {
            return Err(GroupError::UnknownMemberId);
        };
        if generation != self.generation {
            return Err(GroupError::IllegalGeneration);
        }
        if state == State::CompletingRebalance {
            return Err(GroupError::RebalanceInProgress);
        }
        member.session_deadline = now + member.session_timeout;
        Ok(())
    }

    pub fn summary(&self) -> GroupSummary {
        let stable = self.state == State::Stable;
        let protocol = if stable {
            self.protocol.clone().unwrap_or_default()
        } else {
            String::new()
        };
        let members = self
            .members
            .iter()
            .map(|(id, m)| MemberSummary {
                member_id: id.clone(),
                group_instance_id: m.instance_id.clone(),
                client_id: m.client_id.clone(),
                client_host: m.client_host.clone(),
                metadata: if stable {
                    metadata_for(&m.protocols, &protocol)
                } else {
                    Bytes::new()
                },
                assignment: if stable {
                    m.assignment.clone()
                } else {
                    Bytes::new()
                },
            })
            .collect();
        GroupSummary {
            state: self.state,
            protocol_type: self.protocol_type().to_owned(),
            protocol,
            generation: self.generation,
            members,
        }
    }
}

#[cfg(test)]
mod tests;
