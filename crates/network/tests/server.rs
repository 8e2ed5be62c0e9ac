//! The server against a test handler: ordering of pipelined replies with
//! out-of-order completions, the four transfer modes, frame limits and
//! graceful shutdown.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use bytes::BytesMut;
use prost::Message;
use sluice_network::{ServerConfig, TransferMode};
use sluice_protocol::frame::{self, RequestHeader};
use sluice_protocol::{ApiKey, ErrorCode, pb, records};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use common::{STEP, read, send, serve, until};

fn fetch(delay_ms: u32, ranges: &[(i64, u32)]) -> pb::FetchRequest {
    pb::FetchRequest {
        max_wait_ms: delay_ms,
        partitions: ranges
            .iter()
            .map(|&(offset, max_bytes)| pb::FetchPartition {
                offset,
                max_bytes,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

#[tokio::test]
async fn replies_keep_request_order_when_completions_do_not() {
    let server = serve(ServerConfig::default()).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    // Later requests finish first; a no-response request sits in between.
    send(&mut stream, ApiKey::Fetch, 1, &fetch(800, &[(0, 10)])).await;
    send(&mut stream, ApiKey::Fetch, 2, &fetch(400, &[(10, 10)])).await;
    send(
        &mut stream,
        ApiKey::Produce,
        3,
        &pb::ProduceRequest::default(),
    )
    .await;
    send(
        &mut stream,
        ApiKey::Metadata,
        4,
        &pb::MetadataRequest::default(),
    )
    .await;
    send(&mut stream, ApiKey::Fetch, 5, &fetch(0, &[(20, 10)])).await;
    let started = std::time::Instant::now();
    let mut buf = BytesMut::new();
    let mut ids = Vec::new();
    for _ in 0..4 {
        let (id, _, trailing) = read(&mut stream, &mut buf).await;
        if id != 4 {
            let start = match id {
                1 => 0,
                2 => 10,
                _ => 20,
            };
            assert_eq!(&trailing[..], &server.content[start..start + 10]);
        }
        ids.push(id);
    }
    assert_eq!(ids, [1, 2, 4, 5]);
    // The waits overlapped: about 800 ms in all, not 1200.
    assert!(
        started.elapsed() < Duration::from_millis(1150),
        "{:?}",
        started.elapsed()
    );
    server.stop.send(()).unwrap();
    server.task.await.unwrap();
}

#[tokio::test]
async fn every_transfer_mode_sends_the_same_bytes() {
    for mode in TransferMode::ALL {
        let server = serve(ServerConfig {
            transfer_mode: mode,
            ..ServerConfig::default()
        })
        .await;
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        // Unaligned offsets, an empty slice, and a 3 MiB slice that overruns
        // the socket buffer (short writes, EAGAIN) while the client is slow.
        let ranges = [(1, 1000), (5000, 0), (4097, 3 << 20), (123, 7)];
        send(&mut stream, ApiKey::Fetch, 9, &fetch(0, &ranges)).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut buf = BytesMut::new();
        let (id, body, trailing) = read(&mut stream, &mut buf).await;
        assert_eq!(id, 9);
        let response = pb::FetchResponse::decode(body).unwrap();
        let parts = records::split_records(&response, trailing).unwrap();
        for (part, (offset, len)) in parts.iter().zip(ranges) {
            let start = offset as usize;
            assert_eq!(
                &part[..],
                &server.content[start..start + len as usize],
                "{mode}"
            );
        }
        let total: u64 = ranges.iter().map(|r| u64::from(r.1)).sum();
        for other in TransferMode::ALL {
            let expected = if other == mode { total } else { 0 };
            assert_eq!(
                server.stats.transfer_bytes(other),
                expected,
                "{other} counter under {mode}"
            );
        }
        server.stop.send(()).unwrap();
        server.task.await.unwrap();
    }
}

#[tokio::test]
async fn header_errors_get_error_responses_and_bad_frames_close() {
    let server = serve(ServerConfig {
        max_frame_bytes: 1024,
        ..ServerConfig::default()
    })
    .await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let header = RequestHeader {
        api_key: 42,
        api_version: 0,
        correlation_id: 1,
        client_id: String::new(),
    };
    let mut out = BytesMut::new();
    frame::encode_request_frame(&header, &pb::ApiVersionsRequest {}, &mut out).unwrap();
    let header = RequestHeader {
        api_key: 0,
        api_version: 3,
        correlation_id: 2,
        client_id: String::new(),
    };
    frame::encode_request_frame(&header, &pb::ApiVersionsRequest {}, &mut out).unwrap();
    stream.write_all(&out).await.unwrap();
    let mut buf = BytesMut::new();
    for (want_id, want_code) in [
        (1, ErrorCode::UnknownApi),
        (2, ErrorCode::UnsupportedVersion),
    ] {
        let (id, body, _) = read(&mut stream, &mut buf).await;
        assert_eq!(id, want_id);
        let error = pb::ErrorResponse::decode(body).unwrap();
        assert_eq!(ErrorCode::from_wire(error.error_code), want_code);
    }
    // A frame over the limit closes the connection.
    stream.write_all(&2000u32.to_be_bytes()).await.unwrap();
    let mut rest = Vec::new();
    let n = tokio::time::timeout(STEP, stream.read_to_end(&mut rest))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n, 0);
    assert_eq!(
        server
            .stats
            .connections_rejected
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    server.stop.send(()).unwrap();
    server.task.await.unwrap();
}

#[tokio::test]
async fn shutdown_finishes_in_flight_requests_and_stops_accepting() {
    let server = serve(ServerConfig::default()).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    send(&mut stream, ApiKey::Fetch, 1, &fetch(300, &[(0, 100)])).await;
    // Stop only once the request was read (its reply is queued): the test is about requests
    // already in flight, and a shutdown reads nothing new.
    until("the request is in flight", || {
        server
            .stats
            .requests
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 1
    })
    .await;
    server.stop.send(()).unwrap();
    let mut buf = BytesMut::new();
    let (id, _, trailing) = read(&mut stream, &mut buf).await;
    assert_eq!(id, 1);
    assert_eq!(&trailing[..], &server.content[..100]);
    tokio::time::timeout(STEP, server.task)
        .await
        .unwrap()
        .unwrap();
    assert!(
        TcpStream::connect(server.addr).await.is_err(),
        "listener closed"
    );
}

#[tokio::test]
async fn connection_limit_queues_extra_clients() {
    let server = serve(ServerConfig {
        max_connections: 1,
        ..ServerConfig::default()
    })
    .await;
    let mut first = TcpStream::connect(server.addr).await.unwrap();
    send(
        &mut first,
        ApiKey::Metadata,
        1,
        &pb::MetadataRequest::default(),
    )
    .await;
    let mut buf = BytesMut::new();
    assert_eq!(read(&mut first, &mut buf).await.0, 1);
    // The second connection is accepted by the kernel but not served
    // until the first one closes.
    let mut second = TcpStream::connect(server.addr).await.unwrap();
    send(
        &mut second,
        ApiKey::Metadata,
        2,
        &pb::MetadataRequest::default(),
    )
    .await;
    let mut scratch = [0u8; 16];
    let early = tokio::time::timeout(Duration::from_millis(200), second.read(&mut scratch)).await;
    assert!(early.is_err(), "served beyond the connection limit");
    drop(first);
    let mut buf = BytesMut::new();
    assert_eq!(read(&mut second, &mut buf).await.0, 2);
    server.stop.send(()).unwrap();
    server.task.await.unwrap();
}
