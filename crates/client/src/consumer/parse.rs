//! Turning one partition's fetched record bytes into [`ConsumerRecord`]s.
//!
//! Plain code: the bytes are whole stored batches, possibly starting
//! before the position asked for (the batch containing it) and possibly
//! ending in a batch cut short by the byte limits. Records below the
//! position are skipped; an incomplete last batch is dropped (the next
//! fetch starts at it). Keys, values and header values are `Bytes` slices
//! of the fetched buffer, nothing copied; for a compressed batch they are
//! slices of its decompressed records (one buffer per batch, bounded by
//! `max_decompressed`).

use std::sync::Arc;

use bytes::Bytes;
use sluice_record::{BatchHeader, BatchIter, CONTROL_FLAG, Compression, RecordError, RecordIter};

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

/// Where one batch's records are read from.
struct Source<'a> {
    topic: &'a Arc<str>,
    partition: u32,
    header: &'a BatchHeader,
    /// The buffer the record slices point into, to share them as `Bytes`.
    owner: &'a Bytes,
}

/// Parses `data`, keeping records at or above `position`. A compressed
/// batch may decompress to at most `max_decompressed` bytes.
pub(crate) fn parse_records(
    topic: &Arc<str>,
    partition: u32,
    data: &Bytes,
    position: i64,
    max_decompressed: usize,
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
        let codec = header.compression();
        if codec == Compression::None {
            let source = Source {
                topic,
                partition,
                header: &header,
                owner: data,
            };
            let records = batch.records().map_err(record_error)?;
            push_records(&source, records, position, &mut parsed.records)?;
            continue;
        }
        let decompressed = batch
            .decompress(max_decompressed)
            .map_err(|source| match source {
                RecordError::UnsupportedCompression { codec } => ClientError::Compressed {
                    topic: topic.to_string(),
                    partition,
                    offset: header.base_offset,
                    codec,
                },
                source => ClientError::Decompress {
                    topic: topic.to_string(),
                    partition,
                    offset: header.base_offset,
                    source,
                },
            })?;
        let source = Source {
            topic,
            partition,
            header: &header,
            owner: decompressed.payload(),
        };
        push_records(
            &source,
            decompressed.records(),
            position,
            &mut parsed.records,
        )?;
    }
    parsed.partial_tail = batches.has_partial_tail();
    Ok(parsed)
}

