//! Which responses carry a top-level error code, and the response that
//! reports only an error: what a listener answers when it cannot answer a
//! request properly (a body that does not decode, a handler that failed).
//!
//! Kafka gives most apis a top-level `error_code`; the others (Produce,
//! Metadata, ListOffsets, OffsetCommit, DescribeGroups, CreateTopics,
//! DeleteTopics, and Fetch before v7, OffsetFetch before v2) only have
//! per-topic or per-partition codes, so no well-formed response can say
//! "this request failed" and the listener closes the connection instead.

use crate::api::api_versions::ApiVersionsResponse;
use crate::api::find_coordinator::FindCoordinatorResponse;
use crate::api::heartbeat::HeartbeatResponse;
use crate::api::init_producer_id::InitProducerIdResponse;
use crate::api::join_group::JoinGroupResponse;
use crate::api::leave_group::LeaveGroupResponse;
use crate::api::list_groups::ListGroupsResponse;
use crate::api::offset_fetch::OffsetFetchResponse;
use crate::api::sync_group::SyncGroupResponse;
use crate::api_versions::is_supported;
use crate::{ApiKey, FetchResponse, Response};

/// The response of `api_key` at `version` whose top-level error code is
/// `error_code`, every other field at its empty value (FindCoordinator:
/// node id and port -1). `None` when Sluice does not serve that version or
/// the response has no top-level error code there.
///
/// Encode it as `version`, like any response to the request.
pub fn error_response(api_key: ApiKey, version: i16, error_code: i16) -> Option<Response> {
    if !is_supported(api_key, version) {
        return None;
    }
    let body = match api_key {
        ApiKey::ApiVersions => ApiVersionsResponse {
            error_code,
            ..Default::default()
        }
        .into(),
        ApiKey::Fetch if version >= 7 => FetchResponse::<bytes::Bytes> {
            error_code,
            ..Default::default()
        }
        .into(),
        ApiKey::FindCoordinator => FindCoordinatorResponse {
            error_code,
            node_id: -1,
            port: -1,
            ..Default::default()
        }
        .into(),
        ApiKey::JoinGroup => JoinGroupResponse {
            error_code,
            ..Default::default()
        }
        .into(),
        ApiKey::Heartbeat => HeartbeatResponse {
            error_code,
            ..Default::default()
        }
        .into(),
        ApiKey::LeaveGroup => LeaveGroupResponse {
            error_code,
            ..Default::default()
        }
        .into(),
        ApiKey::SyncGroup => SyncGroupResponse {
            error_code,
            ..Default::default()
        }
        .into(),
        ApiKey::ListGroups => ListGroupsResponse {
            error_code,
            ..Default::default()
        }
        .into(),
        ApiKey::InitProducerId => InitProducerIdResponse {
            error_code,
            ..Default::default()
        }
        .into(),
        ApiKey::OffsetFetch if version >= 2 => OffsetFetchResponse {
            error_code,
            ..Default::default()
        }
        .into(),
        _ => return None,
    };
    Some(body)
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;

    use super::*;
    use crate::ErrorCode;
    use crate::api_versions::ADVERTISED;

    /// The top-level error code of a decoded response, read back from the
    /// fields the decoder filled.
    fn top_level_code(response: &Response) -> Option<i16> {
        Some(match response {
            Response::ApiVersions(r) => r.error_code,
            Response::Fetch(r) => r.error_code,
            Response::FindCoordinator(r) => r.error_code,
            Response::JoinGroup(r) => r.error_code,
            Response::Heartbeat(r) => r.error_code,
            Response::LeaveGroup(r) => r.error_code,
            Response::SyncGroup(r) => r.error_code,
            Response::ListGroups(r) => r.error_code,
            Response::InitProducerId(r) => r.error_code,
            Response::OffsetFetch(r) => r.error_code,
            _ => return None,
        })
    }

    #[test]
    fn the_code_survives_the_wire_in_every_version_that_has_one() {
        for range in ADVERTISED {
            for version in range.min..=range.max {
                let Some(body) = error_response(range.api_key, version, ErrorCode::INVALID_REQUEST)
                else {
                    continue;
                };
                assert_eq!(body.api_key(), range.api_key);
                let mut buf = BytesMut::new();
                body.encode(&mut buf, version);
                let decoded =
                    Response::decode(range.api_key.as_i16(), version, buf.freeze()).unwrap();
                assert_eq!(
                    top_level_code(&decoded),
                    Some(ErrorCode::INVALID_REQUEST),
                    "{:?} v{version}",
                    range.api_key
                );
            }
        }
    }

    #[test]
    fn only_where_a_top_level_code_exists() {
        let has = |key, version| error_response(key, version, ErrorCode::UNKNOWN_SERVER_ERROR);
        assert!(has(ApiKey::ApiVersions, 0).is_some());
        assert!(has(ApiKey::Fetch, 11).is_some());
        assert!(has(ApiKey::Fetch, 7).is_some());
        assert!(has(ApiKey::Fetch, 6).is_none());
        assert!(has(ApiKey::Fetch, 4).is_none());
        assert!(has(ApiKey::OffsetFetch, 2).is_some());
        assert!(has(ApiKey::OffsetFetch, 1).is_none());
        for key in [
            ApiKey::Produce,
            ApiKey::ListOffsets,
            ApiKey::Metadata,
            ApiKey::OffsetCommit,
            ApiKey::DescribeGroups,
            ApiKey::CreateTopics,
            ApiKey::DeleteTopics,
        ] {
            let range = crate::api_versions::version_range(key);
            for version in range.min..=range.max {
                assert!(has(key, version).is_none(), "{key:?} v{version}");
            }
        }
    }

    #[test]
    fn unsupported_versions_have_none() {
        assert!(error_response(ApiKey::Heartbeat, 99, 42).is_none());
        assert!(error_response(ApiKey::Heartbeat, -1, 42).is_none());
        assert!(error_response(ApiKey::Fetch, 3, 42).is_none());
    }

    #[test]
    fn find_coordinator_names_no_node() {
        let Some(Response::FindCoordinator(body)) = error_response(ApiKey::FindCoordinator, 1, 15)
        else {
            panic!("FindCoordinator has a top-level error code");
        };
        assert_eq!((body.error_code, body.node_id, body.port), (15, -1, -1));
    }
}
