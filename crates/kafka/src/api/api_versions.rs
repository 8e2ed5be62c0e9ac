//! ApiVersions (api key 18), versions 0-3; v3 is flexible. The advertised
//! table and the fallback answer are in [`crate::api_versions`].

use bytes::{Bytes, BytesMut};

use crate::wire::{Message, Reader, Writer};
use crate::{ApiKey, DecodeError};

/// ApiVersions request.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ApiVersionsRequest {
    /// Client library name (v3+).
    pub client_software_name: String,
    /// Client library version (v3+).
    pub client_software_version: String,
}

impl Message for ApiVersionsRequest {
    const API_KEY: ApiKey = ApiKey::ApiVersions;

    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        let r = &mut Reader::new(buf, Self::API_KEY.is_flexible(version));
        let mut req = ApiVersionsRequest::default();
        if version >= 3 {
            req.client_software_name = r.string()?;
            req.client_software_version = r.string()?;
        }
        r.tags()?;
        Ok(req)
    }

    fn encode(&self, buf: &mut BytesMut, version: i16) {
        let w = &mut Writer::new(buf, Self::API_KEY.is_flexible(version));
        if version >= 3 {
            w.string(&self.client_software_name);
            w.string(&self.client_software_version);
        }
        w.tags();
    }
}

/// ApiVersions response. Always sent with response header v0.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ApiVersionsResponse {
    /// NONE, or UNSUPPORTED_VERSION in the fallback answer.
    pub error_code: i16,
    /// Supported version range per api.
    pub api_keys: Vec<ApiVersionRange>,
    /// Quota throttle (v1+).
    pub throttle_time_ms: i32,
}

/// One api's supported version range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ApiVersionRange {
    /// Api key.
    pub api_key: i16,
    /// Lowest supported version.
    pub min_version: i16,
    /// Highest supported version.
    pub max_version: i16,
}

impl Message for ApiVersionsResponse {
    const API_KEY: ApiKey = ApiKey::ApiVersions;

    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        let r = &mut Reader::new(buf, Self::API_KEY.is_flexible(version));
        let error_code = r.i16()?;
        let api_keys = r.array(|r| {
            let api_key = r.i16()?;
            let min_version = r.i16()?;
            let max_version = r.i16()?;
            r.tags()?;
            Ok(ApiVersionRange {
                api_key,
                min_version,
                max_version,
            })
        })?;
        let throttle_time_ms = if version >= 1 { r.i32()? } else { 0 };
        // v3 tags (supported/finalized features) are skipped: Sluice has none.
        r.tags()?;
        Ok(Self {
            error_code,
            api_keys,
            throttle_time_ms,
        })
    }

    fn encode(&self, buf: &mut BytesMut, version: i16) {
        let w = &mut Writer::new(buf, Self::API_KEY.is_flexible(version));
        w.i16(self.error_code);
        w.array(&self.api_keys, |w, k| {
            w.i16(k.api_key);
            w.i16(k.min_version);
            w.i16(k.max_version);
            w.tags();
        });
        if version >= 1 {
            w.i32(self.throttle_time_ms);
        }
        w.tags();
    }
}
