//! FindCoordinator (api key 10), versions 0-2. On one node the answer is
//! always this broker.

use bytes::{Bytes, BytesMut};

use crate::wire::{Message, Reader, Writer};
use crate::{ApiKey, DecodeError};

/// FindCoordinator request.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct FindCoordinatorRequest {
    /// Group id (or transactional id).
    pub key: String,
    /// 0 group, 1 transaction (v1+).
    pub key_type: i8,
}

impl Message for FindCoordinatorRequest {
    const API_KEY: ApiKey = ApiKey::FindCoordinator;

    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        let r = &mut Reader::new(buf, Self::API_KEY.is_flexible(version));
        let key = r.string()?;
        let key_type = if version >= 1 { r.i8()? } else { 0 };
        r.tags()?;
        Ok(Self { key, key_type })
    }

    fn encode(&self, buf: &mut BytesMut, version: i16) {
        let w = &mut Writer::new(buf, Self::API_KEY.is_flexible(version));
        w.string(&self.key);
        if version >= 1 {
            w.i8(self.key_type);
        }
        w.tags();
    }
}

/// FindCoordinator response.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct FindCoordinatorResponse {
    /// Quota throttle (v1+).
    pub throttle_time_ms: i32,
    /// See [`crate::ErrorCode`].
    pub error_code: i16,
    /// Error text (v1+).
    pub error_message: Option<String>,
    /// Coordinator node id.
    pub node_id: i32,
    /// Coordinator host.
    pub host: String,
    /// Coordinator port.
    pub port: i32,
}

impl Message for FindCoordinatorResponse {
    const API_KEY: ApiKey = ApiKey::FindCoordinator;

    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        let r = &mut Reader::new(buf, Self::API_KEY.is_flexible(version));
        let throttle_time_ms = if version >= 1 { r.i32()? } else { 0 };
        let error_code = r.i16()?;
        let error_message = if version >= 1 {
            r.nullable_string()?
        } else {
            None
        };
        let node_id = r.i32()?;
        let host = r.string()?;
        let port = r.i32()?;
        r.tags()?;
        Ok(Self {
            throttle_time_ms,
            error_code,
            error_message,
            node_id,
            host,
            port,
        })
    }

    fn encode(&self, buf: &mut BytesMut, version: i16) {
        let w = &mut Writer::new(buf, Self::API_KEY.is_flexible(version));
        if version >= 1 {
            w.i32(self.throttle_time_ms);
        }
        w.i16(self.error_code);
        if version >= 1 {
            w.nullable_string(self.error_message.as_deref());
        }
        w.i32(self.node_id);
        w.string(&self.host);
        w.i32(self.port);
        w.tags();
    }
}
