//! Hostile and broken peers: each gets a typed error or a closed
//! connection; the broker stays up, other clients never notice, and no log
//! is touched.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use bytes::{BufMut, BytesMut};
use common::*;
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};
use sluice_protocol::consts::ACKS_LEADER;
use sluice_protocol::{ErrorCode, pb};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// Writes raw bytes on a fresh connection.
async fn raw(addr: std::net::SocketAddr, bytes: &[u8]) -> Client {
    let mut client = Client::connect(addr).await;
    client.stream.write_all(bytes).await.unwrap();
    client
}

/// The broker still answers a normal client.
async fn still_serving(addr: std::net::SocketAddr) {
    let mut client = Client::connect(addr).await;
    let versions = client.call(&pb::ApiVersionsRequest {}).await;
    assert_eq!(code(versions.error_code), ErrorCode::None);
    assert!(!versions.api_versions.is_empty());
}

#[tokio::test]
async fn unframeable_streams_close_only_their_connection() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start(dir.path()).await;
    let addr = broker.local_addr();
    // A bystander with an open connection must not notice anything.
    let mut bystander = Client::connect(addr).await;
    create_topic(&mut bystander, "t", 1).await;

    // Garbage: "GET / HTTP/1.1" reads as a frame length far above the max.
    let mut garbage = raw(addr, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(garbage.closed_by_broker().await);
    // A length of 2^31.
    let mut huge = raw(addr, &[0x80, 0, 0, 0, 1, 2, 3]).await;
    assert!(huge.closed_by_broker().await);
    // A length below the fixed header.
    let mut short = raw(addr, &[0, 0, 0, 3, 1, 2, 3]).await;
    assert!(short.closed_by_broker().await);
    // A client id longer than the frame.
    let mut long_id = raw(addr, &[0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff]).await;
    assert!(long_id.closed_by_broker().await);
    // A truncated frame, then the peer goes away.
    let mut truncated = BytesMut::new();
    truncated.put_u32(100);
    truncated.put_slice(&[0; 20]);
    drop(raw(addr, &truncated).await);

    assert_eq!(
        produce_values(&mut bystander, "t", 0, &[b"fine"])
            .await
            .base_offset,
        0
    );
    still_serving(addr).await;
    let rejected = broker
        .stats()
        .connections_rejected
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!(rejected >= 4, "rejections counted: {rejected}");
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn unknown_api_version_and_body_get_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start(dir.path()).await;
    let mut client = Client::connect(broker.local_addr()).await;

    let id = client
        .send_versioned(999, 0, &pb::ApiVersionsRequest {})
        .await;
    let (response, _) = client.read_as::<pb::ErrorResponse>(id).await;
    assert_eq!(code(response.error_code), ErrorCode::UnknownApi);

    let id = client
        .send_versioned(4, 7, &pb::ProduceRequest::default())
        .await;
    let (response, _) = client.read_as::<pb::ProduceResponse>(id).await;
    assert_eq!(code(response.error_code), ErrorCode::UnsupportedVersion);

    // A metadata request whose body is not protobuf (field 1 claims 100
    // bytes that are not there).
    let id = client
        .send_versioned(1, 0, &pb::ErrorResponse::default())
        .await;
    let _ = client.read_as::<pb::MetadataResponse>(id).await;
    let mut bad_body = BytesMut::new();
    bad_body.put_u32(10 + 3);
    bad_body.put_u16(1);
    bad_body.put_u16(0);
    bad_body.put_u32(77);
    bad_body.put_u16(0);
    bad_body.put_slice(&[0x0a, 100, 1]);
    client.stream.write_all(&bad_body).await.unwrap();
    let (response, _) = client.read_as::<pb::MetadataResponse>(77).await;
    assert_eq!(code(response.error_code), ErrorCode::InvalidRequest);

    // The same connection keeps working.
    let versions = client.call(&pb::ApiVersionsRequest {}).await;
    assert_eq!(code(versions.error_code), ErrorCode::None);
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn corrupt_batch_is_rejected_and_log_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start(dir.path()).await;
    let mut client = Client::connect(broker.local_addr()).await;
    create_topic(&mut client, "t", 1).await;
    produce_values(&mut client, "t", 0, &[b"good"]).await;

    let mut corrupt = batch(&[b"payload"]).to_vec();
    let last = corrupt.len() - 1;
    corrupt[last] ^= 0xff; // breaks the CRC
    let response = client
        .call(&produce(
            "t",
            0,
            ACKS_LEADER,
            vec![batch(&[b"ok"]), corrupt.into()],
        ))
        .await;
    assert_eq!(code(response.error_code), ErrorCode::CorruptMessage);
    assert_eq!(response.base_offset, -1);

    let response = client
        .call(&produce(
            "t",
            0,
            ACKS_LEADER,
            vec![bytes::Bytes::from_static(b"not a batch")],
        ))
        .await;
    assert_eq!(code(response.error_code), ErrorCode::CorruptMessage);
    let response = client.call(&produce("t", 0, ACKS_LEADER, vec![])).await;
    assert_eq!(code(response.error_code), ErrorCode::InvalidRequest);

    let big = vec![0u8; 300 << 10]; // above the test's 256 KiB max_message_bytes
    let response = client
        .call(&produce("t", 0, ACKS_LEADER, vec![batch(&[&big])]))
        .await;
    assert_eq!(code(response.error_code), ErrorCode::MessageTooLarge);

    // Nothing of the rejected requests reached the log, not even the good
    // first batch of the mixed request.
    let metadata = client
        .call(&pb::MetadataRequest {
            topics: vec!["t".into()],
        })
        .await;
    assert_eq!(metadata.topics[0].partitions[0].log_end_offset, 1);
    let got = fetch_all(&mut client, "t", 0, 0).await;
    assert_eq!(got, [(0, b"good".to_vec())]);
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn vanishing_peers_do_not_hurt() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start(dir.path()).await;
    let addr = broker.local_addr();
    let mut client = Client::connect(addr).await;
    create_topic(&mut client, "t", 1).await;
    let value = vec![1u8; 200 << 10];
    for _ in 0..4 {
        produce_values(&mut client, "t", 0, &[&value]).await;
    }
    for _ in 0..5 {
        // Ask for a large fetch and a long poll, then vanish before reading.
        let mut gone = Client::connect(addr).await;
        gone.send(&fetch("t", 0, 0)).await;
        let mut poll = fetch("t", 0, 4);
        poll.max_wait_ms = 5_000;
        poll.min_bytes = 1;
        gone.send(&poll).await;
        drop(gone);
        // Half a request, then vanish.
        let mut half = BytesMut::new();
        half.put_u32(50);
        half.put_u16(5);
        drop(raw(addr, &half).await);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(fetch_all(&mut client, "t", 0, 0).await.len(), 4);
    still_serving(addr).await;
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn many_idle_connections_do_not_block_others() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start(dir.path()).await;
    let addr = broker.local_addr();
    let mut idle = Vec::new();
    for _ in 0..300 {
        idle.push(TcpStream::connect(addr).await.unwrap());
    }
    let mut client = Client::connect(addr).await;
    create_topic(&mut client, "t", 1).await;
    assert_eq!(
        produce_values(&mut client, "t", 0, &[b"x"])
            .await
            .base_offset,
        0
    );
    let open = broker
        .stats()
        .connections_open
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!(open >= 301, "all connections served: {open}");
    drop(idle);
    still_serving(addr).await;
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn idle_connections_are_closed_after_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.idle_timeout_ms = 200;
    let broker = sluice_broker::Broker::start(config).await.unwrap();
    let mut idle = Client::connect(broker.local_addr()).await;
    assert!(idle.closed_by_broker().await);
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_frame_trickled_byte_by_byte_is_cut_off_at_the_idle_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.idle_timeout_ms = 300;
    let broker = sluice_broker::Broker::start(config).await.unwrap();
    let addr = broker.local_addr();
    let mut slow = TcpStream::connect(addr).await.unwrap();
    // Announce a 1 MiB frame, then send one byte every 50 ms: progress, but never a frame.
    slow.write_all(&(1u32 << 20).to_be_bytes()).await.unwrap();
    let started = std::time::Instant::now();
    let mut closed = false;
    for _ in 0..60 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if slow.write_all(&[0u8]).await.is_err() {
            closed = true;
            break;
        }
        let mut probe = [0u8; 1];
        if let Ok(Ok(0)) = tokio::time::timeout(
            Duration::from_millis(1),
            tokio::io::AsyncReadExt::read(&mut slow, &mut probe),
        )
        .await
        {
            closed = true;
            break;
        }
    }
    assert!(
        closed,
        "the broker kept a trickling connection open for {:?}",
        started.elapsed()
    );
    still_serving(addr).await;
    broker.shutdown().await.unwrap();
}

