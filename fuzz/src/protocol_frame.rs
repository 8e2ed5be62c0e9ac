//! Target `protocol_frame`: the native protocol's frame decoders
//! (`sluice_protocol::frame::decode_request_frame` / `decode_response_frame`) over a byte stream,
//! as the broker's and the client's read loops meet them, and the protobuf bodies they carry.
//!
//! # Input
//! Byte 0: bit 0 picks response frames (1) or request frames (0); bits 1-7 are the size of the
//! pieces the stream arrives in (0: all at once). The rest is the stream.
//!
//! # Checks
//! - No input panics.
//! - `Ok(None)` and `Err` leave the buffer untouched; `Ok(Some)` consumes exactly
//!   `4 + frame_len` bytes, split into header, body (and trailing bytes) that add up.
//! - The stream decodes to the same frames, and stops with the same error, whether it arrives
//!   whole, in pieces, or byte by byte.
//! - A request body of a served api that decodes as its protobuf type re-encodes into a frame
//!   that decodes back to the same header and message.
//! - Fetch responses' trailing bytes split into per-partition slices or fail cleanly; produce
//!   batches go through `RecordBatch::parse`.

use bytes::{Bytes, BytesMut};
use prost::Message;
use sluice_protocol::consumer_protocol::{Assignment, Subscription};
use sluice_protocol::frame::{self, LENGTH_PREFIX_LEN, REQUEST_HEADER_LEN, RESPONSE_HEADER_LEN};
use sluice_protocol::{ApiKey, RequestHeader, ResponseHeader, pb, records};
use sluice_record::RecordBatch;

/// Small enough that the fuzzer reaches the limit check with short inputs.
const MAX_FRAME: usize = 1 << 16;

/// What one decode call produced.
#[derive(Debug, Clone, PartialEq)]
enum Event {
    Request(RequestHeader, Bytes),
    Response(ResponseHeader, Bytes, Bytes),
    /// The error, as text (the error type is not `PartialEq`).
    Error(String),
}

pub fn run(data: &[u8]) {
    let Some((&mode, stream)) = data.split_first() else {
        return;
    };
    let responses = mode & 1 == 1;
    let piece = usize::from(mode >> 1);

    let whole = decode_stream(stream, stream.len().max(1), responses);
    if piece != 0 {
        assert_eq!(
            decode_stream(stream, piece, responses),
            whole,
            "pieces of {piece}"
        );
    }
    // Byte by byte is the slowest path; keep it to streams of a few frames.
    if stream.len() <= 512 {
        assert_eq!(decode_stream(stream, 1, responses), whole, "byte by byte");
    }

    for event in &whole {
        match event {
            Event::Request(header, body) => check_request_body(header, body),
            Event::Response(_, body, trailing) => check_response_body(body, trailing),
            Event::Error(_) => {}
        }
    }
}

/// Feeds `stream` to a read buffer `piece` bytes at a time, decoding every frame as soon as
/// it is whole, until the stream ends or a decode fails (after which a connection is closed).
fn decode_stream(stream: &[u8], piece: usize, responses: bool) -> Vec<Event> {
    let mut buf = BytesMut::new();
    let mut events = Vec::new();
    let mut fed = 0;
    loop {
        loop {
            let before = buf.clone();
            let declared = before
                .get(..LENGTH_PREFIX_LEN)
                .map(|p| u32::from_be_bytes([p[0], p[1], p[2], p[3]]) as usize);
            let event = if responses {
                frame::decode_response_frame(&mut buf, MAX_FRAME)
                    .map(|f| f.map(|(h, b, t)| Event::Response(h, b, t)))
            } else {
                frame::decode_request_frame(&mut buf, MAX_FRAME)
                    .map(|f| f.map(|(h, b)| Event::Request(h, b)))
            };
            match event {
                Ok(None) => {
                    assert_eq!(buf, before, "Ok(None) consumed bytes");
                    break;
                }
                Err(e) => {
                    assert_eq!(buf, before, "Err consumed bytes");
                    events.push(Event::Error(e.to_string()));
                    return events;
                }
                Ok(Some(event)) => {
                    let frame_len = declared.unwrap_or_else(|| panic!("a frame without a prefix"));
                    assert!(frame_len <= MAX_FRAME, "frame over the limit accepted");
                    assert_eq!(
                        &before[LENGTH_PREFIX_LEN + frame_len..],
                        &buf[..],
                        "consumed other than one frame"
                    );
                    check_split(&event, frame_len);
                    events.push(event);
                }
            }
        }
        if fed == stream.len() {
            return events;
        }
        let n = piece.min(stream.len() - fed);
        buf.extend_from_slice(&stream[fed..fed + n]);
        fed += n;
    }
}

