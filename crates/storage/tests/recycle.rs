//! Segment files that retention removes are recycled as later segments' files: the log reads
//! exactly what was appended, a crash never brings back a recycled file's old batches, and a
//! file a reader still holds is never overwritten.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on failure by design

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use common::*;
use sluice_storage::backend::{FaultBackend, OpKind};
use sluice_storage::{LogConfig, PartitionLog, RealBackend, WriteMode};

/// 64 KiB segments of about 2 KiB batches, keeping about two segments.
fn config(mode: WriteMode) -> LogConfig {
    LogConfig {
        retention_bytes: Some(100 * 1024),
        recycle_segments: true,
        ..small_config(mode)
    }
}

/// A batch of one record whose value names its offset, padded to about 2 KiB.
fn numbered(offset: i64) -> bytes::Bytes {
    let mut value = format!("value-{offset}-").into_bytes();
    value.resize(2000, b'.');
    batch_of(offset, &[&value])
}

fn append_numbered(log: &PartitionLog, count: usize) {
    for _ in 0..count {
        let next = log.log_end_offset();
        let info = log.append(&numbered(next)).unwrap();
        assert_eq!(info.base_offset, next);
    }
}

/// Every record from the log start to the end is the one appended at its offset.
fn assert_exactly_appended(log: &PartitionLog) {
    let records = records(log);
    let expected: Vec<i64> = (log.log_start_offset()..log.log_end_offset()).collect();
    let offsets: Vec<i64> = records.iter().map(|(o, _)| *o).collect();
    assert_eq!(offsets, expected);
    for (offset, value) in records {
        assert!(
            value.starts_with(format!("value-{offset}-").as_bytes()),
            "offset {offset} holds another record's value"
        );
    }
}

fn spare(dir: &Path, slot: usize) -> PathBuf {
    dir.join(format!("spare-{slot}.spare"))
}

fn active_log_file(log: &PartitionLog) -> PathBuf {
    let base = *log.segment_base_offsets().last().unwrap();
    log.dir().join(format!("{base:020}.log"))
}

/// Appends until retention has left a spare file; returns its inode.
fn make_spare(log: &PartitionLog) -> u64 {
    append_numbered(log, 200);
    let outcome = log.apply_retention(0).unwrap();
    assert!(outcome.deleted_segments > 0);
    let path = spare(log.dir(), 0);
    assert!(path.exists(), "retention left no spare");
    std::fs::metadata(&path).unwrap().ino()
}

/// Appends until the next roll has taken the spare in slot 0.
fn roll_onto_spare(log: &PartitionLog) {
    let path = spare(log.dir(), 0);
    for _ in 0..100 {
        if !path.exists() {
            return;
        }
        append_numbered(log, 1);
    }
    panic!("no roll took the spare");
}

#[test]
fn a_removed_segment_file_becomes_a_later_segment_and_reads_back_exactly() {
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        let config = config(mode);
        let log = open(dir.path(), &config);
        let inode = make_spare(&log);
        roll_onto_spare(&log);
        let active = std::fs::metadata(active_log_file(&log)).unwrap();
        assert_eq!(
            active.ino(),
            inode,
            "{mode:?}: the new segment is not the recycled file"
        );
        append_numbered(&log, 300);
        log.apply_retention(0).unwrap();
        append_numbered(&log, 100);
        assert_exactly_appended(&log);
        log.close().unwrap();
        drop(log);
        let log = open(dir.path(), &config);
        assert_exactly_appended(&log);
    }
}

#[test]
fn a_crash_in_a_recycled_segment_never_brings_back_its_old_batches() {
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        let config = config(mode);
        let log = open(dir.path(), &config);
        make_spare(&log);
        roll_onto_spare(&log);
        // A few batches: the recycled file still holds tens of KiB of older, valid batches past
        // them.
        append_numbered(&log, 3);
        log.flush().unwrap();
        let end = log.log_end_offset();
        drop(log); // a crash: no close, no clean marker
        let log = open(dir.path(), &config);
        assert_eq!(log.log_end_offset(), end, "{mode:?}");
        assert_exactly_appended(&log);
        append_numbered(&log, 50);
        assert_exactly_appended(&log);
    }
}

#[test]
fn a_spare_renamed_into_place_before_any_append_opens_as_an_empty_segment() {
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        let config = config(mode);
        let log = open(dir.path(), &config);
        make_spare(&log);
        let end = log.log_end_offset();
        let start = log.log_start_offset();
        drop(log);
        // What a crash between a roll's rename and its first write leaves: a last segment whose
        // file holds only batches older than its base.
        std::fs::rename(
            spare(dir.path(), 0),
            dir.path().join(format!("{end:020}.log")),
        )
        .unwrap();
        let log = open(dir.path(), &config);
        assert_eq!(log.log_end_offset(), end, "{mode:?}");
        assert_eq!(log.log_start_offset(), start);
        assert_exactly_appended(&log);
        append_numbered(&log, 20);
        assert_exactly_appended(&log);
    }
}

