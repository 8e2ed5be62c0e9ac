//! [`ConsumerConfig`] and the start-position choices.

use std::time::Duration;

use super::assignor::AssignmentStrategy;

/// Where a partition without a usable position starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OffsetReset {
    /// The log start offset.
    Earliest,
    /// The log end offset: only records produced from now on.
    #[default]
    Latest,
}

impl From<OffsetReset> for SeekTo {
    fn from(r: OffsetReset) -> Self {
        match r {
            OffsetReset::Earliest => SeekTo::Earliest,
            OffsetReset::Latest => SeekTo::Latest,
        }
    }
}

/// A position to move a partition to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeekTo {
    Earliest,
    Latest,
    /// This offset exactly. Out of range, the reset policy applies.
    Offset(i64),
    /// The first record with a timestamp `>=` this (ms since the epoch);
    /// the log end if there is none.
    Timestamp(i64),
}

/// Settings of a [`Consumer`](super::Consumer).
#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    /// Commit positions under this name and start from them. With
    /// [`Consumer::subscribe`](super::Consumer::subscribe), the consumer
    /// is a member of this group: the group's members share the
    /// subscribed partitions.
    pub group_id: Option<String>,
    /// Start position without a committed offset, and after
    /// `OFFSET_OUT_OF_RANGE`. Default latest, as Kafka.
    pub auto_offset_reset: OffsetReset,
    /// Commit positions this often during [`Consumer::poll`](super::Consumer::poll) (only with a
    /// group). Default 5 s; `None` disables it.
    pub auto_commit_interval: Option<Duration>,
    /// Longest a fetch waits for `fetch_min_bytes` (never longer than the
    /// poll timeout). Default 500 ms.
    pub fetch_max_wait: Duration,
    /// The broker answers once this many bytes are available. Default 1.
    pub fetch_min_bytes: u32,
    /// Upper bound on one fetch's record bytes. Default 50 MiB.
    pub fetch_max_bytes: u32,
    /// Upper bound on one partition's record bytes per fetch. Default 1 MiB.
    pub partition_max_bytes: u32,
    /// Largest size one compressed batch may decompress to; a larger one
    /// (or a decompression bomb) fails the poll with
    /// [`ClientError::Decompress`](crate::ClientError::Decompress).
    /// Default 64 MiB.
    pub max_decompressed_batch_bytes: usize,
    /// Group membership: the broker drops a member it hears nothing from
    /// for this long, and the group rebalances. Heartbeats go every third
    /// of it, from a background task. The broker accepts 6 s to 30 min.
    /// Default 10 s.
    pub session_timeout: Duration,
    /// Group membership: how long a rebalance waits for the members to
    /// join again. Default 60 s.
    pub rebalance_timeout: Duration,
    /// Group membership: the assignment strategies offered, preferred
    /// first; the group uses one that every member offers. Default
    /// `[Range]`, Kafka's default.
    pub assignment_strategies: Vec<AssignmentStrategy>,
}

impl Default for ConsumerConfig {
    fn default() -> Self {
        ConsumerConfig {
            group_id: None,
            auto_offset_reset: OffsetReset::Latest,
            auto_commit_interval: Some(Duration::from_secs(5)),
            fetch_max_wait: Duration::from_millis(500),
            fetch_min_bytes: 1,
            fetch_max_bytes: 50 * 1024 * 1024,
            partition_max_bytes: 1024 * 1024,
            max_decompressed_batch_bytes: sluice_record::DEFAULT_MAX_DECOMPRESSED_BYTES,
            session_timeout: Duration::from_secs(10),
            rebalance_timeout: Duration::from_secs(60),
            assignment_strategies: vec![AssignmentStrategy::Range],
        }
    }
}