/// The parts of a decoded frame add up to its `frame_len`.
fn check_split(event: &Event, frame_len: usize) {
    match event {
        Event::Request(header, body) => {
            assert_eq!(
                REQUEST_HEADER_LEN + header.client_id.len() + body.len(),
                frame_len
            );
        }
        Event::Response(header, body, trailing) => {
            assert_eq!(body.len(), header.body_len as usize);
            assert_eq!(trailing.len(), header.trailing_len as usize);
            assert_eq!(RESPONSE_HEADER_LEN + body.len() + trailing.len(), frame_len);
        }
        Event::Error(_) => {}
    }
}

fn check_request_body(header: &RequestHeader, body: &Bytes) {
    let Ok(api) = header.api() else {
        return;
    };
    match api {
        ApiKey::ApiVersions => round_trip::<pb::ApiVersionsRequest>(header, body),
        ApiKey::Metadata => round_trip::<pb::MetadataRequest>(header, body),
        ApiKey::CreateTopic => round_trip::<pb::CreateTopicRequest>(header, body),
        ApiKey::DeleteTopic => round_trip::<pb::DeleteTopicRequest>(header, body),
        ApiKey::Produce => {
            if let Ok(request) = pb::ProduceRequest::decode(body.clone()) {
                for batch in &request.batches {
                    // The broker validates every produced batch; anything may come back.
                    let _ = RecordBatch::parse(batch);
                }
            }
            round_trip::<pb::ProduceRequest>(header, body);
        }
        ApiKey::Fetch => round_trip::<pb::FetchRequest>(header, body),
        ApiKey::ListOffsets => round_trip::<pb::ListOffsetsRequest>(header, body),
        ApiKey::CommitOffsets => round_trip::<pb::CommitOffsetsRequest>(header, body),
        ApiKey::FetchOffsets => round_trip::<pb::FetchOffsetsRequest>(header, body),
        ApiKey::ListGroups => round_trip::<pb::ListGroupsRequest>(header, body),
        ApiKey::DescribeGroups => round_trip::<pb::DescribeGroupsRequest>(header, body),
        ApiKey::JoinGroup => {
            if let Ok(request) = pb::JoinGroupRequest::decode(body.clone()) {
                for protocol in &request.protocols {
                    // Members' subscriptions are read when the leader assigns; any bytes come.
                    let _ = Subscription::decode(&protocol.metadata);
                }
            }
            round_trip::<pb::JoinGroupRequest>(header, body);
        }
        ApiKey::SyncGroup => {
            if let Ok(request) = pb::SyncGroupRequest::decode(body.clone()) {
                for assignment in &request.assignments {
                    // DescribeGroups decodes the stored assignments.
                    let _ = Assignment::decode(&assignment.assignment);
                }
            }
            round_trip::<pb::SyncGroupRequest>(header, body);
        }
        ApiKey::Heartbeat => round_trip::<pb::HeartbeatRequest>(header, body),
        ApiKey::LeaveGroup => round_trip::<pb::LeaveGroupRequest>(header, body),
    }
}

