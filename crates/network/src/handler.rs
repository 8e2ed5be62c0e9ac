//! The seam between the server and the broker.
//!
//! The connection task calls [`Handler::handle`] once per request, in the
//! order the requests were read, and waits for it to return before it looks
//! at the next one. Whatever must happen in request order (an append) is
//! done inside `handle`; whatever may wait (a flush for `acks = all`, a long
//! poll) goes into the [`Reply::Later`] future, which runs concurrently with
//! the later requests of the same connection. Responses are still written in
//! request order.
//!
//! Both parts run inside the request's `tracing` span (`api`, `api_version`,
//! `correlation_id`, at debug level), a child of the connection's span
//! (`id`, `peer`, `local`, `protocol`), so what the handler logs, now or in
//! its [`Reply::Later`] future, says which request and connection it is
//! about. When the request span is filtered out, the future still runs in
//! the connection's.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;

use bytes::{BufMut, Bytes, BytesMut};
use sluice_protocol::frame::{self, FrameError, RESPONSE_HEADER_LEN};
use sluice_protocol::{ApiKey, ErrorCode, RequestHeader, pb};

use crate::file_range::FileRange;

/// One decoded request whose api key and version this build serves.
#[derive(Debug, Clone)]
pub struct Request {
    pub header: RequestHeader,
    /// `header.api_key`, already validated together with the version.
    pub api: ApiKey,
    /// The protobuf body, a slice of the connection's read buffer.
    pub body: Bytes,
    /// The client's address, for logs.
    pub peer: SocketAddr,
}

/// The asynchronous completion of a request.
pub type ResponseFuture = Pin<Box<dyn Future<Output = Response> + Send + 'static>>;

/// What [`Handler::handle`] hands back.
pub enum Reply {
    /// Send nothing (produce with `acks = 0`).
    NoResponse,
    /// The response is complete.
    Ready(Response),
    /// The response needs waiting (flush, long poll). The future is spawned
    /// at once, so it runs while later requests are handled.
    Later(ResponseFuture),
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reply::NoResponse => f.write_str("NoResponse"),
            Reply::Ready(response) => f.debug_tuple("Ready").field(response).finish(),
            Reply::Later(_) => f.write_str("Later(..)"),
        }
    }
}

/// One piece of a response, written in order: bytes from memory, or a
/// file range sent with the server's [`crate::TransferMode`].
#[derive(Debug, Clone)]
pub enum Part {
    Bytes(Bytes),
    /// Bytes straight from a file (fetched records). The length was fixed
    /// when the response was built and is already counted in the frame's
    /// size.
    File(FileRange),
}

impl Part {
    /// Bytes this part puts on the wire.
    pub fn len(&self) -> u64 {
        match self {
            Part::Bytes(bytes) => bytes.len() as u64,
            Part::File(range) => range.len,
        }
    }

    /// True when the part puts nothing on the wire.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A response ready to be written: its parts, in wire order. Native
/// responses are a head (length, correlation id, body length, protobuf
/// body) followed by the file ranges of a fetch; Kafka fetch responses
/// alternate encoded bytes and file ranges. Either way the whole frame,
/// size prefix included, is the concatenation of the parts.
#[derive(Debug, Clone)]
pub struct Response {
    parts: Vec<Part>,
}

impl Response {
    /// A response whose frame carries `body` followed by the bytes of
    /// `trailing`, in order (a native fetch response).
    pub fn with_trailing(
        correlation_id: u32,
        body: &impl prost::Message,
        trailing: Vec<FileRange>,
    ) -> Result<Response, FrameError> {
        let total: u64 = trailing.iter().map(|range| range.len).sum();
        let trailing_len = usize::try_from(total).map_err(|_| FrameError::FrameTooLarge {
            len: usize::MAX,
            max: u32::MAX as usize,
        })?;
        let mut head = BytesMut::new();
        frame::encode_response_head(correlation_id, body, trailing_len, &mut head)?;
        let mut parts = Vec::with_capacity(1 + trailing.len());
        parts.push(Part::Bytes(head.freeze()));
        parts.extend(trailing.into_iter().map(Part::File));
        Ok(Response { parts })
    }

    /// A native response with only a protobuf body. A body too large for a
    /// frame (over 4 GiB) becomes an `UNKNOWN` error response.
    pub fn message(correlation_id: u32, body: &impl prost::Message) -> Response {
        Self::with_trailing(correlation_id, body, Vec::new()).unwrap_or_else(|error| {
            Response::error(
                correlation_id,
                ErrorCode::Unknown,
                format!("response could not be encoded: {error}"),
            )
        })
    }

    /// A native `ErrorResponse`: decodes as any typed response with
    /// `error_code` set (see `docs/protocol.md`, *Uniform response prefix*).
    pub fn error(correlation_id: u32, code: ErrorCode, message: impl Into<String>) -> Response {
        let body = pb::ErrorResponse {
            error_code: code as i32,
            error_message: message.into(),
        };
        let mut head = BytesMut::new();
        if frame::encode_response_head(correlation_id, &body, 0, &mut head).is_err() {
            // Only an absurd message could fail; fall back to an empty body,
            // which still decodes (as NONE) rather than desynchronising.
            head.clear();
            head.put_u32(RESPONSE_HEADER_LEN as u32);
            head.put_u32(correlation_id);
            head.put_u32(0);
        }
        Response::bytes(head.freeze())
    }

    /// A response that is one encoded frame.
    pub fn bytes(frame: Bytes) -> Response {
        Response {
            parts: vec![Part::Bytes(frame)],
        }
    }

    /// A response made of `parts`, written in order; together they must be
    /// exactly one frame of the connection's protocol.
    pub fn from_parts(parts: Vec<Part>) -> Response {
        Response { parts }
    }

    /// The parts, in wire order.
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// Bytes the whole response puts on the wire.
    pub fn len(&self) -> u64 {
        self.parts.iter().map(Part::len).sum()
    }

    /// True when the response puts nothing on the wire.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Request processing, implemented by the broker.
pub trait Handler: Send + Sync + 'static {
    /// Runs the synchronous part of one request. Called on the connection
    /// task in request order; must not block for long (an append is fine, an
    /// `fsync` is not: put that in [`Reply::Later`]).
    fn handle(&self, request: Request) -> Reply;
}
