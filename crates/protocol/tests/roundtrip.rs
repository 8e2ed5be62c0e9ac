//! Every request and response through the frame codec and back.
// Integration tests are test code throughout, helpers included.
#![allow(clippy::unwrap_used)]

mod common;

use std::fmt::Debug;

use bytes::{Bytes, BytesMut};
use common::*;
use prost::Message;
use sluice_protocol::consts::{LATEST_TIMESTAMP, NO_TIMESTAMP};
use sluice_protocol::{
    ApiKey, ApiRequest, ApiResponse, ErrorCode, ResponseHeader, frame, pb, records,
};

fn roundtrip_request<R: ApiRequest + PartialEq + Debug>(request: R) {
    let header = header(R::API_KEY.into(), 77);
    let mut wire = BytesMut::new();
    frame::encode_request_frame(&header, &request, &mut wire).unwrap();
    // A second frame right behind must stay in the buffer.
    wire.extend_from_slice(b"\x00\x00");

    let (got, body) = frame::decode_request_frame(&mut wire, MAX)
        .unwrap()
        .unwrap();
    assert_eq!(got, header);
    assert_eq!(got.api().unwrap(), R::API_KEY);
    assert_eq!(R::decode(body).unwrap(), request);
    assert_eq!(&wire[..], b"\x00\x00");
}

fn roundtrip_response<R: ApiResponse + PartialEq + Debug>(response: R, trailing: Bytes) {
    let mut wire = BytesMut::new();
    frame::encode_response_head(5, &response, trailing.len(), &mut wire).unwrap();
    wire.extend_from_slice(&trailing);

    let (header, body, got_trailing) = frame::decode_response_frame(&mut wire, MAX)
        .unwrap()
        .unwrap();
    assert_eq!(
        header,
        ResponseHeader {
            correlation_id: 5,
            body_len: response.encoded_len() as u32,
            trailing_len: trailing.len() as u32,
        }
    );
    assert_eq!(R::decode(body).unwrap(), response);
    assert_eq!(got_trailing, trailing);
    assert!(wire.is_empty());
}

fn ok_response<R: ApiResponse + PartialEq + Debug>(response: R) {
    assert_eq!(response.top_level_error(), ErrorCode::None);
    roundtrip_response(response, Bytes::new());
}

#[test]
fn admin_apis() {
    roundtrip_request(pb::ApiVersionsRequest {});
    ok_response(pb::ApiVersionsResponse {
        error_code: 0,
        error_message: String::new(),
        api_versions: sluice_protocol::api::supported_api_versions(),
        broker_version: "0.1.0".into(),
    });
    roundtrip_request(pb::MetadataRequest {
        topics: vec!["orders".into(), "audit".into()],
    });
    roundtrip_request(pb::MetadataRequest { topics: vec![] });
    ok_response(metadata_response());
    roundtrip_request(pb::CreateTopicRequest {
        name: "orders".into(),
        partitions: 8,
        config: Some(config()),
    });
    roundtrip_response(
        pb::CreateTopicResponse {
            error_code: ErrorCode::TopicAlreadyExists as i32,
            error_message: "topic orders exists".into(),
        },
        Bytes::new(),
    );
    roundtrip_request(pb::DeleteTopicRequest {
        name: "orders".into(),
    });
    ok_response(pb::DeleteTopicResponse::default());
}

#[test]
fn produce_and_fetch() {
    roundtrip_request(produce_request());
    ok_response(pb::ProduceResponse {
        error_code: 0,
        error_message: String::new(),
        base_offset: 100,
        last_offset: 109,
        log_append_time: NO_TIMESTAMP,
        log_start_offset: 0,
    });
    roundtrip_request(fetch_request());
    let (response, trailing) = fetch_response();
    roundtrip_response(response, trailing);
}

#[test]
fn offset_apis() {
    roundtrip_request(list_offsets_request());
    ok_response(pb::ListOffsetsResponse {
        error_code: 0,
        error_message: String::new(),
        partitions: vec![pb::ListOffsetsPartitionResponse {
            topic: "orders".into(),
            partition: 0,
            error_code: 0,
            offset: 10,
            timestamp: LATEST_TIMESTAMP,
        }],
    });
    roundtrip_request(pb::CommitOffsetsRequest {
        group: "billing".into(),
        partitions: vec![pb::CommitOffsetsPartition {
            topic: "orders".into(),
            partition: 0,
            offset: 11,
            metadata: "host-a".into(),
        }],
        ..Default::default()
    });
    ok_response(pb::CommitOffsetsResponse {
        error_code: 0,
        error_message: String::new(),
        partitions: vec![pb::CommitOffsetsPartitionResponse {
            topic: "orders".into(),
            partition: 0,
            error_code: ErrorCode::InvalidOffset as i32,
        }],
    });
    roundtrip_request(pb::FetchOffsetsRequest {
        group: "billing".into(),
        partitions: vec![pb::TopicPartition {
            topic: "orders".into(),
            partition: 0,
        }],
    });
    ok_response(fetch_offsets_response());
}

#[test]
fn fetch_records_split_by_partition() {
    let (response, trailing) = fetch_response();
    assert_eq!(records::trailing_len(&response), trailing.len() as u64);
    let parts = records::split_records(&response, trailing).unwrap();
    assert_eq!(parts, vec![&b"AAAAA"[..], &b""[..], &b"BBB"[..]]);
}

#[test]
fn produce_batches_share_the_frame_buffer() {
    let mut wire = BytesMut::new();
    frame::encode_request_frame(&header(4, 1), &produce_request(), &mut wire).unwrap();
    let (_, body) = frame::decode_request_frame(&mut wire, MAX)
        .unwrap()
        .unwrap();
    let range = body.as_ptr_range();
    let request = pb::ProduceRequest::decode(body.clone()).unwrap();
    for batch in &request.batches {
        assert!(range.contains(&batch.as_ptr()), "batch was copied");
    }
}

/// The broker answers requests it cannot handle with an ErrorResponse; the
/// client decodes it as the response type it expects.
#[test]
fn error_response_decodes_as_every_response() {
    let error = pb::ErrorResponse {
        error_code: ErrorCode::UnsupportedVersion as i32,
        error_message: "Fetch v9".into(),
    };
    let bytes = error.encode_to_vec();
    fn check<R: ApiResponse>(bytes: &[u8]) {
        let response = R::decode(bytes).unwrap();
        assert_eq!(response.top_level_error(), ErrorCode::UnsupportedVersion);
        assert_eq!(response.error_message(), "Fetch v9");
    }
    check::<pb::ApiVersionsResponse>(&bytes);
    check::<pb::MetadataResponse>(&bytes);
    check::<pb::CreateTopicResponse>(&bytes);
    check::<pb::DeleteTopicResponse>(&bytes);
    check::<pb::ProduceResponse>(&bytes);
    check::<pb::FetchResponse>(&bytes);
    check::<pb::ListOffsetsResponse>(&bytes);
    check::<pb::CommitOffsetsResponse>(&bytes);
    check::<pb::FetchOffsetsResponse>(&bytes);
}

#[test]
fn header_validation_maps_to_error_codes() {
    let mut header = header(ApiKey::Produce.into(), 1);
    header.api_version = 3;
    assert_eq!(
        header.api().unwrap_err().error_code(),
        ErrorCode::UnsupportedVersion
    );
    header.api_key = 400;
    assert_eq!(
        header.api().unwrap_err().error_code(),
        ErrorCode::UnknownApi
    );
}
