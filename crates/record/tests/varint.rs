//! Varints: Kafka's known encodings, rejection rules and round trips.

// Tests may unwrap (workspace lint exception for test code); proptest bodies
// and helpers are not #[test] fns, so clippy needs telling.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use sluice_record::RecordError;
use sluice_record::varint::*;

const INVALID: RecordError = RecordError::InvalidVarint { position: 0 };

fn enc32(v: i32) -> Vec<u8> {
    let mut b = Vec::new();
    put_varint(&mut b, v);
    b
}

fn enc64(v: i64) -> Vec<u8> {
    let mut b = Vec::new();
    put_varlong(&mut b, v);
    b
}

#[test]
fn known_zigzag_encodings() {
    let cases: &[(i32, &[u8])] = &[
        (0, &[0x00]),
        (-1, &[0x01]),
        (1, &[0x02]),
        (-2, &[0x03]),
        (63, &[0x7e]),
        (-64, &[0x7f]),
        (64, &[0x80, 0x01]),
        (300, &[0xd8, 0x04]),
        (-300, &[0xd7, 0x04]),
        (i32::MAX, &[0xfe, 0xff, 0xff, 0xff, 0x0f]),
        (i32::MIN, &[0xff, 0xff, 0xff, 0xff, 0x0f]),
    ];
    for &(v, bytes) in cases {
        assert_eq!(enc32(v), bytes, "encode {v}");
        assert_eq!(get_varint(bytes), Ok((v, bytes.len())), "decode {v}");
        assert_eq!(varint_len(v), bytes.len(), "len {v}");
        assert_eq!(enc64(i64::from(v)), bytes, "varlong agrees for {v}");
    }
    let mut min = vec![0xff; 9];
    min.push(0x01);
    assert_eq!(enc64(i64::MIN), min);
    assert_eq!(get_varlong(&min), Ok((i64::MIN, 10)));
    assert_eq!(varlong_len(i64::MIN), 10);
    assert_eq!(varlong_len(0), 1);
}

#[test]
fn known_unsigned_encodings() {
    let cases: &[(u32, &[u8])] = &[
        (0, &[0x00]),
        (1, &[0x01]),
        (127, &[0x7f]),
        (128, &[0x80, 0x01]),
        (300, &[0xac, 0x02]),
        (u32::MAX, &[0xff, 0xff, 0xff, 0xff, 0x0f]),
    ];
    for &(v, bytes) in cases {
        let mut b = Vec::new();
        put_unsigned_varint(&mut b, v);
        assert_eq!(b, bytes, "encode {v}");
        assert_eq!(get_unsigned_varint(bytes), Ok((v, bytes.len())));
        assert_eq!(unsigned_varint_len(v), bytes.len());
    }
}

#[test]
fn decoding_stops_at_the_first_byte_without_continuation() {
    assert_eq!(get_varint(&[0x02, 0xff, 0xff]), Ok((1, 1)));
    assert_eq!(get_varlong(&[0xd8, 0x04, 0x00]), Ok((300, 2)));
}

#[test]
fn truncated_and_overlong_input_is_rejected() {
    assert_eq!(get_varint(&[]), Err(INVALID));
    assert_eq!(get_varint(&[0x80]), Err(INVALID));
    assert_eq!(get_varlong(&[0xff; 9]), Err(INVALID));
    // Six bytes for a 32-bit value.
    assert_eq!(
        get_varint(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x00]),
        Err(INVALID)
    );
    assert_eq!(
        get_unsigned_varint(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x00]),
        Err(INVALID)
    );
    // Eleven bytes for a 64-bit value.
    let mut long = vec![0x80; 10];
    long.push(0x00);
    assert_eq!(get_varlong(&long), Err(INVALID));
    // Bits beyond the width in the last allowed byte.
    assert_eq!(get_varint(&[0xff, 0xff, 0xff, 0xff, 0x10]), Err(INVALID));
    let mut wide = vec![0xff; 9];
    wide.push(0x03);
    assert_eq!(get_varlong(&wide), Err(INVALID));
}

proptest! {
    #[test]
    fn varint_round_trips(v: i32, tail in proptest::collection::vec(any::<u8>(), 0..4)) {
        let mut b = enc32(v);
        prop_assert_eq!(b.len(), varint_len(v));
        b.extend_from_slice(&tail);
        prop_assert_eq!(get_varint(&b), Ok((v, varint_len(v))));
    }

    #[test]
    fn varlong_round_trips(v: i64) {
        let b = enc64(v);
        prop_assert_eq!(b.len(), varlong_len(v));
        prop_assert_eq!(get_varlong(&b), Ok((v, b.len())));
    }

    #[test]
    fn unsigned_varint_round_trips(v: u32) {
        let mut b = Vec::new();
        put_unsigned_varint(&mut b, v);
        prop_assert_eq!(b.len(), unsigned_varint_len(v));
        prop_assert_eq!(get_unsigned_varint(&b), Ok((v, b.len())));
    }

    #[test]
    fn arbitrary_bytes_decode_or_fail_cleanly(b in proptest::collection::vec(any::<u8>(), 0..12)) {
        if let Ok((v, n)) = get_varint(&b) {
            prop_assert!(n >= 1 && n <= b.len() && n <= 5);
            // Kafka accepts non-minimal encodings, so only the value is canonical.
            prop_assert_eq!(get_varint(&enc32(v)), Ok((v, varint_len(v))));
        }
        if let Ok((_, n)) = get_varlong(&b) {
            prop_assert!(n >= 1 && n <= b.len() && n <= 10);
        }
        if let Ok((_, n)) = get_unsigned_varint(&b) {
            prop_assert!(n >= 1 && n <= b.len() && n <= 5);
        }
    }
}
