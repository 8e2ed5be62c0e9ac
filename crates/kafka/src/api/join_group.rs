//! JoinGroup (api key 11), versions 0-5. Protocol metadata is opaque bytes,
//! zero-copy slices of the request.

use bytes::{Bytes, BytesMut};

use crate::wire::{Message, Reader, Writer};
use crate::{ApiKey, DecodeError};

/// JoinGroup request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JoinGroupRequest {
    /// Group id.
    pub group_id: String,
    /// Member expires after this long without a heartbeat.
    pub session_timeout_ms: i32,
    /// How long a rebalance waits for members to rejoin (v1+; default -1,
    /// meaning use `session_timeout_ms`).
    pub rebalance_timeout_ms: i32,
    /// Empty on first join.
    pub member_id: String,
    /// Static membership id (v5+).
    pub group_instance_id: Option<String>,
    /// "consumer" for Kafka consumers.
    pub protocol_type: String,
    /// Assignment protocols the member supports, preferred first.
    pub protocols: Vec<JoinGroupProtocol>,
}

impl Default for JoinGroupRequest {
    fn default() -> Self {
        Self {
            group_id: String::new(),
            session_timeout_ms: 0,
            rebalance_timeout_ms: -1,
            member_id: String::new(),
            group_instance_id: None,
            protocol_type: String::new(),
            protocols: Vec::new(),
        }
    }
}

/// One protocol a joining member supports.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct JoinGroupProtocol {
    /// Protocol name ("range", "roundrobin", ...).
    pub name: String,
    /// Opaque subscription metadata.
    pub metadata: Bytes,
}

impl Message for JoinGroupRequest {
    const API_KEY: ApiKey = ApiKey::JoinGroup;

    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        let r = &mut Reader::new(buf, Self::API_KEY.is_flexible(version));
        let mut req = JoinGroupRequest {
            group_id: r.string()?,
            session_timeout_ms: r.i32()?,
            ..JoinGroupRequest::default()
        };
        if version >= 1 {
            req.rebalance_timeout_ms = r.i32()?;
        }
        req.member_id = r.string()?;
        if version >= 5 {
            req.group_instance_id = r.nullable_string()?;
        }
        req.protocol_type = r.string()?;
        req.protocols = r.array(|r| {
            let name = r.string()?;
            let metadata = r.bytes()?;
            r.tags()?;
            Ok(JoinGroupProtocol { name, metadata })
        })?;
        r.tags()?;
        Ok(req)
    }

    fn encode(&self, buf: &mut BytesMut, version: i16) {
        let w = &mut Writer::new(buf, Self::API_KEY.is_flexible(version));
        w.string(&self.group_id);
        w.i32(self.session_timeout_ms);
        if version >= 1 {
            w.i32(self.rebalance_timeout_ms);
        }
        w.string(&self.member_id);
        if version >= 5 {
            w.nullable_string(self.group_instance_id.as_deref());
        }
        w.string(&self.protocol_type);
        w.array(&self.protocols, |w, p| {
            w.string(&p.name);
            w.bytes(&p.metadata);
            w.tags();
        });
        w.tags();
    }
}

/// JoinGroup response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JoinGroupResponse {
    /// Quota throttle (v2+).
    pub throttle_time_ms: i32,
    /// See [`crate::ErrorCode`].
    pub error_code: i16,
    /// Generation of the group, -1 on error.
    pub generation_id: i32,
    /// Chosen protocol.
    pub protocol_name: String,
    /// Leader's member id.
    pub leader: String,
    /// This member's id (also set with MEMBER_ID_REQUIRED).
    pub member_id: String,
    /// All members with their metadata for the leader; empty for followers.
    pub members: Vec<JoinGroupMember>,
}

impl Default for JoinGroupResponse {
    fn default() -> Self {
        Self {
            throttle_time_ms: 0,
            error_code: 0,
            generation_id: -1,
            protocol_name: String::new(),
            leader: String::new(),
            member_id: String::new(),
            members: Vec::new(),
        }
    }
}

/// A member listed to the leader in a JoinGroup response.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct JoinGroupMember {
    /// Member id.
    pub member_id: String,
    /// Static membership id (v5+).
    pub group_instance_id: Option<String>,
    /// The member's metadata for the chosen protocol.
    pub metadata: Bytes,
}

impl Message for JoinGroupResponse {
    const API_KEY: ApiKey = ApiKey::JoinGroup;

    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        let r = &mut Reader::new(buf, Self::API_KEY.is_flexible(version));
        let throttle_time_ms = if version >= 2 { r.i32()? } else { 0 };
        let error_code = r.i16()?;
        let generation_id = r.i32()?;
        let protocol_name = r.string()?;
        let leader = r.string()?;
        let member_id = r.string()?;
        let members = r.array(|r| {
            let member_id = r.string()?;
            let group_instance_id = if version >= 5 {
                r.nullable_string()?
            } else {
                None
            };
            let metadata = r.bytes()?;
            r.tags()?;
            Ok(JoinGroupMember {
                member_id,
                group_instance_id,
                metadata,
            })
        })?;
        r.tags()?;
        Ok(Self {
            throttle_time_ms,
            error_code,
            generation_id,
            protocol_name,
            leader,
            member_id,
            members,
        })
    }

    fn encode(&self, buf: &mut BytesMut, version: i16) {
        let w = &mut Writer::new(buf, Self::API_KEY.is_flexible(version));
        if version >= 2 {
            w.i32(self.throttle_time_ms);
        }
        w.i16(self.error_code);
        w.i32(self.generation_id);
        w.string(&self.protocol_name);
        w.string(&self.leader);
        w.string(&self.member_id);
        w.array(&self.members, |w, m| {
            w.string(&m.member_id);
            if version >= 5 {
                w.nullable_string(m.group_instance_id.as_deref());
            }
            w.bytes(&m.metadata);
            w.tags();
        });
        w.tags();
    }
}
