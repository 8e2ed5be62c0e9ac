//! ListGroups (api key 16), versions 0-2. The request has no fields.

use bytes::{Bytes, BytesMut};

use crate::wire::{Message, Reader, Writer};
use crate::{ApiKey, DecodeError};

/// ListGroups request (empty in v0-2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ListGroupsRequest;

impl Message for ListGroupsRequest {
    const API_KEY: ApiKey = ApiKey::ListGroups;

    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        Reader::new(buf, Self::API_KEY.is_flexible(version)).tags()?;
        Ok(Self)
    }

    fn encode(&self, buf: &mut BytesMut, version: i16) {
        Writer::new(buf, Self::API_KEY.is_flexible(version)).tags();
    }
}

/// ListGroups response.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ListGroupsResponse {
    /// Quota throttle (v1+).
    pub throttle_time_ms: i32,
    /// See [`crate::ErrorCode`].
    pub error_code: i16,
    /// Groups.
    pub groups: Vec<ListedGroup>,
}

/// A listed group.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ListedGroup {
    /// Group id.
    pub group_id: String,
    /// "consumer" or empty.
    pub protocol_type: String,
}

impl Message for ListGroupsResponse {
    const API_KEY: ApiKey = ApiKey::ListGroups;

    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        let r = &mut Reader::new(buf, Self::API_KEY.is_flexible(version));
        let throttle_time_ms = if version >= 1 { r.i32()? } else { 0 };
        let error_code = r.i16()?;
        let groups = r.array(|r| {
            let group_id = r.string()?;
            let protocol_type = r.string()?;
            r.tags()?;
            Ok(ListedGroup {
                group_id,
                protocol_type,
            })
        })?;
        r.tags()?;
        Ok(Self {
            throttle_time_ms,
            error_code,
            groups,
        })
    }

    fn encode(&self, buf: &mut BytesMut, version: i16) {
        let w = &mut Writer::new(buf, Self::API_KEY.is_flexible(version));
        if version >= 1 {
            w.i32(self.throttle_time_ms);
        }
        w.i16(self.error_code);
        w.array(&self.groups, |w, g| {
            w.string(&g.group_id);
            w.string(&g.protocol_type);
            w.tags();
        });
        w.tags();
    }
}
