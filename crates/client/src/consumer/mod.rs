//! [`Consumer`]: fetches records of assigned partitions with long polls
//! and keeps (and commits) its positions.
//!
//! A consumer gets its partitions in one of two ways:
//!
//! - [`Consumer::subscribe`] with a [`ConsumerConfig::group_id`]: the
//!   consumer is a member of the group (`membership`), with Kafka's
//!   semantics, and Kafka consumers may be members of the same group. The
//!   first poll joins; the group leader (perhaps this consumer, with the
//!   `assignor`) splits the subscribed partitions among the members; a
//!   background task heartbeats; when the group rebalances (a member joins
//!   or leaves) the next poll gives the partitions back (committing their
//!   positions first with auto-commit on), joins again and takes the new
//!   assignment. Commits name the member and its generation, so a member
//!   that fell out of the group cannot overwrite its successor's offsets.
//!   Without a group id, `subscribe` takes every partition of the topics.
//! - [`Consumer::assign`]: exactly the partitions given, outside any
//!   membership; commits under a group id then carry no member, which the
//!   broker accepts only while the group has no members (Kafka's
//!   `assign()` consumer).
//!
//! A partition without a position yet starts at the group's committed
//! offset if there is one, else at [`ConsumerConfig::auto_offset_reset`].
//!
//! Compressed batches (gzip, snappy, lz4, zstd, as any Kafka client writes
//! them) are decompressed, each up to
//! [`ConsumerConfig::max_decompressed_batch_bytes`].

mod assignor;
mod config;
mod membership;
mod parse;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice_protocol::{ErrorCode, pb};

pub use assignor::AssignmentStrategy;
pub use config::{ConsumerConfig, OffsetReset, SeekTo};
pub use parse::{ConsumerRecord, RecordHeader};

use crate::client::Client;
use crate::error::{ClientError, Result};
use crate::member::GroupGeneration;
use crate::types::{OffsetSpec, TopicPartition, wire_ms};
use membership::{Membership, Settings};

/// A partition's position: known, or to be looked up before the next
/// fetch (`None`: the group's commit, else the reset policy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Position {
    At(i64),
    Unresolved(Option<SeekTo>),
}

/// A polling consumer. Not shared between tasks: `poll` takes `&mut self`.
///
/// ```no_run
/// # async fn demo() -> Result<(), sluice_client::ClientError> {
/// use std::time::Duration;
/// use sluice_client::{Client, Consumer, ConsumerConfig, OffsetReset};
///
/// let client = Client::connect("127.0.0.1:9393").await?;
/// let config = ConsumerConfig {
///     group_id: Some("billing".into()),
///     auto_offset_reset: OffsetReset::Earliest,
///     ..ConsumerConfig::default()
/// };
/// let mut consumer = Consumer::new(client, config);
/// // Joins group "billing" at the first poll; its members share the
/// // partitions of "orders".
/// consumer.subscribe(&["orders"]).await?;
/// for _ in 0..100 {
///     for record in consumer.poll(Duration::from_secs(1)).await? {
///         println!("{}/{}@{}: {:?}", record.topic, record.partition, record.offset, record.value);
///     }
/// }
/// // Commits and leaves the group, which rebalances at once.
/// consumer.close().await
/// # }
/// ```
#[derive(Debug)]
pub struct Consumer {
    client: Client,
    config: ConsumerConfig,
    positions: BTreeMap<TopicPartition, Position>,
    /// Topic names shared by the records of each topic.
    topic_names: HashMap<String, Arc<str>>,
    /// What was last committed, so auto-commit skips unchanged positions.
    committed: HashMap<TopicPartition, i64>,
    last_auto_commit: Instant,
    /// The group membership that decides `positions`' partitions, after
    /// `subscribe` with a group id; `None` for `assign`.
    membership: Option<Membership>,
}

impl Consumer {
    /// A consumer with no partitions yet. It talks to `client`'s broker over
    /// its own connection (see [`Client::dedicated`]), so its long polls do
    /// not hold up other users of `client`.
    pub fn new(client: Client, config: ConsumerConfig) -> Consumer {
        Consumer {
            client: client.dedicated(),
            config,
            positions: BTreeMap::new(),
            topic_names: HashMap::new(),
            committed: HashMap::new(),
            last_auto_commit: Instant::now(),
            membership: None,
        }
    }

    /// Consumes exactly these partitions, replacing the assignment,
    /// outside any group membership (a subscribed consumer leaves its
    /// group, in the background). Partitions kept from the old assignment
    /// keep their positions.
    pub fn assign(&mut self, partitions: impl IntoIterator<Item = TopicPartition>) {
        self.membership = None;
        self.set_partitions(partitions);
    }

