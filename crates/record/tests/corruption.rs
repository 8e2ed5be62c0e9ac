//! Damaged input: flipped bits, truncation at every length, zero-filled
//! space and arbitrary bytes. Errors, never panics, never silent changes.

// Tests may unwrap (workspace lint exception for test code); proptest bodies
// and helpers are not #[test] fns, so clippy needs telling.
#![allow(clippy::unwrap_used)]

mod common;

use common::{build, sample, specs};
use proptest::prelude::*;
use sluice_record::{
    BatchFields, BatchHeader, BatchIter, CRC_START, RecordBatch, RecordError, batch_total_size,
    build_batch_from_parts, compute_crc, set_base_offset, set_partition_leader_epoch, update_crc,
    validate_batch,
};

fn flip(bytes: &[u8], bit: usize) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[bit / 8] ^= 1 << (bit % 8);
    out
}

/// Reads every record of a batch; the panic-freedom checks run this on
/// garbage that happens to have a valid header and CRC.
fn drain(batch: &RecordBatch<'_>) {
    if let Ok(records) = batch.records() {
        for r in records.flatten() {
            for h in r.headers() {
                let _ = h;
            }
        }
    }
}

#[test]
fn every_single_bit_flip_in_the_crc_range_is_detected() {
    let bytes = sample(3, 9);
    for bit in CRC_START * 8..bytes.len() * 8 {
        let bad = flip(&bytes, bit);
        assert!(validate_batch(&bad).is_err(), "bit {bit} went unnoticed");
    }
}

#[test]
fn bit_flips_before_the_crc_range_change_only_offset_and_epoch() {
    let bytes = sample(2, 1);
    let good = validate_batch(&bytes).unwrap();
    for bit in 0..CRC_START * 8 {
        let byte = bit / 8;
        match validate_batch(&flip(&bytes, bit)) {
            Ok(h) => {
                assert!(
                    (0..8).contains(&byte) || (12..16).contains(&byte),
                    "byte {byte}"
                );
                assert_eq!(
                    BatchHeader {
                        base_offset: good.base_offset,
                        partition_leader_epoch: good.partition_leader_epoch,
                        ..h
                    },
                    good
                );
            }
            Err(_) => assert!(
                (8..21).contains(&byte) && !(12..16).contains(&byte),
                "byte {byte}"
            ),
        }
    }
}

#[test]
fn zero_filled_space_is_batch_length_too_small() {
    let zeros = [0u8; 4096];
    let too_small = RecordError::BatchLengthTooSmall { batch_length: 0 };
    assert_eq!(batch_total_size(&zeros), Err(too_small.clone()));
    assert_eq!(BatchHeader::parse(&zeros), Err(too_small.clone()));
    assert_eq!(validate_batch(&zeros), Err(too_small.clone()));
    assert_eq!(
        BatchIter::new(&zeros).next().unwrap().err(),
        Some(too_small.clone())
    );

    // The storage case: valid batches, then preallocated zeros.
    let mut log = [sample(2, 1), sample(3, 2)].concat();
    let valid = log.len();
    log.resize(valid + 1024, 0);
    let mut iter = BatchIter::new(&log);
    assert!(iter.next().unwrap().is_ok());
    assert!(iter.next().unwrap().is_ok());
    assert_eq!(iter.next().unwrap().err(), Some(too_small));
    assert_eq!(iter.position(), valid);
    assert!(!iter.has_partial_tail());
    assert!(iter.next().is_none());
}

#[test]
fn batch_length_bounds() {
    let mut bytes = sample(1, 0);
    bytes[8..12].copy_from_slice(&48i32.to_be_bytes());
    assert_eq!(
        batch_total_size(&bytes),
        Err(RecordError::BatchLengthTooSmall { batch_length: 48 })
    );
    bytes[8..12].copy_from_slice(&(-1i32).to_be_bytes());
    assert_eq!(
        validate_batch(&bytes),
        Err(RecordError::BatchLengthTooSmall { batch_length: -1 })
    );
    assert_eq!(
        batch_total_size(&bytes[..11]),
        Err(RecordError::Truncated {
            needed: 12,
            available: 11
        })
    );
}

#[test]
fn truncation_at_every_length_of_one_batch() {
    let bytes = sample(4, 3);
    for n in 0..bytes.len() {
        let cut = &bytes[..n];
        assert!(
            matches!(validate_batch(cut), Err(RecordError::Truncated { .. })),
            "len {n}"
        );
        assert!(RecordBatch::parse(cut).is_err());
        let mut iter = BatchIter::new(cut);
        assert!(iter.next().is_none(), "len {n}");
        assert_eq!(iter.has_partial_tail(), n > 0, "len {n}");
        assert_eq!(iter.position(), 0);
    }
}

#[test]
fn header_errors_are_specific() {
    let bytes = sample(1, 0);
    let mut bad = bytes.clone();
    bad[16] = 1;
    assert_eq!(
        validate_batch(&bad),
        Err(RecordError::UnsupportedMagic { magic: 1 })
    );

    let mut bad = bytes.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0xff;
    let stored = BatchHeader::parse(&bytes).unwrap().crc;
    assert_eq!(
        validate_batch(&bad),
        Err(RecordError::CrcMismatch {
            stored,
            computed: compute_crc(&bad)
        })
    );

    let mut long = bytes.clone();
    long.push(0);
    assert_eq!(
        validate_batch(&long),
        Err(RecordError::InvalidRecord {
            position: bytes.len(),
            reason: "trailing bytes after the batch"
        })
    );

    let mismatch = BatchFields {
        records_count: 2,
        last_offset_delta: 0,
        ..BatchFields::default()
    };
    let built = build_batch_from_parts(&mismatch, &[]).unwrap();
    assert_eq!(
        validate_batch(&built),
        Err(RecordError::RecordCountMismatch {
            last_offset_delta: 0,
            records_count: 2
        })
    );

    let negative = BatchFields {
        records_count: -5,
        last_offset_delta: -6,
        ..BatchFields::default()
    };
    let built = build_batch_from_parts(&negative, &[]).unwrap();
    assert_eq!(
        validate_batch(&built),
        Err(RecordError::NegativeRecordCount { records_count: -5 })
    );

    let extreme = BatchFields {
        records_count: i32::MIN,
        last_offset_delta: i32::MAX,
        ..BatchFields::default()
    };
    assert!(validate_batch(&build_batch_from_parts(&extreme, &[]).unwrap()).is_err());
}

