//! The one error of the broker core. Every operation of [`crate::service`]
//! fails with a [`ServiceError`]; each protocol turns its [`ErrorKind`] into
//! its own wire code at its edge (`native_api::codes`, `kafka_api::codes`),
//! and its `Display` (with sources, see [`crate::errors::error_chain`]) into
//! the message.

use std::sync::Arc;

use sluice_record::RecordError;
use sluice_storage::StorageError;

use crate::errors::BrokerError;
use crate::group::state::GroupError;

/// Why one request, or one partition of it, failed.
///
/// `Clone`, because one failure (a failed flush, a refused group check) is
/// the answer of every partition it covers; storage and broker errors are
/// shared through an `Arc` so they keep their sources.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    #[error("unknown topic {topic}")]
    UnknownTopic { topic: String },
    #[error("unknown topic or partition {topic}-{partition}")]
    UnknownPartition { topic: String, partition: i64 },
    #[error("partition {topic}-{partition} is offline: {reason}")]
    PartitionOffline {
        topic: String,
        partition: u32,
        reason: String,
    },
    #[error("topic {topic} already exists (or is being created or deleted)")]
    TopicExists { topic: String },
    /// Being created or deleted by another request: not there yet, or no
    /// longer.
    #[error("topic {topic} is being created or deleted")]
    TopicNotReady { topic: String },
    #[error("invalid topic name: {0}")]
    InvalidTopic(String),
    #[error("{0}")]
    InvalidPartitions(String),
    #[error("invalid config: {0}")]
    InvalidConfig(String),
    #[error("{0}")]
    InvalidRequest(String),
    #[error("acks must be -1, 0 or 1, got {0}")]
    InvalidAcks(i32),
    /// A well-formed batch the log does not take (wrong magic, several
    /// batches where the protocol allows one).
    #[error("{0}")]
    InvalidRecord(String),
    /// Bytes that are not a whole record batch (possibly damaged in transit).
    #[error("{0}")]
    CorruptMessage(String),
    #[error("producer {producer_id} epoch {epoch} sequence {sequence} rejected: {rejection}")]
    Producer {
        producer_id: i64,
        epoch: i16,
        sequence: i32,
        rejection: ProducerRejection,
    },
    #[error("offset {0} is negative")]
    InvalidOffset(i64),
    #[error("offset metadata is {len} bytes, more than {max}")]
    MetadataTooLarge { len: usize, max: usize },
    #[error("group {group:?}")]
    Group {
        group: String,
        #[source]
        source: GroupError,
    },
    #[error("the batch was appended but not flushed within the request's timeout")]
    FlushTimedOut,
    #[error("flushing the log failed; the batch may not be on disk")]
    FlushFailed,
    #[error(transparent)]
    Storage(Arc<StorageError>),
    #[error(transparent)]
    Broker(Arc<BrokerError>),
    /// A bug or a vanished task, not the client's fault.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Why an idempotent producer's batch was refused (Kafka's rules, see
/// `crate::producers`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProducerRejection {
    #[error("an older epoch than the partition has seen")]
    InvalidEpoch,
    #[error("the sequence does not follow the producer's last batch")]
    OutOfOrderSequence,
}

/// What kind of failure a [`ServiceError`] is: what a client may do about
/// it. Each protocol maps these, and only these, to its codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    UnknownTopicOrPartition,
    TopicAlreadyExists,
    /// Retry shortly: the topic is changing.
    TopicNotReady,
    InvalidTopic,
    InvalidPartitions,
    InvalidConfig,
    InvalidRequest,
    InvalidRequiredAcks,
    InvalidRecord,
    CorruptMessage,
    MessageTooLarge,
    OffsetOutOfRange,
    InvalidOffset,
    OffsetMetadataTooLarge,
    InvalidProducerEpoch,
    OutOfOrderSequence,
    InvalidGroup,
    UnknownMemberId,
    IllegalGeneration,
    RebalanceInProgress,
    MemberIdRequired,
    InconsistentGroupProtocol,
    InvalidSessionTimeout,
    NotCoordinator,
    CoordinatorNotAvailable,
    RequestTimedOut,
    DiskFull,
    /// A sync failed: the log refuses writes until a restart recovers it.
    LogPoisoned,
    StorageError,
    /// The log closed under the request (shutdown, topic deletion).
    ShuttingDown,
    Unknown,
}

