//! Named values for the magic numbers that protobuf fields carry.

/// `ProduceRequest.acks`: answer once the batches are durable. On a single
/// broker "all replicas" is the one log, so the broker answers after a flush
/// (fsync) covers the batches; concurrent producers share flushes.
pub const ACKS_ALL: i32 = -1;
/// `ProduceRequest.acks`: fire and forget; the broker sends no response.
pub const ACKS_NONE: i32 = 0;
/// `ProduceRequest.acks`: answer once the batches are in the leader's log.
pub const ACKS_LEADER: i32 = 1;

/// `ListOffsetsPartition.timestamp`: look up the log end offset.
pub const LATEST_TIMESTAMP: i64 = -1;
/// `ListOffsetsPartition.timestamp`: look up the log start offset.
pub const EARLIEST_TIMESTAMP: i64 = -2;

/// An offset field that has no value (no committed offset, no match, error).
pub const NO_OFFSET: i64 = -1;
/// A timestamp field that has no value (e.g. `log_append_time` under
/// CreateTime).
pub const NO_TIMESTAMP: i64 = -1;

/// The broker's default `max_frame`: 64 MiB. Readers may choose another
/// limit; it bounds the memory a peer can make us allocate per frame.
pub const DEFAULT_MAX_FRAME: usize = 64 * 1024 * 1024;
