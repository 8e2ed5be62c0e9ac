//! API keys, their supported versions, and the pairing of request and
//! response types.
//!
//! The header carries `api_key` and `api_version` as raw `u16`s so that a
//! broker can still answer (with `UNKNOWN_API` or `UNSUPPORTED_VERSION`) a
//! request it does not understand; [`ApiKey::try_from`] and
//! [`ApiKey::check_version`] turn them into typed values.

use crate::error::{ErrorCode, ProtocolError};
use crate::pb;

/// The operation a request frame asks for. The numbers are stable wire
/// values: never renumber, only append.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u16)]
pub enum ApiKey {
    ApiVersions = 0,
    Metadata = 1,
    CreateTopic = 2,
    DeleteTopic = 3,
    Produce = 4,
    Fetch = 5,
    ListOffsets = 6,
    CommitOffsets = 7,
    FetchOffsets = 8,
    ListGroups = 9,
    DescribeGroups = 10,
    JoinGroup = 11,
    SyncGroup = 12,
    Heartbeat = 13,
    LeaveGroup = 14,
}

impl ApiKey {
    /// Every key, in numeric order.
    pub const ALL: [ApiKey; 15] = [
        ApiKey::ApiVersions,
        ApiKey::Metadata,
        ApiKey::CreateTopic,
        ApiKey::DeleteTopic,
        ApiKey::Produce,
        ApiKey::Fetch,
        ApiKey::ListOffsets,
        ApiKey::CommitOffsets,
        ApiKey::FetchOffsets,
        ApiKey::ListGroups,
        ApiKey::DescribeGroups,
        ApiKey::JoinGroup,
        ApiKey::SyncGroup,
        ApiKey::Heartbeat,
        ApiKey::LeaveGroup,
    ];

    /// The wire number.
    pub fn as_u16(self) -> u16 {
        self as u16
    }

    /// The inclusive `(min, max)` range of `api_version` this build serves.
    /// Every API is at version 0 for now.
    pub fn supported_versions(self) -> (u16, u16) {
        match self {
            ApiKey::ApiVersions
            | ApiKey::Metadata
            | ApiKey::CreateTopic
            | ApiKey::DeleteTopic
            | ApiKey::Produce
            | ApiKey::Fetch
            | ApiKey::ListOffsets
            | ApiKey::CommitOffsets
            | ApiKey::FetchOffsets
            | ApiKey::ListGroups
            | ApiKey::DescribeGroups
            | ApiKey::JoinGroup
            | ApiKey::SyncGroup
            | ApiKey::Heartbeat
            | ApiKey::LeaveGroup => (0, 0),
        }
    }

    /// Succeeds when `version` is within [`supported_versions`](Self::supported_versions).
    pub fn check_version(self, version: u16) -> Result<(), ProtocolError> {
        let (min, max) = self.supported_versions();
        if (min..=max).contains(&version) {
            Ok(())
        } else {
            Err(ProtocolError::UnsupportedVersion {
                api_key: self,
                version,
                min,
                max,
            })
        }
    }
}

impl TryFrom<u16> for ApiKey {
    type Error = ProtocolError;

    fn try_from(api_key: u16) -> Result<Self, Self::Error> {
        ApiKey::ALL
            .into_iter()
            .find(|key| key.as_u16() == api_key)
            .ok_or(ProtocolError::UnknownApiKey { api_key })
    }
}

impl From<ApiKey> for u16 {
    fn from(key: ApiKey) -> u16 {
        key.as_u16()
    }
}

/// The ranges for an `ApiVersionsResponse`: one entry per key this build
/// serves.
pub fn supported_api_versions() -> Vec<pb::ApiVersionRange> {
    ApiKey::ALL
        .into_iter()
        .map(|key| {
            let (min, max) = key.supported_versions();
            pb::ApiVersionRange {
                api_key: key.as_u16().into(),
                min_version: min.into(),
                max_version: max.into(),
            }
        })
        .collect()
}

