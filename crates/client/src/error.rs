//! [`ClientError`], the one error type of this crate.
//!
//! It is `Clone` (I/O and protocol sources sit behind `Arc`) because one
//! failed produce request fails every record of its batches, and each of
//! those records' [`DeliveryFuture`](crate::DeliveryFuture)s gets its own
//! copy of the error.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use sluice_protocol::consumer_protocol::ConsumerProtocolError;
use sluice_protocol::{ApiKey, ErrorCode, ProtocolError};
use sluice_record::{Compression, RecordError};

/// Every failure of the client, producer and consumer.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The TCP connection to the broker could not be opened.
    #[error("could not connect to the broker at {addr}")]
    Connect {
        addr: String,
        #[source]
        source: Arc<io::Error>,
    },

    /// Reading or writing the connection failed; the connection is closed
    /// and the next request opens a new one.
    #[error("I/O error on the connection to the broker")]
    Io(#[source] Arc<io::Error>),

    /// The broker sent bytes that do not follow the wire protocol (bad
    /// frame, undecodable body). The connection is closed.
    #[error("protocol error on the connection to the broker")]
    Protocol(#[source] Arc<ProtocolError>),

    /// The broker answered with a wire error code, either at the top level
    /// of a response or for one partition. `message` is the broker's text
    /// or, for per-partition errors, which partition it was about.
    #[error("broker error: {code}{}", if message.is_empty() { String::new() } else { format!(": {message}") })]
    Broker { code: ErrorCode, message: String },

    /// No response arrived within the request timeout. The request may
    /// still have been carried out (a produce may have been appended).
    #[error("{api:?} request got no response within {after:?}")]
    Timeout { api: ApiKey, after: Duration },

    /// The connection closed before the response arrived.
    #[error("connection to the broker closed")]
    Disconnected,

    /// A fetched record batch is malformed.
    #[error("malformed record batch in {topic}/{partition}")]
    Record {
        topic: String,
        partition: u32,
        #[source]
        source: RecordError,
    },

    /// A fetched batch names a codec id Kafka has not assigned (5-7), so
    /// its records cannot be read. (gzip, snappy, lz4 and zstd batches are
    /// decompressed.)
    #[error(
        "batch at offset {offset} of {topic}/{partition} is compressed with an unsupported \
         codec {codec:?}"
    )]
    Compressed {
        topic: String,
        partition: u32,
        offset: i64,
        codec: Compression,
    },

    /// A fetched compressed batch could not be decompressed: corrupt data,
    /// or more than the consumer's `max_decompressed_batch_bytes`
    /// ([`RecordError::DecompressedTooLarge`]).
    #[error("cannot decompress the batch at offset {offset} of {topic}/{partition}")]
    Decompress {
        topic: String,
        partition: u32,
        offset: i64,
        #[source]
        source: RecordError,
    },

    /// A record is larger than the producer's `max_request_bytes`.
    #[error("record of about {size} bytes exceeds the producer's max_request_bytes of {max}")]
    RecordTooLarge { size: usize, max: usize },

    /// A configuration value or argument is out of range.
    #[error("invalid configuration: {0}")]
    Config(String),

    /// The producer's background task is gone (the producer was closed).
    #[error("producer is closed")]
    ProducerClosed,

    /// A group operation (commit) on a consumer without a group id.
    #[error("consumer has no group id")]
    NoGroup,

    /// A partition operation on a partition the consumer is not assigned.
    #[error("partition {partition} of {topic} is not assigned to this consumer")]
    NotAssigned { topic: String, partition: u32 },

    /// JoinGroup without a member id: the broker handed out this id, and
    /// the member joins again with it (Kafka's `MEMBER_ID_REQUIRED` round).
    /// [`ClientError::code`] is [`ErrorCode::MemberIdRequired`].
    #[error("join group {group} again as member {member_id}")]
    MemberIdRequired { group: String, member_id: String },

    /// A subscribed consumer committed (or asked for its generation) while
    /// it is not a member of its group's current generation: it has not
    /// joined yet, or left.
    #[error("the consumer is not a member of group {group}")]
    NotInGroup { group: String },

    /// Consumer protocol bytes of a group (a member's subscription, the
    /// leader's assignment) that do not parse, or that cannot be written.
    #[error("unreadable consumer protocol {what} in group {group}")]
    GroupProtocol {
        group: String,
        what: &'static str,
        #[source]
        source: ConsumerProtocolError,
    },
}

impl ClientError {
    /// Whether the same request, sent again later, may succeed without
    /// anyone acting: a retriable broker code (see
    /// [`ErrorCode::is_retriable`]), a timeout, or a lost connection (the
    /// client reconnects on the next request).
    pub fn is_retriable(&self) -> bool {
        match self {
            Self::Broker { code, .. } => code.is_retriable(),
            Self::Timeout { .. } | Self::Disconnected | Self::Io(_) | Self::Connect { .. } => true,
            _ => false,
        }
    }

    /// The wire error code, when the broker sent one.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Self::Broker { code, .. } => Some(*code),
            Self::MemberIdRequired { .. } => Some(ErrorCode::MemberIdRequired),
            _ => None,
        }
    }

    /// Whether a group member must join its group again after this error:
    /// a rebalance is under way (`REBALANCE_IN_PROGRESS`), or the member is
    /// no longer in the generation (`ILLEGAL_GENERATION`) or the group
    /// (`UNKNOWN_MEMBER_ID`). A [`Consumer`](crate::Consumer) rejoins by
    /// itself at its next poll.
    pub fn is_rebalance(&self) -> bool {
        matches!(
            self.code(),
            Some(
                ErrorCode::RebalanceInProgress
                    | ErrorCode::IllegalGeneration
                    | ErrorCode::UnknownMemberId
            )
        )
    }

    /// A broker error from a raw wire code; `None` when the code is `NONE`.
    pub(crate) fn from_wire(raw: i32, message: impl Into<String>) -> Option<Self> {
        let code = ErrorCode::from_wire(raw);
        (!code.is_ok()).then(|| Self::Broker {
            code,
            message: message.into(),
        })
    }
}

impl From<io::Error> for ClientError {
    fn from(e: io::Error) -> Self {
        Self::Io(Arc::new(e))
    }
}

impl From<ProtocolError> for ClientError {
    fn from(e: ProtocolError) -> Self {
        match e {
            ProtocolError::Io(io) => Self::Io(Arc::new(io)),
            other => Self::Protocol(Arc::new(other)),
        }
    }
}

impl From<prost::DecodeError> for ClientError {
    fn from(e: prost::DecodeError) -> Self {
        Self::Protocol(Arc::new(ProtocolError::Decode(e)))
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retriable() {
        let broker = |code| ClientError::Broker {
            code,
            message: String::new(),
        };
        assert!(broker(ErrorCode::RequestTimedOut).is_retriable());
        assert!(broker(ErrorCode::CorruptMessage).is_retriable());
        assert!(!broker(ErrorCode::DiskFull).is_retriable());
        assert!(!broker(ErrorCode::UnknownTopicOrPartition).is_retriable());
        assert!(ClientError::Disconnected.is_retriable());
        assert!(!ClientError::NoGroup.is_retriable());
    }

    #[test]
    fn unknown_wire_codes_are_errors() {
        // A code from a newer broker must not read as success.
        let e = ClientError::from_wire(999, "x").unwrap();
        assert_eq!(e.code(), Some(ErrorCode::Unknown));
        assert!(ClientError::from_wire(0, "x").is_none());
        assert_eq!(
            ClientError::from_wire(15, "orders/0").unwrap().to_string(),
            "broker error: disk full (15): orders/0"
        );
    }
}
