//! [`Producer`]: batches records per partition and sends them in the
//! background.
//!
//! [`Producer::send`] hands a record to a background task (the *sender*,
//! in `sender.rs`) over a bounded channel and returns a
//! [`DeliveryFuture`]. The sender picks the partition
//! ([`partitioner`]), appends to that partition's open batch
//! (`accumulator.rs`, plain code), and sends closed batches as Produce
//! requests pipelined on the client's connection, retrying retriable
//! failures with backoff. Each record's future resolves with its partition
//! and offset once its request is answered.

mod accumulator;
pub mod partitioner;
mod sender;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::client::Client;
use crate::error::{ClientError, Result};
use crate::types::{Acks, CompressionType};

/// Settings of a [`Producer`].
#[derive(Debug, Clone)]
pub struct ProducerConfig {
    /// Acknowledgements to wait for. Default `all`.
    pub acks: Acks,
    /// Close a partition's batch once it holds this many bytes
    /// (Kafka's `batch.size`). Default 16 KiB.
    pub batch_bytes: usize,
    /// How long a batch may wait for more records before it is sent
    /// (Kafka's `linger.ms`). Default 5 ms.
    pub linger: Duration,
    /// Largest total of batches in one produce request. Default 1 MiB.
    pub max_request_bytes: usize,
    /// How often a request failing with a retriable error is sent again.
    /// Default 5. With retries on, each partition has at most one request
    /// in flight so that a retry cannot be overtaken; with 0, a partition's
    /// requests are pipelined (order still holds, since the connection
    /// keeps it).
    pub retries: u32,
    /// Backoff before the first retry, doubling up to `retry_backoff_max`.
    pub retry_backoff: Duration,
    pub retry_backoff_max: Duration,
    /// Produce requests awaiting a response at once, over all partitions
    /// (Kafka's `max.in.flight.requests.per.connection`). Default 5.
    pub max_in_flight: usize,
    /// How long the broker may take to append (`ProduceRequest.timeout_ms`).
    pub broker_timeout: Duration,
    /// Bytes buffered in unsent batches before `send` waits. Default 32 MiB.
    pub buffer_bytes: usize,
    /// Codec for the batches (Kafka's `compression.type`). Default none.
    /// `batch_bytes` counts the records before compression; a batch is
    /// compressed once, when it is closed.
    pub compression: CompressionType,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            acks: Acks::All,
            batch_bytes: 16 * 1024,
            linger: Duration::from_millis(5),
            max_request_bytes: 1024 * 1024,
            retries: 5,
            retry_backoff: Duration::from_millis(100),
            retry_backoff_max: Duration::from_secs(1),
            max_in_flight: 5,
            broker_timeout: Duration::from_secs(30),
            buffer_bytes: 32 * 1024 * 1024,
            compression: CompressionType::None,
        }
    }
}

impl ProducerConfig {
    fn validate(&self) -> Result<()> {
        let bad = |what: &str| Err(ClientError::Config(what.to_owned()));
        if self.batch_bytes == 0 {
            return bad("batch_bytes must be at least 1");
        }
        if self.max_in_flight == 0 {
            return bad("max_in_flight must be at least 1");
        }
        if self.max_request_bytes == 0 {
            return bad("max_request_bytes must be at least 1");
        }
        Ok(())
    }
}

/// A record to produce.
///
/// ```
/// use sluice_client::ProducerRecord;
/// let record = ProducerRecord::new("orders", "hello")
///     .key("customer-7")
///     .header("trace", Some("abc"));
/// assert_eq!(record.partition, None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerRecord {
    pub topic: String,
    /// `None`: chosen by key (murmur2) or, without a key, by the sticky
    /// partitioner.
    pub partition: Option<u32>,
    pub key: Option<Bytes>,
    /// `None` is a null value (a tombstone).
    pub value: Option<Bytes>,
    pub headers: Vec<(String, Option<Bytes>)>,
    /// Create time in ms since the epoch; `None` means now.
    pub timestamp: Option<i64>,
}

