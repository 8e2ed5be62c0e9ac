//! The real broker in-process on port 0 (native and Kafka listeners), a
//! tiny Kafka-protocol client for a Kafka group member, and helpers to
//! produce and to wait for conditions.
// Each test binary uses a different subset; fixture failures may panic.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use sluice_broker::{Broker, BrokerConfig, BrokerHandle};
use sluice_client::{Client, Producer, ProducerConfig, ProducerRecord};
use sluice_kafka::{Request, RequestHeader, Response, ResponseHeader, response_header_version};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Every wait of these tests is bounded by this: generous, as machines are
/// noisy and a rebalance takes a few heartbeats.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// A broker whose groups wait `initial_delay_ms` for a first rebalance.
pub async fn start(dir: &Path, initial_delay_ms: u64) -> BrokerHandle {
    let config = BrokerConfig {
        data_dir: dir.to_owned(),
        listen: "127.0.0.1:0".into(),
        kafka_listen: Some("127.0.0.1:0".into()),
        group_initial_rebalance_delay_ms: initial_delay_ms,
        shutdown_grace_ms: 2_000,
        ..BrokerConfig::default()
    };
    Broker::start(config).await.unwrap()
}

/// Produces `count` values `"{prefix}{partition}-{i}"` to each partition.
pub async fn produce(client: &Client, topic: &str, partitions: u32, prefix: &str, count: u32) {
    let producer = Producer::new(client.clone(), ProducerConfig::default()).unwrap();
    let mut deliveries = Vec::new();
    for p in 0..partitions {
        for i in 0..count {
            let record = ProducerRecord::new(topic, format!("{prefix}{p}-{i}")).partition(p);
            deliveries.push(producer.send(record).await);
        }
    }
    for d in deliveries {
        d.await.unwrap();
    }
    producer.close().await;
}

/// Polls `check` until it gives a value, at most [`PATIENCE`].
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within {PATIENCE:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A Kafka connection: one request, then its response.
pub struct KafkaClient {
    stream: TcpStream,
    buf: BytesMut,
    next_id: i32,
}

impl KafkaClient {
    pub async fn connect(addr: SocketAddr) -> KafkaClient {
        let stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        KafkaClient {
            stream,
            buf: BytesMut::new(),
            next_id: 1,
        }
    }

    pub async fn call(&mut self, version: i16, body: impl Into<Request>) -> Response {
        let body = body.into();
        let api_key = body.api_key().as_i16();
        let header = RequestHeader {
            api_key,
            api_version: version,
            correlation_id: self.next_id,
            client_id: Some("kafka-member".into()),
        };
        self.next_id += 1;
        let frame = sluice_kafka::frame::encode_request_frame(&header, &body);
        self.stream.write_all(&frame).await.unwrap();
        let mut frame = tokio::time::timeout(PATIENCE, async {
            loop {
                if self.buf.len() >= 4 {
                    let size =
                        i32::from_be_bytes([self.buf[0], self.buf[1], self.buf[2], self.buf[3]]);
                    let size = usize::try_from(size).unwrap();
                    if self.buf.len() >= 4 + size {
                        self.buf.advance(4);
                        return self.buf.split_to(size).freeze();
                    }
                }
                let n = self.stream.read_buf(&mut self.buf).await.unwrap();
                assert!(n > 0, "broker closed the connection");
            }
        })
        .await
        .expect("a Kafka response in time");
        let response_header =
            ResponseHeader::decode(&mut frame, response_header_version(api_key, version)).unwrap();
        assert_eq!(response_header.correlation_id, header.correlation_id);
        Response::decode(api_key, version, Bytes::clone(&frame)).unwrap()
    }
}
