//! The producer's background task: the async shell around the
//! [`Accumulator`]'s decisions.
//!
//! One loop owns all state. Each turn it hands out what the accumulator
//! says may be sent, queues those Produce requests on the connection (in
//! order: queueing is done here, sequentially), and spawns one small task
//! per request that only awaits the response. It then waits for a new
//! command, a completed request, or the next linger/backoff deadline.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use sluice_protocol::pb;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

use super::accumulator::{Accumulator, Batch, Drained, Limits, RecordRef};
use super::partitioner::Partitioner;
use super::{ProducerConfig, ProducerRecord, RecordMetadata};
use crate::client::{Client, decode_checked};
use crate::error::{ClientError, Result};
use crate::types::{Acks, TopicPartition, now_ms, wire_ms};

pub(crate) enum Command {
    Send {
        record: ProducerRecord,
        reply: oneshot::Sender<Result<RecordMetadata>>,
    },
    Flush(oneshot::Sender<()>),
}

/// What each buffered record carries to its delivery.
#[derive(Debug)]
pub(crate) struct Pending {
    reply: oneshot::Sender<Result<RecordMetadata>>,
    timestamp: i64,
}

/// A finished request: its batches come back so they can be retried.
struct Completion {
    tp: TopicPartition,
    batches: Vec<Batch<Pending>>,
    /// Base offset of the first record, `None` with acks=0.
    result: Result<Option<i64>>,
}

struct Sender {
    client: Client,
    config: ProducerConfig,
    acc: Accumulator<Pending>,
    partitioner: Partitioner,
    /// Partition counts by topic, looked up once per topic.
    partition_counts: HashMap<String, u32>,
    in_flight: JoinSet<Completion>,
}

