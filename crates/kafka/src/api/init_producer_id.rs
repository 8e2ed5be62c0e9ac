//! InitProducerId (api key 22), versions 0-1: hands an idempotent (or
//! transactional) producer its id and epoch.

use bytes::{Bytes, BytesMut};

use crate::wire::{Message, Reader, Writer};
use crate::{ApiKey, DecodeError};

/// InitProducerId request.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct InitProducerIdRequest {
    /// Null for an idempotent, non-transactional producer.
    pub transactional_id: Option<String>,
    /// Transaction timeout; unused without a transactional id.
    pub transaction_timeout_ms: i32,
}

impl Message for InitProducerIdRequest {
    const API_KEY: ApiKey = ApiKey::InitProducerId;

    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        let r = &mut Reader::new(buf, Self::API_KEY.is_flexible(version));
        let transactional_id = r.nullable_string()?;
        let transaction_timeout_ms = r.i32()?;
        r.tags()?;
        Ok(Self {
            transactional_id,
            transaction_timeout_ms,
        })
    }

    fn encode(&self, buf: &mut BytesMut, version: i16) {
        let w = &mut Writer::new(buf, Self::API_KEY.is_flexible(version));
        w.nullable_string(self.transactional_id.as_deref());
        w.i32(self.transaction_timeout_ms);
        w.tags();
    }
}

/// InitProducerId response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InitProducerIdResponse {
    /// Quota throttle.
    pub throttle_time_ms: i32,
    /// See [`crate::ErrorCode`].
    pub error_code: i16,
    /// Assigned producer id, -1 on error.
    pub producer_id: i64,
    /// Assigned epoch.
    pub producer_epoch: i16,
}

impl Default for InitProducerIdResponse {
    fn default() -> Self {
        Self {
            throttle_time_ms: 0,
            error_code: 0,
            producer_id: -1,
            producer_epoch: -1,
        }
    }
}

impl Message for InitProducerIdResponse {
    const API_KEY: ApiKey = ApiKey::InitProducerId;

    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        let r = &mut Reader::new(buf, Self::API_KEY.is_flexible(version));
        let throttle_time_ms = r.i32()?;
        let error_code = r.i16()?;
        let producer_id = r.i64()?;
        let producer_epoch = r.i16()?;
        r.tags()?;
        Ok(Self {
            throttle_time_ms,
            error_code,
            producer_id,
            producer_epoch,
        })
    }

    fn encode(&self, buf: &mut BytesMut, version: i16) {
        let w = &mut Writer::new(buf, Self::API_KEY.is_flexible(version));
        w.i32(self.throttle_time_ms);
        w.i16(self.error_code);
        w.i64(self.producer_id);
        w.i16(self.producer_epoch);
        w.tags();
    }
}
