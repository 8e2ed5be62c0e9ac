//! Decoders never panic: arbitrary bytes and mutated valid requests for
//! every advertised api and version go through header and body decoding.
// Helpers outside #[test] fns unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used)]

mod common;

use bytes::Bytes;
use proptest::prelude::*;
use sluice_kafka::{Request, RequestHeader, Response};

/// Decodes a whole request frame (no size prefix) the way the listener will.
fn decode_frame(mut frame: Bytes) {
    if let Ok(header) = RequestHeader::decode(&mut frame) {
        let _ = Request::decode(&header, frame);
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Truncate(usize),
    Insert(usize, u8),
    /// Overwrites 4 bytes with a big or negative length-like value.
    Length(usize, i32),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1..=255u8).prop_map(|(i, b)| Mutation::Flip(i, b)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        (
            any::<usize>(),
            prop_oneof![
                Just(-1),
                Just(-2),
                Just(i32::MAX),
                Just(0x7fff),
                any::<i32>()
            ]
        )
            .prop_map(|(i, v)| Mutation::Length(i, v)),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    if bytes.is_empty() {
        return;
    }
    match *m {
        Mutation::Flip(i, b) => {
            let i = i % bytes.len();
            bytes[i] ^= b;
        }
        Mutation::Truncate(i) => bytes.truncate(i % bytes.len()),
        Mutation::Insert(i, b) => {
            let i = i % (bytes.len() + 1);
            bytes.insert(i, b);
        }
        Mutation::Length(i, v) => {
            let i = i % bytes.len();
            for (j, b) in v.to_be_bytes().into_iter().enumerate() {
                if let Some(slot) = bytes.get_mut(i + j) {
                    *slot = b;
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bodies_never_panic(
        pick in any::<prop::sample::Index>(),
        body in prop::collection::vec(any::<u8>(), 0..96),
    ) {
        let versions = common::all_versions();
        let (key, v) = versions[pick.index(versions.len())];
        let header = RequestHeader { api_key: key.as_i16(), api_version: v, correlation_id: 0, client_id: None };
        let _ = Request::decode(&header, Bytes::from(body.clone()));
        let _ = Response::decode(key.as_i16(), v, Bytes::from(body));
    }

    #[test]
    fn arbitrary_frames_never_panic(frame in prop::collection::vec(any::<u8>(), 0..64)) {
        decode_frame(Bytes::from(frame));
    }

    #[test]
    fn mutated_requests_never_panic(
        pick in any::<prop::sample::Index>(),
        full in any::<bool>(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let versions = common::all_versions();
        let (key, v) = versions[pick.index(versions.len())];
        let (request, response) = if full { common::full(key, v) } else { common::empty(key, v) };
        let mut frame = common::request_frame(&request, v).to_vec();
        for m in &mutations {
            apply(&mut frame, m);
        }
        decode_frame(Bytes::from(frame));

        let mut resp = bytes::BytesMut::new();
        response.encode(&mut resp, v);
        let mut resp = resp.to_vec();
        for m in &mutations {
            apply(&mut resp, m);
        }
        let _ = Response::decode(key.as_i16(), v, Bytes::from(resp));
    }
}