#[test]
fn rewrites_need_their_bytes() {
    assert_eq!(
        set_base_offset(&mut [0; 7], 1),
        Err(RecordError::Truncated {
            needed: 8,
            available: 7
        })
    );
    assert_eq!(
        set_partition_leader_epoch(&mut [0; 15], 1),
        Err(RecordError::Truncated {
            needed: 16,
            available: 15
        })
    );
    assert_eq!(
        update_crc(&mut [0; 20]),
        Err(RecordError::Truncated {
            needed: 21,
            available: 20
        })
    );
    assert!(set_base_offset(&mut [0; 8], 1).is_ok());
}

proptest! {
    #[test]
    fn any_bit_flip_in_the_crc_range_is_an_error(specs in specs(), bit_seed: usize) {
        let bytes = build(&specs);
        let range = bytes.len() * 8 - CRC_START * 8;
        let bad = flip(&bytes, CRC_START * 8 + bit_seed % range);
        prop_assert!(validate_batch(&bad).is_err());
        let mut iter = BatchIter::new(&bad);
        prop_assert!(matches!(iter.next(), Some(Err(_))));
        prop_assert!(iter.next().is_none());
    }

    #[test]
    fn rewriting_offset_and_epoch_keeps_the_crc(specs in specs(), offset: i64, epoch: i32) {
        let mut bytes = build(&specs);
        let crc = compute_crc(&bytes);
        set_base_offset(&mut bytes, offset).unwrap();
        set_partition_leader_epoch(&mut bytes, epoch).unwrap();
        prop_assert_eq!(compute_crc(&bytes), crc);
        let h = validate_batch(&bytes).unwrap();
        prop_assert_eq!(h.base_offset, offset);
        prop_assert_eq!(h.partition_leader_epoch, epoch);
    }

    #[test]
    fn truncation_is_an_error_or_a_partial_tail(specs in specs(), cut_seed: usize) {
        let bytes = build(&specs);
        let n = cut_seed % bytes.len();
        let truncated = matches!(validate_batch(&bytes[..n]), Err(RecordError::Truncated { .. }));
        prop_assert!(truncated);
        let mut iter = BatchIter::new(&bytes[..n]);
        prop_assert!(iter.next().is_none());
        prop_assert_eq!(iter.has_partial_tail(), n > 0);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = batch_total_size(&bytes);
        let _ = BatchHeader::parse(&bytes);
        let _ = validate_batch(&bytes);
        let mut iter = BatchIter::new(&bytes);
        for batch in iter.by_ref().flatten() {
            drain(&batch);
        }
        prop_assert!(iter.position() <= bytes.len());
    }

    /// Garbage that starts with a plausible header (length, magic) so it
    /// gets past the cheap checks.
    #[test]
    fn arbitrary_bytes_with_a_plausible_header_never_panic(
        mut bytes in proptest::collection::vec(any::<u8>(), 61..300),
        fix_crc: bool,
    ) {
        let len = i32::try_from(bytes.len() - 12).unwrap();
        bytes[8..12].copy_from_slice(&len.to_be_bytes());
        bytes[16] = 2;
        if fix_crc {
            update_crc(&mut bytes).unwrap();
        }
        let _ = validate_batch(&bytes);
        for batch in BatchIter::new(&bytes).flatten() {
            drain(&batch);
        }
    }

    /// Arbitrary record payloads behind a valid header and CRC: only the
    /// record decoder stands between them and the caller.
    #[test]
    fn arbitrary_record_payloads_never_panic(
        payload in proptest::collection::vec(any::<u8>(), 0..300),
        count in 0i32..20,
    ) {
        let fields = BatchFields { records_count: count, last_offset_delta: count - 1, ..BatchFields::default() };
        let bytes = build_batch_from_parts(&fields, &payload).unwrap();
        let batch = RecordBatch::parse(&bytes).unwrap();
        let mut yielded = 0usize;
        let mut records = batch.records().unwrap();
        for r in records.by_ref() {
            yielded += 1;
            if let Ok(r) = r {
                prop_assert!(r.headers().count() == r.header_count());
            }
        }
        prop_assert!(yielded <= usize::try_from(count).unwrap() + 1);
        prop_assert!(records.next().is_none());
    }

    /// Real records with some payload bytes mutated and the CRC fixed up:
    /// the decoder must catch what the CRC no longer can.
    #[test]
    fn mutated_records_never_panic(specs in specs(), at: usize, xor in 1u8..) {
        let mut bytes = build(&specs);
        if bytes.len() > 61 {
            let i = 61 + at % (bytes.len() - 61);
            bytes[i] ^= xor;
            update_crc(&mut bytes).unwrap();
            let batch = RecordBatch::parse(&bytes).unwrap();
            drain(&batch);
        }
    }
}
