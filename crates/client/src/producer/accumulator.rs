//! The producer's batching decisions, as plain code with no I/O.
//!
//! Records are appended to an open [`BatchBuilder`] per partition. A batch
//! is closed when the next record would push it past `batch_bytes`, when it
//! reaches `batch_bytes`, when it has lingered `linger`, or on flush.
//! Closing a batch compresses it (with [`Limits::compression`]); sizes
//! before that count uncompressed bytes, sizes after it (the buffer, the
//! request limit) the bytes that will be sent.
//! [`Accumulator::drain`] hands out the closed batches of partitions that
//! may send, several batches per request up to `max_request_bytes`.
//!
//! Order: batches of a partition leave in the order they were closed, and
//! a retried request goes back to the *front* of its partition's queue.
//! With `max_in_flight_per_partition = 1` (the producer's setting whenever
//! retries are on) a partition's next request is only drained after the
//! previous one completed, so a retry can never be overtaken.
//!
//! `T` is what each record carries to its delivery (the producer stores the
//! record's reply channel); tests use plain numbers.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::Bytes;
use sluice_record::{BatchBuilder, Compression, RecordError};

use crate::types::TopicPartition;

/// Size and time limits of batching.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Close a batch once it holds this many bytes.
    pub batch_bytes: usize,
    /// Close a batch once its first record waited this long.
    pub linger: Duration,
    /// Largest sum of batch sizes in one produce request (a single larger
    /// batch still goes alone).
    pub max_request_bytes: usize,
    /// Produce requests of one partition outstanding at once.
    pub max_in_flight_per_partition: usize,
    /// Produce requests outstanding at once, over all partitions.
    pub max_in_flight: usize,
    /// Codec applied when a batch is closed.
    pub compression: Compression,
}

/// One record to append; borrowed, since the builder copies it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecordRef<'a> {
    pub timestamp: i64,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub headers: &'a [(&'a [u8], Option<&'a [u8]>)],
}

impl RecordRef<'_> {
    /// An upper bound on the record's encoded size: each varint at its
    /// widest (5 bytes, 10 for the timestamp delta).
    pub fn max_encoded_len(&self) -> usize {
        let nullable = |b: Option<&[u8]>| 5 + b.map_or(0, <[u8]>::len);
        let headers: usize = self
            .headers
            .iter()
            .map(|(k, v)| 5 + k.len() + nullable(*v))
            .sum();
        5 + 1 + 10 + 5 + nullable(self.key) + nullable(self.value) + 5 + headers
    }
}

/// A closed batch: its bytes and one `T` per record, in record order.
#[derive(Debug)]
pub(crate) struct Batch<T> {
    pub bytes: Bytes,
    pub records: Vec<T>,
    /// Requests that carried this batch and failed.
    pub attempts: u32,
}

/// One produce request to send: a partition and its next batches.
#[derive(Debug)]
pub(crate) struct Drained<T> {
    pub tp: TopicPartition,
    pub batches: Vec<Batch<T>>,
}

#[derive(Debug)]
struct OpenBatch<T> {
    builder: BatchBuilder,
    records: Vec<T>,
    opened: Instant,
}

impl<T> OpenBatch<T> {
    /// The finished batch, compressed with `codec`, with `buffered` (the
    /// accumulator's byte count) moved from the builder's size to the
    /// size that will be sent.
    fn close(self, codec: Compression, buffered: &mut usize) -> Batch<T> {
        let built = self.builder.size_in_bytes();
        let bytes = if codec == Compression::None {
            self.builder.build()
        } else {
            match compressed(&self.builder, codec) {
                Ok(bytes) => bytes,
                // Compressing bytes in memory does not fail in practice; if
                // a codec library ever does, the batch goes uncompressed
                // rather than failing its records.
                Err(error) => {
                    tracing::warn!(%error, ?codec, "compression failed, sending the batch uncompressed");
                    self.builder.build()
                }
            }
        };
        *buffered = buffered.saturating_sub(built).saturating_add(bytes.len());
        Batch {
            bytes,
            records: self.records,
            attempts: 0,
        }
    }
}

/// The builder's records compressed into a batch with the codec's bits set.
fn compressed(builder: &BatchBuilder, codec: Compression) -> Result<Bytes, RecordError> {
    let payload = sluice_record::compress(codec, builder.records_payload())?;
    let mut fields = builder.fields();
    fields.attributes |= codec.attribute_bits();
    sluice_record::build_batch_from_parts(&fields, &payload)
}

#[derive(Debug)]
struct PartitionQueue<T> {
    open: Option<OpenBatch<T>>,
    closed: VecDeque<Batch<T>>,
    in_flight: usize,
    /// After a retriable failure: send nothing before this.
    retry_at: Option<Instant>,
}