impl ServiceError {
    pub fn kind(&self) -> ErrorKind {
        use ErrorKind as K;
        match self {
            ServiceError::UnknownTopic { .. } | ServiceError::UnknownPartition { .. } => {
                K::UnknownTopicOrPartition
            }
            ServiceError::PartitionOffline { .. } => K::StorageError,
            ServiceError::TopicExists { .. } => K::TopicAlreadyExists,
            ServiceError::TopicNotReady { .. } => K::TopicNotReady,
            ServiceError::InvalidTopic(_) => K::InvalidTopic,
            ServiceError::InvalidPartitions(_) => K::InvalidPartitions,
            ServiceError::InvalidConfig(_) => K::InvalidConfig,
            ServiceError::InvalidRequest(_) => K::InvalidRequest,
            ServiceError::InvalidAcks(_) => K::InvalidRequiredAcks,
            ServiceError::InvalidRecord(_) => K::InvalidRecord,
            ServiceError::CorruptMessage(_) => K::CorruptMessage,
            ServiceError::Producer { rejection, .. } => match rejection {
                ProducerRejection::InvalidEpoch => K::InvalidProducerEpoch,
                ProducerRejection::OutOfOrderSequence => K::OutOfOrderSequence,
            },
            ServiceError::InvalidOffset(_) => K::InvalidOffset,
            ServiceError::MetadataTooLarge { .. } => K::OffsetMetadataTooLarge,
            ServiceError::Group { source, .. } => group_kind(source),
            ServiceError::FlushTimedOut => K::RequestTimedOut,
            ServiceError::FlushFailed => K::LogPoisoned,
            ServiceError::Storage(error) => storage_kind(error),
            ServiceError::Broker(error) => broker_kind(error),
            ServiceError::Internal(_) => K::Unknown,
        }
    }

    pub fn unknown_partition(topic: &str, partition: impl Into<i64>) -> ServiceError {
        ServiceError::UnknownPartition {
            topic: topic.to_owned(),
            partition: partition.into(),
        }
    }

    pub fn group(group: &str, source: GroupError) -> ServiceError {
        ServiceError::Group {
            group: group.to_owned(),
            source,
        }
    }

    /// The message for the wire: this error and its sources.
    pub fn message(&self) -> String {
        crate::errors::error_chain(self)
    }
}

impl From<StorageError> for ServiceError {
    fn from(error: StorageError) -> ServiceError {
        ServiceError::Storage(Arc::new(error))
    }
}

impl From<BrokerError> for ServiceError {
    fn from(error: BrokerError) -> ServiceError {
        ServiceError::Broker(Arc::new(error))
    }
}

impl From<GroupError> for ErrorKind {
    fn from(error: GroupError) -> ErrorKind {
        group_kind(&error)
    }
}

fn group_kind(error: &GroupError) -> ErrorKind {
    use ErrorKind as K;
    match error {
        GroupError::InvalidGroupId => K::InvalidGroup,
        GroupError::UnknownMemberId => K::UnknownMemberId,
        GroupError::IllegalGeneration => K::IllegalGeneration,
        GroupError::RebalanceInProgress => K::RebalanceInProgress,
        GroupError::MemberIdRequired => K::MemberIdRequired,
        GroupError::InconsistentGroupProtocol => K::InconsistentGroupProtocol,
        GroupError::InvalidSessionTimeout => K::InvalidSessionTimeout,
        GroupError::NotCoordinator => K::NotCoordinator,
        GroupError::CoordinatorNotAvailable => K::CoordinatorNotAvailable,
    }
}

