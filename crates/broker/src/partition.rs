//! One partition: its log, the signal long polls wait on, the flusher that
//! acks=all produces wait on, and the state of its idempotent producers.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

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
    /// What the partition's flusher last achieved. Durable produces wait on it
    /// asynchronously, so a thousand waiting producers hold no thread; only
    /// the flusher uses one (for the sync itself).
    durable: watch::Sender<Durable>,
    /// A flusher task is running; a waiter that finds none starts one.
    flushing: AtomicBool,
    /// Held across check, append and record of an idempotent batch, so the
    /// sequence check and the write are one step for concurrent producers.
    producers: Mutex<ProducerStates>,
}

impl Partition {
    /// Wraps an opened log; rebuilds the producer state from its last
    /// segments (blocking: reads batch headers).
    pub fn new(topic: String, index: u32, log: PartitionLog) -> Partition {
        let producers = ProducerStates::recover(&log);
        Partition::with_producers(topic, index, log, producers)
    }

    /// Wraps an internal log that producers never write to (committed
    /// offsets): no producer state to rebuild.
    pub fn internal(name: String, log: PartitionLog) -> Partition {
        Partition::with_producers(name, 0, log, ProducerStates::default())
    }

    fn with_producers(
        topic: String,
        index: u32,
        log: PartitionLog,
        producers: ProducerStates,
    ) -> Partition {
        let (appended, _) = watch::channel(log.log_end_offset());
        let (durable, _) = watch::channel(Durable {
            flushed_offset: log.flushed_offset(),
            failures: 0,
        });
        let producers = Mutex::new(producers);
        Partition {
            topic,
            index,
            log,
            appended,
            durable,
            flushing: AtomicBool::new(false),
            producers,
        }
    }

    /// A receiver of the flusher's progress. Subscribe *before* calling
    /// [`Partition::request_flush`], after the append to be made durable.
    pub fn subscribe_durable(&self) -> watch::Receiver<Durable> {
        self.durable.subscribe()
    }

    /// Makes sure a flusher runs: it syncs the log (one group-committed
    /// round covers every append made before it started) and keeps going
    /// while appends are unflushed and someone is waiting.
    pub fn request_flush(self: &Arc<Self>) {
        if self.flushing.swap(true, Ordering::AcqRel) {
            return;
        }
        let partition = self.clone();
        tokio::spawn(async move {
            loop {
                let log_owner = partition.clone();
                let round = tokio::task::spawn_blocking(move || log_owner.log.flush()).await;
                let failed = !matches!(round, Ok(Ok(_)));
                if let Ok(Err(error)) = &round {
                    tracing::warn!(topic = %partition.topic, partition = partition.index, error = %crate::errors::error_chain(error), "flush failed");
                }
                partition.durable.send_modify(|d| {
                    d.flushed_offset = partition.log.flushed_offset();
                    d.failures += u64::from(failed);
                });
                // Released before looking for more demand: a waiter that
                // subscribed after this look starts a new flusher itself.
                partition.flushing.store(false, Ordering::Release);
                let more = !failed
                    && partition.durable.receiver_count() > 0
                    && partition.log.flushed_offset() < partition.log.log_end_offset();
                if !more || partition.flushing.swap(true, Ordering::AcqRel) {
                    break;
                }
            }
        });
    }

    /// The idempotent producer state, locked.
    pub fn producers(&self) -> MutexGuard<'_, ProducerStates> {
        self.producers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Tells waiting fetches that the log grew.
    pub fn notify_append(&self) {
        self.appended.send_replace(self.log.log_end_offset());
    }

    /// Everything an append is followed by: wake waiting fetches, and start
    /// the flusher when the message-count flush policy asks for a sync (the
    /// append itself never syncs; see `AppendInfo::flush_due`).
    pub fn after_append(self: &Arc<Self>, info: &sluice_storage::AppendInfo) {
        self.notify_append();
        if info.flush_due {
            self.request_flush();
        }
    }

    /// A receiver that sees every append made after this call.
    pub fn subscribe(&self) -> watch::Receiver<i64> {
        self.appended.subscribe()
    }
}

/// Progress of a partition's flusher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Durable {
    /// Every offset below this is on disk.
    pub flushed_offset: i64,
    /// Flush rounds that failed (the log is poisoned after the first).
    pub failures: u64,
}
