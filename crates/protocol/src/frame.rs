//! The frame codec: length-prefixed headers around protobuf bodies.
//!
//! Byte layouts are in `docs/protocol.md`. In short, all integers
//! big-endian:
//!
//! ```text
//! request:  u32 frame_len | u16 api_key | u16 api_version | u32 correlation_id
//!           | u16 client_id_len | client_id | protobuf body
//! response: u32 frame_len | u32 correlation_id | u32 body_len
//!           | protobuf body (body_len) | trailing bytes (the rest)
//! ```
//!
//! `frame_len` counts the bytes after itself. Responses split body and
//! trailing bytes so the broker can write a small head and then `sendfile`
//! fetch records straight from a segment file.
//!
//! The decoders are incremental: `Ok(None)` means "need more bytes" and
//! consumes nothing; `Ok(Some(..))` consumes exactly one frame; `Err` leaves
//! the buffer untouched and the connection must be closed. Bodies come back
//! as [`Bytes`] slices of the read buffer, so nothing is copied.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::api::ApiKey;
pub use crate::error::ProtocolError as FrameError;

/// Size of the `frame_len` prefix.
pub const LENGTH_PREFIX_LEN: usize = 4;
/// Fixed part of a request frame after `frame_len`: api key, api version,
/// correlation id, client id length. The smallest valid request `frame_len`.
pub const REQUEST_HEADER_LEN: usize = 2 + 2 + 4 + 2;
/// Fixed part of a response frame after `frame_len`: correlation id and
/// body length. The smallest valid response `frame_len`.
pub const RESPONSE_HEADER_LEN: usize = 4 + 4;

// Wire lengths are u32; converting them to usize must never truncate.
const _: () = assert!(usize::BITS >= u32::BITS);

/// The header of a request frame. `api_key` and `api_version` stay raw so a
/// broker can answer requests it does not understand; see [`Self::api`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHeader {
    pub api_key: u16,
    pub api_version: u16,
    /// Chosen by the client, echoed in the response; lets clients pipeline.
    pub correlation_id: u32,
    /// Free-form client name for broker logs; at most `u16::MAX` bytes.
    pub client_id: String,
}

impl RequestHeader {
    /// Validates `api_key` and `api_version` against what this build serves.
    pub fn api(&self) -> Result<ApiKey, FrameError> {
        let key = ApiKey::try_from(self.api_key)?;
        key.check_version(self.api_version)?;
        Ok(key)
    }
}

/// The header of a response frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseHeader {
    /// The `correlation_id` of the request this answers.
    pub correlation_id: u32,
    /// Length of the protobuf body.
    pub body_len: u32,
    /// Raw bytes after the body: `frame_len - 8 - body_len`. Only fetch
    /// responses have any.
    pub trailing_len: u32,
}

/// Decodes one request frame from the front of `buf`.
///
/// Returns `Ok(None)` without consuming anything until the whole frame is
/// present. `frame_len` is checked against `max_frame` as soon as its four
/// bytes arrive, so an oversized frame fails before its body is awaited or
/// any memory is set aside for it.
pub fn decode_request_frame(
    buf: &mut BytesMut,
    max_frame: usize,
) -> Result<Option<(RequestHeader, Bytes)>, FrameError> {
    let Some(frame_len) = complete_frame_len(buf, REQUEST_HEADER_LEN, max_frame)? else {
        return Ok(None);
    };
    let mut frame = &buf[LENGTH_PREFIX_LEN..LENGTH_PREFIX_LEN + frame_len];
    let api_key = frame.get_u16();
    let api_version = frame.get_u16();
    let correlation_id = frame.get_u32();
    let client_id_len = usize::from(frame.get_u16());
    if client_id_len > frame.len() {
        return Err(FrameError::ClientIdTooLong {
            len: client_id_len,
            max: frame.len(),
        });
    }
    let client_id = std::str::from_utf8(&frame[..client_id_len])?.to_owned();

    // Validated; only now consume.
    buf.advance(LENGTH_PREFIX_LEN + REQUEST_HEADER_LEN + client_id_len);
    let body = buf
        .split_to(frame_len - REQUEST_HEADER_LEN - client_id_len)
        .freeze();
    let header = RequestHeader {
        api_key,
        api_version,
        correlation_id,
        client_id,
    };
    Ok(Some((header, body)))
}

