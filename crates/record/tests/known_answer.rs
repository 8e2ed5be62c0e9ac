//! Byte-exact checks against the format: field offsets of a built batch, the
//! CRC-32C check value, and batches captured from a real Kafka 0.11 broker.

// Tests may unwrap (workspace lint exception for test code); proptest bodies
// and helpers are not #[test] fns, so clippy needs telling.
#![allow(clippy::unwrap_used)]

mod common;

use sluice_record::{
    BATCH_HEADER_LEN, BatchBuilder, BatchHeader, BatchIter, CRC_START, Compression, LOG_OVERHEAD,
    MAGIC_V2, MIN_BATCH_LENGTH, RecordBatch, TimestampType, compute_crc, set_base_offset,
    set_partition_leader_epoch, validate_batch,
};

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn be_i64(b: &[u8], at: usize) -> i64 {
    i64::from_be_bytes(b[at..at + 8].try_into().unwrap())
}
fn be_i32(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes(b[at..at + 4].try_into().unwrap())
}
fn be_i16(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes(b[at..at + 2].try_into().unwrap())
}

#[test]
fn constants() {
    assert_eq!(MAGIC_V2, 2);
    assert_eq!(LOG_OVERHEAD, 12);
    assert_eq!(BATCH_HEADER_LEN, 61);
    assert_eq!(MIN_BATCH_LENGTH, 49);
    assert_eq!(CRC_START, 21);
}

#[test]
fn crc32c_check_value() {
    assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
    // compute_crc skips the first 21 bytes, whatever they hold.
    let mut buf = vec![0xAB; CRC_START];
    buf.extend_from_slice(b"123456789");
    assert_eq!(compute_crc(&buf), 0xE306_9283);
    assert_eq!(compute_crc(&buf[..CRC_START]), 0);
    assert_eq!(compute_crc(&[]), 0);
}

#[test]
fn built_batch_field_offsets() {
    let mut b = BatchBuilder::new().producer(0x0102_0304_0506_0708, 0x0a0b, 0x0c0d_0e0f);
    b.append(1_000, Some(b"key"), Some(b"value"), &[]);
    b.append(900, None, Some(b"v2"), &[]);
    b.append(1_500, Some(b""), None, &[]);
    let mut bytes = b.build().to_vec();
    set_base_offset(&mut bytes, 0x1122_3344_5566_7788).unwrap();
    set_partition_leader_epoch(&mut bytes, 7).unwrap();

    assert_eq!(be_i64(&bytes, 0), 0x1122_3344_5566_7788, "baseOffset @0");
    assert_eq!(
        be_i32(&bytes, 8),
        i32::try_from(bytes.len() - 12).unwrap(),
        "batchLength @8"
    );
    assert_eq!(be_i32(&bytes, 12), 7, "partitionLeaderEpoch @12");
    assert_eq!(bytes[16], 2, "magic @16");
    assert_eq!(
        be_i32(&bytes, 17).cast_unsigned(),
        crc32c::crc32c(&bytes[21..]),
        "crc @17"
    );
    assert_eq!(be_i16(&bytes, 21), 0, "attributes @21");
    assert_eq!(be_i32(&bytes, 23), 2, "lastOffsetDelta @23");
    assert_eq!(be_i64(&bytes, 27), 1_000, "baseTimestamp @27");
    assert_eq!(be_i64(&bytes, 35), 1_500, "maxTimestamp @35");
    assert_eq!(be_i64(&bytes, 43), 0x0102_0304_0506_0708, "producerId @43");
    assert_eq!(be_i16(&bytes, 51), 0x0a0b, "producerEpoch @51");
    assert_eq!(be_i32(&bytes, 53), 0x0c0d_0e0f, "baseSequence @53");
    assert_eq!(be_i32(&bytes, 57), 3, "recordsCount @57");

    // First record, byte by byte: length 14 (zigzag 28), attributes 0,
    // timestampDelta 0, offsetDelta 0, keyLength 3, "key", valueLength 5,
    // "value", headersCount 0.
    let mut first = vec![28, 0, 0, 0, 6];
    first.extend_from_slice(b"key");
    first.push(10);
    first.extend_from_slice(b"value");
    first.push(0);
    assert_eq!(&bytes[61..61 + first.len()], &first[..]);
    // Second record: length 9 (zigzag 18), attributes 0, timestampDelta -100
    // (zigzag 199 = c7 01), offsetDelta 1 (02), null key (-1 = 01).
    assert_eq!(
        &bytes[61 + first.len()..61 + first.len() + 6],
        &[18, 0, 0xc7, 0x01, 2, 1]
    );

    let header = validate_batch(&bytes).unwrap();
    assert_eq!(BatchHeader::parse(&bytes).unwrap(), header);
    assert_eq!(header.encode(), bytes[..61]);
}

