//! A small in-memory broker speaking the native protocol, for testing the
//! client without the real broker.
//!
//! Per connection, a reader task reads request frames and hands them, in
//! order, to a responder task that (after an optional delay) answers them
//! one by one, as the real broker answers a connection's requests in order.
//! The reader counts how many requests were read but not yet answered, so
//! tests can see that the client pipelines.
// Each test binary uses a different subset; fixture failures may panic.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

/// A stored record: (offset, key, value).
pub type Stored = (i64, Option<Vec<u8>>, Option<Vec<u8>>);

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use prost::Message;
use sluice_protocol::{ApiKey, ErrorCode, RequestHeader, consts, io, pb};
use sluice_record::{BatchIter, RecordBatch, set_base_offset};
use tokio::net::TcpListener;
use tokio::sync::{Notify, mpsc};

/// Every test finishes well within this, or fails.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(20);

/// Runs `f` with the test timeout.
pub async fn bounded<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(TEST_TIMEOUT, f)
        .await
        .expect("test timed out")
}

/// An uncompressed batch of unkeyed `values`.
pub fn values_batch(values: &[&str]) -> Vec<u8> {
    let mut b = sluice_record::BatchBuilder::new();
    for (i, v) in values.iter().enumerate() {
        b.append(1_000 + i as i64, None, Some(v.as_bytes()), &[]);
    }
    b.build().to_vec()
}

#[derive(Debug, Default)]
pub struct Log {
    /// (base offset, batch bytes with the base offset set)
    pub batches: Vec<(i64, Bytes)>,
    pub next_offset: i64,
}

#[derive(Debug, Default)]
pub struct Inner {
    pub topics: BTreeMap<String, Vec<Log>>,
    /// Error codes answered to the next produce requests, in order,
    /// instead of appending.
    pub produce_errors: VecDeque<ErrorCode>,
    /// Every produce request seen: (partition, acks, batch count).
    pub produce_log: Vec<(u32, i32, usize)>,
    pub responses_sent: usize,
    pub outstanding: usize,
    pub max_outstanding: usize,
    pub commits: HashMap<(String, String, u32), i64>,
    /// Delay before each response.
    pub delay: Duration,
    pub fetches: usize,
    /// Close the connection instead of answering the next N produce
    /// requests (as a crashing broker would), without appending.
    pub drop_produces: usize,
}

#[derive(Debug, Default)]
pub struct State {
    inner: Mutex<Inner>,
    appended: Notify,
}

impl State {
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap()
    }
}

#[derive(Debug)]
pub struct FakeBroker {
    pub addr: String,
    pub state: Arc<State>,
}

impl FakeBroker {
    pub async fn start() -> FakeBroker {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let state = Arc::new(State::default());
        let accept_state = Arc::clone(&state);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = Arc::clone(&accept_state);
                tokio::spawn(serve(stream, state));
            }
        });
        FakeBroker { addr, state }
    }

    pub fn create_topic(&self, name: &str, partitions: u32) {
        let logs = (0..partitions).map(|_| Log::default()).collect();
        self.state.lock().topics.insert(name.to_owned(), logs);
    }

    /// Appends a batch directly, as if produced; returns its base offset.
    pub fn append(&self, topic: &str, partition: u32, batch: &[u8]) -> i64 {
        let base = append(&mut self.state.lock(), topic, partition, batch).unwrap();
        self.state.appended.notify_waiters();
        base
    }

    /// Every stored record of a partition as (offset, key, value).
    pub fn records(&self, topic: &str, partition: u32) -> Vec<Stored> {
        let inner = self.state.lock();
        let mut out = Vec::new();
        for (_, bytes) in &inner.topics[topic][partition as usize].batches {
            let batch = RecordBatch::parse(bytes).unwrap();
            for r in batch.records().unwrap() {
                let r = r.unwrap();
                out.push((
                    r.offset(batch.header()),
                    r.key.map(<[u8]>::to_vec),
                    r.value.map(<[u8]>::to_vec),
                ));
            }
        }
        out
    }
}

fn append(inner: &mut Inner, topic: &str, partition: u32, batch: &[u8]) -> Result<i64, ErrorCode> {
    let log = inner
        .topics
        .get_mut(topic)
        .and_then(|t| t.get_mut(partition as usize))
        .ok_or(ErrorCode::UnknownTopicOrPartition)?;
    let count = RecordBatch::parse(batch)
        .map_err(|_| ErrorCode::CorruptMessage)?
        .header()
        .records_count;
    let mut bytes = batch.to_vec();
    let base = log.next_offset;
    set_base_offset(&mut bytes, base).unwrap();
    log.batches.push((base, Bytes::from(bytes)));
    log.next_offset += i64::from(count);
    Ok(base)
}