fn storage_kind(error: &StorageError) -> ErrorKind {
    use ErrorKind as K;
    match error {
        StorageError::OffsetOutOfRange { .. } => K::OffsetOutOfRange,
        StorageError::InvalidBatch { source, .. } => record_kind(source),
        StorageError::EmptyBatch { .. }
        | StorageError::ControlBatch
        | StorageError::BatchSpansTooManyOffsets { .. } => K::InvalidRecord,
        StorageError::BatchTooLarge { .. } => K::MessageTooLarge,
        StorageError::DiskFull { .. } => K::DiskFull,
        StorageError::Poisoned { .. } => K::LogPoisoned,
        StorageError::Io { .. }
        | StorageError::CorruptCheckpoint { .. }
        | StorageError::Inconsistent { .. }
        | StorageError::CorruptLog { .. } => K::StorageError,
        StorageError::Closed { .. } => K::ShuttingDown,
        StorageError::InvalidConfig(_) => K::InvalidConfig,
        _ => K::Unknown,
    }
}

/// Bytes that fail the checksum or cannot be parsed are corrupt (possibly
/// in transit, so retriable); a well-formed batch with unacceptable content
/// is an invalid record.
fn record_kind(error: &RecordError) -> ErrorKind {
    match error {
        RecordError::CrcMismatch { .. }
        | RecordError::Truncated { .. }
        | RecordError::BatchLengthTooSmall { .. }
        | RecordError::InvalidVarint { .. } => ErrorKind::CorruptMessage,
        RecordError::BatchTooLarge { .. } => ErrorKind::MessageTooLarge,
        _ => ErrorKind::InvalidRecord,
    }
}

fn broker_kind(error: &BrokerError) -> ErrorKind {
    match error {
        BrokerError::Storage { source, .. } => storage_kind(source),
        BrokerError::Io { source, .. } if source.raw_os_error() == Some(nix::libc::ENOSPC) => {
            ErrorKind::DiskFull
        }
        _ => ErrorKind::StorageError,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(error: StorageError) -> ErrorKind {
        ServiceError::from(error).kind()
    }

    #[test]
    fn storage_errors_are_classified_by_what_a_client_can_do() {
        let crc = StorageError::InvalidBatch {
            index: 0,
            source: RecordError::CrcMismatch {
                stored: 1,
                computed: 2,
            },
        };
        assert_eq!(kind(crc), ErrorKind::CorruptMessage);
        let magic = StorageError::InvalidBatch {
            index: 0,
            source: RecordError::UnsupportedMagic { magic: 1 },
        };
        assert_eq!(kind(magic), ErrorKind::InvalidRecord);
        assert_eq!(
            kind(StorageError::BatchTooLarge { size: 2, max: 1 }),
            ErrorKind::MessageTooLarge
        );
        let oor = StorageError::OffsetOutOfRange {
            offset: 9,
            log_start_offset: 0,
            log_end_offset: 1,
        };
        assert_eq!(kind(oor), ErrorKind::OffsetOutOfRange);
        let full = StorageError::io(
            sluice_storage::IoOp::Write,
            "/x",
            std::io::Error::from_raw_os_error(nix::libc::ENOSPC),
        );
        assert_eq!(kind(full), ErrorKind::DiskFull);
        let io = || {
            StorageError::io(
                sluice_storage::IoOp::Write,
                "/x",
                std::io::Error::other("x"),
            )
        };
        assert_eq!(kind(io()), ErrorKind::StorageError);
        let poisoned = StorageError::Poisoned {
            dir: "/x".into(),
            source: Arc::new(io()),
        };
        assert_eq!(kind(poisoned), ErrorKind::LogPoisoned);
    }

    #[test]
    fn a_full_disk_during_topic_creation_is_disk_full() {
        let error = BrokerError::io("/x", std::io::Error::from_raw_os_error(nix::libc::ENOSPC));
        assert_eq!(ServiceError::from(error).kind(), ErrorKind::DiskFull);
    }

    #[test]
    fn messages_keep_their_sources() {
        let error = ServiceError::group("g", GroupError::IllegalGeneration);
        assert_eq!(
            error.message(),
            "group \"g\": not the group's current generation"
        );
    }
}
