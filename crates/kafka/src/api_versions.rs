//! The version ranges Sluice advertises, and the ApiVersions answers built
//! from them (the codec itself is [`crate::api::api_versions`]).
//!
//! The ranges come from `KAFKA-NOTES.md`: they are what librdkafka 2.0 and
//! kafka-python 3.x need, including the low versions librdkafka checks for
//! before it enables features. Everything except ApiVersions v3 is a
//! non-flexible version.

use crate::ApiKey;
use crate::api::api_versions::{ApiVersionRange, ApiVersionsResponse};
use crate::error_code::ErrorCode;

/// A supported version range of one api, both ends inclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VersionRange {
    /// The api.
    pub api_key: ApiKey,
    /// Lowest version.
    pub min: i16,
    /// Highest version.
    pub max: i16,
}

const fn range(api_key: ApiKey, min: i16, max: i16) -> VersionRange {
    VersionRange { api_key, min, max }
}

/// Every api Sluice serves and the versions it advertises, by api key.
pub const ADVERTISED: [VersionRange; 17] = [
    range(ApiKey::Produce, 3, 8),
    range(ApiKey::Fetch, 4, 11),
    range(ApiKey::ListOffsets, 1, 5),
    range(ApiKey::Metadata, 1, 8),
    range(ApiKey::OffsetCommit, 2, 7),
    range(ApiKey::OffsetFetch, 1, 5),
    range(ApiKey::FindCoordinator, 0, 2),
    range(ApiKey::JoinGroup, 0, 5),
    range(ApiKey::Heartbeat, 0, 3),
    range(ApiKey::LeaveGroup, 0, 3),
    range(ApiKey::SyncGroup, 0, 3),
    range(ApiKey::DescribeGroups, 0, 4),
    range(ApiKey::ListGroups, 0, 2),
    range(ApiKey::ApiVersions, 0, 3),
    range(ApiKey::CreateTopics, 2, 4),
    range(ApiKey::DeleteTopics, 1, 3),
    range(ApiKey::InitProducerId, 0, 1),
];

/// The advertised range of `api_key`.
pub fn version_range(api_key: ApiKey) -> VersionRange {
    ADVERTISED
        .into_iter()
        .find(|r| r.api_key == api_key)
        // Every ApiKey has a row; a test checks it.
        .unwrap_or(range(api_key, 0, -1))
}

/// Whether Sluice decodes and answers `version` of `api_key`.
pub fn is_supported(api_key: ApiKey, version: i16) -> bool {
    let r = version_range(api_key);
    (r.min..=r.max).contains(&version)
}

/// Version of the ApiVersions body in the fallback answer.
pub const FALLBACK_VERSION: i16 = 0;

/// The normal answer: no error, every advertised range.
pub fn response() -> ApiVersionsResponse {
    ApiVersionsResponse {
        error_code: ErrorCode::NONE,
        api_keys: ADVERTISED.iter().map(to_wire).collect(),
        throttle_time_ms: 0,
    }
}

/// The answer to an ApiVersions request of a version Sluice does not
/// support: encode it as [`FALLBACK_VERSION`] (v0) with response header v0.
/// It carries UNSUPPORTED_VERSION and the ApiVersions range, so the client
/// retries with a version in it.
pub fn fallback_response() -> ApiVersionsResponse {
    ApiVersionsResponse {
        error_code: ErrorCode::UNSUPPORTED_VERSION,
        api_keys: vec![to_wire(&version_range(ApiKey::ApiVersions))],
        throttle_time_ms: 0,
    }
}

fn to_wire(r: &VersionRange) -> ApiVersionRange {
    ApiVersionRange {
        api_key: r.api_key.as_i16(),
        min_version: r.min,
        max_version: r.max,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_api_key_has_one_range() {
        for key in ApiKey::ALL {
            assert_eq!(
                ADVERTISED.iter().filter(|r| r.api_key == key).count(),
                1,
                "{key:?}"
            );
            assert!(version_range(key).min <= version_range(key).max);
        }
    }

    #[test]
    fn only_api_versions_v3_is_flexible() {
        for r in ADVERTISED {
            for v in r.min..=r.max {
                let flexible = r.api_key == ApiKey::ApiVersions && v == 3;
                assert_eq!(r.api_key.is_flexible(v), flexible, "{:?} v{v}", r.api_key);
            }
        }
    }

    #[test]
    fn fallback_lists_api_versions_range() {
        let f = fallback_response();
        assert_eq!(f.error_code, 35);
        assert_eq!(
            f.api_keys,
            vec![ApiVersionRange {
                api_key: 18,
                min_version: 0,
                max_version: 3
            }]
        );
    }
}
