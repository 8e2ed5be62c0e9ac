//! Turning one partition's fetched record bytes into [`ConsumerRecord`]s.
//!
//! Plain code: the bytes are whole stored batches, possibly starting
//! before the position asked for (the batch containing it) and possibly
//! ending in a batch cut short by the byte limits. Records below the
//! position are skipped; an incomplete last batch is dropped (the next
//! fetch starts at it). Keys, values and header values are `Bytes` slices
//! of the fetched buffer: nothing is copied.

use std::sync::Arc;

use bytes::Bytes;
use sluice_record::{BatchIter, CONTROL_FLAG, RecordError};

use crate::error::{ClientError, Result};

/// A consumed record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerRecord {
    /// Shared by all records of a fetch; derefs to `str`.
    pub topic: Arc<str>,
    pub partition: u32,
    pub offset: i64,
    /// Create time, or the broker's append time under LogAppendTime.
    pub timestamp: i64,
    pub key: Option<Bytes>,
    /// `None` is a null value (a tombstone).
    pub value: Option<Bytes>,
    pub headers: Vec<RecordHeader>,
}

/// A record header. Kafka header keys are strings; invalid UTF-8 is
/// replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordHeader {
    pub key: String,
    pub value: Option<Bytes>,
}

/// The records of one partition's fetched bytes.
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    pub records: Vec<ConsumerRecord>,
    /// The position after the last whole batch, if any batch reached past
    /// the requested position.
    pub next_offset: Option<i64>,
    /// The bytes ended inside a batch.
    pub partial_tail: bool,
}

/// Parses `data`, keeping records at or above `position`.
pub(crate) fn parse_records(
    topic: &Arc<str>,
    partition: u32,
    data: &Bytes,
    position: i64,
) -> Result<Parsed> {
    let record_error = |source: RecordError| ClientError::Record {
        topic: topic.to_string(),
        partition,
        source,
    };
    let mut parsed = Parsed::default();
    let mut batches = BatchIter::new(data);
    for batch in &mut batches {
        let batch = batch.map_err(record_error)?;
        let header = *batch.header();
        let next = header
            .base_offset
            .saturating_add(i64::from(header.last_offset_delta))
            .saturating_add(1);
        if next <= position {
            continue;
        }
        parsed.next_offset = Some(next);
        // Transaction markers carry no user data.
        if header.attributes & CONTROL_FLAG != 0 {
            continue;
        }
        let records = batch.records().map_err(|e| match e {
            RecordError::Compressed { codec } => ClientError::Compressed {
                topic: topic.to_string(),
                partition,
                offset: header.base_offset,
                codec,
            },
            other => record_error(other),
        })?;
        for record in records {
            let record = record.map_err(record_error)?;
            let offset = record.offset(&header);
            if offset < position {
                continue;
            }
            let headers = record
                .headers()
                .map(|h| {
                    h.map(|h| RecordHeader {
                        key: String::from_utf8_lossy(h.key).into_owned(),
                        value: h.value.map(|v| data.slice_ref(v)),
                    })
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(record_error)?;
            parsed.records.push(ConsumerRecord {
                topic: Arc::clone(topic),
                partition,
                offset,
                timestamp: record.timestamp(&header),
                key: record.key.map(|k| data.slice_ref(k)),
                value: record.value.map(|v| data.slice_ref(v)),
                headers,
            });
        }
    }
    parsed.partial_tail = batches.has_partial_tail();
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_record::{BatchBuilder, set_base_offset};

    /// A batch of `values` stored at `base`.
    fn batch(base: i64, values: &[&str]) -> Vec<u8> {
        let mut b = BatchBuilder::new();
        for (i, v) in values.iter().enumerate() {
            let key = format!("k{i}");
            b.append(
                1000 + i as i64,
                Some(key.as_bytes()),
                Some(v.as_bytes()),
                &[(b"h", Some(b"v"))],
            );
        }
        let mut bytes = b.build().to_vec();
        set_base_offset(&mut bytes, base).unwrap();
        bytes
    }

    fn parse(data: Vec<u8>, position: i64) -> Parsed {
        parse_records(&Arc::from("t"), 3, &Bytes::from(data), position).unwrap()
    }

    fn offsets(p: &Parsed) -> Vec<i64> {
        p.records.iter().map(|r| r.offset).collect()
    }

    #[test]
    fn reads_every_field() {
        let p = parse(batch(10, &["a", "b"]), 10);
        assert_eq!(offsets(&p), vec![10, 11]);
        assert_eq!(p.next_offset, Some(12));
        assert!(!p.partial_tail);
        let r = &p.records[1];
        assert_eq!(&*r.topic, "t");
        assert_eq!(r.partition, 3);
        assert_eq!(r.timestamp, 1001);
        assert_eq!(r.key.as_deref(), Some(&b"k1"[..]));
        assert_eq!(r.value.as_deref(), Some(&b"b"[..]));
        assert_eq!(
            r.headers,
            vec![RecordHeader {
                key: "h".into(),
                value: Some(Bytes::from_static(b"v"))
            }]
        );
    }

    #[test]
    fn skips_records_before_the_position() {
        let mut data = batch(0, &["a", "b", "c", "d"]);
        data.extend(batch(4, &["e", "f"]));
        let p = parse(data.clone(), 2);
        assert_eq!(offsets(&p), vec![2, 3, 4, 5]);
        assert_eq!(p.next_offset, Some(6));
        // A whole batch below the position is skipped.
        let p = parse(data, 5);
        assert_eq!(offsets(&p), vec![5]);
    }

    #[test]
    fn drops_a_partial_tail_at_every_cut() {
        let first = batch(0, &["a", "b"]);
        let second = batch(2, &["c"]);
        let mut data = first.clone();
        data.extend(&second);
        for cut in 1..second.len() {
            let p = parse(data[..first.len() + cut].to_vec(), 0);
            assert_eq!(offsets(&p), vec![0, 1], "cut {cut}");
            assert_eq!(p.next_offset, Some(2));
            assert!(p.partial_tail);
        }
        // Only a partial batch: no records, no progress.
        let p = parse(first[..first.len() - 1].to_vec(), 0);
        assert!(p.records.is_empty());
        assert_eq!(p.next_offset, None);
        assert!(p.partial_tail);
    }

    #[test]
    fn empty_input() {
        let p = parse(Vec::new(), 7);
        assert!(p.records.is_empty() && p.next_offset.is_none() && !p.partial_tail);
    }

    #[test]
    fn corrupt_batch_is_an_error() {
        let mut data = batch(0, &["a"]);
        let last = data.len() - 1;
        data[last] ^= 0xff;
        let err = parse_records(&Arc::from("t"), 0, &Bytes::from(data), 0).unwrap_err();
        assert!(matches!(err, ClientError::Record { .. }), "{err}");
    }

    #[test]
    fn compressed_batch_is_a_clear_error() {
        let b = BatchBuilder::new();
        let mut fields = b.fields();
        fields.attributes = 1; // gzip
        fields.records_count = 1;
        fields.last_offset_delta = 0;
        let bytes = sluice_record::build_batch_from_parts(&fields, b"not really gzip").unwrap();
        let err = parse_records(&Arc::from("t"), 0, &Bytes::from(bytes.to_vec()), 0).unwrap_err();
        assert!(
            matches!(err, ClientError::Compressed { offset: 0, .. }),
            "{err}"
        );
    }
}
