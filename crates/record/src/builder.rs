//! Encoding records into an uncompressed batch.

use std::fmt;

use bytes::Bytes;

use crate::layout::BATCH_HEADER_LEN;
use crate::parts::{BatchFields, batch_length_for, seal};
use crate::varint::{put_varint, put_varlong, varint_len, varlong_len};

/// Builds an uncompressed batch, one record at a time.
///
/// `base_timestamp` is the first appended record's timestamp and
/// `max_timestamp` the largest; producer id, epoch and base sequence default
/// to -1, the partition leader epoch to -1 (Kafka's "none", stamped by the
/// broker) and the base offset to 0 (assigned by the broker with
/// [`crate::set_base_offset`]).
///
/// Records are encoded straight into the buffer that [`build`](Self::build)
/// returns, behind 61 bytes reserved for the header, so building copies
/// nothing.
#[derive(Clone)]
pub struct BatchBuilder {
    /// 61 reserved header bytes, then the encoded records.
    buf: Vec<u8>,
    /// Records appended; also the next offset delta.
    count: i32,
    base_timestamp: i64,
    max_timestamp: i64,
    producer_id: i64,
    producer_epoch: i16,
    base_sequence: i32,
}

impl Default for BatchBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl BatchBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// An empty builder with room for `bytes` of records, to avoid
    /// reallocating when the caller knows roughly how big the batch will be.
    pub fn with_capacity(bytes: usize) -> Self {
        let mut buf = Vec::with_capacity(BATCH_HEADER_LEN.saturating_add(bytes));
        buf.resize(BATCH_HEADER_LEN, 0);
        BatchBuilder {
            buf,
            count: 0,
            base_timestamp: -1,
            max_timestamp: -1,
            producer_id: -1,
            producer_epoch: -1,
            base_sequence: -1,
        }
    }

    /// Sets the idempotent-producer fields.
    pub fn producer(mut self, producer_id: i64, producer_epoch: i16, base_sequence: i32) -> Self {
        self.producer_id = producer_id;
        self.producer_epoch = producer_epoch;
        self.base_sequence = base_sequence;
        self
    }

    /// Appends a record with the next offset delta.
    ///
    /// # Panics
    ///
    /// If a key, value or header is longer than `i32::MAX` bytes or the batch
    /// would outgrow the int32 `batchLength`: such a batch cannot be encoded,
    /// and callers enforce far smaller limits (`max.message.bytes`) first.
    pub fn append(
        &mut self,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[(&[u8], Option<&[u8]>)],
    ) {
        let (base_timestamp, max_timestamp) = if self.count == 0 {
            (timestamp, timestamp)
        } else {
            (self.base_timestamp, self.max_timestamp.max(timestamp))
        };
        // Wrapping keeps extreme timestamps encodable; the reader wraps back.
        let timestamp_delta = timestamp.wrapping_sub(base_timestamp);
        let offset_delta = self.count;

        let key_len = nullable_len(key);
        let value_len = nullable_len(value);
        let header_count = wire_len(headers.len());
        let mut body = 1 // attributes
            + varlong_len(timestamp_delta)
            + varint_len(offset_delta)
            + encoded_nullable_len(key, key_len)
            + encoded_nullable_len(value, value_len)
            + varint_len(header_count);
        for (k, v) in headers {
            let k_len = wire_len(k.len());
            body += varint_len(k_len) + k.len() + encoded_nullable_len(*v, nullable_len(*v));
        }
        let body_len = wire_len(body);
        let record_len = varint_len(body_len) + body;
        let new_len = self.buf.len().saturating_add(record_len);
        if batch_length_for(new_len).is_err() || self.count == i32::MAX {
            panic!("record batch would exceed the int32 batchLength");
        }

        self.buf.reserve(record_len);
        put_varint(&mut self.buf, body_len);
        self.buf.push(0); // record attributes: unused
        put_varlong(&mut self.buf, timestamp_delta);
        put_varint(&mut self.buf, offset_delta);
        put_nullable(&mut self.buf, key, key_len);
        put_nullable(&mut self.buf, value, value_len);
        put_varint(&mut self.buf, header_count);
        for (k, v) in headers {
            put_varint(&mut self.buf, wire_len(k.len()));
            self.buf.extend_from_slice(k);
            put_nullable(&mut self.buf, *v, nullable_len(*v));
        }
        self.count += 1;
        self.base_timestamp = base_timestamp;
        self.max_timestamp = max_timestamp;
    }

    /// Records appended so far.
    pub fn record_count(&self) -> usize {
        usize::try_from(self.count).unwrap_or(0)
    }

    /// True if nothing was appended.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The size [`build`](Self::build) would return now, header included;
    /// lets a producer stop appending before `max.message.bytes`.
    pub fn size_in_bytes(&self) -> usize {
        self.buf.len()
    }

    /// The encoded records so far (no header): what a compressing client
    /// compresses before calling [`crate::build_batch_from_parts`].
    pub fn records_payload(&self) -> &[u8] {
        self.buf.get(BATCH_HEADER_LEN..).unwrap_or(&[])
    }

    /// The header fields [`build`](Self::build) would write now.
    pub fn fields(&self) -> BatchFields {
        BatchFields {
            last_offset_delta: self.count - 1,
            base_timestamp: self.base_timestamp,
            max_timestamp: self.max_timestamp,
            producer_id: self.producer_id,
            producer_epoch: self.producer_epoch,
            base_sequence: self.base_sequence,
            records_count: self.count,
            ..BatchFields::default()
        }
    }

    /// The complete batch with its CRC set. An empty builder gives a valid
    /// batch of zero records (timestamps -1).
    pub fn build(self) -> Bytes {
        let fields = self.fields();
        let mut buf = self.buf;
        if let Err(e) = seal(&mut buf, &fields) {
            // append() keeps the size within i32 and the buffer starts with
            // the 61 reserved bytes, so sealing cannot fail.
            panic!("BatchBuilder invariant broken: {e}");
        }
        Bytes::from(buf)
    }
}

/// Shows counts, not the encoded bytes.
impl fmt::Debug for BatchBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchBuilder")
            .field("records", &self.count)
            .field("size_in_bytes", &self.buf.len())
            .field("base_timestamp", &self.base_timestamp)
            .field("max_timestamp", &self.max_timestamp)
            .field("producer_id", &self.producer_id)
            .field("producer_epoch", &self.producer_epoch)
            .field("base_sequence", &self.base_sequence)
            .finish()
    }
}

/// A length as the int32 Kafka stores. Panics past `i32::MAX` (see
/// [`BatchBuilder::append`]).
fn wire_len(len: usize) -> i32 {
    i32::try_from(len).unwrap_or_else(|_| panic!("length {len} exceeds i32::MAX"))
}

/// The length prefix of a nullable field: -1 for null.
fn nullable_len(bytes: Option<&[u8]>) -> i32 {
    bytes.map_or(-1, |b| wire_len(b.len()))
}

/// Bytes a nullable field occupies: prefix plus content.
fn encoded_nullable_len(bytes: Option<&[u8]>, prefix: i32) -> usize {
    varint_len(prefix) + bytes.map_or(0, <[u8]>::len)
}

fn put_nullable(buf: &mut Vec<u8>, bytes: Option<&[u8]>, prefix: i32) {
    put_varint(buf, prefix);
    if let Some(b) = bytes {
        buf.extend_from_slice(b);
    }
}
