//! Byte-exact encodings worked out by hand from Kafka's message definitions.
// Helpers outside #[test] fns unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used)]

mod common;

use bytes::{Bytes, BytesMut};
use sluice_kafka::api::fetch_response::{FetchPartitionResponse, FetchTopicResponse};
use sluice_kafka::api::metadata::MetadataRequest;
use sluice_kafka::api::produce::{ProducePartition, ProduceRequest, ProduceTopic};
use sluice_kafka::{
    ApiVersionRange, ApiVersionsRequest, ApiVersionsResponse, FetchResponse, Message, Request,
    RequestHeader, Response, api_versions, frame,
};

fn encoded<M: Message>(m: &M, version: i16) -> Vec<u8> {
    m.to_bytes(version).to_vec()
}

#[test]
fn request_header_v1() {
    let header = RequestHeader {
        api_key: 3,
        api_version: 1,
        correlation_id: 7,
        client_id: Some("ab".into()),
    };
    let mut buf = BytesMut::new();
    header.encode(&mut buf);
    let expected = [0, 3, 0, 1, 0, 0, 0, 7, 0, 2, b'a', b'b'];
    assert_eq!(&buf[..], &expected);
    let mut bytes = Bytes::copy_from_slice(&expected);
    assert_eq!(RequestHeader::decode(&mut bytes).unwrap(), header);
    assert!(bytes.is_empty());

    // Null client id.
    let mut bytes = Bytes::from_static(&[0, 3, 0, 1, 0, 0, 0, 7, 0xff, 0xff]);
    assert_eq!(RequestHeader::decode(&mut bytes).unwrap().client_id, None);
}

#[test]
fn api_versions_v0_request_and_response() {
    // Header v1, empty body.
    let mut frame_bytes = Bytes::from_static(&[0, 18, 0, 0, 0, 0, 0, 1, 0, 1, b'c']);
    let header = RequestHeader::decode(&mut frame_bytes).unwrap();
    assert_eq!(header.header_version(), 1);
    assert_eq!(
        Request::decode(&header, frame_bytes).unwrap(),
        Request::ApiVersions(ApiVersionsRequest::default())
    );
    assert!(encoded(&ApiVersionsRequest::default(), 0).is_empty());

    let resp = ApiVersionsResponse {
        error_code: 0,
        api_keys: vec![
            ApiVersionRange {
                api_key: 0,
                min_version: 3,
                max_version: 8,
            },
            ApiVersionRange {
                api_key: 18,
                min_version: 0,
                max_version: 3,
            },
        ],
        throttle_time_ms: 0,
    };
    let expected = [0, 0, 0, 0, 0, 2, 0, 0, 0, 3, 0, 8, 0, 18, 0, 0, 0, 3];
    assert_eq!(encoded(&resp, 0), expected);
    let mut bytes = Bytes::copy_from_slice(&expected);
    assert_eq!(ApiVersionsResponse::decode(&mut bytes, 0).unwrap(), resp);
}

#[test]
fn api_versions_v3_request_and_response() {
    // Header v2: client id stays an int16 string, then an empty tag section.
    let mut expected = vec![0, 18, 0, 3, 0, 0, 0, 9, 0, 3, b'r', b'd', b'k', 0];
    // Body: compact strings (length + 1) and an empty tag section.
    expected.push(11);
    expected.extend_from_slice(b"librdkafka");
    expected.push(6);
    expected.extend_from_slice(b"2.0.2");
    expected.push(0);

    let header = RequestHeader {
        api_key: 18,
        api_version: 3,
        correlation_id: 9,
        client_id: Some("rdk".into()),
    };
    let req = ApiVersionsRequest {
        client_software_name: "librdkafka".into(),
        client_software_version: "2.0.2".into(),
    };
    let out = frame::encode_request_frame(&header, &req.clone().into());
    assert_eq!(&out[4..], &expected[..]);
    assert_eq!(
        &out[..4],
        &i32::try_from(expected.len()).unwrap().to_be_bytes()
    );

    let mut bytes = Bytes::from(expected);
    let decoded_header = RequestHeader::decode(&mut bytes).unwrap();
    assert_eq!(decoded_header, header);
    assert_eq!(
        Request::decode(&decoded_header, bytes).unwrap(),
        Request::ApiVersions(req)
    );

    // Response: compact array (count + 1), per-entry tags, throttle, tags.
    let resp = ApiVersionsResponse {
        error_code: 0,
        api_keys: vec![ApiVersionRange {
            api_key: 18,
            min_version: 0,
            max_version: 3,
        }],
        throttle_time_ms: 0,
    };
    let expected = [0, 0, 2, 0, 18, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0];
    assert_eq!(encoded(&resp, 3), expected);
    // A response with unknown tagged fields still decodes.
    let with_tags = [
        0, 0, 2, 0, 18, 0, 0, 0, 3, 1, 5, 2, 9, 9, 0, 0, 0, 0, 1, 0, 1, 7,
    ];
    let mut bytes = Bytes::copy_from_slice(&with_tags);
    assert_eq!(ApiVersionsResponse::decode(&mut bytes, 3).unwrap(), resp);
    assert!(bytes.is_empty());

    // ApiVersions responses always use response header v0 (no tag byte).
    let out = frame::encode_response_frame(9, 3, &Response::from(resp));
    assert_eq!(&out[..8], &[0, 0, 0, 19, 0, 0, 0, 9]);
    assert_eq!(&out[8..], &expected);
}

