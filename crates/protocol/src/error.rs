//! Wire error codes and this crate's error type.
//!
//! [`ErrorCode`] is generated from `enum ErrorCode` in `common.proto`, so the
//! numbers in response bodies and in Rust are the same by construction; this
//! module adds behaviour (retriability, display, lossy decoding). The
//! [`ProtocolError`] enum is for failures of this crate itself: framing,
//! encoding and header validation.

use std::fmt;

use crate::api::ApiKey;
pub use crate::pb::ErrorCode;

impl ErrorCode {
    /// Reads a raw `error_code` field value, mapping numbers this build does
    /// not know to [`ErrorCode::Unknown`].
    ///
    /// Prefer this to the prost-generated getter (`resp.error_code()`), which
    /// maps unknown numbers to the enum's default, `None`: a code added by a
    /// newer broker would otherwise read as success.
    pub fn from_wire(raw: i32) -> Self {
        Self::try_from(raw).unwrap_or(Self::Unknown)
    }

    /// True for [`ErrorCode::None`].
    pub fn is_ok(self) -> bool {
        self == Self::None
    }

    /// Whether sending the same request again, unchanged, may succeed
    /// without anyone intervening.
    ///
    /// Retriable: `CorruptMessage` (the batch may have been damaged in
    /// transit; Kafka retries it too), `RequestTimedOut` and
    /// `BrokerShuttingDown` (retry after reconnecting).
    ///
    /// Not retriable, notably: `DiskFull`, `StorageError` and `LogPoisoned`
    /// need an operator or a broker restart, and retry loops would only hide
    /// that; `UnknownTopicOrPartition` because topic creation is synchronous
    /// on a single broker, so waiting does not make a topic appear.
    pub fn is_retriable(self) -> bool {
        matches!(
            self,
            Self::CorruptMessage | Self::RequestTimedOut | Self::BrokerShuttingDown
        )
    }

    /// A short lower-case description, for logs and error messages.
    pub fn description(self) -> &'static str {
        match self {
            Self::None => "no error",
            Self::Unknown => "unknown server error",
            Self::CorruptMessage => "corrupt record batch",
            Self::UnknownTopicOrPartition => "unknown topic or partition",
            Self::OffsetOutOfRange => "offset out of range",
            Self::MessageTooLarge => "message too large",
            Self::InvalidRequest => "invalid request",
            Self::UnsupportedVersion => "unsupported api version",
            Self::UnknownApi => "unknown api key",
            Self::TopicAlreadyExists => "topic already exists",
            Self::InvalidTopic => "invalid topic name",
            Self::InvalidConfig => "invalid topic configuration",
            Self::InvalidPartitions => "invalid partition count",
            Self::StorageError => "storage error",
            Self::LogPoisoned => "log refuses writes after an fsync failure",
            Self::DiskFull => "disk full",
            Self::RequestTimedOut => "request timed out",
            Self::InvalidRecord => "invalid record batch",
            Self::BrokerShuttingDown => "broker shutting down",
            Self::InvalidOffset => "invalid offset",
            Self::InvalidGroup => "invalid consumer group",
            Self::GroupIdNotFound => "consumer group not found",
            Self::UnknownMemberId => "unknown group member",
            Self::IllegalGeneration => "not the group's current generation",
            Self::RebalanceInProgress => "group rebalance in progress",
            Self::MemberIdRequired => "join again with the member id given",
            Self::InconsistentGroupProtocol => "group protocol matches none of the group's",
            Self::InvalidSessionTimeout => "session timeout outside the accepted range",
            Self::NotCoordinator => "not the group's coordinator",
            Self::InvalidRequiredAcks => "acks must be -1, 0 or 1",
            Self::OutOfOrderSequence => "producer sequence out of order",
            Self::InvalidProducerEpoch => "producer epoch fenced",
            Self::UnknownProducerId => "unknown producer id",
        }
    }
}

impl fmt::Display for ErrorCode {
    /// Prints the description and the stable number, e.g.
    /// `disk full (15)`: the number is what to search for across versions.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.description(), *self as i32)
    }
}

