//! Target `storage_open`: a partition directory whose files are fuzz bytes, opened with
//! `PartitionLog::open` (recovery, or the trusted path after a clean shutdown) and read back in
//! full; then one append, a clean close and a second open.
//!
//! # Input
//! An 8-byte head, then the file contents:
//!
//! ```text
//! flags u8 | log_start u8 | index_len u16 | timeindex_len u16 | split u16 | index | timeindex | log
//! ```
//!
//! All lengths big-endian and cut to what the input holds. `flags`: bit 0 writes the
//! clean-shutdown marker (so segments are opened trusted, indexes and all), bit 1 the `.index`,
//! bit 2 the `.timeindex`, bit 3 a recovery point at the last segment's base, bit 4 a
//! log-start checkpoint of `log_start`, bit 5 picks the `pwrite` writer instead of mmap. A
//! non-zero `split` cuts the log bytes into two segments there; the second is named after the
//! offset where the first one's valid batches end, as a roll would name it. Both segments get
//! the same index bytes.
//!
//! # Checks
//! - Opening never panics and never fails: recovery cuts whatever is not a valid batch.
//! - Everything the log then returns is whole, valid batches with contiguous offsets, ending at
//!   the log end offset; with one segment they are exactly a prefix of the `.log` bytes;
//!   `read` at every batch's offset returns that batch first, and at the log end nothing. This
//!   holds unless the input puts corrupt bytes where `open` trusts them by design (see
//!   `trusted_bytes_are_valid`); then reads may fail, but not panic.
//! - The opened log takes an append at its log end offset, and after a clean close reopens to
//!   the same reads (plus the appended batch).
//!
//! Its two findings so far (README.md, `artifacts-fixed/storage_open/`) are fixed and replayed
//! by `tests/seeds.rs`.

use std::path::Path;

use bytes::Bytes;
use sluice_record::{BatchIter, RecordBatch};
use sluice_storage::{LogConfig, PartitionLog, WriteMode};

const HEAD_LEN: usize = 8;

const SEGMENT_BYTES: u64 = 256 << 10;

/// Small sizes so short inputs reach index entries and every limit.
fn config(write_mode: WriteMode) -> LogConfig {
    LogConfig {
        segment_bytes: SEGMENT_BYTES,
        index_interval_bytes: 128,
        max_index_bytes: 4096,
        max_message_bytes: SEGMENT_BYTES,
        write_mode,
        ..LogConfig::default()
    }
}

/// The directory an input describes.
#[derive(Debug, Default)]
struct Layout<'a> {
    clean: bool,
    index: Option<&'a [u8]>,
    timeindex: Option<&'a [u8]>,
    recovery_point: bool,
    log_start: Option<i64>,
    write_mode: WriteMode,
    /// One or two `.log` files.
    logs: Vec<&'a [u8]>,
}

fn parse(data: &[u8]) -> Layout<'_> {
    let mut head = [0u8; HEAD_LEN];
    let n = data.len().min(HEAD_LEN);
    head[..n].copy_from_slice(&data[..n]);
    let mut rest = &data[n..];
    let mut take = |len: usize| {
        let (part, tail) = rest.split_at(len.min(rest.len()));
        rest = tail;
        part
    };
    let [flags, log_start, i0, i1, t0, t1, s0, s1] = head;
    let index = take(usize::from(u16::from_be_bytes([i0, i1])));
    let timeindex = take(usize::from(u16::from_be_bytes([t0, t1])));
    let split = usize::from(u16::from_be_bytes([s0, s1]));
    let log = take(usize::MAX);
    let logs = if split == 0 {
        vec![log]
    } else {
        let (a, b) = log.split_at(split.min(log.len()));
        vec![a, b]
    };
    Layout {
        clean: flags & 1 != 0,
        index: (flags & 2 != 0).then_some(index),
        timeindex: (flags & 4 != 0).then_some(timeindex),
        recovery_point: flags & 8 != 0,
        log_start: (flags & 16 != 0).then_some(i64::from(log_start)),
        write_mode: if flags & 32 != 0 {
            WriteMode::Write
        } else {
            WriteMode::Mmap
        },
        logs,
    }
}

