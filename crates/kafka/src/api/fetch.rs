//! Fetch request (api key 1), versions 4-11. The response, with its
//! sendfile-friendly parts encoder, is in `fetch_response`.

use bytes::{Bytes, BytesMut};

use crate::wire::{Message, Reader, Writer};
use crate::{ApiKey, DecodeError};

/// Fetch request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchRequest {
    /// -1 for consumers.
    pub replica_id: i32,
    /// Longest the broker may wait for `min_bytes`.
    pub max_wait_ms: i32,
    /// Bytes to accumulate before answering.
    pub min_bytes: i32,
    /// Response size limit (v3+, default `i32::MAX`).
    pub max_bytes: i32,
    /// 0 read uncommitted, 1 read committed (v4+).
    pub isolation_level: i8,
    /// Fetch session id, 0 for none (v7+).
    pub session_id: i32,
    /// Fetch session epoch, -1 for a full sessionless fetch (v7+).
    pub session_epoch: i32,
    /// Partitions to fetch, per topic.
    pub topics: Vec<FetchTopic>,
    /// Incremental fetch: partitions to drop from the session (v7+).
    pub forgotten_topics: Vec<ForgottenTopic>,
    /// Consumer's rack (v11+).
    pub rack_id: String,
}

impl Default for FetchRequest {
    fn default() -> Self {
        Self {
            replica_id: -1,
            max_wait_ms: 0,
            min_bytes: 0,
            max_bytes: i32::MAX,
            isolation_level: 0,
            session_id: 0,
            session_epoch: -1,
            topics: Vec::new(),
            forgotten_topics: Vec::new(),
            rack_id: String::new(),
        }
    }
}

/// One topic in a fetch request.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct FetchTopic {
    /// Topic name.
    pub name: String,
    /// Partitions to fetch.
    pub partitions: Vec<FetchPartition>,
}

/// One partition in a fetch request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchPartition {
    /// Partition index.
    pub partition: i32,
    /// Leader epoch the client knows (v9+, default -1).
    pub current_leader_epoch: i32,
    /// First offset wanted.
    pub fetch_offset: i64,
    /// Follower's log start offset (v5+, default -1).
    pub log_start_offset: i64,
    /// Byte limit for this partition.
    pub partition_max_bytes: i32,
}

impl Default for FetchPartition {
    fn default() -> Self {
        Self {
            partition: 0,
            current_leader_epoch: -1,
            fetch_offset: 0,
            log_start_offset: -1,
            partition_max_bytes: 0,
        }
    }
}

/// Partitions an incremental fetch removes from its session (v7+).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ForgottenTopic {
    /// Topic name.
    pub name: String,
    /// Partition indexes.
    pub partitions: Vec<i32>,
}

impl Message for FetchRequest {
    const API_KEY: ApiKey = ApiKey::Fetch;

    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        let r = &mut Reader::new(buf, Self::API_KEY.is_flexible(version));
        let mut req = FetchRequest {
            replica_id: r.i32()?,
            max_wait_ms: r.i32()?,
            min_bytes: r.i32()?,
            ..FetchRequest::default()
        };
        if version >= 3 {
            req.max_bytes = r.i32()?;
        }
        if version >= 4 {
            req.isolation_level = r.i8()?;
        }
        if version >= 7 {
            req.session_id = r.i32()?;
            req.session_epoch = r.i32()?;
        }
        req.topics = r.array(|r| {
            let name = r.string()?;
            let partitions = r.array(|r| decode_partition(r, version))?;
            r.tags()?;
            Ok(FetchTopic { name, partitions })
        })?;
        if version >= 7 {
            req.forgotten_topics = r.array(|r| {
                let name = r.string()?;
                let partitions = r.i32_array()?;
                r.tags()?;
                Ok(ForgottenTopic { name, partitions })
            })?;
        }
        if version >= 11 {
            req.rack_id = r.string()?;
        }
        r.tags()?;
        Ok(req)
    }

    fn encode(&self, buf: &mut BytesMut, version: i16) {
        let w = &mut Writer::new(buf, Self::API_KEY.is_flexible(version));
        w.i32(self.replica_id);
        w.i32(self.max_wait_ms);
        w.i32(self.min_bytes);
        if version >= 3 {
            w.i32(self.max_bytes);
        }
        if version >= 4 {
            w.i8(self.isolation_level);
        }
        if version >= 7 {
            w.i32(self.session_id);
            w.i32(self.session_epoch);
        }
        w.array(&self.topics, |w, t| {
            w.string(&t.name);
            w.array(&t.partitions, |w, p| encode_partition(w, p, version));
            w.tags();
        });
        if version >= 7 {
            w.array(&self.forgotten_topics, |w, t| {
                w.string(&t.name);
                w.i32_array(&t.partitions);
                w.tags();
            });
        }
        if version >= 11 {
            w.string(&self.rack_id);
        }
        w.tags();
    }
}

fn decode_partition(r: &mut Reader<'_>, version: i16) -> Result<FetchPartition, DecodeError> {
    let mut p = FetchPartition {
        partition: r.i32()?,
        ..FetchPartition::default()
    };
    if version >= 9 {
        p.current_leader_epoch = r.i32()?;
    }
    p.fetch_offset = r.i64()?;
    if version >= 5 {
        p.log_start_offset = r.i64()?;
    }
    p.partition_max_bytes = r.i32()?;
    r.tags()?;
    Ok(p)
}

fn encode_partition(w: &mut Writer<'_>, p: &FetchPartition, version: i16) {
    w.i32(p.partition);
    if version >= 9 {
        w.i32(p.current_leader_epoch);
    }
    w.i64(p.fetch_offset);
    if version >= 5 {
        w.i64(p.log_start_offset);
    }
    w.i32(p.partition_max_bytes);
    w.tags();
}
