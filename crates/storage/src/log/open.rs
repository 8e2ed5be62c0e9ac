//! Opening a log: load segments, recover what a crash may have torn, activate the last one.
//!
//! With a clean-shutdown marker every segment is trusted (its indexes are still checked against
//! the log, which costs a few reads), so a clean restart of a large log takes milliseconds.
//! Without it, segments from the one holding the recovery point onward are scanned batch by
//! batch, the log is cut at the first invalid byte, and every later segment is deleted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64};
use std::sync::{Arc, Condvar, Mutex, RwLock};

use tracing::{info, warn};

use super::{FlushState, LogState, PartitionLog};
use crate::backend::{Backend, RealBackend};
use crate::checkpoint::{self, LOG_START, RECOVERY_POINT};
use crate::config::LogConfig;
use crate::error::{IoContext, IoOp, Result, StorageError};
use crate::segment::Segment;
use crate::writer::{DefaultWriterFactory, WriterFactory};

impl PartitionLog {
    /// Opens (creating if needed) the log in `dir` with the writer of `config.write_mode`.
    pub fn open(dir: impl Into<PathBuf>, config: LogConfig) -> Result<PartitionLog> {
        let factory = Arc::new(DefaultWriterFactory(config.write_mode));
        Self::open_with_writer(dir, config, factory)
    }

    /// Opens the log with a caller-chosen writer; tests use it to inject failing writers.
    pub fn open_with_writer(
        dir: impl Into<PathBuf>,
        config: LogConfig,
        factory: Arc<dyn WriterFactory>,
    ) -> Result<PartitionLog> {
        Self::open_with(dir, config, RealBackend::shared(), factory)
    }

    /// Opens the log with every file operation going through `backend` (tests use the fault
    /// injector and the crash simulator of [`crate::backend`]), with the writer of
    /// `config.write_mode`.
    pub fn open_with_backend(
        dir: impl Into<PathBuf>,
        config: LogConfig,
        backend: Arc<dyn Backend>,
    ) -> Result<PartitionLog> {
        let factory = Arc::new(DefaultWriterFactory(config.write_mode));
        Self::open_with(dir, config, backend, factory)
    }

    /// Opens the log with both seams chosen by the caller.
    pub fn open_with(
        dir: impl Into<PathBuf>,
        config: LogConfig,
        fs: Arc<dyn Backend>,
        factory: Arc<dyn WriterFactory>,
    ) -> Result<PartitionLog> {
        config.validate()?;
        let dir = dir.into();
        fs.create_dir_all(&dir).ctx(IoOp::Create, &dir)?;
        remove_leftovers(fs.as_ref(), &dir, !config.recycle_segments)?;
        let clean = checkpoint::take_clean_marker(fs.as_ref(), &dir)?;
        let recovery_point = read_checkpoint(fs.as_ref(), &dir, RECOVERY_POINT).filter(|_| !clean);
        let bases = list_segments(fs.as_ref(), &dir)?;
        let segments = load_segments(&fs, &dir, &bases, &config, clean, recovery_point)?;
        let mut segments = match segments {
            Some(segments) => segments,
            None => {
                let start = read_checkpoint(fs.as_ref(), &dir, LOG_START)
                    .unwrap_or(0)
                    .max(0);
                let segment = Segment::create(&fs, &dir, start, &config, factory.as_ref(), None)?;
                BTreeMap::from([(start, segment)])
            }
        };
        // Activate the last segment (the map is non-empty on both paths above).
        if let Some((&base, _)) = segments.iter().next_back()
            && let Some(last) = segments.remove(&base)
        {
            segments.insert(base, last.activate(&config, factory.as_ref())?);
        }
        let first_base = segments.keys().next().copied().unwrap_or(0);
        let log_start = read_checkpoint(fs.as_ref(), &dir, LOG_START)
            .unwrap_or(first_base)
            .max(first_base);
        let log_end = segments
            .values()
            .next_back()
            .map_or(log_start, Segment::next_offset);
        if log_start > log_end {
            // Retention never moves the start past the end, so the checkpoint or the segments
            // are damaged. Starting over at either offset would reissue offsets or drop data:
            // keep the files and refuse the partition.
            return Err(StorageError::Inconsistent {
                dir: dir.clone(),
                files: vec![dir.join(LOG_START)],
                reason: format!(
                    "the log start checkpoint says {log_start} but the log ends at {log_end}"
                ),
            });
        }
        let state = LogState {
            segments,
            log_start_offset: log_start,
            closed: false,
            sealed_for_close: false,
            sealed_unsynced: false,
        };
        let leo = state.log_end_offset();
        // After a clean close everything is synced and the recovery point already names the
        // active segment (the roll or open that made it active wrote it; a close writes none),
        // so a clean start of many partitions pays no syncs here. After a crash, what survived
        // may still sit only in the page cache: make it durable before calling it flushed, and
        // start the next recovery at this segment.
        if !clean {
            if let Some(syncer) = state.active().syncer() {
                syncer
                    .sync(0, state.active().size())
                    .ctx(IoOp::Sync, state.active().log_path())?;
            }
            // An older recovery point is only slower to recover from: failing to write this one
            // (a full disk) must not keep the log from opening and serving reads.
            let active_base = state.active().base_offset;
            if let Err(error) =
                checkpoint::write_offset(fs.as_ref(), &dir, RECOVERY_POINT, active_base)
            {
                warn!(dir = %dir.display(), error = %error, "cannot advance the recovery point");
            }
        }
        let (synced_base, synced_position) = (state.active().base_offset, state.active().size());
        info!(dir = %dir.display(), clean, log_start_offset = log_start, log_end_offset = leo, segments = state.segments.len(), "log opened");
        Ok(PartitionLog {
            dir,
            fs,
            factory,
            state: RwLock::new(state),
            flush: Mutex::new(FlushState {
                flushed_offset: leo,
                ..FlushState::default()
            }),
            flush_done: Condvar::new(),
            log_end_offset: AtomicI64::new(leo),
            log_start_offset: AtomicI64::new(log_start),
            flushed_offset: AtomicI64::new(leo),
            // Opening synced the active segment (above).
            synced_base: AtomicI64::new(synced_base),
            synced_position: AtomicU64::new(synced_position),
            poisoned: AtomicBool::new(false),
            config,
        })
    }
}

