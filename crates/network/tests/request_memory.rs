//! The request memory budget on a real server: many large produce frames at
//! once all succeed without the budget ever being exceeded, the budget stays
//! held while a handler keeps a request's bytes, a frame larger than the
//! whole budget closes only its own connection, and the native and Kafka
//! listeners draw on one budget.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::{Buf, BytesMut};
use prost::Message;
use sluice_kafka::{ApiVersionsRequest, ApiVersionsResponse, RequestHeader};
use sluice_network::{
    KafkaHandler, KafkaRequest, KafkaWire, NetworkStats, Reply, RequestBudget, ServerConfig, server,
};
use sluice_protocol::pb;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use common::{STEP, closed_by_server, produce_frame, read, round_trip, serve_with, until};

/// Sends `frame` (one produce request) on a new connection and returns the
/// batch bytes the server reports it received, having checked that the
/// budget counted at least those bytes for as long as the handler held them.
async fn produce(addr: std::net::SocketAddr, frame: bytes::Bytes) -> i64 {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(&frame).await.unwrap();
    let mut buf = BytesMut::new();
    let (_, body, _) = read(&mut stream, &mut buf).await;
    let response = pb::ProduceResponse::decode(body).unwrap();
    assert_eq!(response.error_code, 0);
    assert!(
        response.base_offset >= response.last_offset,
        "{} bytes held by the handler, {} reserved",
        response.last_offset,
        response.base_offset
    );
    response.last_offset
}

#[tokio::test]
async fn concurrent_large_produces_all_succeed_within_the_budget() {
    const CLIENTS: usize = 24;
    const BATCH: usize = 6 << 20;
    let frame = produce_frame(7, BATCH);
    let budget = RequestBudget::new(32 << 20);
    let config = ServerConfig {
        max_frame_bytes: 8 << 20,
        ..ServerConfig::default()
    };
    // The gate is closed: handled produce requests keep their batches (and
    // so their buffers) until it opens.
    let server = serve_with(config, budget.clone(), false).await;
    let fit = budget.capacity() / frame.len();
    assert!(fit < CLIENTS, "the clients must offer more than the budget");

    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| tokio::spawn(produce(server.addr, frame.clone())))
        .collect();
    // As many requests as fit are handled and held; every other one waits
    // for memory (each reserves once, and only the first `fit` find room).
    let waiting = (CLIENTS - fit) as u64;
    until(
        "the requests that fit to be handled, the others to wait",
        || budget.waits() >= waiting && server.produced.load(Ordering::Acquire) >= fit,
    )
    .await;
    assert_eq!(budget.waits(), waiting);
    assert_eq!(server.produced.load(Ordering::Acquire), fit);
    // Their handler calls have returned, but their bytes are alive: so is
    // their reservation, to the byte.
    assert_eq!(budget.reserved(), fit * frame.len());
    server.gate.send_replace(true);
    for client in clients {
        let received = tokio::time::timeout(STEP, client).await.unwrap().unwrap();
        assert_eq!(received, BATCH as i64);
    }
    assert_eq!(server.produced.load(Ordering::Acquire), CLIENTS);
    assert!(
        budget.high_water() <= budget.capacity(),
        "{budget:?} exceeded"
    );
    assert_eq!(budget.high_water(), fit * frame.len());
    // Every request's bytes are gone once its response is written.
    assert_eq!(budget.reserved(), 0);
    server.shut_down().await;
}

#[tokio::test]
async fn a_frame_larger_than_the_whole_budget_closes_only_its_connection() {
    let exact = produce_frame(1, 600_000);
    let budget = RequestBudget::new(exact.len());
    let config = ServerConfig {
        max_frame_bytes: 4 << 20,
        ..ServerConfig::default()
    };
    let server = serve_with(config, budget.clone(), true).await;
    let mut greedy = TcpStream::connect(server.addr).await.unwrap();
    greedy.write_all(&(2u32 << 20).to_be_bytes()).await.unwrap();
    closed_by_server(&mut greedy).await;
    assert_eq!(server.stats.connections_rejected.load(Ordering::Relaxed), 1);
    assert_eq!(budget.reserved(), 0);
    assert_eq!(budget.waits(), 0, "it failed at once, without waiting");

    // A frame of exactly the whole budget is fine.
    assert_eq!(produce(server.addr, exact).await, 600_000);
    let mut other = TcpStream::connect(server.addr).await.unwrap();
    round_trip(&mut other, 2).await;
    server.shut_down().await;
}

/// Answers every Kafka request with an empty ApiVersions body.
struct KafkaEcho;

impl KafkaHandler for KafkaEcho {
    fn handle(&self, request: KafkaRequest) -> Reply {
        Reply::Ready(request.respond(ApiVersionsResponse::default()))
    }
}

#[tokio::test]
async fn native_and_kafka_listeners_share_one_budget() {
    let held = produce_frame(1, 100_000);
    // Room for the native frame and not for the smallest Kafka request too.
    let budget = RequestBudget::new(held.len() + 8);
    let native = serve_with(ServerConfig::default(), budget.clone(), false).await;
    let kafka_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let kafka_addr = kafka_listener.local_addr().unwrap();
    let (stop_kafka, kafka_stopped) = tokio::sync::oneshot::channel::<()>();
    let kafka = tokio::spawn(server::serve(
        kafka_listener,
        Arc::new(KafkaWire::new(Arc::new(KafkaEcho))),
        ServerConfig::default(),
        Arc::new(NetworkStats::default()),
        budget.clone(),
        async {
            let _ = kafka_stopped.await;
        },
    ));

    let producer = tokio::spawn(produce(native.addr, held.clone()));
    until("the native produce to be handled", || {
        native.produced.load(Ordering::Acquire) == 1
    })
    .await;
    let header = RequestHeader {
        api_key: 18,
        api_version: 0,
        correlation_id: 5,
        client_id: None,
    };
    let request = sluice_kafka::frame::encode_request_frame(
        &header,
        &sluice_kafka::Request::from(ApiVersionsRequest::default()),
    );
    assert!(request.len() > 8);
    let mut client = TcpStream::connect(kafka_addr).await.unwrap();
    client.write_all(&request).await.unwrap();
    until(
        "the Kafka request to wait for the native one's memory",
        || budget.waits() >= 1,
    )
    .await;
    native.gate.send_replace(true);
    assert_eq!(
        tokio::time::timeout(STEP, producer).await.unwrap().unwrap(),
        100_000
    );
    let mut size = [0u8; 4];
    tokio::time::timeout(STEP, client.read_exact(&mut size))
        .await
        .unwrap()
        .unwrap();
    let mut response = vec![0u8; u32::from_be_bytes(size) as usize];
    client.read_exact(&mut response).await.unwrap();
    assert_eq!((&response[..]).get_i32(), 5, "correlation id");
    assert!(budget.high_water() <= budget.capacity());

    stop_kafka.send(()).unwrap();
    kafka.await.unwrap();
    native.shut_down().await;
}
