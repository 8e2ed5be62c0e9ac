//! Sealed segments hold no descriptor of their own: their files are opened on first read behind
//! a bounded cache. A log of hundreds of segments keeps at most the cache's capacity of them open
//! (plus its active segment), reads every offset back byte for byte through a cache of two, serves
//! concurrent readers across segments, and retention still only recycles a file no reader holds,
//! whichever opening of it the reader got.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use common::*;
use sluice_storage::{FileCache, LogConfig, PartitionLog, WriteMode};

/// 1 KiB segments of about 300-byte batches: three batches a segment.
fn config(mode: WriteMode, cache: &FileCache) -> LogConfig {
    LogConfig {
        segment_bytes: 1024,
        index_interval_bytes: 256,
        max_index_bytes: 4096,
        max_message_bytes: 1024,
        file_cache: cache.clone(),
        ..small_config(mode)
    }
}

/// A batch of one record whose value names its offset, about 300 bytes.
fn numbered(offset: i64) -> Bytes {
    let mut value = format!("value-{offset}-").into_bytes();
    value.resize(240, b'.');
    batch_of(offset, &[&value])
}

/// Appends until the log has `segments` segments; returns every batch as stored, by offset.
fn fill(log: &PartitionLog, segments: usize) -> Vec<Bytes> {
    while log.segment_count() < segments {
        let offset = log.log_end_offset();
        log.append(&numbered(offset)).unwrap();
    }
    all_batches(log)
}

/// Descriptors of this process open on files in `dir` (each test has its own directory, so
/// tests running beside it do not count).
fn open_fds_in(dir: &Path) -> usize {
    let dir = dir.canonicalize().unwrap();
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
        .filter(|target| target.starts_with(&dir))
        .count()
}

/// Reads the batch at every offset on its own, and all of them in one pass, against `expected`.
fn assert_reads_back(log: &PartitionLog, expected: &[Bytes]) {
    assert_eq!(&all_batches(log), expected);
    for (offset, batch) in expected.iter().enumerate() {
        let slice = log.read(offset as i64, 1).unwrap();
        assert_eq!(&slice.read_to_bytes().unwrap(), batch, "offset {offset}");
    }
}

#[test]
fn a_log_of_200_segments_holds_at_most_the_cache_capacity_open() {
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        let cache = FileCache::new(2);
        let config = config(mode, &cache);
        let log = open(dir.path(), &config);
        let batches = fill(&log, 200);
        assert!(
            open_fds_in(dir.path()) <= 3,
            "{mode:?}: {} descriptors while writing",
            open_fds_in(dir.path())
        );
        log.close().unwrap();
        drop(log);

        let log = open(dir.path(), &config);
        assert_eq!(log.segment_count(), 200);
        assert_eq!(
            open_fds_in(dir.path()),
            1,
            "{mode:?}: a clean open holds only the active segment"
        );
        let misses = cache.misses();
        assert_reads_back(&log, &batches);
        assert!(
            cache.misses() - misses >= 199,
            "{mode:?}: reads reopened files"
        );
        assert!(cache.open_files() <= 2);
        assert!(
            open_fds_in(dir.path()) <= 3,
            "{mode:?}: {} descriptors after reading every segment",
            open_fds_in(dir.path())
        );
        drop(log);
        assert_eq!(cache.open_files(), 0, "a dropped log leaves nothing cached");
        assert_eq!(open_fds_in(dir.path()), 0);
    }
}

#[test]
fn a_crash_recovery_of_many_segments_reads_back_through_a_small_cache() {
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        let cache = FileCache::new(2);
        let config = config(mode, &cache);
        let log = open(dir.path(), &config);
        let batches = fill(&log, 50);
        log.flush().unwrap();
        drop(log); // no close: the next open recovers from the recovery point
        let log = open(dir.path(), &config);
        assert!(open_fds_in(dir.path()) <= 3, "{mode:?}");
        assert_reads_back(&log, &batches);
        assert!(open_fds_in(dir.path()) <= 3, "{mode:?}");
    }
}

