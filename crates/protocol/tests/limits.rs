//! Incremental decoding and the checks that run before a frame is trusted.
// Integration tests are test code throughout, helpers included.
#![allow(clippy::unwrap_used)]

mod common;

use bytes::{BufMut, BytesMut};
use common::*;
use sluice_protocol::frame::{
    self, FrameError, REQUEST_HEADER_LEN, RESPONSE_HEADER_LEN, RequestHeader,
};
use sluice_protocol::pb;

/// Every proper prefix of a valid frame is "need more" and consumes nothing.
#[test]
fn partial_request_never_consumes() {
    for whole in request_frames() {
        for split in 0..whole.len() {
            let mut buf = BytesMut::from(&whole[..split]);
            assert!(
                frame::decode_request_frame(&mut buf, MAX)
                    .unwrap()
                    .is_none()
            );
            assert_eq!(&buf[..], &whole[..split], "consumed at split {split}");
        }
    }
}

#[test]
fn partial_response_never_consumes() {
    for whole in response_frames() {
        for split in 0..whole.len() {
            let mut buf = BytesMut::from(&whole[..split]);
            assert!(
                frame::decode_response_frame(&mut buf, MAX)
                    .unwrap()
                    .is_none()
            );
            assert_eq!(&buf[..], &whole[..split], "consumed at split {split}");
        }
    }
}

/// Feeding a stream one byte at a time yields each frame exactly once.
#[test]
fn byte_at_a_time_stream() {
    let frames = request_frames();
    let stream: Vec<u8> = frames.iter().flat_map(|f| f.to_vec()).collect();
    let mut buf = BytesMut::new();
    let mut decoded = Vec::new();
    for byte in stream {
        buf.put_u8(byte);
        while let Some((header, _)) = frame::decode_request_frame(&mut buf, MAX).unwrap() {
            decoded.push(header.correlation_id);
        }
    }
    assert_eq!(decoded, vec![1, 2, 3, 4]);
    assert!(buf.is_empty());
}

/// 2^31 is rejected from the length prefix alone: no body needed, nothing
/// consumed, no memory set aside.
#[test]
fn huge_frame_len_fails_immediately() {
    for decode_request in [true, false] {
        let mut buf = BytesMut::with_capacity(4);
        buf.put_u32(1 << 31);
        let capacity = buf.capacity();
        let err = if decode_request {
            frame::decode_request_frame(&mut buf, MAX).unwrap_err()
        } else {
            frame::decode_response_frame(&mut buf, MAX)
                .map(|_| ())
                .unwrap_err()
        };
        assert!(matches!(
            err,
            FrameError::FrameTooLarge { len, max } if len == 1 << 31 && max == MAX
        ));
        assert_eq!(buf.capacity(), capacity);
        assert_eq!(buf.len(), 4);
    }
}

#[test]
fn frame_len_at_limit_is_accepted() {
    let body = pb::MetadataRequest {
        topics: vec!["x".repeat(100)],
    };
    let mut wire = BytesMut::new();
    frame::encode_request_frame(&header(1, 1), &body, &mut wire).unwrap();
    let frame_len = wire.len() - 4;
    let mut exact = wire.clone();
    assert!(
        frame::decode_request_frame(&mut exact, frame_len)
            .unwrap()
            .is_some()
    );
    assert!(matches!(
        frame::decode_request_frame(&mut wire, frame_len - 1),
        Err(FrameError::FrameTooLarge { .. })
    ));
}

#[test]
fn frame_len_below_header_fails() {
    for len in 0..REQUEST_HEADER_LEN as u32 {
        let mut buf = BytesMut::new();
        buf.put_u32(len);
        assert!(matches!(
            frame::decode_request_frame(&mut buf, MAX),
            Err(FrameError::FrameTooShort { len: l }) if l == len as usize
        ));
    }
    for len in 0..RESPONSE_HEADER_LEN as u32 {
        let mut buf = BytesMut::new();
        buf.put_u32(len);
        assert!(matches!(
            frame::decode_response_frame(&mut buf, MAX),
            Err(FrameError::FrameTooShort { .. })
        ));
    }
}

/// A header-only request (no client id, empty body) is the smallest frame.
#[test]
fn minimal_request() {
    let mut buf = BytesMut::new();
    buf.put_u32(REQUEST_HEADER_LEN as u32);
    buf.put_slice(&[0, 0, 0, 0, 0, 0, 0, 9, 0, 0]);
    let (header, body) = frame::decode_request_frame(&mut buf, MAX).unwrap().unwrap();
    assert_eq!(header.correlation_id, 9);
    assert!(header.client_id.is_empty());
    assert!(body.is_empty());
}

fn raw_request(client_id_len: u16, client_id: &[u8]) -> BytesMut {
    let mut buf = BytesMut::new();
    buf.put_u32((REQUEST_HEADER_LEN + client_id.len()) as u32);
    buf.put_slice(&[0, 1, 0, 0, 0, 0, 0, 1]);
    buf.put_u16(client_id_len);
    buf.put_slice(client_id);
    buf
}

#[test]
fn client_id_past_frame_end_fails() {
    let mut buf = raw_request(5, b"abc");
    let before = buf.clone();
    assert!(matches!(
        frame::decode_request_frame(&mut buf, MAX),
        Err(FrameError::ClientIdTooLong { len: 5, max: 3 })
    ));
    assert_eq!(buf, before, "an error must not consume");
}

#[test]
fn client_id_must_be_utf8() {
    let mut buf = raw_request(2, &[0xff, 0xfe]);
    assert!(matches!(
        frame::decode_request_frame(&mut buf, MAX),
        Err(FrameError::InvalidClientId(_))
    ));
}

#[test]
fn encode_rejects_long_client_id() {
    let header = RequestHeader {
        client_id: "x".repeat(usize::from(u16::MAX) + 1),
        ..header(0, 0)
    };
    let mut out = BytesMut::new();
    assert!(matches!(
        frame::encode_request_frame(&header, &pb::ApiVersionsRequest {}, &mut out),
        Err(FrameError::ClientIdTooLong { .. })
    ));
    assert!(out.is_empty());
}

#[test]
fn encode_rejects_trailing_past_u32() {
    let mut out = BytesMut::new();
    let err = frame::encode_response_head(1, &pb::FetchResponse::default(), usize::MAX, &mut out)
        .unwrap_err();
    assert!(matches!(err, FrameError::FrameTooLarge { .. }));
    assert!(out.is_empty());
}

#[test]
fn body_len_past_frame_end_fails() {
    let mut buf = BytesMut::new();
    buf.put_u32(RESPONSE_HEADER_LEN as u32 + 2);
    buf.put_u32(1);
    buf.put_u32(3);
    buf.put_slice(b"ab");
    assert!(matches!(
        frame::decode_response_frame(&mut buf, MAX),
        Err(FrameError::BodyLengthOutOfRange {
            body_len: 3,
            frame_len: 10
        })
    ));
}
