//! Idempotent producers: durable producer id allocation, and per partition
//! the sequence state that keeps a retried batch from being written twice.
//!
//! The rules are Kafka's (`ProducerStateManager`, `ProducerAppendInfo`):
//!
//! - a batch of a producer the partition knows nothing about is accepted
//!   with any sequence (its state may have gone with retention or a
//!   restart);
//! - an older epoch than the last seen is `INVALID_PRODUCER_EPOCH`; a newer
//!   one must start at sequence 0;
//! - with the same epoch, a batch whose sequence range equals one of the
//!   producer's last [`MAX_BATCHES`] batches is a duplicate: it is not
//!   written and is answered with the original offsets; otherwise its first
//!   sequence must follow the last one (wrapping after `i32::MAX`), else
//!   `OUT_OF_ORDER_SEQUENCE_NUMBER`.
//!
//! The state is rebuilt at startup from the batch headers of the last
//! [`RECOVERY_SEGMENTS`] segments of each log (producer id, epoch and base
//! sequence are in every v2 batch header), so it survives restarts without
//! a snapshot file of its own. A producer whose last batch is older than
//! that is unknown after a restart and accepted with any sequence.

use std::collections::{HashMap, VecDeque};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sluice_record::BATCH_HEADER_LEN;
use sluice_record::BatchHeader;
use sluice_storage::PartitionLog;
use tracing::warn;

use crate::errors::BrokerError;
use crate::persist::write_atomic;
use crate::service::{ProducerRejection, ServiceError};

/// Batches remembered per producer and partition, as Kafka (and the
/// clients' `max.in.flight.requests.per.connection` limit of 5).
pub const MAX_BATCHES: usize = 5;
/// Segments scanned per partition at startup.
pub const RECOVERY_SEGMENTS: usize = 2;
/// Producer ids reserved on disk at a time.
const ID_BLOCK: i64 = 1000;
const ID_FILE: &str = "producer-ids";

/// Hands out producer ids that are never reused, even across restarts: a
/// block of ids is reserved durably (the first id after the block is
/// written to `<data_dir>/producer-ids`) before any of them is handed out,
/// and a restart starts after the last reserved block.
#[derive(Debug)]
pub struct ProducerIds {
    path: PathBuf,
    /// (next id to hand out, first id not reserved on disk).
    block: Mutex<(i64, i64)>,
}

impl ProducerIds {
    pub fn open(data_dir: &Path) -> Result<ProducerIds, BrokerError> {
        let path = data_dir.join(ID_FILE);
        let reserved = match std::fs::read_to_string(&path) {
            Ok(text) => text
                .trim()
                .parse::<i64>()
                .map_err(|e| BrokerError::Metadata {
                    path: path.clone(),
                    reason: e.to_string(),
                })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => return Err(BrokerError::io(&path, e)),
        };
        Ok(ProducerIds {
            path,
            block: Mutex::new((reserved, reserved)),
        })
    }

    /// A new producer id. Blocking when a new block must be reserved (one
    /// fsync per [`ID_BLOCK`] ids).
    pub fn allocate(&self) -> Result<i64, ServiceError> {
        let mut block = self.block.lock().unwrap_or_else(|e| e.into_inner());
        if block.0 >= block.1 {
            let limit = block.1 + ID_BLOCK;
            write_atomic(&self.path, format!("{limit}\n").as_bytes())?;
            block.1 = limit;
        }
        let id = block.0;
        block.0 += 1;
        Ok(id)
    }
}

/// The sequence range and offsets of one appended batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct BatchMeta {
    first_seq: i32,
    last_seq: i32,
    base_offset: i64,
    last_offset: i64,
}

#[derive(Debug, Clone, Default)]
struct Entry {
    epoch: i16,
    /// Newest last.
    batches: VecDeque<BatchMeta>,
}

/// What to do with an idempotent batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    Append,
    /// Already written: answer with these offsets, write nothing.
    Duplicate {
        base_offset: i64,
        last_offset: i64,
    },
    /// Refuse the batch.
    Reject(ProducerRejection),
}