    fn set_partitions(&mut self, partitions: impl IntoIterator<Item = TopicPartition>) {
        let mut positions = BTreeMap::new();
        for tp in partitions {
            let position = self
                .positions
                .get(&tp)
                .copied()
                .unwrap_or(Position::Unresolved(None));
            positions.insert(tp, position);
        }
        self.positions = positions;
    }

    /// With a group id: consumes the share of `topics`' partitions that
    /// the group assigns this member. The next [`poll`](Self::poll) joins
    /// the group (a changed subscription joins again) and follows its
    /// rebalances from then on; until then nothing is assigned.
    ///
    /// Without a group id: consumes every partition of `topics` (as they
    /// are now).
    pub async fn subscribe(&mut self, topics: &[&str]) -> Result<()> {
        if let Some(group) = &self.config.group_id {
            let mut topics: Vec<String> = topics.iter().map(|t| (*t).to_owned()).collect();
            topics.sort();
            topics.dedup();
            match &mut self.membership {
                Some(membership) => membership.set_topics(topics),
                None => {
                    let settings = Settings {
                        session_timeout: self.config.session_timeout,
                        rebalance_timeout: self.config.rebalance_timeout,
                        strategies: self.config.assignment_strategies.clone(),
                    };
                    if settings.strategies.is_empty() {
                        return Err(ClientError::Config(
                            "a group member needs at least one assignment strategy".into(),
                        ));
                    }
                    self.positions.clear();
                    self.membership = Some(Membership::new(
                        &self.client,
                        group.clone(),
                        topics,
                        settings,
                    ));
                }
            }
            return Ok(());
        }
        let mut partitions = Vec::new();
        for topic in self.client.metadata(topics).await? {
            for p in &topic.partitions {
                partitions.push(TopicPartition::new(topic.name.clone(), p.partition));
            }
        }
        self.set_partitions(partitions);
        Ok(())
    }

    /// The member and generation a subscribed consumer is in (`None`
    /// before it joined, while it rejoins, and for `assign`).
    pub fn group_generation(&self) -> Option<&GroupGeneration> {
        self.membership.as_ref().and_then(Membership::generation)
    }

    /// The assigned partitions, sorted.
    pub fn assignment(&self) -> Vec<TopicPartition> {
        self.positions.keys().cloned().collect()
    }

    /// Moves one assigned partition; takes effect at the next poll.
    pub fn seek(&mut self, tp: &TopicPartition, to: SeekTo) -> Result<()> {
        let position = self
            .positions
            .get_mut(tp)
            .ok_or_else(|| ClientError::NotAssigned {
                topic: tp.topic.clone(),
                partition: tp.partition,
            })?;
        *position = match to {
            SeekTo::Offset(offset) => Position::At(offset),
            other => Position::Unresolved(Some(other)),
        };
        Ok(())
    }

    /// Moves every assigned partition.
    pub fn seek_all(&mut self, to: SeekTo) {
        for position in self.positions.values_mut() {
            *position = match to {
                SeekTo::Offset(offset) => Position::At(offset),
                other => Position::Unresolved(Some(other)),
            };
        }
    }

    /// The next offset to be returned for `tp`, resolving it if needed.
    pub async fn position(&mut self, tp: &TopicPartition) -> Result<i64> {
        self.resolve_positions().await?;
        match self.positions.get(tp) {
            Some(Position::At(offset)) => Ok(*offset),
            _ => Err(ClientError::NotAssigned {
                topic: tp.topic.clone(),
                partition: tp.partition,
            }),
        }
    }

    /// Fetches records, waiting up to `timeout` for some to arrive. Returns
    /// an empty vector when none came in time (or nothing is assigned).
    /// Positions move past the returned records, so the next poll continues
    /// after them.
    ///
    /// A subscribed consumer first joins its group when it must (the first
    /// poll, a rebalance); `timeout` counts from when it holds its
    /// assignment, as joining waits for the other members (up to
    /// [`ConsumerConfig::rebalance_timeout`]).
    pub async fn poll(&mut self, timeout: Duration) -> Result<Vec<ConsumerRecord>> {
        let mut deadline = Instant::now() + timeout;
        self.maybe_auto_commit().await;
        loop {
            if self.membership.as_ref().is_some_and(Membership::needs_join) {
                self.rebalance().await?;
                deadline = Instant::now() + timeout;
            }
            self.resolve_positions().await?;
            if self.positions.is_empty() {
                // A member with no partitions (more members than
                // partitions) waits for the next rebalance or the deadline.
                if let Some(membership) = self.membership.as_mut() {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if tokio::time::timeout(left, membership.rejoin_requested())
                        .await
                        .is_ok()
                    {
                        continue;
                    }
                }
                return Ok(Vec::new());
            }
            let now = Instant::now();
            let max_wait = deadline
                .saturating_duration_since(now)
                .min(self.config.fetch_max_wait);
            let records = self.fetch_once(max_wait).await?;
            if !records.is_empty() || Instant::now() >= deadline {
                return Ok(records);
            }
        }
    }

