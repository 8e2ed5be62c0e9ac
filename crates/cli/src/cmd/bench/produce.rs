//! `sluice bench produce`: N messages of S random bytes from P producers,
//! each with its own connection and [`Producer`].
//!
//! Latency is send -> ack per message: the time from handing the record to
//! the producer to its delivery resolving. Each producer picks partitions
//! itself (a batch's worth of messages, then the next partition, as
//! Kafka's sticky partitioner does), so its deliveries resolve in order
//! within each partition; an ack collector keeps one FIFO per partition
//! and polls only their heads, timing every delivery when it resolves.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use indicatif::ProgressBar;
use rand::RngCore;
use sluice_client::{
    Acks, Client, ErrorCode, Producer, ProducerConfig, ProducerRecord, TopicConfig,
};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::acks::{InFlight, Outcome, collect};
use super::report::{Report, progress_bar};
use super::share;
use crate::cmd::connect;

#[derive(Debug, Clone, clap::Args, serde::Serialize)]
pub struct Args {
    /// Topic to write; created with --partitions if missing.
    #[arg(long, default_value = "sluice-bench")]
    pub topic: String,
    /// Messages to produce, in all.
    #[arg(long, default_value_t = 100_000)]
    pub messages: u64,
    /// Value size in bytes (random data, no key).
    #[arg(long, default_value_t = 1000)]
    pub message_size: usize,
    /// Concurrent producers, each with its own connection.
    #[arg(long, default_value_t = 1)]
    pub producers: u32,
    /// Partitions of the topic when it has to be created.
    #[arg(long, default_value_t = 1)]
    pub partitions: u32,
    /// Batch size in bytes per partition.
    #[arg(long, default_value_t = 64 * 1024)]
    pub batch_size: usize,
    /// Linger in milliseconds.
    #[arg(long, default_value_t = 5)]
    pub linger_ms: u64,
    /// 0, 1 or all.
    #[arg(long, default_value = "1", allow_hyphen_values = true)]
    #[serde(serialize_with = "acks_name")]
    pub acks: Acks,
    /// Retries per request. With 0, requests to a partition are pipelined.
    #[arg(long, default_value_t = 0)]
    pub retries: u32,
    /// Produce requests in flight per producer.
    #[arg(long, default_value_t = 5)]
    pub max_in_flight: usize,
    /// Messages per second in all (default: as fast as possible). Without a
    /// limit the producers' buffers fill and latency measures the queue;
    /// with one below capacity it measures the broker.
    #[arg(long, value_name = "MSG_PER_SEC")]
    pub rate: Option<u64>,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 600)]
    pub timeout_secs: u64,
    /// Print the report as one JSON object.
    #[arg(long)]
    #[serde(skip)]
    pub json: bool,
}

fn acks_name<S: serde::Serializer>(acks: &Acks, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(match acks {
        Acks::None => "0",
        Acks::Leader => "1",
        Acks::All => "all",
    })
}

pub async fn run(broker: &str, args: Args) -> anyhow::Result<()> {
    if args.messages == 0 || args.producers == 0 || args.partitions == 0 {
        bail!("--messages, --producers and --partitions must be at least 1");
    }
    let client = connect(broker).await?;
    let partitions = ensure_topic(&client, &args.topic, args.partitions).await?;
    let mut payload = vec![0u8; args.message_size];
    rand::rng().fill_bytes(&mut payload);
    let payload = Bytes::from(payload);
    let config = ProducerConfig {
        acks: args.acks,
        batch_bytes: args.batch_size,
        linger: Duration::from_millis(args.linger_ms),
        retries: args.retries,
        max_in_flight: args.max_in_flight,
        ..ProducerConfig::default()
    };

    let bar = progress_bar(args.messages, "produce");
    let start = Instant::now();
    let mut tasks = JoinSet::new();
    for p in 0..args.producers {
        let count = share(args.messages, args.producers.into(), p.into());
        let per_batch = (args.batch_size / args.message_size.max(1)).max(1) as u64;
        tasks.spawn(produce(
            client.dedicated(),
            config.clone(),
            args.topic.clone(),
            payload.clone(),
            Plan {
                count,
                partitions,
                first_partition: p % partitions,
                per_batch,
                interval: args
                    .rate
                    .filter(|&r| r > 0)
                    .map(|r| Duration::from_secs_f64(f64::from(args.producers) / r as f64)),
            },
            bar.clone(),
        ));
    }
    let timeout = Duration::from_secs(args.timeout_secs);
    let outcomes = tokio::time::timeout(timeout, tasks.join_all())
        .await
        .map_err(|_elapsed| {
            anyhow::anyhow!(
                "timed out after {timeout:?} with {} of {} messages acknowledged",
                bar.position(),
                args.messages
            )
        })?;
    let elapsed = start.elapsed();
    bar.finish_and_clear();

    let mut total = Outcome::default();
    for outcome in outcomes {
        let outcome = outcome?;
        total.acked += outcome.acked;
        total.errors += outcome.errors;
        total.latencies.merge(&outcome.latencies);
        total.first_error = total.first_error.or(outcome.first_error);
    }
    let report = Report::new(
        "produce",
        &args.topic,
        total.acked,
        total.acked * args.message_size as u64,
        total.errors,
        elapsed,
        "send -> ack per message",
        &total.latencies,
        serde_json::to_value(&args)?,
    );
    report.print(args.json)?;
    match total.first_error {
        Some(e) => bail!(
            "{} of {} messages failed; first: {e}",
            total.errors,
            args.messages
        ),
        None => Ok(()),
    }
}