/// The producers of one partition. Held under the partition's lock across
/// check, append and record, so concurrent connections cannot interleave.
#[derive(Debug, Default)]
pub struct ProducerStates {
    producers: HashMap<i64, Entry>,
}

/// Kafka's `DefaultRecordBatch.incrementSequence`: sequences wrap to 0
/// after `i32::MAX`.
fn increment_sequence(sequence: i32, increment: i32) -> i32 {
    if sequence > i32::MAX - increment {
        increment - (i32::MAX - sequence) - 1
    } else {
        sequence + increment
    }
}

fn sequence_range(header: &BatchHeader) -> (i32, i32) {
    let first = header.base_sequence;
    (
        first,
        increment_sequence(first, header.last_offset_delta.max(0)),
    )
}

impl ProducerStates {
    /// The decision for `header`, a batch with a producer id.
    pub fn check(&self, header: &BatchHeader) -> Check {
        let Some(entry) = self.producers.get(&header.producer_id) else {
            return Check::Append;
        };
        let epoch = header.producer_epoch;
        if epoch < entry.epoch {
            return Check::Reject(ProducerRejection::InvalidEpoch);
        }
        let (first_seq, last_seq) = sequence_range(header);
        if epoch > entry.epoch {
            return if first_seq == 0 {
                Check::Append
            } else {
                Check::Reject(ProducerRejection::OutOfOrderSequence)
            };
        }
        if let Some(b) = entry
            .batches
            .iter()
            .find(|b| b.first_seq == first_seq && b.last_seq == last_seq)
        {
            return Check::Duplicate {
                base_offset: b.base_offset,
                last_offset: b.last_offset,
            };
        }
        match entry.batches.back() {
            None => Check::Append,
            Some(last) if first_seq == increment_sequence(last.last_seq, 1) => Check::Append,
            Some(_) => Check::Reject(ProducerRejection::OutOfOrderSequence),
        }
    }

    /// Remembers an appended batch. `base_offset` is where it landed.
    pub fn record(&mut self, header: &BatchHeader, base_offset: i64) {
        if header.producer_id < 0 {
            return;
        }
        let entry = self.producers.entry(header.producer_id).or_default();
        if header.producer_epoch != entry.epoch {
            entry.epoch = header.producer_epoch;
            entry.batches.clear();
        }
        let (first_seq, last_seq) = sequence_range(header);
        entry.batches.push_back(BatchMeta {
            first_seq,
            last_seq,
            base_offset,
            last_offset: base_offset + i64::from(header.last_offset_delta.max(0)),
        });
        while entry.batches.len() > MAX_BATCHES {
            entry.batches.pop_front();
        }
    }