/// Where the valid batches at the start of `log` end, as the next offset (or `base` if none).
fn next_offset_after(log: &[u8], base: i64) -> i64 {
    BatchIter::new(log)
        .map_while(Result::ok)
        .last()
        .map_or(base, |b| b.header().next_offset())
}

/// Writes the directory; returns each segment's base offset.
fn write(dir: &Path, layout: &Layout<'_>) -> std::io::Result<Vec<i64>> {
    let mut bases = Vec::new();
    let mut base = 0;
    let mut last_base = 0;
    for log in &layout.logs {
        let stem = format!("{base:020}");
        std::fs::write(dir.join(format!("{stem}.log")), log)?;
        if let Some(index) = layout.index {
            std::fs::write(dir.join(format!("{stem}.index")), index)?;
        }
        if let Some(timeindex) = layout.timeindex {
            std::fs::write(dir.join(format!("{stem}.timeindex")), timeindex)?;
        }
        last_base = base;
        bases.push(base);
        base = next_offset_after(log, base).max(base + 1);
    }
    if layout.clean {
        std::fs::write(dir.join(".clean-shutdown"), b"clean\n")?;
    }
    if layout.recovery_point {
        std::fs::write(
            dir.join("recovery-point-checkpoint"),
            format!("0\n{last_base}\n"),
        )?;
    }
    if let Some(start) = layout.log_start {
        std::fs::write(
            dir.join("log-start-offset-checkpoint"),
            format!("0\n{start}\n"),
        )?;
    }
    Ok(bases)
}

/// A scratch directory in memory when the machine has one: the target syncs files often.
fn scratch() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        tempfile::Builder::new()
            .prefix("sluice-fuzz-")
            .tempdir_in(shm)
    } else {
        tempfile::Builder::new().prefix("sluice-fuzz-").tempdir()
    };
    dir.unwrap_or_else(|e| panic!("scratch directory: {e}"))
}

pub fn run(data: &[u8]) {
    let layout = parse(data);
    let scratch = scratch();
    let dir = scratch.path().join("fuzz-0");
    std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    let bases = write(&dir, &layout).unwrap_or_else(|e| panic!("write the input files: {e}"));
    let sound = trusted_bytes_are_valid(&layout, &bases);

    let config = config(layout.write_mode);
    let log = match PartitionLog::open(&dir, config.clone()) {
        Ok(log) => log,
        // Files that do not form one log (a gap, damage with data after it, a log start past
        // the end) are refused and kept: an answer, not a failure.
        Err(sluice_storage::StorageError::Inconsistent { .. }) => return,
        Err(e) => panic!("open failed on a recoverable directory: {e}"),
    };
    let first = read_all(&log, sound);
    if sound {
        first.assert_valid();
        if layout.logs.len() == 1 && layout.log_start.is_none() {
            let read: Vec<u8> = first
                .batches
                .iter()
                .flat_map(|b| b.iter().copied())
                .collect();
            assert!(
                layout.logs[0].starts_with(&read),
                "read back bytes that are not a prefix of the segment file"
            );
            assert_eq!(log.size_bytes(), read.len() as u64);
        }
        check_reads(&log, &first.batches);
    } else {
        // Trusted garbage may read back as errors, but never as a panic or a hang.
        let (start, end) = (log.log_start_offset(), log.log_end_offset());
        for offset in start..=end.min(start.saturating_add(64)) {
            let _ = log.read(offset, 4096).map(|slice| slice.read_to_bytes());
        }
    }
    let _ = log.offset_for_timestamp(i64::MIN);
    let _ = log.offset_for_timestamp(crate::seed::BASE_TIMESTAMP);
    let _ = log.offset_for_timestamp(i64::MAX);

    // The opened log accepts an append at its end and keeps everything over a clean restart.
    let leo = log.log_end_offset();
    let appended = crate::seed::batch(0, 2);
    match log.append(&appended) {
        Ok(info) => assert_eq!(info.base_offset, leo, "append not at the log end"),
        Err(e) => panic!("append after open failed: {e}"),
    }
    let before = read_all(&log, sound);
    if sound {
        before.assert_valid();
        assert_eq!(
            before.batches.len(),
            first.batches.len() + 1,
            "the appended batch is not read back"
        );
    }
    if let Err(e) = log.close() {
        panic!("close failed: {e}");
    }
    drop(log);
    let again = match PartitionLog::open(&dir, config) {
        Ok(log) => log,
        Err(e) => panic!("reopen after a clean close failed: {e}"),
    };
    assert_eq!(
        read_all(&again, sound),
        before,
        "a clean restart changed what the log reads"
    );
    let _ = again.close();
}

