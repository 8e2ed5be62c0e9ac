//! A subscribed consumer's group membership: joining (JoinGroup, the
//! leader's assignment, SyncGroup), the heartbeat task, and leaving.
//!
//! [`Membership`] talks to the broker on its own connection (the group
//! coordinator's, as Kafka consumers have one), so heartbeats never wait
//! behind the consumer's long-poll fetches. The heartbeat task runs while
//! the member holds a generation, every third of the session timeout; when
//! the broker answers that the group is rebalancing or that the member is
//! out of it, the task raises `rejoin` and stops. The consumer looks at it
//! in `poll` and joins again there, so the records it returns always come
//! from partitions it holds in a current generation.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use sluice_protocol::ErrorCode;
use sluice_protocol::consumer_protocol::{Assignment, Subscription, TopicPartitions};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use super::assignor::AssignmentStrategy;
use crate::client::Client;
use crate::error::{ClientError, Result};
use crate::member::{CONSUMER_PROTOCOL_TYPE, GroupGeneration, JoinGroup, JoinedGroup};
use crate::types::TopicPartition;

/// JoinGroup/SyncGroup rounds one join may take (each rebalance error
/// costs one) before it gives up with the last error.
const MAX_JOIN_ROUNDS: u32 = 30;
/// Backoff after a failed round that was not a rebalance answer
/// (connection lost, broker shutting down): doubles up to the maximum.
const BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// The settings of a membership, from the consumer's config.
#[derive(Debug, Clone)]
pub(super) struct Settings {
    pub session_timeout: Duration,
    pub rebalance_timeout: Duration,
    pub strategies: Vec<AssignmentStrategy>,
}

#[derive(Debug)]
pub(super) struct Membership {
    /// The coordinator connection; the heartbeat task holds a clone.
    coordinator: Client,
    group: String,
    /// Sorted, without duplicates.
    topics: Vec<String>,
    settings: Settings,
    /// The id the broker gave; empty before the first join and after
    /// `UNKNOWN_MEMBER_ID`.
    member_id: String,
    /// The generation last joined; `None` before the first join and once
    /// the member knows it is out of it.
    generation: Option<GroupGeneration>,
    /// Why the member must join again: set by the heartbeat task of the
    /// current generation (each generation has its own channel, so a late
    /// heartbeat of an older one cannot touch it) or by a refused commit.
    rejoin: watch::Receiver<Option<ErrorCode>>,
    rejoin_tx: watch::Sender<Option<ErrorCode>>,
    /// Aborted when the generation ends and on drop.
    heartbeat: Option<JoinHandle<()>>,
}

impl Membership {
    pub fn new(
        client: &Client,
        group: String,
        topics: Vec<String>,
        settings: Settings,
    ) -> Membership {
        let (rejoin_tx, rejoin) = watch::channel(None);
        Membership {
            coordinator: client.dedicated(),
            group,
            topics,
            settings,
            member_id: String::new(),
            generation: None,
            rejoin,
            rejoin_tx,
            heartbeat: None,
        }
    }

    pub fn group(&self) -> &str {
        &self.group
    }

    /// The generation the member is in, as far as it knows.
    pub fn generation(&self) -> Option<&GroupGeneration> {
        self.generation.as_ref()
    }

    /// Changes the subscription; a changed one rejoins at the next poll.
    pub fn set_topics(&mut self, topics: Vec<String>) {
        if topics != self.topics {
            self.topics = topics;
            self.raise(ErrorCode::RebalanceInProgress);
        }
    }

    /// Whether `poll` must (re)join before fetching.
    pub fn needs_join(&self) -> bool {
        self.generation.is_none() || self.rejoin.borrow().is_some()
    }

    /// Whether the member is still in its generation and can commit in it
    /// before rejoining (a rebalance is only being prepared).
    pub fn can_commit(&self) -> bool {
        self.generation.is_some()
            && matches!(
                *self.rejoin.borrow(),
                None | Some(ErrorCode::RebalanceInProgress)
            )
    }

