//! Retention deletes whole closed segments and moves the log start offset.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on failure by design

mod common;

use common::*;
use sluice_storage::{LogConfig, StorageError};

#[test]
fn retention_by_bytes_deletes_oldest_segments_and_advances_the_start() {
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig {
            retention_bytes: Some(100 * 1024),
            ..small_config(mode)
        };
        let log = open(dir.path(), &config);
        let mut rng = rng(21);
        for i in 0..1500 {
            log.append(&random_batch(&mut rng, i, 4, 200)).unwrap();
        }
        let before = log.segment_base_offsets();
        let size_before = log.size_bytes();
        let outcome = log.apply_retention(0).unwrap();
        assert!(outcome.deleted_segments > 0);
        let after = log.segment_base_offsets();
        assert_eq!(after, before[outcome.deleted_segments..]);
        assert_eq!(log.log_start_offset(), after[0]);
        assert!(log.size_bytes() >= 100 * 1024, "never below the limit");
        assert_eq!(log.size_bytes(), size_before - outcome.deleted_bytes);
        let err = log.read(after[0] - 1, 100).unwrap_err();
        assert!(matches!(err, StorageError::OffsetOutOfRange { .. }));
        assert_eq!(log.read(after[0], 100).unwrap().first_offset, after[0]);
        assert!(!dir.path().join(format!("{:020}.log", before[0])).exists());
        // The start survives a restart, clean or not.
        drop(log);
        let log = open(dir.path(), &config);
        assert_eq!(log.log_start_offset(), after[0]);
    }
}

#[test]
fn retention_by_age_never_deletes_the_active_segment() {
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig {
            retention_ms: Some(1000),
            ..small_config(mode)
        };
        let log = open(dir.path(), &config);
        let mut rng = rng(22);
        for i in 0..600 {
            log.append(&random_batch(&mut rng, i, 4, 200)).unwrap();
        }
        let segments = log.segment_count();
        assert!(segments > 2);
        let outcome = log.apply_retention(1_000_000).unwrap();
        assert_eq!(outcome.deleted_segments, segments - 1);
        assert_eq!(log.segment_count(), 1);
        let leo = log.log_end_offset();
        assert_eq!(log.append(&batch_of(0, &[b"x"])).unwrap().base_offset, leo);
        // Nothing old enough: nothing deleted.
        assert_eq!(log.apply_retention(0).unwrap().deleted_segments, 0);
    }
}

#[test]
fn a_reader_keeps_a_deleted_segment_readable() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        retention_ms: Some(1),
        ..small_config(sluice_storage::WriteMode::Mmap)
    };
    let log = open(dir.path(), &config);
    let mut rng = rng(23);
    for i in 0..600 {
        log.append(&random_batch(&mut rng, i, 4, 200)).unwrap();
    }
    let slice = log.read(0, 4096).unwrap();
    log.apply_retention(1_000_000).unwrap();
    let bytes = slice.read_to_bytes().unwrap();
    assert_eq!(
        sluice_record::BatchIter::new(&bytes)
            .next()
            .unwrap()
            .unwrap()
            .header()
            .base_offset,
        0
    );
}
