//! Record-level decoding rules on hand-made payloads, compressed batches and
//! attribute bits.

// Tests may unwrap (workspace lint exception for test code); proptest bodies
// and helpers are not #[test] fns, so clippy needs telling.
#![allow(clippy::unwrap_used)]

use sluice_record::varint::{put_varint, put_varlong};
use sluice_record::{
    BatchBuilder, BatchFields, COMPRESSION_MASK, CONTROL_FLAG, Compression, RecordBatch,
    RecordError, TIMESTAMP_TYPE_FLAG, TRANSACTIONAL_FLAG, TimestampType, build_batch_from_parts,
};

/// A batch around `payload` claiming `count` records.
fn batch_with(payload: &[u8], count: i32) -> bytes::Bytes {
    let fields = BatchFields {
        records_count: count,
        last_offset_delta: count - 1,
        ..BatchFields::default()
    };
    build_batch_from_parts(&fields, payload).unwrap()
}

/// Encodes a record body (everything after the length) from raw parts, so
/// tests can lie about individual lengths.
fn body(key_len: i32, key: &[u8], header_count: i32, headers: &[u8]) -> Vec<u8> {
    let mut b = vec![0]; // attributes
    put_varlong(&mut b, 0);
    put_varint(&mut b, 0);
    put_varint(&mut b, key_len);
    b.extend_from_slice(key);
    put_varint(&mut b, -1); // null value
    put_varint(&mut b, header_count);
    b.extend_from_slice(headers);
    b
}

fn with_length(length: i32, body: &[u8]) -> Vec<u8> {
    let mut r = Vec::new();
    put_varint(&mut r, length);
    r.extend_from_slice(body);
    r
}

fn first_error(payload: &[u8], count: i32) -> RecordError {
    let bytes = batch_with(payload, count);
    let batch = RecordBatch::parse(&bytes).unwrap();
    let mut iter = batch.records().unwrap();
    let err = iter.by_ref().find_map(Result::err).unwrap();
    assert!(iter.next().is_none(), "iterator must stop after an error");
    err
}

fn invalid(reason: &'static str, err: &RecordError) -> bool {
    matches!(err, RecordError::InvalidRecord { reason: r, .. } if *r == reason)
}

#[test]
fn a_well_formed_hand_made_record_parses() {
    let b = body(1, b"k", 0, &[]);
    let rec = with_length(i32::try_from(b.len()).unwrap(), &b);
    let bytes = batch_with(&rec, 1);
    let batch = RecordBatch::parse(&bytes).unwrap();
    let r = batch.records().unwrap().next().unwrap().unwrap();
    assert_eq!((r.key, r.value), (Some(&b"k"[..]), None));
}

#[test]
fn length_must_match_content() {
    let b = body(1, b"k", 0, &[]);
    let len = i32::try_from(b.len()).unwrap();

    let mut longer = with_length(len + 1, &b);
    longer.push(0);
    let err = first_error(&longer, 1);
    assert!(
        invalid("record length exceeds its content", &err),
        "{err:?}"
    );

    let shorter = with_length(len - 1, &b);
    let err = first_error(&shorter, 1);
    assert!(
        matches!(
            err,
            RecordError::InvalidRecord { .. } | RecordError::InvalidVarint { .. }
        ),
        "{err:?}"
    );

    let err = first_error(&with_length(len + 10, &b), 1);
    assert!(
        invalid("record length runs past the end of the batch", &err),
        "{err:?}"
    );

    let err = first_error(&with_length(-3, &b), 1);
    assert_eq!(
        err,
        RecordError::InvalidRecord {
            position: 61,
            reason: "negative record length"
        }
    );
}

