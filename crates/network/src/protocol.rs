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
use sluice_protocol::frame::{self, FrameError, REQUEST_HEADER_LEN};
use sluice_protocol::{ErrorCode, RequestHeader};
use tracing::debug;

use crate::budget::Reservation;
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
/// of the bytes after it. The connection reads that prefix, asks
/// [`Protocol::frame_len`] whether it is acceptable, reserves the frame's
/// bytes in the request memory budget and reads the rest into a buffer of
/// exactly the frame's size, then hands the whole frame to
/// [`Protocol::answer`].
pub trait Protocol: Send + Sync + 'static {
    /// Kept by the connection for each request answered by a spawned task,
    /// to answer it anyway if that task fails (panics).
    type Ticket: Send + 'static;

    /// The length of the frame whose prefix is `prefix` (the bytes after the
    /// prefix), checked against `max_frame_bytes` and the protocol's own
    /// bounds before any memory is set aside for it. `Err`: the stream
    /// cannot be framed; the connection closes.
    fn frame_len(&self, prefix: [u8; 4], max_frame_bytes: usize) -> Result<usize, Unframeable>;

    /// Decodes one whole frame (`frame`: its prefix and the
    /// [`Protocol::frame_len`] bytes after it) and runs the request's
    /// synchronous part (called in request order on the connection task).
    ///
    /// `memory` is the frame's share of the request memory budget: attach it
    /// ([`Reservation::attach`]) to the bytes handed to the handler, so it is
    /// released when they are, not before. `Err`: the request cannot be
    /// answered in a form the client understands; the connection closes.
    fn answer(
        &self,
        frame: BytesMut,
        memory: Reservation,
        endpoints: Endpoints,
    ) -> Result<(Self::Ticket, Reply), Unframeable>;

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

    fn frame_len(&self, prefix: [u8; 4], max_frame_bytes: usize) -> Result<usize, Unframeable> {
        let len = u32::from_be_bytes(prefix) as usize;
        let error = if len > max_frame_bytes {
            FrameError::FrameTooLarge {
                len,
                max: max_frame_bytes,
            }
        } else if len < REQUEST_HEADER_LEN {
            FrameError::FrameTooShort { len }
        } else {
            return Ok(len);
        };
        Err(Unframeable(error.to_string()))
    }

    fn answer(
        &self,
        mut frame: BytesMut,
        memory: Reservation,
        endpoints: Endpoints,
    ) -> Result<(u32, Reply), Unframeable> {
        // The length was checked by `frame_len`; the whole frame is here.
        let (header, body) = frame::decode_request_frame(&mut frame, usize::MAX)
            .map_err(|error| Unframeable(error.to_string()))?
            .ok_or_else(|| Unframeable("incomplete request frame".to_owned()))?;
        let correlation_id = header.correlation_id;
        let body = memory.attach(body);
        Ok((correlation_id, self.dispatch(header, body, endpoints.peer)))
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
