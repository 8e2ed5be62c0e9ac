//! The Kafka wire protocol on the shared connection loop: framing, header
//! and body decoding with `sluice-kafka`, the answers that need no broker
//! (the ApiVersions fallback, errors for undecodable bodies), and the
//! response encoders the broker uses, including the fetch response whose
//! record bytes leave through [`crate::transfer`] like native ones.
//!
//! A frame is `int32 size | request header v1/v2 | body`. What cannot be
//! answered in a form the client understands closes the connection, as
//! Kafka does: an unknown api key, a version outside the advertised range
//! (except ApiVersions, which gets the v0 fallback), a header that does not
//! decode, and a malformed body of an api whose response has no top-level
//! error code.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Buf, Bytes, BytesMut};
use sluice_kafka::api::fetch_response::RecordsLen;
use sluice_kafka::{
    ApiKey, DecodeError, ErrorCode, FetchPart, FetchResponse, Request, RequestHeader, api_versions,
    frame,
};
use tracing::{Span, debug, debug_span, warn};

use crate::budget::Reservation;
use crate::file_range::FileRange;
use crate::handler::{Part, Reply, Response};
use crate::wire::{Answer, Endpoints, Unframeable, WireProtocol};

/// Smallest request frame: api key, version, correlation id and the
/// client id length.
const MIN_REQUEST_LEN: usize = 2 + 2 + 4 + 2;

/// One decoded Kafka request of an api and version Sluice serves.
#[derive(Debug, Clone)]
pub struct KafkaRequest {
    pub header: RequestHeader,
    pub body: Request,
    /// The client, for logs and group member descriptions.
    pub peer: SocketAddr,
    /// The address the client reached, advertised back in Metadata and
    /// FindCoordinator so the client keeps using an address that works.
    pub local: SocketAddr,
}

impl KafkaRequest {
    /// The encoded response to this request: `body` as the request's
    /// version, with the response header that version calls for.
    pub fn respond(&self, body: impl Into<sluice_kafka::Response>) -> Response {
        response(&self.header, body)
    }
}

/// Request processing for the Kafka listener, implemented by the broker.
/// Same contract as [`crate::Handler`]: called on the connection task in
/// request order; waits go into [`Reply::Later`].
pub trait KafkaHandler: Send + Sync + 'static {
    fn handle(&self, request: KafkaRequest) -> Reply;
}

/// The Kafka protocol answered by a [`KafkaHandler`].
#[derive(Debug)]
pub struct KafkaWire<H> {
    handler: Arc<H>,
}

impl<H> KafkaWire<H> {
    pub fn new(handler: Arc<H>) -> KafkaWire<H> {
        KafkaWire { handler }
    }
}

/// What the connection keeps to answer a request whose task failed.
#[derive(Debug, Clone, Copy)]
pub struct KafkaTicket {
    api_key: i16,
    api_version: i16,
    correlation_id: i32,
}

impl<H: KafkaHandler> WireProtocol for KafkaWire<H> {
    const NAME: &'static str = "kafka";

    type Ticket = KafkaTicket;

    fn frame_len(&self, prefix: [u8; 4], max_frame_bytes: usize) -> Result<usize, Unframeable> {
        frame_len(prefix, max_frame_bytes)
    }

    fn answer(
        &self,
        mut frame: BytesMut,
        memory: Reservation,
        endpoints: Endpoints,
    ) -> Result<Answer<KafkaTicket>, Unframeable> {
        // The size was checked by `frame_len`; the whole frame is here.
        let frame = split_frame(&mut frame, usize::MAX)?
            .ok_or_else(|| Unframeable("incomplete Kafka request frame".to_owned()))?;
        // Records in the decoded body are slices of `frame`: they carry the
        // reservation with them.
        let mut frame = memory.attach(frame);
        let header = RequestHeader::decode(&mut frame)
            .map_err(|error| Unframeable(format!("undecodable Kafka request header: {error}")))?;
        let ticket = KafkaTicket {
            api_key: header.api_key,
            api_version: header.api_version,
            correlation_id: header.correlation_id,
        };
        let span = request_span(&header);
        let reply = span.in_scope(|| self.reply(header, frame, ticket, endpoints))?;
        Ok(Answer {
            ticket,
            reply,
            span,
        })
    }