#[test]
fn negative_lengths_and_counts_are_rejected() {
    let b = body(-2, b"", 0, &[]);
    let err = first_error(&with_length(i32::try_from(b.len()).unwrap(), &b), 1);
    assert!(invalid("negative key length", &err), "{err:?}");

    let b = body(-1, b"", -1, &[]);
    let err = first_error(&with_length(i32::try_from(b.len()).unwrap(), &b), 1);
    assert!(invalid("negative header count", &err), "{err:?}");

    // A header with a null key: Kafka forbids it.
    let mut header = Vec::new();
    put_varint(&mut header, -1);
    put_varint(&mut header, -1);
    let b = body(-1, b"", 1, &header);
    let err = first_error(&with_length(i32::try_from(b.len()).unwrap(), &b), 1);
    assert!(invalid("negative header key length", &err), "{err:?}");
}

#[test]
fn record_count_must_match_payload() {
    let mut builder = BatchBuilder::new();
    builder.append(5, None, Some(b"x"), &[]);
    builder.append(6, None, Some(b"y"), &[]);
    let payload = builder.records_payload().to_vec();

    let err = first_error(&payload, 3);
    assert!(invalid("fewer records than recordsCount", &err), "{err:?}");
    let err = first_error(&payload, 1);
    assert!(
        invalid("trailing bytes after the last record", &err),
        "{err:?}"
    );
    let err = first_error(&payload, 0);
    assert_eq!(
        err,
        RecordError::InvalidRecord {
            position: 61,
            reason: "trailing bytes after the last record"
        }
    );
}

#[test]
fn varint_errors_report_their_position_in_the_batch() {
    // A record whose length varint never ends.
    let err = first_error(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 1);
    assert_eq!(err, RecordError::InvalidVarint { position: 61 });
}

#[test]
fn compressed_batches_are_carried_but_not_read() {
    let payload = b"\x1f\x8b pretend gzip".to_vec();
    for (bits, codec) in [
        (1, Compression::Gzip),
        (2, Compression::Snappy),
        (3, Compression::Lz4),
        (4, Compression::Zstd),
        (6, Compression::Unknown(6)),
    ] {
        let fields = BatchFields {
            attributes: bits,
            records_count: 7,
            last_offset_delta: 6,
            ..BatchFields::default()
        };
        let bytes = build_batch_from_parts(&fields, &payload).unwrap();
        let batch = RecordBatch::parse(&bytes).unwrap();
        assert_eq!(batch.header().compression(), codec);
        assert_eq!(codec.attribute_bits(), bits);
        assert_eq!(batch.records_payload(), &payload[..]);
        assert_eq!(
            batch.records().err(),
            Some(RecordError::Compressed { codec })
        );
    }
}

#[test]
fn attribute_bits() {
    let fields = BatchFields {
        attributes: TIMESTAMP_TYPE_FLAG | TRANSACTIONAL_FLAG | CONTROL_FLAG,
        ..BatchFields::default()
    };
    let bytes = build_batch_from_parts(&fields, &[]).unwrap();
    let h = *RecordBatch::parse(&bytes).unwrap().header();
    assert_eq!(h.timestamp_type(), TimestampType::LogAppendTime);
    assert!(h.is_transactional() && h.is_control());
    assert_eq!(h.compression(), Compression::None);
    assert_eq!(h.attributes & COMPRESSION_MASK, 0);

    let plain = BatchBuilder::new().build();
    let h = *RecordBatch::parse(&plain).unwrap().header();
    assert_eq!(h.timestamp_type(), TimestampType::CreateTime);
    assert!(!h.is_transactional() && !h.is_control());
}

#[test]
fn log_append_time_uses_the_batch_max_timestamp() {
    let mut builder = BatchBuilder::new();
    builder.append(100, None, Some(b"a"), &[]);
    builder.append(50, None, Some(b"b"), &[]);
    let fields = BatchFields {
        attributes: TIMESTAMP_TYPE_FLAG,
        max_timestamp: 9_999,
        ..builder.fields()
    };
    let bytes = build_batch_from_parts(&fields, builder.records_payload()).unwrap();
    let batch = RecordBatch::parse(&bytes).unwrap();
    for r in batch.records().unwrap() {
        assert_eq!(r.unwrap().timestamp(batch.header()), 9_999);
    }
}
