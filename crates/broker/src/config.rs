//! Broker configuration: command-line flags, `SLUICE_*` environment
//! variables, a TOML file and built-in defaults, in that order of
//! precedence (flags win).
//!
//! clap reads flags and environment variables into [`Cli`] (every field an
//! `Option`, so "not given" is visible); [`FileConfig`] is the TOML file
//! with the same names; [`BrokerConfig::resolve`] merges them over
//! [`BrokerConfig::default`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;
use serde::Deserialize;
use sluice_network::budget::DEFAULT_MAX_REQUEST_MEMORY;
use sluice_network::{ServerConfig, TransferMode};
use sluice_storage::WriteMode;

use crate::topics::TopicSettings;

/// Log output format of the binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Human,
    /// One JSON object per line.
    Json,
}

/// Everything the broker needs to start.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// Where topics and committed offsets live.
    pub data_dir: PathBuf,
    /// `HOST:PORT` to listen on; port 0 picks a free port.
    pub listen: String,
    /// `HOST:PORT` of the Kafka-protocol listener; `None` (the default)
    /// serves only the native protocol. 127.0.0.1:9092 is the conventional
    /// choice.
    pub kafka_listen: Option<String>,
    /// `HOST:PORT` the Kafka listener tells clients to connect to (Metadata,
    /// FindCoordinator), like Kafka's `advertised.listeners`; `None` (the
    /// default) answers with the address each client connected to.
    pub kafka_advertise: Option<String>,
    /// How long the first rebalance of an empty Kafka consumer group waits
    /// for more members (Kafka's `group.initial.rebalance.delay.ms`).
    pub group_initial_rebalance_delay_ms: u64,
    pub transfer_mode: TransferMode,
    /// How partition logs write their active segment: `mmap` (default) or `write` (the
    /// `pwrite` fallback for file systems where shared mappings misbehave).
    pub write_mode: WriteMode,
    pub log_format: LogFormat,
    /// Create an unknown topic (with the default settings) on first produce.
    pub auto_create_topics: bool,
    pub max_connections: usize,
    pub max_frame_bytes: usize,
    pub idle_timeout_ms: u64,
    /// How long a new connection may take to complete its first request.
    pub handshake_timeout_ms: u64,
    /// Request bytes held in memory at once, over both listeners (Kafka's
    /// `queued.max.request.bytes`); a frame is read only once it fits.
    pub max_request_memory_bytes: usize,
    /// Pipelined requests per connection whose responses are pending.
    pub max_in_flight: usize,
    /// How long shutdown waits for in-flight requests.
    pub shutdown_grace_ms: u64,
    /// How often retention runs over every partition.
    pub retention_check_ms: u64,
    /// Most partitions the broker holds, over all topics: a creation past it fails with a
    /// clear error instead of exhausting file descriptors or memory later.
    pub max_partitions: u32,
    /// Sealed segment files held open at once, over all partitions (the storage's file
    /// cache): descriptors then grow with partitions (one active segment each), not with
    /// partitions x segments. Capped at half the descriptor limit when the broker starts.
    pub max_open_files: usize,
    /// How often the interval flush policy is checked.
    pub flush_check_ms: u64,
    /// Settings of topics created without explicit values.
    pub topic_defaults: TopicSettings,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            data_dir: PathBuf::from("./sluice-data"),
            listen: "127.0.0.1:9393".to_owned(),
            kafka_listen: None,
            kafka_advertise: None,
            group_initial_rebalance_delay_ms: 3000,
            transfer_mode: TransferMode::Sendfile,
            write_mode: WriteMode::Mmap,
            log_format: LogFormat::Human,
            auto_create_topics: false,
            max_connections: 1024,
            max_frame_bytes: sluice_protocol::consts::DEFAULT_MAX_FRAME,
            idle_timeout_ms: 600_000,
            handshake_timeout_ms: 10_000,
            max_request_memory_bytes: DEFAULT_MAX_REQUEST_MEMORY,
            max_in_flight: 128,
            shutdown_grace_ms: 10_000,
            retention_check_ms: 5_000,
            max_partitions: 20_000,
            max_open_files: sluice_storage::file_cache::DEFAULT_CAPACITY,
            flush_check_ms: 200,
            topic_defaults: TopicSettings::default(),
        }
    }
}