/// Loads every segment in order; returns `None` if the directory holds none.
fn load_segments(
    fs: &Arc<dyn Backend>,
    dir: &Path,
    bases: &[i64],
    config: &LogConfig,
    clean: bool,
    recovery_point: Option<i64>,
) -> Result<Option<BTreeMap<i64, Segment>>> {
    // Segments before the one holding the recovery point were synced and sealed before it was
    // written; from that one on, anything may be torn. No checkpoint after a crash: scan all.
    let scan_from = match (clean, recovery_point) {
        (true, _) => i64::MAX,
        (false, Some(point)) => bases
            .iter()
            .copied()
            .filter(|b| *b <= point)
            .max()
            .unwrap_or(i64::MIN),
        (false, None) => i64::MIN,
    };
    let mut segments = BTreeMap::new();
    let mut expected_base: Option<i64> = None;
    for (i, &base) in bases.iter().enumerate() {
        let later = &bases[i + 1..];
        if let Some(expected) = expected_base
            && expected != base
        {
            // A segment that holds no batch of its own (the leftover of a roll that failed or
            // was cut short) loses nothing when removed; one that holds data is a gap or an
            // overlap in the log, which no crash of this log can produce.
            let path = log_path(dir, base);
            if crate::scan::starts_with_batch(fs.as_ref(), &path, base, config.segment_bytes)? {
                let previous = segments.keys().next_back().copied().unwrap_or(base);
                return Err(inconsistent(
                    dir,
                    &[previous, base],
                    format!(
                        "segment {base} does not continue the log, which ends at {expected} before it"
                    ),
                ));
            }
            warn!(dir = %dir.display(), base, expected, "removing an empty segment that does not continue the log");
            delete_segments(fs.as_ref(), dir, &[base])?;
            continue;
        }
        let trusted = if base < scan_from {
            Segment::open_trusted(fs, dir, base, config)?
        } else {
            None
        };
        let segment = match trusted {
            Some(segment) => segment,
            None => {
                // A torn tail is what a crash leaves in the last segment that holds data; the
                // empty segments a roll may have created after it go with the cut. Damage with
                // data after it is not a crash: nothing is cut.
                let later_data = segments_with_data(fs.as_ref(), dir, later, config)?;
                let may_cut = later_data.is_empty();
                let (segment, stop) = Segment::recover(fs, dir, base, config, may_cut)?;
                if let Some(stop) = stop {
                    if !later_data.is_empty() {
                        let mut files = vec![base];
                        files.extend(later_data);
                        return Err(inconsistent(
                            dir,
                            &files,
                            format!(
                                "segment {base} is damaged ({stop:?}) and later segments hold data"
                            ),
                        ));
                    }
                    warn!(dir = %dir.display(), base, valid_bytes = segment.size(), ?stop, removed_empty_segments = later.len(), "truncated log at first invalid batch");
                    segments.insert(base, segment);
                    delete_segments(fs.as_ref(), dir, later)?;
                    break;
                }
                seal_unless_last(segment, later.is_empty())?
            }
        };
        expected_base = Some(segment.next_offset());
        let mut segment = segment;
        if !later.is_empty() {
            // Sealed: hold no descriptor until a read wants one.
            segment.release_file();
        }
        segments.insert(base, segment);
    }
    Ok((!segments.is_empty()).then_some(segments))
}