async fn serve(stream: tokio::net::TcpStream, state: Arc<State>) {
    let (mut read, mut write) = stream.into_split();
    let (tx, mut rx) = mpsc::unbounded_channel::<(RequestHeader, Bytes)>();
    let responder_state = Arc::clone(&state);
    tokio::spawn(async move {
        while let Some((header, body)) = rx.recv().await {
            let delay = responder_state.lock().delay;
            tokio::time::sleep(delay).await;
            let drop_it = header.api_key == ApiKey::Produce.as_u16() && {
                let mut inner = responder_state.lock();
                let drop_it = inner.drop_produces > 0;
                inner.drop_produces = inner.drop_produces.saturating_sub(1);
                drop_it
            };
            if drop_it {
                // Dropping the write half closes the client's read side.
                return;
            }
            let reply = handle(&responder_state, &header, body).await;
            {
                let mut inner = responder_state.lock();
                inner.outstanding -= 1;
            }
            if let Some((body, trailing)) = reply {
                if write_response(&mut write, header.correlation_id, &body, &trailing)
                    .await
                    .is_err()
                {
                    return;
                }
                responder_state.lock().responses_sent += 1;
            }
        }
    });
    let mut buf = BytesMut::new();
    while let Ok(Some(frame)) =
        io::read_request_frame(&mut read, &mut buf, consts::DEFAULT_MAX_FRAME).await
    {
        {
            let mut inner = state.lock();
            inner.outstanding += 1;
            inner.max_outstanding = inner.max_outstanding.max(inner.outstanding);
        }
        if tx.send(frame).is_err() {
            return;
        }
    }
}

/// An encoded response body plus trailing bytes; `None` = no response.
type Reply = Option<(Vec<u8>, Vec<u8>)>;

/// Writes a response frame (docs/protocol.md: frame_len, correlation id,
/// body_len, body, trailing).
async fn write_response(
    write: &mut tokio::net::tcp::OwnedWriteHalf,
    correlation_id: u32,
    body: &[u8],
    trailing: &[u8],
) -> std::io::Result<()> {
    use bytes::BufMut;
    use tokio::io::AsyncWriteExt;
    let mut out = BytesMut::new();
    out.put_u32((8 + body.len() + trailing.len()) as u32);
    out.put_u32(correlation_id);
    out.put_u32(body.len() as u32);
    out.put_slice(body);
    out.put_slice(trailing);
    write.write_all(&out).await
}

fn body(m: &impl Message) -> Reply {
    Some((m.encode_to_vec(), Vec::new()))
}

