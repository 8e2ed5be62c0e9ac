//! A tiny Kafka-protocol test client built from `sluice-kafka` types, and a
//! broker with the Kafka listener on port 0.

use std::net::SocketAddr;
use std::path::Path;

use bytes::{Buf, Bytes, BytesMut};
use sluice_broker::{Broker, BrokerConfig, BrokerHandle};
use sluice_kafka::api::create_topics::{CreatableTopic, CreateTopicsRequest};
use sluice_kafka::api::fetch::{FetchPartition, FetchRequest, FetchTopic};
use sluice_kafka::api::produce::{ProducePartition, ProduceRequest, ProduceTopic};
use sluice_kafka::{Request, RequestHeader, Response, ResponseHeader, response_header_version};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::STEP;

/// Unwraps a [`Response`] variant, panicking with the response otherwise.
#[macro_export]
macro_rules! expect_response {
    ($response:expr, $variant:ident) => {
        match $response {
            sluice_kafka::Response::$variant(body) => body,
            other => panic!("expected {}, got {other:?}", stringify!($variant)),
        }
    };
}

pub fn kafka_config(dir: &Path) -> BrokerConfig {
    let mut config = super::config(dir);
    config.kafka_listen = Some("127.0.0.1:0".into());
    config.group_initial_rebalance_delay_ms = 50;
    config
}

pub async fn start_kafka(dir: &Path) -> (BrokerHandle, SocketAddr) {
    let broker = Broker::start(kafka_config(dir)).await.unwrap();
    let addr = broker.kafka_addr().expect("the Kafka listener is on");
    (broker, addr)
}

/// A Kafka connection that can send without reading (pipelining).
pub struct KafkaClient {
    pub stream: TcpStream,
    buf: BytesMut,
    next_id: i32,
    /// (correlation id, api key, version) of requests not yet read.
    sent: Vec<(i32, i16, i16)>,
}

impl KafkaClient {
    pub async fn connect(addr: SocketAddr) -> KafkaClient {
        let stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        KafkaClient {
            stream,
            buf: BytesMut::new(),
            next_id: 1,
            sent: Vec::new(),
        }
    }

    /// Sends `body` as `version`; returns the correlation id.
    pub async fn send(&mut self, version: i16, body: impl Into<Request>) -> i32 {
        let body = body.into();
        let id = self.next_id;
        self.next_id += 1;
        let header = RequestHeader {
            api_key: body.api_key().as_i16(),
            api_version: version,
            correlation_id: id,
            client_id: Some("test".into()),
        };
        let frame = sluice_kafka::frame::encode_request_frame(&header, &body);
        self.stream.write_all(&frame).await.unwrap();
        self.sent.push((id, header.api_key, version));
        id
    }

    /// Writes raw bytes.
    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    /// One response frame, without its size prefix.
    pub async fn read_frame(&mut self) -> Bytes {
        tokio::time::timeout(STEP, async {
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
        .expect("response within the step timeout")
    }

    /// Reads the next response, which must answer the oldest request sent.
    pub async fn read(&mut self) -> (i32, Response) {
        let (id, api_key, version) = self.sent.remove(0);
        let mut frame = self.read_frame().await;
        let header =
            ResponseHeader::decode(&mut frame, response_header_version(api_key, version)).unwrap();
        assert_eq!(header.correlation_id, id, "responses come in request order");
        (id, Response::decode(api_key, version, frame).unwrap())
    }

    /// Forgets a request that gets no response (acks = 0).
    pub fn expect_no_response(&mut self, id: i32) {
        let at = self.sent.iter().position(|(i, _, _)| *i == id).unwrap();
        self.sent.remove(at);
    }

    pub async fn call(&mut self, version: i16, body: impl Into<Request>) -> Response {
        self.send(version, body).await;
        self.read().await.1
    }

    /// True when the broker closed this connection within the step timeout.
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

/// CreateTopics v4 of one topic; panics unless it succeeds.
pub async fn create_kafka_topic(client: &mut KafkaClient, name: &str, partitions: i32) {
    let response = client
        .call(
            4,
            CreateTopicsRequest {
                topics: vec![CreatableTopic {
                    name: name.into(),
                    num_partitions: partitions,
                    replication_factor: 1,
                    ..CreatableTopic::default()
                }],
                ..CreateTopicsRequest::default()
            },
        )
        .await;
    let response = expect_response!(response, CreateTopics);
    assert_eq!(response.topics[0].error_code, 0, "{:?}", response.topics[0]);
}

/// Produce v8 of one batch to one partition.
pub fn produce_request(topic: &str, partition: i32, acks: i16, batch: Bytes) -> ProduceRequest {
    ProduceRequest {
        transactional_id: None,
        acks,
        timeout_ms: 10_000,
        topics: vec![ProduceTopic {
            name: topic.into(),
            partitions: vec![ProducePartition {
                index: partition,
                records: Some(batch),
            }],
        }],
    }
}

/// Produce and return (error code, base offset) of the one partition.
pub async fn kafka_produce(
    client: &mut KafkaClient,
    topic: &str,
    partition: i32,
    batch: Bytes,
) -> (i16, i64) {
    let response = client
        .call(8, produce_request(topic, partition, -1, batch))
        .await;
    let response = expect_response!(response, Produce);
    let p = &response.responses[0].partitions[0];
    (p.error_code, p.base_offset)
}

/// Fetch v11 of one partition, sessionless.
pub fn fetch_request(topic: &str, partition: i32, offset: i64) -> FetchRequest {
    FetchRequest {
        max_wait_ms: 0,
        min_bytes: 0,
        max_bytes: 1 << 20,
        topics: vec![FetchTopic {
            name: topic.into(),
            partitions: vec![FetchPartition {
                partition,
                fetch_offset: offset,
                partition_max_bytes: 1 << 20,
                ..FetchPartition::default()
            }],
        }],
        ..FetchRequest::default()
    }
}

/// A batch of `values` with the idempotent producer fields set.
pub fn idempotent_batch(producer_id: i64, epoch: i16, sequence: i32, values: &[&[u8]]) -> Bytes {
    let mut builder = sluice_record::BatchBuilder::new().producer(producer_id, epoch, sequence);
    for (i, value) in values.iter().enumerate() {
        builder.append(1_700_000_000_000 + i as i64, None, Some(value), &[]);
    }
    builder.build()
}