/// Whether every byte that `open` takes on trust is a valid batch continuing the offsets.
///
/// After a clean shutdown (and, without one, for the segments below the recovery point) a
/// segment's bytes up to its last index entry are trusted, by design, as Kafka trusts them:
/// only what follows is validated. If the fuzz bytes put a corrupt batch there, reading it
/// back is allowed to fail, so the strong checks apply only when nothing trusted is corrupt.
/// Segments opened by a recovery scan are always held to them.
fn trusted_bytes_are_valid(layout: &Layout<'_>, bases: &[i64]) -> bool {
    let last = layout.logs.len().saturating_sub(1);
    layout
        .logs
        .iter()
        .zip(bases)
        .enumerate()
        .all(|(i, (log, &base))| {
            let trusted = layout.clean || (layout.recovery_point && i < last);
            !trusted || is_whole_log(log, base)
        })
}

/// `log` is nothing but valid batches, offsets contiguous from `base`, each within the size a
/// segment allows.
fn is_whole_log(log: &[u8], base: i64) -> bool {
    let mut iter = BatchIter::new(log);
    let mut next = base;
    for batch in iter.by_ref() {
        let Ok(batch) = batch else {
            return false;
        };
        if batch.header().base_offset != next || batch.as_bytes().len() as u64 > SEGMENT_BYTES {
            return false;
        }
        next = batch.header().next_offset();
    }
    !iter.has_partial_tail()
}

/// What reading a log from its start gave: the batches up to the first error, and that error.
#[derive(Debug, PartialEq)]
struct ReadBack {
    batches: Vec<Bytes>,
    /// The first error, as text (`StorageError` is not `PartialEq`).
    error: Option<String>,
    /// Where the checks of `read_all` first failed, if they did.
    invalid: Option<String>,
}

impl ReadBack {
    fn assert_valid(&self) {
        if let Some(error) = &self.error {
            panic!("reading the opened log failed: {error}");
        }
        if let Some(invalid) = &self.invalid {
            panic!("{invalid}");
        }
    }
}

/// Every batch from the log start on, each checked to be whole and valid and to continue the
/// offsets of the one before, read with `PartitionLog::batches` (over trusted garbage, `sound`
/// false, it must end, with an error where the garbage starts).
fn read_all(log: &PartitionLog, _sound: bool) -> ReadBack {
    let start = log.log_start_offset();
    let end = log.log_end_offset();
    assert!(start <= end, "log start {start} is past the log end {end}");
    let mut out = ReadBack {
        batches: Vec::new(),
        error: None,
        invalid: None,
    };
    let batches = log.batches(start).map(|b| b.map_err(|e| e.to_string()));
    let mut next: Option<i64> = None;
    for batch in batches {
        let bytes = match batch {
            Ok(bytes) => bytes,
            Err(e) => {
                out.error = Some(e);
                return out;
            }
        };
        let problem = match RecordBatch::parse(&bytes) {
            Err(e) => Some(format!("the log returned an invalid batch: {e}")),
            Ok(parsed) => {
                let header = parsed.header();
                let problem = match next {
                    None if header.last_offset() < start => {
                        Some("the first batch ends before the log start".to_owned())
                    }
                    Some(expected) if header.base_offset != expected => Some(format!(
                        "offset gap: expected {expected}, read {}",
                        header.base_offset
                    )),
                    _ => None,
                };
                next = Some(header.next_offset());
                problem
            }
        };
        if out.invalid.is_none() {
            out.invalid = problem;
        }
        out.batches.push(bytes);
    }
    if let Some(next) = next
        && next != end
        && out.invalid.is_none()
    {
        out.invalid = Some(format!(
            "the batches end at {next}, the log end offset is {end}"
        ));
    }
    out
}