impl BrokerConfig {
    /// The network server's share of the settings (the request memory
    /// budget apart: one [`sluice_network::RequestBudget`] of
    /// `max_request_memory_bytes` is made for both listeners).
    pub fn server_config(&self) -> ServerConfig {
        ServerConfig {
            max_connections: self.max_connections,
            max_frame_bytes: self.max_frame_bytes,
            idle_timeout: Duration::from_millis(self.idle_timeout_ms.max(1)),
            handshake_timeout: Duration::from_millis(self.handshake_timeout_ms.max(1)),
            max_in_flight: self.max_in_flight,
            transfer_mode: self.transfer_mode,
            shutdown_grace: Duration::from_millis(self.shutdown_grace_ms),
        }
    }

    /// Whether partitions recycle the segment files retention removes. Only with a transfer mode
    /// that copies (`mmap`, `read`): `sendfile` and `splice` leave sent pages referenced by
    /// socket buffers, which a recycled file's next segment would overwrite in flight.
    pub fn recycle_segments(&self) -> bool {
        !self.transfer_mode.is_zero_copy()
    }

    /// Merges flags/environment (`cli`) over the file named by `--config`
    /// (if any) over the defaults.
    pub fn resolve(cli: Cli) -> anyhow::Result<BrokerConfig> {
        let file = match &cli.config {
            Some(path) => FileConfig::load(path)?,
            None => FileConfig::default(),
        };
        Self::merge(cli, file)
    }

    fn merge(cli: Cli, file: FileConfig) -> anyhow::Result<BrokerConfig> {
        let d = BrokerConfig::default();
        let fd = file.topic_defaults.unwrap_or_default();
        let td = d.topic_defaults.clone();
        let transfer_mode = match cli.transfer_mode.or(file.transfer_mode) {
            Some(name) => name.parse::<TransferMode>()?,
            None => d.transfer_mode,
        };
        let write_mode = match cli.write_mode.or(file.write_mode).as_deref() {
            Some("mmap") => WriteMode::Mmap,
            Some("write") => WriteMode::Write,
            Some(other) => anyhow::bail!("unknown write mode {other:?} (expected mmap or write)"),
            None => d.write_mode,
        };
        let topic_defaults = TopicSettings {
            partitions: cli
                .default_partitions
                .or(fd.partitions)
                .unwrap_or(td.partitions),
            segment_bytes: cli
                .default_segment_bytes
                .or(fd.segment_bytes)
                .unwrap_or(td.segment_bytes),
            segment_ms: cli
                .default_segment_ms
                .or(fd.segment_ms)
                .unwrap_or(td.segment_ms),
            retention_bytes: cli
                .default_retention_bytes
                .or(fd.retention_bytes)
                .unwrap_or(td.retention_bytes),
            retention_ms: cli
                .default_retention_ms
                .or(fd.retention_ms)
                .unwrap_or(td.retention_ms),
            flush_messages: cli
                .default_flush_messages
                .or(fd.flush_messages)
                .unwrap_or(td.flush_messages),
            flush_interval_ms: cli
                .default_flush_interval_ms
                .or(fd.flush_interval_ms)
                .unwrap_or(td.flush_interval_ms),
            max_message_bytes: cli
                .default_max_message_bytes
                .or(fd.max_message_bytes)
                .unwrap_or(td.max_message_bytes),
        };
        topic_defaults
            .log_config()
            .map_err(|e| anyhow::anyhow!("invalid default topic settings: {}", e.message()))?;
        let config = BrokerConfig {
            data_dir: cli.data_dir.or(file.data_dir).unwrap_or(d.data_dir),
            listen: cli.listen.or(file.listen).unwrap_or(d.listen),
            kafka_listen: cli
                .kafka_listen
                .or(file.kafka_listen)
                .filter(|addr| !addr.is_empty()),
            kafka_advertise: cli
                .kafka_advertise
                .or(file.kafka_advertise)
                .filter(|addr| !addr.is_empty()),
            group_initial_rebalance_delay_ms: cli
                .group_initial_rebalance_delay_ms
                .or(file.group_initial_rebalance_delay_ms)
                .unwrap_or(d.group_initial_rebalance_delay_ms),
            transfer_mode,
            write_mode,
            log_format: cli.log_format.or(file.log_format).unwrap_or(d.log_format),
            auto_create_topics: cli
                .auto_create_topics
                .or(file.auto_create_topics)
                .unwrap_or(d.auto_create_topics),
            max_connections: cli
                .max_connections
                .or(file.max_connections)
                .unwrap_or(d.max_connections),
            max_frame_bytes: cli
                .max_frame_bytes
                .or(file.max_frame_bytes)
                .unwrap_or(d.max_frame_bytes),
            idle_timeout_ms: cli
                .idle_timeout_ms
                .or(file.idle_timeout_ms)
                .unwrap_or(d.idle_timeout_ms),
            handshake_timeout_ms: cli
                .handshake_timeout_ms
                .or(file.handshake_timeout_ms)
                .unwrap_or(d.handshake_timeout_ms),
            max_request_memory_bytes: cli
                .max_request_memory_bytes
                .or(file.max_request_memory_bytes)
                .unwrap_or(d.max_request_memory_bytes),
            max_in_flight: cli
                .max_in_flight
                .or(file.max_in_flight)
                .unwrap_or(d.max_in_flight),
            shutdown_grace_ms: cli
                .shutdown_grace_ms
                .or(file.shutdown_grace_ms)
                .unwrap_or(d.shutdown_grace_ms),
            retention_check_ms: cli
                .retention_check_ms
                .or(file.retention_check_ms)
                .unwrap_or(d.retention_check_ms),
            max_partitions: cli
                .max_partitions
                .or(file.max_partitions)
                .unwrap_or(d.max_partitions),
            max_open_files: cli
                .max_open_files
                .or(file.max_open_files)
                .unwrap_or(d.max_open_files),
            flush_check_ms: cli
                .flush_check_ms
                .or(file.flush_check_ms)
                .unwrap_or(d.flush_check_ms),
            topic_defaults,
        };
        if config.max_connections == 0 || config.max_in_flight == 0 || config.max_open_files == 0 {
            anyhow::bail!("max-connections, max-in-flight and max-open-files must be at least 1");
        }
        if let Some(addr) = &config.kafka_advertise
            && split_host_port(addr).is_none()
        {
            anyhow::bail!("kafka-advertise must be HOST:PORT, got {addr:?}");
        }
        if config.max_frame_bytes < 1024 {
            anyhow::bail!("max-frame-bytes must be at least 1024");
        }
        // A frame is read only once the budget has room for all of it, so a
        // budget below the frame limit would close connections for frames
        // the limit allows.
        if config.max_request_memory_bytes < config.max_frame_bytes {
            anyhow::bail!(
                "max-request-memory-bytes ({}) must be at least max-frame-bytes ({})",
                config.max_request_memory_bytes,
                config.max_frame_bytes
            );
        }
        Ok(config)
    }
}

