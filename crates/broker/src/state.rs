//! What every request handler shares.

use tokio::sync::watch;

use crate::config::BrokerConfig;
use crate::offsets::OffsetStore;
use crate::topics::Topics;

#[derive(Debug)]
pub struct BrokerState {
    pub config: BrokerConfig,
    pub topics: Topics,
    pub offsets: OffsetStore,
    /// Becomes `true` when shutdown starts: long polls answer at once.
    pub stopping: watch::Receiver<bool>,
}
