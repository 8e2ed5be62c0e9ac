//! Valid inputs for the seed corpora, built with the project's own encoders so that they stay
//! valid when the formats change (`tests/seeds.rs` fails when a committed seed is stale).

use bytes::Bytes;
use sluice_record::{BatchBuilder, Compression};

/// First record timestamp of every seed batch.
pub const BASE_TIMESTAMP: i64 = 1_700_000_000_000;

/// An uncompressed batch of `records` records starting at `base_offset`, with keys, values
/// and one header per record, a null key and an empty value among them.
pub fn batch(base_offset: i64, records: usize) -> Bytes {
    let mut builder = filled(records);
    if base_offset != 0 {
        let mut bytes = std::mem::take(&mut builder).build().to_vec();
        sluice_record::set_base_offset(&mut bytes, base_offset)
            .unwrap_or_else(|e| panic!("seed batch: {e}"));
        return Bytes::from(bytes);
    }
    builder.build()
}

/// The same records compressed with `codec`.
pub fn compressed_batch(records: usize, codec: Compression) -> Bytes {
    filled(records)
        .build_compressed(codec)
        .unwrap_or_else(|e| panic!("seed batch {codec:?}: {e}"))
}

fn filled(records: usize) -> BatchBuilder {
    let mut builder = BatchBuilder::new();
    for i in 0..records {
        let key = format!("key-{i}");
        let value = format!("value-{i}");
        let key = (i % 3 != 1).then_some(key.as_bytes());
        let value = if i % 4 == 3 {
            &b""[..]
        } else {
            value.as_bytes()
        };
        let offset = i64::try_from(i).unwrap_or(0);
        builder.append(
            BASE_TIMESTAMP + offset * 5,
            key,
            Some(value),
            &[(b"trace", Some(b"seed"))],
        );
    }
    builder
}

/// The same records compressed as one raw snappy block, as librdkafka may write them (Kafka's
/// Java client uses the xerial framing that `compressed_batch` produces).
pub fn raw_snappy_batch(records: usize) -> Bytes {
    let builder = filled(records);
    let raw = snap::raw::Encoder::new()
        .compress_vec(builder.records_payload())
        .unwrap_or_else(|e| panic!("seed raw snappy: {e}"));
    let mut fields = builder.fields();
    fields.attributes |= Compression::Snappy.attribute_bits();
    sluice_record::build_batch_from_parts(&fields, &raw)
        .unwrap_or_else(|e| panic!("seed raw snappy batch: {e}"))
}