    /// Rebuilds the state from the batch headers of the last
    /// [`RECOVERY_SEGMENTS`] segments of `log`. Reads 61 bytes per batch.
    pub fn recover(log: &PartitionLog) -> ProducerStates {
        let mut states = ProducerStates::default();
        let bases = log.segment_base_offsets();
        let start = log.log_start_offset();
        for base in bases.iter().rev().take(RECOVERY_SEGMENTS).rev() {
            let slice = match log.read((*base).max(start), u64::MAX) {
                Ok(slice) => slice,
                Err(error) => {
                    warn!(dir = %log.dir().display(), %error, "producer state scan skipped a segment");
                    continue;
                }
            };
            let end = slice.position + slice.len;
            let mut position = slice.position;
            let mut buf = [0u8; BATCH_HEADER_LEN];
            while position + BATCH_HEADER_LEN as u64 <= end {
                if let Err(error) = slice.file.read_exact_at(&mut buf, position) {
                    warn!(dir = %log.dir().display(), %error, "producer state scan stopped");
                    break;
                }
                let Ok(header) = BatchHeader::parse(&buf) else {
                    break;
                };
                states.record(&header, header.base_offset);
                position += header.total_size() as u64;
            }
        }
        states
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_record::BatchBuilder;

    fn header(pid: i64, epoch: i16, seq: i32, count: i32) -> BatchHeader {
        let mut builder = BatchBuilder::new().producer(pid, epoch, seq);
        for i in 0..count {
            builder.append(i64::from(i), None, Some(b"v"), &[]);
        }
        BatchHeader::parse(&builder.build()).unwrap()
    }

    #[test]
    fn sequence_rules() {
        let mut s = ProducerStates::default();
        let first = header(7, 0, 0, 3);
        assert_eq!(s.check(&first), Check::Append);
        s.record(&first, 100);
        assert_eq!(
            s.check(&first),
            Check::Duplicate {
                base_offset: 100,
                last_offset: 102
            }
        );
        assert_eq!(
            s.check(&header(7, 0, 5, 1)),
            Check::Reject(ProducerRejection::OutOfOrderSequence)
        );
        let next = header(7, 0, 3, 2);
        assert_eq!(s.check(&next), Check::Append);
        s.record(&next, 103);
        assert_eq!(s.check(&header(7, 1, 0, 1)), Check::Append);
        assert_eq!(
            s.check(&header(7, 1, 4, 1)),
            Check::Reject(ProducerRejection::OutOfOrderSequence)
        );
        s.record(&header(7, 1, 0, 1), 105);
        assert_eq!(
            s.check(&header(7, 0, 5, 1)),
            Check::Reject(ProducerRejection::InvalidEpoch)
        );
        // Unknown producers start anywhere.
        assert_eq!(s.check(&header(8, 3, 42, 1)), Check::Append);
    }

    #[test]
    fn only_the_last_five_batches_are_remembered() {
        let mut s = ProducerStates::default();
        for i in 0..7 {
            s.record(&header(1, 0, i, 1), i64::from(i));
        }
        assert!(matches!(
            s.check(&header(1, 0, 6, 1)),
            Check::Duplicate { .. }
        ));
        assert!(matches!(
            s.check(&header(1, 0, 2, 1)),
            Check::Duplicate { .. }
        ));
        assert_eq!(
            s.check(&header(1, 0, 1, 1)),
            Check::Reject(ProducerRejection::OutOfOrderSequence)
        );
    }

    #[test]
    fn sequences_wrap() {
        assert_eq!(increment_sequence(i32::MAX, 1), 0);
        assert_eq!(increment_sequence(i32::MAX - 1, 3), 1);
        assert_eq!(increment_sequence(5, 2), 7);
    }

    #[test]
    fn ids_are_never_reused_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let ids = ProducerIds::open(dir.path()).unwrap();
        let a = ids.allocate().unwrap();
        let b = ids.allocate().unwrap();
        assert_ne!(a, b);
        drop(ids);
        let ids = ProducerIds::open(dir.path()).unwrap();
        let c = ids.allocate().unwrap();
        assert!(c > b);
    }

    #[test]
    fn state_is_rebuilt_from_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let log = PartitionLog::open(
            dir.path().join("p"),
            sluice_storage::LogConfig {
                segment_bytes: 1 << 20,
                max_message_bytes: 1 << 16,
                ..sluice_storage::LogConfig::default()
            },
        )
        .unwrap();
        let mut plain = BatchBuilder::new();
        plain.append(1, None, Some(b"x"), &[]);
        log.append(&plain.build()).unwrap();
        let mut builder = BatchBuilder::new().producer(9, 2, 0);
        builder.append(1, None, Some(b"a"), &[]);
        builder.append(2, None, Some(b"b"), &[]);
        let batch = builder.build();
        let info = log.append(&batch).unwrap();
        let states = ProducerStates::recover(&log);
        assert_eq!(
            states.check(&BatchHeader::parse(&batch).unwrap()),
            Check::Duplicate {
                base_offset: info.base_offset,
                last_offset: info.last_offset
            }
        );
        log.close().unwrap();
    }
}
