//! Typed admin, metadata and offset calls on [`Client`], and the domain
//! types they return. Conversions from the protobuf types live here, so the
//! rest of the crate (and its users) never read raw `pb` fields.
//!
//! Per-partition error codes become errors: a call that asks about several
//! partitions fails with the first partition's [`ClientError::Broker`],
//! whose message names the partition.

use sluice_protocol::{ErrorCode, consts, pb};

use crate::client::Client;
use crate::error::{ClientError, Result};
use crate::member::GroupGeneration;
use crate::types::{OffsetSpec, TopicPartition};

/// Per-topic configuration. `None` means "broker default" when creating a
/// topic; [`Client::metadata`] returns every field set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopicConfig {
    /// Roll a new segment when the active one reaches this size.
    pub segment_bytes: Option<u64>,
    /// Roll a new segment when the active one is this old.
    pub segment_ms: Option<u64>,
    /// Delete old segments while the partition is larger; -1 = no limit.
    pub retention_bytes: Option<i64>,
    /// Delete segments whose newest record is older; -1 = keep forever.
    pub retention_ms: Option<i64>,
    /// fsync after this many messages.
    pub flush_messages: Option<u64>,
    /// fsync at least this often.
    pub flush_interval_ms: Option<u64>,
    /// Largest record batch a produce may carry.
    pub max_message_bytes: Option<u32>,
}

impl TopicConfig {
    /// The names [`set`](Self::set) accepts, Kafka style.
    pub const KEYS: [&'static str; 7] = [
        "segment.bytes",
        "segment.ms",
        "retention.bytes",
        "retention.ms",
        "flush.messages",
        "flush.ms",
        "max.message.bytes",
    ];

    /// Sets one field from a `key=value` pair as a command line gives it
    /// (`retention.ms=60000`). Keys are Kafka's names, see [`Self::KEYS`];
    /// underscores are accepted for dots.
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        fn num<T: std::str::FromStr>(key: &str, value: &str) -> Result<Option<T>> {
            value
                .parse()
                .map(Some)
                .map_err(|_| ClientError::Config(format!("{key}: {value:?} is not a valid number")))
        }
        match key.replace('_', ".").as_str() {
            "segment.bytes" => self.segment_bytes = num(key, value)?,
            "segment.ms" => self.segment_ms = num(key, value)?,
            "retention.bytes" => self.retention_bytes = num(key, value)?,
            "retention.ms" => self.retention_ms = num(key, value)?,
            "flush.messages" => self.flush_messages = num(key, value)?,
            "flush.ms" | "flush.interval.ms" => self.flush_interval_ms = num(key, value)?,
            "max.message.bytes" => self.max_message_bytes = num(key, value)?,
            _ => {
                return Err(ClientError::Config(format!(
                    "unknown topic config {key:?}; known: {}",
                    Self::KEYS.join(", ")
                )));
            }
        }
        Ok(())
    }
}

impl From<pb::TopicConfig> for TopicConfig {
    fn from(c: pb::TopicConfig) -> Self {
        TopicConfig {
            segment_bytes: c.segment_bytes,
            segment_ms: c.segment_ms,
            retention_bytes: c.retention_bytes,
            retention_ms: c.retention_ms,
            flush_messages: c.flush_messages,
            flush_interval_ms: c.flush_interval_ms,
            max_message_bytes: c.max_message_bytes,
        }
    }
}

impl From<TopicConfig> for pb::TopicConfig {
    fn from(c: TopicConfig) -> Self {
        pb::TopicConfig {
            segment_bytes: c.segment_bytes,
            segment_ms: c.segment_ms,
            retention_bytes: c.retention_bytes,
            retention_ms: c.retention_ms,
            flush_messages: c.flush_messages,
            flush_interval_ms: c.flush_interval_ms,
            max_message_bytes: c.max_message_bytes,
        }
    }
}

/// A topic, its partitions and its effective configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicMetadata {
    pub name: String,
    /// Sorted by partition number.
    pub partitions: Vec<PartitionMetadata>,
    pub config: TopicConfig,
}