async fn handle(state: &State, header: &RequestHeader, raw: Bytes) -> Reply {
    match header.api() {
        Ok(ApiKey::ApiVersions) => body(&pb::ApiVersionsResponse {
            api_versions: sluice_protocol::api::supported_api_versions(),
            broker_version: "fake".into(),
            ..Default::default()
        }),
        Ok(ApiKey::Metadata) => {
            let req = pb::MetadataRequest::decode(raw).unwrap();
            let inner = state.lock();
            let names: Vec<String> = if req.topics.is_empty() {
                inner.topics.keys().cloned().collect()
            } else {
                req.topics
            };
            let topics = names
                .into_iter()
                .map(|name| match inner.topics.get(&name) {
                    None => pb::TopicMetadata {
                        name,
                        error_code: ErrorCode::UnknownTopicOrPartition as i32,
                        ..Default::default()
                    },
                    Some(logs) => pb::TopicMetadata {
                        name,
                        partitions: logs
                            .iter()
                            .enumerate()
                            .map(|(i, log)| pb::PartitionMetadata {
                                partition: i as u32,
                                log_end_offset: log.next_offset,
                                high_watermark: log.next_offset,
                                size_bytes: log.batches.iter().map(|(_, b)| b.len() as u64).sum(),
                                ..Default::default()
                            })
                            .collect(),
                        config: Some(pb::TopicConfig::default()),
                        ..Default::default()
                    },
                })
                .collect();
            body(&pb::MetadataResponse {
                topics,
                ..Default::default()
            })
        }
        Ok(ApiKey::CreateTopic) => {
            let req = pb::CreateTopicRequest::decode(raw).unwrap();
            let mut inner = state.lock();
            let code = match inner.topics.entry(req.name) {
                _ if req.partitions == 0 => ErrorCode::InvalidPartitions,
                std::collections::btree_map::Entry::Occupied(_) => ErrorCode::TopicAlreadyExists,
                std::collections::btree_map::Entry::Vacant(slot) => {
                    slot.insert((0..req.partitions).map(|_| Log::default()).collect());
                    ErrorCode::None
                }
            };
            body(&pb::CreateTopicResponse {
                error_code: code as i32,
                ..Default::default()
            })
        }
        Ok(ApiKey::DeleteTopic) => {
            let req = pb::DeleteTopicRequest::decode(raw).unwrap();
            let removed = state.lock().topics.remove(&req.name).is_some();
            let code = if removed {
                ErrorCode::None
            } else {
                ErrorCode::UnknownTopicOrPartition
            };
            body(&pb::DeleteTopicResponse {
                error_code: code as i32,
                ..Default::default()
            })
        }
        Ok(ApiKey::Produce) => {
            let req = pb::ProduceRequest::decode(raw).unwrap();
            let mut inner = state.lock();
            inner
                .produce_log
                .push((req.partition, req.acks, req.batches.len()));
            let mut resp = pb::ProduceResponse {
                base_offset: -1,
                last_offset: -1,
                log_append_time: -1,
                ..Default::default()
            };
            if let Some(code) = inner.produce_errors.pop_front() {
                resp.error_code = code as i32;
                resp.error_message = "injected".into();
            } else {
                for batch in &req.batches {
                    match append(&mut inner, &req.topic, req.partition, batch) {
                        Ok(base) => {
                            if resp.base_offset < 0 {
                                resp.base_offset = base;
                            }
                        }
                        Err(code) => {
                            resp.error_code = code as i32;
                            break;
                        }
                    }
                }
                let log = &inner
                    .topics
                    .get(&req.topic)
                    .map(|t| t[req.partition as usize].next_offset);
                resp.last_offset = log.map_or(-1, |n| n - 1);
                state.appended.notify_waiters();
            }
            if req.acks == consts::ACKS_NONE {
                return None;
            }
            body(&resp)
        }
        Ok(ApiKey::Fetch) => {
            let req = pb::FetchRequest::decode(raw).unwrap();
            state.lock().fetches += 1;
            let deadline =
                tokio::time::Instant::now() + Duration::from_millis(req.max_wait_ms.into());
            loop {
                let (resp, trailing) = fetch(&state.lock(), &req);
                let ready = trailing.len() >= req.min_bytes as usize
                    || resp.partitions.iter().any(|p| p.error_code != 0);
                if ready || tokio::time::Instant::now() >= deadline {
                    return Some((resp.encode_to_vec(), trailing));
                }
                let _ = tokio::time::timeout_at(
                    deadline.min(tokio::time::Instant::now() + Duration::from_millis(20)),
                    state.appended.notified(),
                )
                .await;
            }
        }
        Ok(ApiKey::ListOffsets) => {
            let req = pb::ListOffsetsRequest::decode(raw).unwrap();
            let inner = state.lock();
            let partitions = req
                .partitions
                .into_iter()
                .map(|p| {
                    let Some(log) = inner
                        .topics
                        .get(&p.topic)
                        .and_then(|t| t.get(p.partition as usize))
                    else {
                        return pb::ListOffsetsPartitionResponse {
                            topic: p.topic,
                            partition: p.partition,
                            error_code: ErrorCode::UnknownTopicOrPartition as i32,
                            offset: -1,
                            timestamp: -1,
                        };
                    };
                    let (offset, timestamp) = match p.timestamp {
                        consts::EARLIEST_TIMESTAMP => (0, -1),
                        consts::LATEST_TIMESTAMP => (log.next_offset, -1),
                        ts => find_timestamp(log, ts),
                    };
                    pb::ListOffsetsPartitionResponse {
                        topic: p.topic,
                        partition: p.partition,
                        error_code: 0,
                        offset,
                        timestamp,
                    }
                })
                .collect();
            body(&pb::ListOffsetsResponse {
                partitions,
                ..Default::default()
            })
        }
        Ok(ApiKey::CommitOffsets) => {
            let req = pb::CommitOffsetsRequest::decode(raw).unwrap();
            let mut inner = state.lock();
            if req.group.is_empty() {
                return body(&pb::CommitOffsetsResponse {
                    error_code: ErrorCode::InvalidGroup as i32,
                    ..Default::default()
                });
            }
            let partitions = req
                .partitions
                .into_iter()
                .map(|p| {
                    inner
                        .commits
                        .insert((req.group.clone(), p.topic.clone(), p.partition), p.offset);
                    pb::CommitOffsetsPartitionResponse {
                        topic: p.topic,
                        partition: p.partition,
                        error_code: 0,
                    }
                })
                .collect();
            body(&pb::CommitOffsetsResponse {
                partitions,
                ..Default::default()
            })
        }
        Ok(ApiKey::FetchOffsets) => {
            let req = pb::FetchOffsetsRequest::decode(raw).unwrap();
            let inner = state.lock();
            let partitions = req
                .partitions
                .into_iter()
                .map(|p| pb::FetchOffsetsPartitionResponse {
                    offset: *inner
                        .commits
                        .get(&(req.group.clone(), p.topic.clone(), p.partition))
                        .unwrap_or(&-1),
                    topic: p.topic,
                    partition: p.partition,
                    ..Default::default()
                })
                .collect();
            body(&pb::FetchOffsetsResponse {
                partitions,
                ..Default::default()
            })
        }
        // Groups here only have commits (no membership): listed Empty.
        Ok(ApiKey::ListGroups) => {
            let inner = state.lock();
            let mut names: Vec<String> = inner.commits.keys().map(|k| k.0.clone()).collect();
            names.sort();
            names.dedup();
            body(&pb::ListGroupsResponse {
                groups: names
                    .into_iter()
                    .map(|group| pb::ListedGroup {
                        group,
                        state: "Empty".into(),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            })
        }
        Ok(ApiKey::DescribeGroups) => {
            let req = pb::DescribeGroupsRequest::decode(raw).unwrap();
            let inner = state.lock();
            let groups = req
                .groups
                .into_iter()
                .map(|group| {
                    let mut offsets: Vec<pb::GroupPartitionOffset> = inner
                        .commits
                        .iter()
                        .filter(|(k, _)| k.0 == group)
                        .map(|((_, topic, partition), offset)| pb::GroupPartitionOffset {
                            topic: topic.clone(),
                            partition: *partition,
                            committed_offset: *offset,
                            high_watermark: inner.topics[topic][*partition as usize].next_offset,
                            ..Default::default()
                        })
                        .collect();
                    offsets.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
                    if offsets.is_empty() {
                        return pb::GroupDescription {
                            group,
                            error_code: ErrorCode::GroupIdNotFound as i32,
                            ..Default::default()
                        };
                    }
                    pb::GroupDescription {
                        group,
                        state: "Empty".into(),
                        offsets,
                        ..Default::default()
                    }
                })
                .collect();
            body(&pb::DescribeGroupsResponse {
                groups,
                ..Default::default()
            })
        }
        // No group membership here: the real broker's is tested in
        // `tests/groups.rs`.
        Ok(
            api @ (ApiKey::JoinGroup | ApiKey::SyncGroup | ApiKey::Heartbeat | ApiKey::LeaveGroup),
        ) => body(&pb::ErrorResponse {
            error_code: ErrorCode::UnknownApi as i32,
            error_message: format!("the fake broker does not serve {api:?}"),
        }),
        Err(e) => body(&pb::ErrorResponse {
            error_code: e.error_code() as i32,
            error_message: e.to_string(),
        }),
    }
}

/// Whole batches from the one containing `offset`, within the partition's
/// `max_bytes`; the batch crossing the limit is cut there (a partial tail),
/// except that a first batch is always returned whole.
fn fetch(inner: &Inner, req: &pb::FetchRequest) -> (pb::FetchResponse, Vec<u8>) {
    let mut trailing = Vec::new();
    let mut partitions = Vec::new();
    for p in &req.partitions {
        let mut out = pb::FetchPartitionResponse {
            topic: p.topic.clone(),
            partition: p.partition,
            ..Default::default()
        };
        match inner
            .topics
            .get(&p.topic)
            .and_then(|t| t.get(p.partition as usize))
        {
            None => out.error_code = ErrorCode::UnknownTopicOrPartition as i32,
            Some(log) if p.offset < 0 || p.offset > log.next_offset => {
                out.error_code = ErrorCode::OffsetOutOfRange as i32;
                out.high_watermark = log.next_offset;
            }
            Some(log) => {
                out.high_watermark = log.next_offset;
                let mut data = Vec::new();
                for (base, batch) in &log.batches {
                    let last = {
                        let header = BatchIter::new(batch).next().unwrap().unwrap();
                        *base + i64::from(header.header().last_offset_delta)
                    };
                    if last < p.offset {
                        continue;
                    }
                    let room = (p.max_bytes as usize).saturating_sub(data.len());
                    if data.is_empty() || batch.len() <= room {
                        data.extend_from_slice(batch);
                    } else {
                        data.extend_from_slice(&batch[..room]);
                        break;
                    }
                }
                out.records_len = data.len() as u32;
                trailing.extend(data);
            }
        }
        partitions.push(out);
    }
    (
        pb::FetchResponse {
            partitions,
            ..Default::default()
        },
        trailing,
    )
}

fn find_timestamp(log: &Log, ts: i64) -> (i64, i64) {
    for (_, bytes) in &log.batches {
        let batch = RecordBatch::parse(bytes).unwrap();
        for r in batch.records().unwrap() {
            let r = r.unwrap();
            if r.timestamp(batch.header()) >= ts {
                return (r.offset(batch.header()), r.timestamp(batch.header()));
            }
        }
    }
    (-1, -1)
}
