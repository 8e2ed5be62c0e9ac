//! Connections that never complete a request: at the connection limit the
//! oldest of them is closed to admit a new client, and the handshake timeout
//! closes them on its own; connections that completed a request are never
//! touched by either.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::BytesMut;
use sluice_network::{RequestBudget, ServerConfig};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use common::{closed_by_server, produce_frame, read, round_trip, serve, serve_with, until};

#[tokio::test]
async fn silent_connections_are_evicted_oldest_first_for_new_clients() {
    const LIMIT: usize = 16;
    const EXTRA: usize = 20;
    // The handshake timeout is far away: only eviction can close anything.
    let server = serve(ServerConfig {
        max_connections: LIMIT,
        handshake_timeout: Duration::from_secs(300),
        ..ServerConfig::default()
    })
    .await;
    let mut established = TcpStream::connect(server.addr).await.unwrap();
    round_trip(&mut established, 1).await;
    let mut silent = Vec::new();
    for _ in 0..LIMIT - 1 + EXTRA {
        silent.push(TcpStream::connect(server.addr).await.unwrap());
    }
    // Accepted after all of them (the backlog is first in, first out), and
    // served at once, while every slot is taken.
    let mut newcomer = TcpStream::connect(server.addr).await.unwrap();
    round_trip(&mut newcomer, 2).await;

    // One eviction per connection admitted at the limit, oldest first.
    let evicted = EXTRA + 1;
    assert_eq!(
        server.stats.connections_evicted.load(Ordering::Relaxed),
        evicted as u64
    );
    for stream in &mut silent[..evicted] {
        closed_by_server(stream).await;
    }
    assert_eq!(
        server.stats.connections_open.load(Ordering::Relaxed),
        LIMIT as u64,
        "the established client, the newcomer and the youngest silent ones"
    );
    round_trip(&mut established, 3).await;
    round_trip(&mut newcomer, 4).await;
    server.shut_down().await;
}

#[tokio::test]
async fn handshake_timeout_closes_only_connections_that_never_completed_a_request() {
    let frame = |id| produce_frame(id, 200_000);
    // Room for one produce frame: a second one waits for it.
    let budget = RequestBudget::new(frame(0).len() + 1024);
    let config = ServerConfig {
        handshake_timeout: Duration::from_secs(2),
        ..ServerConfig::default()
    };
    let server = serve_with(config, budget.clone(), false).await;
    let mut established = TcpStream::connect(server.addr).await.unwrap();
    round_trip(&mut established, 1).await;

    let produce = |id| {
        let addr = server.addr;
        let frame = frame(id);
        tokio::spawn(async move {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            stream.write_all(&frame).await.unwrap();
            let mut buf = BytesMut::new();
            read(&mut stream, &mut buf).await.0
        })
    };
    let holder = produce(2);
    until("the first produce to be held", || {
        server.produced.load(Ordering::Acquire) == 1
    })
    .await;
    // Its first request waits for memory: not its fault, so no clock runs.
    let waiter = produce(3);
    until("the second produce to wait for memory", || {
        budget.waits() >= 1
    })
    .await;

    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    let mut trickler = TcpStream::connect(server.addr).await.unwrap();
    trickler.write_all(&[0]).await.unwrap();
    closed_by_server(&mut silent).await;
    closed_by_server(&mut trickler).await;
    assert_eq!(server.stats.handshake_timeouts.load(Ordering::Relaxed), 2);

    // Accepted before the two that timed out, yet still open.
    server.gate.send_replace(true);
    assert_eq!(holder.await.unwrap(), 2);
    assert_eq!(waiter.await.unwrap(), 3);
    round_trip(&mut established, 4).await;
    assert_eq!(server.stats.handshake_timeouts.load(Ordering::Relaxed), 2);
    server.shut_down().await;
}
