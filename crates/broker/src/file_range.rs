//! The one conversion from what storage reads to what the network layer
//! sends: the network crate does not depend on storage, so the broker turns
//! each [`FileSlice`] into a [`FileRange`] as it builds a fetch response.

use sluice_network::FileRange;
use sluice_storage::FileSlice;

/// The bytes of `slice`, to send as a response part. They lie below the
/// high watermark, so they do not change while the range is sent (the
/// `FileRange` contract).
pub(crate) fn file_range(slice: &FileSlice) -> FileRange {
    FileRange {
        file: slice.file.clone(),
        offset: slice.position,
        len: slice.len,
    }
}
