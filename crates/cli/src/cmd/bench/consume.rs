//! `sluice bench consume`: read N messages from the earliest offsets with
//! C consumers, each with its own connection and a share of the
//! partitions (round robin).
//!
//! Latency is end to end: receipt time minus the record's timestamp (its
//! create time, set by the producer), in milliseconds as timestamps are.
//! Over stored data that is the data's age; with `--follow` (start at the
//! log end, run beside `bench produce`) it is producer -> consumer
//! latency, and throughput is timed from the first message. Throughput
//! counts the key and value bytes read.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use indicatif::ProgressBar;
use sluice_client::{Client, Consumer, ConsumerConfig, OffsetReset, SeekTo, TopicPartition};
use tokio::sync::Mutex;
use tokio::task::JoinSet;

use super::report::{Latencies, Report, progress_bar};
use crate::cmd::connect;

#[derive(Debug, Clone, clap::Args, serde::Serialize)]
pub struct Args {
    /// Topic to read.
    #[arg(long, default_value = "sluice-bench")]
    pub topic: String,
    /// Messages to read, in all; the topic must hold at least this many.
    #[arg(long, default_value_t = 100_000)]
    pub messages: u64,
    /// Concurrent consumers (at most one per partition).
    #[arg(long, default_value_t = 1)]
    pub consumers: u32,
    /// Bytes fetched per partition per request.
    #[arg(long, default_value_t = 1024 * 1024)]
    pub fetch_size: u32,
    /// Start at the log end and read N messages as they are produced: run
    /// beside `bench produce` so latency measures producer -> consumer.
    #[arg(long)]
    pub follow: bool,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 600)]
    pub timeout_secs: u64,
    /// Print the report as one JSON object.
    #[arg(long)]
    #[serde(skip)]
    pub json: bool,
}

/// Shared by the consumers: how many messages are claimed in all, and
/// when the last one needed arrived.
#[derive(Debug)]
struct Progress {
    target: u64,
    claimed: AtomicU64,
    /// When the first message arrived: the start of a `--follow` run.
    first: Mutex<Option<Instant>>,
    finished: Mutex<Option<Instant>>,
    bar: ProgressBar,
}

impl Progress {
    /// Claims up to `n` of the messages still needed; returns how many.
    async fn claim(&self, n: u64) -> u64 {
        let before = self.claimed.fetch_add(n, Ordering::Relaxed);
        if before == 0 {
            self.first.lock().await.get_or_insert_with(Instant::now);
        }
        let take = n.min(self.target.saturating_sub(before));
        self.bar.inc(take);
        if take > 0 && before + take == self.target {
            *self.finished.lock().await = Some(Instant::now());
        }
        take
    }

    fn done(&self) -> bool {
        self.claimed.load(Ordering::Relaxed) >= self.target
    }
}

#[derive(Debug, Default)]
struct Outcome {
    messages: u64,
    bytes: u64,
    latencies: Latencies,
}

pub async fn run(broker: &str, args: Args) -> anyhow::Result<()> {
    if args.messages == 0 || args.consumers == 0 {
        bail!("--messages and --consumers must be at least 1");
    }
    let client = connect(broker).await?;
    let meta = client
        .topic(&args.topic)
        .await
        .with_context(|| format!("describe topic {}", args.topic))?;
    let stored: i64 = meta
        .partitions
        .iter()
        .map(|p| p.log_end_offset - p.log_start_offset)
        .sum();
    if !args.follow && stored < i64::try_from(args.messages).unwrap_or(i64::MAX) {
        bail!(
            "topic {} holds {stored} messages, fewer than --messages {}; run `sluice bench produce` first",
            args.topic,
            args.messages
        );
    }
    let consumers = args
        .consumers
        .min(u32::try_from(meta.partitions.len()).unwrap_or(1))
        .max(1);
    if consumers < args.consumers {
        tracing::warn!(
            consumers,
            "more consumers than partitions; using one per partition"
        );
    }

    let progress = Arc::new(Progress {
        target: args.messages,
        claimed: AtomicU64::new(0),
        first: Mutex::new(None),
        finished: Mutex::new(None),
        bar: progress_bar(args.messages, "consume"),
    });
    let start = Instant::now();
    let mut tasks = JoinSet::new();
    for c in 0..consumers {
        let assigned: Vec<TopicPartition> = meta
            .partitions
            .iter()
            .filter(|p| p.partition % consumers == c)
            .map(|p| TopicPartition::new(args.topic.clone(), p.partition))
            .collect();
        let start_at = if args.follow {
            SeekTo::Latest
        } else {
            SeekTo::Earliest
        };
        tasks.spawn(consume(
            client.clone(),
            assigned,
            start_at,
            args.fetch_size,
            Arc::clone(&progress),
        ));
    }
    let timeout = Duration::from_secs(args.timeout_secs);
    let outcomes = tokio::time::timeout(timeout, tasks.join_all())
        .await
        .map_err(|_elapsed| {
            anyhow::anyhow!(
                "timed out after {timeout:?} with {} of {} messages read",
                progress.bar.position(),
                args.messages
            )
        })?;
    progress.bar.finish_and_clear();
    let finished = progress.finished.lock().await.unwrap_or_else(Instant::now);
    // Following, the run starts when the producer does.
    let start = match *progress.first.lock().await {
        Some(first) if args.follow => first,
        _ => start,
    };

    let mut total = Outcome::default();
    for outcome in outcomes {
        let outcome = outcome?;
        total.messages += outcome.messages;
        total.bytes += outcome.bytes;
        total.latencies.merge(&outcome.latencies);
    }
    Report::new(
        "consume",
        &args.topic,
        total.messages,
        total.bytes,
        0,
        finished - start,
        "end to end: record timestamp -> receipt (ms resolution)",
        &total.latencies,
        serde_json::to_value(&args)?,
    )
    .print(args.json)
}

async fn consume(
    client: Client,
    partitions: Vec<TopicPartition>,
    start_at: SeekTo,
    fetch_size: u32,
    progress: Arc<Progress>,
) -> anyhow::Result<Outcome> {
    let config = ConsumerConfig {
        auto_offset_reset: OffsetReset::Earliest,
        auto_commit_interval: None,
        partition_max_bytes: fetch_size,
        fetch_max_bytes: fetch_size.saturating_mul(16),
        ..ConsumerConfig::default()
    };
    let mut consumer = Consumer::new(client, config);
    consumer.assign(partitions);
    consumer.seek_all(start_at);
    // Resolve the start now: with --follow, "the end" is the end before
    // the producer starts, not at the first poll.
    for tp in consumer.assignment() {
        consumer.position(&tp).await?;
    }
    let mut outcome = Outcome::default();
    while !progress.done() {
        let records = consumer.poll(Duration::from_millis(100)).await?;
        if records.is_empty() {
            continue;
        }
        let now_ms = now_ms();
        let take = progress.claim(records.len() as u64).await;
        for r in records
            .iter()
            .take(usize::try_from(take).unwrap_or(usize::MAX))
        {
            let age_ms = u64::try_from(now_ms - r.timestamp).unwrap_or(0);
            outcome.latencies.record(Duration::from_millis(age_ms));
            outcome.bytes += r.key.as_ref().map_or(0, |k| k.len() as u64)
                + r.value.as_ref().map_or(0, |v| v.len() as u64);
        }
        outcome.messages += take;
    }
    Ok(outcome)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
