//! The only `unsafe` in this crate: mapping a segment file for the `mmap`
//! transfer mode. (`sendfile` and `splice` go through nix's safe wrappers
//! on borrowed file descriptors.)

use std::io;

use memmap2::{Mmap, MmapOptions};
use sluice_storage::FileSlice;

/// Maps `slice` read-only. memmap2 aligns the offset down to a page itself.
pub(super) fn map_slice(slice: &FileSlice) -> io::Result<Mmap> {
    let len = usize::try_from(slice.len).map_err(io::Error::other)?;
    let end = slice
        .position
        .checked_add(slice.len)
        .ok_or_else(|| io::Error::other("slice end overflows"))?;
    if slice.file.metadata()?.len() < end {
        // Mapping past the end of a file would make reading it fault (SIGBUS).
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "segment file ended before the end of the fetch slice",
        ));
    }
    // SAFETY: the range lies inside the file (checked just above), and the
    // storage engine never rewrites or truncates bytes below the high
    // watermark, which is where every fetch slice comes from: a segment is
    // only ever appended to, and retention deletes whole files (the open
    // `Arc<File>` keeps a deleted file's pages alive). Recovery truncation
    // happens only at open, before any slice exists. So the mapped bytes do
    // not change or disappear while the `Mmap` lives.
    unsafe {
        MmapOptions::new()
            .offset(slice.position)
            .len(len)
            .map(&*slice.file)
    }
}
