//! Sample messages for every API, shared by the integration tests.
// Each test binary uses a different subset; helpers are test code, so
// panicking on a broken fixture is the right failure.
#![allow(dead_code, clippy::unwrap_used)]

use bytes::{Bytes, BytesMut};
use sluice_protocol::consts::{ACKS_ALL, EARLIEST_TIMESTAMP, NO_OFFSET};
use sluice_protocol::{ErrorCode, RequestHeader, frame, pb};

pub const MAX: usize = 1024 * 1024;

pub fn header(api_key: u16, correlation_id: u32) -> RequestHeader {
    RequestHeader {
        api_key,
        api_version: 0,
        correlation_id,
        client_id: "tester-\u{e9}".into(),
    }
}

pub fn config() -> pb::TopicConfig {
    pb::TopicConfig {
        segment_bytes: Some(1 << 30),
        segment_ms: None,
        retention_bytes: Some(-1),
        retention_ms: Some(7 * 24 * 3600 * 1000),
        flush_messages: None,
        flush_interval_ms: Some(1000),
        max_message_bytes: Some(1 << 20),
    }
}

pub fn produce_request() -> pb::ProduceRequest {
    pb::ProduceRequest {
        topic: "orders".into(),
        partition: 3,
        acks: ACKS_ALL,
        timeout_ms: 30_000,
        batches: vec![Bytes::from_static(b"batch-one"), Bytes::from_static(b"two")],
    }
}

pub fn fetch_request() -> pb::FetchRequest {
    pb::FetchRequest {
        max_wait_ms: 500,
        min_bytes: 1,
        max_bytes: 1 << 20,
        partitions: vec![
            pb::FetchPartition {
                topic: "orders".into(),
                partition: 0,
                offset: 42,
                max_bytes: 4096,
            },
            pb::FetchPartition {
                topic: "audit".into(),
                partition: 1,
                offset: 0,
                max_bytes: 4096,
            },
        ],
    }
}

/// A fetch response with records for two of three partitions, and the
/// matching trailing bytes.
pub fn fetch_response() -> (pb::FetchResponse, Bytes) {
    let part =
        |topic: &str, partition, error_code: ErrorCode, records_len| pb::FetchPartitionResponse {
            topic: topic.into(),
            partition,
            error_code: error_code as i32,
            high_watermark: 100,
            log_start_offset: 5,
            records_len,
        };
    let response = pb::FetchResponse {
        error_code: 0,
        error_message: String::new(),
        partitions: vec![
            part("orders", 0, ErrorCode::None, 5),
            part("gone", 0, ErrorCode::UnknownTopicOrPartition, 0),
            part("audit", 1, ErrorCode::None, 3),
        ],
    };
    (response, Bytes::from_static(b"AAAAABBB"))
}

pub fn list_offsets_request() -> pb::ListOffsetsRequest {
    pb::ListOffsetsRequest {
        partitions: vec![pb::ListOffsetsPartition {
            topic: "orders".into(),
            partition: 0,
            timestamp: EARLIEST_TIMESTAMP,
        }],
    }
}

pub fn metadata_response() -> pb::MetadataResponse {
    pb::MetadataResponse {
        error_code: 0,
        error_message: String::new(),
        topics: vec![pb::TopicMetadata {
            name: "orders".into(),
            error_code: 0,
            partitions: vec![pb::PartitionMetadata {
                partition: 0,
                error_code: 0,
                log_start_offset: 0,
                log_end_offset: 10,
                high_watermark: 10,
                size_bytes: 4096,
            }],
            config: Some(config()),
        }],
    }
}

pub fn fetch_offsets_response() -> pb::FetchOffsetsResponse {
    pb::FetchOffsetsResponse {
        error_code: 0,
        error_message: String::new(),
        partitions: vec![pb::FetchOffsetsPartitionResponse {
            topic: "orders".into(),
            partition: 0,
            offset: NO_OFFSET,
            metadata: String::new(),
            error_code: 0,
        }],
    }
}

/// Valid encoded request frames of several kinds.
pub fn request_frames() -> Vec<BytesMut> {
    fn encode(header: RequestHeader, body: &impl prost::Message) -> BytesMut {
        let mut out = BytesMut::new();
        frame::encode_request_frame(&header, body, &mut out).unwrap();
        out
    }
    vec![
        encode(header(4, 1), &produce_request()),
        encode(header(5, 2), &fetch_request()),
        encode(header(0, 3), &pb::ApiVersionsRequest {}),
        encode(header(6, 4), &list_offsets_request()),
    ]
}

/// Valid encoded response frames, trailing bytes included.
pub fn response_frames() -> Vec<BytesMut> {
    let mut frames = Vec::new();
    let (fetch, records) = fetch_response();
    let mut out = BytesMut::new();
    frame::encode_response_head(9, &fetch, records.len(), &mut out).unwrap();
    out.extend_from_slice(&records);
    frames.push(out);

    let mut out = BytesMut::new();
    frame::encode_response_head(10, &metadata_response(), 0, &mut out).unwrap();
    frames.push(out);

    let mut out = BytesMut::new();
    frame::encode_response_head(11, &fetch_offsets_response(), 0, &mut out).unwrap();
    frames.push(out);
    frames
}
