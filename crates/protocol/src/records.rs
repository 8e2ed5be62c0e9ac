//! The trailing record bytes of a fetch response.
//!
//! A fetch response frame carries each partition's records after the
//! protobuf body, concatenated in the order of `FetchResponse.partitions`,
//! each `records_len` bytes. The broker uses [`trailing_len`] to size the
//! head it writes before `sendfile`; clients use [`split_records`] to cut
//! the trailing bytes back into per-partition slices.

use bytes::Bytes;

use crate::frame::FrameError;
use crate::pb::FetchResponse;

/// Sum of the partitions' `records_len`: the trailing length the frame must
/// carry. Computed in u64 so many large partitions cannot overflow it.
pub fn trailing_len(response: &FetchResponse) -> u64 {
    response
        .partitions
        .iter()
        .map(|p| u64::from(p.records_len))
        .sum()
}

/// Splits a fetch response's trailing bytes into one slice per partition,
/// in the order of `response.partitions`. The slices share `trailing`'s
/// memory.
///
/// Fails when the `records_len` fields do not add up to `trailing.len()`,
/// since then the slices cannot be trusted.
pub fn split_records(
    response: &FetchResponse,
    mut trailing: Bytes,
) -> Result<Vec<Bytes>, FrameError> {
    let expected = trailing_len(response);
    if expected != trailing.len() as u64 {
        return Err(FrameError::TrailingLengthMismatch {
            expected,
            actual: trailing.len(),
        });
    }
    Ok(response
        .partitions
        .iter()
        // In range: the lengths add up to trailing.len().
        .map(|p| trailing.split_to(p.records_len as usize))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pb::FetchPartitionResponse;

    fn response(lens: &[u32]) -> FetchResponse {
        FetchResponse {
            partitions: lens
                .iter()
                .map(|&records_len| FetchPartitionResponse {
                    records_len,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn splits_in_order() {
        let parts = split_records(&response(&[3, 0, 2]), Bytes::from_static(b"abcde")).unwrap();
        assert_eq!(parts, vec![&b"abc"[..], &b""[..], &b"de"[..]]);
    }

    #[test]
    fn rejects_mismatch() {
        let err = split_records(&response(&[3, 3]), Bytes::from_static(b"abcde")).unwrap_err();
        assert!(matches!(
            err,
            FrameError::TrailingLengthMismatch {
                expected: 6,
                actual: 5
            }
        ));
    }
}
