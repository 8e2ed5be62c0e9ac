//! The rebalance machinery of a [`Group`]: membership changes, protocol
//! selection, completing a join round, and the passing of time (deadlines,
//! session expiry).

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::types::*;
use super::{Group, InitialDelay, Member, Rebalance};

impl Group {
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

    /// Every waiting request answered with `error` (shutdown).
    pub fn abort_waiters(&mut self, error: GroupError) -> Vec<Action> {
        let mut actions = Vec::new();
        for (id, member) in &mut self.members {
            if let Some(req) = member.join_waiter.take() {
                actions.push(Action::Join(req, Err(JoinRefused::new(error, id))));
            }
            if let Some(req) = member.sync_waiter.take() {
                actions.push(Action::Sync(req, Err(error)));
            }
        }
        actions
    }

    /// Whether the group can take a member with these protocols: the type
    /// matches and one protocol is supported by every other member.
    pub(super) fn supports(&self, params: &JoinParams, except: Option<&str>) -> bool {
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

    pub(super) fn add_member(
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

    pub(super) fn update_member(
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
                Err(JoinRefused::new(GroupError::RebalanceInProgress, member_id)),
            ));
        }
    }

    /// Starts a rebalance unless one is already being prepared.
    pub(super) fn prepare_rebalance(&mut self, now: Instant, actions: &mut Vec<Action>) {
        if self.state == State::PreparingRebalance {
            return;
        }
        if self.state == State::CompletingRebalance {
            // Followers waiting for an assignment that will not come.
            for member in self.members.values_mut() {
                member.assignment = Bytes::new();
                if let Some(req) = member.sync_waiter.take() {
                    actions.push(Action::Sync(req, Err(GroupError::RebalanceInProgress)));
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
    pub(super) fn maybe_complete_join(&mut self, now: Instant, actions: &mut Vec<Action>) {
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
    pub(super) fn complete_join(&mut self, now: Instant, actions: &mut Vec<Action>) {
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
                    actions.push(Action::Join(req, Ok(outcome)));
                }
            }
        }
    }

    /// The current generation's join answer for `member_id`.
    pub(super) fn join_outcome(&self, member_id: &str) -> Joined {
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
        Joined {
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
    pub(super) fn select_protocol(&self) -> Option<String> {
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

    pub(super) fn remove_member(
        &mut self,
        member_id: &str,
        now: Instant,
        actions: &mut Vec<Action>,
    ) {
        let Some(member) = self.members.remove(member_id) else {
            return;
        };
        if let Some(req) = member.join_waiter {
            actions.push(Action::Join(
                req,
                Err(JoinRefused::new(GroupError::UnknownMemberId, member_id)),
            ));
        }
        if let Some(req) = member.sync_waiter {
            actions.push(Action::Sync(req, Err(GroupError::UnknownMemberId)));
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

pub(super) fn metadata_for(protocols: &[(String, Bytes)], protocol: &str) -> Bytes {
    protocols
        .iter()
        .find(|(name, _)| name == protocol)
        .map(|(_, metadata)| metadata.clone())
        .unwrap_or_default()
}

pub(super) fn millis(ms: i32) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}