    fn task_failed(&self, ticket: KafkaTicket) -> Option<Response> {
        error_response(ticket, ErrorCode::UNKNOWN_SERVER_ERROR)
    }
}

impl<H: KafkaHandler> KafkaWire<H> {
    /// Decodes the body after `header` and hands it to the handler, or
    /// answers what needs no handler.
    fn reply(
        &self,
        header: RequestHeader,
        frame: Bytes,
        ticket: KafkaTicket,
        endpoints: Endpoints,
    ) -> Result<Reply, Unframeable> {
        match Request::decode(&header, frame) {
            Ok(body) => Ok(self.handler.handle(KafkaRequest {
                header,
                body,
                peer: endpoints.peer,
                local: endpoints.local,
            })),
            Err(DecodeError::UnsupportedVersion { api_key, version })
                if api_key == ApiKey::ApiVersions.as_i16() =>
            {
                // Kafka's answer to a client newer than the broker: a v0
                // body (header v0) naming the ApiVersions range to retry in.
                debug!(peer = %endpoints.peer, version, "ApiVersions version not supported; answering the v0 fallback");
                let body = sluice_kafka::Response::from(api_versions::fallback_response());
                Ok(Reply::Ready(Response::bytes(frame::encode_response_frame(
                    header.correlation_id,
                    api_versions::FALLBACK_VERSION,
                    &body,
                ))))
            }
            Err(
                error @ (DecodeError::UnsupportedVersion { .. } | DecodeError::UnknownApiKey(_)),
            ) => Err(Unframeable(format!(
                "Kafka request not served: {error} (client {:?})",
                header.client_id
            ))),
            Err(error) => match error_response(ticket, ErrorCode::INVALID_REQUEST) {
                Some(response) => {
                    warn!(peer = %endpoints.peer, api_key = header.api_key, api_version = header.api_version, %error, "malformed Kafka request body; answering INVALID_REQUEST");
                    Ok(Reply::Ready(response))
                }
                None => Err(Unframeable(format!(
                    "malformed Kafka request body (api key {} v{}): {error}",
                    header.api_key, header.api_version
                ))),
            },
        }
    }
}

/// The span of one request. Debug level: a request is the hot path, and a
/// disabled span costs next to nothing (its fields are not even recorded).
fn request_span(header: &RequestHeader) -> Span {
    match ApiKey::from_i16(header.api_key) {
        Some(api) => debug_span!(
            "request",
            api = api.name(),
            api_version = header.api_version,
            correlation_id = header.correlation_id
        ),
        // Not served: the connection closes.
        None => debug_span!(
            "request",
            api_key = header.api_key,
            api_version = header.api_version,
            correlation_id = header.correlation_id
        ),
    }
}

/// The size in a Kafka frame's prefix, if it is one Sluice accepts.
fn frame_len(prefix: [u8; 4], max_frame_bytes: usize) -> Result<usize, Unframeable> {
    let size = i32::from_be_bytes(prefix);
    let Ok(size) = usize::try_from(size) else {
        return Err(Unframeable(format!("negative Kafka frame size {size}")));
    };
    if size < MIN_REQUEST_LEN {
        return Err(Unframeable(format!(
            "Kafka frame of {size} bytes is shorter than a request header"
        )));
    }
    if size > max_frame_bytes {
        return Err(Unframeable(format!(
            "Kafka frame of {size} bytes exceeds the limit of {max_frame_bytes}"
        )));
    }
    Ok(size)
}

