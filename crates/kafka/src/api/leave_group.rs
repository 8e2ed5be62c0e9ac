//! LeaveGroup (api key 13), versions 0-3: v0-2 name one member, v3 a list.

use bytes::{Bytes, BytesMut};

use crate::wire::{Message, Reader, Writer};
use crate::{ApiKey, DecodeError};

/// LeaveGroup request.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct LeaveGroupRequest {
    /// Group id.
    pub group_id: String,
    /// The leaving member (v0-2).
    pub member_id: String,
    /// The leaving members (v3+).
    pub members: Vec<LeaveGroupMember>,
}

/// A leaving member (v3+).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct LeaveGroupMember {
    /// Member id.
    pub member_id: String,
    /// Static membership id.
    pub group_instance_id: Option<String>,
}

impl Message for LeaveGroupRequest {
    const API_KEY: ApiKey = ApiKey::LeaveGroup;

    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        let r = &mut Reader::new(buf, Self::API_KEY.is_flexible(version));
        let mut req = LeaveGroupRequest {
            group_id: r.string()?,
            ..LeaveGroupRequest::default()
        };
        if version <= 2 {
            req.member_id = r.string()?;
        } else {
            req.members = r.array(|r| {
                let member_id = r.string()?;
                let group_instance_id = r.nullable_string()?;
                r.tags()?;
                Ok(LeaveGroupMember {
                    member_id,
                    group_instance_id,
                })
            })?;
        }
        r.tags()?;
        Ok(req)
    }

    fn encode(&self, buf: &mut BytesMut, version: i16) {
        let w = &mut Writer::new(buf, Self::API_KEY.is_flexible(version));
        w.string(&self.group_id);
        if version <= 2 {
            w.string(&self.member_id);
        } else {
            w.array(&self.members, |w, m| {
                w.string(&m.member_id);
                w.nullable_string(m.group_instance_id.as_deref());
                w.tags();
            });
        }
        w.tags();
    }
}

/// LeaveGroup response.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct LeaveGroupResponse {
    /// Quota throttle (v1+).
    pub throttle_time_ms: i32,
    /// See [`crate::ErrorCode`].
    pub error_code: i16,
    /// Per-member results (v3+).
    pub members: Vec<LeaveGroupMemberResponse>,
}

/// A per-member LeaveGroup result (v3+).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct LeaveGroupMemberResponse {
    /// Member id.
    pub member_id: String,
    /// Static membership id.
    pub group_instance_id: Option<String>,
    /// See [`crate::ErrorCode`].
    pub error_code: i16,
}

impl Message for LeaveGroupResponse {
    const API_KEY: ApiKey = ApiKey::LeaveGroup;

    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        let r = &mut Reader::new(buf, Self::API_KEY.is_flexible(version));
        let throttle_time_ms = if version >= 1 { r.i32()? } else { 0 };
        let error_code = r.i16()?;
        let members = if version >= 3 {
            r.array(|r| {
                let member_id = r.string()?;
                let group_instance_id = r.nullable_string()?;
                let error_code = r.i16()?;
                r.tags()?;
                Ok(LeaveGroupMemberResponse {
                    member_id,
                    group_instance_id,
                    error_code,
                })
            })?
        } else {
            Vec::new()
        };
        r.tags()?;
        Ok(Self {
            throttle_time_ms,
            error_code,
            members,
        })
    }

    fn encode(&self, buf: &mut BytesMut, version: i16) {
        let w = &mut Writer::new(buf, Self::API_KEY.is_flexible(version));
        if version >= 1 {
            w.i32(self.throttle_time_ms);
        }
        w.i16(self.error_code);
        if version >= 3 {
            w.array(&self.members, |w, m| {
                w.string(&m.member_id);
                w.nullable_string(m.group_instance_id.as_deref());
                w.i16(m.error_code);
                w.tags();
            });
        }
        w.tags();
    }
}
