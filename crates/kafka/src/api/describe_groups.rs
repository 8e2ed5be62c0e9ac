//! DescribeGroups (api key 15), versions 0-4.

use bytes::{Bytes, BytesMut};

use crate::wire::{Message, Reader, Writer};
use crate::{ApiKey, DecodeError};

/// DescribeGroups request.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct DescribeGroupsRequest {
    /// Group ids.
    pub groups: Vec<String>,
    /// v3+.
    pub include_authorized_operations: bool,
}

impl Message for DescribeGroupsRequest {
    const API_KEY: ApiKey = ApiKey::DescribeGroups;

    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        let r = &mut Reader::new(buf, Self::API_KEY.is_flexible(version));
        let groups = r.string_array()?;
        let include_authorized_operations = if version >= 3 { r.bool()? } else { false };
        r.tags()?;
        Ok(Self {
            groups,
            include_authorized_operations,
        })
    }

    fn encode(&self, buf: &mut BytesMut, version: i16) {
        let w = &mut Writer::new(buf, Self::API_KEY.is_flexible(version));
        w.string_array(&self.groups);
        if version >= 3 {
            w.bool(self.include_authorized_operations);
        }
        w.tags();
    }
}

/// DescribeGroups response.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct DescribeGroupsResponse {
    /// Quota throttle (v1+).
    pub throttle_time_ms: i32,
    /// One entry per requested group.
    pub groups: Vec<DescribedGroup>,
}

/// A described group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DescribedGroup {
    /// See [`crate::ErrorCode`].
    pub error_code: i16,
    /// Group id.
    pub group_id: String,
    /// "Stable", "PreparingRebalance", "CompletingRebalance", "Empty", "Dead".
    pub group_state: String,
    /// "consumer" or empty.
    pub protocol_type: String,
    /// Chosen protocol name, when stable.
    pub protocol_data: String,
    /// Members.
    pub members: Vec<DescribedGroupMember>,
    /// v3+, default `i32::MIN` (not requested).
    pub authorized_operations: i32,
}

impl Default for DescribedGroup {
    fn default() -> Self {
        Self {
            error_code: 0,
            group_id: String::new(),
            group_state: String::new(),
            protocol_type: String::new(),
            protocol_data: String::new(),
            members: Vec::new(),
            authorized_operations: i32::MIN,
        }
    }
}

/// A member of a described group.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct DescribedGroupMember {
    /// Member id.
    pub member_id: String,
    /// Static membership id (v4+).
    pub group_instance_id: Option<String>,
    /// Client id from the member's last JoinGroup.
    pub client_id: String,
    /// Client host.
    pub client_host: String,
    /// Protocol metadata.
    pub member_metadata: Bytes,
    /// Current assignment.
    pub member_assignment: Bytes,
}

impl Message for DescribeGroupsResponse {
    const API_KEY: ApiKey = ApiKey::DescribeGroups;

    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        let r = &mut Reader::new(buf, Self::API_KEY.is_flexible(version));
        let throttle_time_ms = if version >= 1 { r.i32()? } else { 0 };
        let groups = r.array(|r| {
            let mut g = DescribedGroup {
                error_code: r.i16()?,
                group_id: r.string()?,
                group_state: r.string()?,
                protocol_type: r.string()?,
                protocol_data: r.string()?,
                ..DescribedGroup::default()
            };
            g.members = r.array(|r| {
                let member_id = r.string()?;
                let group_instance_id = if version >= 4 {
                    r.nullable_string()?
                } else {
                    None
                };
                let client_id = r.string()?;
                let client_host = r.string()?;
                let member_metadata = r.bytes()?;
                let member_assignment = r.bytes()?;
                r.tags()?;
                Ok(DescribedGroupMember {
                    member_id,
                    group_instance_id,
                    client_id,
                    client_host,
                    member_metadata,
                    member_assignment,
                })
            })?;
            if version >= 3 {
                g.authorized_operations = r.i32()?;
            }
            r.tags()?;
            Ok(g)
        })?;
        r.tags()?;
        Ok(Self {
            throttle_time_ms,
            groups,
        })
    }

    fn encode(&self, buf: &mut BytesMut, version: i16) {
        let w = &mut Writer::new(buf, Self::API_KEY.is_flexible(version));
        if version >= 1 {
            w.i32(self.throttle_time_ms);
        }
        w.array(&self.groups, |w, g| {
            w.i16(g.error_code);
            w.string(&g.group_id);
            w.string(&g.group_state);
            w.string(&g.protocol_type);
            w.string(&g.protocol_data);
            w.array(&g.members, |w, m| {
                w.string(&m.member_id);
                if version >= 4 {
                    w.nullable_string(m.group_instance_id.as_deref());
                }
                w.string(&m.client_id);
                w.string(&m.client_host);
                w.bytes(&m.member_metadata);
                w.bytes(&m.member_assignment);
                w.tags();
            });
            if version >= 3 {
                w.i32(g.authorized_operations);
            }
            w.tags();
        });
        w.tags();
    }
}
