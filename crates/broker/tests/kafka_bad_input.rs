//! Bad input on the Kafka listener: unknown apis, versions out of range,
//! malformed and truncated frames, random bytes. The broker answers what a
//! client can understand, closes what it cannot, never panics, and other
//! connections carry on.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use common::kafka::*;
use common::*;
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};
use sluice_kafka::api::api_versions::ApiVersionsRequest;
use sluice_kafka::api::heartbeat::HeartbeatRequest;
use sluice_kafka::api::join_group::{JoinGroupProtocol, JoinGroupRequest};
use sluice_kafka::api::metadata::MetadataRequest;
use sluice_kafka::api::offset_commit::OffsetCommitRequest;
use sluice_kafka::{ErrorCode, Request, RequestHeader};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn frame(api_key: i16, version: i16, body: &[u8]) -> Vec<u8> {
    let mut out = BytesMut::new();
    out.put_i32(0);
    out.put_i16(api_key);
    out.put_i16(version);
    out.put_i32(9);
    out.put_i16(1);
    out.put_u8(b'c');
    out.put_slice(body);
    let size = out.len() as i32 - 4;
    out[..4].copy_from_slice(&size.to_be_bytes());
    out.to_vec()
}

fn encoded(version: i16, body: impl Into<Request>) -> Vec<u8> {
    let body = body.into();
    let header = RequestHeader {
        api_key: body.api_key().as_i16(),
        api_version: version,
        correlation_id: 9,
        client_id: Some("c".into()),
    };
    sluice_kafka::frame::encode_request_frame(&header, &body).to_vec()
}

async fn still_serving(addr: SocketAddr) {
    let mut client = KafkaClient::connect(addr).await;
    let response = expect_response!(
        client.call(3, ApiVersionsRequest::default()).await,
        ApiVersions
    );
    assert_eq!(response.error_code, 0);
}

async fn raw(addr: SocketAddr, bytes: &[u8]) -> KafkaClient {
    let mut client = KafkaClient::connect(addr).await;
    client.send_raw(bytes).await;
    client
}