/// `HOST:PORT` split at the last colon (`[::1]:9092` gives `::1`).
pub fn split_host_port(addr: &str) -> Option<(String, u16)> {
    let (host, port) = addr.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return None;
    }
    Some((host.to_owned(), port.parse().ok()?))
}

/// Command-line flags; each also reads the `SLUICE_*` variable named in its
/// help. Unset flags fall back to the config file, then to the defaults.
#[derive(Debug, Default, Parser)]
#[command(name = "sluice-broker", version, about = "The Sluice log broker")]
pub struct Cli {
    /// TOML configuration file.
    #[arg(long, env = "SLUICE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Data directory [default: ./sluice-data].
    #[arg(long, env = "SLUICE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Listen address HOST:PORT [default: 127.0.0.1:9393].
    #[arg(long, env = "SLUICE_LISTEN")]
    pub listen: Option<String>,
    /// Also serve the Kafka protocol on HOST:PORT (conventionally 127.0.0.1:9092) [default: off].
    #[arg(long, env = "SLUICE_KAFKA_LISTEN")]
    pub kafka_listen: Option<String>,
    /// HOST:PORT Kafka clients are told to connect to [default: the address they used].
    #[arg(long, env = "SLUICE_KAFKA_ADVERTISE")]
    pub kafka_advertise: Option<String>,
    /// Initial rebalance delay of an empty Kafka consumer group [default: 3000].
    #[arg(long, env = "SLUICE_GROUP_INITIAL_REBALANCE_DELAY_MS")]
    pub group_initial_rebalance_delay_ms: Option<u64>,
    /// How fetch records are sent: sendfile, splice, mmap or read [default: sendfile].
    #[arg(long, env = "SLUICE_TRANSFER_MODE")]
    pub transfer_mode: Option<String>,
    /// How appends reach the active segment: mmap or write [default: mmap].
    #[arg(long, env = "SLUICE_WRITE_MODE")]
    pub write_mode: Option<String>,
    /// Log format [default: human].
    #[arg(long, env = "SLUICE_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    /// Create unknown topics on first produce [default: false].
    #[arg(long, env = "SLUICE_AUTO_CREATE_TOPICS", num_args = 0..=1, default_missing_value = "true")]
    pub auto_create_topics: Option<bool>,
    /// Connections served at once [default: 1024].
    #[arg(long, env = "SLUICE_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Largest request frame in bytes [default: 67108864].
    #[arg(long, env = "SLUICE_MAX_FRAME_BYTES")]
    pub max_frame_bytes: Option<usize>,
    /// Close connections idle this long [default: 600000].
    #[arg(long, env = "SLUICE_IDLE_TIMEOUT_MS")]
    pub idle_timeout_ms: Option<u64>,
    /// Close a new connection that completes no request within this long [default: 10000].
    #[arg(long, env = "SLUICE_HANDSHAKE_TIMEOUT_MS")]
    pub handshake_timeout_ms: Option<u64>,
    /// Request bytes held in memory at once, both listeners together [default: 268435456].
    #[arg(long, env = "SLUICE_MAX_REQUEST_MEMORY_BYTES")]
    pub max_request_memory_bytes: Option<usize>,
    /// Pipelined requests per connection awaiting their response [default: 128].
    #[arg(long, env = "SLUICE_MAX_IN_FLIGHT")]
    pub max_in_flight: Option<usize>,
    /// How long shutdown waits for in-flight requests [default: 10000].
    #[arg(long, env = "SLUICE_SHUTDOWN_GRACE_MS")]
    pub shutdown_grace_ms: Option<u64>,
    /// Retention check interval [default: 5000].
    #[arg(long, env = "SLUICE_RETENTION_CHECK_MS")]
    pub retention_check_ms: Option<u64>,
    /// Most partitions the broker holds, over all topics [default: 20000].
    #[arg(long, env = "SLUICE_MAX_PARTITIONS")]
    pub max_partitions: Option<u32>,
    /// Sealed segment files held open at once, over all partitions [default: 4096].
    #[arg(long, env = "SLUICE_MAX_OPEN_FILES")]
    pub max_open_files: Option<usize>,
    /// Interval-flush check interval [default: 200].
    #[arg(long, env = "SLUICE_FLUSH_CHECK_MS")]
    pub flush_check_ms: Option<u64>,
    /// Partitions of a topic created without a count (auto-create) [default: 1].
    #[arg(long, env = "SLUICE_DEFAULT_PARTITIONS")]
    pub default_partitions: Option<u32>,
    /// Segment size [default: 134217728].
    #[arg(long, env = "SLUICE_DEFAULT_SEGMENT_BYTES")]
    pub default_segment_bytes: Option<u64>,
    /// Segment age before rolling [default: 604800000].
    #[arg(long, env = "SLUICE_DEFAULT_SEGMENT_MS")]
    pub default_segment_ms: Option<u64>,
    /// Retention by size per partition, -1 unlimited [default: -1].
    #[arg(
        long,
        env = "SLUICE_DEFAULT_RETENTION_BYTES",
        allow_negative_numbers = true
    )]
    pub default_retention_bytes: Option<i64>,
    /// Retention by age, -1 forever [default: 604800000].
    #[arg(
        long,
        env = "SLUICE_DEFAULT_RETENTION_MS",
        allow_negative_numbers = true
    )]
    pub default_retention_ms: Option<i64>,
    /// fsync after this many messages, 0 off [default: 0].
    #[arg(long, env = "SLUICE_DEFAULT_FLUSH_MESSAGES")]
    pub default_flush_messages: Option<u64>,
    /// fsync at least this often, 0 off [default: 1000].
    #[arg(long, env = "SLUICE_DEFAULT_FLUSH_INTERVAL_MS")]
    pub default_flush_interval_ms: Option<u64>,
    /// Largest batch accepted [default: 8388608].
    #[arg(long, env = "SLUICE_DEFAULT_MAX_MESSAGE_BYTES")]
    pub default_max_message_bytes: Option<u32>,
}

