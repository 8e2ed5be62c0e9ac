//! The consumer group coordinator of the broker, shared by the Kafka
//! listener (`crate::kafka_api::groups`) and the native protocol
//! (`crate::native_api::groups`), so one group can have members of both: a
//! thin async shell around the plain state machine in [`state`].
//!
//! Refusals are [`GroupError`]s; each protocol maps them to its own wire
//! codes at its edge.
//!
//! The shell owns what the state machine must not: the map of groups, the
//! clock, the channels of JoinGroup and SyncGroup requests waiting for a
//! rebalance (one `oneshot` per request, keyed by a [`state::ReqId`]), and
//! one timer task ([`Coordinator::run_timers`]) that sleeps until the
//! earliest deadline of any group (session expiry, rebalance deadline,
//! initial delay) and then ticks the groups. Every event wakes the timer
//! task so it can recompute that deadline.
//!
//! Membership lives in memory only: after a restart clients get
//! UNKNOWN_MEMBER_ID or ILLEGAL_GENERATION and rejoin, as the notes allow.
//! Committed offsets are not kept here but in [`crate::offsets`].
//! [`assignment`] reads the assignments of the standard "consumer" protocol
//! for the native DescribeGroups (with `sluice_protocol::consumer_protocol`).

pub mod assignment;
pub mod state;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use bytes::Bytes;
use tokio::sync::{Notify, oneshot, watch};
use tracing::debug;

pub use state::GroupError;
use state::{
    Action, Group, GroupConfig, GroupSummary, JoinOutcome, JoinParams, JoinRefused, ReqId,
    SyncOutcome,
};

/// Every group of the broker.
#[derive(Debug)]
pub struct Coordinator {
    config: GroupConfig,
    inner: Mutex<Inner>,
    /// Poked after every event: deadlines may have moved.
    wake: Notify,
}

#[derive(Debug, Default)]
struct Inner {
    groups: HashMap<String, Group>,
    next_req: ReqId,
    /// Senders of the JoinGroup and SyncGroup requests waiting for an
    /// answer; removed when the answer is sent. A receiver dropped by a
    /// closed connection just makes the send fail.
    joins: HashMap<ReqId, oneshot::Sender<JoinOutcome>>,
    syncs: HashMap<ReqId, oneshot::Sender<SyncOutcome>>,
}

impl Inner {
    fn next_req(&mut self) -> ReqId {
        self.next_req += 1;
        self.next_req
    }

    fn deliver(&mut self, actions: Vec<Action>) {
        for action in actions {
            match action {
                Action::Join(req, outcome) => {
                    if let Some(tx) = self.joins.remove(&req) {
                        let _ = tx.send(outcome);
                    }
                }
                Action::Sync(req, outcome) => {
                    if let Some(tx) = self.syncs.remove(&req) {
                        let _ = tx.send(outcome);
                    }
                }
            }
        }
    }

    fn forget_if_empty(&mut self, group_id: &str) {
        if self.groups.get(group_id).is_some_and(Group::is_forgettable) {
            self.groups.remove(group_id);
        }
    }
}

/// A group as ListGroups reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupListing {
    pub group_id: String,
    pub protocol_type: String,
    pub state: &'static str,
    /// Members joined.
    pub members: usize,
}

impl Coordinator {
    pub fn new(config: GroupConfig) -> Coordinator {
        Coordinator {
            config,
            inner: Mutex::new(Inner::default()),
            wake: Notify::new(),
        }
    }

    /// JoinGroup; the answer arrives on the receiver, at once or when the
    /// rebalance completes.
    pub fn join(&self, group_id: &str, params: JoinParams) -> oneshot::Receiver<JoinOutcome> {
        let (tx, rx) = oneshot::channel();
        let new_member_id = format!("{}-{}", params.client_id, unique_suffix());
        let mut inner = self.lock();
        let req = inner.next_req();
        inner.joins.insert(req, tx);
        let refused = if group_id.is_empty() {
            Some(GroupError::InvalidGroupId)
        } else if !params.member_id.is_empty() && !inner.groups.contains_key(group_id) {
            Some(GroupError::UnknownMemberId)
        } else {
            None
        };
        if let Some(error) = refused {
            let refusal = JoinRefused::new(error, &params.member_id);
            inner.deliver(vec![Action::Join(req, Err(refusal))]);
            return rx;
        }
        let config = self.config.clone();
        let group = inner
            .groups
            .entry(group_id.to_owned())
            .or_insert_with(|| Group::new(config));
        let actions = group.join(req, params, new_member_id, Instant::now());
        inner.deliver(actions);
        inner.forget_if_empty(group_id);
        drop(inner);
        self.wake.notify_one();
        rx
    }