/// One partition's offsets and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionMetadata {
    pub partition: u32,
    /// First offset still stored.
    pub log_start_offset: i64,
    /// Offset the next appended record gets (LEO).
    pub log_end_offset: i64,
    /// Last offset visible to consumers, plus one.
    pub high_watermark: i64,
    /// Bytes used by the partition's segment files.
    pub size_bytes: u64,
}

/// Result of a ListOffsets lookup for one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedOffset {
    pub topic_partition: TopicPartition,
    /// `None` when a timestamp lookup found no record at or after it.
    pub offset: Option<i64>,
    /// The found record's timestamp, for timestamp lookups.
    pub timestamp: Option<i64>,
}

/// A group's committed position in one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedOffset {
    pub topic_partition: TopicPartition,
    /// The next offset the group will consume; `None` if never committed.
    pub offset: Option<i64>,
    pub metadata: String,
}

/// One API's served version range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiVersionRange {
    /// Raw key: a newer broker may serve keys this client does not know.
    pub api_key: u32,
    pub min_version: u32,
    pub max_version: u32,
}

/// What the broker serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiVersions {
    pub broker_version: String,
    pub apis: Vec<ApiVersionRange>,
}

/// `Some(offset)` unless it is the wire's "no value".
fn some_offset(raw: i64) -> Option<i64> {
    (raw != consts::NO_OFFSET).then_some(raw)
}

