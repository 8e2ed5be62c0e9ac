//! Crash recovery: whatever a crash or the disk does to the tail of the log, reopening keeps
//! exactly the longest valid prefix, and the log carries on from there.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on failure by design

mod common;

use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use common::*;
use rand::Rng;
use sluice_storage::{LogConfig, PartitionLog, StorageError, WriteMode};

fn segment_file(dir: &Path, base: i64, ext: &str) -> PathBuf {
    dir.join(format!("{base:020}.{ext}"))
}

/// Writes `n` small random batches into one segment and "crashes" (drops without close).
/// Returns the stored batches and the log file's bytes as the crash left them.
/// Every file of a directory by name, with its bytes.
fn directory_image(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

fn crashed_log(dir: &Path, config: &LogConfig, n: usize, seed: u64) -> (Vec<Bytes>, Vec<u8>) {
    let log = open(dir, config);
    let mut rng = rng(seed);
    for i in 0..n {
        log.append(&random_batch(&mut rng, i as i64, 3, 40))
            .unwrap();
    }
    let batches = all_batches(&log);
    drop(log);
    (batches, fs::read(segment_file(dir, 0, "log")).unwrap())
}

/// Restores the crashed file image, lets `damage` loose on it, reopens and checks that the log
/// holds exactly `expected(batches)` and accepts a further append at the right offset.
fn reopen_after(
    dir: &Path,
    config: &LogConfig,
    image: &[u8],
    damage: impl FnOnce(&Path),
    expected: &[Bytes],
) {
    let path = segment_file(dir, 0, "log");
    fs::write(&path, image).unwrap();
    damage(&path);
    let log = open(dir, config);
    let got = all_batches(&log);
    assert_eq!(got.len(), expected.len(), "kept batches");
    for (g, e) in got.iter().zip(expected) {
        assert_eq!(content(g), content(e));
    }
    let records: i64 = expected
        .iter()
        .map(|b| sluice_record::validate_batch(b).unwrap().records_count as i64)
        .sum();
    assert_eq!(log.log_end_offset(), records);
    let info = log.append(&batch_of(0, &[b"after"])).unwrap();
    assert_eq!(info.base_offset, records, "offsets continue after recovery");
    drop(log);
}

fn ends(batches: &[Bytes]) -> Vec<u64> {
    batches
        .iter()
        .scan(0u64, |end, b| {
            *end += b.len() as u64;
            Some(*end)
        })
        .collect()
}

#[test]
fn a_cut_at_every_byte_of_the_last_batches_keeps_the_whole_batches_before_it() {
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        let config = small_config(mode);
        let (batches, image) = crashed_log(dir.path(), &config, 20, 7);
        let ends = ends(&batches);
        let from = ends[ends.len() - 4];
        for cut in from..=*ends.last().unwrap() {
            let keep = ends.iter().filter(|end| **end <= cut).count();
            reopen_after(
                dir.path(),
                &config,
                &image,
                |path| {
                    OpenOptions::new()
                        .write(true)
                        .open(path)
                        .unwrap()
                        .set_len(cut)
                        .unwrap()
                },
                &batches[..keep],
            );
        }
    }
}

#[test]
fn flipped_bits_truncate_the_log_at_the_damaged_batch() {
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        let config = small_config(mode);
        let (batches, image) = crashed_log(dir.path(), &config, 20, 8);
        let ends = ends(&batches);
        let mut rng = rng(9);
        for _ in 0..150 {
            let byte = rng.random_range(0..*ends.last().unwrap());
            let bit = rng.random_range(0..8);
            let damaged = ends.iter().filter(|end| **end <= byte).count();
            let start = if damaged == 0 { 0 } else { ends[damaged - 1] };
            // partitionLeaderEpoch (bytes 12..16) is covered by no check and changes no content.
            let keep = if (12..16).contains(&(byte - start)) {
                batches.len()
            } else {
                damaged
            };
            reopen_after(
                dir.path(),
                &config,
                &image,
                |path| {
                    let mut bytes = fs::read(path).unwrap();
                    bytes[byte as usize] ^= 1 << bit;
                    fs::write(path, bytes).unwrap();
                },
                &batches[..keep],
            );
        }
    }
}