impl ProducerRecord {
    /// A record with a value and nothing else set.
    pub fn new(topic: impl Into<String>, value: impl Into<Bytes>) -> Self {
        ProducerRecord {
            topic: topic.into(),
            partition: None,
            key: None,
            value: Some(value.into()),
            headers: Vec::new(),
            timestamp: None,
        }
    }

    pub fn key(mut self, key: impl Into<Bytes>) -> Self {
        self.key = Some(key.into());
        self
    }

    pub fn partition(mut self, partition: u32) -> Self {
        self.partition = Some(partition);
        self
    }

    pub fn timestamp(mut self, timestamp_ms: i64) -> Self {
        self.timestamp = Some(timestamp_ms);
        self
    }

    pub fn header(mut self, key: impl Into<String>, value: Option<impl Into<Bytes>>) -> Self {
        self.headers.push((key.into(), value.map(Into::into)));
        self
    }
}

/// Where a record landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordMetadata {
    pub partition: u32,
    /// The record's offset; `None` with `acks=0` (no response).
    pub offset: Option<i64>,
    /// The timestamp written into the record (create time).
    pub timestamp: i64,
}

/// Resolves when the record's produce request is answered (or, with
/// `acks=0`, written), or when it failed for good.
#[derive(Debug)]
#[must_use = "a delivery future tells whether the record was stored"]
pub struct DeliveryFuture {
    rx: oneshot::Receiver<Result<RecordMetadata>>,
}

impl Future for DeliveryFuture {
    type Output = Result<RecordMetadata>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.rx)
            .poll(cx)
            .map(|r| r.unwrap_or(Err(ClientError::ProducerClosed)))
    }
}

/// A batching producer. Cheap to share by reference across tasks (`send`
/// takes `&self`); dropping it sends what is buffered and stops the
/// background task.
///
/// ```no_run
/// # async fn demo() -> Result<(), sluice_client::ClientError> {
/// use sluice_client::{Client, Producer, ProducerConfig, ProducerRecord};
///
/// let client = Client::connect("127.0.0.1:9393").await?;
/// let producer = Producer::new(client, ProducerConfig::default())?;
/// let delivery = producer.send(ProducerRecord::new("orders", "hello").key("k1")).await;
/// let meta = delivery.await?;
/// println!("stored at {}/{:?}", meta.partition, meta.offset);
/// producer.close().await;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Producer {
    /// Commands to the sender task. Dropping it (with the producer) tells
    /// the sender to send what is left and exit.
    commands: mpsc::Sender<sender::Command>,
    task: JoinHandle<()>,
}

/// Records queued to the sender before `send` waits.
const COMMAND_QUEUE: usize = 4096;

impl Producer {
    /// Starts a producer on `client`'s connection.
    pub fn new(client: Client, config: ProducerConfig) -> Result<Producer> {
        config.validate()?;
        let (commands, rx) = mpsc::channel(COMMAND_QUEUE);
        let task = tokio::spawn(sender::run(client, config, rx));
        Ok(Producer { commands, task })
    }

    /// Queues a record. Waits only when the producer's buffers are full;
    /// the returned future resolves on delivery.
    pub async fn send(&self, record: ProducerRecord) -> DeliveryFuture {
        let (reply, rx) = oneshot::channel();
        // If the sender is gone the reply is dropped with the command and
        // the future resolves to ProducerClosed.
        let _ = self
            .commands
            .send(sender::Command::Send { record, reply })
            .await;
        DeliveryFuture { rx }
    }

    /// Sends every buffered record now and waits until all records sent
    /// before this call are delivered or failed.
    pub async fn flush(&self) -> Result<()> {
        let (done, rx) = oneshot::channel();
        self.commands
            .send(sender::Command::Flush(done))
            .await
            .map_err(|_closed| ClientError::ProducerClosed)?;
        rx.await.map_err(|_closed| ClientError::ProducerClosed)
    }

    /// Flushes and stops the background task.
    pub async fn close(self) {
        let Producer { commands, task } = self;
        drop(commands);
        if let Err(e) = task.await {
            tracing::error!(error = %e, "producer task failed");
        }
    }
}
