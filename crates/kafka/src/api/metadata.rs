//! Metadata (api key 3), versions 1-8.

use bytes::{Bytes, BytesMut};

use crate::wire::{Message, Reader, Writer};
use crate::{ApiKey, DecodeError};

/// Metadata request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetadataRequest {
    /// Topic names; null means all topics, empty means none (v1+).
    pub topics: Option<Vec<String>>,
    /// Whether the broker may auto-create the named topics (v4+, default true).
    pub allow_auto_topic_creation: bool,
    /// v8+.
    pub include_cluster_authorized_operations: bool,
    /// v8+.
    pub include_topic_authorized_operations: bool,
}

impl Default for MetadataRequest {
    fn default() -> Self {
        Self {
            topics: None,
            allow_auto_topic_creation: true,
            include_cluster_authorized_operations: false,
            include_topic_authorized_operations: false,
        }
    }
}

impl Message for MetadataRequest {
    const API_KEY: ApiKey = ApiKey::Metadata;

    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        let r = &mut Reader::new(buf, Self::API_KEY.is_flexible(version));
        let mut req = MetadataRequest {
            topics: r.nullable_array(|r| {
                let name = r.string()?;
                r.tags()?;
                Ok(name)
            })?,
            ..MetadataRequest::default()
        };
        if version >= 4 {
            req.allow_auto_topic_creation = r.bool()?;
        }
        if version >= 8 {
            req.include_cluster_authorized_operations = r.bool()?;
            req.include_topic_authorized_operations = r.bool()?;
        }
        r.tags()?;
        Ok(req)
    }

    fn encode(&self, buf: &mut BytesMut, version: i16) {
        let w = &mut Writer::new(buf, Self::API_KEY.is_flexible(version));
        w.nullable_array(self.topics.as_deref(), |w, name| {
            w.string(name);
            w.tags();
        });
        if version >= 4 {
            w.bool(self.allow_auto_topic_creation);
        }
        if version >= 8 {
            w.bool(self.include_cluster_authorized_operations);
            w.bool(self.include_topic_authorized_operations);
        }
        w.tags();
    }
}

/// "Authorized operations not requested": Kafka's default for the bitfields.
pub const AUTHORIZED_OPERATIONS_OMITTED: i32 = i32::MIN;

/// Metadata response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetadataResponse {
    /// Quota throttle (v3+).
    pub throttle_time_ms: i32,
    /// Brokers in the cluster.
    pub brokers: Vec<MetadataBroker>,
    /// Cluster id (v2+).
    pub cluster_id: Option<String>,
    /// Controller node id (v1+, default -1).
    pub controller_id: i32,
    /// Topics.
    pub topics: Vec<MetadataTopic>,
    /// v8+, default [`AUTHORIZED_OPERATIONS_OMITTED`].
    pub cluster_authorized_operations: i32,
}

impl Default for MetadataResponse {
    fn default() -> Self {
        Self {
            throttle_time_ms: 0,
            brokers: Vec::new(),
            cluster_id: None,
            controller_id: -1,
            topics: Vec::new(),
            cluster_authorized_operations: AUTHORIZED_OPERATIONS_OMITTED,
        }
    }
}

/// A broker in a metadata response.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct MetadataBroker {
    /// Node id.
    pub node_id: i32,
    /// Host clients connect to.
    pub host: String,
    /// Port.
    pub port: i32,
    /// Rack (v1+).
    pub rack: Option<String>,
}

/// A topic in a metadata response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetadataTopic {
    /// See [`crate::ErrorCode`].
    pub error_code: i16,
    /// Topic name.
    pub name: String,
    /// Internal topic (v1+).
    pub is_internal: bool,
    /// Partitions.
    pub partitions: Vec<MetadataPartition>,
    /// v8+, default [`AUTHORIZED_OPERATIONS_OMITTED`].
    pub topic_authorized_operations: i32,
}

impl Default for MetadataTopic {
    fn default() -> Self {
        Self {
            error_code: 0,
            name: String::new(),
            is_internal: false,
            partitions: Vec::new(),
            topic_authorized_operations: AUTHORIZED_OPERATIONS_OMITTED,
        }
    }
}

