//! Malformed input gets the right typed error, and huge declared lengths
//! fail fast instead of allocating.
// Helpers outside #[test] fns unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used)]

use bytes::{Bytes, BytesMut};
use sluice_kafka::api::metadata::MetadataRequest;
use sluice_kafka::{
    ApiVersionsRequest, DecodeError, FetchRequest, Message, ProduceRequest, Request, RequestHeader,
};

fn header(api_key: i16, api_version: i16) -> RequestHeader {
    RequestHeader {
        api_key,
        api_version,
        correlation_id: 1,
        client_id: None,
    }
}

#[test]
fn huge_array_count_is_rejected_before_allocating() {
    // Metadata v1: topics count i32::MAX with 4 bytes behind it.
    let body = Bytes::from_static(&[0x7f, 0xff, 0xff, 0xff, 0, 1, b'a', 0]);
    let err = Request::decode(&header(3, 1), body).unwrap_err();
    assert!(matches!(err, DecodeError::Truncated { .. }), "{err:?}");
}

#[test]
fn huge_bytes_length_is_truncated_not_allocated() {
    // Produce v3 with a records length of i32::MAX.
    let mut body = vec![
        0xff, 0xff, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, b't', 0, 0, 0, 1, 0, 0, 0, 0,
    ];
    body.extend_from_slice(&i32::MAX.to_be_bytes());
    body.extend_from_slice(&[1, 2, 3]);
    let err = ProduceRequest::decode(&mut Bytes::from(body), 3).unwrap_err();
    assert!(
        matches!(err, DecodeError::Truncated { needed, remaining: 3 } if needed == i32::MAX as usize)
    );
}

#[test]
fn negative_lengths_other_than_null_are_invalid() {
    // Metadata v1 topics count -2.
    let err =
        MetadataRequest::decode(&mut Bytes::from_static(&[0xff, 0xff, 0xff, 0xfe]), 1).unwrap_err();
    assert!(matches!(err, DecodeError::InvalidLength { length: -2 }));
    // A null where the field is not nullable: Fetch topic name.
    let mut body = BytesMut::new();
    FetchRequest::default().encode(&mut body, 4);
    let mut raw = body.to_vec();
    raw.truncate(raw.len() - 4);
    raw.extend_from_slice(&[0, 0, 0, 1, 0xff, 0xff]);
    let err = FetchRequest::decode(&mut Bytes::from(raw), 4).unwrap_err();
    assert!(
        matches!(err, DecodeError::InvalidLength { length: -1 }),
        "{err:?}"
    );
}

#[test]
fn invalid_utf8_is_invalid_string() {
    let body = Bytes::from_static(&[0, 0, 0, 1, 0, 2, 0xc3, 0x28]);
    let err = Request::decode(&header(3, 1), body).unwrap_err();
    assert!(matches!(err, DecodeError::InvalidString(_)), "{err:?}");
}

#[test]
fn truncated_header_and_body() {
    for len in 0..8 {
        let mut bytes = Bytes::copy_from_slice(&[0, 3, 0, 1, 0, 0, 0, 7][..len]);
        assert!(matches!(
            RequestHeader::decode(&mut bytes),
            Err(DecodeError::Truncated { .. })
        ));
    }
    let err = Request::decode(&header(3, 1), Bytes::from_static(&[0, 0])).unwrap_err();
    assert!(matches!(
        err,
        DecodeError::Truncated {
            needed: 4,
            remaining: 2
        }
    ));
}

#[test]
fn header_v2_skips_unknown_tags() {
    // ApiVersions v3 header with one tagged field (tag 3, 2 bytes).
    let mut frame = vec![0, 18, 0, 3, 0, 0, 0, 1, 0xff, 0xff, 1, 3, 2, 0xaa, 0xbb];
    frame.extend_from_slice(&[2, b'x', 2, b'y', 0]);
    let mut frame = Bytes::from(frame);
    let h = RequestHeader::decode(&mut frame).unwrap();
    assert_eq!(h.client_id, None);
    let req = Request::decode(&h, frame).unwrap();
    assert_eq!(
        req,
        Request::ApiVersions(ApiVersionsRequest {
            client_software_name: "x".into(),
            client_software_version: "y".into(),
        })
    );
}

#[test]
fn kafka_python_api_versions_v4_is_unsupported_but_header_parses() {
    // v4 is flexible: header v2. The listener answers with the fallback.
    let mut frame = Bytes::from_static(&[0, 18, 0, 4, 0, 0, 0, 1, 0, 0, 0, 3, b'k', 0, b'p', 0, 0]);
    let h = RequestHeader::decode(&mut frame).unwrap();
    assert_eq!((h.api_key, h.api_version, h.header_version()), (18, 4, 2));
    assert!(matches!(
        Request::decode(&h, frame),
        Err(DecodeError::UnsupportedVersion {
            api_key: 18,
            version: 4
        })
    ));
}
