//! The dispatch enums: every request and response body Sluice handles,
//! decoded by api key and version.

use bytes::{Bytes, BytesMut};

use crate::api::{
    api_versions::*, create_topics::*, delete_topics::*, describe_groups::*, fetch::*,
    fetch_response::*, find_coordinator::*, heartbeat::*, init_producer_id::*, join_group::*,
    leave_group::*, list_groups::*, list_offsets::*, metadata::*, offset_commit::*,
    offset_fetch::*, produce::*, sync_group::*,
};
use crate::api_versions::is_supported;
use crate::wire::Message;
use crate::{ApiKey, DecodeError, RequestHeader};

/// Checks that Sluice implements `api_key` at `version`.
fn check(api_key: i16, version: i16) -> Result<ApiKey, DecodeError> {
    let key = ApiKey::from_i16(api_key).ok_or(DecodeError::UnknownApiKey(api_key))?;
    if !is_supported(key, version) {
        return Err(DecodeError::UnsupportedVersion { api_key, version });
    }
    Ok(key)
}

macro_rules! apis {
    ($($variant:ident($req:ty, $resp:ty)),* $(,)?) => {
        /// A decoded request body.
        #[derive(Clone, Debug, PartialEq, Eq)]
        #[non_exhaustive]
        pub enum Request {
            $(
                #[doc = concat!("`", stringify!($req), "`")]
                $variant($req),
            )*
        }

        /// A response body.
        #[derive(Clone, Debug, PartialEq, Eq)]
        #[non_exhaustive]
        pub enum Response {
            $(
                #[doc = concat!("`", stringify!($resp), "`")]
                $variant($resp),
            )*
        }

        $(
            impl From<$req> for Request {
                fn from(body: $req) -> Self {
                    Request::$variant(body)
                }
            }

            impl From<$resp> for Response {
                fn from(body: $resp) -> Self {
                    Response::$variant(body)
                }
            }
        )*

        impl Request {
            /// The api of this request.
            pub fn api_key(&self) -> ApiKey {
                match self {
                    $(Request::$variant(_) => <$req as Message>::API_KEY,)*
                }
            }

            fn decode_as(key: ApiKey, body: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
                $(
                    if key == <$req as Message>::API_KEY {
                        return Ok(Request::$variant(<$req>::decode(body, version)?));
                    }
                )*
                Err(DecodeError::UnknownApiKey(key.as_i16()))
            }

            /// Appends the body encoded as `version`.
            pub fn encode(&self, buf: &mut BytesMut, version: i16) {
                match self {
                    $(Request::$variant(m) => m.encode(buf, version),)*
                }
            }
        }

        impl Response {
            /// The api of this response.
            pub fn api_key(&self) -> ApiKey {
                match self {
                    $(Response::$variant(_) => <$resp as Message>::API_KEY,)*
                }
            }

            fn decode_as(key: ApiKey, body: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
                $(
                    if key == <$resp as Message>::API_KEY {
                        return Ok(Response::$variant(<$resp>::decode(body, version)?));
                    }
                )*
                Err(DecodeError::UnknownApiKey(key.as_i16()))
            }

            /// Appends the body encoded as `version`.
            pub fn encode(&self, buf: &mut BytesMut, version: i16) {
                match self {
                    $(Response::$variant(m) => m.encode(buf, version),)*
                }
            }
        }
    };
}

apis! {
    Produce(ProduceRequest, ProduceResponse),
    Fetch(FetchRequest, FetchResponse),
    ListOffsets(ListOffsetsRequest, ListOffsetsResponse),
    Metadata(MetadataRequest, MetadataResponse),
    OffsetCommit(OffsetCommitRequest, OffsetCommitResponse),
    OffsetFetch(OffsetFetchRequest, OffsetFetchResponse),
    FindCoordinator(FindCoordinatorRequest, FindCoordinatorResponse),
    JoinGroup(JoinGroupRequest, JoinGroupResponse),
    Heartbeat(HeartbeatRequest, HeartbeatResponse),
    LeaveGroup(LeaveGroupRequest, LeaveGroupResponse),
    SyncGroup(SyncGroupRequest, SyncGroupResponse),
    DescribeGroups(DescribeGroupsRequest, DescribeGroupsResponse),
    ListGroups(ListGroupsRequest, ListGroupsResponse),
    ApiVersions(ApiVersionsRequest, ApiVersionsResponse),
    CreateTopics(CreateTopicsRequest, CreateTopicsResponse),
    DeleteTopics(DeleteTopicsRequest, DeleteTopicsResponse),
    InitProducerId(InitProducerIdRequest, InitProducerIdResponse),
}

impl Request {
    /// Decodes the body that followed `header` in a request frame.
    ///
    /// Fails with `UnknownApiKey` or `UnsupportedVersion` before reading the
    /// body when Sluice does not serve that api and version (for ApiVersions
    /// the listener then sends [`crate::api_versions::fallback_response`]).
    /// Bytes after the known fields are ignored, as Kafka does.
    pub fn decode(header: &RequestHeader, mut body: Bytes) -> Result<Self, DecodeError> {
        let key = check(header.api_key, header.api_version)?;
        Self::decode_as(key, &mut body, header.api_version)
    }
}

impl Response {
    /// Decodes a response body of `api_key` and `version` (the header
    /// already removed). For clients and tests; the broker only encodes.
    pub fn decode(api_key: i16, version: i16, mut body: Bytes) -> Result<Self, DecodeError> {
        let key = check(api_key, version)?;
        Self::decode_as(key, &mut body, version)
    }
}
