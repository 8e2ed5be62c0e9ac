//! [`NativeWire`]: Sluice's own protocol (`docs/protocol.md`) on the
//! shared connection loop, answered by a [`Handler`].
//!
//! A frame is `u32 length | request header | protobuf body`. A header
//! naming an api key or version this build does not serve gets an error
//! response; a frame that cannot be cut or decoded closes the connection.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::BytesMut;
use sluice_protocol::frame::{self, FrameError, REQUEST_HEADER_LEN};
use sluice_protocol::{ApiKey, ErrorCode, RequestHeader};
use tracing::{Span, debug, debug_span};

use crate::budget::Reservation;
use crate::handler::{Handler, Reply, Request, Response};
use crate::wire::{Answer, Endpoints, Unframeable, WireProtocol};

/// The native protocol: Sluice's frames answered by a [`Handler`].
#[derive(Debug)]
pub struct NativeWire<H> {
    handler: Arc<H>,
}

impl<H> NativeWire<H> {
    pub fn new(handler: Arc<H>) -> NativeWire<H> {
        NativeWire { handler }
    }
}

impl<H: Handler> WireProtocol for NativeWire<H> {
    const NAME: &'static str = "native";

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
    ) -> Result<Answer<u32>, Unframeable> {
        // The length was checked by `frame_len`; the whole frame is here.
        let (header, body) = frame::decode_request_frame(&mut frame, usize::MAX)
            .map_err(|error| Unframeable(error.to_string()))?
            .ok_or_else(|| Unframeable("incomplete request frame".to_owned()))?;
        let correlation_id = header.correlation_id;
        let span = request_span(&header);
        let body = memory.attach(body);
        let reply = span.in_scope(|| self.dispatch(header, body, endpoints.peer));
        Ok(Answer {
            ticket: correlation_id,
            reply,
            span,
        })
    }

    fn task_failed(&self, correlation_id: u32) -> Option<Response> {
        Some(Response::error(
            correlation_id,
            ErrorCode::Unknown,
            "internal error",
        ))
    }
}

impl<H: Handler> NativeWire<H> {
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

/// The span of one request. Debug level: a request is the hot path, and a
/// disabled span costs next to nothing (its fields are not even recorded).
fn request_span(header: &RequestHeader) -> Span {
    match ApiKey::try_from(header.api_key) {
        Ok(api) => debug_span!(
            "request",
            ?api,
            api_version = header.api_version,
            correlation_id = header.correlation_id
        ),
        // Not an api this build knows: `dispatch` answers with an error.
        Err(_) => debug_span!(
            "request",
            api_key = header.api_key,
            api_version = header.api_version,
            correlation_id = header.correlation_id
        ),
    }
}
