//! Kafka's batch codecs (feature `compression`): compress a records payload
//! and decompress one, with a bound on the decompressed size.
//!
//! # Why here
//!
//! What a codec id means is part of the RecordBatch v2 format, not of any
//! one client: attribute bits 0-2 name the codec, everything after
//! `recordsCount` is one compressed stream, and each codec has a Kafka
//! flavour (snappy in xerial's framing as the Java client writes it, lz4 in
//! the LZ4 *frame* format). Keeping that next to the batch layout means any
//! crate that reads batches (the client today; a broker that one day looks
//! inside compressed batches, a fuzzer) shares one decoder, tested once
//! against batches from real Kafka clients. It stays behind a cargo feature
//! because the broker and storage carry compressed batches as they came and
//! never decompress: built on their own they do not compile the codec
//! libraries (C code, for zstd). The client enables the feature; the codecs
//! are not worth a crate of their own, and putting them in the client would
//! hide the batch format's codec rules in one consumer of it.
//!
//! The module is still I/O-free: every function takes and returns bytes in
//! memory (`std::io::Read` is only the codec libraries' interface).
//!
//! # Codecs
//!
//! | id | codec | compress | decompress |
//! |---|---|---|---|
//! | 1 | gzip | one gzip member, level 6 (Kafka's default) | one or more members |
//! | 2 | snappy | xerial framing, 32 KiB blocks (Kafka's Java client) | xerial framing, or raw snappy (librdkafka), told apart by the xerial magic |
//! | 3 | lz4 | LZ4 frame, 64 KiB independent blocks | LZ4 frames |
//! | 4 | zstd | one frame, level 3 (Kafka's default) | zstd frames |
//!
//! # Decompression bombs
//!
//! A few kilobytes of compressed zeros can expand to gigabytes. Every
//! decompressor here stops once the output would pass `max_bytes` and
//! returns [`RecordError::DecompressedTooLarge`]; nothing is allocated for
//! more than `max_bytes` (plus the codec's own bounded working memory).
//! Corrupt input is a [`RecordError::Decompress`], never a panic.

mod snappy;

use std::io::{Read, Write};

use bytes::Bytes;

use crate::attributes::{COMPRESSION_MASK, Compression};
use crate::batch::RecordBatch;
use crate::builder::BatchBuilder;
use crate::error::RecordError;
use crate::parts::build_batch_from_parts;
use crate::record_iter::RecordIter;

/// The default bound on one batch's decompressed records: 64 MiB.
pub const DEFAULT_MAX_DECOMPRESSED_BYTES: usize = 64 << 20;

/// Kafka's default gzip level (`Deflater.DEFAULT_COMPRESSION`).
const GZIP_LEVEL: u32 = 6;
/// Kafka's default zstd level.
const ZSTD_LEVEL: i32 = 3;

/// Compresses a records payload (the bytes after `recordsCount`) with
/// `codec`, as Kafka's clients write it. `None` returns a copy.
///
/// `Err(UnsupportedCompression)` for the unassigned ids 5-7; `Err(Compress)`
/// if a codec library fails (it does not on in-memory data, but the error
/// is kept rather than hidden).
pub fn compress(codec: Compression, records: &[u8]) -> Result<Vec<u8>, RecordError> {
    let failed = |e: std::io::Error| RecordError::Compress {
        codec,
        reason: e.to_string(),
    };
    match codec {
        Compression::None => Ok(records.to_vec()),
        Compression::Gzip => {
            let out = Vec::with_capacity(records.len() / 2 + 64);
            let mut encoder =
                flate2::write::GzEncoder::new(out, flate2::Compression::new(GZIP_LEVEL));
            encoder.write_all(records).map_err(failed)?;
            encoder.finish().map_err(failed)
        }
        Compression::Snappy => {
            snappy::compress_xerial(records).map_err(|e| RecordError::Compress {
                codec,
                reason: e.to_string(),
            })
        }
        Compression::Lz4 => {
            let out = Vec::with_capacity(records.len() / 2 + 64);
            let mut encoder = lz4_flex::frame::FrameEncoder::new(out);
            encoder.write_all(records).map_err(failed)?;
            encoder.finish().map_err(|e| RecordError::Compress {
                codec,
                reason: e.to_string(),
            })
        }
        Compression::Zstd => zstd::bulk::compress(records, ZSTD_LEVEL).map_err(failed),
        Compression::Unknown(_) => Err(RecordError::UnsupportedCompression { codec }),
    }
}