    /// SyncGroup; the answer arrives on the receiver.
    pub fn sync(
        &self,
        group_id: &str,
        member_id: &str,
        generation: i32,
        assignments: Vec<(String, Bytes)>,
    ) -> oneshot::Receiver<SyncOutcome> {
        let (tx, rx) = oneshot::channel();
        let mut inner = self.lock();
        let req = inner.next_req();
        inner.syncs.insert(req, tx);
        let actions = match inner.groups.get_mut(group_id) {
            Some(group) => group.sync(req, member_id, generation, assignments, Instant::now()),
            None => vec![Action::Sync(req, Err(unknown_group(group_id)))],
        };
        inner.deliver(actions);
        drop(inner);
        self.wake.notify_one();
        rx
    }

    /// Heartbeat of a member of the current generation.
    pub fn heartbeat(
        &self,
        group_id: &str,
        member_id: &str,
        generation: i32,
    ) -> Result<(), GroupError> {
        let result = match self.lock().groups.get_mut(group_id) {
            Some(group) => group.heartbeat(member_id, generation, Instant::now()),
            None => Err(unknown_group(group_id)),
        };
        self.wake.notify_one();
        result
    }

    /// LeaveGroup of each of `member_ids`: their results, in order.
    pub fn leave(&self, group_id: &str, member_ids: &[String]) -> Vec<Result<(), GroupError>> {
        let mut inner = self.lock();
        let now = Instant::now();
        let mut results = Vec::with_capacity(member_ids.len());
        for member_id in member_ids {
            let (result, actions) = match inner.groups.get_mut(group_id) {
                Some(group) => group.leave(member_id, now),
                None => (Err(unknown_group(group_id)), Vec::new()),
            };
            debug!(group = group_id, member = %member_id, ?result, "member left");
            results.push(result);
            inner.deliver(actions);
        }
        inner.forget_if_empty(group_id);
        drop(inner);
        self.wake.notify_one();
        results
    }

    /// Whether an OffsetCommit of this member and generation is accepted.
    /// Generation -1 with an empty member id is a consumer outside the
    /// membership (Kafka's assign() path), accepted while the group has no
    /// members. A group the coordinator does not know only takes commits
    /// from outside any generation (`generation < 0`).
    pub fn check_commit(
        &self,
        group_id: &str,
        member_id: &str,
        generation: i32,
    ) -> Result<(), GroupError> {
        if group_id.is_empty() {
            return Err(GroupError::InvalidGroupId);
        }
        match self.lock().groups.get_mut(group_id) {
            Some(group) => group.check_commit(member_id, generation, Instant::now()),
            None if generation < 0 => Ok(()),
            None => Err(GroupError::IllegalGeneration),
        }
    }

    /// Every live group, sorted by id.
    pub fn list(&self) -> Vec<GroupListing> {
        let mut out: Vec<GroupListing> = self
            .lock()
            .groups
            .iter()
            .map(|(id, group)| GroupListing {
                group_id: id.clone(),
                protocol_type: group.protocol_type().to_owned(),
                state: group.state().name(),
                members: group.member_count(),
            })
            .collect();
        out.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        out
    }

    /// One group's description, `None` if the coordinator does not know it.
    pub fn describe(&self, group_id: &str) -> Option<GroupSummary> {
        self.lock().groups.get(group_id).map(Group::summary)
    }

    /// Runs the timers until `stopping`; then answers every waiting join
    /// and sync with NOT_COORDINATOR so clients stop waiting.
    pub async fn run_timers(&self, mut stopping: watch::Receiver<bool>) {
        loop {
            let next = self
                .lock()
                .groups
                .values()
                .filter_map(Group::next_deadline)
                .min();
            let sleep = async {
                match next {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = sleep => self.tick(Instant::now()),
                () = self.wake.notified() => {}
                _ = stopping.wait_for(|stop| *stop) => break,
            }
        }
        let mut inner = self.lock();
        let actions: Vec<Action> = inner
            .groups
            .values_mut()
            .flat_map(|group| group.abort_waiters(GroupError::NotCoordinator))
            .collect();
        inner.deliver(actions);
    }

    fn tick(&self, now: Instant) {
        let mut inner = self.lock();
        let mut actions = Vec::new();
        for group in inner.groups.values_mut() {
            actions.extend(group.tick(now));
        }
        inner.deliver(actions);
        inner.groups.retain(|_, group| !group.is_forgettable());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The refusal of a member request naming a group the coordinator does
/// not know: none of its members can be in it.
fn unknown_group(group_id: &str) -> GroupError {
    if group_id.is_empty() {
        GroupError::InvalidGroupId
    } else {
        GroupError::UnknownMemberId
    }
}

/// A random 128-bit suffix for member ids, formatted like a UUID.
fn unique_suffix() -> String {
    let n: u128 = rand::random();
    let hex = format!("{n:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}