/// Splits one whole frame (without its size prefix) off `buf`.
fn split_frame(
    buf: &mut BytesMut,
    max_frame_bytes: usize,
) -> Result<Option<bytes::Bytes>, Unframeable> {
    let Some(prefix) = buf.first_chunk::<4>() else {
        return Ok(None);
    };
    let size = frame_len(*prefix, max_frame_bytes)?;
    if buf.len() < 4 + size {
        return Ok(None);
    }
    buf.advance(4);
    Ok(Some(buf.split_to(size).freeze()))
}

/// An encoded response frame: `body` as `header.api_version`.
pub fn response(header: &RequestHeader, body: impl Into<sluice_kafka::Response>) -> Response {
    Response::bytes(frame::encode_response_frame(
        header.correlation_id,
        header.api_version,
        &body.into(),
    ))
}

/// The records of one partition in a fetch response: a file range, sent
/// with the server's transfer mode, or nothing (encoded as empty records,
/// not null).
#[derive(Debug, Clone, Default)]
pub struct SliceRecords(Option<FileRange>);

impl SliceRecords {
    pub fn new(range: FileRange) -> SliceRecords {
        SliceRecords(Some(range))
    }

    pub fn empty() -> SliceRecords {
        SliceRecords(None)
    }
}

impl RecordsLen for SliceRecords {
    fn records_len(&self) -> usize {
        // Ranges are capped far below the frame limit when they are taken.
        self.0
            .as_ref()
            .map_or(0, |range| usize::try_from(range.len).unwrap_or(usize::MAX))
    }
}

/// A fetch response frame whose record bytes are file ranges: the encoded
/// pieces go out from memory, the ranges through the transfer mode.
pub fn fetch_response(header: &RequestHeader, body: &FetchResponse<SliceRecords>) -> Response {
    let parts = body
        .encode_frame_parts(header.correlation_id, header.api_version)
        .into_iter()
        .filter_map(|part| match part {
            FetchPart::Encoded(bytes) => Some(Part::Bytes(bytes)),
            FetchPart::Records(records) => records.0.clone().map(Part::File),
        })
        .collect();
    Response::from_parts(parts)
}

/// A well-formed response carrying `code`, for the apis whose response has
/// a top-level error code in this version (`sluice_kafka::error_response`);
/// `None` for the others.
fn error_response(ticket: KafkaTicket, code: i16) -> Option<Response> {
    let key = ApiKey::from_i16(ticket.api_key)?;
    let body = sluice_kafka::error_response(key, ticket.api_version, code)?;
    Some(Response::bytes(frame::encode_response_frame(
        ticket.correlation_id,
        ticket.api_version,
        &body,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_split_only_when_whole() {
        let mut buf = BytesMut::from(&[0u8, 0, 0, 10, 1, 2, 3][..]);
        assert!(matches!(split_frame(&mut buf, 100), Ok(None)));
        assert_eq!(buf.len(), 7);
        buf.extend_from_slice(&[4, 5, 6, 7, 8, 9, 10, 99]);
        let frame = split_frame(&mut buf, 100).unwrap().unwrap();
        assert_eq!(&frame[..], &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        assert_eq!(&buf[..], &[99]);
    }

    #[test]
    fn bad_sizes_are_unframeable() {
        for prefix in [[0xff, 0xff, 0xff, 0xff], [0, 0, 0, 3], [0, 0, 1, 0]] {
            let mut buf = BytesMut::from(&prefix[..]);
            assert!(split_frame(&mut buf, 100).is_err(), "{prefix:?}");
        }
    }

    #[test]
    fn error_responses_only_where_a_top_level_code_exists() {
        let ticket = |api_key, api_version| KafkaTicket {
            api_key,
            api_version,
            correlation_id: 1,
        };
        assert!(error_response(ticket(18, 0), 42).is_some());
        assert!(error_response(ticket(1, 11), 42).is_some());
        assert!(error_response(ticket(1, 4), 42).is_none());
        assert!(error_response(ticket(0, 8), 42).is_none());
        assert!(error_response(ticket(12, 99), 42).is_none());
        assert!(error_response(ticket(999, 0), 42).is_none());
    }
}
