//! Kafka wire protocol codec for Sluice's Kafka-compatible listener: request
//! and response headers, typed bodies for the apis and versions Sluice
//! advertises, and the fetch-response encoder that leaves record bytes to
//! sendfile. Pure code: no I/O, no dependency on other Sluice crates.
//!
//! # Layout
//! - [`wire`] — primitives (int8-64, strings, bytes, arrays, compact forms,
//!   unsigned varints, tagged fields) and the [`Message`] trait every body
//!   implements (`decode(buf, version)` / `encode(buf, version)`).
//! - [`header`] — [`RequestHeader`] (v1/v2), [`ResponseHeader`] (v0/v1),
//!   [`request_header_version`], [`response_header_version`].
//! - [`api_key`] — [`ApiKey`] and where each api's flexible versions begin.
//! - [`api`] — one module per api with its request and response types;
//!   `fetch_response` holds [`FetchResponse::encode_parts`].
//! - [`request`] — the [`Request`] and [`Response`] dispatch enums.
//! - [`api_versions`] — the advertised version table and the ApiVersions
//!   answers, including the v0 fallback for unknown versions.
//! - [`error_response`](mod@error_response) — [`error_response()`], the
//!   response that reports only a top-level error code, for the apis and
//!   versions that have one.
//! - [`frame`] — whole frames (size prefix + header + body).
//! - [`error_code`] — [`ErrorCode`], Kafka's int16 error codes.
//! - [`error`] — [`DecodeError`].
//!
//! Decoders never panic and never allocate from an untrusted length without
//! first checking it against the bytes that remain. Record data, group
//! metadata and assignments are `Bytes` slices of the frame (zero copy).
//! Trailing bytes after the known fields are ignored, as Kafka does.
//!
//! # Example
//! ```
//! use bytes::Bytes;
//! use sluice_kafka::{Request, RequestHeader, api_versions, frame, Response};
//!
//! // ApiVersions v0 from a client, without the size prefix.
//! let mut frame_bytes = Bytes::from_static(&[0, 18, 0, 0, 0, 0, 0, 7, 0, 2, b'c', b'1']);
//! let header = RequestHeader::decode(&mut frame_bytes).unwrap();
//! assert_eq!(header.correlation_id, 7);
//! let request = Request::decode(&header, frame_bytes).unwrap();
//! assert!(matches!(request, Request::ApiVersions(_)));
//!
//! let answer = Response::from(api_versions::response());
//! let out = frame::encode_response_frame(header.correlation_id, header.api_version, &answer);
//! assert_eq!(&out[4..8], &7i32.to_be_bytes());
//! ```

pub mod api;
pub mod api_key;
pub mod api_versions;
pub mod error;
pub mod error_code;
pub mod error_response;
pub mod frame;
pub mod header;
pub mod request;
pub mod wire;

pub use api::api_versions::{ApiVersionRange, ApiVersionsRequest, ApiVersionsResponse};
pub use api::create_topics::{CreateTopicsRequest, CreateTopicsResponse};
pub use api::delete_topics::{DeleteTopicsRequest, DeleteTopicsResponse};
pub use api::describe_groups::{DescribeGroupsRequest, DescribeGroupsResponse};
pub use api::fetch::FetchRequest;
pub use api::fetch_response::{FetchPart, FetchResponse, RecordsLen};
pub use api::find_coordinator::{FindCoordinatorRequest, FindCoordinatorResponse};
pub use api::heartbeat::{HeartbeatRequest, HeartbeatResponse};
pub use api::init_producer_id::{InitProducerIdRequest, InitProducerIdResponse};
pub use api::join_group::{JoinGroupRequest, JoinGroupResponse};
pub use api::leave_group::{LeaveGroupRequest, LeaveGroupResponse};
pub use api::list_groups::{ListGroupsRequest, ListGroupsResponse};
pub use api::list_offsets::{ListOffsetsRequest, ListOffsetsResponse};
pub use api::metadata::{MetadataRequest, MetadataResponse};
pub use api::offset_commit::{OffsetCommitRequest, OffsetCommitResponse};
pub use api::offset_fetch::{OffsetFetchRequest, OffsetFetchResponse};
pub use api::produce::{ProduceRequest, ProduceResponse};
pub use api::sync_group::{SyncGroupRequest, SyncGroupResponse};
pub use api_key::ApiKey;
pub use error::DecodeError;
pub use error_code::ErrorCode;
pub use error_response::error_response;
pub use header::{RequestHeader, ResponseHeader, request_header_version, response_header_version};
pub use request::{Request, Response};
pub use wire::Message;
