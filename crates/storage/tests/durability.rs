//! Flush policies, group commit, poisoning after a failed sync, and full disks.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on failure by design

mod common;

use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use common::*;
use sluice_storage::writer::DefaultWriterFactory;
use sluice_storage::{
    FileHandle, LogConfig, PartitionLog, RangeSync, SegmentWriter, StorageError, WriteMode,
    WriterFactory,
};

/// A writer factory that wraps the real one and fails on command, counting syncs.
#[derive(Debug, Default)]
struct Faults {
    fail_sync: AtomicBool,
    fail_write: AtomicBool,
    fail_open: AtomicBool,
    /// Writes fail with EIO (not a full disk).
    fail_write_eio: AtomicBool,
    /// The writer's seal (the cut to the data's length) fails with EIO.
    fail_seal: AtomicBool,
    syncs: AtomicUsize,
}

fn injected_eio() -> io::Error {
    io::Error::from_raw_os_error(5) // EIO
}

#[derive(Debug)]
struct FaultyFactory {
    inner: DefaultWriterFactory,
    faults: Arc<Faults>,
}

#[derive(Debug)]
struct FaultyWriter {
    inner: Box<dyn SegmentWriter>,
    faults: Arc<Faults>,
}

#[derive(Debug)]
struct FaultySync {
    inner: Arc<dyn RangeSync>,
    faults: Arc<Faults>,
}

fn no_space() -> io::Error {
    io::Error::from_raw_os_error(28) // ENOSPC
}

impl WriterFactory for FaultyFactory {
    fn open(
        &self,
        file: Arc<dyn FileHandle>,
        path: &Path,
        position: u64,
        capacity: u64,
    ) -> io::Result<Box<dyn SegmentWriter>> {
        if self.faults.fail_open.load(Ordering::SeqCst) {
            return Err(no_space());
        }
        let inner = self.inner.open(file, path, position, capacity)?;
        Ok(Box::new(FaultyWriter {
            inner,
            faults: self.faults.clone(),
        }))
    }
}

impl SegmentWriter for FaultyWriter {
    fn write(&mut self, position: u64, parts: &[&[u8]]) -> io::Result<()> {
        if self.faults.fail_write.load(Ordering::SeqCst) {
            return Err(no_space());
        }
        if self.faults.fail_write_eio.load(Ordering::SeqCst) {
            return Err(injected_eio());
        }
        self.inner.write(position, parts)
    }
    fn syncer(&self) -> Arc<dyn RangeSync> {
        Arc::new(FaultySync {
            inner: self.inner.syncer(),
            faults: self.faults.clone(),
        })
    }
    fn seal(self: Box<Self>, len: u64) -> io::Result<()> {
        if self.faults.fail_seal.load(Ordering::SeqCst) {
            return Err(injected_eio());
        }
        self.inner.seal(len)
    }
}

impl RangeSync for FaultySync {
    fn sync(&self, start: u64, end: u64) -> io::Result<()> {
        self.faults.syncs.fetch_add(1, Ordering::SeqCst);
        if self.faults.fail_sync.load(Ordering::SeqCst) {
            return Err(injected_eio());
        }
        self.inner.sync(start, end)
    }
}

fn faulty_log(dir: &Path, config: LogConfig) -> (PartitionLog, Arc<Faults>) {
    let faults = Arc::new(Faults::default());
    let factory = Arc::new(FaultyFactory {
        inner: DefaultWriterFactory(config.write_mode),
        faults: faults.clone(),
    });
    (
        PartitionLog::open_with_writer(dir, config, factory).unwrap(),
        faults,
    )
}

#[test]
fn flush_makes_everything_durable_and_reports_the_flushed_offset() {
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path(), &small_config(mode));
        log.append(&batch_of(1, &[b"a", b"b", b"c"])).unwrap();
        assert_eq!(log.flushed_offset(), 0);
        assert_eq!(log.flush().unwrap(), 3);
        assert_eq!(log.flushed_offset(), 3);
    }
}

