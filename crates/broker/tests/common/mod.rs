//! Shared helpers for the broker integration tests: an in-process broker on
//! port 0 and a minimal pipelining client.
// Test code: a failed unwrap is a failed test.
#![allow(dead_code, unused_macros, clippy::unwrap_used, clippy::expect_used)]

pub mod kafka;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use prost::Message;
use sluice_broker::{Broker, BrokerConfig, BrokerHandle};
use sluice_protocol::consts::ACKS_ALL;
use sluice_protocol::frame::{self, RequestHeader, ResponseHeader};
use sluice_protocol::{ApiRequest, ErrorCode, pb};
use sluice_record::{BatchBuilder, BatchIter};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const MAX: usize = 64 << 20;
/// Every read a test waits for is bounded by this.
pub const STEP: Duration = Duration::from_secs(10);

pub fn config(dir: &Path) -> BrokerConfig {
    let mut config = BrokerConfig {
        data_dir: dir.to_owned(),
        listen: "127.0.0.1:0".into(),
        shutdown_grace_ms: 2_000,
        ..BrokerConfig::default()
    };
    config.topic_defaults.segment_bytes = 1 << 20;
    config.topic_defaults.max_message_bytes = 256 << 10;
    config
}

pub async fn start(dir: &Path) -> BrokerHandle {
    Broker::start(config(dir)).await.unwrap()
}

/// A client connection that can send without reading (pipelining).
pub struct Client {
    pub stream: TcpStream,
    buf: BytesMut,
    next_id: u32,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        Client {
            stream,
            buf: BytesMut::new(),
            next_id: 1,
        }
    }

    /// Sends one request; returns its correlation id.
    pub async fn send<R: ApiRequest>(&mut self, request: &R) -> u32 {
        self.send_versioned(R::API_KEY.as_u16(), 0, request).await
    }

    pub async fn send_versioned(
        &mut self,
        api_key: u16,
        api_version: u16,
        body: &impl Message,
    ) -> u32 {
        let id = self.next_id;
        self.next_id += 1;
        let header = RequestHeader {
            api_key,
            api_version,
            correlation_id: id,
            client_id: "test".into(),
        };
        let mut out = BytesMut::new();
        frame::encode_request_frame(&header, body, &mut out).unwrap();
        self.stream.write_all(&out).await.unwrap();
        id
    }

    /// Reads one response frame: header, body, trailing bytes.
    pub async fn read(&mut self) -> (ResponseHeader, Bytes, Bytes) {
        tokio::time::timeout(STEP, async {
            loop {
                if let Some(frame) = frame::decode_response_frame(&mut self.buf, MAX).unwrap() {
                    return frame;
                }
                let n = self.stream.read_buf(&mut self.buf).await.unwrap();
                assert!(n > 0, "broker closed the connection");
            }
        })
        .await
        .expect("response within the step timeout")
    }

    /// Reads one response and decodes it as `T`, checking the correlation id.
    pub async fn read_as<T: Message + Default>(&mut self, id: u32) -> (T, Bytes) {
        let (header, body, trailing) = self.read().await;
        assert_eq!(
            header.correlation_id, id,
            "responses must come in request order"
        );
        (T::decode(body).unwrap(), trailing)
    }

    pub async fn call<R: ApiRequest>(&mut self, request: &R) -> R::Response {
        let id = self.send(request).await;
        self.read_as::<R::Response>(id).await.0
    }

    /// True when the broker closed this connection within the step timeout
    /// (responses sent before the close are skipped).
    pub async fn closed_by_broker(&mut self) -> bool {
        let mut scratch = [0u8; 4096];
        let deadline = tokio::time::Instant::now() + STEP;
        loop {
            match tokio::time::timeout_at(deadline, self.stream.read(&mut scratch)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return true,
                Ok(Ok(_)) => continue,
                Err(_) => return false,
            }
        }
    }
}

pub fn code(raw: i32) -> ErrorCode {
    ErrorCode::from_wire(raw)
}

/// An uncompressed batch of the given values.
pub fn batch(values: &[&[u8]]) -> Bytes {
    let mut builder = BatchBuilder::new();
    for (i, value) in values.iter().enumerate() {
        builder.append(1_700_000_000_000 + i as i64, None, Some(value), &[]);
    }
    builder.build()
}

pub fn produce(topic: &str, partition: u32, acks: i32, batches: Vec<Bytes>) -> pb::ProduceRequest {
    pb::ProduceRequest {
        topic: topic.into(),
        partition,
        acks,
        timeout_ms: 10_000,
        batches,
    }
}

pub async fn create_topic(client: &mut Client, name: &str, partitions: u32) {
    let response = client
        .call(&pb::CreateTopicRequest {
            name: name.into(),
            partitions,
            config: None,
        })
        .await;
    assert_eq!(
        code(response.error_code),
        ErrorCode::None,
        "{}",
        response.error_message
    );
}

pub async fn produce_values(
    client: &mut Client,
    topic: &str,
    partition: u32,
    values: &[&[u8]],
) -> pb::ProduceResponse {
    let response = client
        .call(&produce(topic, partition, ACKS_ALL, vec![batch(values)]))
        .await;
    assert_eq!(
        code(response.error_code),
        ErrorCode::None,
        "{}",
        response.error_message
    );
    response
}

pub fn fetch(topic: &str, partition: u32, offset: i64) -> pb::FetchRequest {
    pb::FetchRequest {
        max_wait_ms: 0,
        min_bytes: 0,
        max_bytes: 1 << 20,
        partitions: vec![pb::FetchPartition {
            topic: topic.into(),
            partition,
            offset,
            max_bytes: 1 << 20,
        }],
    }
}

/// `(offset, value)` of every whole record in `records`, at or after `from`.
pub fn records(records: &[u8], from: i64) -> Vec<(i64, Vec<u8>)> {
    let mut out = Vec::new();
    for batch in BatchIter::new(records) {
        let batch = batch.unwrap();
        let header = *batch.header();
        for record in batch.records().unwrap() {
            let record = record.unwrap();
            let offset = record.offset(&header);
            if offset >= from {
                out.push((offset, record.value.unwrap_or_default().to_vec()));
            }
        }
    }
    out
}

/// Fetches every record of a partition from `from` to its end.
pub async fn fetch_all(
    client: &mut Client,
    topic: &str,
    partition: u32,
    from: i64,
) -> Vec<(i64, Vec<u8>)> {
    let mut out = Vec::new();
    let mut offset = from;
    loop {
        let id = client.send(&fetch(topic, partition, offset)).await;
        let (response, trailing) = client.read_as::<pb::FetchResponse>(id).await;
        let p = &response.partitions[0];
        assert_eq!(code(p.error_code), ErrorCode::None);
        let got = records(&trailing, offset);
        match got.last() {
            Some((last, _)) => offset = last + 1,
            None => return out,
        }
        out.extend(got);
        if offset >= p.high_watermark {
            return out;
        }
    }
}
