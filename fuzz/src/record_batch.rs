//! Target `record_batch`: RecordBatch v2 parsing and validation (`BatchIter`,
//! `RecordBatch::parse`, `validate_batch`), record and header iteration, and decompression of
//! compressed batches (gzip, snappy in both framings, lz4, zstd) with a size bound.
//!
//! # Input
//! Byte 0: bit 0 set means "repair": the rest is taken as one batch whose `batchLength` and
//! CRC are overwritten to match its bytes before parsing, so the fuzzer spends its time in the
//! record decoders instead of on the CRC. The rest is the bytes (concatenated batches when not
//! repairing, as in a segment file or a fetch response).
//!
//! # Checks
//! - No input panics, and decompression never produces more than the bound.
//! - `BatchIter` yields batches that tile the buffer from the start: its position is the sum of
//!   their sizes, and it ends at the end of the buffer, at a partial tail, or after one error.
//! - A batch that parses re-encodes to itself: its header field by field, and the whole batch
//!   through `build_batch_from_parts`; rewriting its base offset or leader epoch keeps it valid.
//! - Records that read and headers that were checked with them read again without error; a
//!   batch whose records all read holds exactly `recordsCount` of them.

use sluice_record::{
    BATCH_HEADER_LEN, BatchFields, BatchIter, Compression, RecordBatch, RecordError, RecordIter,
    build_batch_from_parts, compute_crc, offsets, set_base_offset, set_partition_leader_epoch,
    update_crc, validate_batch,
};

/// Decompression bound: small, so a bomb costs the fuzzer little time.
const MAX_DECOMPRESSED: usize = 256 << 10;

pub fn run(data: &[u8]) {
    let Some((&mode, bytes)) = data.split_first() else {
        return;
    };
    if mode & 1 == 1 {
        let mut batch = bytes.to_vec();
        repair(&mut batch);
        check_single(&batch);
    } else {
        check_iter(bytes);
        check_single(bytes);
    }
}

/// Makes `batchLength` and the CRC agree with the bytes, if there are enough of them.
fn repair(batch: &mut [u8]) {
    let Some(length) = batch
        .len()
        .checked_sub(sluice_record::LOG_OVERHEAD)
        .and_then(|l| i32::try_from(l).ok())
    else {
        return;
    };
    if let Some(field) = batch.get_mut(offsets::BATCH_LENGTH..offsets::BATCH_LENGTH + 4) {
        field.copy_from_slice(&length.to_be_bytes());
    }
    let _ = update_crc(batch);
}

fn check_iter(bytes: &[u8]) {
    let mut iter = BatchIter::new(bytes);
    let mut end = 0;
    let mut failed = false;
    for item in iter.by_ref() {
        match item {
            Ok(batch) => {
                let at = batch.as_bytes().as_ptr() as usize - bytes.as_ptr() as usize;
                assert_eq!(at, end, "batches do not tile the buffer");
                end += batch.as_bytes().len();
                check_batch(&batch);
            }
            Err(_) => {
                assert!(!failed, "a second error after the first");
                failed = true;
            }
        }
    }
    assert_eq!(
        iter.position(),
        end,
        "position is not the end of the valid batches"
    );
    if !failed && !iter.has_partial_tail() {
        assert_eq!(end, bytes.len(), "clean end before the end of the buffer");
    }
    assert!(iter.next().is_none(), "BatchIter is not fused");
}

/// The whole buffer as exactly one batch.
fn check_single(bytes: &[u8]) {
    let parsed = RecordBatch::parse(bytes);
    assert_eq!(
        parsed.as_ref().map(|b| *b.header()).ok(),
        validate_batch(bytes).ok(),
        "parse and validate_batch disagree"
    );
    if let Ok(batch) = parsed {
        check_batch(&batch);
    }
}

