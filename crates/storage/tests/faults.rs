//! Every kind of file operation failing, one at a time, at each of its first occurrences in a
//! workload, with EIO (a broken disk) and ENOSPC (a full one), through the fault injector. For
//! each failure the log keeps its promises: the error is typed and keeps its errno; a failed
//! pwrite is sticky with EIO and not with ENOSPC; a failed flush poisons; reads below the high
//! watermark keep returning data (never an empty slice); and after a restart every appended
//! batch is there, byte for byte.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code

mod common;

use std::io;

use bytes::Bytes;
use common::*;
use sluice_storage::backend::{CrashBackend, FaultBackend, OpKind};
use sluice_storage::{LogConfig, PartitionLog, RealBackend, StorageError, WriteMode};

const EIO: i32 = 5;
const ENOSPC: i32 = 28;

fn config(mode: WriteMode) -> LogConfig {
    LogConfig {
        segment_bytes: 2048,
        index_interval_bytes: 128,
        max_index_bytes: 4096,
        retention_bytes: Some(4096),
        max_message_bytes: 2048,
        write_mode: mode,
        recycle_segments: true,
        ..small_config(mode)
    }
}

/// The errno at the bottom of an error, through `Poisoned`'s source.
fn errno(error: &StorageError) -> Option<i32> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            return io.raw_os_error();
        }
        source = e.source();
    }
    None
}

/// What the workload's appends were told.
#[derive(Debug, Default)]
struct Appends {
    /// Returned Ok, by offset.
    acknowledged: Vec<(i64, Bytes)>,
    /// Returned an error: such a batch may still have landed (whole, at the offset it would
    /// have had), as a write that errored may have in any log.
    failed: Vec<Bytes>,
}

/// Runs the workload against a log on `faults`, checking after every call.
fn workload(log: &PartitionLog, kind: OpKind, injected: i32, mode: WriteMode) -> Appends {
    let mut rng = rng(7);
    let mut appends = Appends::default();
    for i in 0..30 {
        let batch = random_batch(&mut rng, i, 3, 120);
        let poisoned_before = log.is_poisoned();
        match log.append(&batch) {
            Ok(info) => appends.acknowledged.push((info.base_offset, batch)),
            Err(error) => {
                appends.failed.push(batch);
                let why = format!("{kind:?}/{injected} append {i}: {error:?}");
                match &error {
                    StorageError::Poisoned { .. } => {}
                    StorageError::DiskFull { .. } => assert_eq!(injected, ENOSPC, "{why}"),
                    StorageError::Io { .. } => assert_eq!(injected, EIO, "{why}"),
                    _ => panic!("untyped failure: {why}"),
                }
                assert_eq!(errno(&error), Some(injected), "the errno is kept: {why}");
                if kind == OpKind::Write && mode == WriteMode::Write && !poisoned_before {
                    // The copy itself failed: sticky with EIO, not with a full disk.
                    assert_eq!(log.is_poisoned(), injected == EIO, "{why}");
                }
            }
        }
        if i % 4 == 3 {
            let target = log.log_end_offset();
            match log.flush_to(target) {
                Ok(()) => assert!(log.flushed_offset() >= target),
                Err(error) => {
                    assert!(matches!(error, StorageError::Poisoned { .. }), "{error:?}");
                    assert!(log.is_poisoned(), "a failed flush poisons");
                    assert!(log.flushed_offset() < target, "nothing unflushed counts");
                }
            }
        }
        if i % 10 == 9 {
            // Retention may fail (its checkpoint, a removal); it loses nothing appended.
            let _ = log.apply_retention(0);
        }
        assert_reads_below_the_high_watermark(log, kind);
    }
    appends
}

/// Every offset from the log start to the high watermark reads as a non-empty slice holding it
/// (a failed read is allowed only when reads are what fails).
fn assert_reads_below_the_high_watermark(log: &PartitionLog, kind: OpKind) {
    for offset in log.log_start_offset()..log.high_watermark() {
        match log.read(offset, 1 << 20) {
            Ok(slice) => assert!(
                slice.len > 0 && slice.first_offset <= offset,
                "offset {offset} below the high watermark reads as {slice:?}"
            ),
            Err(error) => assert_eq!(kind, OpKind::Read, "offset {offset}: {error:?}"),
        }
    }
}