    /// Resolves once a rejoin is asked for (never, if the heartbeat task
    /// of this generation is gone without asking).
    pub async fn rejoin_requested(&mut self) {
        if self.rejoin.wait_for(Option::is_some).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// Notes a refusal from the broker (a commit's): a rebalance error
    /// means joining again; out of the generation or the group, the
    /// generation is gone.
    pub fn note_error(&mut self, error: &ClientError) {
        if error.is_rebalance()
            && let Some(code) = error.code()
        {
            self.raise(code);
        }
    }

    fn raise(&self, code: ErrorCode) {
        self.rejoin_tx.send_if_modified(|reason| {
            // Being out of the generation outranks a rebalance notice.
            let replace = reason.is_none() || code != ErrorCode::RebalanceInProgress;
            if replace {
                *reason = Some(code);
            }
            replace
        });
    }

    fn stop_heartbeat(&mut self) {
        if let Some(task) = self.heartbeat.take() {
            task.abort();
        }
    }

    /// Joins the group (again) and returns this member's partitions.
    /// Rebalance answers start another round at once, a lost connection or
    /// a broker shutting down after a backoff; other errors end it.
    pub async fn join(&mut self) -> Result<Vec<TopicPartition>> {
        self.stop_heartbeat();
        if *self.rejoin.borrow() == Some(ErrorCode::UnknownMemberId) {
            self.member_id.clear();
        }
        // Out of the old generation from here on, whatever happens.
        self.generation = None;
        let metadata = Bytes::from(
            Subscription::new(self.topics.iter().cloned())
                .encode()
                .map_err(|source| self.protocol_error("subscription", source))?,
        );
        let mut backoff = BACKOFF;
        let mut last_error = None;
        for _ in 0..MAX_JOIN_ROUNDS {
            match self.round(&metadata).await {
                Ok((generation, partitions)) => {
                    info!(group = %self.group, member = %generation.member_id,
                        generation = generation.generation_id, partitions = ?partitions,
                        "joined the group");
                    self.start_heartbeat(generation.clone());
                    self.generation = Some(generation);
                    return Ok(partitions);
                }
                Err(ClientError::MemberIdRequired { member_id, .. }) => {
                    self.member_id = member_id;
                }
                Err(e) if e.is_rebalance() => {
                    debug!(group = %self.group, error = %e, "joining again");
                    if e.code() == Some(ErrorCode::UnknownMemberId) {
                        self.member_id.clear();
                    }
                    last_error = Some(e);
                }
                Err(e) if e.is_retriable() || e.code() == Some(ErrorCode::NotCoordinator) => {
                    warn!(group = %self.group, error = %e, ?backoff, "join failed, retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    last_error = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last_error.unwrap_or(ClientError::NotInGroup {
            group: self.group.clone(),
        }))
    }

    /// One JoinGroup and SyncGroup.
    async fn round(&mut self, metadata: &Bytes) -> Result<(GroupGeneration, Vec<TopicPartition>)> {
        let join = JoinGroup {
            group: self.group.clone(),
            member_id: self.member_id.clone(),
            protocol_type: CONSUMER_PROTOCOL_TYPE.to_owned(),
            protocols: self
                .settings
                .strategies
                .iter()
                .map(|s| (s.name().to_owned(), metadata.clone()))
                .collect(),
            session_timeout: self.settings.session_timeout,
            rebalance_timeout: self.settings.rebalance_timeout,
        };
        let joined = self.coordinator.join_group(&join).await?;
        self.member_id.clone_from(&joined.generation.member_id);
        let assignments = if joined.is_leader() {
            self.assign(&joined).await?
        } else {
            Vec::new()
        };
        let bytes = self
            .coordinator
            .sync_group_within(
                &self.group,
                &joined.generation,
                assignments,
                self.settings.session_timeout,
            )
            .await?;
        let partitions = if bytes.is_empty() {
            Vec::new()
        } else {
            Assignment::decode(&bytes)
                .map_err(|source| self.protocol_error("assignment", source))?
                .pairs()
                .into_iter()
                .map(|(topic, partition)| TopicPartition::new(topic, partition))
                .collect()
        };
        Ok((joined.generation, partitions))
    }

    /// The leader's part: every member's assignment, encoded.
    async fn assign(&self, joined: &JoinedGroup) -> Result<Vec<(String, Bytes)>> {
        let strategy =
            AssignmentStrategy::from_name(&joined.protocol).ok_or_else(|| ClientError::Broker {
                code: ErrorCode::InconsistentGroupProtocol,
                message: format!(
                    "group {} chose the strategy {:?}, which this consumer does not offer",
                    self.group, joined.protocol
                ),
            })?;
        let mut subscriptions = BTreeMap::new();
        for member in &joined.members {
            let topics = match Subscription::decode(&member.metadata) {
                Ok(subscription) => subscription.topics,
                Err(error) => {
                    // One member's bad bytes do not stop the group: it gets
                    // nothing until it joins with a readable subscription.
                    warn!(group = %self.group, member = %member.member_id, %error,
                        "unreadable subscription; assigning the member nothing");
                    Vec::new()
                }
            };
            subscriptions.insert(member.member_id.clone(), topics);
        }
        // Every topic, so a topic subscribed by a member that does not
        // exist is simply not assigned.
        let counts: BTreeMap<String, u32> = self
            .coordinator
            .metadata(&[])
            .await?
            .into_iter()
            .map(|t| {
                let n = u32::try_from(t.partitions.len()).unwrap_or(u32::MAX);
                (t.name, n)
            })
            .collect();
        let mut out = Vec::new();
        for (member, partitions) in strategy.assign(&subscriptions, &counts) {
            let mut by_topic: BTreeMap<String, Vec<u32>> = BTreeMap::new();
            for tp in partitions {
                by_topic.entry(tp.topic).or_default().push(tp.partition);
            }
            let assignment = Assignment::new(
                by_topic
                    .into_iter()
                    .map(|(topic, partitions)| TopicPartitions { topic, partitions })
                    .collect(),
            );
            let bytes = assignment
                .encode()
                .map_err(|source| self.protocol_error("assignment", source))?;
            out.push((member, Bytes::from(bytes)));
        }
        Ok(out)
    }

    fn start_heartbeat(&mut self, generation: GroupGeneration) {
        // A fresh channel per generation: see `rejoin`.
        let (tx, rx) = watch::channel(None);
        self.rejoin = rx;
        self.rejoin_tx = tx.clone();
        let client = self.coordinator.clone();
        let group = self.group.clone();
        let interval = (self.settings.session_timeout / 3).max(Duration::from_millis(10));
        self.heartbeat = Some(tokio::spawn(async move {
            let start = tokio::time::Instant::now() + interval;
            let mut ticks = tokio::time::interval_at(start, interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                match client.heartbeat(&group, &generation).await {
                    Ok(()) => {}
                    Err(e) if e.is_rebalance() => {
                        debug!(%group, error = %e, "heartbeat: rejoin");
                        tx.send_replace(e.code());
                        return;
                    }
                    // A lost connection or a broker restarting: keep
                    // trying; the session timeout decides.
                    Err(e) => debug!(%group, error = %e, "heartbeat failed"),
                }
            }
        }));
    }

    /// Leaves the group (LeaveGroup), so it rebalances at once.
    pub async fn leave(&mut self) -> Result<()> {
        self.stop_heartbeat();
        self.generation = None;
        let member_id = std::mem::take(&mut self.member_id);
        if member_id.is_empty() {
            return Ok(());
        }
        info!(group = %self.group, member = %member_id, "leaving the group");
        match self.coordinator.leave_group(&self.group, &member_id).await {
            Err(e) if e.code() == Some(ErrorCode::UnknownMemberId) => Ok(()),
            other => other,
        }
    }

    fn protocol_error(
        &self,
        what: &'static str,
        source: sluice_protocol::consumer_protocol::ConsumerProtocolError,
    ) -> ClientError {
        ClientError::GroupProtocol {
            group: self.group.clone(),
            what,
            source,
        }
    }
}

impl Drop for Membership {
    /// Stops heartbeating and, when a runtime is at hand, sends LeaveGroup
    /// in the background (best effort; `Consumer::close` waits for it).
    fn drop(&mut self) {
        self.stop_heartbeat();
        let member_id = std::mem::take(&mut self.member_id);
        if member_id.is_empty() {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let client = self.coordinator.clone();
            let group = self.group.clone();
            runtime.spawn(async move {
                if let Err(e) = client.leave_group(&group, &member_id).await {
                    debug!(%group, member = %member_id, error = %e, "leave on drop failed");
                }
            });
        }
    }
}
