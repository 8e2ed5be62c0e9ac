//! ListOffsets: the latest offset (the high watermark; there are no
//! transactions, so also for read_committed), the earliest (the log start
//! offset), or the first offset whose timestamp is at or after a time.

use super::ServiceError;
use crate::state::BrokerState;

/// The query timestamp of "the latest offset", in both protocols.
pub(crate) const LATEST: i64 = -1;
/// The query timestamp of "the earliest offset", in both protocols.
pub(crate) const EARLIEST: i64 = -2;

/// An offset found; `timestamp` only for a query by time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Listed {
    pub offset: i64,
    pub timestamp: Option<i64>,
}

/// The offset for `timestamp` (or [`LATEST`], [`EARLIEST`]) in one
/// partition; `None` when no record is that recent.
pub(crate) fn list_offset(
    state: &BrokerState,
    topic: &str,
    partition: i64,
    timestamp: i64,
) -> Result<Option<Listed>, ServiceError> {
    let partition = super::topics::partition(state, topic, partition)?;
    let log = &partition.log;
    let at = |offset| {
        Some(Listed {
            offset,
            timestamp: None,
        })
    };
    match timestamp {
        LATEST => Ok(at(log.high_watermark())),
        EARLIEST => Ok(at(log.log_start_offset())),
        ts if ts < 0 => Err(ServiceError::InvalidRequest(format!(
            "timestamp {ts} is neither -1, -2 nor a time"
        ))),
        ts => Ok(log.offset_for_timestamp(ts)?.map(|found| Listed {
            offset: found.offset,
            timestamp: Some(found.timestamp),
        })),
    }
}