#[test]
fn empty_builder_makes_an_empty_valid_batch() {
    let b = BatchBuilder::new();
    assert!(b.is_empty());
    assert_eq!(b.size_in_bytes(), 61);
    let bytes = b.build();
    assert_eq!(bytes.len(), 61);
    let h = validate_batch(&bytes).unwrap();
    assert_eq!(
        (h.records_count, h.last_offset_delta, h.batch_length),
        (0, -1, 49)
    );
    assert_eq!((h.base_timestamp, h.max_timestamp), (-1, -1));
    assert_eq!(
        (h.producer_id, h.producer_epoch, h.base_sequence),
        (-1, -1, -1)
    );
    assert_eq!(h.partition_leader_epoch, -1);
    assert_eq!(
        RecordBatch::parse(&bytes)
            .unwrap()
            .records()
            .unwrap()
            .count(),
        0
    );
}

// Three batches captured from a Kafka 0.11 broker, published as test data
// by kafka-python (test/record/test_records.py, `record_batch_data_v2`).
const KAFKA_BATCH_1: &str = "00000000000000000000003b00000001020318a2700000000000000000015dff7b063c0000015dff7b063cffffffffffffffffffffffffffff0000000112000000010631323300";
const KAFKA_BATCH_2: &str = "0000000000000001000000400000000202c85cbd230000000000010000015dff7cdd6c0000015dff7cde14ffffffffffffffffffffffffffff000000020c0000000100000e00d00202010000";
const KAFKA_BATCH_3: &str = "00000000000000030000003b00000002022e0b85b70000000000000000015dff7ce79d0000015dff7ce79dffffffffffffffffffffffffffff0000000112000000010631323300";

#[test]
fn parses_batches_from_a_real_broker() {
    let b1 = hex(KAFKA_BATCH_1);
    let batch = RecordBatch::parse(&b1).unwrap();
    let h = batch.header();
    assert_eq!(
        (h.base_offset, h.batch_length, h.partition_leader_epoch),
        (0, 59, 1)
    );
    assert_eq!(h.crc, 51_946_096);
    assert_eq!(h.base_timestamp, 1_503_229_838_908);
    assert_eq!(h.compression(), Compression::None);
    assert_eq!(h.timestamp_type(), TimestampType::CreateTime);
    let records: Vec<_> = batch.records().unwrap().map(Result::unwrap).collect();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].key, None);
    assert_eq!(records[0].value, Some(&b"123"[..]));
    assert_eq!(records[0].timestamp(h), 1_503_229_838_908);
    assert_eq!(records[0].header_count(), 0);

    let b2 = hex(KAFKA_BATCH_2);
    let batch = RecordBatch::parse(&b2).unwrap();
    let h = *batch.header();
    let records: Vec<_> = batch.records().unwrap().map(Result::unwrap).collect();
    assert_eq!(records.len(), 2);
    assert_eq!(records[1].offset(&h), 2);
    assert_eq!(records[1].timestamp_delta, 168);
    assert_eq!(records[1].value, Some(&b""[..]));
    assert_eq!(h.next_offset(), 3);
}

#[test]
fn builder_reproduces_broker_bytes() {
    let mut b = BatchBuilder::new();
    b.append(1_503_229_838_908, None, Some(b"123"), &[]);
    let mut built = b.build().to_vec();
    set_partition_leader_epoch(&mut built, 1).unwrap();
    assert_eq!(built, hex(KAFKA_BATCH_1));

    let mut b = BatchBuilder::new();
    b.append(0x015d_ff7c_dd6c, None, Some(b""), &[]);
    b.append(0x015d_ff7c_de14, None, Some(b""), &[]);
    let mut built = b.build().to_vec();
    set_base_offset(&mut built, 1).unwrap();
    set_partition_leader_epoch(&mut built, 2).unwrap();
    assert_eq!(built, hex(KAFKA_BATCH_2));
}

#[test]
fn iterates_a_broker_log_with_a_zero_tail() {
    // As kafka-python's test: three batches then 4 zero bytes. Four bytes
    // cannot hold a length prefix, so they are a partial tail.
    let mut log = [hex(KAFKA_BATCH_1), hex(KAFKA_BATCH_2), hex(KAFKA_BATCH_3)].concat();
    log.extend_from_slice(&[0; 4]);
    let mut iter = BatchIter::new(&log);
    let offsets: Vec<i64> = iter
        .by_ref()
        .map(|b| b.unwrap().header().base_offset)
        .collect();
    assert_eq!(offsets, [0, 1, 3]);
    assert!(iter.has_partial_tail());
    assert_eq!(iter.position(), 218);
    assert_eq!(iter.remaining(), &[0; 4]);
}