#[test]
fn zero_filled_tails_and_torn_pages_are_cut() {
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        let config = small_config(mode);
        let (batches, image) = crashed_log(dir.path(), &config, 20, 10);
        let ends = ends(&batches);
        let valid = *ends.last().unwrap() as usize;
        // Preallocated zeros after the data (what an mmap segment always has after a crash).
        reopen_after(
            dir.path(),
            &config,
            &image,
            |path| {
                let mut bytes = fs::read(path).unwrap();
                bytes.truncate(valid);
                bytes.extend(std::iter::repeat_n(0u8, 8192));
                fs::write(path, bytes).unwrap();
            },
            &batches,
        );
        // The last batch's second half never reached the disk (a torn page).
        let last_start = ends[ends.len() - 2] as usize;
        reopen_after(
            dir.path(),
            &config,
            &image,
            |path| {
                let mut bytes = fs::read(path).unwrap();
                let mid = last_start + (valid - last_start) / 2;
                bytes[mid..valid].fill(0);
                fs::write(path, bytes).unwrap();
            },
            &batches[..batches.len() - 1],
        );
        // Garbage after the valid data.
        reopen_after(
            dir.path(),
            &config,
            &image,
            |path| {
                let mut bytes = fs::read(path).unwrap();
                bytes.truncate(valid);
                bytes.extend((0..5000u32).map(|i| (i * 7919 % 251) as u8));
                fs::write(path, bytes).unwrap();
            },
            &batches,
        );
    }
}

/// A log of several segments, closed cleanly or crashed.
fn multi_segment_log(dir: &Path, config: &LogConfig, clean: bool) -> (Vec<Bytes>, Vec<i64>) {
    let log = open(dir, config);
    let mut rng = rng(11);
    for i in 0..400 {
        log.append(&random_batch(&mut rng, 1000 * i, 4, 300))
            .unwrap();
    }
    let batches = all_batches(&log);
    let bases = log.segment_base_offsets();
    assert!(
        bases.len() >= 3,
        "need several segments, got {}",
        bases.len()
    );
    if clean {
        log.close().unwrap();
    }
    (batches, bases)
}

fn assert_every_offset_readable(log: &sluice_storage::PartitionLog, batches: &[Bytes]) {
    assert_eq!(all_batches(log), batches);
    for batch in batches {
        let header = sluice_record::validate_batch(batch).unwrap();
        for offset in [header.base_offset, header.last_offset()] {
            let slice = log.read(offset, 1).unwrap();
            assert_eq!(slice.first_offset, header.base_offset, "offset {offset}");
        }
        let found = log
            .offset_for_timestamp(header.max_timestamp)
            .unwrap()
            .unwrap();
        assert!(found.offset <= header.last_offset());
    }
}

#[test]
fn damaged_or_missing_indexes_are_rebuilt_not_trusted() {
    type Damage = fn(&Path);
    let damages: [(&str, Damage); 5] = [
        ("deleted", |p| fs::remove_file(p).unwrap()),
        ("emptied", |p| fs::write(p, b"").unwrap()),
        ("odd length", |p| fs::write(p, [1u8, 2, 3, 4, 5]).unwrap()),
        ("random bytes", |p| {
            let len = fs::metadata(p).unwrap().len() as usize;
            fs::write(
                p,
                (0..len).map(|i| (i * 31 % 256) as u8).collect::<Vec<_>>(),
            )
            .unwrap()
        }),
        ("entries pointing elsewhere", |p| {
            let mut bytes = fs::read(p).unwrap();
            for entry in bytes.chunks_mut(8) {
                if entry.len() == 8 {
                    entry[7] = entry[7].wrapping_add(3);
                }
            }
            fs::write(p, bytes).unwrap()
        }),
    ];
    for mode in MODES {
        for clean in [true, false] {
            for (what, damage) in damages {
                for ext in ["index", "timeindex"] {
                    let dir = tempfile::tempdir().unwrap();
                    let config = small_config(mode);
                    let (batches, bases) = multi_segment_log(dir.path(), &config, clean);
                    for base in &bases {
                        let path = segment_file(dir.path(), *base, ext);
                        if path.exists() {
                            damage(&path);
                        }
                    }
                    let log = open(dir.path(), &config);
                    println!("{mode:?} clean={clean} {ext} {what}");
                    assert_every_offset_readable(&log, &batches);
                }
            }
        }
    }
}

#[test]
fn clean_and_crashed_restarts_keep_every_segment() {
    for mode in MODES {
        for clean in [true, false] {
            let dir = tempfile::tempdir().unwrap();
            let config = small_config(mode);
            let (batches, bases) = multi_segment_log(dir.path(), &config, clean);
            let log = open(dir.path(), &config);
            assert_eq!(log.segment_base_offsets(), bases);
            assert_every_offset_readable(&log, &batches);
            let leo = log.log_end_offset();
            assert_eq!(log.append(&batch_of(0, &[b"x"])).unwrap().base_offset, leo);
        }
    }
}

