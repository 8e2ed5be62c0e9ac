//! DeleteTopics (api key 20), versions 1-3.

use bytes::{Bytes, BytesMut};

use crate::wire::{Message, Reader, Writer};
use crate::{ApiKey, DecodeError};

/// DeleteTopics request.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct DeleteTopicsRequest {
    /// Topics to delete.
    pub topic_names: Vec<String>,
    /// How long to wait for deletion.
    pub timeout_ms: i32,
}

impl Message for DeleteTopicsRequest {
    const API_KEY: ApiKey = ApiKey::DeleteTopics;

    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        let r = &mut Reader::new(buf, Self::API_KEY.is_flexible(version));
        let topic_names = r.string_array()?;
        let timeout_ms = r.i32()?;
        r.tags()?;
        Ok(Self {
            topic_names,
            timeout_ms,
        })
    }

    fn encode(&self, buf: &mut BytesMut, version: i16) {
        let w = &mut Writer::new(buf, Self::API_KEY.is_flexible(version));
        w.string_array(&self.topic_names);
        w.i32(self.timeout_ms);
        w.tags();
    }
}

/// DeleteTopics response.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct DeleteTopicsResponse {
    /// Quota throttle (v1+).
    pub throttle_time_ms: i32,
    /// Result per topic.
    pub responses: Vec<DeletableTopicResult>,
}

/// One topic's deletion result.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct DeletableTopicResult {
    /// Topic name.
    pub name: String,
    /// See [`crate::ErrorCode`].
    pub error_code: i16,
}

impl Message for DeleteTopicsResponse {
    const API_KEY: ApiKey = ApiKey::DeleteTopics;

    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        let r = &mut Reader::new(buf, Self::API_KEY.is_flexible(version));
        let throttle_time_ms = if version >= 1 { r.i32()? } else { 0 };
        let responses = r.array(|r| {
            let name = r.string()?;
            let error_code = r.i16()?;
            r.tags()?;
            Ok(DeletableTopicResult { name, error_code })
        })?;
        r.tags()?;
        Ok(Self {
            throttle_time_ms,
            responses,
        })
    }

    fn encode(&self, buf: &mut BytesMut, version: i16) {
        let w = &mut Writer::new(buf, Self::API_KEY.is_flexible(version));
        if version >= 1 {
            w.i32(self.throttle_time_ms);
        }
        w.array(&self.responses, |w, t| {
            w.string(&t.name);
            w.i16(t.error_code);
            w.tags();
        });
        w.tags();
    }
}
