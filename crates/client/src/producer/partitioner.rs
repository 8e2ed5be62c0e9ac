//! Choosing a partition: Kafka's murmur2 for keyed records, a sticky
//! partition per topic for unkeyed ones.

use std::collections::HashMap;

/// Kafka's `Utils.murmur2`, bit for bit: seed `0x9747b28c`,
/// `m = 0x5bd1e995`, `r = 24`, little-endian 4-byte blocks. Returns the
/// same signed value as the Java client.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;

    // Java: `int h = seed ^ length`, with the length as a 32-bit int.
    let mut h = SEED ^ (data.len() as u32);
    let mut blocks = data.chunks_exact(4);
    for block in &mut blocks {
        let mut k = u32::from_le_bytes([block[0], block[1], block[2], block[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = blocks.remainder();
    // Java's fall-through switch on length % 4.
    if tail.len() == 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// Kafka's `Utils.toPositive`: clears the sign bit (not `abs`, which
/// overflows on `i32::MIN`).
pub fn to_positive(n: i32) -> i32 {
    n & 0x7fff_ffff
}

/// The partition Kafka's default partitioner picks for `key`:
/// `toPositive(murmur2(key)) % partitions`. `partitions` must be nonzero.
pub fn partition_for_key(key: &[u8], partitions: u32) -> u32 {
    to_positive(murmur2(key)).unsigned_abs() % partitions.max(1)
}

/// Picks partitions for records without an explicit one.
///
/// Keyed records go where Kafka's Java client would put them. Unkeyed
/// records stick to one partition per topic until its batch is closed
/// (full or sent), then move to the next partition: batches fill up
/// instead of one record landing in each partition's batch, and over time
/// the load spreads round robin.
#[derive(Debug)]
pub(crate) struct Partitioner {
    sticky: HashMap<String, u32>,
    /// Where a topic's sticky partition starts; random in production so
    /// many producers do not all start on partition 0.
    start: u32,
}

impl Partitioner {
    pub fn new(start: u32) -> Self {
        Partitioner {
            sticky: HashMap::new(),
            start,
        }
    }

    /// The partition for a record of `topic` with `key`, among `partitions`.
    pub fn partition(&mut self, topic: &str, key: Option<&[u8]>, partitions: u32) -> u32 {
        let partitions = partitions.max(1);
        match key {
            Some(key) => partition_for_key(key, partitions),
            None => {
                let start = self.start;
                let sticky = self
                    .sticky
                    .entry(topic.to_owned())
                    .or_insert(start % partitions);
                // The partition count may have changed since.
                *sticky %= partitions;
                *sticky
            }
        }
    }

    /// A batch of `topic`/`partition` was closed: if it was the sticky
    /// one, move on to the next partition.
    pub fn batch_closed(&mut self, topic: &str, partition: u32, partitions: u32) {
        if let Some(sticky) = self.sticky.get_mut(topic)
            && *sticky == partition
        {
            *sticky = (partition + 1) % partitions.max(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Kafka's `UtilsTest.testMurmur2` vectors
    /// (clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java).
    #[test]
    fn murmur2_matches_kafka() {
        let cases: [(&[u8], i32); 6] = [
            (b"21", -973_932_308),
            (b"foobar", -790_332_482),
            (b"a-little-bit-long-string", -985_981_536),
            (b"a-little-bit-longer-string", -1_486_304_829),
            (
                b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58_897_971,
            ),
            (b"abc", 479_470_107),
        ];
        for (key, hash) in cases {
            assert_eq!(murmur2(key), hash, "{}", String::from_utf8_lossy(key));
        }
    }

    #[test]
    fn keyed_partition_is_to_positive_modulo() {
        // toPositive(-790332482) = 1357151166.
        assert_eq!(to_positive(-790_332_482), 1_357_151_166);
        assert_eq!(partition_for_key(b"foobar", 10), 1_357_151_166 % 10);
        assert_eq!(partition_for_key(b"foobar", 50), 16);
        assert_eq!(to_positive(i32::MIN), 0);
        // Every tail length (0..=3 leftover bytes) lands in range.
        for key in [&b""[..], b"a", b"ab", b"abc", b"abcd", b"abcde"] {
            assert!(partition_for_key(key, 7) < 7);
        }
    }

    #[test]
    fn keyed_records_ignore_stickiness() {
        let mut p = Partitioner::new(0);
        let first = p.partition("t", Some(b"user-1"), 12);
        p.batch_closed("t", first, 12);
        assert_eq!(p.partition("t", Some(b"user-1"), 12), first);
        assert_eq!(first, partition_for_key(b"user-1", 12));
    }

    #[test]
    fn unkeyed_records_stick_then_rotate() {
        let mut p = Partitioner::new(5);
        assert_eq!(p.partition("t", None, 3), 2); // 5 % 3
        assert_eq!(p.partition("t", None, 3), 2);
        // Closing another partition's batch does not move it.
        p.batch_closed("t", 0, 3);
        assert_eq!(p.partition("t", None, 3), 2);
        p.batch_closed("t", 2, 3);
        assert_eq!(p.partition("t", None, 3), 0);
        p.batch_closed("t", 0, 3);
        assert_eq!(p.partition("t", None, 3), 1);
        // Topics are independent.
        assert_eq!(p.partition("u", None, 4), 1);
        // A shrunk partition count still gives a valid partition.
        assert!(p.partition("t", None, 1) == 0);
    }
}
