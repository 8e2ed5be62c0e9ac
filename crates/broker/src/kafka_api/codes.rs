//! The Kafka error code of each kind of [`ServiceError`]: the codes Kafka
//! clients act on (retry, refresh metadata, rejoin, give up).

use sluice_kafka::ErrorCode as K;

use crate::service::{ErrorKind, ServiceError};

pub(crate) fn kafka_code(error: &ServiceError) -> i16 {
    kind_code(error.kind())
}

pub(crate) fn kind_code(kind: ErrorKind) -> i16 {
    use ErrorKind as E;
    match kind {
        E::UnknownTopicOrPartition => K::UNKNOWN_TOPIC_OR_PARTITION,
        E::TopicAlreadyExists => K::TOPIC_ALREADY_EXISTS,
        // Kafka's "the topic is on its way": clients wait and ask again.
        E::TopicNotReady => K::LEADER_NOT_AVAILABLE,
        E::InvalidTopic => K::INVALID_TOPIC_EXCEPTION,
        E::InvalidPartitions => K::INVALID_PARTITIONS,
        E::InvalidConfig => K::INVALID_CONFIG,
        E::InvalidRequest | E::InvalidOffset => K::INVALID_REQUEST,
        E::InvalidRequiredAcks => K::INVALID_REQUIRED_ACKS,
        E::InvalidRecord => K::INVALID_RECORD,
        E::CorruptMessage => K::CORRUPT_MESSAGE,
        E::MessageTooLarge => K::MESSAGE_TOO_LARGE,
        E::OffsetOutOfRange => K::OFFSET_OUT_OF_RANGE,
        E::OffsetMetadataTooLarge => K::OFFSET_METADATA_TOO_LARGE,
        E::InvalidProducerEpoch => K::INVALID_PRODUCER_EPOCH,
        E::OutOfOrderSequence => K::OUT_OF_ORDER_SEQUENCE_NUMBER,
        E::InvalidGroup => K::INVALID_GROUP_ID,
        E::UnknownMemberId => K::UNKNOWN_MEMBER_ID,
        E::IllegalGeneration => K::ILLEGAL_GENERATION,
        E::RebalanceInProgress => K::REBALANCE_IN_PROGRESS,
        E::MemberIdRequired => K::MEMBER_ID_REQUIRED,
        E::InconsistentGroupProtocol => K::INCONSISTENT_GROUP_PROTOCOL,
        E::InvalidSessionTimeout => K::INVALID_SESSION_TIMEOUT,
        E::NotCoordinator => K::NOT_COORDINATOR,
        E::CoordinatorNotAvailable => K::COORDINATOR_NOT_AVAILABLE,
        E::RequestTimedOut => K::REQUEST_TIMED_OUT,
        // Kafka reports every local disk failure (full, failed sync) as a
        // storage error of the log directory.
        E::DiskFull | E::LogPoisoned | E::StorageError => K::KAFKA_STORAGE_ERROR,
        // The log is closing: clients refresh metadata and retry, which is
        // what they should do while the broker restarts.
        E::ShuttingDown => K::NOT_LEADER_OR_FOLLOWER,
        E::Unknown => K::UNKNOWN_SERVER_ERROR,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn produce_validation_errors_keep_their_kafka_names() {
        assert_eq!(kind_code(ErrorKind::CorruptMessage), 2);
        assert_eq!(kind_code(ErrorKind::InvalidRecord), 87);
        assert_eq!(kind_code(ErrorKind::MessageTooLarge), 10);
        assert_eq!(kind_code(ErrorKind::UnknownTopicOrPartition), 3);
        assert_eq!(kind_code(ErrorKind::OffsetOutOfRange), 1);
        assert_eq!(kind_code(ErrorKind::InvalidRequiredAcks), 21);
    }
}