impl<T> Default for PartitionQueue<T> {
    fn default() -> Self {
        PartitionQueue {
            open: None,
            closed: VecDeque::new(),
            in_flight: 0,
            retry_at: None,
        }
    }
}

/// What [`Accumulator::append`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Appended {
    /// A batch of this partition was closed because it was full.
    pub closed_full: bool,
}

/// Per-partition batch queues; see the module docs.
#[derive(Debug)]
pub(crate) struct Accumulator<T> {
    limits: Limits,
    partitions: BTreeMap<TopicPartition, PartitionQueue<T>>,
    /// Bytes in open and closed batches not yet handed out.
    buffered: usize,
    in_flight: usize,
    /// Rotates the partition `drain` starts at, so a global in-flight limit
    /// does not always favour the first partitions.
    cursor: usize,
}

impl<T> Accumulator<T> {
    pub fn new(limits: Limits) -> Self {
        Accumulator {
            limits,
            partitions: BTreeMap::new(),
            buffered: 0,
            in_flight: 0,
            cursor: 0,
        }
    }

    /// Bytes waiting to be sent.
    pub fn buffered_bytes(&self) -> usize {
        self.buffered
    }

    /// Requests handed out and not yet completed.
    #[cfg(test)]
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// True when nothing is buffered or in flight.
    pub fn is_idle(&self) -> bool {
        self.in_flight == 0
            && self
                .partitions
                .values()
                .all(|q| q.open.is_none() && q.closed.is_empty())
    }

    /// Appends a record to `tp`'s open batch, closing batches as the size
    /// limit requires.
    pub fn append(
        &mut self,
        tp: &TopicPartition,
        record: RecordRef<'_>,
        item: T,
        now: Instant,
    ) -> Appended {
        let limits = self.limits;
        let queue = self.partitions.entry(tp.clone()).or_default();
        let buffered = &mut self.buffered;
        let mut closed_full = false;

        // Close the open batch first if this record would overflow it; a
        // record alone in a batch may exceed batch_bytes.
        let estimate = record.max_encoded_len();
        if let Some(open) = queue.open.take_if(|open| {
            !open.builder.is_empty() && open.builder.size_in_bytes() + estimate > limits.batch_bytes
        }) {
            queue
                .closed
                .push_back(open.close(limits.compression, buffered));
            closed_full = true;
        }

        let open = queue.open.get_or_insert_with(|| OpenBatch {
            builder: BatchBuilder::with_capacity(limits.batch_bytes.min(1 << 20)),
            records: Vec::new(),
            opened: now,
        });
        let before = open.builder.size_in_bytes();
        open.builder
            .append(record.timestamp, record.key, record.value, record.headers);
        open.records.push(item);
        *buffered += open.builder.size_in_bytes() - before;

        if open.builder.size_in_bytes() >= limits.batch_bytes
            && let Some(open) = queue.open.take()
        {
            queue
                .closed
                .push_back(open.close(limits.compression, buffered));
            closed_full = true;
        }
        Appended { closed_full }
    }

    /// Hands out the next request of every partition that may send now.
    /// `flush` closes open batches regardless of linger.
    pub fn drain(&mut self, now: Instant, flush: bool) -> Vec<Drained<T>> {
        let limits = self.limits;
        let mut out = Vec::new();
        let count = self.partitions.len();
        if count == 0 {
            return out;
        }
        let start = self.cursor % count;
        self.cursor = self.cursor.wrapping_add(1);
        let keys: Vec<TopicPartition> = self
            .partitions
            .keys()
            .skip(start)
            .chain(self.partitions.keys().take(start))
            .cloned()
            .collect();

        for tp in keys {
            if self.in_flight >= limits.max_in_flight {
                break;
            }
            let Some(queue) = self.partitions.get_mut(&tp) else {
                continue;
            };
            if queue.in_flight >= limits.max_in_flight_per_partition
                || queue.retry_at.is_some_and(|at| at > now)
            {
                continue;
            }
            queue.retry_at = None;
            let lingered = queue
                .open
                .as_ref()
                .is_some_and(|open| flush || now >= open.opened + limits.linger);
            if lingered && let Some(open) = queue.open.take() {
                queue
                    .closed
                    .push_back(open.close(limits.compression, &mut self.buffered));
            }
            if queue.closed.is_empty() {
                continue;
            }
            let mut batches = Vec::new();
            let mut bytes = 0;
            while let Some(next) = queue.closed.front() {
                let len = next.bytes.len();
                if !batches.is_empty() && bytes + len > limits.max_request_bytes {
                    break;
                }
                bytes += len;
                batches.extend(queue.closed.pop_front());
            }
            self.buffered = self.buffered.saturating_sub(bytes);
            queue.in_flight += 1;
            self.in_flight += 1;
            out.push(Drained { tp, batches });
        }
        out
    }