fn run(mode: WriteMode, kind: OpKind, nth: u64, injected: i32) {
    let dir = scratch();
    let config = config(mode);
    let faults = FaultBackend::new(RealBackend::shared());
    faults.fail_nth(kind, nth, injected);
    let log = match PartitionLog::open_with_backend(dir.path(), config.clone(), faults.shared()) {
        Ok(log) => log,
        Err(error) => {
            // Failing to open is allowed, with the errno kept; a later open must work.
            assert_eq!(errno(&error), Some(injected), "{kind:?}: {error:?}");
            PartitionLog::open_with_backend(dir.path(), config.clone(), faults.shared()).unwrap()
        }
    };
    let appends = workload(&log, kind, injected, mode);
    let _ = log.close();
    drop(log);
    // A restart (no crash: the page cache keeps every write) finds every appended batch.
    let log = PartitionLog::open(dir.path(), config)
        .unwrap_or_else(|e| panic!("{kind:?}#{nth}/{injected}: reopen: {e}"));
    let stored = all_batches(&log);
    let start = log.log_start_offset();
    let why = format!("{kind:?}#{nth}/{injected}");
    let kept: Vec<_> = appends
        .acknowledged
        .iter()
        .filter(|(base, _)| *base >= start)
        .collect();
    assert!(
        stored.len() >= kept.len(),
        "{why}: acknowledged batches lost"
    );
    for (got, (base, sent)) in stored.iter().zip(&kept) {
        assert_eq!(&got[8..], &sent[8..], "{why}: batch {base} differs");
    }
    for extra in &stored[kept.len()..] {
        assert!(
            appends.failed.iter().any(|f| f[8..] == extra[8..]),
            "{why}: a batch no append sent"
        );
    }
}

const KINDS: [OpKind; 14] = [
    OpKind::Open,
    OpKind::ListDir,
    OpKind::Stat,
    OpKind::Rename,
    OpKind::Remove,
    OpKind::SyncDir,
    OpKind::Read,
    OpKind::Write,
    OpKind::SetLen,
    OpKind::Allocate,
    OpKind::SyncData,
    OpKind::SyncAll,
    OpKind::MapMut,
    OpKind::Flush,
];

fn every_kind_fails(mode: WriteMode) {
    for kind in KINDS {
        for injected in [EIO, ENOSPC] {
            for nth in 0..6 {
                run(mode, kind, nth, injected);
            }
        }
    }
}

#[test]
fn any_single_failure_keeps_every_promise_with_the_mmap_writer() {
    every_kind_fails(WriteMode::Mmap);
}

#[test]
fn any_single_failure_keeps_every_promise_with_the_pwrite_writer() {
    every_kind_fails(WriteMode::Write);
}

/// The recovery point a roll writes may fail (it only warns); the new segment's name must be
/// durable before data flushed into it counts, whether or not that checkpoint got written.
#[test]
fn data_flushed_into_a_new_segment_survives_a_power_loss_when_the_rolls_checkpoint_failed() {
    for mode in MODES {
        let root = scratch();
        let crash = CrashBackend::new(root.path()).unwrap();
        let faults = FaultBackend::new(crash.shared());
        let dir = root.path().join("log");
        let config = LogConfig {
            retention_bytes: None,
            ..config(mode)
        };
        let log = PartitionLog::open_with_backend(&dir, config.clone(), faults.shared()).unwrap();
        let mut rng = rng(3);
        // Every checkpoint from now on fails to be renamed into place (nothing else renames
        // here: no retention, so no spares).
        faults.fail_from(OpKind::Rename, 0, EIO);
        let mut appended = Vec::new();
        while log.segment_count() < 3 {
            let batch = random_batch(&mut rng, 0, 3, 120);
            appended.push(batch.clone());
            log.append(&batch).unwrap();
        }
        log.flush().unwrap();
        let image = scratch();
        crash.write_power_loss_image(image.path()).unwrap();
        drop(log);
        let log = PartitionLog::open(image.path().join("log"), config).unwrap();
        let stored = all_batches(&log);
        assert_eq!(
            stored.len(),
            appended.len(),
            "{mode:?}: flushed batches lost"
        );
        for (got, sent) in stored.iter().zip(&appended) {
            assert_eq!(&got[8..], &sent[8..]);
        }
    }
}
