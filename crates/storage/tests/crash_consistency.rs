//! A crash at every operation: a scripted workload (appends, flushes, rolls, retention with and
//! without recycling, spare expiry, close, reopen) runs on the crash simulator, which captures
//! at each of its file operations what a crash just before it would leave:
//!
//! - a power loss: only what was synced, under names whose directory was synced;
//! - a process crash: the page cache as it was, every completed write included.
//!
//! One run is enough: a simulated crash freezes durability, so nothing the workload does after
//! it changes either image (`captures_match_a_rerun_that_crashes` checks that against real
//! reruns). After reopening an image: the log opens (never `Inconsistent`), every visible batch
//! is one the workload appended, byte for byte, with offsets contiguous from the log start;
//! every offset whose flush returned before the crash is there (after a process crash, every
//! offset whose append returned); the log start is none the workload had not reached; and
//! appends continue at the log end, across another restart.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use common::*;
use sluice_storage::backend::{Backend, CrashBackend, CrashImages};
use sluice_storage::{LogConfig, PartitionLog, WriteMode};

/// Small enough that the workload rolls every few batches and the run stays in seconds.
fn config(mode: WriteMode, recycle: bool) -> LogConfig {
    LogConfig {
        segment_bytes: 1024,
        index_interval_bytes: 128,
        max_index_bytes: 4096,
        retention_bytes: Some(2048),
        retention_ms: None,
        max_message_bytes: 1024,
        write_mode: mode,
        recycle_segments: recycle,
        ..LogConfig::default()
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn records_in(batch: &[u8]) -> i64 {
    i64::from(sluice_record::validate_batch(batch).unwrap().records_count)
}

/// What the workload was told, and when: each event carries the number of counted operations
/// done when it happened, so a crash before operation `i` knows which came before it.
#[derive(Debug, Default)]
struct Told {
    /// Every batch appended, by assigned base offset, with the count when the append returned.
    appended: BTreeMap<i64, (Bytes, u64)>,
    /// (count when a flush returned, every offset below this was flushed).
    flushed: Vec<(u64, i64)>,
    /// (count when a call started, the log start after it): a call the crash interrupted may
    /// have made its log start durable.
    log_starts: Vec<(u64, i64)>,
    /// Segments retention removed, and rolls that took a spare file (for the checks that the
    /// script exercises them).
    deleted_segments: usize,
    spares_taken: usize,
}

/// What a crash before operation `op` must keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Promised {
    flushed: i64,
    appended_end: i64,
    max_log_start: i64,
}

impl Told {
    fn promised(&self, op: u64) -> Promised {
        let flushed = self.flushed.iter().filter(|(at, _)| *at <= op);
        let appended = self.appended.iter().filter(|(_, (_, at))| *at <= op);
        let starts = self.log_starts.iter().filter(|(at, _)| *at < op);
        Promised {
            flushed: flushed.map(|(_, o)| *o).max().unwrap_or(0),
            appended_end: appended
                .map(|(base, (batch, _))| base + records_in(batch))
                .max()
                .unwrap_or(0),
            max_log_start: starts.map(|(_, s)| *s).max().unwrap_or(0),
        }
    }
}

/// Drives the log and notes what it was told.
struct Driver<'a> {
    sim: &'a CrashBackend,
    told: Told,
}

impl Driver<'_> {
    fn call<T>(&mut self, log: &PartitionLog, call: impl FnOnce(&PartitionLog) -> T) -> T {
        let started = self.sim.ops();
        let out = call(log);
        self.told.log_starts.push((started, log.log_start_offset()));
        out
    }

    fn append(&mut self, log: &PartitionLog, batch: Bytes) {
        let spares_before = spares(log.dir());
        let info = self.call(log, |log| log.append(&batch).expect("append"));
        let returned = self.sim.ops();
        assert!(
            !self.told.appended.contains_key(&info.base_offset),
            "offset {} given out twice",
            info.base_offset
        );
        self.told
            .appended
            .insert(info.base_offset, (batch, returned));
        if spares(log.dir()) < spares_before {
            self.told.spares_taken += 1;
        }
    }

    fn flush(&mut self, log: &PartitionLog) {
        let target = log.log_end_offset();
        self.call(log, |log| log.flush_to(target).expect("flush"));
        self.told.flushed.push((self.sim.ops(), target));
    }

    fn retain(&mut self, log: &PartitionLog, now_ms: i64) {
        let outcome = self.call(log, |log| log.apply_retention(now_ms).expect("retention"));
        self.told.deleted_segments += outcome.deleted_segments;
    }

    fn close(&mut self, log: &PartitionLog) {
        self.call(log, |log| log.close().expect("close"));
        self.told
            .flushed
            .push((self.sim.ops(), log.log_end_offset()));
    }
}

