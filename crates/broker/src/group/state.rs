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
use sluice_kafka::ErrorCode;

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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinOutcome {
    pub error_code: i16,
    pub generation_id: i32,
    pub protocol_name: String,
    pub leader: String,
    pub member_id: String,
    /// (member id, group instance id, metadata) for the leader; empty for
    /// followers.
    pub members: Vec<(String, Option<String>, Bytes)>,
}

impl JoinOutcome {
    pub fn error(code: i16, member_id: &str) -> JoinOutcome {
        JoinOutcome {
            error_code: code,
            generation_id: -1,
            protocol_name: String::new(),
            leader: String::new(),
            member_id: member_id.to_owned(),
            members: Vec::new(),
        }
    }
}

/// The answer to one SyncGroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncOutcome {
    pub error_code: i16,
    pub assignment: Bytes,
}

impl SyncOutcome {
    pub fn error(code: i16) -> SyncOutcome {
        SyncOutcome {
            error_code: code,
            assignment: Bytes::new(),
        }
    }
}

/// What the caller must deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Join(ReqId, JoinOutcome),
    Sync(ReqId, SyncOutcome),
}

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
        let reply_error =
            |code: i16, member: &str| vec![Action::Join(req, JoinOutcome::error(code, member))];
        let timeout = params.session_timeout_ms;
        if timeout < self.config.min_session_timeout_ms
            || timeout > self.config.max_session_timeout_ms
        {
            return reply_error(ErrorCode::INVALID_SESSION_TIMEOUT, &params.member_id);
        }
        if params.member_id.is_empty() {
            if !self.supports(&params, None) {
                return reply_error(ErrorCode::INCONSISTENT_GROUP_PROTOCOL, "");
            }
            if params.require_known_member_id {
                let deadline = now + millis(params.session_timeout_ms);
                self.pending.insert(new_member_id.clone(), deadline);
                return reply_error(ErrorCode::MEMBER_ID_REQUIRED, &new_member_id);
            }
            self.add_member(req, new_member_id, params, now, &mut actions);
            return actions;
        }
        let member_id = params.member_id.clone();
        if self.pending.contains_key(&member_id) {
            if !self.supports(&params, None) {
                return reply_error(ErrorCode::INCONSISTENT_GROUP_PROTOCOL, &member_id);
            }
            self.pending.remove(&member_id);
            self.add_member(req, member_id, params, now, &mut actions);
            return actions;
        }
        let Some(member) = self.members.get(&member_id) else {
            return reply_error(ErrorCode::UNKNOWN_MEMBER_ID, &member_id);
        };
        if !self.supports(&params, Some(&member_id)) {
            return reply_error(ErrorCode::INCONSISTENT_GROUP_PROTOCOL, &member_id);
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
                actions.push(Action::Join(req, self.join_outcome(&member_id)));
            }
            State::Stable if same_metadata && !is_leader => {
                actions.push(Action::Join(req, self.join_outcome(&member_id)));
            }
            State::CompletingRebalance | State::Stable => {
                self.update_member(req, &member_id, params, now, &mut actions);
                self.prepare_rebalance(now, &mut actions);
                self.maybe_complete_join(now, &mut actions);
            }
            State::Empty => {
                actions.extend(reply_error(ErrorCode::UNKNOWN_MEMBER_ID, &member_id));
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
        let reply = |code: i16| vec![Action::Sync(req, SyncOutcome::error(code))];
        if !self.members.contains_key(member_id) {
            return reply(ErrorCode::UNKNOWN_MEMBER_ID);
        }
        if generation != self.generation {
            return reply(ErrorCode::ILLEGAL_GENERATION);
        }
        let mut actions = Vec::new();
        match self.state {
            State::Empty => return reply(ErrorCode::UNKNOWN_MEMBER_ID),
            State::PreparingRebalance => return reply(ErrorCode::REBALANCE_IN_PROGRESS),
            State::Stable => {
                if let Some(member) = self.members.get_mut(member_id) {
                    member.session_deadline = now + member.session_timeout;
                    actions.push(Action::Sync(
                        req,
                        SyncOutcome {
                            error_code: ErrorCode::NONE,
                            assignment: member.assignment.clone(),
                        },
                    ));
                }
            }
            State::CompletingRebalance => {
                if let Some(member) = self.members.get_mut(member_id) {
                    if let Some(old) = member.sync_waiter.replace(req) {
                        actions.push(Action::Sync(
                            old,
                            SyncOutcome::error(ErrorCode::REBALANCE_IN_PROGRESS),
                        ));
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
                            actions.push(Action::Sync(
                                waiter,
                                SyncOutcome {
                                    error_code: ErrorCode::NONE,
                                    assignment: member.assignment.clone(),
                                },
                            ));
                        }
                    }
                }
            }
        }
        actions
    }

    /// Heartbeat: the error code to answer.
    pub fn heartbeat(&mut self, member_id: &str, generation: i32, now: Instant) -> i16 {
        let state = self.state;
        let Some(member) = self.members.get_mut(member_id) else {
            return ErrorCode::UNKNOWN_MEMBER_ID;
        };
        if generation != self.generation {
            return ErrorCode::ILLEGAL_GENERATION;
        }
        member.session_deadline = now + member.session_timeout;
        match state {
            State::Empty => ErrorCode::UNKNOWN_MEMBER_ID,
            State::CompletingRebalance | State::Stable => ErrorCode::NONE,
            State::PreparingRebalance => ErrorCode::REBALANCE_IN_PROGRESS,
        }
    }

    /// LeaveGroup of one member: its error code, and the answers the
    /// resulting rebalance produced.
    pub fn leave(&mut self, member_id: &str, now: Instant) -> (i16, Vec<Action>) {
        let mut actions = Vec::new();
        if self.pending.remove(member_id).is_some() {
            self.maybe_complete_join(now, &mut actions);
            return (ErrorCode::NONE, actions);
        }
        if !self.members.contains_key(member_id) {
            return (ErrorCode::UNKNOWN_MEMBER_ID, actions);
        }
        self.remove_member(member_id, now, &mut actions);
        (ErrorCode::NONE, actions)
    }

    /// Whether an OffsetCommit from this member and generation is accepted.
    /// Generation -1 with no member id is the `assign()` path: accepted
    /// while the group has no members.
    pub fn check_commit(&mut self, member_id: &str, generation: i32, now: Instant) -> i16 {
        if generation < 0 && member_id.is_empty() {
            return if self.members.is_empty() {
                ErrorCode::NONE
            } else {
                ErrorCode::UNKNOWN_MEMBER_ID
            };
        }
        let state = self.state;
        let Some(member) = self.members.get_mut(member_id) else {
            return ErrorCode::UNKNOWN_MEMBER_ID;
        };
        if generation != self.generation {
            return ErrorCode::ILLEGAL_GENERATION;
        }
        if state == State::CompletingRebalance {
            return ErrorCode::REBALANCE_IN_PROGRESS;
        }
        member.session_deadline = now + member.session_timeout;
        ErrorCode::NONE
    }

    /// The earliest moment [`Group::tick`] has something to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        let sessions = self
            .members
            .values()
            .filter(|m| m.join_waiter.is_none() && m.sync_waiter.is_none())
            .map(|m| m.session_deadline);
        let rebalance = self.rebalance.map(|r| r.deadline);
        sessions
            .chain(self.pending.values().copied())
            .chain(rebalance)
            .min()
    }

    /// Applies the passing of time: expired pending ids and sessions, the
    /// rebalance deadline.
    pub fn tick(&mut self, now: Instant) -> Vec<Action> {
        let mut actions = Vec::new();
        let expired: Vec<String> = self
            .pending
            .iter()
            .filter(|(_, deadline)| **deadline <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            self.pending.remove(&id);
            self.maybe_complete_join(now, &mut actions);
        }
        let expired: Vec<String> = self
            .members
            .iter()
            .filter(|(_, m)| {
                m.join_waiter.is_none() && m.sync_waiter.is_none() && m.session_deadline <= now
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            tracing::info!(member = %id, "group member session expired");
            self.remove_member(&id, now, &mut actions);
        }
        if let Some(rebalance) = self.rebalance
            && self.state == State::PreparingRebalance
            && rebalance.deadline <= now
        {
            match rebalance.initial {
                Some(initial) if initial.new_member_added && !initial.remaining.is_zero() => {
                    let delay = self.config.initial_rebalance_delay.min(initial.remaining);
                    self.rebalance = Some(Rebalance {
                        deadline: now + delay,
                        initial: Some(InitialDelay {
                            remaining: initial.remaining.saturating_sub(delay),
                            new_member_added: false,
                        }),
                    });
                }
                _ => self.complete_join(now, &mut actions),
            }
        }
        actions
    }

    /// Every waiting request answered with `code` (shutdown).
    pub fn abort_waiters(&mut self, code: i16) -> Vec<Action> {
        let mut actions = Vec::new();
        for (id, member) in &mut self.members {
            if let Some(req) = member.join_waiter.take() {
                actions.push(Action::Join(req, JoinOutcome::error(code, id)));
            }
            if let Some(req) = member.sync_waiter.take() {
                actions.push(Action::Sync(req, SyncOutcome::error(code)));
            }
        }
        actions
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

    /// Whether the group can take a member with these protocols: the type
    /// matches and one protocol is supported by every other member.
    fn supports(&self, params: &JoinParams, except: Option<&str>) -> bool {
        if params.protocol_type.is_empty() || params.protocols.is_empty() {
            return false;
        }
        let others: Vec<&Member> = self
            .members
            .iter()
            .filter(|(id, _)| Some(id.as_str()) != except)
            .map(|(_, m)| m)
            .collect();
        if others.is_empty() {
            return true;
        }
        if self.protocol_type.as_deref() != Some(params.protocol_type.as_str()) {
            return false;
        }
        params.protocols.iter().any(|(name, _)| {
            others
                .iter()
                .all(|m| m.protocols.iter().any(|(n, _)| n == name))
        })
    }

    fn add_member(
        &mut self,
        req: ReqId,
        member_id: String,
        params: JoinParams,
        now: Instant,
        actions: &mut Vec<Action>,
    ) {
        if self.members.is_empty() {
            self.protocol_type = Some(params.protocol_type.clone());
        }
        if self.leader.is_none() {
            self.leader = Some(member_id.clone());
        }
        let session_timeout = millis(params.session_timeout_ms);
        let rebalance_timeout = if params.rebalance_timeout_ms < 0 {
            session_timeout
        } else {
            millis(params.rebalance_timeout_ms)
        };
        self.members.insert(
            member_id,
            Member {
                instance_id: params.group_instance_id,
                client_id: params.client_id,
                client_host: params.client_host,
                session_timeout,
                rebalance_timeout,
                protocols: params.protocols,
                assignment: Bytes::new(),
                join_waiter: Some(req),
                sync_waiter: None,
                session_deadline: now + session_timeout,
            },
        );
        if self.state == State::PreparingRebalance
            && let Some(Rebalance {
                initial: Some(initial),
                ..
            }) = &mut self.rebalance
        {
            initial.new_member_added = true;
        }
        self.prepare_rebalance(now, actions);
        self.maybe_complete_join(now, actions);
    }

    fn update_member(
        &mut self,
        req: ReqId,
        member_id: &str,
        params: JoinParams,
        now: Instant,
        actions: &mut Vec<Action>,
    ) {
        let Some(member) = self.members.get_mut(member_id) else {
            return;
        };
        member.protocols = params.protocols;
        member.session_timeout = millis(params.session_timeout_ms);
        if params.rebalance_timeout_ms >= 0 {
            member.rebalance_timeout = millis(params.rebalance_timeout_ms);
        }
        member.session_deadline = now + member.session_timeout;
        if let Some(old) = member.join_waiter.replace(req) {
            actions.push(Action::Join(
                old,
                JoinOutcome::error(ErrorCode::REBALANCE_IN_PROGRESS, member_id),
            ));
        }
    }

    /// Starts a rebalance unless one is already being prepared.
    fn prepare_rebalance(&mut self, now: Instant, actions: &mut Vec<Action>) {
        if self.state == State::PreparingRebalance {
            return;
        }
        if self.state == State::CompletingRebalance {
            // Followers waiting for an assignment that will not come.
            for member in self.members.values_mut() {
                member.assignment = Bytes::new();
                if let Some(req) = member.sync_waiter.take() {
                    actions.push(Action::Sync(
                        req,
                        SyncOutcome::error(ErrorCode::REBALANCE_IN_PROGRESS),
                    ));
                }
            }
        }
        let rebalance_timeout = self
            .members
            .values()
            .map(|m| m.rebalance_timeout)
            .max()
            .unwrap_or_default();
        self.rebalance = Some(if self.state == State::Empty {
            let delay = self.config.initial_rebalance_delay;
            Rebalance {
                deadline: now + delay,
                initial: Some(InitialDelay {
                    remaining: rebalance_timeout.saturating_sub(delay),
                    new_member_added: false,
                }),
            }
        } else {
            Rebalance {
                deadline: now + rebalance_timeout,
                initial: None,
            }
        });
        self.state = State::PreparingRebalance;
    }

    /// Completes the join phase once every member (and every pending id)
    /// has joined; the initial-delay rebalance only completes at its
    /// deadline.
    fn maybe_complete_join(&mut self, now: Instant, actions: &mut Vec<Action>) {
        let Some(rebalance) = self.rebalance else {
            return;
        };
        if self.state != State::PreparingRebalance || rebalance.initial.is_some() {
            return;
        }
        let all_joined = self.members.values().all(|m| m.join_waiter.is_some());
        if all_joined && self.pending.is_empty() {
            self.complete_join(now, actions);
        }
    }

    /// Ends the join phase: members that did not rejoin are dropped, a new
    /// generation starts and every joined member gets its answer.
    fn complete_join(&mut self, now: Instant, actions: &mut Vec<Action>) {
        self.rebalance = None;
        self.members.retain(|_, m| m.join_waiter.is_some());
        if self
            .leader
            .as_ref()
            .is_none_or(|leader| !self.members.contains_key(leader))
        {
            self.leader = self.members.keys().next().cloned();
        }
        self.generation = self.generation.wrapping_add(1).max(1);
        if self.members.is_empty() {
            self.state = State::Empty;
            self.protocol = None;
            self.protocol_type = None;
            return;
        }
        self.protocol = self.select_protocol();
        self.state = State::CompletingRebalance;
        let ids: Vec<String> = self.members.keys().cloned().collect();
        for id in ids {
            let outcome = self.join_outcome(&id);
            if let Some(member) = self.members.get_mut(&id) {
                member.session_deadline = now + member.session_timeout;
                if let Some(req) = member.join_waiter.take() {
                    actions.push(Action::Join(req, outcome));
                }
            }
        }
    }

    /// The current generation's join answer for `member_id`.
    fn join_outcome(&self, member_id: &str) -> JoinOutcome {
        let protocol = self.protocol.clone().unwrap_or_default();
        let leader = self.leader.clone().unwrap_or_default();
        let members = if leader == member_id {
            self.members
                .iter()
                .map(|(id, m)| {
                    (
                        id.clone(),
                        m.instance_id.clone(),
                        metadata_for(&m.protocols, &protocol),
                    )
                })
                .collect()
        } else {
            Vec::new()
        };
        JoinOutcome {
            error_code: ErrorCode::NONE,
            generation_id: self.generation,
            protocol_name: protocol,
            leader,
            member_id: member_id.to_owned(),
            members,
        }
    }

    /// Kafka's vote: among the protocols every member supports, each member
    /// votes for the first of its own list; most votes wins, ties going to
    /// the leader's preference order.
    fn select_protocol(&self) -> Option<String> {
        let leader = self.leader.as_ref().and_then(|l| self.members.get(l))?;
        let candidates: Vec<&String> = leader
            .protocols
            .iter()
            .map(|(name, _)| name)
            .filter(|name| {
                self.members
                    .values()
                    .all(|m| m.protocols.iter().any(|(n, _)| n == *name))
            })
            .collect();
        let votes = |candidate: &String| {
            self.members
                .values()
                .filter(|m| {
                    m.protocols
                        .iter()
                        .map(|(n, _)| n)
                        .find(|n| candidates.contains(n))
                        == Some(candidate)
                })
                .count()
        };
        let mut best: Option<(&String, usize)> = None;
        for candidate in &candidates {
            let count = votes(candidate);
            if best.is_none_or(|(_, most)| count > most) {
                best = Some((candidate, count));
            }
        }
        best.map(|(name, _)| name.clone())
    }

    fn remove_member(&mut self, member_id: &str, now: Instant, actions: &mut Vec<Action>) {
        let Some(member) = self.members.remove(member_id) else {
            return;
        };
        if let Some(req) = member.join_waiter {
            actions.push(Action::Join(
                req,
                JoinOutcome::error(ErrorCode::UNKNOWN_MEMBER_ID, member_id),
            ));
        }
        if let Some(req) = member.sync_waiter {
            actions.push(Action::Sync(
                req,
                SyncOutcome::error(ErrorCode::UNKNOWN_MEMBER_ID),
            ));
        }
        if self.leader.as_deref() == Some(member_id) {
            self.leader = self.members.keys().next().cloned();
        }
        match self.state {
            State::Empty => {}
            State::Stable | State::CompletingRebalance => {
                self.prepare_rebalance(now, actions);
                self.maybe_complete_join(now, actions);
            }
            State::PreparingRebalance => self.maybe_complete_join(now, actions),
        }
    }
}

fn metadata_for(protocols: &[(String, Bytes)], protocol: &str) -> Bytes {
    protocols
        .iter()
        .find(|(name, _)| name == protocol)
        .map(|(_, metadata)| metadata.clone())
        .unwrap_or_default()
}

fn millis(ms: i32) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

#[cfg(test)]
mod tests;
