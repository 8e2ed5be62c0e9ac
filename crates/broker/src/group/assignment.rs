//! Kafka's "consumer" protocol assignment, read so DescribeGroups can show
//! which partitions each member holds.
//!
//! The group coordinator passes assignments through as opaque bytes (the
//! leader decides, the broker does not look). Consumers of protocol type
//! "consumer" all write `ConsumerProtocolAssignment`; the codec (layout,
//! versions, limits) is `sluice_protocol::consumer_protocol`, the one that
//! native consumers write with.

use sluice_protocol::consumer_protocol::{Assignment, TopicPartitions};

pub use sluice_protocol::consumer_protocol::ConsumerProtocolError;

/// Decodes `bytes` into the assigned (topic, partition) pairs, sorted and
/// without duplicates. User data is skipped.
pub fn decode_consumer_assignment(
    bytes: &[u8],
) -> Result<Vec<(String, u32)>, ConsumerProtocolError> {
    Ok(Assignment::decode(bytes)?.pairs())
}

/// Encodes an assignment as a consumer would (version 0, no user data);
/// for tests of DescribeGroups. A topic name too long for the protocol
/// (over 32767 bytes) gives empty bytes, which decode as an error.
pub fn encode_consumer_assignment(topics: &[(&str, &[u32])]) -> Vec<u8> {
    let partitions = topics
        .iter()
        .map(|(topic, partitions)| TopicPartitions::new(*topic, *partitions))
        .collect();
    Assignment::new(partitions).encode().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_sorts_and_dedups() {
        let bytes = encode_consumer_assignment(&[("b", &[1, 0]), ("a", &[2]), ("b", &[1])]);
        assert_eq!(
            decode_consumer_assignment(&bytes).unwrap(),
            vec![("a".into(), 2), ("b".into(), 0), ("b".into(), 1)]
        );
        assert!(decode_consumer_assignment(b"not an assignment at all").is_err());
    }
}