/// The topic's partition count, creating the topic if it is missing.
pub(super) async fn ensure_topic(
    client: &Client,
    topic: &str,
    partitions: u32,
) -> anyhow::Result<u32> {
    match client.topic(topic).await {
        Ok(meta) => {
            let n = u32::try_from(meta.partitions.len()).unwrap_or(u32::MAX);
            if n != partitions {
                tracing::warn!(
                    topic,
                    partitions = n,
                    "topic exists; using its partition count"
                );
            }
            Ok(n)
        }
        Err(e) if e.code() == Some(ErrorCode::UnknownTopicOrPartition) => {
            client
                .create_topic(topic, partitions, TopicConfig::default())
                .await
                .with_context(|| format!("create topic {topic}"))?;
            Ok(partitions)
        }
        Err(e) => Err(e).with_context(|| format!("describe topic {topic}")),
    }
}

/// Which messages one producer sends where.
#[derive(Debug, Clone, Copy)]
struct Plan {
    count: u64,
    partitions: u32,
    first_partition: u32,
    /// Messages sent to one partition before moving to the next.
    per_batch: u64,
    /// Time between two messages, when the rate is limited.
    interval: Option<Duration>,
}

impl Plan {
    fn partition(&self, i: u64) -> u32 {
        let step = u32::try_from((i / self.per_batch) % u64::from(self.partitions)).unwrap_or(0);
        (self.first_partition + step) % self.partitions
    }
}

async fn produce(
    client: Client,
    config: ProducerConfig,
    topic: String,
    payload: Bytes,
    plan: Plan,
    bar: ProgressBar,
) -> anyhow::Result<Outcome> {
    let producer = Producer::new(client, config)?;
    let (tx, rx) = mpsc::channel(16 * 1024);
    let collector = tokio::spawn(collect(rx, plan.partitions, bar));
    let begin = Instant::now();
    for i in 0..plan.count {
        if let Some(interval) = plan.interval {
            // Sleep only when more than a millisecond ahead (the timer's
            // resolution): messages leave in bursts of at most 1 ms.
            let due = begin + interval.mul_f64(i as f64);
            if due > Instant::now() + Duration::from_millis(1) {
                tokio::time::sleep_until(due.into()).await;
            }
        }
        let partition = plan.partition(i);
        let record = ProducerRecord::new(topic.clone(), payload.clone()).partition(partition);
        let sent = Instant::now();
        let delivery = producer.send(record).await;
        if tx
            .send((partition, InFlight { sent, delivery }))
            .await
            .is_err()
        {
            break;
        }
    }
    drop(tx);
    producer.close().await;
    collector.await.context("ack collector failed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_rotates_by_batch() {
        let plan = Plan {
            count: 10,
            partitions: 3,
            first_partition: 1,
            per_batch: 2,
            interval: None,
        };
        let parts: Vec<u32> = (0..8).map(|i| plan.partition(i)).collect();
        assert_eq!(parts, [1, 1, 2, 2, 0, 0, 1, 1]);
    }
}