fn log_path(dir: &Path, base: i64) -> PathBuf {
    let [log, ..] = crate::segment::paths(dir, base);
    log
}

/// The segments among `bases` that hold at least one batch of their own.
fn segments_with_data(
    fs: &dyn Backend,
    dir: &Path,
    bases: &[i64],
    config: &LogConfig,
) -> Result<Vec<i64>> {
    let mut found = Vec::new();
    for &base in bases {
        let path = log_path(dir, base);
        if crate::scan::starts_with_batch(fs, &path, base, config.segment_bytes)? {
            found.push(base);
        }
    }
    Ok(found)
}

fn inconsistent(dir: &Path, bases: &[i64], reason: String) -> StorageError {
    StorageError::Inconsistent {
        dir: dir.to_owned(),
        files: bases.iter().map(|&base| log_path(dir, base)).collect(),
        reason,
    }
}

/// A recovered segment has writable indexes; all but the last are sealed again.
fn seal_unless_last(mut segment: Segment, last: bool) -> Result<Segment> {
    if !last {
        segment.seal()?;
    }
    Ok(segment)
}

fn delete_segments(fs: &dyn Backend, dir: &Path, bases: &[i64]) -> Result<()> {
    if bases.is_empty() {
        return Ok(());
    }
    for &base in bases {
        crate::segment::remove_files(fs, crate::segment::paths(dir, base))?;
    }
    checkpoint::sync_dir(fs, dir)
}

fn read_checkpoint(fs: &dyn Backend, dir: &Path, name: &str) -> Option<i64> {
    match checkpoint::read_offset(fs, dir, name) {
        Ok(value) => value,
        Err(error) => {
            warn!(dir = %dir.display(), file = name, %error, "ignoring unreadable checkpoint");
            None
        }
    }
}

/// Base offsets of the `.log` files in `dir`, sorted.
fn list_segments(fs: &dyn Backend, dir: &Path) -> Result<Vec<i64>> {
    let mut bases = Vec::new();
    for name in fs.list_dir(dir).ctx(IoOp::ListDir, dir)? {
        // Not a `.log`: indexes, checkpoints, spares (`spare-<n>.spare`).
        let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".log")) else {
            continue;
        };
        match stem.parse::<i64>() {
            Ok(base) if stem.len() == 20 && base >= 0 => bases.push(base),
            _ => warn!(dir = %dir.display(), file = ?name, "ignoring file that is not a segment"),
        }
    }
    bases.sort_unstable();
    Ok(bases)
}

/// Removes half-written checkpoint temp files, indexes whose log is gone, and (when recycling is
/// off) spare segment files.
fn remove_leftovers(fs: &dyn Backend, dir: &Path, spares: bool) -> Result<()> {
    let names = fs.list_dir(dir).ctx(IoOp::ListDir, dir)?;
    for name in names {
        let path = dir.join(&name);
        let name = name.to_string_lossy().into_owned();
        let log_missing = |stem: &str| {
            let log = dir.join(format!("{stem}.log"));
            fs.exists(&log)
                .ctx(IoOp::ListDir, &log)
                .map(|exists| !exists)
        };
        let orphan_index = match ["index", "timeindex"]
            .iter()
            .find_map(|ext| name.strip_suffix(&format!(".{ext}")))
        {
            Some(stem) => log_missing(stem)?,
            None => false,
        };
        if name.ends_with(".tmp") || orphan_index || (spares && crate::spare::is_spare(&name)) {
            fs.remove_file(&path).ctx(IoOp::Delete, &path)?;
        }
    }
    Ok(())
}