    /// A request of `tp` completed (delivered or failed for good).
    pub fn complete(&mut self, tp: &TopicPartition) {
        if let Some(queue) = self.partitions.get_mut(tp) {
            queue.in_flight = queue.in_flight.saturating_sub(1);
        }
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    /// A request of `tp` failed retriably: its batches go back to the front
    /// of the queue, not to be sent before `at`.
    pub fn retry(&mut self, tp: &TopicPartition, batches: Vec<Batch<T>>, at: Instant) {
        self.complete(tp);
        let queue = self.partitions.entry(tp.clone()).or_default();
        for batch in batches.into_iter().rev() {
            self.buffered += batch.bytes.len();
            queue.closed.push_front(batch);
        }
        queue.retry_at = Some(at);
    }

    /// The earliest moment a linger or retry backoff expires, for the
    /// sender's timer. Partitions blocked by in-flight limits are woken by
    /// completions instead.
    pub fn next_wakeup(&self) -> Option<Instant> {
        self.partitions
            .values()
            .filter(|q| q.in_flight < self.limits.max_in_flight_per_partition)
            .filter_map(|q| {
                if let Some(at) = q.retry_at {
                    return Some(at);
                }
                q.open.as_ref().map(|open| open.opened + self.limits.linger)
            })
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_record::RecordBatch;

    fn limits(batch_bytes: usize) -> Limits {
        Limits {
            batch_bytes,
            linger: Duration::from_millis(10),
            max_request_bytes: 1 << 20,
            max_in_flight_per_partition: 1,
            max_in_flight: 8,
            compression: Compression::None,
        }
    }

    fn record(value: &[u8]) -> RecordRef<'_> {
        RecordRef {
            timestamp: 1_700_000_000_000,
            key: None,
            value: Some(value),
            headers: &[],
        }
    }

    fn tp(p: u32) -> TopicPartition {
        TopicPartition::new("t", p)
    }

    fn values(batch: &Batch<u32>) -> Vec<Vec<u8>> {
        let parsed = RecordBatch::parse(&batch.bytes).unwrap();
        parsed
            .records()
            .unwrap()
            .map(|r| r.unwrap().value.unwrap().to_vec())
            .collect()
    }

    #[test]
    fn waits_for_linger_then_drains() {
        let t0 = Instant::now();
        let mut acc = Accumulator::new(limits(16 * 1024));
        acc.append(&tp(0), record(b"a"), 1, t0);
        acc.append(&tp(0), record(b"b"), 2, t0);
        assert!(acc.drain(t0 + Duration::from_millis(5), false).is_empty());
        assert_eq!(acc.next_wakeup(), Some(t0 + Duration::from_millis(10)));

        let drained = acc.drain(t0 + Duration::from_millis(10), false);
        assert_eq!(drained.len(), 1);
        assert_eq!(drained[0].batches.len(), 1);
        assert_eq!(drained[0].batches[0].records, vec![1, 2]);
        assert_eq!(
            values(&drained[0].batches[0]),
            vec![b"a".to_vec(), b"b".to_vec()]
        );
        assert_eq!(acc.buffered_bytes(), 0);
        assert!(!acc.is_idle(), "a request is in flight");
        acc.complete(&tp(0));
        assert!(acc.is_idle());
    }

    #[test]
    fn flush_ignores_linger() {
        let t0 = Instant::now();
        let mut acc = Accumulator::new(limits(16 * 1024));
        acc.append(&tp(0), record(b"a"), 1, t0);
        assert_eq!(acc.drain(t0, true).len(), 1);
    }

    #[test]
    fn closes_full_batches_without_waiting() {
        let t0 = Instant::now();
        let mut acc = Accumulator::new(limits(200));
        let value = [7u8; 60];
        let mut closed = 0;
        for i in 0..10 {
            if acc.append(&tp(0), record(&value), i, t0).closed_full {
                closed += 1;
            }
        }
        assert!(closed >= 3, "{closed} batches closed");
        // Closed batches go at once, all in one request, in order; the open
        // one keeps lingering.
        let drained = acc.drain(t0, false);
        assert_eq!(drained.len(), 1);
        let batches = &drained[0].batches;
        assert_eq!(batches.len(), closed);
        let order: Vec<u32> = batches.iter().flat_map(|b| b.records.clone()).collect();
        assert_eq!(order, (0..order.len() as u32).collect::<Vec<_>>());
        for b in batches {
            assert!(b.bytes.len() <= 200, "batch of {} bytes", b.bytes.len());
        }
    }

    #[test]
    fn oversized_record_gets_its_own_batch() {
        let t0 = Instant::now();
        let mut acc = Accumulator::new(limits(100));
        let big = [1u8; 500];
        assert!(
            acc.append(&tp(0), record(b"x"), 0, t0)
                .closed_full
                .eq(&false)
        );
        assert!(acc.append(&tp(0), record(&big), 1, t0).closed_full);
        let drained = acc.drain(t0, false);
        let sizes: Vec<usize> = drained[0].batches.iter().map(|b| b.records.len()).collect();
        assert_eq!(sizes, vec![1, 1]);
    }

    #[test]
    fn one_request_in_flight_per_partition() {
        let t0 = Instant::now();
        let mut acc = Accumulator::new(limits(16 * 1024));
        acc.append(&tp(0), record(b"a"), 1, t0);
        assert_eq!(acc.drain(t0, true).len(), 1);
        acc.append(&tp(0), record(b"b"), 2, t0);
        acc.append(&tp(1), record(b"c"), 3, t0);
        let drained = acc.drain(t0, true);
        assert_eq!(drained.len(), 1, "partition 0 is busy");
        assert_eq!(drained[0].tp, tp(1));
        acc.complete(&tp(0));
        let drained = acc.drain(t0, true);
        assert_eq!(drained[0].tp, tp(0));
        assert_eq!(drained[0].batches[0].records, vec![2]);
    }

    #[test]
    fn global_in_flight_limit() {
        let t0 = Instant::now();
        let mut l = limits(16 * 1024);
        l.max_in_flight = 2;
        let mut acc = Accumulator::new(l);
        for p in 0..4 {
            acc.append(&tp(p), record(b"a"), p, t0);
        }
        assert_eq!(acc.drain(t0, true).len(), 2);
        assert!(acc.drain(t0, true).is_empty());
        acc.complete(&tp(0));
        assert_eq!(acc.drain(t0, true).len(), 1);
        assert_eq!(acc.in_flight(), 2);
    }

    #[test]
    fn request_size_is_bounded() {
        let t0 = Instant::now();
        let mut l = limits(150);
        l.max_request_bytes = 400;
        let mut acc = Accumulator::new(l);
        let value = [0u8; 100];
        for i in 0..8 {
            acc.append(&tp(0), record(&value), i, t0);
        }
        let mut seen = Vec::new();
        while !acc.is_idle() {
            let drained = acc.drain(t0, true);
            assert_eq!(drained.len(), 1);
            let batches = &drained[0].batches;
            let bytes: usize = batches.iter().map(|b| b.bytes.len()).sum();
            assert!(bytes <= 400, "request of {bytes} bytes");
            assert!(!batches.is_empty());
            seen.extend(batches.iter().flat_map(|b| b.records.clone()));
            acc.complete(&tp(0));
        }
        assert_eq!(seen, (0..8).collect::<Vec<u32>>());
    }

    #[test]
    fn compressed_batches_decompress_to_their_records_and_keep_the_count_right() {
        for codec in [
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ] {
            let t0 = Instant::now();
            let mut l = limits(4096);
            l.compression = codec;
            let mut acc = Accumulator::new(l);
            let value = [b'z'; 100];
            for i in 0..100 {
                acc.append(&tp(0), record(&value), i, t0);
            }
            let mut seen = Vec::new();
            while !acc.is_idle() {
                for drained in acc.drain(t0, true) {
                    for batch in &drained.batches {
                        let parsed = RecordBatch::parse(&batch.bytes).unwrap();
                        assert_eq!(parsed.header().compression(), codec);
                        assert!(batch.bytes.len() < 1024, "{codec:?} compresses");
                        let records = parsed.decompress(1 << 20).unwrap();
                        for r in records.records() {
                            assert_eq!(r.unwrap().value, Some(&value[..]));
                        }
                        seen.extend(batch.records.iter().copied());
                    }
                    acc.complete(&drained.tp);
                }
            }
            assert_eq!(seen, (0..100).collect::<Vec<u32>>(), "{codec:?}");
            // Buffered bytes went in uncompressed and out compressed.
            assert_eq!(acc.buffered_bytes(), 0, "{codec:?}");
        }
    }

    #[test]
    fn retry_goes_first_after_backoff() {
        let t0 = Instant::now();
        let mut acc = Accumulator::new(limits(16 * 1024));
        acc.append(&tp(0), record(b"a"), 1, t0);
        let mut drained = acc.drain(t0, true);
        acc.append(&tp(0), record(b"b"), 2, t0);
        let batches = std::mem::take(&mut drained[0].batches);
        let at = t0 + Duration::from_millis(100);
        acc.retry(&tp(0), batches, at);
        assert!(acc.drain(t0 + Duration::from_millis(50), true).is_empty());
        assert_eq!(acc.next_wakeup(), Some(at));
        let again = acc.drain(at, true);
        let order: Vec<u32> = again[0]
            .batches
            .iter()
            .flat_map(|b| b.records.clone())
            .collect();
        assert_eq!(order, vec![1, 2], "the retried batch stays ahead");
    }
}