#[test]
fn corruption_in_an_older_segment_takes_the_log_offline_and_keeps_every_file() {
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        let config = small_config(mode);
        let (_, bases) = multi_segment_log(dir.path(), &config, false);
        // Without a recovery point every segment is scanned.
        fs::remove_file(dir.path().join("recovery-point-checkpoint")).unwrap();
        let victim = bases[1];
        let path = segment_file(dir.path(), victim, "log");
        let mut bytes = fs::read(&path).unwrap();
        let first_len = sluice_record::batch_total_size(&bytes).unwrap();
        bytes[first_len + 40] ^= 0x01; // inside the second batch of segment 1
        fs::write(&path, bytes).unwrap();
        let before = directory_image(dir.path());
        let error = PartitionLog::open(dir.path(), config.clone()).unwrap_err();
        let StorageError::Inconsistent { files, .. } = &error else {
            panic!("{mode:?}: {error:?}");
        };
        assert_eq!(files[0], path, "names the damaged segment");
        assert!(files.contains(&segment_file(dir.path(), bases[2], "log")));
        assert!(error.to_string().contains(&path.display().to_string()));
        assert_eq!(
            directory_image(dir.path())
                .into_iter()
                .filter(|(name, _)| name.ends_with(".log"))
                .collect::<Vec<_>>(),
            before
                .into_iter()
                .filter(|(name, _)| name.ends_with(".log"))
                .collect::<Vec<_>>(),
            "{mode:?}: no segment is cut or deleted"
        );
        // Still offline on the next try: the refusal is not a one-off.
        assert!(matches!(
            PartitionLog::open(dir.path(), config),
            Err(StorageError::Inconsistent { .. })
        ));
    }
}

#[test]
fn a_segment_that_does_not_continue_the_log_takes_it_offline() {
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        let config = small_config(mode);
        let (batches, bases) = multi_segment_log(dir.path(), &config, true);
        // Renamed one offset down, a segment overlaps the one before it. (Renamed up, its
        // batches would be older than its name: what a recycled file holds, which is not data.)
        let last = bases[1];
        for ext in ["log", "index", "timeindex"] {
            fs::rename(
                segment_file(dir.path(), last, ext),
                segment_file(dir.path(), last - 1, ext),
            )
            .unwrap();
        }
        let error = PartitionLog::open(dir.path(), config.clone()).unwrap_err();
        assert!(
            matches!(&error, StorageError::Inconsistent { files, .. } if files.contains(&segment_file(dir.path(), last - 1, "log"))),
            "{mode:?}: {error:?}"
        );
        assert!(segment_file(dir.path(), last - 1, "log").exists());
        // Put back, the log is whole again.
        for ext in ["log", "index", "timeindex"] {
            fs::rename(
                segment_file(dir.path(), last - 1, ext),
                segment_file(dir.path(), last, ext),
            )
            .unwrap();
        }
        let log = open(dir.path(), &config);
        assert_every_offset_readable(&log, &batches);
    }
}

#[test]
fn an_empty_segment_left_by_a_failed_roll_is_removed_and_loses_nothing() {
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        let config = small_config(mode);
        let (batches, bases) = multi_segment_log(dir.path(), &config, true);
        // What an older broker's failed roll left: an empty segment one offset below where the
        // next roll started, between two segments that hold data.
        let stray = bases[2] - 1;
        fs::write(segment_file(dir.path(), stray, "log"), b"").unwrap();
        fs::write(segment_file(dir.path(), stray, "index"), b"").unwrap();
        let log = open(dir.path(), &config);
        assert_every_offset_readable(&log, &batches);
        assert!(!segment_file(dir.path(), stray, "log").exists());
        assert_eq!(log.segment_base_offsets(), bases);
    }
}

#[test]
fn write_mode_can_change_between_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let (batches, _) = multi_segment_log(dir.path(), &small_config(WriteMode::Mmap), false);
    let log = open(dir.path(), &small_config(WriteMode::Write));
    assert_every_offset_readable(&log, &batches);
}

