//! `sluice consume TOPIC`: print messages, one per line by default.
//!
//! Start position, per consumed partition: `--offset N` if given; else,
//! with `--group`, the group's committed offset; else the earliest offset
//! with `--from-beginning` and the log end without it (new messages
//! only), as Kafka's console consumer does.
//!
//! With `--group`, the offset after the last *printed* record of each
//! partition is committed after every printed batch and at the end, so a
//! run stopped by `--count` resumes exactly after what it printed.
//! Records are written before their offsets are committed: a crash in
//! between prints them again next time (at-least-once), never skips them.

use std::collections::BTreeMap;
use std::io::{self, BufWriter, Write};
use std::time::Duration;

use anyhow::{Context, bail};
use sluice_client::{
    Client, Consumer, ConsumerConfig, ConsumerRecord, OffsetReset, SeekTo, TopicPartition,
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
    /// Start at this offset in every consumed partition.
    #[arg(long, value_name = "N")]
    pub offset: Option<i64>,
    /// Consume only this partition (default: all).
    #[arg(long, value_name = "P")]
    pub partition: Option<u32>,
    /// Start from and commit this group's offsets.
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
    let partitions = partitions(&client, topic, args.partition)
        .await
        .with_context(|| format!("consume {topic}"))?;
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
    consumer.assign(partitions.iter().cloned());
    if let Some(offset) = args.offset {
        consumer.seek_all(SeekTo::Offset(offset));
    } else if args.from_beginning && args.group.is_none() {
        consumer.seek_all(SeekTo::Earliest);
    }

    let mut commits = match &args.group {
        Some(group) => Some(Commits::start(group, &mut consumer, &partitions).await?),
        None => None,
    };
    let result = print_records(&args, &mut consumer, &client, commits.as_mut()).await;
    if let Some(c) = commits.as_mut() {
        c.commit(&client).await?;
    }
    match result {
        // The reader went away (`| head`): not an error.
        Err(e)
            if e.downcast_ref::<io::Error>().map(io::Error::kind)
                == Some(io::ErrorKind::BrokenPipe) =>
        {
            Ok(())
        }
        other => other,
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
/// passes without records, or on Ctrl-C.
async fn print_records(
    args: &Args,
    consumer: &mut Consumer,
    client: &Client,
    mut commits: Option<&mut Commits>,
) -> anyhow::Result<()> {
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(64 * 1024, stdout.lock());
    let wait = args
        .timeout_ms
        .map_or(Duration::from_secs(1), Duration::from_millis);
    let mut printed = 0u64;
    loop {
        let left = args.count.map_or(u64::MAX, |n| n.saturating_sub(printed));
        if left == 0 {
            break;
        }
        let records = tokio::select! {
            polled = consumer.poll(wait) => polled?,
            _ = tokio::signal::ctrl_c() => break,
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
        if let Some(c) = commits.as_deref_mut() {
            c.advance(&records[..take]);
            c.commit(client).await?;
        }
    }
    out.flush()?;
    Ok(())
}

/// The group's positions as far as records were printed.
#[derive(Debug)]
struct Commits {
    group: String,
    next: BTreeMap<TopicPartition, i64>,
    dirty: bool,
}

impl Commits {
    /// Starts from the consumer's resolved positions, so a partition that
    /// printed nothing is committed at its start position too: the next run
    /// resumes there rather than at the log end.
    async fn start(
        group: &str,
        consumer: &mut Consumer,
        partitions: &[TopicPartition],
    ) -> anyhow::Result<Commits> {
        let mut next = BTreeMap::new();
        for tp in partitions {
            next.insert(tp.clone(), consumer.position(tp).await?);
        }
        Ok(Commits {
            group: group.to_owned(),
            next,
            dirty: true,
        })
    }

    fn advance(&mut self, printed: &[ConsumerRecord]) {
        for r in printed {
            let tp = TopicPartition::new(&*r.topic, r.partition);
            self.next.insert(tp, r.offset + 1);
            self.dirty = true;
        }
    }

    async fn commit(&mut self, client: &Client) -> anyhow::Result<()> {
        if !self.dirty {
            return Ok(());
        }
        let offsets: Vec<(TopicPartition, i64)> =
            self.next.iter().map(|(tp, o)| (tp.clone(), *o)).collect();
        client
            .commit_offsets(&self.group, &offsets)
            .await
            .with_context(|| format!("commit offsets of group {}", self.group))?;
        self.dirty = false;
        Ok(())
    }
}