    /// Gives the partitions back and joins the group again: commits their
    /// positions first when auto-commit is on and the member is still in
    /// its generation (so the next owner starts where this one stopped),
    /// then takes the new assignment. Positions of partitions kept stay,
    /// unless the member had fallen out of its generation (its positions
    /// may be older than what the group committed since).
    async fn rebalance(&mut self) -> Result<()> {
        let Some(membership) = self.membership.as_ref() else {
            return Ok(());
        };
        let kept_generation = membership.can_commit();
        if kept_generation
            && self.config.auto_commit_interval.is_some()
            && let Err(e) = self.commit().await
        {
            tracing::warn!(error = %e, "commit before rejoining failed");
        }
        let Some(membership) = self.membership.as_mut() else {
            return Ok(());
        };
        if !kept_generation {
            self.positions.clear();
        }
        let partitions = membership.join().await?;
        self.set_partitions(partitions);
        Ok(())
    }

    /// Commits the current positions (the offsets after the records polled
    /// so far) under the group id; a subscribed consumer commits as its
    /// member and generation. A refusal because the group rebalanced
    /// ([`ClientError::is_rebalance`]) makes the next poll join again.
    pub async fn commit(&mut self) -> Result<()> {
        let group = self.config.group_id.clone().ok_or(ClientError::NoGroup)?;
        let offsets: Vec<(TopicPartition, i64)> = self
            .positions
            .iter()
            .filter_map(|(tp, p)| match p {
                Position::At(offset) => Some((tp.clone(), *offset)),
                Position::Unresolved(_) => None,
            })
            .collect();
        if offsets.is_empty() {
            return Ok(());
        }
        let result = match &self.membership {
            Some(membership) => match membership.generation() {
                Some(generation) => {
                    self.client
                        .commit_offsets_as(&group, generation, &offsets)
                        .await
                }
                None => Err(ClientError::NotInGroup {
                    group: membership.group().to_owned(),
                }),
            },
            None => self.client.commit_offsets(&group, &offsets).await,
        };
        if let (Err(e), Some(membership)) = (&result, self.membership.as_mut()) {
            membership.note_error(e);
        }
        result?;
        self.committed.extend(offsets);
        Ok(())
    }

    /// Commits (when auto-commit is on), leaves the group (a subscribed
    /// consumer; the group rebalances at once) and drops the consumer.
    /// Dropping a subscribed consumer without `close` also leaves, in the
    /// background and without committing.
    pub async fn close(mut self) -> Result<()> {
        let committed = if self.config.group_id.is_some()
            && self.config.auto_commit_interval.is_some()
            && self.membership.as_ref().is_none_or(Membership::can_commit)
        {
            self.commit().await
        } else {
            Ok(())
        };
        let left = match self.membership.as_mut() {
            Some(membership) => membership.leave().await,
            None => Ok(()),
        };
        committed.and(left)
    }

    async fn maybe_auto_commit(&mut self) {
        let (Some(_), Some(interval)) = (&self.config.group_id, self.config.auto_commit_interval)
        else {
            return;
        };
        if self.last_auto_commit.elapsed() < interval {
            return;
        }
        self.last_auto_commit = Instant::now();
        let changed = self.positions.iter().any(|(tp, p)| match p {
            Position::At(offset) => self.committed.get(tp) != Some(offset),
            Position::Unresolved(_) => false,
        });
        if changed && let Err(e) = self.commit().await {
            tracing::warn!(error = %e, "auto-commit failed");
        }
    }