pub(crate) async fn run(
    client: Client,
    config: ProducerConfig,
    mut commands: mpsc::Receiver<Command>,
) {
    let limits = Limits {
        batch_bytes: config.batch_bytes,
        linger: config.linger,
        max_request_bytes: config.max_request_bytes,
        max_in_flight_per_partition: if config.retries > 0 {
            1
        } else {
            config.max_in_flight
        },
        max_in_flight: config.max_in_flight,
        compression: config.compression.codec(),
    };
    let mut s = Sender {
        client,
        acc: Accumulator::new(limits),
        partitioner: Partitioner::new(rand::random()),
        partition_counts: HashMap::new(),
        in_flight: JoinSet::new(),
        config,
    };
    let mut flush_waiters: Vec<oneshot::Sender<()>> = Vec::new();
    let mut open = true;

    loop {
        let flushing = !open || !flush_waiters.is_empty();
        for drained in s.acc.drain(Instant::now(), flushing) {
            s.dispatch(drained).await;
        }
        if s.acc.is_idle() {
            for waiter in flush_waiters.drain(..) {
                let _ = waiter.send(());
            }
            if !open {
                break;
            }
        }
        let wakeup = s.acc.next_wakeup();
        let accepting = open && s.acc.buffered_bytes() < s.config.buffer_bytes;
        tokio::select! {
            command = commands.recv(), if accepting => match command {
                Some(Command::Send { record, reply }) => s.append(record, reply).await,
                Some(Command::Flush(done)) => flush_waiters.push(done),
                None => open = false,
            },
            Some(joined) = s.in_flight.join_next(), if !s.in_flight.is_empty() => match joined {
                Ok(done) => s.complete(done),
                // The response tasks do not panic; if one did, its records'
                // replies were dropped (they see ProducerClosed).
                Err(e) => tracing::error!(error = %e, "produce response task failed"),
            },
            () = sleep_until(wakeup), if wakeup.is_some() => {}
            else => {
                // Nothing to wait for yet not idle: cannot happen by the
                // accumulator's rules; avoid spinning if it ever does.
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    }
    tracing::debug!("producer stopped");
}

async fn sleep_until(at: Option<Instant>) {
    if let Some(at) = at {
        tokio::time::sleep_until(at.into()).await;
    }
}

impl Sender {
    /// The topic's partition count, looked up once. The lookup retries
    /// retriable failures like a produce request does: when the broker is
    /// restarting, records wait for it instead of failing.
    async fn partition_count(&mut self, topic: &str) -> Result<u32> {
        if let Some(&n) = self.partition_counts.get(topic) {
            return Ok(n);
        }
        let mut attempt = 0;
        let meta = loop {
            match self.client.topic(topic).await {
                Ok(meta) => break meta,
                Err(e) if e.is_retriable() && attempt < self.config.retries => {
                    let backoff = self.backoff(attempt);
                    tracing::warn!(topic, error = %e, attempt = attempt + 1, ?backoff,
                        "retrying metadata lookup");
                    tokio::time::sleep(backoff).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        };
        let n = u32::try_from(meta.partitions.len()).unwrap_or(u32::MAX);
        if n == 0 {
            return Err(ClientError::Config(format!(
                "topic {topic} has no partitions"
            )));
        }
        self.partition_counts.insert(topic.to_owned(), n);
        Ok(n)
    }

    async fn append(
        &mut self,
        record: ProducerRecord,
        reply: oneshot::Sender<Result<RecordMetadata>>,
    ) {
        let (partition, count) = match record.partition {
            Some(p) => (p, None),
            None => match self.partition_count(&record.topic).await {
                Ok(n) => (
                    self.partitioner
                        .partition(&record.topic, record.key.as_deref(), n),
                    Some(n),
                ),
                Err(e) => {
                    let _ = reply.send(Err(e));
                    return;
                }
            },
        };
        let headers: Vec<(&[u8], Option<&[u8]>)> = record
            .headers
            .iter()
            .map(|(k, v)| (k.as_bytes(), v.as_deref()))
            .collect();
        let timestamp = record.timestamp.unwrap_or_else(now_ms);
        let r = RecordRef {
            timestamp,
            key: record.key.as_deref(),
            value: record.value.as_deref(),
            headers: &headers,
        };
        let size = r.max_encoded_len();
        if size > self.config.max_request_bytes {
            let _ = reply.send(Err(ClientError::RecordTooLarge {
                size,
                max: self.config.max_request_bytes,
            }));
            return;
        }
        let tp = TopicPartition::new(record.topic.clone(), partition);
        let appended = self
            .acc
            .append(&tp, r, Pending { reply, timestamp }, Instant::now());
        if appended.closed_full
            && let Some(n) = count
        {
            self.partitioner.batch_closed(&tp.topic, partition, n);
        }
    }

    /// Queues one produce request and spawns the wait for its response.
    async fn dispatch(&mut self, drained: Drained<Pending>) {
        let Drained { tp, batches } = drained;
        if let Some(&n) = self.partition_counts.get(&tp.topic) {
            // A lingered batch of the sticky partition was closed.
            self.partitioner.batch_closed(&tp.topic, tp.partition, n);
        }
        let request = pb::ProduceRequest {
            topic: tp.topic.clone(),
            partition: tp.partition,
            acks: self.config.acks.wire(),
            timeout_ms: wire_ms(self.config.broker_timeout),
            batches: batches.iter().map(|b| Bytes::clone(&b.bytes)).collect(),
        };
        tracing::trace!(topic = %tp.topic, partition = tp.partition, batches = batches.len(), "produce");
        if self.config.acks == Acks::None {
            let queued = self.client.enqueue_oneway(&request).await;
            self.in_flight.spawn(async move {
                let result = match queued {
                    Ok(written) => written.wait().await.map(|()| None),
                    Err(e) => Err(e),
                };
                Completion {
                    tp,
                    batches,
                    result,
                }
            });
        } else {
            let queued = self.client.enqueue(&request, Duration::ZERO).await;
            let records: usize = batches.iter().map(|b| b.records.len()).sum();
            self.in_flight.spawn(async move {
                let result = match queued {
                    Ok(pending) => pending.wait().await.and_then(|raw| {
                        let resp = decode_checked::<pb::ProduceResponse>(raw.body)?;
                        check_offsets(&tp, &resp, records);
                        Ok(Some(resp.base_offset))
                    }),
                    Err(e) => Err(e),
                };
                Completion {
                    tp,
                    batches,
                    result,
                }
            });
        }
    }

    /// The wait before retry number `attempt` (0-based): doubling from
    /// `retry_backoff`, capped at `retry_backoff_max`.
    fn backoff(&self, attempt: u32) -> Duration {
        self.config
            .retry_backoff
            .saturating_mul(1 << attempt.min(16))
            .min(self.config.retry_backoff_max)
    }

    fn complete(&mut self, done: Completion) {
        let Completion {
            tp,
            mut batches,
            result,
        } = done;
        match result {
            Ok(base_offset) => {
                self.acc.complete(&tp);
                deliver(tp.partition, batches, base_offset);
            }
            Err(e)
                if e.is_retriable() && batches.iter().all(|b| b.attempts < self.config.retries) =>
            {
                let attempt = batches.iter().map(|b| b.attempts).max().unwrap_or(0);
                for b in &mut batches {
                    b.attempts += 1;
                }
                let backoff = self.backoff(attempt);
                tracing::warn!(%tp, error = %e, attempt = attempt + 1, ?backoff, "retrying produce");
                self.acc.retry(&tp, batches, Instant::now() + backoff);
            }
            Err(e) => {
                self.acc.complete(&tp);
                tracing::warn!(%tp, error = %e, "produce failed");
                for batch in batches {
                    for record in batch.records {
                        let _ = record.reply.send(Err(e.clone()));
                    }
                }
                // The topic may have been recreated with another count.
                if e.code() == Some(sluice_protocol::ErrorCode::UnknownTopicOrPartition) {
                    self.partition_counts.remove(&tp.topic);
                }
            }
        }
    }
}

/// Deliveries assume the broker assigned the request's offsets
/// contiguously; say so loudly if the response disagrees.
fn check_offsets(tp: &TopicPartition, resp: &pb::ProduceResponse, records: usize) {
    let span = resp.last_offset - resp.base_offset + 1;
    if usize::try_from(span).ok() != Some(records) {
        tracing::warn!(%tp, base = resp.base_offset, last = resp.last_offset, records,
            "produce response offsets do not match the records sent");
    }
}

/// Resolves each record's future. The broker assigns a request's offsets
/// contiguously: record `i` of the request is at `base_offset + i`.
fn deliver(partition: u32, batches: Vec<Batch<Pending>>, base_offset: Option<i64>) {
    let mut next = base_offset;
    for batch in batches {
        for record in batch.records {
            let meta = RecordMetadata {
                partition,
                offset: next,
                timestamp: record.timestamp,
            };
            let _ = record.reply.send(Ok(meta));
            next = next.map(|o| o + 1);
        }
    }
}
