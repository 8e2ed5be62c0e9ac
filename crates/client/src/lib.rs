//! An async client for Sluice over its native protocol
//! (`docs/protocol.md`): admin and metadata calls, a batching producer and
//! a polling consumer that can be a member of a consumer group (with Kafka
//! consumers in the same group).
//!
//! # Layout
//!
//! | module | idea |
//! |---|---|
//! | `connection` | one TCP connection: a writer task, a reader task, requests pipelined and matched by correlation id |
//! | `client` | [`Client`]: the shared handle, reconnect on failure, [`Client::request`] for any API |
//! | `admin` | typed topic, metadata and offset calls on [`Client`] and their result types |
//! | `groups` | [`Client::list_groups`], [`Client::describe_group`]: members, assignments, committed offsets and lag |
//! | `member` | the group membership calls: [`Client::join_group`], [`Client::sync_group`], [`Client::heartbeat`], [`Client::leave_group`], [`Client::commit_offsets_as`] |
//! | `producer` | [`Producer`]: partitioner ([`partitioner::murmur2`]), batching (`accumulator`, plain code), the background sender with retries |
//! | `consumer` | [`Consumer`]: assignment or group membership (join, heartbeat task, rebalances, the range and roundrobin [`AssignmentStrategy`]), seek, long-poll fetch, parsing (and decompressing) of fetched batches, commits |
//! | `types` | [`TopicPartition`], [`Acks`], [`CompressionType`], [`OffsetSpec`] |
//! | `error` | [`ClientError`], with [`ClientError::is_retriable`] |
//!
//! Each task owns its state and talks through channels: a `Client` clone
//! is a handle on the connection, the producer's background task owns its
//! batches, and a `Consumer` is driven by whoever calls `poll` (its
//! heartbeat task only raises a flag that the next `poll` acts on).
//!
//! # Examples
//!
//! Keyed records go to the partition Kafka's Java client would pick:
//!
//! ```
//! use sluice_client::partitioner::{murmur2, partition_for_key};
//!
//! assert_eq!(murmur2(b"foobar"), -790_332_482);
//! assert_eq!(partition_for_key(b"foobar", 50), 16);
//! ```
//!
//! Against a running broker:
//!
//! ```no_run
//! use std::time::Duration;
//! use sluice_client::{
//!     Client, Consumer, ConsumerConfig, Producer, ProducerConfig, ProducerRecord, SeekTo,
//!     TopicConfig, TopicPartition,
//! };
//!
//! # async fn demo() -> Result<(), sluice_client::ClientError> {
//! let client = Client::connect("127.0.0.1:9393").await?;
//! client.create_topic("orders", 1, TopicConfig::default()).await?;
//!
//! let producer = Producer::new(client.clone(), ProducerConfig::default())?;
//! let delivery = producer.send(ProducerRecord::new("orders", "hello").key("k")).await;
//! let stored = delivery.await?;
//! producer.close().await;
//!
//! let mut consumer = Consumer::new(client, ConsumerConfig::default());
//! let tp = TopicPartition::new("orders", stored.partition);
//! consumer.assign([tp.clone()]);
//! consumer.seek(&tp, SeekTo::Earliest)?;
//! for record in consumer.poll(Duration::from_secs(1)).await? {
//!     println!("{}@{} {:?}", record.partition, record.offset, record.value);
//! }
//! # Ok(())
//! # }
//! ```

mod admin;
mod client;
mod connection;
mod consumer;
mod error;
mod groups;
mod member;
mod producer;
mod types;

pub use admin::{
    ApiVersionRange, ApiVersions, CommittedOffset, ListedOffset, PartitionMetadata, TopicConfig,
    TopicMetadata,
};
pub use client::{Client, ClientConfig, DEFAULT_BROKER};
pub use consumer::{
    AssignmentStrategy, Consumer, ConsumerConfig, ConsumerRecord, OffsetReset, RecordHeader, SeekTo,
};
pub use error::{ClientError, Result};
pub use groups::{GroupDescription, GroupListing, GroupMember, GroupOffset, MemberAssignment};
pub use member::{CONSUMER_PROTOCOL_TYPE, GroupGeneration, JoinGroup, JoinedGroup, JoinedMember};
pub use producer::partitioner;
pub use producer::{DeliveryFuture, Producer, ProducerConfig, ProducerRecord, RecordMetadata};
pub use types::{Acks, CompressionType, OffsetSpec, TopicPartition};

/// The protocol crate, for [`Client::request`] and raw message types.
pub use sluice_protocol as protocol;
/// The wire error code carried by [`ClientError::Broker`].
pub use sluice_protocol::ErrorCode;