    /// Looks up every unresolved position: the group's commit, then
    /// ListOffsets.
    async fn resolve_positions(&mut self) -> Result<()> {
        let unresolved: Vec<(TopicPartition, Option<SeekTo>)> = self
            .positions
            .iter()
            .filter_map(|(tp, p)| match p {
                Position::Unresolved(to) => Some((tp.clone(), *to)),
                Position::At(_) => None,
            })
            .collect();
        if unresolved.is_empty() {
            return Ok(());
        }
        let reset = SeekTo::from(self.config.auto_offset_reset);
        let mut lookups = Vec::new();
        let from_group: Vec<TopicPartition> = unresolved
            .iter()
            .filter(|(_, to)| to.is_none())
            .map(|(tp, _)| tp.clone())
            .collect();
        let mut committed = HashMap::new();
        if let Some(group) = &self.config.group_id
            && !from_group.is_empty()
        {
            for c in self.client.fetch_offsets(group, &from_group).await? {
                if let Some(offset) = c.offset {
                    committed.insert(c.topic_partition, offset);
                }
            }
        }
        for (tp, to) in unresolved {
            if let Some(&offset) = committed.get(&tp) {
                self.committed.insert(tp.clone(), offset);
                self.positions.insert(tp, Position::At(offset));
                continue;
            }
            let spec = match to.unwrap_or(reset) {
                SeekTo::Earliest => OffsetSpec::Earliest,
                SeekTo::Latest => OffsetSpec::Latest,
                SeekTo::Timestamp(ts) => OffsetSpec::Timestamp(ts),
                SeekTo::Offset(offset) => {
                    self.positions.insert(tp, Position::At(offset));
                    continue;
                }
            };
            lookups.push((tp, spec));
        }
        if lookups.is_empty() {
            return Ok(());
        }
        let mut past_end = Vec::new();
        for listed in self.client.list_offsets(&lookups).await? {
            match listed.offset {
                Some(offset) => {
                    self.positions
                        .insert(listed.topic_partition, Position::At(offset));
                }
                // No record at or after the timestamp: start at the end.
                None => past_end.push((listed.topic_partition, OffsetSpec::Latest)),
            }
        }
        if !past_end.is_empty() {
            for listed in self.client.list_offsets(&past_end).await? {
                let offset = listed.offset.unwrap_or(0);
                self.positions
                    .insert(listed.topic_partition, Position::At(offset));
            }
        }
        Ok(())
    }

    fn topic_name(&mut self, topic: &str) -> Arc<str> {
        Arc::clone(
            self.topic_names
                .entry(topic.to_owned())
                .or_insert_with(|| Arc::from(topic)),
        )
    }

    /// One fetch of every positioned partition. Positions only move when
    /// every partition parsed, so an error leaves them all unchanged.
    async fn fetch_once(&mut self, max_wait: Duration) -> Result<Vec<ConsumerRecord>> {
        let partitions: Vec<pb::FetchPartition> = self
            .positions
            .iter()
            .filter_map(|(tp, p)| match p {
                Position::At(offset) => Some(pb::FetchPartition {
                    topic: tp.topic.clone(),
                    partition: tp.partition,
                    offset: *offset,
                    max_bytes: self.config.partition_max_bytes,
                }),
                Position::Unresolved(_) => None,
            })
            .collect();
        if partitions.is_empty() {
            return Ok(Vec::new());
        }
        let request = pb::FetchRequest {
            max_wait_ms: wire_ms(max_wait),
            min_bytes: self.config.fetch_min_bytes,
            max_bytes: self.config.fetch_max_bytes,
            partitions,
        };
        let (response, slices) = self.client.fetch(request).await?;

        let mut records = Vec::new();
        let mut moves = Vec::new();
        for (p, data) in response.partitions.iter().zip(&slices) {
            let tp = TopicPartition::new(p.topic.clone(), p.partition);
            let Some(&Position::At(position)) = self.positions.get(&tp) else {
                continue;
            };
            match ErrorCode::from_wire(p.error_code) {
                ErrorCode::None => {}
                ErrorCode::OffsetOutOfRange => {
                    let reset = self.config.auto_offset_reset;
                    tracing::warn!(%tp, position, ?reset, log_start = p.log_start_offset,
                        high_watermark = p.high_watermark, "offset out of range, resetting");
                    moves.push((tp, Position::Unresolved(Some(reset.into()))));
                    continue;
                }
                code => {
                    return Err(ClientError::Broker {
                        code,
                        message: format!("fetch {tp}"),
                    });
                }
            }
            let topic = self.topic_name(&tp.topic);
            let parsed = parse::parse_records(
                &topic,
                tp.partition,
                data,
                position,
                self.config.max_decompressed_batch_bytes,
            )?;
            records.extend(parsed.records);
            if let Some(next) = parsed.next_offset {
                moves.push((tp, Position::At(next)));
            }
        }
        self.positions.extend(moves);
        Ok(records)
    }
}
