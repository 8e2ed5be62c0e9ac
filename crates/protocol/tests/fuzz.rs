//! Property tests: no input makes the decoders panic, and whatever they
//! accept they consume exactly.
// Integration tests are test code throughout, helpers included.
#![allow(clippy::unwrap_used)]

mod common;

use bytes::BytesMut;
use common::*;
use proptest::prelude::*;
use prost::Message;
use sluice_protocol::{frame, pb, records};

/// Runs both decoders on `bytes` and every typed body decoder on whatever
/// body comes out. Only panics count as failures.
fn decode_everything(bytes: &[u8], max: usize) {
    let mut buf = BytesMut::from(bytes);
    if let Ok(Some((_, body))) = frame::decode_request_frame(&mut buf, max) {
        assert!(bytes.len() - buf.len() >= frame::LENGTH_PREFIX_LEN + frame::REQUEST_HEADER_LEN);
        let _ = pb::ProduceRequest::decode(body.clone());
        let _ = pb::FetchRequest::decode(body.clone());
        let _ = pb::ListOffsetsRequest::decode(body);
    }
    let mut buf = BytesMut::from(bytes);
    if let Ok(Some((header, body, trailing))) = frame::decode_response_frame(&mut buf, max) {
        let consumed = bytes.len() - buf.len();
        assert_eq!(
            consumed,
            frame::LENGTH_PREFIX_LEN
                + frame::RESPONSE_HEADER_LEN
                + header.body_len as usize
                + header.trailing_len as usize
        );
        assert_eq!(trailing.len(), header.trailing_len as usize);
        if let Ok(fetch) = pb::FetchResponse::decode(body.clone()) {
            let _ = records::split_records(&fetch, trailing);
        }
        let _ = pb::MetadataResponse::decode(body);
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..512),
        max in prop_oneof![Just(MAX), 0usize..64],
    ) {
        decode_everything(&bytes, max);
    }

    #[test]
    fn arbitrary_bytes_after_a_plausible_length(
        len in 0u32..300,
        rest in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let mut bytes = len.to_be_bytes().to_vec();
        bytes.extend(rest);
        decode_everything(&bytes, MAX);
    }

    #[test]
    fn mutated_request_frames_never_panic(
        which in 0usize..4,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = request_frames()[which].to_vec();
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        let end = cut.index(bytes.len() + 1);
        decode_everything(&bytes[..end], MAX);
        decode_everything(&bytes, MAX);
    }

    #[test]
    fn mutated_response_frames_never_panic(
        which in 0usize..3,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = response_frames()[which].to_vec();
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        let end = cut.index(bytes.len() + 1);
        decode_everything(&bytes[..end], MAX);
        decode_everything(&bytes, MAX);
    }
}
