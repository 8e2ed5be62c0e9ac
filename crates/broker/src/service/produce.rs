//! Produce: acks, the idempotence check, the append, and the wait for a
//! flush (acks=all).
//!
//! [`append`] runs on the connection task, so the batches of pipelined
//! requests enter the log in the order they were sent. A batch with a
//! producer id goes through the partition's idempotence check
//! (`crate::producers`) under the partition's producer lock, held across
//! check, append and record: a retried batch is answered with its original
//! offsets and not written again. [`Appended::durable`] waits, off the
//! connection task, for the partition's flusher to cover the batch (one sync
//! for every waiter: group commit).

use std::sync::Arc;
use std::time::Duration;

use sluice_record::BatchHeader;
use tracing::debug;

use super::ServiceError;
use crate::partition::Partition;
use crate::producers::Check;

/// When a produce is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Acks {
    /// Never (acks=0).
    None,
    /// Once appended (acks=1).
    Leader,
    /// Once flushed (acks=-1).
    All,
}

impl Acks {
    pub(crate) fn parse(acks: i32) -> Result<Acks, ServiceError> {
        match acks {
            0 => Ok(Acks::None),
            1 => Ok(Acks::Leader),
            -1 => Ok(Acks::All),
            other => Err(ServiceError::InvalidAcks(other)),
        }
    }
}

/// A produce's batches in the log (or found to be already there).
#[derive(Debug)]
pub(crate) struct Appended {
    pub base_offset: i64,
    pub last_offset: i64,
    pub log_start_offset: i64,
    partition: Arc<Partition>,
}

impl Appended {
    fn new(partition: &Arc<Partition>, info: &sluice_storage::AppendInfo) -> Appended {
        Appended {
            base_offset: info.base_offset,
            last_offset: info.last_offset,
            log_start_offset: info.log_start_offset,
            partition: partition.clone(),
        }
    }

    /// Completes once every offset up to the last appended one is on disk,
    /// without holding a thread; `timeout` bounds the wait.
    pub(crate) fn durable(
        &self,
        timeout: Option<Duration>,
    ) -> impl Future<Output = Result<(), ServiceError>> + Send + 'static {
        wait_durable(self.partition.clone(), self.last_offset + 1, timeout)
    }
}

/// Appends `batches` (each one whole v2 batch; the log validates them) to
/// `partition` in one step.
pub(crate) fn append(
    partition: &Arc<Partition>,
    batches: &[&[u8]],
) -> Result<Appended, ServiceError> {
    match batches {
        [batch] => match BatchHeader::parse(batch) {
            Ok(header) => append_batch(partition, batch, &header),
            // The log reports what is wrong with it.
            Err(_) => append_plain(partition, batches),
        },
        _ if batches
            .iter()
            .filter_map(|batch| BatchHeader::parse(batch).ok())
            .any(|header| header.producer_id >= 0) =>
        {
            Err(ServiceError::InvalidRecord(
                "batches with a producer id are produced one per request".into(),
            ))
        }
        _ => append_plain(partition, batches),
    }
}

/// Appends one batch whose header the caller has parsed: through the
/// idempotence check when it carries a producer id.
pub(crate) fn append_batch(
    partition: &Arc<Partition>,
    batch: &[u8],
    header: &BatchHeader,
) -> Result<Appended, ServiceError> {
    if header.producer_id >= 0 {
        append_idempotent(partition, batch, header)
    } else {
        append_plain(partition, &[batch])
    }
}

fn append_plain(partition: &Arc<Partition>, batches: &[&[u8]]) -> Result<Appended, ServiceError> {
    let info = partition.log.append_batches(batches)?;
    partition.after_append(&info);
    let appended = Appended::new(partition, &info);
    debug!(topic = %partition.topic, partition = partition.index, offset = appended.base_offset, last_offset = appended.last_offset, "appended");
    Ok(appended)
}

fn append_idempotent(
    partition: &Arc<Partition>,
    batch: &[u8],
    header: &BatchHeader,
) -> Result<Appended, ServiceError> {
    let mut producers = partition.producers();
    match producers.check(header) {
        Check::Reject(rejection) => Err(ServiceError::Producer {
            producer_id: header.producer_id,
            epoch: header.producer_epoch,
            sequence: header.base_sequence,
            rejection,
        }),
        Check::Duplicate {
            base_offset,
            last_offset,
        } => {
            debug!(
                topic = %partition.topic,
                partition = partition.index,
                producer_id = header.producer_id,
                sequence = header.base_sequence,
                base_offset,
                "duplicate batch not written again"
            );
            Ok(Appended {
                base_offset,
                last_offset,
                log_start_offset: partition.log.log_start_offset(),
                partition: partition.clone(),
            })
        }
        Check::Append => {
            let info = partition.log.append(batch)?;
            producers.record(header, info.base_offset);
            drop(producers);
            partition.after_append(&info);
            Ok(Appended::new(partition, &info))
        }
    }
}

/// Waits until every offset below `target` is on disk, without holding a
/// thread: the partition's flusher does the sync and publishes its progress.
pub(crate) async fn wait_durable(
    partition: Arc<Partition>,
    target: i64,
    timeout: Option<Duration>,
) -> Result<(), ServiceError> {
    let mut progress = partition.subscribe_durable();
    let failures_before = progress.borrow().failures;
    partition.request_flush();
    let wait = progress.wait_for(|d| d.flushed_offset >= target || d.failures > failures_before);
    let outcome = match timeout {
        Some(limit) => match tokio::time::timeout(limit, wait).await {
            Ok(outcome) => outcome.map(|d| *d),
            Err(_) => return Err(ServiceError::FlushTimedOut),
        },
        None => wait.await.map(|d| *d),
    };
    match outcome {
        Ok(d) if d.flushed_offset >= target => Ok(()),
        Ok(_) => Err(ServiceError::FlushFailed),
        Err(_) => Err(ServiceError::Internal(
            "the partition's flusher is gone".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acks_are_minus_one_zero_or_one() {
        assert_eq!(Acks::parse(-1).unwrap(), Acks::All);
        assert_eq!(Acks::parse(0).unwrap(), Acks::None);
        assert_eq!(Acks::parse(1).unwrap(), Acks::Leader);
        for bad in [2, -2, i32::MAX] {
            assert_eq!(
                Acks::parse(bad).unwrap_err().kind(),
                super::super::ErrorKind::InvalidRequiredAcks
            );
        }
    }
}
