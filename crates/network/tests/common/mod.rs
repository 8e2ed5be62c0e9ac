//! The in-process test server shared by the integration tests: a handler
//! that answers fetches from a file and holds produce requests at a gate,
//! a server on port 0, and small client helpers.
// Test code: a failed unwrap is a failed test. Not every test file uses
// every helper.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use prost::Message;
use sluice_network::{
    FileRange, Handler, NetworkStats, Reply, Request, RequestBudget, Response, ServerConfig, server,
};
use sluice_protocol::frame::{self, RequestHeader};
use sluice_protocol::{ApiKey, pb};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

/// Upper bound of one step of a test: generous, so a loaded machine does
/// not fail it; a test that needs it is broken.
pub const STEP: Duration = Duration::from_secs(30);

/// Fetch: waits `max_wait_ms`, then answers with `partitions[i].max_bytes`
/// bytes of the file starting at `partitions[i].offset`, one range each.
/// Produce with `acks = 0`: no response. Other produce: counted, then held
/// (its batches kept alive in the pending reply) until the gate is open,
/// then answered with the batch bytes received in `last_offset` and, in
/// `base_offset`, the bytes the budget had reserved while the batches were
/// still held. Anything else: an empty ApiVersions response.
pub struct TestHandler {
    file: Arc<std::fs::File>,
    gate: watch::Receiver<bool>,
    produced: Arc<AtomicUsize>,
    budget: RequestBudget,
}

impl Handler for TestHandler {
    fn handle(&self, request: Request) -> Reply {
        let id = request.header.correlation_id;
        match request.api {
            ApiKey::Produce => {
                let produce = pb::ProduceRequest::decode(request.body).unwrap();
                if produce.acks == 0 {
                    return Reply::NoResponse;
                }
                self.produced.fetch_add(1, Ordering::AcqRel);
                let mut gate = self.gate.clone();
                let budget = self.budget.clone();
                // The batches are slices of the request buffer: holding them
                // holds that buffer, and its reservation.
                let batches = produce.batches;
                Reply::Later(Box::pin(async move {
                    let _ = gate.wait_for(|open| *open).await;
                    let received: usize = batches.iter().map(Bytes::len).sum();
                    let reserved = budget.reserved();
                    drop(batches);
                    let body = pb::ProduceResponse {
                        base_offset: reserved as i64,
                        last_offset: received as i64,
                        ..Default::default()
                    };
                    Response::message(id, &body)
                }))
            }
            ApiKey::Fetch => {
                let fetch = pb::FetchRequest::decode(request.body).unwrap();
                let ranges: Vec<FileRange> = fetch
                    .partitions
                    .iter()
                    .map(|p| FileRange {
                        file: self.file.clone(),
                        offset: p.offset as u64,
                        len: u64::from(p.max_bytes),
                    })
                    .collect();
                let body = pb::FetchResponse {
                    partitions: fetch
                        .partitions
                        .iter()
                        .map(|p| pb::FetchPartitionResponse {
                            records_len: p.max_bytes,
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                };
                let delay = Duration::from_millis(fetch.max_wait_ms.into());
                Reply::Later(Box::pin(async move {
                    tokio::time::sleep(delay).await;
                    Response::with_trailing(id, &body, ranges).unwrap()
                }))
            }
            _ => Reply::Ready(Response::message(id, &pb::ApiVersionsResponse::default())),
        }
    }
}

pub struct TestServer {
    pub addr: SocketAddr,
    pub stats: Arc<NetworkStats>,
    pub budget: RequestBudget,
    /// Produce requests handled (with a response) so far.
    pub produced: Arc<AtomicUsize>,
    /// Send `true` to let held produce requests answer.
    pub gate: watch::Sender<bool>,
    pub stop: oneshot::Sender<()>,
    pub task: JoinHandle<()>,
    pub content: Vec<u8>,
    _file: tempfile::NamedTempFile,
}

impl TestServer {
    pub async fn shut_down(self) {
        self.gate.send_replace(true);
        self.stop.send(()).unwrap();
        tokio::time::timeout(STEP, self.task)
            .await
            .unwrap()
            .unwrap();
    }
}

/// A server with `config`, a default budget and the gate open.
pub async fn serve(config: ServerConfig) -> TestServer {
    serve_with(config, RequestBudget::default(), true).await
}

pub async fn serve_with(
    config: ServerConfig,
    budget: RequestBudget,
    gate_open: bool,
) -> TestServer {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    let content: Vec<u8> = (0..4u32 << 20)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    file.write_all(&content).unwrap();
    file.flush().unwrap();
    let handle = Arc::new(file.reopen().unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stats = Arc::new(NetworkStats::default());
    let (gate, gate_rx) = watch::channel(gate_open);
    let produced = Arc::new(AtomicUsize::new(0));
    let handler = TestHandler {
        file: handle,
        gate: gate_rx,
        produced: produced.clone(),
        budget: budget.clone(),
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(server::run(
        listener,
        Arc::new(handler),
        config,
        stats.clone(),
        budget.clone(),
        async {
            let _ = stopped.await;
        },
    ));
    TestServer {
        addr,
        stats,
        budget,
        produced,
        gate,
        stop,
        task,
        content,
        _file: file,
    }
}

/// One encoded request frame.
pub fn encode(api: ApiKey, id: u32, body: &impl Message) -> Bytes {
    let header = RequestHeader {
        api_key: api.as_u16(),
        api_version: 0,
        correlation_id: id,
        client_id: String::new(),
    };
    let mut out = BytesMut::new();
    frame::encode_request_frame(&header, body, &mut out).unwrap();
    out.freeze()
}

pub async fn send(stream: &mut TcpStream, api: ApiKey, id: u32, body: &impl Message) {
    stream.write_all(&encode(api, id, body)).await.unwrap();
}

/// A produce request frame (`acks = 1`) carrying one batch of `len` bytes.
pub fn produce_frame(id: u32, len: usize) -> Bytes {
    let batch: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    let body = pb::ProduceRequest {
        topic: "t".into(),
        acks: 1,
        batches: vec![Bytes::from(batch)],
        ..Default::default()
    };
    encode(ApiKey::Produce, id, &body)
}

pub async fn read(stream: &mut TcpStream, buf: &mut BytesMut) -> (u32, Bytes, Bytes) {
    tokio::time::timeout(STEP, async {
        loop {
            if let Some((header, body, trailing)) =
                frame::decode_response_frame(buf, 64 << 20).unwrap()
            {
                return (header.correlation_id, body, trailing);
            }
            assert!(
                stream.read_buf(buf).await.unwrap() > 0,
                "server closed the connection"
            );
        }
    })
    .await
    .unwrap()
}

/// One request and its response on `stream`: the connection is served.
pub async fn round_trip(stream: &mut TcpStream, id: u32) {
    send(
        stream,
        ApiKey::Metadata,
        id,
        &pb::MetadataRequest::default(),
    )
    .await;
    let mut buf = BytesMut::new();
    assert_eq!(read(stream, &mut buf).await.0, id);
}

/// Waits until the server closes `stream` (end of stream or a reset).
pub async fn closed_by_server(stream: &mut TcpStream) {
    let mut scratch = [0u8; 64];
    let closed = tokio::time::timeout(STEP, async {
        loop {
            match stream.read(&mut scratch).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the server did not close the connection");
}

/// Waits until `condition` holds (checked every millisecond), for at most
/// [`STEP`]. For state only the server can change, such as a counter that
/// says a connection is waiting for budget.
pub async fn until(what: &str, condition: impl Fn() -> bool) {
    let waited = tokio::time::timeout(STEP, async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "timed out waiting for {what}");
}
