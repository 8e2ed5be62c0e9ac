//! `sluice topic create|list|describe|delete`.

use anyhow::Context;
use clap::Subcommand;
use sluice_client::{TopicConfig, TopicMetadata};

use super::connect;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a topic.
    Create {
        /// Topic name.
        name: String,
        /// Number of partitions.
        #[arg(long, default_value_t = 1)]
        partitions: u32,
        /// Topic setting, Kafka's names (retention.ms=60000); repeatable.
        #[arg(long = "config", value_name = "KEY=VALUE", value_parser = parse_key_value)]
        config: Vec<(String, String)>,
    },
    /// Print every topic name, one per line.
    List,
    /// Print a topic's settings and, per partition, its start and end
    /// offsets and size on disk.
    Describe {
        /// Topic name.
        name: String,
    },
    /// Delete a topic and its data.
    Delete {
        /// Topic name.
        name: String,
    },
}

pub async fn run(broker: &str, command: Command) -> anyhow::Result<()> {
    let client = connect(broker).await?;
    match command {
        Command::Create {
            name,
            partitions,
            config,
        } => {
            let mut topic_config = TopicConfig::default();
            for (key, value) in &config {
                topic_config.set(key, value)?;
            }
            client
                .create_topic(&name, partitions, topic_config)
                .await
                .with_context(|| format!("create topic {name}"))?;
            println!("created topic {name} with {partitions} partitions");
        }
        Command::List => {
            for topic in client.list_topics().await? {
                println!("{}", topic.name);
            }
        }
        Command::Describe { name } => {
            let topic = client
                .topic(&name)
                .await
                .with_context(|| format!("describe topic {name}"))?;
            print!("{}", describe(&topic));
        }
        Command::Delete { name } => {
            client
                .delete_topic(&name)
                .await
                .with_context(|| format!("delete topic {name}"))?;
            println!("deleted topic {name}");
        }
    }
    Ok(())
}

fn parse_key_value(s: &str) -> Result<(String, String), String> {
    let (key, value) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?} is not KEY=VALUE"))?;
    Ok((key.trim().to_owned(), value.trim().to_owned()))
}

/// The config as `key=value` pairs, Kafka's names, in [`TopicConfig::KEYS`] order.
fn config_pairs(c: &TopicConfig) -> Vec<(&'static str, String)> {
    fn show<T: ToString>(v: Option<T>) -> String {
        v.map_or_else(|| "-".to_owned(), |v| v.to_string())
    }
    vec![
        ("segment.bytes", show(c.segment_bytes)),
        ("segment.ms", show(c.segment_ms)),
        ("retention.bytes", show(c.retention_bytes)),
        ("retention.ms", show(c.retention_ms)),
        ("flush.messages", show(c.flush_messages)),
        ("flush.ms", show(c.flush_interval_ms)),
        ("max.message.bytes", show(c.max_message_bytes)),
    ]
}

/// The `describe` text:
///
/// ```text
/// topic orders: 2 partitions, 1500 messages, 171.9 KiB
/// config: segment.bytes=134217728 ... max.message.bytes=8388608
/// PARTITION        START          END        SIZE_BYTES
///         0            0          700             82334
///         1            0          800             93620
/// ```
fn describe(topic: &TopicMetadata) -> String {
    use std::fmt::Write;
    let messages: i64 = topic
        .partitions
        .iter()
        .map(|p| p.log_end_offset - p.log_start_offset)
        .sum();
    let bytes: u64 = topic.partitions.iter().map(|p| p.size_bytes).sum();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "topic {}: {} partitions, {messages} messages, {}",
        topic.name,
        topic.partitions.len(),
        human_bytes(bytes)
    );
    let config: Vec<String> = config_pairs(&topic.config)
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let _ = writeln!(out, "config: {}", config.join(" "));
    let _ = writeln!(
        out,
        "{:>9} {:>12} {:>12} {:>17}",
        "PARTITION", "START", "END", "SIZE_BYTES"
    );
    for p in &topic.partitions {
        let _ = writeln!(
            out,
            "{:>9} {:>12} {:>12} {:>17}",
            p.partition, p.log_start_offset, p.log_end_offset, p.size_bytes
        );
    }
    out
}

/// `1536` -> `1.5 KiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    #[allow(clippy::cast_precision_loss)] // a display value
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_client::PartitionMetadata;

    #[test]
    fn key_value() {
        assert_eq!(
            parse_key_value("retention.ms=60000").unwrap(),
            ("retention.ms".to_owned(), "60000".to_owned())
        );
        assert!(parse_key_value("retention.ms").is_err());
    }

    #[test]
    fn human() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 << 30), "3.0 GiB");
    }

    #[test]
    fn describe_text() {
        let topic = TopicMetadata {
            name: "orders".into(),
            partitions: vec![
                PartitionMetadata {
                    partition: 0,
                    log_start_offset: 0,
                    log_end_offset: 700,
                    high_watermark: 700,
                    size_bytes: 1024,
                },
                PartitionMetadata {
                    partition: 1,
                    log_start_offset: 100,
                    log_end_offset: 900,
                    high_watermark: 900,
                    size_bytes: 1024,
                },
            ],
            config: TopicConfig {
                retention_ms: Some(-1),
                ..TopicConfig::default()
            },
        };
        let text = describe(&topic);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "topic orders: 2 partitions, 1500 messages, 2.0 KiB"
        );
        assert!(lines[1].contains("retention.ms=-1"), "{text}");
        let row: Vec<&str> = lines[4].split_whitespace().collect();
        assert_eq!(row, ["1", "100", "900", "1024"]);
    }
}
