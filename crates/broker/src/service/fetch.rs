//! Fetch: the partitions' file slices within one byte budget, and the long
//! poll until `min_bytes` are there or `max_wait` is over.
//!
//! The broker never looks inside the record bytes: `PartitionLog::read`
//! returns positions of whole stored batches, which each protocol sends
//! after its response head by the network layer's transfer (sendfile by
//! default). Data below the high watermark never changes, so the lengths
//! stay true while the bytes are sent.
//!
//! Long poll: the fetch subscribes to each partition's append signal
//! *before* it first looks at the logs, so an append that lands between the
//! look and the wait still wakes it (see `long_poll`).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::fetch_budget::FetchBudget;
pub(crate) use super::fetch_budget::PartitionRead;
use super::long_poll::long_poll;
use super::{Deferred, ServiceError};
use crate::partition::Partition;
use crate::state::BrokerState;

/// Response limit when the client leaves it unset (Kafka's default
/// `fetch.max.bytes`).
const DEFAULT_MAX_BYTES: u64 = 50 << 20;
/// Partition limit when the client leaves it unset.
const DEFAULT_PARTITION_MAX_BYTES: u64 = 1 << 20;
/// Room left in a frame for the encoded parts of the response.
const BODY_RESERVE: usize = 1 << 20;

/// One partition to read.
#[derive(Debug)]
pub(crate) struct FetchTarget {
    partition: Result<Arc<Partition>, ServiceError>,
    offset: i64,
    max_bytes: u64,
}

impl FetchTarget {
    /// `max_bytes` of `None` (a client's 0 or less) takes the default.
    pub(crate) fn new(
        state: &BrokerState,
        topic: &str,
        partition: i64,
        offset: i64,
        max_bytes: Option<u64>,
    ) -> FetchTarget {
        FetchTarget {
            partition: super::topics::partition(state, topic, partition),
            offset,
            max_bytes: max_bytes
                .filter(|n| *n > 0)
                .unwrap_or(DEFAULT_PARTITION_MAX_BYTES),
        }
    }
}

/// A fetch's limits, as the client sent them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FetchLimits {
    /// `None` (or 0) for the default; capped by the frame size.
    pub max_bytes: Option<u64>,
    pub min_bytes: u64,
    pub max_wait: Duration,
}

/// Reads every target now (one read per target, in target order), or
/// returns the long poll that will once enough bytes came or the wait ended.
pub(crate) fn fetch(
    state: &BrokerState,
    targets: Vec<FetchTarget>,
    limits: FetchLimits,
) -> Deferred<Vec<PartitionRead>> {
    let room = state
        .config
        .max_frame_bytes
        .saturating_sub(BODY_RESERVE)
        .max(1) as u64;
    let max_bytes = limits
        .max_bytes
        .filter(|n| *n > 0)
        .unwrap_or(DEFAULT_MAX_BYTES)
        .min(room);
    // Subscribed before the first look: see the module comment.
    let signals: Vec<watch::Receiver<i64>> = targets
        .iter()
        .filter_map(|t| t.partition.as_ref().ok().map(|p| p.subscribe()))
        .collect();
    let (first, bytes) = read_all(&targets, max_bytes);
    let failed = first.iter().any(|read| read.error.is_some());
    if bytes >= limits.min_bytes || limits.max_wait.is_zero() || failed || signals.is_empty() {
        return Deferred::Ready(first);
    }
    let stopping = state.stopping.clone();
    let min_bytes = limits.min_bytes;
    Deferred::Later(Box::pin(async move {
        long_poll(signals, limits.max_wait, stopping, || {
            let (reads, bytes) = read_all(&targets, max_bytes);
            (reads, bytes >= min_bytes)
        })
        .await
    }))
}

/// Every target's read within one budget, and the bytes they take.
fn read_all(targets: &[FetchTarget], max_bytes: u64) -> (Vec<PartitionRead>, u64) {
    let mut budget = FetchBudget::new(max_bytes);
    let reads = targets
        .iter()
        .map(|target| match &target.partition {
            Ok(partition) => budget.read(partition, target.offset, target.max_bytes),
            Err(error) => PartitionRead::failed(error.clone()),
        })
        .collect();
    (reads, budget.bytes())
}
