//! Appends, offset assignment, reads of whole batches, rolling and index lookups.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on failure by design

mod common;

use common::*;
use sluice_record::{BatchIter, set_base_offset};
use sluice_storage::StorageError;

#[test]
fn offsets_are_assigned_in_order_and_reads_return_what_was_appended() {
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path(), &small_config(mode));
        let mut next = 0;
        let mut expected = Vec::new();
        let mut rng = rng(1);
        for i in 0..200 {
            let mut batch = random_batch(&mut rng, 1000 + i, 5, 300).to_vec();
            // Whatever base offset the producer wrote, the log assigns its own.
            set_base_offset(&mut batch, 999_999).unwrap();
            let info = log.append(&batch).unwrap();
            assert_eq!(info.base_offset, next, "{mode:?}");
            let count = sluice_record::validate_batch(&batch).unwrap().records_count as i64;
            assert_eq!(info.last_offset, next + count - 1);
            set_base_offset(&mut batch, next).unwrap();
            expected.push(batch);
            next += count;
        }
        assert_eq!(log.log_end_offset(), next);
        assert!(
            log.segment_count() > 1,
            "64 KiB segments must have rolled ({mode:?})"
        );
        let stored = all_batches(&log);
        assert_eq!(stored.len(), expected.len());
        for (a, b) in stored.iter().zip(&expected) {
            assert_eq!(&a[..], &b[..]);
        }
    }
}

#[test]
fn read_starts_at_the_batch_holding_the_offset_and_returns_whole_batches() {
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path(), &small_config(mode));
        let mut rng = rng(2);
        for i in 0..300 {
            log.append(&random_batch(&mut rng, i, 4, 200)).unwrap();
        }
        let leo = log.log_end_offset();
        for offset in 0..leo {
            for max_bytes in [1u64, 500, 5000] {
                let slice = log.read(offset, max_bytes).unwrap();
                let bytes = slice.read_to_bytes().unwrap();
                let mut iter = BatchIter::new(&bytes);
                let batches: Vec<_> = iter.by_ref().map(|b| b.unwrap()).collect();
                assert!(!iter.has_partial_tail(), "slices hold whole batches only");
                assert!(
                    !batches.is_empty(),
                    "at least one batch, even past max_bytes"
                );
                let first = batches[0].header();
                assert!(
                    first.base_offset <= offset && offset <= first.last_offset(),
                    "{mode:?} {offset}"
                );
                assert_eq!(slice.first_offset, first.base_offset);
                assert!(batches.len() == 1 || bytes.len() as u64 <= max_bytes);
                assert_eq!(slice.high_watermark, leo);
            }
        }
        assert_eq!(
            log.read(leo, 1000).unwrap().len,
            0,
            "reading at the log end is empty"
        );
        assert!(matches!(
            log.read(leo + 1, 1000),
            Err(StorageError::OffsetOutOfRange { .. })
        ));
        assert!(matches!(
            log.read(-1, 1000),
            Err(StorageError::OffsetOutOfRange { .. })
        ));
    }
}

#[test]
fn invalid_batches_are_rejected_and_leave_the_log_untouched() {
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path(), &small_config(mode));
        let good = batch_of(1, &[b"a", b"b"]);
        log.append(&good).unwrap();
        let mut corrupt = good.to_vec();
        let last = corrupt.len() - 1;
        corrupt[last] ^= 0x40;
        let result = log.append_batches(&[&good, &corrupt]);
        assert!(
            matches!(result, Err(StorageError::InvalidBatch { index: 1, .. })),
            "{result:?}"
        );
        assert!(matches!(
            log.append(&good[..good.len() - 3]),
            Err(StorageError::InvalidBatch { .. })
        ));
        assert!(matches!(
            log.append(b"garbage"),
            Err(StorageError::InvalidBatch { .. })
        ));
        assert!(matches!(
            log.append(&vec![0u8; 100_000]),
            Err(StorageError::BatchTooLarge { .. })
        ));
        assert_eq!(
            log.log_end_offset(),
            2,
            "nothing from a rejected append is in the log"
        );
        assert_eq!(all_batches(&log).len(), 1);
    }
}

#[test]
fn timestamp_lookup_finds_the_first_record_at_or_after_the_target() {
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path(), &small_config(mode));
        // Batch i holds records with timestamps 10_000 + 10 i + (0..3).
        for i in 0..500i64 {
            log.append(&batch_of(10_000 + 10 * i, &[b"x", b"y", b"z"]))
                .unwrap();
        }
        for target in [0, 10_000, 10_001, 10_003, 12_345, 14_990, 14_992] {
            let found = log.offset_for_timestamp(target).unwrap().unwrap();
            let batch = (target - 10_000).max(0) / 10;
            let within = ((target - 10_000).max(0) % 10).min(3);
            let (batch, within) = if within == 3 {
                (batch + 1, 0)
            } else {
                (batch, within)
            };
            assert_eq!(found.offset, batch * 3 + within, "{mode:?} target {target}");
            assert!(found.timestamp >= target);
        }
        assert_eq!(log.offset_for_timestamp(99_999).unwrap(), None);
    }
}

#[test]
fn concurrent_readers_never_see_a_partial_batch() {
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        let log = std::sync::Arc::new(open(dir.path(), &small_config(mode)));
        let writer = {
            let log = log.clone();
            std::thread::spawn(move || {
                let mut rng = rng(3);
                for i in 0..2000 {
                    log.append(&random_batch(&mut rng, i, 3, 100)).unwrap();
                }
            })
        };
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let log = log.clone();
                std::thread::spawn(move || {
                    let mut offset = 0;
                    let mut spins = 0;
                    while offset < 4000 && spins < 1_000_000 {
                        spins += 1;
                        let slice = log.read(offset, 4096).unwrap();
                        let bytes = slice.read_to_bytes().unwrap();
                        let mut iter = BatchIter::new(&bytes);
                        for batch in iter.by_ref() {
                            let batch = batch.expect("every visible batch is whole and valid");
                            if batch.header().next_offset() > offset {
                                offset = batch.header().next_offset();
                            }
                        }
                        assert!(!iter.has_partial_tail());
                    }
                })
            })
            .collect();
        writer.join().unwrap();
        for r in readers {
            r.join().unwrap();
        }
    }
}

#[test]
fn segments_roll_by_age_on_the_broker_clock_not_on_batch_timestamps() {
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        let config = sluice_storage::LogConfig {
            segment_ms: 200,
            ..small_config(mode)
        };
        let log = open(dir.path(), &config);
        // Timestamps a day apart: a producer cannot force a roll per request.
        for day in 0..20 {
            log.append(&batch_of(day * 86_400_000, &[b"x"])).unwrap();
        }
        assert_eq!(log.segment_count(), 1, "{mode:?}");
        std::thread::sleep(std::time::Duration::from_millis(250));
        log.append(&batch_of(0, &[b"y"])).unwrap();
        assert_eq!(log.segment_count(), 2, "{mode:?}: an old segment rolls");
    }
}