fn spares(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".spare"))
            })
            .count()
    })
}

/// The script. Deterministic: the same operations in the same order on every run.
fn workload(sim: &CrashBackend, root: &Path, config: &LogConfig) -> Told {
    let mut driver = Driver {
        sim,
        told: Told::default(),
    };
    let mut rng = rng(42);
    let dir = root.join("log");
    let log = PartitionLog::open_with_backend(&dir, config.clone(), sim.shared()).expect("open");
    for i in 0..40 {
        driver.append(&log, random_batch(&mut rng, i, 3, 90));
        if i % 3 == 2 {
            driver.flush(&log);
        }
        if i % 8 == 7 {
            driver.retain(&log, now_ms());
        }
    }
    driver.close(&log);
    drop(log);
    let log = PartitionLog::open_with_backend(&dir, config.clone(), sim.shared()).expect("reopen");
    for i in 0..10 {
        driver.append(&log, random_batch(&mut rng, 100 + i, 3, 90));
        if i % 4 == 3 {
            driver.flush(&log);
        }
    }
    driver.retain(&log, now_ms());
    // Long after: spares no roll took expire.
    driver.retain(&log, now_ms() + 3_600_000);
    driver.append(&log, random_batch(&mut rng, 200, 3, 90));
    driver.flush(&log);
    driver.told
}

/// Opens the image in `root` with `backend` and checks everything the module documentation
/// promises.
fn check_image(
    root: &Path,
    backend: Arc<dyn Backend>,
    config: &LogConfig,
    told: &Told,
    promised: Promised,
    what: &str,
) {
    let dir = root.join("log");
    let log = PartitionLog::open_with_backend(&dir, config.clone(), backend.clone())
        .unwrap_or_else(|e| panic!("{what}: the image does not open: {e}"));
    let start = log.log_start_offset();
    assert!(
        start <= promised.max_log_start,
        "{what}: log start {start} is past any the workload reached ({})",
        promised.max_log_start
    );
    let mut next = start;
    for batch in all_batches(&log) {
        let header = sluice_record::validate_batch(&batch)
            .unwrap_or_else(|e| panic!("{what}: invalid batch at {next}: {e}"));
        assert_eq!(header.base_offset, next, "{what}: offsets not contiguous");
        let (sent, _) = told
            .appended
            .get(&next)
            .unwrap_or_else(|| panic!("{what}: batch at {next} was never appended"));
        assert_eq!(&batch[8..], &sent[8..], "{what}: batch at {next} differs");
        next = header.next_offset();
    }
    let leo = log.log_end_offset();
    assert_eq!(next, leo, "{what}: batches end before the log end");
    let must_keep = match what.starts_with("process crash") {
        true => promised.flushed.max(promised.appended_end),
        false => promised.flushed,
    };
    assert!(
        leo >= must_keep,
        "{what}: acknowledged offsets below {must_keep} lost (log end {leo})"
    );
    // Appends continue at the log end, and survive another restart.
    let info = log.append(&batch_of(1, &[b"after the crash"])).unwrap();
    assert_eq!(info.base_offset, leo, "{what}: offsets do not continue");
    log.flush().unwrap();
    log.close().unwrap();
    drop(log);
    let log = PartitionLog::open_with_backend(&dir, config.clone(), backend).unwrap();
    assert_eq!(
        log.log_end_offset(),
        leo + 1,
        "{what}: lost after a restart"
    );
}

/// Reopens one captured image in a fresh directory. Images are reopened on the simulator (no
/// real syncs: hundreds of them per run) unless `real`.
fn check_capture(
    images: &CrashImages,
    power_loss: bool,
    real: bool,
    config: &LogConfig,
    told: &Told,
    history: &[String],
) {
    let dest = scratch();
    let kind = match power_loss {
        true => images.write_power_loss(dest.path()),
        false => images.write_process_crash(dest.path()),
    };
    kind.unwrap();
    let next = history
        .get(images.op as usize)
        .map_or("the end", String::as_str);
    let what = format!(
        "{} before operation {} ({next})",
        if power_loss {
            "power loss"
        } else {
            "process crash"
        },
        images.op
    );
    let backend: Arc<dyn Backend> = match real {
        true => sluice_storage::RealBackend::shared(),
        false => CrashBackend::new(dest.path()).unwrap().shared(),
    };
    check_image(
        dest.path(),
        backend,
        config,
        told,
        told.promised(images.op),
        &what,
    );
}

