//! One partition: its log, the signal long polls wait on, and the state of
//! its idempotent producers.

use std::sync::{Mutex, MutexGuard};

use sluice_storage::PartitionLog;
use tokio::sync::watch;

use crate::producers::ProducerStates;

/// A partition log plus a `watch` of its log end offset. Every append
/// publishes the new end, which wakes the fetches waiting for data without
/// any polling.
#[derive(Debug)]
pub struct Partition {
    pub topic: String,
    pub index: u32,
    pub log: PartitionLog,
    /// The log end offset after the latest append. Receivers are created by
    /// waiting fetches and dropped when they answer.
    appended: watch::Sender<i64>,
    /// Held across check, append and record of an idempotent batch, so the
    /// sequence check and the write are one step for concurrent producers.
    producers: Mutex<ProducerStates>,
}

impl Partition {
    /// Wraps an opened log; rebuilds the producer state from its last
    /// segments (blocking: reads batch headers).
    pub fn new(topic: String, index: u32, log: PartitionLog) -> Partition {
        let (appended, _) = watch::channel(log.log_end_offset());
        let producers = Mutex::new(ProducerStates::recover(&log));
        Partition {
            topic,
            index,
            log,
            appended,
            producers,
        }
    }

    /// The idempotent producer state, locked.
    pub fn producers(&self) -> MutexGuard<'_, ProducerStates> {
        self.producers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Tells waiting fetches that the log grew.
    pub fn notify_append(&self) {
        self.appended.send_replace(self.log.log_end_offset());
    }

    /// A receiver that sees every append made after this call.
    pub fn subscribe(&self) -> watch::Receiver<i64> {
        self.appended.subscribe()
    }
}
