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
