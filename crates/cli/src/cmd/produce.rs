//! `sluice produce TOPIC`: one message per line of stdin.
//!
//! Lines are read, split into key and value (with `--key-separator`) and
//! handed to the client's batching [`Producer`]; a separate task awaits
//! each line's delivery in order. The exit status is 0 only when every
//! line was acknowledged (with `--acks 0`: written to the connection).
//!
//! Retries are generous by default (30 retries, backoff from 100 ms
//! doubling to 1 s: about 27 s in all), and cover the first connection
//! too, so a broker restart of a few seconds costs a pause, not the run.
//! A retried request may have been stored before its connection broke, so
//! such a line can be stored twice (at-least-once, as in Kafka without
//! idempotence); order per partition is kept.

use std::time::Duration;

use anyhow::{Context, bail};
use bytes::Bytes;
use sluice_client::{
    Acks, CompressionType, DeliveryFuture, Producer, ProducerConfig, ProducerRecord,
};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;

use super::{Retry, connect};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Topic to produce to.
    pub topic: String,
    /// Split each line at the first SEP: key before, value after. A line
    /// without SEP is not sent and counts as a failure.
    #[arg(long, value_name = "SEP")]
    pub key_separator: Option<String>,
    /// Send every line to this partition (default: by key, murmur2 as
    /// Kafka; unkeyed lines spread over the partitions).
    #[arg(long)]
    pub partition: Option<u32>,
    /// Acknowledgements to wait for: 0, 1 or all.
    #[arg(long, default_value = "all", allow_hyphen_values = true)]
    pub acks: Acks,
    /// Retries of a request (and of the first connection) failing with a
    /// retriable error.
    #[arg(long, default_value_t = 30)]
    pub retries: u32,
    /// Backoff before the first retry, doubling up to --retry-backoff-max-ms.
    #[arg(long, default_value_t = 100)]
    pub retry_backoff_ms: u64,
    #[arg(long, default_value_t = 1000)]
    pub retry_backoff_max_ms: u64,
    /// Close a partition's batch at this many bytes.
    #[arg(long, default_value_t = 16 * 1024)]
    pub batch_size: usize,
    /// Wait this long for a batch to fill.
    #[arg(long, default_value_t = 5)]
    pub linger_ms: u64,
    /// Compress batches: none, gzip, snappy, lz4 or zstd (Kafka's codecs;
    /// every Kafka client and `sluice consume` read them).
    #[arg(long, default_value = "none", value_name = "CODEC")]
    pub compression: CompressionType,
}

/// Lines that were not acknowledged, and why the first one was not.
#[derive(Debug, Default)]
struct Failures {
    count: u64,
    first: Option<(u64, String)>,
}

impl Failures {
    fn note(&mut self, line: u64, why: String) {
        self.count += 1;
        if self.first.as_ref().is_none_or(|(first, _)| line < *first) {
            self.first = Some((line, why));
        }
    }

    fn merge(&mut self, other: Failures) {
        if let Some((line, why)) = other.first {
            self.note(line, why);
            self.count += other.count - 1;
        }
    }
}

pub async fn run(broker: &str, args: Args) -> anyhow::Result<()> {
    let retry = Retry {
        retries: args.retries,
        backoff: Duration::from_millis(args.retry_backoff_ms),
        max_backoff: Duration::from_millis(args.retry_backoff_max_ms),
    };
    let topic = args.topic.as_str();
    let (client, meta) = retry
        .run("connect", || async {
            let client = connect(broker).await?;
            let meta = client.topic(topic).await?;
            Ok((client, meta))
        })
        .await
        .with_context(|| format!("produce to {topic}"))?;
    if let Some(p) = args.partition
        && !meta.partitions.iter().any(|m| m.partition == p)
    {
        bail!(
            "produce to {topic}: no partition {p} (the topic has {})",
            meta.partitions.len()
        );
    }
    let producer = Producer::new(
        client,
        ProducerConfig {
            acks: args.acks,
            retries: args.retries,
            retry_backoff: retry.backoff,
            retry_backoff_max: retry.max_backoff,
            batch_bytes: args.batch_size,
            linger: Duration::from_millis(args.linger_ms),
            compression: args.compression,
            ..ProducerConfig::default()
        },
    )?;

    // Bounded, so a slow broker slows the reading of stdin.
    let (deliveries, rx) = mpsc::channel(64 * 1024);
    let collector = tokio::spawn(await_deliveries(rx));
    let mut failures = Failures::default();
    let mut stdin = BufReader::with_capacity(256 * 1024, tokio::io::stdin());
    let mut line = Vec::new();
    let mut lines = 0u64;
    loop {
        line.clear();
        if stdin
            .read_until(b'\n', &mut line)
            .await
            .context("read stdin")?
            == 0
        {
            break;
        }
        lines += 1;
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        match to_record(&args, &line) {
            Ok(record) => {
                let delivery = producer.send(record).await;
                if deliveries.send((lines, delivery)).await.is_err() {
                    break;
                }
            }
            Err(why) => failures.note(lines, why),
        }
    }
    drop(deliveries);
    producer.close().await;
    failures.merge(collector.await.context("delivery task failed")?);

    tracing::info!(lines, failed = failures.count, "produce done");
    match failures.first {
        None => Ok(()),
        Some((line, why)) => bail!(
            "{} of {lines} lines were not acknowledged; first: line {line}: {why}",
            failures.count
        ),
    }
}

/// Builds the record for one line (without its newline).
fn to_record(args: &Args, line: &[u8]) -> Result<ProducerRecord, String> {
    let (key, value) = match &args.key_separator {
        None => (None, line),
        Some(sep) => {
            let (key, value) = split_once(line, sep.as_bytes())
                .ok_or_else(|| format!("no key separator {sep:?} in the line"))?;
            (Some(Bytes::copy_from_slice(key)), value)
        }
    };
    let mut record = ProducerRecord::new(args.topic.clone(), Bytes::copy_from_slice(value));
    record.key = key;
    record.partition = args.partition;
    Ok(record)
}

fn split_once<'a>(line: &'a [u8], sep: &[u8]) -> Option<(&'a [u8], &'a [u8])> {
    if sep.is_empty() {
        return None;
    }
    let at = line.windows(sep.len()).position(|w| w == sep)?;
    Some((&line[..at], &line[at + sep.len()..]))
}

/// Awaits each line's delivery, in the order sent.
async fn await_deliveries(mut rx: mpsc::Receiver<(u64, DeliveryFuture)>) -> Failures {
    let mut failures = Failures::default();
    while let Some((line, delivery)) = rx.recv().await {
        if let Err(e) = delivery.await {
            failures.note(line, format!("{:#}", anyhow::Error::new(e)));
        }
    }
    failures
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_at_first_separator() {
        assert_eq!(
            split_once(b"k::v::w", b"::"),
            Some((&b"k"[..], &b"v::w"[..]))
        );
        assert_eq!(split_once(b"::v", b"::"), Some((&b""[..], &b"v"[..])));
        assert_eq!(split_once(b"kv", b":"), None);
        assert_eq!(split_once(b"kv", b""), None);
    }

    #[test]
    fn failures_keep_the_first_line() {
        let mut a = Failures::default();
        a.note(7, "seven".into());
        let mut b = Failures::default();
        b.note(3, "three".into());
        b.note(9, "nine".into());
        a.merge(b);
        assert_eq!(a.count, 3);
        assert_eq!(a.first, Some((3, "three".into())));
        a.merge(Failures::default());
        assert_eq!(a.count, 3);
    }
}
