//! Periodic storage work: the interval flush policy and retention.
//!
//! Both are blocking (msync, file deletion), so each round runs on the
//! blocking pool; the loop itself only keeps time.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;
use tokio::time::MissedTickBehavior;
use tracing::{info, warn};

use crate::errors::error_chain;
use crate::state::BrokerState;

pub(crate) async fn run(state: Arc<BrokerState>, mut stopping: watch::Receiver<bool>) {
    let mut flush =
        tokio::time::interval(Duration::from_millis(state.config.flush_check_ms.max(10)));
    let mut retention = tokio::time::interval(Duration::from_millis(
        state.config.retention_check_ms.max(100),
    ));
    flush.set_missed_tick_behavior(MissedTickBehavior::Delay);
    retention.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        let work: fn(&BrokerState) = tokio::select! {
            _ = flush.tick() => flush_due,
            _ = retention.tick() => apply_retention,
            _ = stopping.wait_for(|stop| *stop) => return,
        };
        let state = state.clone();
        if let Err(error) = tokio::task::spawn_blocking(move || work(&state)).await {
            warn!(%error, "background storage task failed");
        }
    }
}

fn flush_due(state: &BrokerState) {
    let now = Instant::now();
    for partition in state.topics.all_partitions() {
        if let Err(error) = partition.log.flush_if_due(now) {
            warn!(topic = %partition.topic, partition = partition.index, error = %error_chain(&error), "interval flush failed");
        }
    }
}

fn apply_retention(state: &BrokerState) {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    for partition in state.topics.all_partitions() {
        match partition.log.apply_retention(now_ms) {
            Ok(outcome) if outcome.deleted_segments > 0 => {
                info!(topic = %partition.topic, partition = partition.index, deleted_segments = outcome.deleted_segments, offset = outcome.log_start_offset, "retention applied");
            }
            Ok(_) => {}
            Err(error) => {
                warn!(topic = %partition.topic, partition = partition.index, error = %error_chain(&error), "retention failed");
            }
        }
    }
}
