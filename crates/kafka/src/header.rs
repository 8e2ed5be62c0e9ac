//! Request and response headers, and which header version each api uses.

use bytes::{Bytes, BytesMut};

use crate::wire::{Reader, Writer};
use crate::{ApiKey, DecodeError};

/// Request header version for a request: 2 (with tagged fields) for
/// flexible versions, else 1. Unknown api keys get 1, which is enough to
/// read the correlation id and answer.
pub fn request_header_version(api_key: i16, api_version: i16) -> i16 {
    match ApiKey::from_i16(api_key) {
        Some(key) if key.is_flexible(api_version) => 2,
        _ => 1,
    }
}

/// Response header version for a response: 1 (with tagged fields) for
/// flexible versions, else 0. ApiVersions responses always use 0 so a
/// client can read the correlation id before it knows what the broker
/// supports.
pub fn response_header_version(api_key: i16, api_version: i16) -> i16 {
    match ApiKey::from_i16(api_key) {
        Some(ApiKey::ApiVersions) => 0,
        Some(key) if key.is_flexible(api_version) => 1,
        _ => 0,
    }
}

/// Request header v1 (`api_key, api_version, correlation_id, client_id`)
/// or v2 (the same followed by tagged fields).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestHeader {
    /// Which api the body is.
    pub api_key: i16,
    /// Version of the body.
    pub api_version: i16,
    /// Echoed in the response header.
    pub correlation_id: i32,
    /// Client-chosen id; always an int16-length string, even in v2.
    pub client_id: Option<String>,
}

impl RequestHeader {
    /// Decodes the header from the front of a request frame (the bytes after
    /// the int32 size), leaving the body in `buf`. The header version is
    /// chosen from the api key and version it contains.
    pub fn decode(buf: &mut Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::new(buf, false);
        let api_key = r.i16()?;
        let api_version = r.i16()?;
        let correlation_id = r.i32()?;
        let client_id = r.legacy_nullable_string()?;
        if request_header_version(api_key, api_version) >= 2 {
            Reader::new(buf, true).tags()?;
        }
        Ok(Self {
            api_key,
            api_version,
            correlation_id,
            client_id,
        })
    }

    /// Appends the header in the version its api key and version call for.
    pub fn encode(&self, buf: &mut BytesMut) {
        let flexible = self.header_version() >= 2;
        let mut w = Writer::new(buf, flexible);
        w.i16(self.api_key);
        w.i16(self.api_version);
        w.i32(self.correlation_id);
        w.legacy_nullable_string(self.client_id.as_deref());
        w.tags();
    }

    /// 1 or 2, see [`request_header_version`].
    pub fn header_version(&self) -> i16 {
        request_header_version(self.api_key, self.api_version)
    }
}

/// Response header v0 (`correlation_id`) or v1 (the same followed by tagged
/// fields).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResponseHeader {
    /// The request's correlation id.
    pub correlation_id: i32,
}

impl ResponseHeader {
    /// Decodes a header of `header_version` (0 or 1) from the front of `buf`.
    pub fn decode(buf: &mut Bytes, header_version: i16) -> Result<Self, DecodeError> {
        let mut r = Reader::new(buf, header_version >= 1);
        let correlation_id = r.i32()?;
        r.tags()?;
        Ok(Self { correlation_id })
    }

    /// Appends the header as `header_version` (0 or 1).
    pub fn encode(&self, buf: &mut BytesMut, header_version: i16) {
        let mut w = Writer::new(buf, header_version >= 1);
        w.i32(self.correlation_id);
        w.tags();
    }
}
