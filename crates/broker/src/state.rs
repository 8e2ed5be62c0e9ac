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
    /// Consumer groups of the Kafka listener (membership in memory; their
    /// commits go to `offsets`).
    pub groups: Coordinator,
    /// Idempotent producer ids (Kafka InitProducerId).
    pub producer_ids: ProducerIds,
    /// Becomes `true` when shutdown starts: long polls answer at once.
    pub stopping: watch::Receiver<bool>,
}

impl BrokerState {
    /// Deletes a topic, its data and every group's committed offsets for it (blocking).
    pub fn delete_topic(&self, name: &str) -> Result<(), crate::errors::ApiError> {
        self.topics
            .delete(name, || self.offsets.forget_topic(name).map(|_| ()))
    }
}