#[test]
fn concurrent_flushes_share_syncs() {
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        let (log, faults) = faulty_log(dir.path(), small_config(mode));
        let log = Arc::new(log);
        let syncs_before = faults.syncs.load(Ordering::SeqCst);
        let threads = 8;
        let rounds = 50;
        let barrier = Arc::new(Barrier::new(threads));
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (log, barrier) = (log.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    for i in 0..rounds {
                        let info = log
                            .append(&batch_of(i, &[format!("{t}-{i}").as_bytes()]))
                            .unwrap();
                        log.flush_to(info.last_offset + 1).unwrap();
                        assert!(log.flushed_offset() > info.last_offset);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let syncs = faults.syncs.load(Ordering::SeqCst) - syncs_before;
        let appends = threads * rounds as usize;
        assert!(
            syncs <= appends,
            "never more syncs than acks=all appends: {syncs}"
        );
        println!("{mode:?}: {appends} durable appends from {threads} threads took {syncs} syncs");
        assert_eq!(log.flushed_offset(), appends as i64);
    }
}

#[test]
fn message_count_policy_asks_for_a_flush() {
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig {
            flush_messages: Some(5),
            ..small_config(mode)
        };
        let log = open(dir.path(), &config);
        assert!(
            !log.append(&batch_of(1, &[b"1", b"2", b"3"]))
                .unwrap()
                .flush_due
        );
        let info = log.append(&batch_of(1, &[b"4", b"5"])).unwrap();
        assert!(
            info.flush_due,
            "the fifth unflushed message asks for a flush"
        );
        assert_eq!(
            log.flushed_offset(),
            0,
            "the append itself never blocks on a sync"
        );
        log.flush().unwrap();
        assert_eq!(log.flushed_offset(), 5);
        assert!(!log.append(&batch_of(1, &[b"6"])).unwrap().flush_due);
    }
}

#[test]
fn a_segment_filling_without_flushes_asks_for_one_before_a_roll_must_sync_it_all() {
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        // No flush policy at all: only the bytes waiting for the next roll's sync ask.
        let config = small_config(mode);
        let ahead = config.sync_ahead_bytes();
        assert!(ahead < config.segment_bytes);
        let log = open(dir.path(), &config);
        let value = vec![b'x'; 1000];
        let mut written = 0;
        let mut asked_at = None;
        while written < config.segment_bytes / 2 {
            let info = log.append(&batch_of(1, &[&value])).unwrap();
            written = log.size_bytes();
            if info.flush_due {
                asked_at = Some(written);
                break;
            }
        }
        let asked_at = asked_at.expect("no flush asked for within half a segment");
        assert!(
            asked_at >= ahead,
            "{mode:?}: asked at {asked_at} of {ahead}"
        );
        assert!(
            asked_at < ahead + 2000,
            "{mode:?}: asked late, at {asked_at}"
        );
        log.flush().unwrap();
        assert!(!log.append(&batch_of(1, &[&value])).unwrap().flush_due);
    }
}

#[test]
fn interval_policy_flushes_when_due() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        flush_interval_ms: Some(50),
        ..small_config(WriteMode::Mmap)
    };
    let log = open(dir.path(), &config);
    log.append(&batch_of(1, &[b"x"])).unwrap();
    assert!(!log.flush_if_due(Instant::now()).unwrap());
    assert!(
        log.flush_if_due(Instant::now() + Duration::from_millis(60))
            .unwrap()
    );
    assert_eq!(log.flushed_offset(), 1);
    assert!(
        !log.flush_if_due(Instant::now() + Duration::from_millis(120))
            .unwrap(),
        "nothing left to flush"
    );
}

#[test]
fn a_failed_flush_poisons_the_log_until_it_is_reopened() {
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        let (log, faults) = faulty_log(dir.path(), small_config(mode));
        log.append(&batch_of(1, &[b"durable"])).unwrap();
        log.flush().unwrap();
        log.append(&batch_of(2, &[b"maybe lost"])).unwrap();
        faults.fail_sync.store(true, Ordering::SeqCst);
        assert!(log.flush().is_err());
        assert!(log.is_poisoned());
        assert_eq!(
            log.flushed_offset(),
            1,
            "nothing unflushed is reported durable"
        );
        assert!(matches!(
            log.append(&batch_of(3, &[b"no"])),
            Err(StorageError::Poisoned { .. })
        ));
        assert!(matches!(
            log.flush_to(2),
            Err(StorageError::Poisoned { .. })
        ));
        // What was flushed before the failure is still confirmed (an acks=all request whose
        // offsets were durable was once told it failed).
        log.flush_to(1).unwrap();
        // Reads keep working; a reopen recovers and accepts writes again.
        assert_eq!(log.read(0, 1 << 20).unwrap().first_offset, 0);
        log.close().unwrap();
        drop(log);
        let log = open(dir.path(), &small_config(mode));
        assert!(log.log_end_offset() >= 1);
        log.append(&batch_of(4, &[b"again"])).unwrap();
    }
}

