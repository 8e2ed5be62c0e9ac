//! What differs between the listeners: how a byte stream is cut into
//! requests and how a request becomes a [`Reply`].
//!
//! The connection loop (`connection`), the accept loop ([`crate::server`])
//! and the transfer path ([`crate::transfer`]) are shared; a [`Protocol`]
//! supplies only the framing and the dispatch. Two implement it: [`Native`]
//! (Sluice's own frames, `docs/protocol.md`, answered by a [`Handler`]) and
//! [`crate::kafka::Kafka`] (Kafka's wire protocol, answered by a
//! [`crate::kafka::KafkaHandler`]).

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::BytesMut;
use sluice_protocol::frame;
use sluice_protocol::{ErrorCode, RequestHeader};
use tracing::debug;

use crate::handler::{Handler, Reply, Request, Response};

/// The two ends of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoints {
    /// The client.
    pub peer: SocketAddr,
    /// The address the client reached us on (what a Kafka client is told
    /// to connect to).
    pub local: SocketAddr,
}

/// Why a connection's byte stream cannot go on: it is logged and the
/// connection closed (after the responses already queued are written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unframeable(pub String);

impl fmt::Display for Unframeable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unframeable {}

/// Framing and dispatch of one wire protocol.
///
/// Every frame of both protocols starts with a four-byte big-endian length
/// of the bytes after it; the connection uses that to size its reads.
pub trait Protocol: Send + Sync + 'static {
    /// Kept by the connection for each request answered by a spawned task,
    /// to answer it anyway if that task fails (panics).
    type Ticket: Send + 'static;

    /// Takes the next whole request off the front of `buf` and runs its
    /// synchronous part (called in request order on the connection task).
    /// `Ok(None)`: more bytes are needed and nothing was consumed. `Err`:
    /// the stream cannot be framed or answered; the connection closes.
    fn next_request(
        &self,
        buf: &mut BytesMut,
        max_frame_bytes: usize,
        endpoints: Endpoints,
    ) -> Result<Option<(Self::Ticket, Reply)>, Unframeable>;

    /// The response to write when the task of `ticket` failed; `None`
    /// closes the connection instead.
    fn task_failed(&self, ticket: Self::Ticket) -> Option<Response>;
}

/// The native protocol: Sluice's frames answered by a [`Handler`].
#[derive(Debug)]
pub struct Native<H> {
    handler: Arc<H>,
}

impl<H> Native<H> {
    pub fn new(handler: Arc<H>) -> Native<H> {
        Native { handler }
    }
}

impl<H: Handler> Protocol for Native<H> {
    type Ticket = u32;

    fn next_request(
        &self,
        buf: &mut BytesMut,
        max_frame_bytes: usize,
        endpoints: Endpoints,
    ) -> Result<Option<(u32, Reply)>, Unframeable> {
        let Some((header, body)) = frame::decode_request_frame(buf, max_frame_bytes)
            .map_err(|error| Unframeable(error.to_string()))?
        else {
            return Ok(None);
        };
        let correlation_id = header.correlation_id;
        Ok(Some((
            correlation_id,
            self.dispatch(header, body, endpoints.peer),
        )))
    }

    fn task_failed(&self, correlation_id: u32) -> Option<Response> {
        Some(Response::error(
            correlation_id,
            ErrorCode::Unknown,
            "internal error",
        ))
    }
}

impl<H: Handler> Native<H> {
    fn dispatch(&self, header: RequestHeader, body: bytes::Bytes, peer: SocketAddr) -> Reply {
        let correlation_id = header.correlation_id;
        match header.api() {
            Ok(api) => self.handler.handle(Request {
                header,
                api,
                body,
                peer,
            }),
            Err(error) => {
                debug!(%peer, api_key = header.api_key, api_version = header.api_version, %error, "rejected request header");
                Reply::Ready(Response::error(
                    correlation_id,
                    error.error_code(),
                    error.to_string(),
                ))
            }
        }
    }
}