#[test]
fn concurrent_readers_across_segments_through_a_cache_of_two() {
    let dir = tempfile::tempdir().unwrap();
    let cache = FileCache::new(2);
    let log = Arc::new(open(dir.path(), &config(WriteMode::Mmap, &cache)));
    let batches = Arc::new(fill(&log, 100));
    let readers: Vec<_> = (0..4u64)
        .map(|seed| {
            let (log, batches) = (log.clone(), batches.clone());
            std::thread::spawn(move || {
                use rand::Rng;
                let mut rng = rng(seed);
                for _ in 0..2000 {
                    let offset = rng.random_range(0..batches.len());
                    let slice = log.read(offset as i64, 1).unwrap();
                    assert_eq!(slice.read_to_bytes().unwrap(), batches[offset]);
                }
            })
        })
        .collect();
    // A writer rolling new segments meanwhile.
    for _ in 0..300 {
        let offset = log.log_end_offset();
        log.append(&numbered(offset)).unwrap();
    }
    for reader in readers {
        reader.join().unwrap();
    }
    assert!(cache.open_files() <= 2);
    assert!(open_fds_in(dir.path()) <= 3);
}

#[test]
fn retention_closes_the_files_of_the_segments_it_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let cache = FileCache::new(100);
    let config = LogConfig {
        retention_bytes: Some(10 * 1024),
        ..config(WriteMode::Mmap, &cache)
    };
    let log = open(dir.path(), &config);
    let batches = fill(&log, 50);
    assert_reads_back(&log, &batches); // every sealed segment's file is cached now
    assert_eq!(cache.open_files(), 49);
    let outcome = log.apply_retention(0).unwrap();
    assert!(outcome.deleted_segments > 30);
    let sealed = log.segment_count() - 1;
    assert_eq!(cache.open_files(), sealed);
    // The cached files of the kept segments and the active one; none of a deleted segment.
    assert_eq!(open_fds_in(dir.path()), sealed + 1);
}

#[test]
fn a_slice_of_an_evicted_opening_keeps_its_segment_from_being_recycled() {
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        let cache = FileCache::new(2);
        let config = LogConfig {
            retention_bytes: Some(20 * 1024),
            recycle_segments: true,
            ..config(mode, &cache)
        };
        let log = open(dir.path(), &config);
        let batches = fill(&log, 60);
        // A fetch in flight from the oldest segment; then reads of other segments evict its
        // file from the cache, and a second read of it opens the file again.
        let held = log.read(0, 1 << 20).unwrap();
        let held_bytes = held.read_to_bytes().unwrap();
        let held_inode = held.file.metadata().unwrap().ino();
        for offset in (3..batches.len()).step_by(3) {
            log.read(offset as i64, 1).unwrap();
        }
        let again = log.read(0, 1).unwrap();
        assert!(!Arc::ptr_eq(&again.file, &held.file), "a second opening");
        drop(again);
        let outcome = log.apply_retention(0).unwrap();
        assert!(outcome.deleted_segments > 0);
        for slot in 0..2 {
            if let Ok(meta) = std::fs::metadata(dir.path().join(format!("spare-{slot}.spare"))) {
                assert_ne!(
                    meta.ino(),
                    held_inode,
                    "{mode:?}: a held file became a spare"
                );
            }
        }
        // Segments no reader held were recycled all the same.
        assert!(
            dir.path().join("spare-0.spare").exists(),
            "{mode:?}: nothing was recycled"
        );
        for _ in 0..200 {
            let offset = log.log_end_offset();
            log.append(&numbered(offset)).unwrap();
        }
        log.apply_retention(0).unwrap();
        assert_eq!(held.read_to_bytes().unwrap(), held_bytes, "{mode:?}");
        let records = records(&log);
        let offsets: Vec<i64> = records.iter().map(|(o, _)| *o).collect();
        let expected: Vec<i64> = (log.log_start_offset()..log.log_end_offset()).collect();
        assert_eq!(offsets, expected, "{mode:?}");
        for (offset, value) in records {
            assert!(value.starts_with(format!("value-{offset}-").as_bytes()));
        }
    }
}
