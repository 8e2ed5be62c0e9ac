//! What a handler logs carries its connection and its request: the
//! connection span (`peer`, `local`, `protocol`) and the request span
//! (`api`, `api_version`, `correlation_id`), also in a deferred reply, a
//! task of its own; with the request span filtered out, the deferred reply
//! still runs in the connection's.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::BytesMut;
use sluice_kafka::{ApiVersionsRequest, ApiVersionsResponse};
use sluice_network::{
    Handler, KafkaHandler, KafkaRequest, KafkaWire, NativeWire, NetworkStats, Reply, Request,
    RequestBudget, Response, ServerConfig, WireProtocol, server,
};
use sluice_protocol::{ApiRequest, RequestHeader, io as native_io, pb};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tracing::level_filters::LevelFilter;
use tracing_subscriber::fmt::MakeWriter;

const STEP: Duration = Duration::from_secs(30);

/// Log lines written by the subscriber under test.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    /// The first line that contains `message`.
    fn line(&self, message: &str) -> String {
        let bytes = self.0.lock().unwrap().clone();
        let text = String::from_utf8(bytes).unwrap();
        text.lines()
            .find(|line| line.contains(message))
            .unwrap_or_else(|| panic!("no line with {message:?} in:\n{text}"))
            .to_owned()
    }
}

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

/// Logs once while handling and once in the deferred reply.
struct NativeLogger;

impl Handler for NativeLogger {
    fn handle(&self, request: Request) -> Reply {
        tracing::info!("native handling");
        let id = request.header.correlation_id;
        Reply::Later(Box::pin(async move {
            tokio::task::yield_now().await;
            tracing::info!("native deferred reply");
            Response::message(id, &pb::ApiVersionsResponse::default())
        }))
    }
}

struct KafkaLogger;

impl KafkaHandler for KafkaLogger {
    fn handle(&self, request: KafkaRequest) -> Reply {
        tracing::info!("kafka handling");
        Reply::Later(Box::pin(async move {
            tokio::task::yield_now().await;
            tracing::info!("kafka deferred reply");
            request.respond(ApiVersionsResponse::default())
        }))
    }
}

/// Runs `client` against `protocol` on port 0 with a subscriber at `level`
/// installed for this (single-threaded) runtime, and returns what it logged.
async fn logged<P, F>(
    level: LevelFilter,
    protocol: P,
    client: impl FnOnce(TcpStream) -> F,
) -> Captured
where
    P: WireProtocol,
    F: Future<Output = ()>,
{
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_ansi(false)
        .with_writer(captured.clone())
        .finish();
    let _default = tracing::subscriber::set_default(subscriber);

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(server::serve(
        listener,
        Arc::new(protocol),
        ServerConfig::default(),
        Arc::new(NetworkStats::default()),
        RequestBudget::default(),
        async {
            let _ = stopped.await;
        },
    ));
    let stream = TcpStream::connect(addr).await.unwrap();
    tokio::time::timeout(STEP, client(stream)).await.unwrap();
    stop.send(()).unwrap();
    server.await.unwrap();
    captured
}

/// One native ApiVersions request, correlation id 7, and its response.
async fn native_round_trip(mut stream: TcpStream) {
    let header = RequestHeader {
        api_key: pb::ApiVersionsRequest::API_KEY.into(),
        api_version: 0,
        correlation_id: 7,
        client_id: String::new(),
    };
    native_io::write_request_frame(&mut stream, &header, &pb::ApiVersionsRequest {})
        .await
        .unwrap();
    let mut buf = BytesMut::new();
    let (head, _, _) = native_io::read_response_frame(&mut stream, &mut buf, 1 << 20)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(head.correlation_id, 7);
}

/// One Kafka ApiVersions v0 request, correlation id 7, and its response.
async fn kafka_round_trip(mut stream: TcpStream) {
    let header = sluice_kafka::RequestHeader {
        api_key: 18,
        api_version: 0,
        correlation_id: 7,
        client_id: None,
    };
    let request = sluice_kafka::frame::encode_request_frame(
        &header,
        &sluice_kafka::Request::from(ApiVersionsRequest::default()),
    );
    stream.write_all(&request).await.unwrap();
    let mut size = [0u8; 4];
    stream.read_exact(&mut size).await.unwrap();
    let mut response = vec![0u8; u32::from_be_bytes(size) as usize];
    stream.read_exact(&mut response).await.unwrap();
    assert_eq!(&response[..4], &7i32.to_be_bytes());
}

#[tokio::test]
async fn native_logs_carry_the_connection_and_the_request() {
    let native = NativeWire::new(Arc::new(NativeLogger));
    let logs = logged(LevelFilter::DEBUG, native, native_round_trip).await;
    for message in ["native handling", "native deferred reply"] {
        let line = logs.line(message);
        assert!(line.contains("connection{"), "{line}");
        assert!(line.contains("protocol=\"native\""), "{line}");
        assert!(line.contains("local=127.0.0.1:"), "{line}");
        assert!(line.contains("peer=127.0.0.1:"), "{line}");
        assert!(
            line.contains("request{api=ApiVersions api_version=0 correlation_id=7}"),
            "{line}"
        );
    }
}

#[tokio::test]
async fn kafka_logs_carry_the_connection_and_the_request() {
    let kafka = KafkaWire::new(Arc::new(KafkaLogger));
    let logs = logged(LevelFilter::DEBUG, kafka, kafka_round_trip).await;
    for message in ["kafka handling", "kafka deferred reply"] {
        let line = logs.line(message);
        assert!(line.contains("protocol=\"kafka\""), "{line}");
        assert!(
            line.contains("request{api=\"ApiVersions\" api_version=0 correlation_id=7}"),
            "{line}"
        );
    }
}

#[tokio::test]
async fn without_request_spans_a_deferred_reply_keeps_the_connection_span() {
    let native = NativeWire::new(Arc::new(NativeLogger));
    let logs = logged(LevelFilter::INFO, native, native_round_trip).await;
    let line = logs.line("native deferred reply");
    assert!(line.contains("connection{"), "{line}");
    assert!(line.contains("protocol=\"native\""), "{line}");
    assert!(!line.contains("request{"), "{line}");
}
