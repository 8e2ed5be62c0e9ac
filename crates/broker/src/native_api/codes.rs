//! The native wire code of each kind of [`ServiceError`].

use sluice_protocol::ErrorCode;

use crate::service::{ErrorKind, ServiceError};

pub(crate) fn native_code(error: &ServiceError) -> ErrorCode {
    kind_code(error.kind())
}

pub(crate) fn kind_code(kind: ErrorKind) -> ErrorCode {
    use ErrorKind as K;
    match kind {
        // The native protocol has no "not yet": clients retry an unknown topic.
        K::UnknownTopicOrPartition | K::TopicNotReady => ErrorCode::UnknownTopicOrPartition,
        K::TopicAlreadyExists => ErrorCode::TopicAlreadyExists,
        K::InvalidTopic => ErrorCode::InvalidTopic,
        K::InvalidPartitions => ErrorCode::InvalidPartitions,
        K::InvalidConfig => ErrorCode::InvalidConfig,
        K::InvalidRequest => ErrorCode::InvalidRequest,
        K::InvalidRequiredAcks => ErrorCode::InvalidRequiredAcks,
        K::InvalidRecord => ErrorCode::InvalidRecord,
        K::CorruptMessage => ErrorCode::CorruptMessage,
        // The native protocol has one code for anything too large.
        K::MessageTooLarge | K::OffsetMetadataTooLarge => ErrorCode::MessageTooLarge,
        K::OffsetOutOfRange => ErrorCode::OffsetOutOfRange,
        K::InvalidOffset => ErrorCode::InvalidOffset,
        K::InvalidProducerEpoch => ErrorCode::InvalidProducerEpoch,
        K::OutOfOrderSequence => ErrorCode::OutOfOrderSequence,
        K::InvalidGroup => ErrorCode::InvalidGroup,
        K::UnknownMemberId => ErrorCode::UnknownMemberId,
        K::IllegalGeneration => ErrorCode::IllegalGeneration,
        K::RebalanceInProgress => ErrorCode::RebalanceInProgress,
        K::MemberIdRequired => ErrorCode::MemberIdRequired,
        K::InconsistentGroupProtocol => ErrorCode::InconsistentGroupProtocol,
        K::InvalidSessionTimeout => ErrorCode::InvalidSessionTimeout,
        // The native protocol has one code for "no coordinator here now":
        // the client backs off and asks again.
        K::NotCoordinator | K::CoordinatorNotAvailable => ErrorCode::NotCoordinator,
        K::RequestTimedOut => ErrorCode::RequestTimedOut,
        K::DiskFull => ErrorCode::DiskFull,
        K::LogPoisoned => ErrorCode::LogPoisoned,
        K::StorageError => ErrorCode::StorageError,
        K::ShuttingDown => ErrorCode::BrokerShuttingDown,
        K::Unknown => ErrorCode::Unknown,
    }
}
