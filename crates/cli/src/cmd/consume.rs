//! `sluice consume TOPIC`: print messages, one per line by default.
//!
//! With `--group G` (and no `--partition`) the command is a member of
//! consumer group G, as a Kafka console consumer is: it joins the group,
//! prints the records of the partitions the group assigns it, follows the
//! group's rebalances as other members (`sluice consume`, Kafka consumers)
//! come and go, and leaves the group when it stops (`--count`,
//! `--timeout-ms` or Ctrl-C), so the others take its partitions at once.
//! With `--group G --partition P` it reads that partition outside the
//! membership and commits under G, which the broker accepts only while G
//! has no members.
//!
//! Start position, per consumed partition: `--offset N` if given (with
//! `--partition` only, when in a group); else, with `--group`, the group's
//! committed offset; else the earliest offset with `--from-beginning` and
//! the log end without it (new messages only), as Kafka's console consumer
//! does.
//!
//! With `--group`, the offset after the last *printed* record of each
//! partition is committed after every printed batch and at the end, so a
//! run stopped by `--count` resumes exactly after what it printed.
//! Records are written before their offsets are committed: a crash in
//! between prints them again next time (at-least-once), never skips them.
//! A commit the group refuses because it rebalanced (the member fell out
//! of its generation) is a warning: the records are printed again by the
//! partition's next owner.

use std::collections::BTreeMap;
use std::io::{self, BufWriter, Write};
use std::time::Duration;

use anyhow::{Context, bail};
use sluice_client::{
    Client, ClientError, Consumer, ConsumerConfig, ConsumerRecord, OffsetReset, SeekTo,
    TopicPartition,
};

use super::connect;
use super::format::{DEFAULT_FORMAT, Format};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Topic to read.
    pub topic: String,
    /// Start at the earliest offset (with --group: where the group has no
    /// committed offset).
    #[arg(long, conflicts_with = "offset")]
    pub from_beginning: bool,
    /// Start at this offset in every consumed partition (with --group,
    /// only together with --partition).
    #[arg(long, value_name = "N")]
    pub offset: Option<i64>,
    /// Consume only this partition (default: all, or with --group the
    /// group's share).
    #[arg(long, value_name = "P")]
    pub partition: Option<u32>,
    /// Join this consumer group: read the partitions it assigns, start
    /// from and commit its offsets, leave it at exit. With --partition,
    /// read that partition outside the membership.
    #[arg(long, value_name = "G")]
    pub group: Option<String>,
    /// Stop after N messages.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// Stop after MS milliseconds without a new message (default: never).
    #[arg(long, value_name = "MS")]
    pub timeout_ms: Option<u64>,
    /// Output format; kcat placeholders %t topic, %p partition, %o offset,
    /// %k key, %s value, %T timestamp, %K/%S key/value length, %%; escapes
    /// \n \t \r \\.
    #[arg(long, value_name = "FMT", default_value = DEFAULT_FORMAT, value_parser = Format::parse)]
    pub format: Format,
}

pub async fn run(broker: &str, args: Args) -> anyhow::Result<()> {
    let topic = args.topic.as_str();
    let client = connect(broker).await?;
    let member = args.group.is_some() && args.partition.is_none();
    if member && args.offset.is_some() {
        bail!(
            "--offset with --group needs --partition: a group member reads the partitions the group assigns"
        );
    }
    let config = ConsumerConfig {
        group_id: args.group.clone(),
        auto_offset_reset: if args.from_beginning {
            OffsetReset::Earliest
        } else {
            OffsetReset::Latest
        },
        // Commits are made here, after printing, for exactly what was printed.
        auto_commit_interval: None,
        ..ConsumerConfig::default()
    };
    let mut consumer = Consumer::new(client.clone(), config);
    if member {
        // An unknown topic is an error now, not an empty assignment.
        client
            .topic(topic)
            .await
            .with_context(|| format!("consume {topic}"))?;
        consumer.subscribe(&[topic]).await?;
    } else {
        let partitions = partitions(&client, topic, args.partition)
            .await
            .with_context(|| format!("consume {topic}"))?;
        consumer.assign(partitions);
        if let Some(offset) = args.offset {
            consumer.seek_all(SeekTo::Offset(offset));
        } else if args.from_beginning && args.group.is_none() {
            consumer.seek_all(SeekTo::Earliest);
        }
    }

    let result = print_records(&args, &mut consumer).await;
    let finished = finish(&args, consumer, result.is_ok()).await;
    match result {
        // The reader went away (`| head`): not an error.
        Err(e)
            if e.downcast_ref::<io::Error>().map(io::Error::kind)
                == Some(io::ErrorKind::BrokenPipe) =>
        {
            finished
        }
        Err(e) => Err(e),
        Ok(()) => finished,
    }
}

