//! Helpers shared by the storage tests: small configs, random batches, both writers.
#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use std::path::Path;

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sluice_record::{BatchBuilder, RecordBatch};
use sluice_storage::{LogConfig, PartitionLog, WriteMode};

/// Every behavioural test runs against both write strategies.
pub const MODES: [WriteMode; 2] = [WriteMode::Mmap, WriteMode::Write];

pub fn small_config(mode: WriteMode) -> LogConfig {
    LogConfig {
        segment_bytes: 64 * 1024,
        index_interval_bytes: 256,
        max_index_bytes: 4096,
        retention_ms: None,
        max_message_bytes: 16 * 1024,
        write_mode: mode,
        ..LogConfig::default()
    }
}

pub fn open(dir: &Path, config: &LogConfig) -> PartitionLog {
    PartitionLog::open(dir, config.clone()).expect("open log")
}

pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// A batch of 1..=max_records records with random keys and values; timestamps start at `ts`.
pub fn random_batch(rng: &mut StdRng, ts: i64, max_records: usize, max_value: usize) -> Bytes {
    let mut builder = BatchBuilder::new();
    let n = rng.random_range(1..=max_records);
    for i in 0..n {
        let key = format!("k{}", rng.random_range(0..1000));
        let len = rng.random_range(0..=max_value);
        let value: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        builder.append(ts + i as i64, Some(key.as_bytes()), Some(&value), &[]);
    }
    builder.build()
}

pub fn batch_of(ts: i64, values: &[&[u8]]) -> Bytes {
    let mut builder = BatchBuilder::new();
    for (i, v) in values.iter().enumerate() {
        builder.append(ts + i as i64, None, Some(v), &[]);
    }
    builder.build()
}

/// All batches of a log, as stored (with their assigned base offsets).
pub fn all_batches(log: &PartitionLog) -> Vec<Bytes> {
    log.batches(log.log_start_offset())
        .collect::<Result<Vec<_>, _>>()
        .expect("read batches")
}

/// Batch content that recovery can vouch for: everything but partitionLeaderEpoch (bytes
/// 12..16), the one field neither the CRC nor the offset checks cover.
pub fn content(batch: &[u8]) -> Vec<u8> {
    let mut v = batch[..12].to_vec();
    v.extend_from_slice(&batch[16..]);
    v
}

/// Values of all records in a log, in offset order, with their offsets.
pub fn records(log: &PartitionLog) -> Vec<(i64, Vec<u8>)> {
    let mut out = Vec::new();
    for batch in all_batches(log) {
        let batch = RecordBatch::parse(&batch).expect("valid batch");
        let base = batch.header().base_offset;
        for record in batch.records().expect("uncompressed") {
            let record = record.expect("valid record");
            out.push((
                base + i64::from(record.offset_delta),
                record.value.unwrap_or_default().to_vec(),
            ));
        }
    }
    out
}

/// A temporary directory on tmpfs when there is one: for tests whose durability is simulated
/// (or does not matter), where a real disk's bookkeeping for hundreds of short-lived logs would
/// be most of the time.
pub fn scratch() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    let dir = match shm.is_dir() {
        true => tempfile::tempdir_in(shm).or_else(|_| tempfile::tempdir()),
        false => tempfile::tempdir(),
    };
    dir.expect("temporary directory")
}