#[test]
fn a_full_disk_is_a_typed_error_and_loses_nothing() {
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        let (log, faults) = faulty_log(dir.path(), small_config(mode));
        let mut rng = rng(5);
        let first = random_batch(&mut rng, 1, 3, 50);
        log.append(&first).unwrap();
        faults.fail_write.store(true, Ordering::SeqCst);
        let err = log.append(&batch_of(2, &[b"x"])).unwrap_err();
        assert!(matches!(err, StorageError::DiskFull { .. }), "{err:?}");
        assert_eq!(
            log.log_end_offset(),
            sluice_record::validate_batch(&first).unwrap().records_count as i64,
            "the failed append left nothing behind"
        );
        faults.fail_write.store(false, Ordering::SeqCst);
        // A roll that cannot preallocate its new segment fails without touching the log.
        faults.fail_open.store(true, Ordering::SeqCst);
        let leo = log.log_end_offset();
        let mut failed = None;
        for i in 0..200 {
            match log.append(&random_batch(&mut rng, i, 3, 500)) {
                Ok(_) => {}
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        assert!(
            matches!(failed, Some(StorageError::DiskFull { .. })),
            "{failed:?}"
        );
        assert!(log.log_end_offset() > leo);
        faults.fail_open.store(false, Ordering::SeqCst);
        let batches_before = all_batches(&log);
        let info = log
            .append(&batch_of(9, &[b"after space was freed"]))
            .unwrap();
        assert_eq!(info.base_offset, log.log_end_offset() - 1);
        assert_eq!(
            &all_batches(&log)[..batches_before.len()],
            &batches_before[..]
        );
        assert!(!log.is_poisoned());
    }
}

/// Appends random batches until one fails, returning the acknowledged ones and the failure.
fn append_until_failure(log: &PartitionLog, seed: u64) -> (Vec<bytes::Bytes>, StorageError) {
    let mut rng = rng(seed);
    let mut acknowledged = Vec::new();
    for i in 0..10_000 {
        let batch = random_batch(&mut rng, i, 4, 400);
        match log.append(&batch) {
            Ok(_) => acknowledged.push(batch),
            Err(error) => return (acknowledged, error),
        }
    }
    panic!("no append failed");
}

/// Every offset below the high watermark reads back as the batch acknowledged for it.
fn assert_acknowledged_readable(log: &PartitionLog, acknowledged: &[bytes::Bytes]) {
    let stored = all_batches(log);
    assert_eq!(stored.len(), acknowledged.len());
    for (got, sent) in stored.iter().zip(acknowledged) {
        assert_eq!(&got[8..], &sent[8..]);
    }
    for offset in 0..log.high_watermark() {
        let slice = log.read(offset, 1 << 20).unwrap();
        assert!(
            slice.len > 0 && slice.first_offset <= offset,
            "offset {offset} reads as {slice:?}"
        );
    }
}

fn assert_refuses_writes_with_eio(log: &PartitionLog, error: &StorageError) {
    let StorageError::Poisoned { source, .. } = error else {
        panic!("not a sticky failure: {error:?}");
    };
    let io = std::error::Error::source(source.as_ref())
        .and_then(|e| e.downcast_ref::<io::Error>())
        .unwrap();
    assert_eq!(io.raw_os_error(), Some(5), "the errno is kept");
    let again = log.append(&batch_of(1, &[b"refused"])).unwrap_err();
    assert!(matches!(again, StorageError::Poisoned { .. }), "{again:?}");
}

#[test]
fn a_failed_sync_while_a_roll_seals_keeps_every_acknowledged_offset_readable() {
    for fault in ["sync", "cut"] {
        for mode in MODES {
            let dir = tempfile::tempdir().unwrap();
            let (log, faults) = faulty_log(dir.path(), small_config(mode));
            // Nothing but a roll's seal syncs here (no flush is asked for).
            match fault {
                "sync" => faults.fail_sync.store(true, Ordering::SeqCst),
                _ => faults.fail_seal.store(true, Ordering::SeqCst),
            }
            let (acknowledged, error) = append_until_failure(&log, 77);
            assert!(log.is_poisoned(), "{fault} {mode:?}");
            assert_refuses_writes_with_eio(&log, &error);
            assert_eq!(log.segment_count(), 1, "the failed roll added no segment");
            assert_acknowledged_readable(&log, &acknowledged);
            // Closing a poisoned log fails nothing more and leaves no clean marker.
            log.close().unwrap();
            assert_acknowledged_readable(&log, &acknowledged);
            drop(log);
            let log = open(dir.path(), &small_config(mode));
            assert_acknowledged_readable(&log, &acknowledged);
            log.append(&batch_of(9, &[b"after reopening"])).unwrap();
        }
    }
}

#[test]
fn a_failed_write_is_sticky_but_a_full_disk_is_not() {
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        let (log, faults) = faulty_log(dir.path(), small_config(mode));
        log.append(&batch_of(1, &[b"kept"])).unwrap();
        faults.fail_write.store(true, Ordering::SeqCst);
        let full = log.append(&batch_of(2, &[b"no room"])).unwrap_err();
        assert!(matches!(full, StorageError::DiskFull { .. }), "{full:?}");
        assert!(!log.is_poisoned());
        faults.fail_write.store(false, Ordering::SeqCst);
        log.append(&batch_of(3, &[b"room again"])).unwrap();
        faults.fail_write_eio.store(true, Ordering::SeqCst);
        let error = log.append(&batch_of(4, &[b"broken"])).unwrap_err();
        faults.fail_write_eio.store(false, Ordering::SeqCst);
        assert_refuses_writes_with_eio(&log, &error);
        assert_eq!(log.log_end_offset(), 2);
        assert_eq!(records(&log).len(), 2);
    }
}

