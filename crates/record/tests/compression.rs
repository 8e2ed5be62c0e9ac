//! Compressed batches (feature `compression`): payloads compressed by the
//! codec libraries directly, as another Kafka client would, sealed with
//! `build_batch_from_parts` and read back through `RecordBatch::decompress`;
//! corrupt and truncated streams; the decompressed-size bound.
#![cfg(feature = "compression")]
#![allow(clippy::unwrap_used)]

use std::io::Write;

use proptest::prelude::*;
use sluice_record::{
    BatchBuilder, Compression, RecordBatch, RecordError, build_batch_from_parts, decompress,
};

const CODECS: [Compression; 4] = [
    Compression::Gzip,
    Compression::Snappy,
    Compression::Lz4,
    Compression::Zstd,
];

/// The xerial framing Kafka's Java client writes, built by hand around
/// raw snappy blocks of `block` bytes.
fn xerial(data: &[u8], block: usize) -> Vec<u8> {
    let mut out = vec![
        0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1,
    ];
    for chunk in data.chunks(block) {
        let compressed = snap::raw::Encoder::new().compress_vec(chunk).unwrap();
        out.extend_from_slice(&(compressed.len() as i32).to_be_bytes());
        out.extend_from_slice(&compressed);
    }
    out
}

/// `data` compressed by the codec libraries themselves (not through this
/// crate). Snappy comes in both of the forms clients write.
fn independently_compressed(codec: Compression, data: &[u8]) -> Vec<Vec<u8>> {
    match codec {
        Compression::Gzip => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(data).unwrap();
            vec![e.finish().unwrap()]
        }
        Compression::Snappy => vec![
            xerial(data, 32 * 1024),
            xerial(data, 100),
            snap::raw::Encoder::new().compress_vec(data).unwrap(),
        ],
        Compression::Lz4 => {
            let mut e = lz4_flex::frame::FrameEncoder::new(Vec::new());
            e.write_all(data).unwrap();
            vec![e.finish().unwrap()]
        }
        Compression::Zstd => vec![zstd::stream::encode_all(data, 1).unwrap()],
        other => panic!("no encoder for {other:?}"),
    }
}

/// A builder holding `n` keyed records with a header each.
fn records(n: usize) -> BatchBuilder {
    let mut b = BatchBuilder::new();
    for i in 0..n {
        let key = format!("key-{i}");
        let value = format!("value {i} ").repeat(i % 7 + 1);
        b.append(
            1_700_000_000_000 + i as i64,
            Some(key.as_bytes()),
            Some(value.as_bytes()),
            &[(b"trace", Some(b"abc"))],
        );
    }
    b
}

fn values(batch: &RecordBatch<'_>, max: usize) -> Vec<(Vec<u8>, Vec<u8>, i64)> {
    let decompressed = batch.decompress(max).unwrap();
    decompressed
        .records()
        .map(|r| {
            let r = r.unwrap();
            let headers: Vec<_> = r.headers().map(|h| h.unwrap().key.to_vec()).collect();
            assert_eq!(headers, [b"trace".to_vec()]);
            (
                r.key.unwrap().to_vec(),
                r.value.unwrap().to_vec(),
                r.offset(batch.header()),
            )
        })
        .collect()
}

#[test]
fn batches_compressed_by_other_clients_decompress_to_their_records() {
    let builder = records(500);
    let expected: Vec<_> = {
        let plain = builder.clone().build();
        let batch = RecordBatch::parse(&plain).unwrap();
        batch
            .records()
            .unwrap()
            .map(|r| {
                let r = r.unwrap();
                (
                    r.key.unwrap().to_vec(),
                    r.value.unwrap().to_vec(),
                    r.offset(batch.header()),
                )
            })
            .collect()
    };
    for codec in CODECS {
        for payload in independently_compressed(codec, builder.records_payload()) {
            let mut fields = builder.fields();
            fields.attributes = codec.attribute_bits();
            let bytes = build_batch_from_parts(&fields, &payload).unwrap();
            let batch = RecordBatch::parse(&bytes).unwrap();
            assert_eq!(batch.header().compression(), codec);
            assert_eq!(
                batch.records().err(),
                Some(RecordError::Compressed { codec })
            );
            assert_eq!(values(&batch, 1 << 20), expected, "{codec:?}");
        }
    }
}

