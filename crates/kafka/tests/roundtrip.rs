//! Every advertised api and version: request and response bodies survive
//! encode -> decode unchanged, and decode consumes exactly what encode wrote.
// Helpers outside #[test] fns unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used)]

mod common;

use bytes::{Bytes, BytesMut};
use sluice_kafka::{ApiKey, Request, RequestHeader, Response};

fn check_request(request: &Request, version: i16) {
    let mut frame = common::request_frame(request, version);
    let header = RequestHeader::decode(&mut frame).unwrap();
    assert_eq!(header.api_key, request.api_key().as_i16());
    assert_eq!(header.api_version, version);
    assert_eq!(header.correlation_id, 42);
    assert_eq!(header.client_id.as_deref(), Some("test"));
    let body = frame.clone();
    let decoded = Request::decode(&header, frame).unwrap();
    assert_eq!(&decoded, request, "{:?} v{version}", request.api_key());
    let mut again = BytesMut::new();
    decoded.encode(&mut again, version);
    assert_eq!(
        again.freeze(),
        body,
        "{:?} v{version} re-encode",
        request.api_key()
    );
}

fn check_response(response: &Response, version: i16) {
    let mut buf = BytesMut::new();
    response.encode(&mut buf, version);
    let body: Bytes = buf.freeze();
    let key = response.api_key().as_i16();
    let decoded = Response::decode(key, version, body.clone()).unwrap();
    assert_eq!(&decoded, response, "{:?} v{version}", response.api_key());
    let mut again = BytesMut::new();
    decoded.encode(&mut again, version);
    assert_eq!(
        again.freeze(),
        body,
        "{:?} v{version} re-encode",
        response.api_key()
    );
}

#[test]
fn full_samples_round_trip_every_version() {
    let versions = common::all_versions();
    assert_eq!(versions.len(), 79);
    for (key, v) in versions {
        let (request, response) = common::full(key, v);
        check_request(&request, v);
        check_response(&response, v);
    }
}

#[test]
fn empty_samples_round_trip_every_version() {
    for (key, v) in common::all_versions() {
        let (request, response) = common::empty(key, v);
        check_request(&request, v);
        check_response(&response, v);
    }
}

#[test]
fn trailing_bytes_are_ignored() {
    for (key, v) in common::all_versions() {
        let (request, _) = common::full(key, v);
        let mut frame = BytesMut::from(&common::request_frame(&request, v)[..]);
        frame.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
        let mut frame = frame.freeze();
        let header = RequestHeader::decode(&mut frame).unwrap();
        assert_eq!(
            Request::decode(&header, frame).unwrap(),
            request,
            "{key:?} v{v}"
        );
    }
}

#[test]
fn unsupported_versions_and_unknown_keys_are_typed_errors() {
    use sluice_kafka::DecodeError;
    use sluice_kafka::api_versions::version_range;
    for key in ApiKey::ALL {
        let r = version_range(key);
        for v in [r.min - 1, r.max + 1] {
            let header = RequestHeader {
                api_key: key.as_i16(),
                api_version: v,
                correlation_id: 1,
                client_id: None,
            };
            let err = Request::decode(&header, Bytes::new()).unwrap_err();
            assert!(
                matches!(err, DecodeError::UnsupportedVersion { api_key, version } if api_key == key.as_i16() && version == v),
                "{key:?} v{v}: {err:?}"
            );
        }
    }
    let header = RequestHeader {
        api_key: 4,
        api_version: 0,
        correlation_id: 1,
        client_id: None,
    };
    assert!(matches!(
        Request::decode(&header, Bytes::new()),
        Err(DecodeError::UnknownApiKey(4))
    ));
}