/// A request body type, tied to its api key and response body type, so a
/// client can write `send::<MetadataRequest>(..)` and get a
/// `MetadataResponse` back without a lookup table.
pub trait ApiRequest: prost::Message + Default {
    /// The key written into the frame header for this body.
    const API_KEY: ApiKey;
    /// The body type of the matching response.
    type Response: ApiResponse;
}

/// A response body type. Every response declares `error_code = 1` and
/// `error_message = 2`, which is what lets an `ErrorResponse` decode as any
/// of them.
pub trait ApiResponse: prost::Message + Default {
    /// The top-level error code; unknown numbers read as
    /// [`ErrorCode::Unknown`] (see [`ErrorCode::from_wire`]).
    fn top_level_error(&self) -> ErrorCode;
    /// The top-level error message; empty when there is none.
    fn error_message(&self) -> &str;
}

macro_rules! api_pairs {
    ($($key:ident: $req:ident => $resp:ident;)*) => {
        $(
            impl ApiRequest for pb::$req {
                const API_KEY: ApiKey = ApiKey::$key;
                type Response = pb::$resp;
            }
        )*
        api_responses!($($resp)* ErrorResponse);
    };
}

macro_rules! api_responses {
    ($($resp:ident)*) => {
        $(
            impl ApiResponse for pb::$resp {
                fn top_level_error(&self) -> ErrorCode {
                    ErrorCode::from_wire(self.error_code)
                }
                fn error_message(&self) -> &str {
                    &self.error_message
                }
            }
        )*
    };
}

api_pairs! {
    ApiVersions: ApiVersionsRequest => ApiVersionsResponse;
    Metadata: MetadataRequest => MetadataResponse;
    CreateTopic: CreateTopicRequest => CreateTopicResponse;
    DeleteTopic: DeleteTopicRequest => DeleteTopicResponse;
    Produce: ProduceRequest => ProduceResponse;
    Fetch: FetchRequest => FetchResponse;
    ListOffsets: ListOffsetsRequest => ListOffsetsResponse;
    CommitOffsets: CommitOffsetsRequest => CommitOffsetsResponse;
    FetchOffsets: FetchOffsetsRequest => FetchOffsetsResponse;
    ListGroups: ListGroupsRequest => ListGroupsResponse;
    DescribeGroups: DescribeGroupsRequest => DescribeGroupsResponse;
    JoinGroup: JoinGroupRequest => JoinGroupResponse;
    SyncGroup: SyncGroupRequest => SyncGroupResponse;
    Heartbeat: HeartbeatRequest => HeartbeatResponse;
    LeaveGroup: LeaveGroupRequest => LeaveGroupResponse;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_stable() {
        let numbers: Vec<u16> = ApiKey::ALL.iter().map(|k| k.as_u16()).collect();
        assert_eq!(numbers, (0..15).collect::<Vec<u16>>());
        assert_eq!(ApiKey::try_from(5).unwrap(), ApiKey::Fetch);
        assert_eq!(ApiKey::try_from(9).unwrap(), ApiKey::ListGroups);
        assert_eq!(ApiKey::try_from(10).unwrap(), ApiKey::DescribeGroups);
        assert_eq!(ApiKey::try_from(11).unwrap(), ApiKey::JoinGroup);
        assert_eq!(ApiKey::try_from(12).unwrap(), ApiKey::SyncGroup);
        assert_eq!(ApiKey::try_from(13).unwrap(), ApiKey::Heartbeat);
        assert_eq!(ApiKey::try_from(14).unwrap(), ApiKey::LeaveGroup);
        assert!(matches!(
            ApiKey::try_from(15),
            Err(ProtocolError::UnknownApiKey { api_key: 15 })
        ));
    }

    #[test]
    fn versions() {
        for key in ApiKey::ALL {
            assert_eq!(key.supported_versions(), (0, 0));
            assert!(key.check_version(0).is_ok());
            let err = key.check_version(1).unwrap_err();
            assert_eq!(err.error_code(), ErrorCode::UnsupportedVersion);
        }
        assert_eq!(supported_api_versions().len(), ApiKey::ALL.len());
    }
}