#[test]
fn build_compressed_round_trips_and_sets_the_codec_bits() {
    for codec in CODECS {
        let builder = records(200);
        let plain_len = builder.size_in_bytes();
        let bytes = builder.build_compressed(codec).unwrap();
        let batch = RecordBatch::parse(&bytes).unwrap();
        assert_eq!(batch.header().compression(), codec);
        assert_eq!(batch.header().records_count, 200);
        assert!(
            bytes.len() < plain_len,
            "{codec:?} shrinks repetitive records"
        );
        assert_eq!(values(&batch, 1 << 20).len(), 200);
    }
    // None is the plain batch.
    let plain = records(3).build_compressed(Compression::None).unwrap();
    assert_eq!(plain, records(3).build());
}

#[test]
fn corrupt_payloads_are_errors() {
    let builder = records(50);
    for codec in CODECS {
        let mut fields = builder.fields();
        fields.attributes = codec.attribute_bits();
        let bytes = build_batch_from_parts(&fields, b"this is not compressed at all").unwrap();
        let err = RecordBatch::parse(&bytes)
            .unwrap()
            .decompress(1 << 20)
            .unwrap_err();
        assert!(
            matches!(err, RecordError::Decompress { .. }),
            "{codec:?}: {err}"
        );
    }
}

#[test]
fn truncated_streams_are_errors_at_every_cut() {
    let builder = records(40);
    for codec in CODECS {
        for full in independently_compressed(codec, builder.records_payload()) {
            for cut in 0..full.len() {
                match decompress(codec, &full[..cut], 1 << 20) {
                    Err(RecordError::Decompress { .. }) => {}
                    // An empty stream (lz4: zero frames) or a cut that loses
                    // nothing but a trailing checksum may still decode; then
                    // only to a prefix. Reading the records catches the rest.
                    Ok(out) => assert!(
                        builder.records_payload().starts_with(&out),
                        "{codec:?} cut {cut} of {}",
                        full.len()
                    ),
                    Err(other) => panic!("{codec:?} cut {cut}: {other}"),
                }
            }
        }
    }
}

#[test]
fn decompressed_records_must_match_the_count() {
    // A payload that decompresses fine but holds fewer records than the
    // header says is reported, not half-read.
    let builder = records(5);
    let payload = zstd::stream::encode_all(builder.records_payload(), 1).unwrap();
    let mut fields = builder.fields();
    fields.attributes = Compression::Zstd.attribute_bits();
    fields.records_count = 6;
    fields.last_offset_delta = 5;
    let bytes = build_batch_from_parts(&fields, &payload).unwrap();
    let batch = RecordBatch::parse(&bytes).unwrap();
    let decompressed = batch.decompress(1 << 20).unwrap();
    let results: Vec<_> = decompressed.records().collect();
    assert!(matches!(
        results.last(),
        Some(Err(RecordError::InvalidRecord { .. }))
    ));
}

#[test]
fn bombs_stop_at_the_bound() {
    // 16 MiB of zeros shrink to a few KiB with every codec.
    let zeros = vec![0u8; 16 << 20];
    let limit = 1 << 20;
    for codec in CODECS {
        for bomb in independently_compressed(codec, &zeros) {
            assert!(
                bomb.len() * 4 < zeros.len(),
                "{codec:?} bomb is {} bytes",
                bomb.len()
            );
            assert_eq!(
                decompress(codec, &bomb, limit),
                Err(RecordError::DecompressedTooLarge { codec, limit }),
                "{codec:?}"
            );
        }
    }
}

#[test]
fn snappy_length_claims_are_checked_before_allocating() {
    // A raw snappy block claiming 2^32 - 1 bytes: refused from its
    // header, without reserving 4 GiB.
    let claim = [0xff, 0xff, 0xff, 0xff, 0x0f, 0x00];
    assert_eq!(
        decompress(Compression::Snappy, &claim, 64 << 20),
        Err(RecordError::DecompressedTooLarge {
            codec: Compression::Snappy,
            limit: 64 << 20
        })
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Arbitrary bytes never panic any decoder.
    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        for codec in CODECS {
            let _ = decompress(codec, &data, 1 << 16);
        }
    }

    /// Bit flips in a valid stream: an error or some output, never a panic
    /// and never more than the bound.
    #[test]
    fn flipped_bits_never_panic(bit in 0usize..4096, codec_index in 0usize..4) {
        let codec = CODECS[codec_index];
        let builder = records(30);
        for mut stream in independently_compressed(codec, builder.records_payload()) {
            let bit = bit % (stream.len() * 8);
            stream[bit / 8] ^= 1 << (bit % 8);
            if let Ok(out) = decompress(codec, &stream, 1 << 16) {
                prop_assert!(out.len() <= 1 << 16);
            }
        }
    }
}
