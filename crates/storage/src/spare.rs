//! Recycling segment files: a segment that retention removes becomes the file of a later segment
//! of the same partition instead of being unlinked.
//!
//! A new segment written into a fresh file needs fresh page-cache pages (allocated, zeroed,
//! faulted in) and fresh disk blocks; one written over a recycled file overwrites pages that are
//! usually still cached and blocks that are already allocated. On this project's virtual machines
//! the difference is large: the first store into memory the host has taken back runs at about
//! 0.5 GB/s, an overwrite of cached pages at over 10 GB/s. A broker in steady state (retention
//! deleting what producers add) then appends into memory it already has, as Postgres does by
//! recycling WAL segments.
//!
//! Recycling is off unless `LogConfig::recycle_segments` is set: a file sent with `sendfile` or
//! `splice` stays referenced, page by page, by socket buffers the process cannot see into, so
//! only a broker whose transfer mode copies may overwrite a removed segment's pages.
//!
//! Safety rests on two facts. A recycled file still holds its old batches past the new data, and
//! every one of them has an offset below the new segment's base (retention only removes segments
//! below the log start, and offsets only grow), so recovery, which requires each batch to
//! continue the offsets exactly, can never take them for data: it stops at the first old batch
//! as it stops at zeros. That holds for a torn append too, because an append writes a batch's
//! base offset after the rest of it (`Segment::append`): a batch cut short keeps the old base
//! offset in front. (What it cannot rule out: a power loss that persists the page holding a new
//! header's first bytes but not the next page, when that page boundary falls within those first
//! 21 bytes, before the CRC, and an old batch of the same length starts at the same position.
//! Only a sync between the two writes would close that, at a cost the log does not pay.) And a
//! file is recycled only when nothing else holds it: a fetch that is
//! still sending from the removed segment keeps its handle, and then the file is unlinked as
//! before, so a reader never sees its bytes change.
//!
//! Spares live beside the segments as `spare-<n>.spare` (never taken for segments by the loader)
//! and count against the disk, not against the log's retention size: a partition keeps at most
//! [`SLOTS`] of them, and drops one that no roll has taken for [`MAX_IDLE_MS`], so a partition
//! that went quiet does not hold segments of disk forever. The rename that turns a spare into a segment is made durable (directory
//! sync) before the segment takes data, so a power loss cannot hide flushed batches under a
//! spare's name.

use std::path::{Path, PathBuf};

use crate::backend::Backend;

/// Spare files kept per partition: enough that retention, which runs on a timer, can stay a roll
/// ahead of a fast producer.
pub(crate) const SLOTS: usize = 2;

/// How long a spare may wait for a roll before retention deletes it: a partition that does not
/// roll within ten minutes gains little from a warm file, and the disk is better given back.
pub(crate) const MAX_IDLE_MS: i64 = 10 * 60 * 1000;

const SUFFIX: &str = ".spare";

fn slot(dir: &Path, index: usize) -> PathBuf {
    dir.join(format!("spare-{index}{SUFFIX}"))
}

/// Whether `name` is a spare's file name.
pub(crate) fn is_spare(name: &str) -> bool {
    name.starts_with("spare-") && name.ends_with(SUFFIX)
}

/// A spare file to build the next segment on, if the partition has one.
pub(crate) fn take(fs: &dyn Backend, dir: &Path) -> Option<PathBuf> {
    (0..SLOTS)
        .map(|i| slot(dir, i))
        .find(|path| fs.exists(path).unwrap_or(false))
}

/// A free spare slot, if the partition has fewer than [`SLOTS`] spares. A slot that cannot be
/// checked counts as taken: renaming over a spare would be harmless, but guessing is not needed.
pub(crate) fn free_slot(fs: &dyn Backend, dir: &Path) -> Option<PathBuf> {
    (0..SLOTS)
        .map(|i| slot(dir, i))
        .find(|path| !fs.exists(path).unwrap_or(true))
}

/// Deletes the spares that have waited more than [`MAX_IDLE_MS`] at `now_ms` (milliseconds since
/// the epoch). A spare's status-change time is when it became a spare (the rename sets it).
/// Returns how many were deleted. Never fails: a roll may take a spare while this runs (it is
/// then simply gone), and a spare that cannot be deleted must not stop retention itself.
pub(crate) fn expire(fs: &dyn Backend, dir: &Path, now_ms: i64) -> usize {
    let mut deleted = 0;
    for path in (0..SLOTS).map(|i| slot(dir, i)) {
        let Ok(since_ms) = fs.changed_ms(&path) else {
            continue;
        };
        if now_ms.saturating_sub(since_ms) <= MAX_IDLE_MS {
            continue;
        }
        match fs.remove_file(&path) {
            Ok(()) => deleted += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "cannot delete an idle spare segment file");
            }
        }
    }
    deleted
}