/// A valid request frame to mutate.
fn seed_frame(kind: u8) -> Vec<u8> {
    let mut out = BytesMut::new();
    let header = |api_key: u16| sluice_protocol::RequestHeader {
        api_key,
        api_version: 0,
        correlation_id: 5,
        client_id: "fuzz".into(),
    };
    let result = match kind % 3 {
        0 => sluice_protocol::frame::encode_request_frame(
            &header(4),
            &produce("t", 0, ACKS_LEADER, vec![batch(&[b"fuzz"])]),
            &mut out,
        ),
        1 => sluice_protocol::frame::encode_request_frame(&header(5), &fetch("t", 0, 0), &mut out),
        _ => sluice_protocol::frame::encode_request_frame(
            &header(7),
            &pb::CommitOffsetsRequest {
                group: "g".into(),
                partitions: vec![pb::CommitOffsetsPartition {
                    topic: "t".into(),
                    partition: 0,
                    offset: 1,
                    metadata: String::new(),
                }],
                ..Default::default()
            },
            &mut out,
        ),
    };
    result.unwrap();
    out.to_vec()
}

/// Random bytes and mutated valid frames against a live broker: whatever
/// comes back must be a well-formed response frame or a close, and the
/// broker must keep serving and keep its log readable.
#[test]
fn random_and_mutated_frames_against_a_live_server() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let broker = runtime.block_on(async {
        let broker = start(dir.path()).await;
        let mut client = Client::connect(broker.local_addr()).await;
        create_topic(&mut client, "t", 1).await;
        broker
    });
    let addr = broker.local_addr();
    let strategy = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..200),
        (
            any::<u8>(),
            proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6)
        )
            .prop_map(|(kind, flips)| {
                let mut frame = seed_frame(kind);
                for (index, byte) in flips {
                    let i = index.index(frame.len());
                    frame[i] = byte;
                }
                frame
            }),
        (any::<u8>(), any::<prop::sample::Index>()).prop_map(|(kind, cut)| {
            let frame = seed_frame(kind);
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
                // Read whatever comes back until the broker closes (it sees
                // our end of stream). A mutated fetch may have become a long
                // poll that legitimately keeps the connection open, so the
                // wait is bounded and a timeout is not a failure.
                let mut buf = BytesMut::new();
                let closed = tokio::time::timeout(Duration::from_secs(2), async {
                    use tokio::io::AsyncReadExt;
                    while stream.read_buf(&mut buf).await.unwrap_or(0) > 0 {}
                })
                .await
                .is_ok();
                loop {
                    match sluice_protocol::frame::decode_response_frame(&mut buf, MAX) {
                        Ok(Some(_)) => continue,
                        Ok(None) => break,
                        Err(error) => prop_assert!(false, "malformed response bytes: {error}"),
                    }
                }
                prop_assert!(
                    !closed || buf.is_empty(),
                    "a response was cut short by the close"
                );
                Ok::<(), TestCaseError>(())
            })
        })
        .unwrap();
    runtime.block_on(async {
        still_serving(addr).await;
        let mut client = Client::connect(addr).await;
        // The log holds only whole, valid batches.
        let id = client.send(&fetch("t", 0, 0)).await;
        let (response, trailing) = client.read_as::<pb::FetchResponse>(id).await;
        assert_eq!(code(response.partitions[0].error_code), ErrorCode::None);
        let mut iter = sluice_record::BatchIter::new(&trailing);
        for batch in iter.by_ref() {
            batch.unwrap();
        }
        assert!(!iter.has_partial_tail());
        broker.shutdown().await.unwrap();
    });
}
