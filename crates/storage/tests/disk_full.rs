//! A real full disk: a 2 MiB tmpfs. Appends through either writer fail with `DiskFull` (never a
//! SIGBUS from a store into an unbacked mapped page), nothing acknowledged is lost, and the log
//! carries on once space is freed.
//!
//! Mounting needs root; CI runs as root (and `CI=true` makes a failed mount a test failure).
//! Elsewhere the test says why it did nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use sluice_storage::{LogConfig, PartitionLog, StorageError};

struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Some(Tmpfs(dir));
        }
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI must be able to mount a tmpfs"
        );
        eprintln!("skipping: cannot mount a tmpfs here (needs root)");
        None
    }

    fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0.path()).status();
    }
}

#[test]
fn appends_on_a_full_disk_fail_cleanly_and_resume_after_space_is_freed() {
    for mode in MODES {
        let Some(fs) = Tmpfs::mount("2m") else {
            return;
        };
        // A filler file that can be deleted later to free space.
        let filler = fs.path().join("filler");
        std::fs::write(&filler, vec![1u8; 256 * 1024]).unwrap();
        let config = LogConfig {
            segment_bytes: 8 << 20, // larger than the whole file system
            max_index_bytes: 8192,
            ..small_config(mode)
        };
        let log = PartitionLog::open(fs.path().join("log"), config.clone()).unwrap();
        let mut rng = rng(31);
        let mut acknowledged = Vec::new();
        let failure = loop {
            let batch = random_batch(&mut rng, 0, 8, 2000);
            match log.append(&batch) {
                Ok(info) => acknowledged.push((info.base_offset, batch)),
                Err(error) => break error,
            }
            assert!(
                acknowledged.len() < 10_000,
                "{mode:?}: the disk never filled"
            );
        };
        assert!(
            matches!(failure, StorageError::DiskFull { .. }),
            "{mode:?}: {failure:?}"
        );
        assert!(!acknowledged.is_empty());
        let stored = all_batches(&log);
        assert_eq!(
            stored.len(),
            acknowledged.len(),
            "{mode:?}: every acknowledged batch is readable"
        );
        for (got, (_, sent)) in stored.iter().zip(&acknowledged) {
            assert_eq!(&got[8..], &sent[8..]);
        }
        std::fs::remove_file(&filler).unwrap();
        let info = log
            .append(&batch_of(1, &[b"after space was freed"]))
            .unwrap();
        assert_eq!(info.base_offset, log.log_end_offset() - 1);
        drop(log);
        // Whatever the crash-like drop left behind recovers to the acknowledged prefix.
        let log = PartitionLog::open(fs.path().join("log"), config).unwrap();
        assert_eq!(all_batches(&log).len(), acknowledged.len() + 1);
    }
}