fn check_partition(raw: i32, topic: &str, partition: u32) -> Result<()> {
    match ClientError::from_wire(raw, format!("{topic}/{partition}")) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

impl Client {
    /// The APIs and versions the broker serves.
    pub async fn api_versions(&self) -> Result<ApiVersions> {
        let resp = self.request(pb::ApiVersionsRequest {}).await?;
        Ok(ApiVersions {
            broker_version: resp.broker_version,
            apis: resp
                .api_versions
                .into_iter()
                .map(|v| ApiVersionRange {
                    api_key: v.api_key,
                    min_version: v.min_version,
                    max_version: v.max_version,
                })
                .collect(),
        })
    }

    /// Creates a topic. Unset config fields take broker defaults.
    pub async fn create_topic(
        &self,
        name: &str,
        partitions: u32,
        config: TopicConfig,
    ) -> Result<()> {
        self.request(pb::CreateTopicRequest {
            name: name.to_owned(),
            partitions,
            config: Some(config.into()),
        })
        .await?;
        Ok(())
    }

    /// Deletes a topic and its data.
    pub async fn delete_topic(&self, name: &str) -> Result<()> {
        self.request(pb::DeleteTopicRequest {
            name: name.to_owned(),
        })
        .await?;
        Ok(())
    }

    /// Every topic, sorted by name.
    pub async fn list_topics(&self) -> Result<Vec<TopicMetadata>> {
        let mut topics = self.metadata(&[]).await?;
        topics.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(topics)
    }

    /// Describes the named topics (all topics when `topics` is empty).
    /// Fails with `UNKNOWN_TOPIC_OR_PARTITION` if a named topic is missing.
    pub async fn metadata(&self, topics: &[&str]) -> Result<Vec<TopicMetadata>> {
        let resp = self
            .request(pb::MetadataRequest {
                topics: topics.iter().map(|t| (*t).to_owned()).collect(),
            })
            .await?;
        resp.topics
            .into_iter()
            .map(|t| {
                if let Some(e) = ClientError::from_wire(t.error_code, format!("topic {}", t.name)) {
                    return Err(e);
                }
                let mut partitions = t
                    .partitions
                    .into_iter()
                    .map(|p| {
                        check_partition(p.error_code, &t.name, p.partition)?;
                        Ok(PartitionMetadata {
                            partition: p.partition,
                            log_start_offset: p.log_start_offset,
                            log_end_offset: p.log_end_offset,
                            high_watermark: p.high_watermark,
                            size_bytes: p.size_bytes,
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                partitions.sort_by_key(|p| p.partition);
                Ok(TopicMetadata {
                    name: t.name,
                    partitions,
                    config: t.config.unwrap_or_default().into(),
                })
            })
            .collect()
    }

    /// Describes one topic.
    pub async fn topic(&self, name: &str) -> Result<TopicMetadata> {
        self.metadata(&[name])
            .await?
            .into_iter()
            .find(|t| t.name == name)
            .ok_or_else(|| ClientError::Broker {
                code: ErrorCode::UnknownTopicOrPartition,
                message: format!("topic {name}"),
            })
    }

    /// Looks up offsets: earliest, latest, or by timestamp.
    pub async fn list_offsets(
        &self,
        lookups: &[(TopicPartition, OffsetSpec)],
    ) -> Result<Vec<ListedOffset>> {
        let resp = self
            .request(pb::ListOffsetsRequest {
                partitions: lookups
                    .iter()
                    .map(|(tp, spec)| pb::ListOffsetsPartition {
                        topic: tp.topic.clone(),
                        partition: tp.partition,
                        timestamp: spec.wire(),
                    })
                    .collect(),
            })
            .await?;
        resp.partitions
            .into_iter()
            .map(|p| {
                check_partition(p.error_code, &p.topic, p.partition)?;
                Ok(ListedOffset {
                    offset: some_offset(p.offset),
                    timestamp: (p.timestamp != consts::NO_TIMESTAMP).then_some(p.timestamp),
                    topic_partition: TopicPartition::new(p.topic, p.partition),
                })
            })
            .collect()
    }

    /// Stores `group`'s positions: for each partition the **next** offset
    /// the group will consume. This commits from outside the group's
    /// membership (no member, no generation), which the broker accepts
    /// only while the group has no members; members commit with
    /// [`Client::commit_offsets_as`].
    pub async fn commit_offsets(
        &self,
        group: &str,
        offsets: &[(TopicPartition, i64)],
    ) -> Result<()> {
        self.commit_offsets_of(group, None, offsets).await
    }

    pub(crate) async fn commit_offsets_of(
        &self,
        group: &str,
        member: Option<&GroupGeneration>,
        offsets: &[(TopicPartition, i64)],
    ) -> Result<()> {
        let resp = self
            .request(pb::CommitOffsetsRequest {
                group: group.to_owned(),
                partitions: offsets
                    .iter()
                    .map(|(tp, offset)| pb::CommitOffsetsPartition {
                        topic: tp.topic.clone(),
                        partition: tp.partition,
                        offset: *offset,
                        metadata: String::new(),
                    })
                    .collect(),
                member_id: member.map(|m| m.member_id.clone()).unwrap_or_default(),
                generation_id: member.map(|m| m.generation_id),
            })
            .await?;
        for p in resp.partitions {
            check_partition(p.error_code, &p.topic, p.partition)?;
        }
        Ok(())
    }

    /// Reads `group`'s committed positions for `partitions` (every
    /// partition the group committed when empty).
    pub async fn fetch_offsets(
        &self,
        group: &str,
        partitions: &[TopicPartition],
    ) -> Result<Vec<CommittedOffset>> {
        let resp = self
            .request(pb::FetchOffsetsRequest {
                group: group.to_owned(),
                partitions: partitions
                    .iter()
                    .map(|tp| pb::TopicPartition {
                        topic: tp.topic.clone(),
                        partition: tp.partition,
                    })
                    .collect(),
            })
            .await?;
        resp.partitions
            .into_iter()
            .map(|p| {
                check_partition(p.error_code, &p.topic, p.partition)?;
                Ok(CommittedOffset {
                    offset: some_offset(p.offset),
                    metadata: p.metadata,
                    topic_partition: TopicPartition::new(p.topic, p.partition),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_config_set() {
        let mut c = TopicConfig::default();
        c.set("retention.ms", "60000").unwrap();
        c.set("segment_bytes", "1024").unwrap();
        c.set("retention.bytes", "-1").unwrap();
        assert_eq!(c.retention_ms, Some(60_000));
        assert_eq!(c.segment_bytes, Some(1024));
        assert_eq!(c.retention_bytes, Some(-1));
        assert!(c.set("segment.bytes", "-1").is_err());
        assert!(c.set("colour", "blue").is_err());
        let wire: pb::TopicConfig = c.clone().into();
        assert_eq!(TopicConfig::from(wire), c);
    }
}