/// A body that decodes as `M` re-encodes (with the same header) into a frame that decodes to
/// the same header and the same message.
fn round_trip<M: Message + Default + PartialEq>(header: &RequestHeader, body: &Bytes) {
    let Ok(message) = M::decode(body.clone()) else {
        return;
    };
    let mut wire = BytesMut::new();
    if frame::encode_request_frame(header, &message, &mut wire).is_err() {
        // Only an over-long client id fails, and a decoded one is at most u16::MAX bytes.
        panic!("a decoded header and body failed to encode");
    }
    let decoded = frame::decode_request_frame(&mut wire, usize::MAX);
    let Ok(Some((again, again_body))) = decoded else {
        panic!("a re-encoded frame did not decode: {decoded:?}");
    };
    assert_eq!(&again, header);
    assert!(wire.is_empty(), "re-encoded frame left bytes over");
    assert!(
        M::decode(again_body).is_ok_and(|m| m == message),
        "re-encoded body decodes differently"
    );
}

/// A client knows which api a response answers; here every response is tried as a fetch
/// response (the one with trailing bytes) and as the generic error response.
fn check_response_body(body: &Bytes, trailing: &Bytes) {
    if let Ok(fetch) = pb::FetchResponse::decode(body.clone()) {
        match records::split_records(&fetch, trailing.clone()) {
            Ok(parts) => {
                assert_eq!(parts.len(), fetch.partitions.len());
                assert_eq!(
                    parts.iter().map(Bytes::len).sum::<usize>(),
                    trailing.len(),
                    "split slices do not cover the trailing bytes"
                );
                for part in &parts {
                    for batch in sluice_record::BatchIter::new(part) {
                        if batch.is_err() {
                            break;
                        }
                    }
                }
            }
            Err(_) => assert_ne!(records::trailing_len(&fetch), trailing.len() as u64),
        }
    }
    let _ = pb::ErrorResponse::decode(body.clone());
}

/// Valid request and response streams, one byte of mode in front.
pub fn seeds() -> crate::Seeds {
    fn request(api: ApiKey, correlation_id: u32, body: &impl Message) -> BytesMut {
        let header = RequestHeader {
            api_key: api.as_u16(),
            api_version: 0,
            correlation_id,
            client_id: "fuzz-seed".into(),
        };
        let mut wire = BytesMut::new();
        frame::encode_request_frame(&header, body, &mut wire)
            .unwrap_or_else(|e| panic!("seed request {api:?}: {e}"));
        wire
    }

    let mut requests = request(ApiKey::ApiVersions, 1, &pb::ApiVersionsRequest {});
    requests.extend_from_slice(&request(
        ApiKey::Metadata,
        2,
        &pb::MetadataRequest {
            topics: vec!["orders".into()],
        },
    ));
    let produce = request(
        ApiKey::Produce,
        3,
        &pb::ProduceRequest {
            topic: "orders".into(),
            partition: 0,
            acks: 1,
            timeout_ms: 1000,
            batches: vec![crate::seed::batch(0, 2)],
        },
    );
    let fetch = request(
        ApiKey::Fetch,
        4,
        &pb::FetchRequest {
            max_wait_ms: 500,
            min_bytes: 1,
            max_bytes: 1 << 20,
            partitions: vec![pb::FetchPartition {
                topic: "orders".into(),
                partition: 0,
                offset: 0,
                max_bytes: 1 << 20,
            }],
        },
    );

    let batch = crate::seed::batch(0, 3);
    let fetch_response = pb::FetchResponse {
        partitions: vec![pb::FetchPartitionResponse {
            records_len: u32::try_from(batch.len()).unwrap_or(u32::MAX),
            ..Default::default()
        }],
        ..Default::default()
    };
    let mut response = BytesMut::new();
    frame::encode_response_head(4, &fetch_response, batch.len(), &mut response)
        .unwrap_or_else(|e| panic!("seed fetch response: {e}"));
    response.extend_from_slice(&batch);

    let with_mode = |mode: u8, bytes: &[u8]| [&[mode][..], bytes].concat();
    vec![
        ("requests-whole", with_mode(0, &requests)),
        ("requests-in-pieces-of-7", with_mode(7 << 1, &requests)),
        ("produce", with_mode(0, &produce)),
        ("fetch", with_mode(0, &fetch)),
        ("fetch-response", with_mode(1, &response)),
    ]
    .into_iter()
    .map(|(name, bytes)| (name.to_owned(), bytes))
    .collect()
}
