//! The Sluice TCP server: accepts connections, frames requests, hands them
//! to a [`Handler`] and writes the responses back in request order, sending
//! fetch records straight from files.
//!
//! This crate knows frames and byte transfer, not topics or storage: the
//! broker implements [`Handler`], decides what each request means, and
//! hands over record bytes as [`FileRange`]s of its segment files.
//!
//! # Layout
//!
//! - [`server`] — [`server::serve`] (any [`WireProtocol`]) and [`server::run`]
//!   (the native one), the accept loop with its connection-limit semaphore
//!   and graceful shutdown (modelled on mini-redis).
//! - `admission`: which connection makes room at the limit (the oldest one
//!   that has not completed a request), as plain code.
//! - `connection`: one task per connection, generic over the protocol: a
//!   reader and a writer; the writer awaits the completions in request
//!   order and writes the responses.
//! - `reader`: cuts frames, reserves each one's memory before reading its
//!   body, and runs each request's synchronous part in read order.
//! - `timers`: when a reading connection is closed (handshake, frame and
//!   idle timeouts), as plain code.
//! - [`budget`] — [`RequestBudget`], the server-wide bound on request
//!   memory, and the [`Reservation`] a request's bytes carry.
//! - [`wire`] — the [`WireProtocol`] trait (framing and dispatch), what
//!   differs between listeners.
//! - [`native_wire`] — [`NativeWire`], Sluice's own protocol answered by a
//!   [`Handler`].
//! - [`kafka_wire`] — [`KafkaWire`], the Kafka wire protocol answered by a
//!   [`KafkaHandler`], and the Kafka response encoders (the fetch one sends
//!   its records through the same transfer path).
//! - [`handler`] — the [`Handler`] trait, [`Request`], [`Reply`] and
//!   [`Response`] (its [`Part`]s: encoded bytes and file ranges, in order).
//! - [`file_range`] — [`FileRange`], bytes of an open file to send as they
//!   are.
//! - [`transfer`] — how trailing record bytes leave: [`TransferMode`]
//!   (`sendfile`, `splice`, `mmap`, `read`) and the per-mode byte counters in
//!   [`NetworkStats`]. Its `sys` submodule is the only place with `unsafe`.
//! - [`config`] — [`ServerConfig`].
//!
//! Every connection task runs in an info-level `connection` span (`id`,
//! `peer`, `local`, `protocol`), every request in a debug-level `request`
//! span inside it (`api`, `api_version`, `correlation_id`), deferred
//! replies included; see [`handler`]. Installing a subscriber is left to
//! the binary.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use sluice_network::{Handler, NetworkStats, Reply, Request, RequestBudget, Response, ServerConfig, server};
//! use sluice_protocol::{io, pb, ApiRequest, RequestHeader};
//!
//! /// Answers every request with an empty ApiVersions response.
//! struct Echo;
//! impl Handler for Echo {
//!     fn handle(&self, request: Request) -> Reply {
//!         let body = pb::ApiVersionsResponse::default();
//!         Reply::Ready(Response::message(request.header.correlation_id, &body))
//!     }
//! }
//!
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let addr = listener.local_addr()?;
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let stats = Arc::new(NetworkStats::default());
//! let budget = RequestBudget::default();
//! let server = tokio::spawn(server::run(listener, Arc::new(Echo), ServerConfig::default(), stats, budget, async {
//!     let _ = stopped.await;
//! }));
//!
//! let mut client = tokio::net::TcpStream::connect(addr).await?;
//! let header = RequestHeader {
//!     api_key: pb::ApiVersionsRequest::API_KEY.into(),
//!     api_version: 0,
//!     correlation_id: 7,
//!     client_id: String::new(),
//! };
//! io::write_request_frame(&mut client, &header, &pb::ApiVersionsRequest {}).await?;
//! let mut buf = bytes::BytesMut::new();
//! let (head, _body, _trailing) = io::read_response_frame(&mut client, &mut buf, 1 << 20).await?.unwrap();
//! assert_eq!(head.correlation_id, 7);
//!
//! let _ = stop.send(());
//! server.await?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod admission;
pub mod budget;
pub mod config;
mod connection;
pub mod file_range;
pub mod handler;
pub mod kafka_wire;
pub mod native_wire;
mod reader;
pub mod server;
mod timers;
pub mod transfer;
pub mod wire;

pub use budget::{BudgetError, RequestBudget, Reservation};
pub use config::ServerConfig;
pub use file_range::FileRange;
pub use handler::{Handler, Part, Reply, Request, Response, ResponseFuture};
pub use kafka_wire::{KafkaHandler, KafkaRequest, KafkaWire};
pub use native_wire::NativeWire;
pub use transfer::{NetworkStats, TransferMode};
pub use wire::{Answer, Endpoints, Unframeable, WireProtocol};