/// The TOML file: the same settings as the flags, snake_case, topic
/// defaults in a `[topic_defaults]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub data_dir: Option<PathBuf>,
    pub listen: Option<String>,
    pub kafka_listen: Option<String>,
    pub kafka_advertise: Option<String>,
    pub group_initial_rebalance_delay_ms: Option<u64>,
    pub transfer_mode: Option<String>,
    pub write_mode: Option<String>,
    pub log_format: Option<LogFormat>,
    pub auto_create_topics: Option<bool>,
    pub max_connections: Option<usize>,
    pub max_frame_bytes: Option<usize>,
    pub idle_timeout_ms: Option<u64>,
    pub handshake_timeout_ms: Option<u64>,
    pub max_request_memory_bytes: Option<usize>,
    pub max_in_flight: Option<usize>,
    pub shutdown_grace_ms: Option<u64>,
    pub retention_check_ms: Option<u64>,
    pub max_partitions: Option<u32>,
    pub max_open_files: Option<usize>,
    pub flush_check_ms: Option<u64>,
    pub topic_defaults: Option<FileTopicDefaults>,
}

/// `[topic_defaults]` of the TOML file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileTopicDefaults {
    pub partitions: Option<u32>,
    pub segment_bytes: Option<u64>,
    pub segment_ms: Option<u64>,
    pub retention_bytes: Option<i64>,
    pub retention_ms: Option<i64>,
    pub flush_messages: Option<u64>,
    pub flush_interval_ms: Option<u64>,
    pub max_message_bytes: Option<u32>,
}