#[tokio::test]
async fn what_cannot_be_answered_closes_only_that_connection() {
    let dir = tempfile::tempdir().unwrap();
    let (broker, addr) = start_kafka(dir.path()).await;
    let mut bystander = KafkaClient::connect(addr).await;
    create_kafka_topic(&mut bystander, "t", 1).await;

    // Unknown api key, version out of range, negative size, a size below a
    // header, a size over the frame limit, a header that does not decode.
    let cases: Vec<Vec<u8>> = vec![
        frame(999, 0, &[]),
        frame(3, 99, &[]),
        frame(0, 2, &[]),
        vec![0xff, 0xff, 0xff, 0xfe, 1, 2, 3],
        vec![0, 0, 0, 3, 1, 2, 3],
        (200u32 << 20).to_be_bytes().to_vec(),
        {
            let mut f = frame(18, 0, &[]);
            // client id length larger than the frame
            f[12] = 0x7f;
            f
        },
        // Produce v8 with a truncated body: no top-level error code to use.
        frame(0, 8, &[0xff, 0xff, 0, 1]),
    ];
    for case in cases {
        let mut client = raw(addr, &case).await;
        assert!(client.closed_by_broker().await, "{case:?} should close");
    }
    // A truncated frame followed by the peer leaving.
    let mut client = raw(addr, &encoded(8, MetadataRequest::default())[..12]).await;
    client.stream.shutdown().await.unwrap();
    assert!(client.closed_by_broker().await);

    let response = expect_response!(
        bystander.call(8, MetadataRequest::default()).await,
        Metadata
    );
    assert_eq!(response.topics.len(), 1);
    assert!(
        broker
            .stats()
            .connections_rejected
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 8
    );
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn malformed_bodies_with_a_top_level_error_get_invalid_request() {
    let dir = tempfile::tempdir().unwrap();
    let (broker, addr) = start_kafka(dir.path()).await;
    let mut client = KafkaClient::connect(addr).await;
    // Heartbeat v0 whose group id claims 1000 bytes.
    let mut bad = frame(12, 0, &[0x03, 0xe8, b'g']);
    client.send_raw(&bad).await;
    let mut response = client.read_frame().await;
    let header = sluice_kafka::ResponseHeader::decode(&mut response, 0).unwrap();
    assert_eq!(header.correlation_id, 9);
    let heartbeat = expect_response!(
        sluice_kafka::Response::decode(12, 0, response).unwrap(),
        Heartbeat
    );
    assert_eq!(heartbeat.error_code, ErrorCode::INVALID_REQUEST);
    // The connection goes on.
    let ok = expect_response!(
        client
            .call(
                0,
                HeartbeatRequest {
                    group_id: "g".into(),
                    generation_id: 1,
                    member_id: "m".into(),
                    group_instance_id: None
                }
            )
            .await,
        Heartbeat
    );
    assert_eq!(ok.error_code, ErrorCode::UNKNOWN_MEMBER_ID);
    // A truncated JoinGroup v5.
    let join = encoded(
        5,
        JoinGroupRequest {
            group_id: "g".into(),
            session_timeout_ms: 10_000,
            protocol_type: "consumer".into(),
            protocols: vec![JoinGroupProtocol {
                name: "range".into(),
                metadata: Bytes::from_static(b"m"),
            }],
            ..JoinGroupRequest::default()
        },
    );
    bad = join[..join.len() - 6].to_vec();
    let size = bad.len() as i32 - 4;
    bad[..4].copy_from_slice(&size.to_be_bytes());
    client.send_raw(&bad).await;
    let mut response = client.read_frame().await;
    sluice_kafka::ResponseHeader::decode(&mut response, 0).unwrap();
    let join = expect_response!(
        sluice_kafka::Response::decode(11, 5, response).unwrap(),
        JoinGroup
    );
    assert_eq!(join.error_code, ErrorCode::INVALID_REQUEST);
    still_serving(addr).await;
    broker.shutdown().await.unwrap();
}

/// Valid request frames to mutate.
fn seed(kind: u8) -> Vec<u8> {
    match kind % 6 {
        0 => encoded(
            3,
            ApiVersionsRequest {
                client_software_name: "x".into(),
                client_software_version: "1".into(),
            },
        ),
        1 => encoded(
            8,
            MetadataRequest {
                topics: Some(vec!["t".into()]),
                ..MetadataRequest::default()
            },
        ),
        2 => encoded(8, produce_request("t", 0, 1, batch(&[b"seed"]))),
        3 => encoded(11, fetch_request("t", 0, 0)),
        4 => encoded(
            7,
            OffsetCommitRequest {
                group_id: "g".into(),
                ..OffsetCommitRequest::default()
            },
        ),
        _ => encoded(
            3,
            HeartbeatRequest {
                group_id: "g".into(),
                generation_id: 1,
                member_id: "m".into(),
                group_instance_id: None,
            },
        ),
    }
}

#[test]
fn random_and_mutated_frames_never_hurt_the_broker() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (broker, addr) = runtime.block_on(async {
        let (broker, addr) = start_kafka(dir.path()).await;
        let mut client = KafkaClient::connect(addr).await;
        create_kafka_topic(&mut client, "t", 1).await;
        (broker, addr)
    });
    let strategy = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..200),
        (
            any::<u8>(),
            proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6)
        )
            .prop_map(|(kind, flips)| {
                let mut frame = seed(kind);
                // Keep the size prefix: mutate the header and body.
                for (index, byte) in flips {
                    let i = 4 + index.index(frame.len() - 4);
                    frame[i] = byte;
                }
                frame
            }),
        (any::<u8>(), any::<prop::sample::Index>()).prop_map(|(kind, cut)| {
            let frame = seed(kind);
            frame[..cut.index(frame.len())].to_vec()
        }),
    ];
    let mut runner = TestRunner::new(ProptestConfig {
        cases: 64,
        ..ProptestConfig::default()
    });
    runner
        .run(&strategy, |bytes| {
            runtime.block_on(async {
                let mut stream = TcpStream::connect(addr).await.unwrap();
                stream.write_all(&bytes).await.unwrap();
                stream.shutdown().await.unwrap();
                let mut buf = Vec::new();
                let closed = tokio::time::timeout(Duration::from_secs(2), async {
                    while stream.read_buf(&mut buf).await.unwrap_or(0) > 0 {}
                })
                .await
                .is_ok();
                // Whatever came back is whole, size-prefixed frames.
                let mut rest = &buf[..];
                while rest.len() >= 4 {
                    let size = i32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]);
                    prop_assert!(size >= 4, "bad response size {size}");
                    let size = size as usize;
                    prop_assert!(
                        rest.len() >= 4 + size || !closed,
                        "a response was cut short"
                    );
                    rest = &rest[(4 + size).min(rest.len())..];
                }
                prop_assert!(
                    rest.is_empty() || !closed,
                    "trailing bytes after the last response"
                );
                Ok::<(), TestCaseError>(())
            })
        })
        .unwrap();
    runtime.block_on(async {
        still_serving(addr).await;
        let mut client = KafkaClient::connect(addr).await;
        let fetch = expect_response!(client.call(11, fetch_request("t", 0, 0)).await, Fetch);
        let p = &fetch.responses[0].partitions[0];
        assert_eq!(p.error_code, 0);
        let records = p.records.clone().unwrap();
        let mut iter = sluice_record::BatchIter::new(&records);
        for batch in iter.by_ref() {
            batch.unwrap();
        }
        assert!(!iter.has_partial_tail());
        broker.shutdown().await.unwrap();
    });
}
