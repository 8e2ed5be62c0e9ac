//! Opening a log: load segments, recover what a crash may have torn, activate the last one.
//!
//! With a clean-shutdown marker every segment is trusted (its indexes are still checked against
//! the log, which costs a few reads), so a clean restart of a large log takes milliseconds.
//! Without it, segments from the one holding the recovery point onward are scanned batch by
//! batch, the log is cut at the first invalid byte, and every later segment is deleted.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64};
use std::sync::{Arc, Condvar, Mutex, RwLock};

use tracing::{info, warn};

use super::{FlushState, LogState, PartitionLog};
use crate::checkpoint::{self, LOG_START, RECOVERY_POINT};
use crate::config::LogConfig;
use crate::error::{IoContext, IoOp, Result};
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
        config.validate()?;
        let dir = dir.into();
        fs::create_dir_all(&dir).ctx(IoOp::Create, &dir)?;
        remove_leftovers(&dir, !config.recycle_segments)?;
        let clean = checkpoint::take_clean_marker(&dir)?;
        let recovery_point = read_checkpoint(&dir, RECOVERY_POINT).filter(|_| !clean);
        let bases = list_segments(&dir)?;
        let segments = load_segments(&dir, &bases, &config, clean, recovery_point)?;
        let mut segments = match segments {
            Some(segments) => segments,
            None => {
                let start = read_checkpoint(&dir, LOG_START).unwrap_or(0).max(0);
                let segment = Segment::create(&dir, start, &config, factory.as_ref(), None)?;
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
        let log_start = read_checkpoint(&dir, LOG_START)
            .unwrap_or(first_base)
            .max(first_base);
        let state = LogState {
            segments,
            log_start_offset: log_start,
            closed: false,
        };
        let leo = state.log_end_offset();
        // What survived a process crash may still sit only in the page cache: make it durable
        // before calling it flushed.
        if let Some(syncer) = state.active().syncer() {
            syncer
                .sync(0, state.active().size())
                .ctx(IoOp::Sync, state.active().log_path())?;
        }
        checkpoint::write_offset(&dir, RECOVERY_POINT, state.active().base_offset)?;
        let (synced_base, synced_position) = (state.active().base_offset, state.active().size());
        info!(dir = %dir.display(), clean, log_start_offset = log_start, log_end_offset = leo, segments = state.segments.len(), "log opened");
        Ok(PartitionLog {
            dir,
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
        if expected_base.is_some_and(|expected| expected != base) {
            warn!(dir = %dir.display(), base, expected = expected_base, "segment does not continue the log; deleting it and all later ones");
            delete_segments(dir, &bases[i..])?;
            break;
        }
        let trusted = if base < scan_from {
            Segment::open_trusted(dir, base, config)?
        } else {
            None
        };
        let segment = match trusted {
            Some(segment) => segment,
            None => {
                let (segment, stop) = Segment::recover(dir, base, config)?;
                if let Some(stop) = stop {
                    warn!(dir = %dir.display(), base, valid_bytes = segment.size(), ?stop, deleted_segments = later.len(), "truncated log at first invalid batch");
                    let segment = seal_unless_last(segment, true)?;
                    segments.insert(base, segment);
                    delete_segments(dir, later)?;
                    break;
                }
                seal_unless_last(segment, later.is_empty())?
            }
        };
        expected_base = Some(segment.next_offset());
        segments.insert(base, segment);
    }
    Ok((!segments.is_empty()).then_some(segments))
}

/// A recovered segment has writable indexes; all but the last are sealed again.
fn seal_unless_last(segment: Segment, last: bool) -> Result<Segment> {
    if last { Ok(segment) } else { segment.seal() }
}

fn delete_segments(dir: &Path, bases: &[i64]) -> Result<()> {
    if bases.is_empty() {
        return Ok(());
    }
    for &base in bases {
        for path in crate::segment::paths(dir, base) {
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(crate::error::StorageError::io(IoOp::Delete, path, e)),
            }
        }
    }
    checkpoint::sync_dir(dir)
}

fn read_checkpoint(dir: &Path, name: &str) -> Option<i64> {
    match checkpoint::read_offset(dir, name) {
        Ok(value) => value,
        Err(error) => {
            warn!(dir = %dir.display(), file = name, %error, "ignoring unreadable checkpoint");
            None
        }
    }
}

/// Base offsets of the `.log` files in `dir`, sorted.
fn list_segments(dir: &Path) -> Result<Vec<i64>> {
    let mut bases = Vec::new();
    for entry in fs::read_dir(dir).ctx(IoOp::ListDir, dir)? {
        let entry = entry.ctx(IoOp::ListDir, dir)?;
        let name = entry.file_name();
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
fn remove_leftovers(dir: &Path, spares: bool) -> Result<()> {
    for entry in fs::read_dir(dir).ctx(IoOp::ListDir, dir)? {
        let entry = entry.ctx(IoOp::ListDir, dir)?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let orphan_index = ["index", "timeindex"].iter().any(|ext| {
            name.strip_suffix(&format!(".{ext}"))
                .is_some_and(|stem| !dir.join(format!("{stem}.log")).exists())
        });
        if name.ends_with(".tmp") || orphan_index || (spares && crate::spare::is_spare(&name)) {
            fs::remove_file(&path).ctx(IoOp::Delete, &path)?;
        }
    }
    Ok(())
}
