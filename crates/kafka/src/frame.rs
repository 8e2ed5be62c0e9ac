//! Whole frames: int32 size, header, body.

use bytes::{BufMut, Bytes, BytesMut};

use crate::{Request, RequestHeader, Response, ResponseHeader, response_header_version};

/// Encodes a response frame: the int32 size prefix, the response header in
/// the version the api and `api_version` call for (v0 for ApiVersions),
/// then the body as `api_version`.
///
/// For the ApiVersions fallback, pass `api_versions::FALLBACK_VERSION`.
/// Fetch responses whose records come from files use
/// [`crate::FetchResponse::encode_frame_parts`] instead.
pub fn encode_response_frame(correlation_id: i32, api_version: i16, body: &Response) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i32(0);
    let header_version = response_header_version(body.api_key().as_i16(), api_version);
    ResponseHeader { correlation_id }.encode(&mut buf, header_version);
    body.encode(&mut buf, api_version);
    patch_size(buf)
}

/// Encodes a request frame: size prefix, header (v1 or v2), body as
/// `header.api_version`.
pub fn encode_request_frame(header: &RequestHeader, body: &Request) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i32(0);
    header.encode(&mut buf);
    body.encode(&mut buf, header.api_version);
    patch_size(buf)
}

fn patch_size(mut buf: BytesMut) -> Bytes {
    let size = i32::try_from(buf.len() - 4).unwrap_or(i32::MAX);
    buf[..4].copy_from_slice(&size.to_be_bytes());
    buf.freeze()
}
