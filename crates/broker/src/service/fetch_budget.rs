//! What one partition contributes to a fetch response: the response-wide
//! byte budget and the reading of a partition's slice within it.

use sluice_storage::{FileSlice, StorageError};

use super::ServiceError;
use crate::partition::Partition;

/// One partition's part of a fetch response.
#[derive(Debug)]
pub(crate) struct PartitionRead {
    pub high_watermark: i64,
    pub log_start_offset: i64,
    /// Whole stored batches to send after the response head; `None` when there is nothing new or
    /// the response is already full.
    pub slice: Option<FileSlice>,
    pub error: Option<ServiceError>,
}

impl PartitionRead {
    /// The read of a partition that cannot be read at all.
    pub(crate) fn failed(error: ServiceError) -> PartitionRead {
        PartitionRead {
            high_watermark: -1,
            log_start_offset: -1,
            slice: None,
            error: Some(error),
        }
    }
}

/// The byte budget of one fetch response. The first batch of a response goes whole even when it
/// is larger than the limits, so a consumer always progresses; later partitions only add slices
/// that fit what is left (with the response full they are answered without records, as Kafka
/// does).
#[derive(Debug)]
pub(crate) struct FetchBudget {
    remaining: u64,
    bytes: u64,
}

impl FetchBudget {
    pub(crate) fn new(max_bytes: u64) -> Self {
        FetchBudget {
            remaining: max_bytes,
            bytes: 0,
        }
    }

    /// Record bytes taken so far.
    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Reads up to `partition_max` bytes at `offset` within the budget.
    pub(crate) fn read(
        &mut self,
        partition: &Partition,
        offset: i64,
        partition_max: u64,
    ) -> PartitionRead {
        let log = &partition.log;
        let mut read = PartitionRead {
            high_watermark: log.high_watermark(),
            log_start_offset: log.log_start_offset(),
            slice: None,
            error: None,
        };
        let limit = partition_max.min(self.remaining);
        let limit = if limit == 0 && self.bytes == 0 {
            1
        } else {
            limit
        };
        if limit == 0 {
            return read;
        }
        match log.read(offset, limit) {
            Ok(slice) => {
                read.high_watermark = slice.high_watermark;
                read.log_start_offset = slice.log_start_offset;
                let fits = slice.len <= self.remaining || self.bytes == 0;
                if slice.len > 0 && fits {
                    self.remaining = self.remaining.saturating_sub(slice.len);
                    self.bytes += slice.len;
                    read.slice = Some(slice);
                }
            }
            Err(error) => {
                if let StorageError::OffsetOutOfRange {
                    log_start_offset,
                    log_end_offset,
                    ..
                } = &error
                {
                    read.log_start_offset = *log_start_offset;
                    read.high_watermark = *log_end_offset;
                }
                read.error = Some(ServiceError::from(error));
            }
        }
        read
    }
}