#[test]
fn a_segment_a_reader_still_holds_is_unlinked_not_recycled() {
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        let config = config(mode);
        let log = open(dir.path(), &config);
        append_numbered(&log, 200);
        let bases = log.segment_base_offsets();
        // A fetch in flight from the oldest segment, and one from the next.
        let oldest = log.read(bases[0], 1 << 20).unwrap();
        let next = log.read(bases[1], 1 << 20).unwrap();
        let (oldest_bytes, next_bytes) = (
            oldest.read_to_bytes().unwrap(),
            next.read_to_bytes().unwrap(),
        );
        let held = [
            oldest.file.metadata().unwrap().ino(),
            next.file.metadata().unwrap().ino(),
        ];
        let outcome = log.apply_retention(0).unwrap();
        for slot in 0..2 {
            if let Ok(meta) = std::fs::metadata(spare(dir.path(), slot)) {
                assert!(
                    !held.contains(&meta.ino()),
                    "{mode:?}: a held file became a spare"
                );
            }
        }
        assert!(
            outcome.deleted_segments >= 2,
            "{mode:?}: retention kept the held segments"
        );
        // Rolls that would overwrite a recycled file, then the held slices again.
        append_numbered(&log, 200);
        log.apply_retention(0).unwrap();
        append_numbered(&log, 200);
        assert_eq!(oldest.read_to_bytes().unwrap(), oldest_bytes, "{mode:?}");
        assert_eq!(next.read_to_bytes().unwrap(), next_bytes, "{mode:?}");
        assert_exactly_appended(&log);
    }
}

#[test]
fn without_recycling_retention_unlinks_and_open_removes_old_spares() {
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path(), &config(mode));
        make_spare(&log);
        log.close().unwrap();
        drop(log);
        let off = LogConfig {
            recycle_segments: false,
            ..config(mode)
        };
        let log = open(dir.path(), &off);
        assert!(
            !spare(dir.path(), 0).exists(),
            "{mode:?}: a spare outlived recycling"
        );
        append_numbered(&log, 200);
        assert!(log.apply_retention(0).unwrap().deleted_segments > 0);
        assert!(
            !spare(dir.path(), 0).exists(),
            "{mode:?}: retention kept a spare"
        );
        assert!(!spare(dir.path(), 1).exists());
        assert_exactly_appended(&log);
    }
}

#[test]
fn a_spare_no_roll_takes_is_deleted_after_ten_minutes() {
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path(), &config(mode));
        make_spare(&log);
        let now_ms = i64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis(),
        )
        .unwrap();
        log.apply_retention(now_ms + 60_000).unwrap();
        assert!(
            spare(dir.path(), 0).exists(),
            "{mode:?}: deleted a fresh spare"
        );
        log.apply_retention(now_ms + 11 * 60_000).unwrap();
        assert!(
            !spare(dir.path(), 0).exists(),
            "{mode:?}: an idle spare stayed"
        );
        assert!(!spare(dir.path(), 1).exists());
        append_numbered(&log, 100);
        assert_exactly_appended(&log);
    }
}

/// A batch's base offset is written after the rest of it. Written first, a crash between the two
/// writes (the pwrite writer makes two; a kill can also stop a copy into a mapping halfway) left
/// the new base offset in front of the old batch a recycled file held at that position, whole
/// and with a valid CRC (which does not cover the base offset): recovery took the old batch for
/// data at a live offset. The crash-at-every-operation suite found it; here the second write of
/// the batch fails instead, which leaves the file as that crash does.
#[test]
fn a_write_torn_between_its_parts_never_revives_an_old_batch_of_a_recycled_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(WriteMode::Write);
    let faults = FaultBackend::new(RealBackend::shared());
    let log = PartitionLog::open_with_backend(dir.path(), config.clone(), faults.shared()).unwrap();
    make_spare(&log);
    // Same-sized batches, so the spare holds an old batch exactly where the next segment's
    // first batch goes. Fill the active segment up to the batch that rolls onto the spare.
    let size = numbered(0).len() as u64;
    loop {
        let active_base = *log.segment_base_offsets().last().unwrap();
        let active_bytes = (log.log_end_offset() - active_base) as u64 * size;
        if active_bytes + size > config.segment_bytes {
            break;
        }
        append_numbered(&log, 1);
    }
    // The roll writes the recovery point (one write), then the batch goes in as two writes.
    faults.fail_nth(OpKind::Write, 2, 5); // EIO
    let leo = log.log_end_offset();
    assert!(log.append(&numbered(leo)).is_err());
    assert_eq!(faults.injected(), 1);
    assert!(!spare(dir.path(), 0).exists(), "the roll took the spare");
    drop(log);
    let log = open(dir.path(), &config);
    assert_eq!(log.log_end_offset(), leo, "the torn batch is not data");
    assert_exactly_appended(&log);
}