#[test]
fn api_versions_fallback_is_v0_with_error_35() {
    let out = frame::encode_response_frame(
        5,
        api_versions::FALLBACK_VERSION,
        &Response::from(api_versions::fallback_response()),
    );
    let expected = [
        0, 0, 0, 16, 0, 0, 0, 5, 0, 35, 0, 0, 0, 1, 0, 18, 0, 0, 0, 3,
    ];
    assert_eq!(&out[..], &expected);
}

#[test]
fn metadata_v1_request() {
    let req = MetadataRequest {
        topics: Some(vec!["foo".into()]),
        ..MetadataRequest::default()
    };
    let expected = [0, 0, 0, 1, 0, 3, b'f', b'o', b'o'];
    assert_eq!(encoded(&req, 1), expected);
    let mut bytes = Bytes::copy_from_slice(&expected);
    assert_eq!(MetadataRequest::decode(&mut bytes, 1).unwrap(), req);

    // Null array = all topics.
    let all = MetadataRequest::default();
    assert_eq!(encoded(&all, 1), [0xff, 0xff, 0xff, 0xff]);
    // v4 adds allow_auto_topic_creation.
    assert_eq!(encoded(&all, 4), [0xff, 0xff, 0xff, 0xff, 1]);
}

#[test]
fn produce_v3_request_keeps_records_zero_copy() {
    let records = [0xde, 0xad, 0xbe, 0xef];
    let mut expected = vec![
        0xff, 0xff, // transactional_id null
        0xff, 0xff, // acks -1
        0, 0, 0x75, 0x30, // timeout 30000
        0, 0, 0, 1, // one topic
        0, 1, b't', // name
        0, 0, 0, 1, // one partition
        0, 0, 0, 2, // index 2
        0, 0, 0, 4, // records length
    ];
    expected.extend_from_slice(&records);

    let req = ProduceRequest {
        transactional_id: None,
        acks: -1,
        timeout_ms: 30_000,
        topics: vec![ProduceTopic {
            name: "t".into(),
            partitions: vec![ProducePartition {
                index: 2,
                records: Some(Bytes::copy_from_slice(&records)),
            }],
        }],
    };
    assert_eq!(encoded(&req, 3), expected);

    let body = Bytes::from(expected);
    let range = body.as_ptr_range();
    let mut cursor = body.clone();
    let decoded = ProduceRequest::decode(&mut cursor, 3).unwrap();
    assert_eq!(decoded, req);
    let got = decoded.topics[0].partitions[0].records.as_ref().unwrap();
    assert!(
        range.contains(&got.as_ptr()),
        "records must be a slice of the frame"
    );
}

fn fetch_v4_sample() -> FetchResponse {
    let mut p = FetchPartitionResponse::new(0);
    p.high_watermark = 10;
    p.last_stable_offset = 10;
    p.records = Some(Bytes::from_static(&[1, 2, 3]));
    FetchResponse {
        throttle_time_ms: 0,
        responses: vec![FetchTopicResponse {
            topic: "t".into(),
            partitions: vec![p],
        }],
        ..FetchResponse::default()
    }
}

const FETCH_V4: [u8; 48] = [
    0, 0, 0, 0, // throttle
    0, 0, 0, 1, // one topic
    0, 1, b't', // topic
    0, 0, 0, 1, // one partition
    0, 0, 0, 0, // partition 0
    0, 0, // error
    0, 0, 0, 0, 0, 0, 0, 10, // high watermark
    0, 0, 0, 0, 0, 0, 0, 10, // last stable offset
    0xff, 0xff, 0xff, 0xff, // aborted transactions null
    0, 0, 0, 3, // records length
    1, 2, 3, // records
];

#[test]
fn fetch_v4_response() {
    let resp = fetch_v4_sample();
    assert_eq!(encoded(&resp, 4), FETCH_V4);
    let mut bytes = Bytes::from_static(&FETCH_V4);
    assert_eq!(FetchResponse::decode(&mut bytes, 4).unwrap(), resp);
}

#[test]
fn fetch_v4_response_parts_leave_records_out() {
    use sluice_kafka::FetchPart;
    let resp = fetch_v4_sample();
    let parts = resp.encode_parts(4);
    assert_eq!(parts.len(), 2);
    assert!(matches!(&parts[0], FetchPart::Encoded(b) if b[..] == FETCH_V4[..45]));
    assert!(matches!(parts[1], FetchPart::Records(r) if r[..] == [1, 2, 3]));

    // Frame parts: size prefix and header v0 in front.
    let parts = resp.encode_frame_parts(77, 4);
    let mut wire = Vec::new();
    for part in &parts {
        match part {
            FetchPart::Encoded(b) => wire.extend_from_slice(b),
            FetchPart::Records(r) => wire.extend_from_slice(r),
        }
    }
    assert_eq!(&wire[..8], &[0, 0, 0, 52, 0, 0, 0, 77]);
    assert_eq!(&wire[8..], &FETCH_V4);
    assert_eq!(parts.iter().map(FetchPart::len).sum::<usize>(), wire.len());
}
