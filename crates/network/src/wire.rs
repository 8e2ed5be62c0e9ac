//! What differs between the listeners: how a byte stream is cut into
//! requests and how a request becomes a [`Reply`].
//!
//! The connection loop (`connection`), the accept loop ([`crate::server`])
//! and the transfer path ([`crate::transfer`]) are shared; a
//! [`WireProtocol`] supplies only the framing and the dispatch. Two
//! implement it: [`crate::NativeWire`] (Sluice's own frames,
//! `docs/protocol.md`, answered by a [`crate::Handler`]) and
//! [`crate::KafkaWire`] (Kafka's wire protocol, answered by a
//! [`crate::KafkaHandler`]).

use std::fmt;
use std::net::SocketAddr;

use bytes::BytesMut;
use tracing::Span;

use crate::budget::Reservation;
use crate::handler::{Reply, Response};

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
/// [`WireProtocol::frame_len`] whether it is acceptable, reserves the frame's
/// bytes in the request memory budget and reads the rest into a buffer of
/// exactly the frame's size, then hands the whole frame to
/// [`WireProtocol::answer`].
pub trait WireProtocol: Send + Sync + 'static {
    /// The protocol's name in logs: the `protocol` field of each
    /// connection's span.
    const NAME: &'static str;

    /// Kept by the connection for each request answered by a spawned task,
    /// to answer it anyway if that task fails (panics).
    type Ticket: Send + 'static;

    /// The length of the frame whose prefix is `prefix` (the bytes after the
    /// prefix), checked against `max_frame_bytes` and the protocol's own
    /// bounds before any memory is set aside for it. `Err`: the stream
    /// cannot be framed; the connection closes.
    fn frame_len(&self, prefix: [u8; 4], max_frame_bytes: usize) -> Result<usize, Unframeable>;

    /// Decodes one whole frame (`frame`: its prefix and the
    /// [`WireProtocol::frame_len`] bytes after it) and runs the request's
    /// synchronous part (called in request order on the connection task).
    ///
    /// `memory` is the frame's share of the request memory budget: attach it
    /// ([`Reservation::attach`]) to the bytes handed to the handler, so it is
    /// released when they are, not before. Run the handler inside the
    /// request's span and return that span with the reply. `Err`: the
    /// request cannot be answered in a form the client understands; the
    /// connection closes.
    fn answer(
        &self,
        frame: BytesMut,
        memory: Reservation,
        endpoints: Endpoints,
    ) -> Result<Answer<Self::Ticket>, Unframeable>;

    /// The response to write when the task of `ticket` failed; `None`
    /// closes the connection instead.
    fn task_failed(&self, ticket: Self::Ticket) -> Option<Response>;
}

/// What [`WireProtocol::answer`] hands back for one request.
#[derive(Debug)]
pub struct Answer<T> {
    /// Kept by the connection while a [`Reply::Later`] runs, for
    /// [`WireProtocol::task_failed`].
    pub ticket: T,
    pub reply: Reply,
    /// The request's span (`api`, `api_version`, `correlation_id`), a child
    /// of the connection's. The connection runs a [`Reply::Later`] future
    /// inside it, so what the future logs names its request.
    pub span: Span,
}