/// Appends the records at or above `position` to `out`, slicing keys and
/// values out of `source.owner` (which `records` must be reading).
fn push_records(
    source: &Source<'_>,
    records: RecordIter<'_>,
    position: i64,
    out: &mut Vec<ConsumerRecord>,
) -> Result<()> {
    let record_error = |e: RecordError| ClientError::Record {
        topic: source.topic.to_string(),
        partition: source.partition,
        source: e,
    };
    let owner = source.owner;
    for record in records {
        let record = record.map_err(record_error)?;
        let offset = record.offset(source.header);
        if offset < position {
            continue;
        }
        let headers = record
            .headers()
            .map(|h| {
                h.map(|h| RecordHeader {
                    key: String::from_utf8_lossy(h.key).into_owned(),
                    value: h.value.map(|v| owner.slice_ref(v)),
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(record_error)?;
        out.push(ConsumerRecord {
            topic: Arc::clone(source.topic),
            partition: source.partition,
            offset,
            timestamp: record.timestamp(source.header),
            key: record.key.map(|k| owner.slice_ref(k)),
            value: record.value.map(|v| owner.slice_ref(v)),
            headers,
        });
    }
    Ok(())
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

    const MAX: usize = 1 << 20;

    fn parse(data: Vec<u8>, position: i64) -> Parsed {
        parse_records(&Arc::from("t"), 3, &Bytes::from(data), position, MAX).unwrap()
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
        let err = parse_records(&Arc::from("t"), 0, &Bytes::from(data), 0, MAX).unwrap_err();
        assert!(matches!(err, ClientError::Record { .. }), "{err}");
    }

    /// `values` as one batch at `base`, its records payload compressed by
    /// the codec libraries directly (as another Kafka client would), sealed
    /// with `build_batch_from_parts`.
    fn compressed_batch(codec: Compression, base: i64, values: &[&str]) -> Vec<u8> {
        use std::io::Write;
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
        let records = b.records_payload();
        let payload = match codec {
            Compression::Gzip => {
                let mut e = flate2_encoder();
                e.write_all(records).unwrap();
                e.finish().unwrap()
            }
            Compression::Snappy => {
                // Kafka's Java client: xerial framing, one block here.
                let block = snap::raw::Encoder::new().compress_vec(records).unwrap();
                let mut out = b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01".to_vec();
                out.extend_from_slice(&(block.len() as i32).to_be_bytes());
                out.extend_from_slice(&block);
                out
            }
            Compression::Lz4 => {
                let mut e = lz4_flex::frame::FrameEncoder::new(Vec::new());
                e.write_all(records).unwrap();
                e.finish().unwrap()
            }
            Compression::Zstd => zstd::stream::encode_all(records, 3).unwrap(),
            other => panic!("no encoder for {other:?}"),
        };
        let mut fields = b.fields();
        fields.attributes = codec.attribute_bits();
        let mut bytes = sluice_record::build_batch_from_parts(&fields, &payload)
            .unwrap()
            .to_vec();
        set_base_offset(&mut bytes, base).unwrap();
        bytes
    }

    fn flate2_encoder() -> flate2::write::GzEncoder<Vec<u8>> {
        flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default())
    }

    const CODECS: [Compression; 4] = [
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ];

    #[test]
    fn compressed_batches_yield_their_records() {
        for codec in CODECS {
            let mut data = compressed_batch(codec, 10, &["a", "b", "c"]);
            data.extend(batch(13, &["d"]));
            data.extend(compressed_batch(codec, 14, &["e", "f"]));
            let p = parse(data, 11);
            assert_eq!(offsets(&p), vec![11, 12, 13, 14, 15], "{codec:?}");
            assert_eq!(p.next_offset, Some(16));
            let r = &p.records[0];
            assert_eq!(r.key.as_deref(), Some(&b"k1"[..]));
            assert_eq!(r.value.as_deref(), Some(&b"b"[..]));
            assert_eq!(r.timestamp, 1001);
            assert_eq!(r.headers[0].value.as_deref(), Some(&b"v"[..]));
            let values: Vec<&[u8]> = p
                .records
                .iter()
                .map(|r| r.value.as_deref().unwrap())
                .collect();
            assert_eq!(values, [b"b", b"c", b"d", b"e", b"f"]);
        }
    }

    #[test]
    fn corrupt_compressed_data_is_an_error() {
        for codec in CODECS {
            let b = BatchBuilder::new();
            let mut fields = b.fields();
            fields.attributes = codec.attribute_bits();
            fields.records_count = 1;
            fields.last_offset_delta = 0;
            let bytes =
                sluice_record::build_batch_from_parts(&fields, b"not really compressed").unwrap();
            let err = parse_records(&Arc::from("t"), 0, &Bytes::from(bytes.to_vec()), 0, MAX)
                .unwrap_err();
            assert!(
                matches!(
                    err,
                    ClientError::Decompress {
                        offset: 0,
                        source: RecordError::Decompress { .. },
                        ..
                    }
                ),
                "{codec:?}: {err}"
            );
        }
    }

    #[test]
    fn decompressed_size_is_bounded() {
        let big = "x".repeat(4000);
        let values: Vec<&str> = (0..20).map(|_| big.as_str()).collect();
        for codec in CODECS {
            let data = Bytes::from(compressed_batch(codec, 0, &values));
            assert!(data.len() < 20_000, "{codec:?} compresses");
            // Fine with room, refused below the decompressed size.
            assert_eq!(
                parse_records(&Arc::from("t"), 0, &data, 0, MAX)
                    .unwrap()
                    .records
                    .len(),
                20
            );
            let err = parse_records(&Arc::from("t"), 0, &data, 0, 50_000).unwrap_err();
            assert!(
                matches!(
                    err,
                    ClientError::Decompress {
                        source: RecordError::DecompressedTooLarge { limit: 50_000, .. },
                        ..
                    }
                ),
                "{codec:?}: {err}"
            );
        }
    }

    #[test]
    fn unassigned_codec_is_a_clear_error() {
        let b = BatchBuilder::new();
        let mut fields = b.fields();
        fields.attributes = 5;
        fields.records_count = 1;
        fields.last_offset_delta = 0;
        let bytes = sluice_record::build_batch_from_parts(&fields, b"?").unwrap();
        let err =
            parse_records(&Arc::from("t"), 0, &Bytes::from(bytes.to_vec()), 0, MAX).unwrap_err();
        assert!(
            matches!(
                err,
                ClientError::Compressed {
                    offset: 0,
                    codec: Compression::Unknown(5),
                    ..
                }
            ),
            "{err}"
        );
    }
}
