//! Closing logs one by one and many at once (seal unsynced, one file-system sync, markers).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code

mod common;

use common::*;
use sluice_storage::{PartitionLog, StorageError};

fn marked_clean(dir: &std::path::Path) -> bool {
    dir.join(".clean-shutdown").exists()
}

#[test]
fn a_batched_close_leaves_every_log_clean_after_one_sync() {
    for mode in MODES {
        let root = tempfile::tempdir().unwrap();
        let config = small_config(mode);
        let mut rng = rng(3);
        let logs: Vec<PartitionLog> = (0..4)
            .map(|i| open(&root.path().join(format!("p{i}")), &config))
            .collect();
        let mut written = Vec::new();
        for log in &logs {
            // Enough to roll a few segments, so sealed and active ones are both closed.
            for i in 0..120 {
                log.append(&random_batch(&mut rng, i, 3, 400)).unwrap();
            }
            written.push(all_batches(log));
        }
        for log in &logs {
            log.close_deferred().unwrap();
            assert!(
                !marked_clean(log.dir()),
                "no marker before the data is durable"
            );
            assert!(matches!(
                log.append(&batch_of(0, &[b"late"])),
                Err(StorageError::Closed { .. })
            ));
        }
        // One sync for all: the logs share a file system.
        logs[0].sync_file_system().unwrap();
        for log in &logs {
            log.commit_close().unwrap();
            assert!(marked_clean(log.dir()), "{mode:?}");
        }
        logs[0].sync_file_system().unwrap();
        let dirs: Vec<_> = logs.iter().map(|l| l.dir().to_owned()).collect();
        drop(logs);
        for (dir, expected) in dirs.iter().zip(&written) {
            let log = open(dir, &config);
            assert_eq!(&all_batches(&log), expected, "{mode:?}");
            log.append(&batch_of(0, &[b"again"])).unwrap();
        }
    }
}

#[test]
fn a_batched_close_that_never_commits_recovers_everything() {
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        let config = small_config(mode);
        let log = open(dir.path(), &config);
        let mut rng = rng(4);
        for i in 0..80 {
            log.append(&random_batch(&mut rng, i, 3, 400)).unwrap();
        }
        let written = all_batches(&log);
        log.close_deferred().unwrap();
        drop(log); // a crash between the two halves
        assert!(!marked_clean(dir.path()));
        let log = open(dir.path(), &config);
        assert_eq!(all_batches(&log), written, "{mode:?}");
    }
}

#[test]
fn commit_close_marks_only_a_log_that_was_sealed_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), &small_config(MODES[0]));
    log.append(&batch_of(0, &[b"x"])).unwrap();
    log.commit_close().unwrap();
    assert!(!marked_clean(dir.path()), "an open log is not marked");
    log.close().unwrap();
    assert!(marked_clean(dir.path()), "close marks by itself");
}

/// The batched close on the crash simulator: a power loss at any point of it loses nothing
/// appended before it (the appends were made durable by the close's sync, or the image has no
/// marker and recovers), and a marker never appears in an image whose data is not durable.
#[test]
fn a_power_loss_anywhere_in_a_batched_close_loses_nothing() {
    use sluice_storage::backend::CrashBackend;
    for mode in MODES {
        let root = tempfile::tempdir().unwrap();
        let sim = CrashBackend::new(root.path()).unwrap();
        let config = small_config(mode);
        let dirs: Vec<_> = (0..2).map(|i| root.path().join(format!("p{i}"))).collect();
        let logs: Vec<PartitionLog> = dirs
            .iter()
            .map(|dir| PartitionLog::open_with_backend(dir, config.clone(), sim.shared()).unwrap())
            .collect();
        let mut rng = rng(9);
        let mut written = Vec::new();
        for log in &logs {
            for i in 0..60 {
                log.append(&random_batch(&mut rng, i, 3, 400)).unwrap();
            }
            written.push(all_batches(log));
        }
        sim.capture_every_operation();
        for log in &logs {
            log.close_deferred().unwrap();
        }
        logs[0].sync_file_system().unwrap();
        for log in &logs {
            log.commit_close().unwrap();
        }
        logs[0].sync_file_system().unwrap();
        let mut captures = sim.take_captures();
        captures.push(sim.images_now().unwrap());
        drop(logs);
        let last = captures.len() - 1;
        for (i, images) in captures.iter().enumerate() {
            let image = tempfile::tempdir().unwrap();
            images.write_power_loss(image.path()).unwrap();
            for (dir, expected) in dirs.iter().zip(&written) {
                let dir = image.path().join(dir.strip_prefix(root.path()).unwrap());
                let marked = marked_clean(&dir);
                let log = open(&dir, &config);
                let got = all_batches(&log);
                if marked || i == last {
                    assert_eq!(&got, expected, "{mode:?} capture {i}: marked clean");
                } else {
                    // Before the close's sync nothing more was promised: what is there is a
                    // prefix of what was appended.
                    assert_eq!(&got[..], &expected[..got.len()], "{mode:?} capture {i}");
                }
            }
        }
        assert!(
            captures.len() > 4,
            "the close was captured operation by operation"
        );
    }
}

#[test]
fn a_flush_between_the_halves_of_a_batched_close_claims_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), &small_config(MODES[0]));
    log.append(&batch_of(0, &[b"x"])).unwrap();
    log.close_deferred().unwrap();
    assert!(matches!(log.flush_to(1), Err(StorageError::Closed { .. })));
    assert_eq!(log.flushed_offset(), 0, "nothing synced yet");
    log.sync_file_system().unwrap();
    log.commit_close().unwrap();
    assert!(
        marked_clean(dir.path()),
        "the flush did not poison the close"
    );
}