/// Runs the workload once, capturing a crash at each operation, and checks every image;
/// returns how many operations there were.
fn crash_at_every_operation(mode: WriteMode, recycle: bool) -> usize {
    let config = config(mode, recycle);
    let root = scratch();
    let sim = CrashBackend::new(root.path()).unwrap();
    sim.capture_every_operation();
    let told = workload(&sim, root.path(), &config);
    let history = sim.history();
    let mut captures = sim.take_captures();
    captures.push(sim.images_now().unwrap());
    assert!(told.deleted_segments >= 4, "retention must run");
    assert_eq!(told.spares_taken > 0, recycle, "rolls onto spares");
    assert!(history.len() < 2000, "keep the workload small");
    let mut checked = 0;
    for (i, images) in captures.iter().enumerate() {
        let previous = i.checked_sub(1).and_then(|p| captures.get(p));
        let same_promise =
            previous.is_some_and(|p| told.promised(p.op) == told.promised(images.op));
        // Every 50th image also goes through the real backend, which the others stand for.
        let real = i % 50 == 0;
        let same_power_loss =
            previous.is_some_and(|p| Arc::ptr_eq(&p.power_loss, &images.power_loss));
        if !(same_promise && same_power_loss) || real {
            check_capture(images, true, real, &config, &told, &history);
            checked += 1;
        }
        let same_process = previous.is_some_and(|p| p.process_crash == images.process_crash);
        if !(same_promise && same_process) || real {
            check_capture(images, false, real, &config, &told, &history);
            checked += 1;
        }
    }
    println!(
        "{mode:?}, recycling {recycle}: a crash before each of {} operations, {checked} distinct images checked",
        history.len()
    );
    history.len()
}

#[test]
fn a_crash_at_any_operation_of_the_mmap_writer_loses_nothing_flushed() {
    crash_at_every_operation(WriteMode::Mmap, false);
}

#[test]
fn a_crash_at_any_operation_of_the_pwrite_writer_loses_nothing_flushed() {
    crash_at_every_operation(WriteMode::Write, false);
}

#[test]
fn a_crash_at_any_operation_with_recycled_segments_loses_nothing_flushed() {
    for mode in MODES {
        crash_at_every_operation(mode, true);
    }
}

/// The single-run shortcut above is sound: a rerun that really crashes before operation `i`
/// (and keeps running, durability frozen) leaves the images the capture took at `i`.
#[test]
fn captures_match_a_rerun_that_crashes() {
    let config = config(WriteMode::Mmap, true);
    let root = scratch();
    let sim = CrashBackend::new(root.path()).unwrap();
    sim.capture_every_operation();
    workload(&sim, root.path(), &config);
    let captures = sim.take_captures();
    let count = captures.len();
    for op in [0, count / 7, count / 3, count / 2, count - 1] {
        let again = scratch();
        let rerun = CrashBackend::new(again.path()).unwrap();
        rerun.crash_at(op as u64);
        workload(&rerun, again.path(), &config);
        assert!(rerun.crashed());
        assert_eq!(
            rerun.history(),
            sim.history(),
            "the workload is deterministic"
        );
        let (power, process) = (scratch(), scratch());
        rerun.write_power_loss_image(power.path()).unwrap();
        rerun.write_process_crash_image(process.path()).unwrap();
        let (captured_power, captured_process) = (scratch(), scratch());
        captures[op]
            .write_power_loss(captured_power.path())
            .unwrap();
        captures[op]
            .write_process_crash(captured_process.path())
            .unwrap();
        assert_eq!(
            tree(power.path()),
            tree(captured_power.path()),
            "power loss at {op}"
        );
        assert_eq!(
            tree(process.path()),
            tree(captured_process.path()),
            "process crash at {op}"
        );
    }
}

fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut dirs = vec![dir.to_owned()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                let name = path.strip_prefix(dir).unwrap().display().to_string();
                files.insert(name, std::fs::read(&path).unwrap());
            }
        }
    }
    files
}
