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

/// `records` values of `size` bytes each, tagged with `tag` and a sequence number.
fn lines(tag: &str, from: usize, records: usize, size: usize) -> bytes::Bytes {
    let values: Vec<Vec<u8>> = (from..from + records)
        .map(|i| {
            let mut v = format!("{tag}-{i:08}-").into_bytes();
            v.resize(size, b'.');
            v
        })
        .collect();
    let refs: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
    batch_of(0, &refs)
}

/// The operator's sequence of the issue that lost data: a roll fails on a full disk, a small
/// batch still fits the old segment, space is freed, later rolls succeed; every acknowledged
/// record must survive a clean restart and a crash (a drop without close) after it.
#[test]
fn a_full_disk_during_a_roll_loses_nothing_across_clean_and_crash_restarts() {
    for mode in MODES {
        let Some(fs) = Tmpfs::mount("24m") else {
            return;
        };
        let config = LogConfig {
            segment_bytes: 4 << 20,
            max_message_bytes: 1 << 20,
            ..small_config(mode)
        };
        let config = LogConfig {
            max_index_bytes: LogConfig::default().max_index_bytes,
            index_interval_bytes: 4096,
            ..config
        };
        let ballast = PartitionLog::open(fs.path().join("ballast-0"), config.clone()).unwrap();
        for i in 0..1500 {
            ballast.append(&lines("ballast", i * 10, 10, 1000)).unwrap();
        }
        ballast.flush().unwrap();
        let full = PartitionLog::open(fs.path().join("full-0"), config.clone()).unwrap();
        let mut acknowledged = Vec::new();
        let mut next = 0;
        let failure = loop {
            match full.append(&lines("full", next, 10, 1000)) {
                Ok(_) => acknowledged.push(next..next + 10),
                Err(error) => break error,
            }
            next += 10;
            assert!(next < 100_000, "{mode:?}: the disk never filled");
        };
        assert!(failure.is_disk_full(), "{mode:?}: {failure:?}");
        println!("{mode:?}: the disk filled at record {next}: {failure}");
        assert!(!full.is_poisoned(), "{mode:?}: a full disk is not sticky");
        next += 10;
        if full.append(&lines("full", next, 1, 20)).is_ok() {
            acknowledged.push(next..next + 1);
        }
        next += 1;
        ballast.delete().unwrap();
        for _ in 0..500 {
            full.append(&lines("full", next, 10, 1000)).unwrap();
            acknowledged.push(next..next + 10);
            next += 10;
        }
        assert!(
            full.segment_count() > 2,
            "{mode:?}: rolls happened after the failure"
        );
        let expected: Vec<String> = acknowledged
            .iter()
            .flat_map(|r| r.clone())
            .map(|i| format!("full-{i:08}-"))
            .collect();
        let tags = |log: &PartitionLog| -> Vec<String> {
            records(log)
                .into_iter()
                .map(|(_, v)| String::from_utf8_lossy(&v[..14]).into_owned())
                .collect()
        };
        assert_eq!(tags(&full), expected, "{mode:?}: before any restart");
        full.close().unwrap();
        drop(full);
        let full = PartitionLog::open(fs.path().join("full-0"), config.clone()).unwrap();
        assert_eq!(tags(&full), expected, "{mode:?}: after a clean restart");
        drop(full); // a crash: no close, no clean marker
        let full = PartitionLog::open(fs.path().join("full-0"), config.clone()).unwrap();
        assert_eq!(tags(&full), expected, "{mode:?}: after a crash restart");
        full.append(&lines("full", next, 1, 20)).unwrap();
    }
}
