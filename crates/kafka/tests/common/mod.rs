//! Representative bodies for every advertised api and version, shared by the
//! round-trip, known-answer and fuzz tests. Fields that do not exist in a
//! version hold the value decode gives them, so `decode(encode(x)) == x`.
#![allow(dead_code)]

pub mod requests;
pub mod responses;

use bytes::{Bytes, BytesMut};
use sluice_kafka::api_versions::ADVERTISED;
use sluice_kafka::{ApiKey, Request, RequestHeader, Response};

/// `v` when the field exists (`present`), else the decode default `d`.
pub fn when<T>(present: bool, v: T, d: T) -> T {
    if present { v } else { d }
}

pub fn s(text: &str) -> String {
    text.to_owned()
}

/// Every advertised (api key, version) pair.
pub fn all_versions() -> Vec<(ApiKey, i16)> {
    ADVERTISED
        .iter()
        .flat_map(|r| (r.min..=r.max).map(move |v| (r.api_key, v)))
        .collect()
}

/// Header + body of a request, without the size prefix.
pub fn request_frame(request: &Request, version: i16) -> Bytes {
    let header = RequestHeader {
        api_key: request.api_key().as_i16(),
        api_version: version,
        correlation_id: 42,
        client_id: Some(s("test")),
    };
    let mut buf = BytesMut::new();
    header.encode(&mut buf);
    request.encode(&mut buf, version);
    buf.freeze()
}

/// Rich samples: several topics/partitions, nulls where allowed.
pub fn full(key: ApiKey, v: i16) -> (Request, Response) {
    (requests::full(key, v), responses::full(key, v))
}

/// Minimal samples: empty arrays, defaults.
pub fn empty(key: ApiKey, v: i16) -> (Request, Response) {
    (requests::empty(key, v), responses::empty(key, v))
}
