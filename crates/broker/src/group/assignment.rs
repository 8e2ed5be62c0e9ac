//! Kafka's "consumer" protocol assignment, read so DescribeGroups can show
//! which partitions each member holds.
//!
//! The group coordinator passes assignments through as opaque bytes (the
//! leader decides, the broker does not look). Consumers of protocol type
//! "consumer" all write `ConsumerProtocolAssignment` (Kafka's
//! `ConsumerProtocolAssignment.json`, versions 0-3 identical on the wire,
//! never flexible), big-endian:
//!
//! ```text
//! version             int16
//! assigned_partitions int32 count, then per topic:
//!     topic           int16 length + UTF-8
//!     partitions      int32 count, then int32 each
//! user_data           int32 length (-1 = null) + bytes
//! ```
//!
//! As Kafka does for newer versions than it knows, anything after the
//! fields is ignored. Decoding never panics and never allocates from an
//! unchecked length: a count larger than the bytes left is an error.

use std::collections::BTreeSet;

/// What does not parse as a consumer protocol assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AssignmentError {
    #[error("assignment cut short at byte {at}")]
    Truncated { at: usize },
    #[error("negative version {version}")]
    NegativeVersion { version: i16 },
    #[error("negative {what} count at byte {at}")]
    NegativeCount { what: &'static str, at: usize },
    #[error("topic name is not UTF-8 at byte {at}")]
    InvalidTopic { at: usize },
    #[error("negative partition number at byte {at}")]
    NegativePartition { at: usize },
}

/// Decodes `bytes` into the assigned (topic, partition) pairs, sorted and
/// without duplicates. User data is skipped.
pub fn decode_consumer_assignment(bytes: &[u8]) -> Result<Vec<(String, u32)>, AssignmentError> {
    let mut r = Reader { bytes, at: 0 };
    let version = r.i16()?;
    if version < 0 {
        return Err(AssignmentError::NegativeVersion { version });
    }
    let mut out = BTreeSet::new();
    let topics = r.count("topic", 2 + 4)?;
    for _ in 0..topics {
        let at = r.at;
        let len = usize::try_from(r.i16()?)
            .ok()
            .ok_or(AssignmentError::NegativeCount {
                what: "topic name",
                at,
            })?;
        let name = std::str::from_utf8(r.take(len)?)
            .map_err(|e| AssignmentError::InvalidTopic {
                at: at + 2 + e.valid_up_to(),
            })?
            .to_owned();
        let partitions = r.count("partition", 4)?;
        for _ in 0..partitions {
            let at = r.at;
            let partition = u32::try_from(r.i32()?)
                .ok()
                .ok_or(AssignmentError::NegativePartition { at })?;
            out.insert((name.clone(), partition));
        }
    }
    // user_data: a nullable int32-length byte string. Read to check the
    // bytes are whole; its content belongs to the assignor.
    // -1 (null) and other negative lengths carry no bytes.
    if let Ok(len) = usize::try_from(r.i32()?) {
        r.take(len)?;
    }
    Ok(out.into_iter().collect())
}

/// A bounds-checked big-endian reader.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], AssignmentError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or(AssignmentError::Truncated { at: self.at })?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn i16(&mut self) -> Result<i16, AssignmentError> {
        let b = self.take(2)?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }

    fn i32(&mut self) -> Result<i32, AssignmentError> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// An array count, checked against the bytes left given each element
    /// takes at least `min_element` bytes.
    fn count(&mut self, what: &'static str, min_element: usize) -> Result<usize, AssignmentError> {
        let at = self.at;
        let n = usize::try_from(self.i32()?)
            .ok()
            .ok_or(AssignmentError::NegativeCount { what, at })?;
        let left = self.bytes.len() - self.at;
        if n.saturating_mul(min_element) > left {
            return Err(AssignmentError::Truncated { at });
        }
        Ok(n)
    }
}

/// Encodes an assignment as a consumer would (version 0, no user data);
/// for tests of the decoder and of DescribeGroups.
pub fn encode_consumer_assignment(topics: &[(&str, &[u32])]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0i16.to_be_bytes());
    out.extend_from_slice(&len_i32(topics.len()).to_be_bytes());
    for (topic, partitions) in topics {
        let len = i16::try_from(topic.len()).unwrap_or(i16::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(topic.as_bytes());
        out.extend_from_slice(&len_i32(partitions.len()).to_be_bytes());
        for p in *partitions {
            out.extend_from_slice(&i32::try_from(*p).unwrap_or(i32::MAX).to_be_bytes());
        }
    }
    out.extend_from_slice(&(-1i32).to_be_bytes());
    out
}

fn len_i32(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let bytes = encode_consumer_assignment(&[("b", &[1, 0]), ("a", &[2])]);
        assert_eq!(
            decode_consumer_assignment(&bytes).unwrap(),
            vec![("a".into(), 2), ("b".into(), 0), ("b".into(), 1)]
        );
    }

    #[test]
    fn known_bytes_with_user_data_and_a_newer_version() {
        // version 3, [("t", [0, 5])], user data "ud", then bytes a newer
        // version might add.
        let mut bytes = vec![
            0, 3, 0, 0, 0, 1, 0, 1, b't', 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 5,
        ];
        bytes.extend_from_slice(&[0, 0, 0, 2, b'u', b'd', 9, 9]);
        assert_eq!(
            decode_consumer_assignment(&bytes).unwrap(),
            vec![("t".into(), 0), ("t".into(), 5)]
        );
    }

    #[test]
    fn every_cut_is_an_error() {
        let bytes = encode_consumer_assignment(&[("orders", &[0, 1, 2])]);
        for cut in 0..bytes.len() {
            assert!(
                decode_consumer_assignment(&bytes[..cut]).is_err(),
                "cut {cut}"
            );
        }
    }

    proptest::proptest! {
        /// Arbitrary bytes: an error or an assignment, never a panic; and
        /// whatever an encoder writes decodes back.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)) {
            let _ = decode_consumer_assignment(&bytes);
        }

        #[test]
        fn encoded_assignments_decode(partitions in proptest::collection::vec(0u32..1000, 0..20)) {
            let bytes = encode_consumer_assignment(&[("t", &partitions)]);
            let mut want: Vec<(String, u32)> = partitions.iter().map(|p| ("t".to_owned(), *p)).collect();
            want.sort();
            want.dedup();
            proptest::prop_assert_eq!(decode_consumer_assignment(&bytes).unwrap(), want);
        }
    }

    #[test]
    fn huge_counts_are_refused_before_looping() {
        let bytes = [0, 0, 0x7f, 0xff, 0xff, 0xff];
        assert_eq!(
            decode_consumer_assignment(&bytes),
            Err(AssignmentError::Truncated { at: 2 })
        );
        let negative = [0, 0, 0xff, 0xff, 0xff, 0xff];
        assert!(matches!(
            decode_consumer_assignment(&negative),
            Err(AssignmentError::NegativeCount { .. })
        ));
        assert!(decode_consumer_assignment(b"not an assignment at all").is_err());
    }
}
