//! One partition: its log and the signal long polls wait on.

use sluice_storage::PartitionLog;
use tokio::sync::watch;

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
}

impl Partition {
    pub fn new(topic: String, index: u32, log: PartitionLog) -> Partition {
        let (appended, _) = watch::channel(log.log_end_offset());
        Partition {
            topic,
            index,
            log,
            appended,
        }
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
