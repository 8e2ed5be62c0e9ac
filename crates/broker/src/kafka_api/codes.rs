//! Sluice's wire error codes as the Kafka codes clients act on. Internal
//! errors reach this through [`crate::errors`] (storage error → native
//! code), so there is still one mapping from each internal error.

use sluice_kafka::ErrorCode as K;
use sluice_protocol::ErrorCode;

use crate::errors::ApiError;

/// The Kafka error code for a native one.
pub fn kafka_code(code: ErrorCode) -> i16 {
    match code {
        ErrorCode::None => K::NONE,
        ErrorCode::CorruptMessage => K::CORRUPT_MESSAGE,
        ErrorCode::UnknownTopicOrPartition => K::UNKNOWN_TOPIC_OR_PARTITION,
        ErrorCode::OffsetOutOfRange => K::OFFSET_OUT_OF_RANGE,
        ErrorCode::MessageTooLarge => K::MESSAGE_TOO_LARGE,
        ErrorCode::InvalidRequest | ErrorCode::InvalidOffset => K::INVALID_REQUEST,
        ErrorCode::UnsupportedVersion | ErrorCode::UnknownApi => K::UNSUPPORTED_VERSION,
        ErrorCode::TopicAlreadyExists => K::TOPIC_ALREADY_EXISTS,
        ErrorCode::InvalidTopic => K::INVALID_TOPIC_EXCEPTION,
        ErrorCode::InvalidConfig => K::INVALID_CONFIG,
        ErrorCode::InvalidPartitions => K::INVALID_PARTITIONS,
        // Kafka reports every local disk failure (full, failed sync) as a
        // storage error of the log directory.
        ErrorCode::StorageError | ErrorCode::LogPoisoned | ErrorCode::DiskFull => {
            K::KAFKA_STORAGE_ERROR
        }
        ErrorCode::RequestTimedOut => K::REQUEST_TIMED_OUT,
        ErrorCode::InvalidRecord => K::INVALID_RECORD,
        // The log is closing: clients refresh metadata and retry, which is
        // what they should do while the broker restarts.
        ErrorCode::BrokerShuttingDown => K::NOT_LEADER_OR_FOLLOWER,
        ErrorCode::InvalidGroup => K::INVALID_GROUP_ID,
        ErrorCode::GroupIdNotFound => K::GROUP_ID_NOT_FOUND,
        ErrorCode::UnknownMemberId => K::UNKNOWN_MEMBER_ID,
        ErrorCode::IllegalGeneration => K::ILLEGAL_GENERATION,
        ErrorCode::RebalanceInProgress => K::REBALANCE_IN_PROGRESS,
        ErrorCode::MemberIdRequired => K::MEMBER_ID_REQUIRED,
        ErrorCode::InconsistentGroupProtocol => K::INCONSISTENT_GROUP_PROTOCOL,
        ErrorCode::InvalidSessionTimeout => K::INVALID_SESSION_TIMEOUT,
        ErrorCode::NotCoordinator => K::NOT_COORDINATOR,
        ErrorCode::InvalidRequiredAcks => K::INVALID_REQUIRED_ACKS,
        ErrorCode::OutOfOrderSequence => K::OUT_OF_ORDER_SEQUENCE_NUMBER,
        ErrorCode::InvalidProducerEpoch => K::INVALID_PRODUCER_EPOCH,
        ErrorCode::UnknownProducerId => K::UNKNOWN_PRODUCER_ID,
        ErrorCode::Unknown => K::UNKNOWN_SERVER_ERROR,
    }
}

/// The Kafka error code of an [`ApiError`].
pub fn api_error_code(error: &ApiError) -> i16 {
    kafka_code(error.code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn produce_validation_errors_keep_their_kafka_names() {
        assert_eq!(kafka_code(ErrorCode::CorruptMessage), 2);
        assert_eq!(kafka_code(ErrorCode::InvalidRecord), 87);
        assert_eq!(kafka_code(ErrorCode::MessageTooLarge), 10);
        assert_eq!(kafka_code(ErrorCode::UnknownTopicOrPartition), 3);
        assert_eq!(kafka_code(ErrorCode::OffsetOutOfRange), 1);
    }
}