/// Decompresses a records payload written with `codec`, refusing to produce
/// more than `max_bytes`. `None` returns a copy (if within the bound).
///
/// Errors: [`RecordError::DecompressedTooLarge`] past the bound,
/// [`RecordError::Decompress`] for corrupt or truncated data,
/// [`RecordError::UnsupportedCompression`] for ids 5-7.
pub fn decompress(
    codec: Compression,
    payload: &[u8],
    max_bytes: usize,
) -> Result<Vec<u8>, RecordError> {
    match codec {
        Compression::None => {
            if payload.len() > max_bytes {
                return Err(RecordError::DecompressedTooLarge {
                    codec,
                    limit: max_bytes,
                });
            }
            Ok(payload.to_vec())
        }
        Compression::Gzip => read_bounded(
            codec,
            flate2::read::MultiGzDecoder::new(payload),
            max_bytes,
            payload.len(),
        ),
        Compression::Snappy => snappy::decompress(payload, max_bytes),
        Compression::Lz4 => read_bounded(
            codec,
            lz4_flex::frame::FrameDecoder::new(payload),
            max_bytes,
            payload.len(),
        ),
        Compression::Zstd => {
            let decoder = zstd::stream::read::Decoder::with_buffer(payload).map_err(|e| {
                RecordError::Decompress {
                    codec,
                    reason: e.to_string(),
                }
            })?;
            read_bounded(codec, decoder, max_bytes, payload.len())
        }
        Compression::Unknown(_) => Err(RecordError::UnsupportedCompression { codec }),
    }
}

/// Reads `reader` to its end, but never more than `max_bytes`: one byte
/// past the bound is enough to know the bound is broken.
fn read_bounded(
    codec: Compression,
    reader: impl Read,
    max_bytes: usize,
    compressed_len: usize,
) -> Result<Vec<u8>, RecordError> {
    // Records usually shrink 2-10x; start there and let the Vec grow, so a
    // tiny bomb does not get a large buffer up front.
    let mut out = Vec::with_capacity(compressed_len.saturating_mul(4).min(max_bytes));
    let limit = u64::try_from(max_bytes)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    reader
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| RecordError::Decompress {
            codec,
            reason: e.to_string(),
        })?;
    if out.len() > max_bytes {
        return Err(RecordError::DecompressedTooLarge {
            codec,
            limit: max_bytes,
        });
    }
    Ok(out)
}

/// The records of a batch after decompression, owned. Made by
/// [`RecordBatch::decompress`]; its [`records`](Self::records) borrow the
/// decompressed bytes, which [`payload`](Self::payload) shares as
/// [`Bytes`] so a caller can slice keys and values out of it without
/// copying.
#[derive(Debug, Clone)]
pub struct DecompressedRecords {
    payload: Bytes,
    records_count: usize,
}

impl DecompressedRecords {
    /// The decompressed records payload (what an uncompressed batch holds
    /// after its header).
    pub fn payload(&self) -> &Bytes {
        &self.payload
    }

    /// Iterates the records, with the same checks as
    /// [`RecordBatch::records`]: exactly `recordsCount` records and no
    /// bytes left over. Error positions count from the batch header as if
    /// the payload were stored uncompressed.
    pub fn records(&self) -> RecordIter<'_> {
        RecordIter::new(&self.payload, self.records_count)
    }
}

impl RecordBatch<'_> {
    /// Decompresses the records payload with the codec of the attributes,
    /// producing at most `max_bytes` (see the module docs on bombs).
    ///
    /// Works for uncompressed batches too (the payload is copied), but
    /// [`RecordBatch::records`] reads those without copying.
    pub fn decompress(&self, max_bytes: usize) -> Result<DecompressedRecords, RecordError> {
        let payload = decompress(
            self.header().compression(),
            self.records_payload(),
            max_bytes,
        )?;
        Ok(DecompressedRecords {
            payload: Bytes::from(payload),
            // validate_batch rejected negative counts.
            records_count: usize::try_from(self.header().records_count).unwrap_or(0),
        })
    }
}

impl BatchBuilder {
    /// Like [`build`](Self::build), with the records payload compressed by
    /// `codec` and the codec's bits set in the attributes.
    pub fn build_compressed(self, codec: Compression) -> Result<Bytes, RecordError> {
        if codec == Compression::None {
            return Ok(self.build());
        }
        let compressed = compress(codec, self.records_payload())?;
        let mut fields = self.fields();
        fields.attributes = (fields.attributes & !COMPRESSION_MASK) | codec.attribute_bits();
        build_batch_from_parts(&fields, &compressed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CODECS: [Compression; 4] = [
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ];

    fn sample(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8 ^ (i / 7) as u8).collect()
    }

    #[test]
    fn every_codec_round_trips_every_size() {
        for codec in CODECS {
            for len in [0, 1, 100, 32 * 1024, 32 * 1024 + 1, 200_000] {
                let data = sample(len);
                let packed = compress(codec, &data).unwrap();
                let unpacked = decompress(codec, &packed, len).unwrap();
                assert_eq!(unpacked, data, "{codec:?} len {len}");
            }
        }
    }

    #[test]
    fn the_bound_is_exact() {
        for codec in CODECS {
            let data = vec![0u8; 10_000];
            let packed = compress(codec, &data).unwrap();
            assert_eq!(decompress(codec, &packed, 10_000).unwrap().len(), 10_000);
            assert_eq!(
                decompress(codec, &packed, 9_999),
                Err(RecordError::DecompressedTooLarge {
                    codec,
                    limit: 9_999
                }),
                "{codec:?}"
            );
        }
    }

    #[test]
    fn unassigned_ids_are_unsupported() {
        let codec = Compression::Unknown(5);
        assert_eq!(
            compress(codec, b"x"),
            Err(RecordError::UnsupportedCompression { codec })
        );
        assert_eq!(
            decompress(codec, b"x", 10),
            Err(RecordError::UnsupportedCompression { codec })
        );
    }
}
