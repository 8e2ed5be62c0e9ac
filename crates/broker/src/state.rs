//! What every request handler shares.

use tokio::sync::watch;

use crate::config::BrokerConfig;
use crate::group::Coordinator;
use crate::offsets::OffsetStore;
use crate::producers::ProducerIds;
use crate::topics::Topics;

#[derive(Debug)]
pub struct BrokerState {
    pub config: BrokerConfig,
    pub topics: Topics,
    pub offsets: OffsetStore,
    /// Consumer groups of both listeners (membership in memory; their
    /// commits go to `offsets`).
    pub groups: Coordinator,
    /// Idempotent producer ids (Kafka InitProducerId).
    pub producer_ids: ProducerIds,
    /// Becomes `true` when shutdown starts: long polls answer at once.
    pub stopping: watch::Receiver<bool>,
}