/// Every failure of this crate.
///
/// A decoding error from [`decode_request_frame`](crate::frame::decode_request_frame)
/// or [`decode_response_frame`](crate::frame::decode_response_frame) means the
/// byte stream can no longer be trusted to be in sync: close the connection.
/// The decoders leave the buffer untouched when they fail.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// `frame_len` exceeds the reader's limit. Reported as soon as the four
    /// length bytes arrive, before any buffer is sized for the frame.
    #[error("frame of {len} bytes exceeds the maximum of {max} bytes")]
    FrameTooLarge { len: usize, max: usize },

    /// `frame_len` is smaller than the fixed header that must follow it.
    #[error("frame of {len} bytes is shorter than its fixed header")]
    FrameTooShort { len: usize },

    /// The client id does not fit: longer than `u16::MAX` when encoding, or
    /// longer than the rest of the frame when decoding.
    #[error("client id of {len} bytes exceeds the {max} bytes available")]
    ClientIdTooLong { len: usize, max: usize },

    /// The client id is not UTF-8.
    #[error("client id is not valid UTF-8")]
    InvalidClientId(#[from] std::str::Utf8Error),

    /// A response's `body_len` runs past the end of its frame.
    #[error("response body of {body_len} bytes does not fit in a frame of {frame_len} bytes")]
    BodyLengthOutOfRange { body_len: usize, frame_len: usize },

    /// A fetch response's `records_len` fields do not add up to its
    /// trailing bytes.
    #[error("fetch response announces {expected} record bytes but carries {actual}")]
    TrailingLengthMismatch { expected: u64, actual: usize },

    /// The request header names an api key this crate does not know.
    #[error("unknown api key {api_key}")]
    UnknownApiKey { api_key: u16 },

    /// The request header names a version outside the supported range.
    #[error("{api_key:?} version {version} is not supported (supported {min}..={max})")]
    UnsupportedVersion {
        api_key: ApiKey,
        version: u16,
        min: u16,
        max: u16,
    },

    /// A protobuf body could not be decoded.
    #[error("protobuf body could not be decoded")]
    Decode(#[from] prost::DecodeError),

    /// A protobuf body could not be encoded (only if the buffer cannot grow).
    #[error("protobuf body could not be encoded")]
    Encode(#[from] prost::EncodeError),

    /// Reading or writing the underlying stream failed.
    #[error("I/O error on the connection")]
    Io(#[from] std::io::Error),
}

impl ProtocolError {
    /// The code a broker should answer with when this error is about a
    /// request it can still reply to (header decoded, correlation id known).
    pub fn error_code(&self) -> ErrorCode {
        match self {
            Self::UnknownApiKey { .. } => ErrorCode::UnknownApi,
            Self::UnsupportedVersion { .. } => ErrorCode::UnsupportedVersion,
            Self::FrameTooLarge { .. } => ErrorCode::MessageTooLarge,
            Self::Io(_) => ErrorCode::Unknown,
            _ => ErrorCode::InvalidRequest,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The numbers are the wire contract; this table must only ever grow.
    #[test]
    fn codes_are_stable() {
        let expected = [
            (ErrorCode::None, 0),
            (ErrorCode::Unknown, 1),
            (ErrorCode::CorruptMessage, 2),
            (ErrorCode::UnknownTopicOrPartition, 3),
            (ErrorCode::OffsetOutOfRange, 4),
            (ErrorCode::MessageTooLarge, 5),
            (ErrorCode::InvalidRequest, 6),
            (ErrorCode::UnsupportedVersion, 7),
            (ErrorCode::UnknownApi, 8),
            (ErrorCode::TopicAlreadyExists, 9),
            (ErrorCode::InvalidTopic, 10),
            (ErrorCode::InvalidConfig, 11),
            (ErrorCode::InvalidPartitions, 12),
            (ErrorCode::StorageError, 13),
            (ErrorCode::LogPoisoned, 14),
            (ErrorCode::DiskFull, 15),
            (ErrorCode::RequestTimedOut, 16),
            (ErrorCode::InvalidRecord, 17),
            (ErrorCode::BrokerShuttingDown, 18),
            (ErrorCode::InvalidOffset, 19),
            (ErrorCode::InvalidGroup, 20),
            (ErrorCode::GroupIdNotFound, 21),
            (ErrorCode::UnknownMemberId, 22),
            (ErrorCode::IllegalGeneration, 23),
            (ErrorCode::RebalanceInProgress, 24),
            (ErrorCode::MemberIdRequired, 25),
            (ErrorCode::InconsistentGroupProtocol, 26),
            (ErrorCode::InvalidSessionTimeout, 27),
            (ErrorCode::NotCoordinator, 28),
            (ErrorCode::InvalidRequiredAcks, 29),
            (ErrorCode::OutOfOrderSequence, 30),
            (ErrorCode::InvalidProducerEpoch, 31),
            (ErrorCode::UnknownProducerId, 32),
        ];
        for (code, number) in expected {
            assert_eq!(code as i32, number, "{code:?}");
            assert_eq!(ErrorCode::from_wire(number), code);
        }
    }

    #[test]
    fn unknown_numbers_are_not_success() {
        assert_eq!(ErrorCode::from_wire(33), ErrorCode::Unknown);
        assert_eq!(ErrorCode::from_wire(-1), ErrorCode::Unknown);
        assert!(!ErrorCode::from_wire(999).is_ok());
        assert!(ErrorCode::None.is_ok());
    }

    #[test]
    fn retriable_set() {
        assert!(ErrorCode::RequestTimedOut.is_retriable());
        assert!(ErrorCode::BrokerShuttingDown.is_retriable());
        assert!(ErrorCode::CorruptMessage.is_retriable());
        assert!(!ErrorCode::DiskFull.is_retriable());
        assert!(!ErrorCode::LogPoisoned.is_retriable());
        assert!(!ErrorCode::None.is_retriable());
    }

    #[test]
    fn display_names_code_and_number() {
        assert_eq!(ErrorCode::DiskFull.to_string(), "disk full (15)");
    }
}
