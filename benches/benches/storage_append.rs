//! Append throughput of the mmap and `write()` writers, and `read()` lookup latency.
//!
//! Run: `cargo bench -p sluice-benches --bench storage_append` (add `-- --quick` for a smoke run,
//! or `-- --total-mib N --runs N` to choose the size).
//! Each configuration writes `TOTAL` bytes into a fresh log on the same file system as the
//! working directory, several times, interleaving the modes so machine noise hits both; the
//! table shows the median GB/s and the min-max spread.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark aborts on any failure

use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::{Rng, SeedableRng};
use sluice_benches::{Spread, gb_per_s, machine, percentile};
use sluice_record::BatchBuilder;
use sluice_storage::{LogConfig, PartitionLog, WriteMode};

const MIB: usize = 1 << 20;

fn batch(size: usize) -> Bytes {
    let mut builder = BatchBuilder::with_capacity(size + 1024);
    let value = vec![0x5au8; 1000];
    while builder.size_in_bytes() + 1100 <= size {
        builder.append(1_700_000_000_000, Some(b"key"), Some(&value), &[]);
    }
    builder.build()
}

fn config(mode: WriteMode) -> LogConfig {
    LogConfig {
        write_mode: mode,
        retention_ms: None,
        ..LogConfig::default()
    }
}

/// Appends `total` bytes of `batch` into a new log; returns GB/s.
fn append_run(mode: WriteMode, batch: &Bytes, total: usize, flush: bool) -> f64 {
    let dir = tempfile::tempdir_in(".").unwrap();
    let log = PartitionLog::open(dir.path().join("bench-0"), config(mode)).unwrap();
    let count = total / batch.len();
    let start = Instant::now();
    for _ in 0..count {
        log.append(batch).unwrap();
    }
    if flush {
        log.flush().unwrap();
    }
    let elapsed = start.elapsed();
    drop(log);
    gb_per_s((count * batch.len()) as u64, elapsed)
}

fn read_latency(mode: WriteMode, total: usize) -> (u64, u64, u64) {
    let dir = tempfile::tempdir_in(".").unwrap();
    let log = PartitionLog::open(dir.path().join("bench-0"), config(mode)).unwrap();
    let small = batch(16 * 1024);
    for _ in 0..total / small.len() {
        log.append(&small).unwrap();
    }
    let leo = log.log_end_offset();
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let mut samples: Vec<u64> = (0..20_000)
        .map(|_| {
            let offset = rng.random_range(0..leo);
            let start = Instant::now();
            let slice = log.read(offset, MIB as u64).unwrap();
            let ns = start.elapsed().as_nanos() as u64;
            assert!(slice.len > 0);
            ns
        })
        .collect();
    samples.sort_unstable();
    (
        percentile(&samples, 50.0),
        percentile(&samples, 99.0),
        percentile(&samples, 100.0),
    )
}

/// Opens a log of `total` bytes after a clean close and after a crash; returns milliseconds.
fn reopen_times(mode: WriteMode, total: usize) -> (f64, f64) {
    let dir = tempfile::tempdir_in(".").unwrap();
    let path = dir.path().join("bench-0");
    let small = batch(16 * 1024);
    let log = PartitionLog::open(&path, config(mode)).unwrap();
    for _ in 0..total / small.len() {
        log.append(&small).unwrap();
    }
    log.close().unwrap();
    drop(log);
    let start = Instant::now();
    let log = PartitionLog::open(&path, config(mode)).unwrap();
    let clean = start.elapsed().as_secs_f64() * 1e3;
    drop(log); // a crash: no clean-shutdown marker
    let start = Instant::now();
    let log = PartitionLog::open(&path, config(mode)).unwrap();
    let crashed = start.elapsed().as_secs_f64() * 1e3;
    assert!(log.log_end_offset() > 0);
    (clean, crashed)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse::<usize>().ok())
    };
    let quick = args.iter().any(|a| a == "--quick");
    let (total, reps) = if quick {
        (64 * MIB, 1)
    } else {
        (1024 * MIB, 5)
    };
    // `--total-mib N --runs N` override the sizes (for A/B experiments).
    let total = value("--total-mib").map_or(total, |mib| mib * MIB);
    let reps = value("--runs").unwrap_or(reps);
    println!("machine: {}", machine());
    println!(
        "{} MiB appended per run, {reps} runs each, median GB/s (min-max)\n",
        total / MIB
    );

    // Warm up: the VM hands freed memory back to the host; first touches are slow.
    append_run(WriteMode::Mmap, &batch(MIB), total, false);
    append_run(WriteMode::Write, &batch(MIB), total, false);

    println!("| batch | flush at end | mmap writer GB/s | write() writer GB/s | mmap / write |");
    println!("|---|---|---|---|---|");
    for size in [16 * 1024, MIB] {
        let b = batch(size);
        for flush in [false, true] {
            let (mut mmap, mut write) = (Vec::new(), Vec::new());
            for _ in 0..reps {
                mmap.push(append_run(WriteMode::Mmap, &b, total, flush));
                write.push(append_run(WriteMode::Write, &b, total, flush));
            }
            let (m, w) = (Spread::of(&mut mmap), Spread::of(&mut write));
            let label = if size == MIB {
                "1 MiB".to_owned()
            } else {
                format!("{} KiB", size / 1024)
            };
            println!(
                "| {label} | {} | {m} | {w} | {:.2} |",
                if flush { "yes" } else { "no" },
                m.median / w.median
            );
        }
    }

    println!(
        "\n`read(offset, 1 MiB)` at random offsets of a {} MiB log of 16 KiB batches (20000 lookups)\n",
        total / MIB
    );
    println!("| writer | p50 | p99 | max |");
    println!("|---|---|---|---|");
    for mode in [WriteMode::Mmap, WriteMode::Write] {
        let (p50, p99, max) = read_latency(mode, total);
        let us = |ns: u64| format!("{:.1} µs", Duration::from_nanos(ns).as_secs_f64() * 1e6);
        println!("| {mode:?} | {} | {} | {} |", us(p50), us(p99), us(max));
    }

    println!(
        "\nReopening a {} MiB log of 16 KiB batches (one segment: the crash case scans all of it)\n",
        total / MIB
    );
    println!("| writer | after clean close | after crash (full scan) |");
    println!("|---|---|---|");
    for mode in [WriteMode::Mmap, WriteMode::Write] {
        let (clean, crashed) = reopen_times(mode, total);
        println!("| {mode:?} | {clean:.1} ms | {crashed:.1} ms |");
    }
}