fn check_batch(batch: &RecordBatch<'_>) {
    let bytes = batch.as_bytes();
    let header = *batch.header();
    assert_eq!(header.total_size(), bytes.len());
    assert_eq!(
        &header.encode()[..],
        &bytes[..BATCH_HEADER_LEN],
        "header re-encodes differently"
    );
    assert_eq!(compute_crc(bytes), header.crc);
    assert!(header.records_count >= 0);
    assert_eq!(
        i64::from(header.last_offset_delta) + 1,
        i64::from(header.records_count)
    );
    match build_batch_from_parts(&BatchFields::from(&header), batch.records_payload()) {
        Ok(rebuilt) => assert_eq!(&rebuilt[..], bytes, "batch rebuilds differently"),
        Err(e) => panic!("a valid batch failed to rebuild: {e}"),
    }

    // The two in-place rewrites a broker makes leave the batch valid.
    let mut copy = bytes.to_vec();
    let offset = header.base_offset.wrapping_add(1_000);
    assert!(set_base_offset(&mut copy, offset).is_ok());
    assert!(set_partition_leader_epoch(&mut copy, 7).is_ok());
    match RecordBatch::parse(&copy) {
        Ok(moved) => {
            assert_eq!(moved.header().base_offset, offset);
            assert_eq!(moved.header().partition_leader_epoch, 7);
        }
        Err(e) => panic!("rewriting the base offset broke the batch: {e}"),
    }

    let count = usize::try_from(header.records_count).unwrap_or(0);
    match batch.records() {
        Ok(records) => check_records(records, count, &header),
        Err(RecordError::Compressed { codec }) => {
            assert_ne!(codec, Compression::None);
            match batch.decompress(MAX_DECOMPRESSED) {
                Ok(decompressed) => {
                    assert!(decompressed.payload().len() <= MAX_DECOMPRESSED);
                    check_records(decompressed.records(), count, &header);
                }
                Err(RecordError::DecompressedTooLarge { limit, .. }) => {
                    assert_eq!(limit, MAX_DECOMPRESSED);
                }
                Err(_) => {}
            }
        }
        Err(e) => panic!("records() of an uncompressed batch failed: {e}"),
    }
}

fn check_records(records: RecordIter<'_>, count: usize, header: &sluice_record::BatchHeader) {
    let mut read = 0;
    let mut failed = false;
    for record in records {
        let Ok(record) = record else {
            failed = true;
            continue;
        };
        read += 1;
        assert!(read <= count, "more records than recordsCount");
        let _ = (record.offset(header), record.timestamp(header));
        let mut headers = 0;
        for h in record.headers() {
            if let Err(e) = h {
                panic!("a header checked when its record was read fails later: {e}");
            }
            headers += 1;
        }
        assert_eq!(headers, record.header_count());
    }
    if !failed {
        assert_eq!(
            read, count,
            "records ended before recordsCount without an error"
        );
    }
}

/// Batches as producers and fetch responses carry them: plain, several in a row, with a torn
/// tail, each codec, and one to be repaired.
pub fn seeds() -> crate::Seeds {
    use crate::seed::{batch, compressed_batch};
    let plain = batch(0, 3);
    let mut run = plain.to_vec();
    run.extend_from_slice(&batch(3, 2));
    run.extend_from_slice(&batch(5, 1));
    let mut torn = run.clone();
    torn.extend_from_slice(&batch(6, 2)[..40]);
    let mut broken_crc = plain.to_vec();
    broken_crc[offsets::CRC] ^= 0xff;

    let with_mode = |mode: u8, bytes: &[u8]| [&[mode][..], bytes].concat();
    let mut seeds = vec![
        ("one".to_owned(), with_mode(0, &plain)),
        ("empty-batch".to_owned(), with_mode(0, &batch(0, 0))),
        ("three-in-a-row".to_owned(), with_mode(0, &run)),
        ("torn-tail".to_owned(), with_mode(0, &torn)),
        ("repair-crc".to_owned(), with_mode(1, &broken_crc)),
    ];
    for codec in [
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ] {
        let name = format!("{codec:?}").to_lowercase();
        seeds.push((name, with_mode(0, &compressed_batch(4, codec))));
    }
    seeds.push((
        "snappy-raw".to_owned(),
        with_mode(0, &crate::seed::raw_snappy_batch(4)),
    ));
    seeds
}
