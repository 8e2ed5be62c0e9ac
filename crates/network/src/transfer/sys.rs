//! The only `unsafe` in this crate: mapping a file range for the `mmap`
//! transfer mode. (`sendfile` and `splice` go through nix's safe wrappers
//! on borrowed file descriptors.)

use std::io;

use memmap2::{Mmap, MmapOptions};

use crate::file_range::FileRange;

/// Maps `range` read-only. memmap2 aligns the offset down to a page itself.
pub(super) fn map_range(range: &FileRange) -> io::Result<Mmap> {
    let len = usize::try_from(range.len).map_err(io::Error::other)?;
    let end = range.end()?;
    if range.file.metadata()?.len() < end {
        // Mapping past the end of a file would make reading it fault (SIGBUS).
        return Err(super::short_file());
    }
    // SAFETY: the range lies inside the file (checked just above), and its
    // bytes do not change while it is in a response (the `FileRange`
    // contract). The broker builds every range from a storage read, which
    // lies below the high watermark: the storage engine never rewrites or
    // truncates those bytes, since a segment is only ever appended to and
    // retention deletes whole files (the open `Arc<File>` keeps a deleted
    // file's pages alive); recovery truncation happens only at open, before
    // any read. So the mapped bytes do not change or disappear while the
    // `Mmap` lives.
    unsafe {
        MmapOptions::new()
            .offset(range.offset)
            .len(len)
            .map(&*range.file)
    }
}
