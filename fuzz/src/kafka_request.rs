//! Target `kafka_request`: one Kafka request frame, decoded as the Kafka listener does
//! (`RequestHeader::decode`, then `Request::decode`, which dispatches on the header's api key
//! and version to every request body the codec has), for every api and version it serves.
//!
//! # Input
//! A request frame without its int32 size prefix (what the listener has after splitting a
//! frame off the stream): `api_key i16 | api_version i16 | correlation_id i32 | client_id
//! (int16 string) | [tagged fields, flexible versions] | body`. The api key and version come
//! from the input, so one target covers every decoder.
//!
//! # Checks
//! - No input panics (decoders promise to check every length before use).
//! - A request that decodes belongs to the header's api, at a version Sluice advertises.
//! - It re-encodes (`frame::encode_request_frame`) into a frame whose size prefix is right and
//!   that decodes back to the same header and the same request.
//! - The same body bytes decoded as the matching *response* (what a client decodes) do not
//!   panic either; a response that decodes re-encodes to one that decodes to itself.

use bytes::Bytes;
use sluice_kafka::api_versions::{ADVERTISED, is_supported};
use sluice_kafka::{ApiKey, Request, RequestHeader, Response, frame};

pub fn run(data: &[u8]) {
    let mut frame_bytes = Bytes::copy_from_slice(data);
    let Ok(header) = RequestHeader::decode(&mut frame_bytes) else {
        return;
    };
    let body = frame_bytes;

    if let Ok(request) = Request::decode(&header, body.clone()) {
        let key = ApiKey::from_i16(header.api_key)
            .unwrap_or_else(|| panic!("decoded a request of unknown api key {}", header.api_key));
        assert_eq!(request.api_key(), key, "request of another api");
        assert!(
            is_supported(key, header.api_version),
            "unsupported version decoded"
        );
        request_round_trip(&header, &request);
    }

    if let Ok(response) = Response::decode(header.api_key, header.api_version, body) {
        let again = Response::decode(
            header.api_key,
            header.api_version,
            encode_response(&response, header.api_version),
        );
        assert_eq!(
            again.as_ref().ok(),
            Some(&response),
            "re-encoded response decodes differently: {again:?}"
        );
    }
}

fn request_round_trip(header: &RequestHeader, request: &Request) {
    let wire = frame::encode_request_frame(header, request);
    let size = i32::from_be_bytes([wire[0], wire[1], wire[2], wire[3]]);
    let mut rest = wire.slice(4..);
    assert_eq!(usize::try_from(size).ok(), Some(rest.len()), "size prefix");
    let again = RequestHeader::decode(&mut rest)
        .unwrap_or_else(|e| panic!("re-encoded header did not decode: {e}"));
    assert_eq!(&again, header, "re-encoded header decodes differently");
    let decoded = Request::decode(&again, rest);
    assert_eq!(
        decoded.as_ref().ok(),
        Some(request),
        "re-encoded request decodes differently: {decoded:?}"
    );
}

fn encode_response(response: &Response, version: i16) -> Bytes {
    let mut buf = bytes::BytesMut::new();
    response.encode(&mut buf, version);
    buf.freeze()
}

/// Builds a request frame (without the size prefix) the way a client would.
fn frame_for(api_key: ApiKey, api_version: i16, request: &Request) -> Vec<u8> {
    let header = RequestHeader {
        api_key: api_key.as_i16(),
        api_version,
        correlation_id: 42,
        client_id: Some("fuzz-seed".into()),
    };
    frame::encode_request_frame(&header, request)[4..].to_vec()
}

/// Real requests for the apis clients send most, and for every other advertised api and
/// version, the smallest body that decodes (all fields zero, re-encoded).
pub fn seeds() -> crate::Seeds {
    use sluice_kafka::api::fetch::{FetchPartition, FetchTopic};
    use sluice_kafka::api::produce::{ProducePartition, ProduceTopic};
    use sluice_kafka::{ApiVersionsRequest, FetchRequest, MetadataRequest, ProduceRequest};

    let produce = Request::from(ProduceRequest {
        transactional_id: None,
        acks: -1,
        timeout_ms: 30_000,
        topics: vec![ProduceTopic {
            name: "orders".into(),
            partitions: vec![ProducePartition {
                index: 0,
                records: Some(crate::seed::batch(0, 3)),
            }],
        }],
    });
    let fetch = Request::from(FetchRequest {
        max_wait_ms: 500,
        min_bytes: 1,
        max_bytes: 52_428_800,
        topics: vec![FetchTopic {
            name: "orders".into(),
            partitions: vec![FetchPartition {
                partition: 0,
                fetch_offset: 0,
                partition_max_bytes: 1_048_576,
                ..FetchPartition::default()
            }],
        }],
        ..FetchRequest::default()
    });
    let metadata = Request::from(MetadataRequest {
        topics: Some(vec!["orders".into()]),
        ..MetadataRequest::default()
    });
    let api_versions_v3 = Request::from(ApiVersionsRequest {
        client_software_name: "librdkafka".into(),
        client_software_version: "2.0.2".into(),
    });
    let api_versions_v0 = Request::from(ApiVersionsRequest::default());

    let mut seeds: Vec<(String, Vec<u8>)> = [
        (
            "api-versions-v0",
            frame_for(ApiKey::ApiVersions, 0, &api_versions_v0),
        ),
        (
            "api-versions-v3",
            frame_for(ApiKey::ApiVersions, 3, &api_versions_v3),
        ),
        ("produce-v3", frame_for(ApiKey::Produce, 3, &produce)),
        ("produce-v8", frame_for(ApiKey::Produce, 8, &produce)),
        ("fetch-v4", frame_for(ApiKey::Fetch, 4, &fetch)),
        ("fetch-v11", frame_for(ApiKey::Fetch, 11, &fetch)),
        ("metadata-v1", frame_for(ApiKey::Metadata, 1, &metadata)),
        ("metadata-v8", frame_for(ApiKey::Metadata, 8, &metadata)),
    ]
    .into_iter()
    .map(|(name, bytes)| (name.to_owned(), bytes))
    .collect();
    for range in ADVERTISED {
        for version in [range.min, range.max] {
            let header = RequestHeader {
                api_key: range.api_key.as_i16(),
                api_version: version,
                correlation_id: 42,
                client_id: Some("fuzz-seed".into()),
            };
            let zeros = Bytes::from_static(&[0; 64]);
            let Ok(request) = Request::decode(&header, zeros) else {
                continue;
            };
            let name = format!("{}-v{version}-zeros", range.api_key.name().to_lowercase());
            seeds.push((name, frame_for(range.api_key, version, &request)));
        }
    }
    seeds
}
