//! SyncGroup (api key 14), versions 0-3. Assignments are opaque bytes,
//! zero-copy slices of the request.

use bytes::{Bytes, BytesMut};

use crate::wire::{Message, Reader, Writer};
use crate::{ApiKey, DecodeError};

/// SyncGroup request.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SyncGroupRequest {
    /// Group id.
    pub group_id: String,
    /// Member's generation.
    pub generation_id: i32,
    /// Member id.
    pub member_id: String,
    /// Static membership id (v3+).
    pub group_instance_id: Option<String>,
    /// The leader's assignment per member; empty from followers.
    pub assignments: Vec<SyncGroupAssignment>,
}

/// One member's assignment, sent by the leader.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SyncGroupAssignment {
    /// Member id.
    pub member_id: String,
    /// Opaque assignment.
    pub assignment: Bytes,
}

impl Message for SyncGroupRequest {
    const API_KEY: ApiKey = ApiKey::SyncGroup;

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
        let assignments = r.array(|r| {
            let member_id = r.string()?;
            let assignment = r.bytes()?;
            r.tags()?;
            Ok(SyncGroupAssignment {
                member_id,
                assignment,
            })
        })?;
        r.tags()?;
        Ok(Self {
            group_id,
            generation_id,
            member_id,
            group_instance_id,
            assignments,
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
        w.array(&self.assignments, |w, a| {
            w.string(&a.member_id);
            w.bytes(&a.assignment);
            w.tags();
        });
        w.tags();
    }
}

/// SyncGroup response.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SyncGroupResponse {
    /// Quota throttle (v1+).
    pub throttle_time_ms: i32,
    /// See [`crate::ErrorCode`].
    pub error_code: i16,
    /// This member's assignment.
    pub assignment: Bytes,
}

impl Message for SyncGroupResponse {
    const API_KEY: ApiKey = ApiKey::SyncGroup;

    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        let r = &mut Reader::new(buf, Self::API_KEY.is_flexible(version));
        let throttle_time_ms = if version >= 1 { r.i32()? } else { 0 };
        let error_code = r.i16()?;
        let assignment = r.bytes()?;
        r.tags()?;
        Ok(Self {
            throttle_time_ms,
            error_code,
            assignment,
        })
    }

    fn encode(&self, buf: &mut BytesMut, version: i16) {
        let w = &mut Writer::new(buf, Self::API_KEY.is_flexible(version));
        if version >= 1 {
            w.i32(self.throttle_time_ms);
        }
        w.i16(self.error_code);
        w.bytes(&self.assignment);
        w.tags();
    }
}