/// Appends one request frame to `dst`. On error `dst` is unchanged.
pub fn encode_request_frame(
    header: &RequestHeader,
    body: &impl prost::Message,
    dst: &mut BytesMut,
) -> Result<(), FrameError> {
    let client_id = header.client_id.as_bytes();
    let Ok(client_id_len) = u16::try_from(client_id.len()) else {
        return Err(FrameError::ClientIdTooLong {
            len: client_id.len(),
            max: usize::from(u16::MAX),
        });
    };
    let frame_len = wire_len(REQUEST_HEADER_LEN + client_id.len() + body.encoded_len())?;

    dst.reserve(LENGTH_PREFIX_LEN + frame_len as usize);
    dst.put_u32(frame_len);
    dst.put_u16(header.api_key);
    dst.put_u16(header.api_version);
    dst.put_u32(header.correlation_id);
    dst.put_u16(client_id_len);
    dst.put_slice(client_id);
    body.encode(dst)?;
    Ok(())
}

/// Appends a response head to `dst`: `frame_len`, correlation id,
/// `body_len` and the body. The caller then writes exactly `trailing_len`
/// raw bytes (for fetch, the record bytes, e.g. with `sendfile`).
/// On error `dst` is unchanged.
pub fn encode_response_head(
    correlation_id: u32,
    body: &impl prost::Message,
    trailing_len: usize,
    dst: &mut BytesMut,
) -> Result<(), FrameError> {
    let body_len = body.encoded_len();
    // trailing_len comes from the caller and may be anything; saturate so an
    // absurd value reports FrameTooLarge instead of overflowing.
    let frame_len = wire_len((RESPONSE_HEADER_LEN + body_len).saturating_add(trailing_len))?;
    // body_len <= frame_len, so it fits too.
    let body_len_u32 = wire_len(body_len)?;

    dst.reserve(LENGTH_PREFIX_LEN + RESPONSE_HEADER_LEN + body_len);
    dst.put_u32(frame_len);
    dst.put_u32(correlation_id);
    dst.put_u32(body_len_u32);
    body.encode(dst)?;
    Ok(())
}

/// Decodes one response frame from the front of `buf`: the header, the
/// protobuf body and the trailing raw bytes (empty except for fetch).
///
/// Same contract as [`decode_request_frame`]: `Ok(None)` consumes nothing,
/// the length limit is checked before waiting for the rest.
pub fn decode_response_frame(
    buf: &mut BytesMut,
    max_frame: usize,
) -> Result<Option<(ResponseHeader, Bytes, Bytes)>, FrameError> {
    let Some(frame_len) = complete_frame_len(buf, RESPONSE_HEADER_LEN, max_frame)? else {
        return Ok(None);
    };
    let mut head = &buf[LENGTH_PREFIX_LEN..LENGTH_PREFIX_LEN + RESPONSE_HEADER_LEN];
    let correlation_id = head.get_u32();
    let body_len = head.get_u32();
    let trailing_len = frame_len - RESPONSE_HEADER_LEN;
    let Some(trailing_len) = trailing_len.checked_sub(body_len as usize) else {
        return Err(FrameError::BodyLengthOutOfRange {
            body_len: body_len as usize,
            frame_len,
        });
    };

    buf.advance(LENGTH_PREFIX_LEN + RESPONSE_HEADER_LEN);
    let body = buf.split_to(body_len as usize).freeze();
    let trailing = buf.split_to(trailing_len).freeze();
    let header = ResponseHeader {
        correlation_id,
        body_len,
        // trailing_len < frame_len, which came from a u32.
        trailing_len: wire_len(trailing_len)?,
    };
    Ok(Some((header, body, trailing)))
}

/// Reads and checks `frame_len` at the front of `buf`.
///
/// Returns `Ok(None)` while the length prefix or the frame is incomplete.
/// The limit and minimum are checked as soon as the prefix is present.
fn complete_frame_len(buf: &BytesMut, min: usize, max: usize) -> Result<Option<usize>, FrameError> {
    let Some(len) = peek_frame_len(buf) else {
        return Ok(None);
    };
    if len > max {
        return Err(FrameError::FrameTooLarge { len, max });
    }
    if len < min {
        return Err(FrameError::FrameTooShort { len });
    }
    if buf.len() - LENGTH_PREFIX_LEN < len {
        return Ok(None);
    }
    Ok(Some(len))
}

/// The `frame_len` at the front of `buf`, unchecked, if its four bytes are
/// there.
pub(crate) fn peek_frame_len(buf: &[u8]) -> Option<usize> {
    let mut prefix = buf.get(..LENGTH_PREFIX_LEN)?;
    Some(prefix.get_u32() as usize)
}

/// Converts a length to its u32 wire form.
fn wire_len(len: usize) -> Result<u32, FrameError> {
    let Ok(wire) = u32::try_from(len) else {
        return Err(FrameError::FrameTooLarge {
            len,
            max: u32::MAX as usize,
        });
    };
    Ok(wire)
}
