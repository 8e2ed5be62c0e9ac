//! Heartbeat (api key 12), versions 0-3.

use bytes::{Bytes, BytesMut};

use crate::wire::{Message, Reader, Writer};
use crate::{ApiKey, DecodeError};

/// Heartbeat request.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct HeartbeatRequest {
    /// Group id.
    pub group_id: String,
    /// Member's generation.
    pub generation_id: i32,
    /// Member id.
    pub member_id: String,
    /// Static membership id (v3+).
    pub group_instance_id: Option<String>,
}

impl Message for HeartbeatRequest {
    const API_KEY: ApiKey = ApiKey::Heartbeat;

    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        let r = &mut Reader::new(buf, Self::API_KEY.is_flexible(version));
        let group_id = r.string()?;
        let generation_id = r.i32()?;
        let member_id = r.string()?;
        let group_instance_id = if version >= 3 {
            r.nullable_string()?
        } else {
            None
        };
        r.tags()?;
        Ok(Self {
            group_id,
            generation_id,
            member_id,
            group_instance_id,
        })
    }

    fn encode(&self, buf: &mut BytesMut, version: i16) {
        let w = &mut Writer::new(buf, Self::API_KEY.is_flexible(version));
        w.string(&self.group_id);
        w.i32(self.generation_id);
        w.string(&self.member_id);
        if version >= 3 {
            w.nullable_string(self.group_instance_id.as_deref());
        }
        w.tags();
    }
}

/// Heartbeat response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct HeartbeatResponse {
    /// Quota throttle (v1+).
    pub throttle_time_ms: i32,
    /// NONE when stable, REBALANCE_IN_PROGRESS to make the member rejoin.
    pub error_code: i16,
}

impl Message for HeartbeatResponse {
    const API_KEY: ApiKey = ApiKey::Heartbeat;

    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        let r = &mut Reader::new(buf, Self::API_KEY.is_flexible(version));
        let throttle_time_ms = if version >= 1 { r.i32()? } else { 0 };
        let error_code = r.i16()?;
        r.tags()?;
        Ok(Self {
            throttle_time_ms,
            error_code,
        })
    }

    fn encode(&self, buf: &mut BytesMut, version: i16) {
        let w = &mut Writer::new(buf, Self::API_KEY.is_flexible(version));
        if version >= 1 {
            w.i32(self.throttle_time_ms);
        }
        w.i16(self.error_code);
        w.tags();
    }
}
