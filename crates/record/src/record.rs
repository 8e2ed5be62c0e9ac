//! One record inside an uncompressed batch, and its headers.
//!
//! ```text
//! length varint | attributes int8 | timestampDelta varlong | offsetDelta varint
//! keyLength varint (-1 = null) | key | valueLength varint (-1 = null) | value
//! headersCount varint | headers: (keyLength varint | key | valueLength varint | value)*
//! ```
//!
//! Everything borrows from the batch bytes: reading a fetch response or a
//! segment never copies keys or values.

use std::iter::FusedIterator;

use crate::attributes::TimestampType;
use crate::cursor::Cursor;
use crate::error::RecordError;
use crate::header::BatchHeader;

/// A decoded record; deltas are relative to its batch header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// Record attributes; unused by Kafka today, carried as-is.
    pub attributes: i8,
    /// Timestamp minus the batch's `base_timestamp` (may be negative).
    pub timestamp_delta: i64,
    /// Offset minus the batch's `base_offset`.
    pub offset_delta: i32,
    /// `None` for a null key (length -1), distinct from an empty key.
    pub key: Option<&'a [u8]>,
    /// `None` for a null value: a tombstone under compaction.
    pub value: Option<&'a [u8]>,
    /// The encoded headers, already checked when the record was read; kept
    /// raw so that records without interest in headers cost nothing.
    headers: &'a [u8],
    header_count: usize,
}

/// One record header. Kafka forbids null header keys, so `key` is not optional.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    /// Header name bytes (UTF-8 by convention, not checked).
    pub key: &'a [u8],
    /// `None` for a null value.
    pub value: Option<&'a [u8]>,
}

impl<'a> Record<'a> {
    /// Iterates the headers without allocating.
    pub fn headers(&self) -> HeaderIter<'a> {
        HeaderIter {
            cursor: Cursor::new(self.headers, 0),
            remaining: self.header_count,
        }
    }

    /// Number of headers.
    pub fn header_count(&self) -> usize {
        self.header_count
    }

    /// Absolute offset of this record within the batch described by `header`.
    pub fn offset(&self, header: &BatchHeader) -> i64 {
        header
            .base_offset
            .wrapping_add(i64::from(self.offset_delta))
    }

    /// Timestamp of this record: `base_timestamp + timestamp_delta`, or the
    /// batch's `max_timestamp` under LogAppendTime (the broker's clock
    /// replaces every producer timestamp, as in Kafka).
    pub fn timestamp(&self, header: &BatchHeader) -> i64 {
        match header.timestamp_type() {
            TimestampType::CreateTime => header.base_timestamp.wrapping_add(self.timestamp_delta),
            TimestampType::LogAppendTime => header.max_timestamp,
        }
    }
}

const SHORT_RECORD: &str = "record content runs past its length";

/// Reads one header; the cursor must be inside a record's headers section.
fn read_header<'a>(cursor: &mut Cursor<'a>) -> Result<Header<'a>, RecordError> {
    let at = cursor.position();
    let key_len = cursor.varint()?;
    let key_len = usize::try_from(key_len).map_err(|_| RecordError::InvalidRecord {
        position: at,
        reason: "negative header key length",
    })?;
    let key = cursor.bytes(key_len, SHORT_RECORD)?;
    let value = cursor.nullable_bytes("negative header value length", SHORT_RECORD)?;
    Ok(Header { key, value })
}

/// Reads the record at the start of `buf`, whose first byte is at `base` in
/// the batch. Returns the record and the bytes it occupies.
///
/// The length prefix must match the content exactly, as Kafka requires:
/// a record that claims more or fewer bytes than its fields use is corrupt.
pub(crate) fn read_record(buf: &[u8], base: usize) -> Result<(Record<'_>, usize), RecordError> {
    let mut outer = Cursor::new(buf, base);
    let length = outer.varint()?;
    let length = usize::try_from(length).map_err(|_| RecordError::InvalidRecord {
        position: base,
        reason: "negative record length",
    })?;
    let body_start = outer.position();
    let body = outer.bytes(length, "record length runs past the end of the batch")?;

    let mut c = Cursor::new(body, body_start);
    let attributes = i8::from_be_bytes([c.byte(SHORT_RECORD)?]);
    let timestamp_delta = c.varlong()?;
    let offset_delta = c.varint()?;
    let key = c.nullable_bytes("negative key length", SHORT_RECORD)?;
    let value = c.nullable_bytes("negative value length", SHORT_RECORD)?;
    let count_at = c.position();
    let header_count = usize::try_from(c.varint()?).map_err(|_| RecordError::InvalidRecord {
        position: count_at,
        reason: "negative header count",
    })?;

    // Walk the headers once now so the length check below is exact and
    // `Record::headers` never meets a malformed header later. Each header
    // consumes at least two bytes or fails, so a huge count ends quickly.
    let headers_from = c.consumed();
    for _ in 0..header_count {
        read_header(&mut c)?;
    }
    let headers = c.slice(headers_from, c.consumed());
    if !c.is_empty() {
        return Err(RecordError::InvalidRecord {
            position: c.position(),
            reason: "record length exceeds its content",
        });
    }
    let record = Record {
        attributes,
        timestamp_delta,
        offset_delta,
        key,
        value,
        headers,
        header_count,
    };
    Ok((record, outer.consumed()))
}

/// Zero-allocation iterator over a record's headers.
///
/// Records from [`crate::RecordIter`] have had their headers checked, so
/// errors do not occur in practice; should one appear, its position is
/// relative to the start of the headers section, and iteration ends after it.
#[derive(Debug, Clone)]
pub struct HeaderIter<'a> {
    cursor: Cursor<'a>,
    remaining: usize,
}

impl<'a> Iterator for HeaderIter<'a> {
    type Item = Result<Header<'a>, RecordError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let header = read_header(&mut self.cursor);
        if header.is_err() {
            self.remaining = 0;
        }
        Some(header)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.remaining))
    }
}

impl FusedIterator for HeaderIter<'_> {}