/// Commits what was printed (with `--group`) and leaves the group.
async fn finish(args: &Args, mut consumer: Consumer, printed_ok: bool) -> anyhow::Result<()> {
    let mut outcome = Ok(());
    if args.group.is_some() && printed_ok {
        outcome = commit(&mut consumer, args).await;
    }
    let closed = consumer.close().await.context("leave the consumer group");
    outcome.and(closed)
}

/// Commits the consumer's positions: the offsets after what was printed.
/// A refusal because the group moved on is only a warning.
async fn commit(consumer: &mut Consumer, args: &Args) -> anyhow::Result<()> {
    let group = args.group.as_deref().unwrap_or_default();
    match consumer.commit().await {
        Ok(()) => Ok(()),
        Err(e @ ClientError::NotInGroup { .. }) => {
            tracing::warn!(error = %e, "nothing committed");
            Ok(())
        }
        Err(e) if e.is_rebalance() => {
            tracing::warn!(error = %e, "commit refused: the group rebalanced; the partitions' next owner reads these records again");
            Ok(())
        }
        Err(e) => Err(e).with_context(|| format!("commit offsets of group {group}")),
    }
}

/// The partitions to consume: one, or all of the topic.
async fn partitions(
    client: &Client,
    topic: &str,
    only: Option<u32>,
) -> anyhow::Result<Vec<TopicPartition>> {
    let meta = client.topic(topic).await?;
    let all = meta
        .partitions
        .iter()
        .map(|p| TopicPartition::new(topic, p.partition));
    match only {
        None => Ok(all.collect()),
        Some(p) if meta.partitions.iter().any(|m| m.partition == p) => {
            Ok(vec![TopicPartition::new(topic, p)])
        }
        Some(p) => bail!("no partition {p} (the topic has {})", meta.partitions.len()),
    }
}

/// The poll-print loop; returns when the count is reached, the timeout
/// passes without records, or on Ctrl-C. With `--group`, commits after
/// every printed batch.
async fn print_records(args: &Args, consumer: &mut Consumer) -> anyhow::Result<()> {
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(64 * 1024, stdout.lock());
    let wait = args
        .timeout_ms
        .map_or(Duration::from_secs(1), Duration::from_millis);
    let mut printed = 0u64;
    // One listener for the whole run: a Ctrl-C that comes while a batch is
    // printed or committed still ends the loop at the next poll.
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        let left = args.count.map_or(u64::MAX, |n| n.saturating_sub(printed));
        if left == 0 {
            break;
        }
        let records = tokio::select! {
            polled = consumer.poll(wait) => polled?,
            _ = &mut ctrl_c => break,
        };
        if records.is_empty() {
            if args.timeout_ms.is_some() {
                break;
            }
            continue;
        }
        let take = usize::try_from(left)
            .unwrap_or(usize::MAX)
            .min(records.len());
        for record in &records[..take] {
            args.format.write(&mut out, record)?;
        }
        out.flush()?;
        printed += take as u64;
        // The count cut the batch: positions go back to the first record
        // not printed, so the commit covers exactly what was printed.
        for (tp, offset) in first_unprinted(&records[take..]) {
            consumer.seek(&tp, SeekTo::Offset(offset))?;
        }
        if args.group.is_some() {
            commit(consumer, args).await?;
        }
    }
    out.flush()?;
    Ok(())
}

/// The first offset of each partition among `records`.
fn first_unprinted(records: &[ConsumerRecord]) -> BTreeMap<TopicPartition, i64> {
    let mut first = BTreeMap::new();
    for r in records {
        first
            .entry(TopicPartition::new(&*r.topic, r.partition))
            .or_insert(r.offset);
    }
    first
}