/// A partition in a metadata response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetadataPartition {
    /// See [`crate::ErrorCode`].
    pub error_code: i16,
    /// Partition index.
    pub partition_index: i32,
    /// Leader node id.
    pub leader_id: i32,
    /// Leader epoch (v7+, default -1; Sluice reports -1).
    pub leader_epoch: i32,
    /// Replica node ids.
    pub replica_nodes: Vec<i32>,
    /// In-sync replica node ids.
    pub isr_nodes: Vec<i32>,
    /// Offline replica node ids (v5+).
    pub offline_replicas: Vec<i32>,
}

impl Default for MetadataPartition {
    fn default() -> Self {
        Self {
            error_code: 0,
            partition_index: 0,
            leader_id: -1,
            leader_epoch: -1,
            replica_nodes: Vec::new(),
            isr_nodes: Vec::new(),
            offline_replicas: Vec::new(),
        }
    }
}

impl Message for MetadataResponse {
    const API_KEY: ApiKey = ApiKey::Metadata;

    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        let r = &mut Reader::new(buf, Self::API_KEY.is_flexible(version));
        let mut resp = MetadataResponse::default();
        if version >= 3 {
            resp.throttle_time_ms = r.i32()?;
        }
        resp.brokers = r.array(|r| {
            let node_id = r.i32()?;
            let host = r.string()?;
            let port = r.i32()?;
            let rack = if version >= 1 {
                r.nullable_string()?
            } else {
                None
            };
            r.tags()?;
            Ok(MetadataBroker {
                node_id,
                host,
                port,
                rack,
            })
        })?;
        if version >= 2 {
            resp.cluster_id = r.nullable_string()?;
        }
        if version >= 1 {
            resp.controller_id = r.i32()?;
        }
        resp.topics = r.array(|r| decode_topic(r, version))?;
        if version >= 8 {
            resp.cluster_authorized_operations = r.i32()?;
        }
        r.tags()?;
        Ok(resp)
    }

    fn encode(&self, buf: &mut BytesMut, version: i16) {
        let w = &mut Writer::new(buf, Self::API_KEY.is_flexible(version));
        if version >= 3 {
            w.i32(self.throttle_time_ms);
        }
        w.array(&self.brokers, |w, b| {
            w.i32(b.node_id);
            w.string(&b.host);
            w.i32(b.port);
            if version >= 1 {
                w.nullable_string(b.rack.as_deref());
            }
            w.tags();
        });
        if version >= 2 {
            w.nullable_string(self.cluster_id.as_deref());
        }
        if version >= 1 {
            w.i32(self.controller_id);
        }
        w.array(&self.topics, |w, t| encode_topic(w, t, version));
        if version >= 8 {
            w.i32(self.cluster_authorized_operations);
        }
        w.tags();
    }
}

fn decode_topic(r: &mut Reader<'_>, version: i16) -> Result<MetadataTopic, DecodeError> {
    let mut t = MetadataTopic {
        error_code: r.i16()?,
        name: r.string()?,
        ..MetadataTopic::default()
    };
    if version >= 1 {
        t.is_internal = r.bool()?;
    }
    t.partitions = r.array(|r| {
        let mut p = MetadataPartition {
            error_code: r.i16()?,
            partition_index: r.i32()?,
            leader_id: r.i32()?,
            ..MetadataPartition::default()
        };
        if version >= 7 {
            p.leader_epoch = r.i32()?;
        }
        p.replica_nodes = r.i32_array()?;
        p.isr_nodes = r.i32_array()?;
        if version >= 5 {
            p.offline_replicas = r.i32_array()?;
        }
        r.tags()?;
        Ok(p)
    })?;
    if version >= 8 {
        t.topic_authorized_operations = r.i32()?;
    }
    r.tags()?;
    Ok(t)
}

fn encode_topic(w: &mut Writer<'_>, t: &MetadataTopic, version: i16) {
    w.i16(t.error_code);
    w.string(&t.name);
    if version >= 1 {
        w.bool(t.is_internal);
    }
    w.array(&t.partitions, |w, p| {
        w.i16(p.error_code);
        w.i32(p.partition_index);
        w.i32(p.leader_id);
        if version >= 7 {
            w.i32(p.leader_epoch);
        }
        w.i32_array(&p.replica_nodes);
        w.i32_array(&p.isr_nodes);
        if version >= 5 {
            w.i32_array(&p.offline_replicas);
        }
        w.tags();
    });
    if version >= 8 {
        w.i32(t.topic_authorized_operations);
    }
    w.tags();
}