#[test]
fn arbitrary_bytes_in_any_file_never_panic_the_open() {
    let mut rng = rng(12);
    for round in 0..60 {
        let dir = tempfile::tempdir().unwrap();
        let config = small_config(MODES[round % 2]);
        let (batches, image) = crashed_log(dir.path(), &config, 10, round as u64);
        let noise = |rng: &mut rand::rngs::StdRng, len: usize| -> Vec<u8> {
            (0..len).map(|_| rng.random()).collect()
        };
        let len = rng.random_range(0..4096);
        match round % 4 {
            // Garbage where a segment should be: nothing valid survives, but the log opens empty.
            0 => fs::write(segment_file(dir.path(), 0, "log"), noise(&mut rng, len)).unwrap(),
            // Garbage indexes next to a good log.
            1 => {
                fs::write(segment_file(dir.path(), 0, "index"), noise(&mut rng, len)).unwrap();
                fs::write(
                    segment_file(dir.path(), 0, "timeindex"),
                    noise(&mut rng, len),
                )
                .unwrap();
            }
            // Garbage checkpoints.
            2 => {
                fs::write(
                    dir.path().join("recovery-point-checkpoint"),
                    noise(&mut rng, len),
                )
                .unwrap();
                fs::write(
                    dir.path().join("log-start-offset-checkpoint"),
                    noise(&mut rng, len),
                )
                .unwrap();
            }
            // A good log followed by garbage, and a stray segment full of garbage after it.
            _ => {
                let mut bytes = image.clone();
                bytes.truncate(batches.iter().map(|b| b.len()).sum());
                bytes.extend(noise(&mut rng, len));
                fs::write(segment_file(dir.path(), 0, "log"), bytes).unwrap();
                fs::write(
                    segment_file(dir.path(), 1_000_000, "log"),
                    noise(&mut rng, len),
                )
                .unwrap();
            }
        }
        let log = sluice_storage::PartitionLog::open(dir.path(), config.clone()).unwrap();
        let got = all_batches(&log);
        assert!(got.len() <= batches.len());
        for (g, e) in got.iter().zip(&batches) {
            assert_eq!(
                content(g),
                content(e),
                "whatever survives is a prefix of what was written"
            );
        }
        let leo = log.log_end_offset();
        assert_eq!(log.append(&batch_of(0, &[b"x"])).unwrap().base_offset, leo);
    }
}

#[test]
fn a_sealed_segment_whose_cut_was_lost_keeps_every_later_segment() {
    for mode in MODES {
        for clean in [true, false] {
            let dir = tempfile::tempdir().unwrap();
            let config = small_config(mode);
            let (batches, bases) = multi_segment_log(dir.path(), &config, clean);
            // A power loss that undid the cut of the first sealed segment: zeros after its data.
            let path = segment_file(dir.path(), bases[0], "log");
            let len = fs::metadata(&path).unwrap().len();
            OpenOptions::new()
                .write(true)
                .open(&path)
                .unwrap()
                .set_len(len + 40_000)
                .unwrap();
            let log = open(dir.path(), &config);
            assert_eq!(log.segment_base_offsets(), bases, "{mode:?} clean={clean}");
            assert_every_offset_readable(&log, &batches);
        }
    }
}

/// Found by the `storage_open` fuzz target: a cleanly closed segment trusts its bytes, and a
/// batch length there that runs past the data once sent batch iteration into endless recursion
/// (a stack overflow, at broker start while replaying `__consumer_offsets`).
#[test]
fn a_trusted_batch_whose_length_runs_past_the_data_ends_iteration_with_an_error() {
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        let config = small_config(mode);
        let log = open(dir.path(), &config);
        for i in 0..20 {
            log.append(&batch_of(i, &[&[b'x'; 100]])).unwrap();
        }
        log.close().unwrap();
        drop(log);
        let path = segment_file(dir.path(), 0, "log");
        let mut bytes = fs::read(&path).unwrap();
        let first = sluice_record::batch_total_size(&bytes).unwrap();
        bytes[first + 8..first + 12].copy_from_slice(&0x7fff_0000u32.to_be_bytes());
        fs::write(&path, bytes).unwrap();
        let log = open(dir.path(), &config);
        let results: Vec<_> = log.batches(0).take(100).collect();
        assert!(results.len() < 100, "{mode:?}: iteration ends");
        assert!(
            results[0].is_ok(),
            "{mode:?}: the batch before the damage reads"
        );
        assert!(
            matches!(results.last(), Some(Err(StorageError::InvalidBatch { .. }))),
            "{mode:?}: {:?}",
            results.last().map(|r| r.as_ref().map(|b| b.len()))
        );
    }
}

/// Found by the `storage_open` fuzz target: a log start checkpoint past the log's end opened a
/// log whose next append got an offset below its start.
#[test]
fn a_log_start_past_the_log_end_takes_the_log_offline() {
    let dir = tempfile::tempdir().unwrap();
    let config = small_config(MODES[0]);
    let log = open(dir.path(), &config);
    log.append(&batch_of(0, &[b"a", b"b", b"c"])).unwrap();
    log.close().unwrap();
    drop(log);
    fs::write(dir.path().join("log-start-offset-checkpoint"), "0\n100\n").unwrap();
    let error = PartitionLog::open(dir.path(), config).unwrap_err();
    assert!(
        matches!(&error, StorageError::Inconsistent { reason, .. } if reason.contains("100")),
        "{error:?}"
    );
}