fn check_reads(log: &PartitionLog, batches: &[Bytes]) {
    for batch in batches {
        let Ok(parsed) = RecordBatch::parse(batch) else {
            continue;
        };
        let offset = parsed.header().base_offset.max(log.log_start_offset());
        let slice = log
            .read(offset, 1)
            .unwrap_or_else(|e| panic!("read at {offset} failed: {e}"));
        let bytes = slice
            .read_to_bytes()
            .unwrap_or_else(|e| panic!("reading a slice failed: {e}"));
        assert_eq!(
            &bytes[..],
            &batch[..],
            "read at {offset} returned another batch"
        );
    }
    let end = log.log_end_offset();
    let slice = log
        .read(end, 1 << 20)
        .unwrap_or_else(|e| panic!("read at the log end failed: {e}"));
    assert_eq!(slice.len, 0, "read at the log end returned bytes");
    assert!(log.read(end.saturating_add(1), 1).is_err());
}

/// Encodes a layout as an input (the inverse of `parse`).
fn encode(flags: u8, index: &[u8], timeindex: &[u8], split: usize, log: &[u8]) -> Vec<u8> {
    let len16 = |n: usize| u16::try_from(n).unwrap_or_else(|_| panic!("seed part too long"));
    let mut out = vec![flags, 0];
    out.extend_from_slice(&len16(index.len()).to_be_bytes());
    out.extend_from_slice(&len16(timeindex.len()).to_be_bytes());
    out.extend_from_slice(&len16(split).to_be_bytes());
    out.extend_from_slice(index);
    out.extend_from_slice(timeindex);
    out.extend_from_slice(log);
    out
}

/// Directories the log itself wrote (so the indexes are real), cleanly closed and crashed,
/// plus a torn tail and a two-segment log.
pub fn seeds() -> crate::Seeds {
    let scratch = scratch();
    let dir = scratch.path().join("seed-0");
    let log = PartitionLog::open(&dir, config(WriteMode::Mmap))
        .unwrap_or_else(|e| panic!("seed log: {e}"));
    for records in [3, 1, 4, 2, 5] {
        log.append(&crate::seed::batch(0, records))
            .unwrap_or_else(|e| panic!("seed append: {e}"));
    }
    log.close().unwrap_or_else(|e| panic!("seed close: {e}"));
    drop(log);
    let read = |ext: &str| {
        let path = dir.join(format!("{:020}.{ext}", 0));
        std::fs::read(&path).unwrap_or_else(|e| panic!("seed {}: {e}", path.display()))
    };
    let (log, index, timeindex) = (read("log"), read("index"), read("timeindex"));

    let mut torn = log.clone();
    torn.extend_from_slice(&crate::seed::batch(15, 2)[..30]);
    let first = crate::seed::batch(0, 3);
    let mut two = first.to_vec();
    two.extend_from_slice(&crate::seed::batch(3, 2));
    let all_files = 1 | 2 | 4 | 8 | 16;

    vec![
        (
            "clean".to_owned(),
            encode(1 | 2 | 4, &index, &timeindex, 0, &log),
        ),
        (
            "crashed".to_owned(),
            encode(2 | 4, &index, &timeindex, 0, &log),
        ),
        ("torn-tail".to_owned(), encode(0, &[], &[], 0, &torn)),
        ("pwrite".to_owned(), encode(32, &[], &[], 0, &log)),
        (
            "two-segments".to_owned(),
            encode(all_files, &index, &timeindex, first.len(), &two),
        ),
    ]
}