impl FileConfig {
    pub fn load(path: &Path) -> anyhow::Result<FileConfig> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read config file {}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| anyhow::anyhow!("config file {}: {e}", path.display()))
    }

    pub fn parse(text: &str) -> Result<FileConfig, toml::de::Error> {
        toml::from_str(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_beat_file_beats_defaults() {
        let file = FileConfig::parse(
            r#"
            listen = "0.0.0.0:1"
            data_dir = "/from/file"
            transfer_mode = "splice"
            [topic_defaults]
            partitions = 4
            retention_ms = -1
            "#,
        )
        .unwrap();
        let cli = Cli::try_parse_from([
            "sluice-broker",
            "--listen",
            "127.0.0.1:2",
            "--transfer-mode",
            "mmap",
        ])
        .unwrap();
        let config = BrokerConfig::merge(cli, file).unwrap();
        assert_eq!(config.listen, "127.0.0.1:2");
        assert_eq!(config.data_dir, PathBuf::from("/from/file"));
        assert_eq!(config.transfer_mode, TransferMode::Mmap);
        assert_eq!(config.topic_defaults.partitions, 4);
        assert_eq!(config.topic_defaults.retention_ms, -1);
        assert_eq!(config.max_connections, 1024);
    }

    #[test]
    fn no_config_gives_documented_defaults() {
        let cli = Cli::try_parse_from(["sluice-broker"]).unwrap();
        let config = BrokerConfig::merge(cli, FileConfig::default()).unwrap();
        assert_eq!(config.listen, "127.0.0.1:9393");
        assert_eq!(config.data_dir, PathBuf::from("./sluice-data"));
        assert_eq!(config.transfer_mode, TransferMode::Sendfile);
        assert_eq!(config.write_mode, WriteMode::Mmap);
        assert!(!config.auto_create_topics);
        assert_eq!(config.kafka_listen, None);
        assert_eq!(config.group_initial_rebalance_delay_ms, 3000);
    }

    #[test]
    fn write_mode_from_file_and_flag() {
        let file = FileConfig::parse("write_mode = \"write\"").unwrap();
        let cli = Cli::try_parse_from(["sluice-broker"]).unwrap();
        assert_eq!(
            BrokerConfig::merge(cli, file).unwrap().write_mode,
            WriteMode::Write
        );
        let cli = Cli::try_parse_from(["sluice-broker", "--write-mode", "mmap"]).unwrap();
        let file = FileConfig::parse("write_mode = \"write\"").unwrap();
        assert_eq!(
            BrokerConfig::merge(cli, file).unwrap().write_mode,
            WriteMode::Mmap
        );
        let cli = Cli::try_parse_from(["sluice-broker", "--write-mode", "fast"]).unwrap();
        assert!(BrokerConfig::merge(cli, FileConfig::default()).is_err());
    }

    #[test]
    fn segments_are_recycled_only_when_fetches_copy() {
        for (mode, recycle) in [
            ("sendfile", false),
            ("splice", false),
            ("mmap", true),
            ("read", true),
        ] {
            let cli = Cli::try_parse_from(["sluice-broker", "--transfer-mode", mode]).unwrap();
            let config = BrokerConfig::merge(cli, FileConfig::default()).unwrap();
            assert_eq!(config.recycle_segments(), recycle, "{mode}");
        }
        let cli = Cli::try_parse_from(["sluice-broker"]).unwrap();
        let config = BrokerConfig::merge(cli, FileConfig::default()).unwrap();
        assert!(
            !config.recycle_segments(),
            "the default (sendfile) must not recycle"
        );
    }

    #[test]
    fn kafka_listener_from_flag_or_file() {
        let file = FileConfig::parse(
            "kafka_listen = \"127.0.0.1:9092\"\ngroup_initial_rebalance_delay_ms = 10",
        )
        .unwrap();
        let cli = Cli::try_parse_from(["sluice-broker"]).unwrap();
        let config = BrokerConfig::merge(cli, file).unwrap();
        assert_eq!(config.kafka_listen.as_deref(), Some("127.0.0.1:9092"));
        assert_eq!(config.group_initial_rebalance_delay_ms, 10);
        let cli = Cli::try_parse_from(["sluice-broker", "--kafka-listen", "127.0.0.1:0"]).unwrap();
        let config = BrokerConfig::merge(cli, FileConfig::default()).unwrap();
        assert_eq!(config.kafka_listen.as_deref(), Some("127.0.0.1:0"));
        let cli = Cli::try_parse_from(["sluice-broker", "--kafka-advertise", "nope"]).unwrap();
        assert!(BrokerConfig::merge(cli, FileConfig::default()).is_err());
        assert_eq!(
            split_host_port("[::1]:9092"),
            Some(("::1".to_owned(), 9092))
        );
        assert_eq!(
            split_host_port("kafka.example:19092"),
            Some(("kafka.example".to_owned(), 19092))
        );
        assert_eq!(split_host_port(":1"), None);
    }

    #[test]
    fn connection_guards_from_every_layer() {
        let cli = Cli::try_parse_from(["sluice-broker"]).unwrap();
        let config = BrokerConfig::merge(cli, FileConfig::default()).unwrap();
        assert_eq!(config.handshake_timeout_ms, 10_000);
        assert_eq!(config.max_request_memory_bytes, 256 << 20);
        assert_eq!(
            config.server_config().handshake_timeout,
            Duration::from_secs(10)
        );

        let file =
            FileConfig::parse("handshake_timeout_ms = 500\nmax_request_memory_bytes = 134217728")
                .unwrap();
        let cli = Cli::try_parse_from(["sluice-broker", "--handshake-timeout-ms", "2500"]).unwrap();
        let config = BrokerConfig::merge(cli, file).unwrap();
        assert_eq!(config.handshake_timeout_ms, 2500);
        assert_eq!(config.max_request_memory_bytes, 128 << 20);

        // Smaller than one allowed frame: some frames could never be read.
        let cli = Cli::try_parse_from(["sluice-broker", "--max-request-memory-bytes", "1048576"])
            .unwrap();
        assert!(BrokerConfig::merge(cli, FileConfig::default()).is_err());
        let cli = Cli::try_parse_from([
            "sluice-broker",
            "--max-request-memory-bytes",
            "1048576",
            "--max-frame-bytes",
            "1048576",
        ])
        .unwrap();
        assert!(BrokerConfig::merge(cli, FileConfig::default()).is_ok());
    }

    #[test]
    fn max_open_files_from_every_layer() {
        let cli = Cli::try_parse_from(["sluice-broker"]).unwrap();
        let config = BrokerConfig::merge(cli, FileConfig::default()).unwrap();
        assert_eq!(config.max_open_files, 4096);
        let file = FileConfig::parse("max_open_files = 100").unwrap();
        let cli = Cli::try_parse_from(["sluice-broker"]).unwrap();
        assert_eq!(BrokerConfig::merge(cli, file).unwrap().max_open_files, 100);
        let file = FileConfig::parse("max_open_files = 100").unwrap();
        let cli = Cli::try_parse_from(["sluice-broker", "--max-open-files", "7"]).unwrap();
        assert_eq!(BrokerConfig::merge(cli, file).unwrap().max_open_files, 7);
        let cli = Cli::try_parse_from(["sluice-broker", "--max-open-files", "0"]).unwrap();
        assert!(BrokerConfig::merge(cli, FileConfig::default()).is_err());
    }

    #[test]
    fn bad_values_are_rejected() {
        assert!(FileConfig::parse("no_such_key = 1").is_err());
        let cli =
            Cli::try_parse_from(["sluice-broker", "--transfer-mode", "carrier-pigeon"]).unwrap();
        assert!(BrokerConfig::merge(cli, FileConfig::default()).is_err());
        let cli = Cli::try_parse_from(["sluice-broker", "--auto-create-topics"]).unwrap();
        assert_eq!(cli.auto_create_topics, Some(true));
    }
}
