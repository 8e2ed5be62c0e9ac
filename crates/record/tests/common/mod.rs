//! Helpers shared by the integration tests.
#![allow(clippy::unwrap_used)]
#![allow(dead_code)]

use proptest::prelude::*;
use sluice_record::BatchBuilder;

/// One record as a test describes it: (timestamp, key, value, headers).
pub type Spec = (
    i64,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    Vec<(Vec<u8>, Option<Vec<u8>>)>,
);

pub fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..max)
}

/// Timestamps near a realistic base (so deltas are small, negative or
/// positive) and, sometimes, anywhere in i64 (so deltas wrap).
pub fn timestamp() -> impl Strategy<Value = i64> {
    prop_oneof![
        4 => (1_700_000_000_000i64 - 10_000)..(1_700_000_000_000i64 + 10_000),
        1 => any::<i64>(),
    ]
}

pub fn record_spec() -> impl Strategy<Value = Spec> {
    (
        timestamp(),
        proptest::option::of(bytes(40)),
        proptest::option::of(bytes(200)),
        proptest::collection::vec((bytes(12), proptest::option::of(bytes(20))), 0..4),
    )
}

pub fn specs() -> impl Strategy<Value = Vec<Spec>> {
    proptest::collection::vec(record_spec(), 0..12)
}

pub fn build(specs: &[Spec]) -> Vec<u8> {
    let mut b = BatchBuilder::new();
    for (ts, k, v, hs) in specs {
        let hs: Vec<(&[u8], Option<&[u8]>)> = hs
            .iter()
            .map(|(k, v)| (k.as_slice(), v.as_deref()))
            .collect();
        b.append(*ts, k.as_deref(), v.as_deref(), &hs);
    }
    b.build().to_vec()
}

/// A small valid batch of `n` records with distinct contents.
pub fn sample(n: usize, seed: u8) -> Vec<u8> {
    let mut b = BatchBuilder::new();
    for i in 0..n {
        let i8 = u8::try_from(i).unwrap();
        b.append(
            1_000 + i64::try_from(i).unwrap(),
            Some(&[seed, i8]),
            Some(&[i8; 5]),
            &[(b"h", Some(&[seed]))],
        );
    }
    b.build().to_vec()
}
