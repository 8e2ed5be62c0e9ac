//! Async helpers that run the frame codec over tokio streams.
//!
//! Meant for clients and tests. The broker's connection loop may prefer its
//! own (it writes fetch records with `sendfile`), but it can use the same
//! decoders these helpers use.

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::frame::{
    self, FrameError, LENGTH_PREFIX_LEN, RequestHeader, ResponseHeader, peek_frame_len,
};

/// Bytes requested from the reader when no frame length is known yet.
const READ_CHUNK: usize = 8 * 1024;

/// Reads one request frame. `buf` carries bytes read past the frame over to
/// the next call, so pass the same buffer every time.
///
/// Returns `Ok(None)` on a clean end of stream (between frames); an end of
/// stream inside a frame is an `UnexpectedEof` I/O error.
pub async fn read_request_frame<R: AsyncRead + Unpin>(
    reader: &mut R,
    buf: &mut BytesMut,
    max_frame: usize,
) -> Result<Option<(RequestHeader, Bytes)>, FrameError> {
    loop {
        if let Some(frame) = frame::decode_request_frame(buf, max_frame)? {
            return Ok(Some(frame));
        }
        if !fill(reader, buf).await? {
            return Ok(None);
        }
    }
}

/// Reads one response frame: header, protobuf body, trailing bytes. Same
/// buffer and end-of-stream contract as [`read_request_frame`].
pub async fn read_response_frame<R: AsyncRead + Unpin>(
    reader: &mut R,
    buf: &mut BytesMut,
    max_frame: usize,
) -> Result<Option<(ResponseHeader, Bytes, Bytes)>, FrameError> {
    loop {
        if let Some(frame) = frame::decode_response_frame(buf, max_frame)? {
            return Ok(Some(frame));
        }
        if !fill(reader, buf).await? {
            return Ok(None);
        }
    }
}

/// Encodes and writes one request frame, then flushes.
pub async fn write_request_frame<W: AsyncWrite + Unpin>(
    writer: &mut W,
    header: &RequestHeader,
    body: &impl prost::Message,
) -> Result<(), FrameError> {
    let mut out = BytesMut::new();
    frame::encode_request_frame(header, body, &mut out)?;
    writer.write_all(&out).await?;
    writer.flush().await?;
    Ok(())
}

/// Writes one whole response frame (head, then `trailing`), then flushes.
/// For fetch, `trailing` is the partitions' records concatenated in body
/// order.
pub async fn write_response_frame<W: AsyncWrite + Unpin>(
    writer: &mut W,
    correlation_id: u32,
    body: &impl prost::Message,
    trailing: &[u8],
) -> Result<(), FrameError> {
    let mut head = BytesMut::new();
    frame::encode_response_head(correlation_id, body, trailing.len(), &mut head)?;
    writer.write_all(&head).await?;
    writer.write_all(trailing).await?;
    writer.flush().await?;
    Ok(())
}

/// Reads more bytes into `buf`. Returns `false` on a clean end of stream
/// with nothing buffered.
///
/// Only called after a decoder returned `Ok(None)`, so a length prefix in
/// `buf` has already passed the `max_frame` check and reserving the rest of
/// the frame is bounded by it.
async fn fill<R: AsyncRead + Unpin>(
    reader: &mut R,
    buf: &mut BytesMut,
) -> Result<bool, FrameError> {
    let wanted = match peek_frame_len(buf) {
        Some(len) => (LENGTH_PREFIX_LEN + len).saturating_sub(buf.len()),
        None => READ_CHUNK,
    };
    buf.reserve(wanted);
    if reader.read_buf(buf).await? > 0 {
        return Ok(true);
    }
    if buf.is_empty() {
        Ok(false)
    } else {
        Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            format!("stream ended inside a frame ({} bytes buffered)", buf.len()),
        )
        .into())
    }
}