/// The roll that fails on a full disk must leave no file behind: a batch that still fits the
/// old segment moves the log end past the failed roll's base, the next roll starts later, and a
/// stray empty segment at the old base once made recovery drop every later segment.
#[test]
fn a_roll_that_fails_on_a_full_disk_leaves_nothing_to_collide_with() {
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        let config = small_config(mode);
        let (log, faults) = faulty_log(dir.path(), config.clone());
        let mut rng = rng(11);
        let mut acknowledged = Vec::new();
        faults.fail_open.store(true, Ordering::SeqCst);
        let failed_base = loop {
            let batch = random_batch(&mut rng, 0, 3, 500);
            let leo = log.log_end_offset();
            match log.append(&batch) {
                Ok(_) => acknowledged.push(batch),
                Err(error) => {
                    assert!(matches!(error, StorageError::DiskFull { .. }), "{error:?}");
                    break leo;
                }
            }
        };
        let stray_log = format!("{failed_base:020}.log");
        assert!(
            !dir.path().join(&stray_log).exists(),
            "{mode:?}: the failed roll left {stray_log}"
        );
        // Still fits the old segment: the log end moves past the failed roll's base.
        let small = batch_of(1, &[b"tiny"]);
        log.append(&small).unwrap();
        acknowledged.push(small);
        faults.fail_open.store(false, Ordering::SeqCst);
        for i in 0..200 {
            let batch = random_batch(&mut rng, i, 3, 500);
            log.append(&batch).unwrap();
            acknowledged.push(batch);
        }
        assert!(log.segment_count() > 2);
        assert_acknowledged_readable(&log, &acknowledged);
        log.close().unwrap();
        drop(log);
        let log = open(dir.path(), &config);
        assert_acknowledged_readable(&log, &acknowledged);
        drop(log); // a crash
        let log = open(dir.path(), &config);
        assert_acknowledged_readable(&log, &acknowledged);
    }
}

/// A seal that failed after dropping the writer leaves the last segment without one; retention
/// must still keep it (it once deleted every segment, and the log then panicked on its next
/// read for want of an active segment).
#[test]
fn retention_keeps_the_last_segment_after_a_failed_seal() {
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig {
            retention_ms: Some(1),
            ..small_config(mode)
        };
        let (log, faults) = faulty_log(dir.path(), config);
        faults.fail_seal.store(true, Ordering::SeqCst);
        let (acknowledged, error) = append_until_failure(&log, 21);
        assert!(matches!(error, StorageError::Poisoned { .. }), "{error:?}");
        let leo = log.log_end_offset();
        let outcome = log.apply_retention(i64::MAX / 2).unwrap();
        assert_eq!(
            outcome.deleted_segments, 0,
            "{mode:?}: the only segment is the last"
        );
        assert_eq!(log.segment_count(), 1);
        assert_eq!(log.log_end_offset(), leo);
        assert_acknowledged_readable(&log, &acknowledged);
    }
}
